/**
 * Stage-wise execution on rigs (issue #17; docs/rig-protocol.md §13, docs/stages.md): one
 * trial's stages go to the rigs one at a time, and the policy picks stage k + 1's settings
 * after the rig has reported what stage k really produced.
 *
 * The fixed pipeline of §10 sends every stage the same parameters, chosen before the first
 * stage ran. Here each stage's job carries only that stage's settings (`params`), and in
 * `inputs` the sample's history: every earlier stage's measurements and settings, keyed
 * `<stage>.<name>` (a calender rig receives `cast.porosity`, `dry.cbdFraction`, …). A rig
 * reports the intermediate structure's descriptors (the names of the twin's StageDescriptor,
 * e.g. `porosity`, `thickness`) in its result's `measurements`; the last stage also reports
 * the campaign's measured properties. The measured state, not the asked one, is what the
 * policy sees next (StagedProcess.fromMeasurements).
 *
 * Two ways to run it: `runStagedEpisode` (a library call, one trial), and inside a campaign
 * (`stages:` in the config, `agent: { name: ppo-stages }`): `campaignStages` gives the runtime a
 * StagedExecution — each stage's job is chosen from the ledger's records of the stages before
 * it, the policy learns from the completed trials' records, and its versions are ModelTrained
 * documents; `stagedTruth` is the simulated rigs' hidden process.
 */
import { createStagePpo } from '../../agents/ppo-stages.js';
import type { Truth } from '../../robots/sim/truth.js';
import { twinRegistry } from '../../twins/index.js';
import { BadInputError } from '../core/errors.js';
import type { Agent, Clock, ParameterSpace, Parameters, Rig, RigEvent, StagedProcess, StageEpisode, StagePolicy, StageState } from '../core/protocols.js';
import { systemClock } from '../core/protocols.js';
import { createRng, hash32 } from '../core/rng.js';
import type { Ledger } from '../ledger/ledger.js';
import { targetScope } from '../reward/scope.js';
import type { StageRecord, StagedExecution } from '../orchestrator/runtime.js';
import { checkSpreads, createStageEnvironment, policyVersionBody, type StageReward, type TwinStageEnvironment } from './stages.js';

export interface StagedEpisodeOptions {
  rig: Rig;
  campaignId: string;
  trialId: string;
  env: TwinStageEnvironment;
  policy: StagePolicy;
  target: Parameters;
  /** The reward of the measured final properties (the campaign's reward). */
  reward: StageReward;
  /** Capability per stage (default: the stage names, e.g. cast, dry, calender). */
  capabilities?: string[];
  /** Measurement names the last stage must report (RigJob.measure). */
  measure?: string[];
  /** Per-job deadline from dispatch, ms. */
  timeoutMs: number;
  protocol?: string;
  clock?: Clock;
  /** Called after each stage with what was asked and what the rig measured. */
  onStage?: (stage: number, action: Parameters, measured: Record<string, number>, state: StageState) => void;
}

/** The `inputs` of a stage job: the sample's history, `<stage>.<name>` → value. */
export function stageInputs(stages: readonly string[], actions: readonly Parameters[], measured: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  actions.forEach((a, k) => {
    for (const [n, v] of Object.entries(a)) if (typeof v === 'number') out[`${stages[k]}.${n}`] = v;
    for (const [n, v] of Object.entries(measured[k] ?? {})) out[`${stages[k]}.${n}`] = v;
  });
  return out;
}

/** Runs one trial stage by stage on the rigs; resolves with the real episode (for policy.learn). */
export async function runStagedEpisode(o: StagedEpisodeOptions): Promise<StageEpisode> {
  const names = o.env.stages.map((s) => s.name);
  const capabilities = o.capabilities ?? names;
  if (capabilities.length !== names.length) throw new BadInputError(`needs one capability per stage (${names.join(', ')}), got ${capabilities.length}`, 'stages.capabilities');
  const clock = o.clock ?? systemClock;
  const actions: Parameters[] = [];
  const measured: Array<Record<string, number>> = [];
  const states: StageState[] = [];
  let state = o.env.initial();
  for (let k = 0; k < names.length && state.feasible; k++) {
    const action = o.policy.act(o.env, state, o.target);
    const jobId = `${o.trialId}-s${k}`;
    const ended = terminalEvent(o.rig, jobId);
    await o.rig.dispatch({
      jobId,
      campaignId: o.campaignId,
      trialId: o.trialId,
      attempt: 1,
      capability: capabilities[k],
      params: action,
      deadline: new Date(clock.now() + o.timeoutMs).toISOString(),
      protocol: o.protocol ?? '1.0',
      ...(k > 0 ? { inputs: stageInputs(names, actions, measured) } : {}),
      ...(k === names.length - 1 && o.measure?.length ? { measure: o.measure } : {}),
    });
    const e = await ended;
    actions.push(action);
    if (e.type === 'result' && e.feasible !== false) {
      const m = e.measurements ?? {};
      measured.push(m);
      state = o.env.process.fromMeasurements(k + 1, state, action, m);
    } else if ((e.type === 'result' || e.type === 'failed') && e.feasible === false) {
      // An infeasible stage is a result, not an error (§4): the episode ends there.
      measured.push({});
      state = { ...state, stage: k + 1, feasible: false, reason: e.reason ?? `stage ${names[k]} infeasible` };
    } else {
      throw new Error(`stage ${names[k]} of trial ${o.trialId} ended ${e.type}${e.reason ? `: ${e.reason}` : ''}`);
    }
    states.push(state);
    o.onStage?.(k, action, measured[k], state);
  }
  const final = measured[names.length - 1] ?? {};
  const reward = state.feasible && states.length === names.length ? o.reward(final, o.target, state) : NaN;
  return { target: o.target, actions, states, measured: final, reward };
}

