/**
 * Stage-wise execution on rigs (issue #17; docs/rig-protocol.md §12, docs/stages.md): one
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
 */
import { BadInputError } from '../core/errors.js';
import type { Clock, Parameters, Rig, RigEvent, StageEpisode, StagePolicy, StageState } from '../core/protocols.js';
import { systemClock } from '../core/protocols.js';
import type { StageReward, TwinStageEnvironment } from './stages.js';

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