/** The job's final terminal event (the dispatcher's `final`, or a terminal event without it). */
function terminalEvent(rig: Rig, jobId: string): Promise<RigEvent> {
  return new Promise((resolve) => {
    const off = rig.onEvent((e) => {
      if (e.jobId !== jobId) return;
      if (!['result', 'failed', 'rejected', 'cancelled'].includes(e.type) || e.final === false) return;
      off();
      resolve(e);
    });
  });
}

// ─── Stage-wise trials inside a campaign (issue #17) ─────────────────────────────────────

/** The agent name a campaign config gives for stage-wise trials (`agent: { name: ppo-stages }`). */
export const STAGE_AGENT = 'ppo-stages';

/** The `stages:` block of a campaign config (src/config/schema.ts). */
export interface StagesConfig {
  twin: string;
  target: Record<string, number>;
  variability?: Record<string, number>;
  infeasibleReward: number;
  correction: 'linear' | 'offset' | 'none';
  simulate?: { variability?: Record<string, number> };
}

/** The states after each recorded stage, rebuilt from what the rigs measured (as the policy saw them). */
function measuredStates(env: TwinStageEnvironment, records: readonly StageRecord[]): StageState[] {
  const states: StageState[] = [];
  let s = env.initial();
  for (const r of records) {
    s = r.feasible ? env.process.fromMeasurements(r.stage + 1, s, r.params, r.measurements) : { ...s, stage: r.stage + 1, feasible: false, reason: `stage ${env.stages[r.stage].name} could not be done` };
    states.push(s);
  }
  return states;
}

/**
 * Checks a stage-wise campaign config against the twin's process model and builds its
 * environment and (untrained) policy; BadInputError naming the key otherwise.
 */
export function stageSetup(o: {
  stages: StagesConfig | undefined;
  agent: string;
  agentOptions: Record<string, unknown>;
  pipeline: readonly string[];
  space: ParameterSpace;
  seed: number;
  rewardOf: (properties: Record<string, number>, params: Parameters) => number;
  /** agent.batchSize and loop.mode of the campaign (default 1 and sync). */
  batchSize?: number;
  loopMode?: 'sync' | 'async';
}): { env: TwinStageEnvironment; policy: StagePolicy; target: Parameters } {
  if (!o.stages) throw new BadInputError(`agent ${STAGE_AGENT} runs stage-wise trials: add a "stages" block (twin, target)`, 'stages');
  if (o.agent !== STAGE_AGENT) throw new BadInputError(`stage-wise trials need agent "${STAGE_AGENT}" (got "${o.agent}")`, 'agent.name');
  // One trial per round, rounds in order: the policy proposes one deterministic plan per round and
  // each round's learn() gives the version the next round acts with — what resume replays from
  // the ledger. Batches and async's overlapping trials are neither built for that nor tested.
  if ((o.batchSize ?? 1) !== 1) throw new BadInputError(`stage-wise trials run one trial per round (the policy proposes one plan, and learns from each round before the next): set agent.batchSize: 1 (got ${o.batchSize}; the default is 4)`, 'agent.batchSize');
  if ((o.loopMode ?? 'sync') !== 'sync') throw new BadInputError('stage-wise trials run in sync mode only: the next trial is decided by the policy version learnt from the trials before it, which overlapping (async) trials would not have; remove loop.mode or set it to sync', 'loop.mode');
  const make = (twinRegistry as Record<string, (() => import('../core/protocols.js').Twin) | undefined>)[o.stages.twin];
  if (!make) throw new BadInputError(`unknown twin "${o.stages.twin}"; known twins: ${Object.keys(twinRegistry).sort().join(', ')}`, 'stages.twin');
  const twin = make();
  const process = twin.process;
  if (!process) throw new BadInputError(`twin ${twin.name} has no stage-by-stage process model; twins with one: grain-electrode, sofc-anode`, 'stages.twin');
  const names = process.stages.map((s) => s.name);
  // Capability k runs stage k: the simulated rigs and each job's `inputs` (<stage>.<name>) go by
  // the stage names, so the pipeline is the process model's stages, in order.
  if (o.pipeline.length !== names.length || o.pipeline.some((c, k) => c !== names[k])) throw new BadInputError(`needs one capability per stage of ${twin.name} (${names.join(' → ')}), named and ordered as the stages: [${names.join(', ')}]; got [${o.pipeline.join(', ')}]`, 'rigs.pipeline');
  for (const st of process.stages) {
    for (const p of st.parameters) {
      const q = o.space.parameters.find((x) => x.name === p.name);
      if (!q || q.kind !== 'continuous' || q.min !== p.min || q.max !== p.max) throw new BadInputError(`the space must hold stage ${st.name}'s setting ${p.name} with its bounds ${p.min} … ${p.max}`, `space.${p.name}`);
    }
  }
  // The policy's plan holds the stages' settings and nothing else, and is not repaired onto
  // constraints or pool rows: every proposal is checked against the space (runtime
  // checkProposals), so a space with more would fail the campaign in round 1 (diff review D,
  // item 1). Refused here, at load, instead.
  const settings = new Set(process.stages.flatMap((st) => st.parameters.map((p) => p.name)));
  const extra = o.space.parameters.filter((p) => !settings.has(p.name)).map((p) => p.name);
  if (extra.length) throw new BadInputError(`stage-wise trials search the stages' settings only (${[...settings].join(', ')}); remove ${extra.join(', ')} from the space (a fixed value goes in stages' twin defaults, not the space)`, `space.${extra[0]}`);
  if (o.space.constraints?.length) throw new BadInputError("stage-wise trials take no constraints: the policy's plan is not repaired onto them; remove constraints", 'constraints');
  if (o.space.pool) throw new BadInputError('stage-wise trials take no pool: the policy sets each stage from the last measurement, not from a list of recipes; remove space.pool', 'space.pool');
  // The specification is of the finished structure: each key a descriptor of the last stage, its
  // value within the descriptor's range (the policy's condition input is the value encoded on
  // that range; a degenerate range encoded every target as 0.5 — issue #17 review).
  const final = new Map(process.stages[process.stages.length - 1].descriptors.map((d) => [d.name, d] as const));
  const allowed = `allowed: ${[...final.keys()].join(', ')} (the structure after ${names.at(-1)})`;
  if (Object.keys(o.stages.target).length === 0) throw new BadInputError(`give at least one target specification, e.g. { porosity: 0.3 }; ${allowed}`, 'stages.target');
  for (const [n, v] of Object.entries(o.stages.target)) {
    const d = final.get(n);
    if (!d) throw new BadInputError(`"${n}" is not a descriptor of ${twin.name}'s finished structure; ${allowed}`, `stages.target.${n}`);
    if (!(Number.isFinite(v) && v >= d.min && v <= d.max)) throw new BadInputError(`must be a number in ${d.min} … ${d.max} (the range of ${n}), got ${String(v)}`, `stages.target.${n}`);
  }
  const targets: ParameterSpace = { parameters: Object.keys(o.stages.target).map((name) => ({ kind: 'continuous' as const, name, min: final.get(name)!.min, max: final.get(name)!.max })) };
  // The reward reads the target as target_<name> (src/reward/scope.ts): the episode's target, so a
  // policy trained for another specification is scored against that one.
  const reward: StageReward = (properties, target, state) => o.rewardOf({ ...properties, ...targetScope(target as Record<string, number>) }, state.realised);
  checkSpreads(twin.name, process, o.stages.simulate?.variability, 'stages.simulate.variability');
  const env = createStageEnvironment(twin, { reward, targets, infeasibleReward: o.stages.infeasibleReward, spread: o.stages.variability, spreadKey: 'stages.variability', correction: o.stages.correction });
  const policy = createStagePpo({ seed: o.seed, ...o.agentOptions });
  return { env, policy, target: { ...o.stages.target } };
}

/**
 * A campaign's stage-wise trials: the policy pre-trained in the twin (or restored from the
 * ledger's last version — a resumed campaign), the proposing agent (the policy's plan) and
 * the StagedExecution the runtime calls per stage and per round.
 */
export async function campaignStages(setup: ReturnType<typeof stageSetup>, ledger: Ledger, campaignId: string, log: (line: string) => void = () => {}): Promise<{ agent: Agent; execution: StagedExecution }> {
  const { env, policy, target } = setup;
  const kind = `stage-policy:${policy.name}`;
  const last = ledger.documents(campaignId, 'ModelTrained').filter((d) => d.body.kind === kind).at(-1);
  if (last) {
    policy.restore(last.body.state);
    log(`stage policy restored from the ledger (version ${last.body.version})`);
  } else {
    const r = await policy.train(env, { target });
    ledger.append(campaignId, 'ModelTrained', policyVersionBody(policy, [], { pretrainIterations: r.iterations, meanReward: r.meanReward }), 'stage-policy:0');
    log(`stage policy pre-trained in the twin: ${r.iterations} iterations, mean reward ${r.meanReward.toFixed(3)}`);
  }
  const names = env.stages.map((s) => s.name);
  const zero = Object.fromEntries(env.process.stages.flatMap((s) => s.variability.map((v) => [v.quantity, 0])));
  const agent: Agent = {
    name: STAGE_AGENT,
    async propose(ctx) {
      // The plan if every stage came out as asked (the P-model's nominal run of the policy):
      // what the trial records and the first stage's job carries; later stages are decided
      // again after each measurement (StagedExecution.job). Stages a nominal run cannot reach
      // keep their defaults.
      const plan: Parameters = Object.fromEntries(env.process.stages.flatMap((s) => s.parameters.map((p) => [p.name, p.default ?? p.min])));
      let s = env.initial();
      while (s.stage < names.length && s.feasible) {
        const a = policy.act(env, s, target);
        Object.assign(plan, a);
        s = env.process.step(s, a, ctx.rng, zero);
      }
      return [plan];
    },
    // Learning is per stage, from the ledger's stage records (StagedExecution.learn), not from
    // whole-recipe observations.
    learn: async () => {},
  };
  const execution: StagedExecution = {
    job(_trialParams, stage, before) {
      if (before.length !== stage) throw new Error(`stage ${names[stage]} needs the records of the ${stage} stages before it; the ledger has ${before.length}`);
      const state = stage === 0 ? env.initial() : measuredStates(env, before)[stage - 1];
      const params = policy.act(env, state, target);
      return { params, ...(stage > 0 ? { inputs: stageInputs(names, before.map((r) => r.params), before.map((r) => r.measurements)) } : {}) };
    },
    async learn(trials) {
      const episodes: StageEpisode[] = trials
        .filter((t) => t.stages.length > 0)
        .map((t) => ({ target, actions: t.stages.map((r) => r.params), states: measuredStates(env, t.stages), measured: t.feasible ? t.measured : {}, reward: t.reward }));
      // Fine-tuned at the campaign's specification: over the descriptor's whole range (the
      // condition input's scale) a few iterations pulled the policy off it (issue #17 review).
      await policy.learn(env, episodes, { target });
      const finite = episodes.map((e) => e.reward).filter(Number.isFinite);
      return policyVersionBody(policy, episodes, { episodes: episodes.length, ...(finite.length ? { meanRigReward: finite.reduce((a, b) => a + b, 0) / finite.length } : {}) });
    },
  };
  return { agent, execution };
}

/**
 * The simulated rigs' hidden process for stage-wise trials (`rigs.simulate` with `stages`):
 * the twin's process model with the spreads of `stages.simulate.variability` (default: the
 * twin's). Each stage's rig rebuilds the sample from the job's `inputs` (the settings and
 * measurements of the stages before it), makes its stage — the draw seeded by the campaign
 * seed, the settings and the inputs, so a re-sent job makes the same sample — and reports the
 * stage's descriptors; the last stage also the P-model's properties of the finished structure.
 */
export function stagedTruth(stages: StagesConfig, seed: number): Truth {
  const process: StagedProcess = twinRegistry[stages.twin as keyof typeof twinRegistry]().process!;
  const names = process.stages.map((s) => s.name);
  return (params, capability, inputs) => {
    const k = names.indexOf(capability);
    if (k < 0) throw new BadInputError(`no stage "${capability}" in ${stages.twin}; stages: ${names.join(', ')}`, 'capability');
    let s = process.initial();
    for (let j = 0; j < k; j++) {
      const pick = (keys: string[]) => Object.fromEntries(keys.filter((n) => `${names[j]}.${n}` in inputs).map((n) => [n, inputs[`${names[j]}.${n}`]]));
      s = process.fromMeasurements(j + 1, s, pick(process.stages[j].parameters.map((p) => p.name)), pick(process.stages[j].descriptors.map((d) => d.name)));
    }
    const next = process.step(s, params, createRng(hash32(JSON.stringify([seed, params, inputs]))), stages.simulate?.variability);
    if (!next.feasible) return { feasible: false, measurements: {} };
    return { feasible: true, measurements: k === names.length - 1 ? { ...next.descriptors, ...process.estimate(next) } : next.descriptors };
  };
}
