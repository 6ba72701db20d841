import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCmaesAgent } from '../../agents/cmaes.js';
import { trainingData } from '../../agents/common.js';
import { createActor, fromPromise, toPromise } from 'xstate';
import { fakeAgent, fakePredictor, fakeRig, killWhileAwaitingRigs, type Behaviour } from '../../tests/fakes/index.js';
import { systemClock, type AgentContext, type Evidence, type FidelityObservation, type Observation, type ParameterSpace, type Predictor, type RealityCorrection, type RealityModel } from '../core/protocols.js';
import { createRealityCorrection } from '../predict/correction.js';
import { createRealityModel } from '../predict/multifidelity.js';
import { simulationEvidence } from '../predict/uncertainty.js';
import { createRng } from '../core/rng.js';
import { printSummary } from '../cli/commands/campaign.js';
import { exportCampaign, summariseCampaign } from '../ledger/export.js';
import { Ledger, LedgerBusyError, issueCommand } from '../ledger/ledger.js';
import { campaignMachine } from './campaign.machine.js';
import { CampaignRuntime, checkProposals, type CampaignRuntimeDeps } from './runtime.js';
import { importWarmStart, readWarmStart } from '../compose/warm-start.js';

function setup(opts: { rig?: ReturnType<typeof fakeRig>; db?: string; rigRuns?: number; pipeline?: string[]; agent?: ReturnType<typeof fakeAgent>; approval?: boolean; correction?: RealityCorrection; predictor?: Predictor; reality?: RealityModel; screen?: number; log?: (line: string) => void; mode?: 'sync' | 'async'; warmup?: number; batchSize?: number; objectivesOf?: CampaignRuntimeDeps['objectivesOf']; rewardOf?: CampaignRuntimeDeps['rewardOf']; simulationEvidence?: CampaignRuntimeDeps['simulationEvidence'] } = {}) {
  const db = opts.db ?? join(mkdtempSync(join(tmpdir(), 'poreloop-rt-')), 'l.db');
  const ledger = Ledger.open(db);
  if (!ledger.campaign('c')) {
    ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
  }
  const rig = opts.rig ?? fakeRig();
  const agent = opts.agent ?? fakeAgent();
  const runtime = new CampaignRuntime({
    ledger, campaignId: 'c', agent, space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
    predictor: opts.predictor ?? fakePredictor(), rewardOf: opts.rewardOf ?? ((p) => p.y), rig, pipeline: opts.pipeline ?? ['measure'], candidatesPerRound: 6, screenCandidates: opts.screen, batchSize: opts.batchSize ?? 2, mode: opts.mode, warmup: opts.warmup,
    timeoutMs: 5000, maxAttempts: 3, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0', correction: opts.correction, reality: opts.reality, log: opts.log, objectivesOf: opts.objectivesOf, simulationEvidence: opts.simulationEvidence,
  });
  const machine = campaignMachine.provide({
    actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => (f as any)(input))])) as never,
  });
  const input = { campaignId: 'c', startedAt: 0, limits: { rigRuns: opts.rigRuns ?? 6, failures: 10, approval: opts.approval ?? false } };
  return { ledger, rig, agent, runtime, machine, input, db };
}

async function runToEnd(s: ReturnType<typeof setup>, snapshot?: unknown) {
  s.runtime.start();
  const actor = createActor(s.machine, snapshot ? { snapshot: snapshot as never, input: s.input } : { input: s.input });
  actor.subscribe(() => s.ledger.saveSnapshot('c', actor.getPersistedSnapshot()));
  actor.start();
  await toPromise(actor);
  await s.runtime.close();
  return actor.getSnapshot();
}

/**
 * A campaign whose rig never answers, stopped the way a crash stops it (no CampaignStopped, no
 * cleanup) once it waits for the rigs: what the resume tests start from.
 */
async function crashWhileWaiting(opts: Omit<Parameters<typeof setup>[0] & object, 'rig'>) {
  const s1 = setup({ ...opts, rig: fakeRig(() => {}) });
  await killWhileAwaitingRigs(s1);
  return s1;
}

/**
 * What the composition root wires at the approval gate: while the machine waits there, `step`
 * runs (the operator's part: issue a command, or not), then the decision found in the ledger is
 * sent to the machine as an event. Returns the function that stops the polling.
 */
function atTheGate(actor: ReturnType<typeof createActor<typeof campaignMachine>>, runtime: CampaignRuntime, step: (round: number) => void): () => void {
  const poll = setInterval(() => {
    const snap = actor.getSnapshot();
    if (!snap.matches({ awaitingApproval: 'waiting' })) return;
    step(snap.context.round);
    const decided = runtime.decideApproval(snap.context.round);
    if (decided) actor.send({ type: 'approval.decided', ...decided });
  }, 5);
  return () => clearInterval(poll);
}

describe('campaign runtime (fakes + real ledger)', () => {
  it('says so in the log when a round fills fewer rig slots than the batch, or the agent proposes fewer candidates than asked (issue #21)', async () => {
    // Near-duplicate candidates (0.001 apart): the diverse selection sends one of a batch of 2.
    const agent = { ...fakeAgent(), propose: async (_ctx: unknown, k: number) => Array.from({ length: k - 1 }, (_, i) => ({ x: 0.5 + 0.001 * i })) };
    const lines: string[] = [];
    const s = setup({ agent: agent as ReturnType<typeof fakeAgent>, rigRuns: 2, log: (l) => lines.push(l) });
    await runToEnd(s);
    expect(lines).toContain('round 1: the agent (fake) proposed 5 of the 6 candidates asked for');
    expect(lines).toContain('round 1: 1 of 2 rig slots filled — 5 candidates, the other 4 within 0.05 of another candidate, a trial at the rigs or an earlier rig run');
  });

  it('a proposal outside the space fails the campaign, naming the agent, parameter, value and range, before anything is recorded or sent (library review 2026-12-07, item 1)', async () => {
    for (const [bad, said] of [
      [{ x: 5.5 }, "x = 5.5 (allowed: [0, 1])"],
      [{ x: Number.NaN }, 'x = NaN (allowed: [0, 1])'],
      [{}, 'x: missing (allowed: [0, 1])'],
      [{ x: 0.5, wiggle: 0.1 }, 'wiggle: not a parameter of this space (its parameters: x)'],
    ] as const) {
      // The first candidate is feasible: not one of the round's candidates is recorded.
      const agent = { ...fakeAgent(), name: 'my-agent', propose: async (_ctx: unknown, k: number) => [{ x: 0.5 }, ...Array.from({ length: k - 1 }, () => bad)] };
      const s = setup({ agent: agent as ReturnType<typeof fakeAgent>, rigRuns: 2 });
      const snap = await runToEnd(s);
      expect(snap.context.finalStatus).toBe('failed');
      expect(snap.context.error).toContain(`the agent 'my-agent' proposed, in round 1 (candidate 2 of 6), a recipe outside the campaign's space: ${said}`);
      expect(s.ledger.trials('c')).toEqual([]);
      expect(s.rig.jobs).toEqual([]);
      expect(s.ledger.campaign('c')).toMatchObject({ status: 'failed' });
      s.ledger.close();
    }
  });

  it('checkProposals: integers, categories, constraints, pool rows and fixed parameters (library review 2026-12-07, item 1)', () => {
    const space: ParameterSpace = {
      parameters: [
        { kind: 'continuous', name: 'a', min: 0, max: 1 },
        { kind: 'integer', name: 'n', min: 1, max: 4 },
        { kind: 'categorical', name: 'm', values: ['pt', 'ni'] },
      ],
      constraints: [{ coefficients: { a: 1, n: 1 }, op: '<=', rhs: 4 }],
    };
    const check = (p: unknown, s: ParameterSpace = space) => () => checkProposals('mine', s, { fibreDiameter: 7 }, [p], 3);
    expect(check({ a: 0.5, n: 2, m: 'pt' })).not.toThrow();
    expect(check({ a: 0.5, n: 2.5, m: 'pt' })).toThrow('n = 2.5 (allowed: an integer in [1, 4])');
    expect(check({ a: 0.5, n: 2, m: 'cu' })).toThrow('m = "cu" (allowed: one of ["pt","ni"])');
    expect(check({ a: 0.5, n: 4, m: 'pt' })).toThrow('constraint a + n <= 4 violated (left side 4.5)');
    expect(check({ a: 0.5, n: 2, m: 'pt', fibreDiameter: 7 })).toThrow('fibreDiameter: held fixed by the config (twin.fixed), not a parameter the agent proposes');
    expect(check(null)).toThrow("the agent 'mine' proposed, in round 3 (candidate 1 of 1), a recipe outside the campaign's space: null is not a set of parameters");
    const pool = { ...space, constraints: undefined, pool: [{ a: 0.5, n: 2, m: 'pt' }] };
    expect(check({ a: 0.5, n: 2, m: 'pt' }, pool)).not.toThrow();
    expect(check({ a: 0.25, n: 2, m: 'pt' }, pool)).toThrow('not a point of the candidate pool');
    expect(() => checkProposals('mine', space, {}, undefined, 1)).toThrow("the agent 'mine' returned undefined from propose in round 1");
  });

  it('says the agent proposed fewer candidates than slots when that, not distance, left a slot empty (#21 review)', async () => {
    const agent = { ...fakeAgent(), propose: async () => [{ x: 0.5 }] };
    const lines: string[] = [];
    const s = setup({ agent: agent as ReturnType<typeof fakeAgent>, rigRuns: 2, log: (l) => lines.push(l) });
    await runToEnd(s);
    expect(lines).toContain('round 1: 1 of 2 rig slots filled — the agent proposed 1 candidate for 2 slots');
    expect(lines.some((l) => /within 0\.05/.test(l))).toBe(false);
  });

  it('runs a campaign: every selected trial measured once, rewards recorded, agent learns', async () => {
    const s = setup();
    const snap = await runToEnd(s);
    expect(snap.context.finalStatus).toBe('completed');
    const trials = s.ledger.trials('c');
    expect(trials).toHaveLength(18);
    const selected = trials.filter((t) => t.selectedRank !== null);
    expect(selected).toHaveLength(6);
    expect(selected.every((t) => t.status === 'completed' && t.measuredReward !== null)).toBe(true);
    expect(s.ledger.measurements('c')).toHaveLength(6);
    expect(s.agent.learned).toBe(18 + 6);
    expect(s.ledger.campaign('c')).toMatchObject({ status: 'completed', rigRuns: 6 });
    // The diverse down-selection took the best predicted of each round.
    for (const r of [1, 2, 3]) {
      const round = trials.filter((t) => t.round === r);
      const best = Math.max(...round.map((t) => t.predictedReward!));
      expect(round.find((t) => t.selectedRank === 0)!.predictedReward).toBe(best);
    }
  });

  it('a property the rig left out is not measured: no measured reward from its prediction, no rig observation for the agent (review 2026-12-07)', async () => {
    // The reward reads y; the rig reports z only (no rigs.measure to refuse it), the twin predicts y.
    const rig = fakeRig((job, emit) => {
      emit({ type: 'accepted' });
      emit({ type: 'result', measurements: { z: Number(job.params.x) }, final: true });
    });
    const agent = fakeAgent();
    const seen: Observation[] = [];
    const learn = agent.learn.bind(agent);
    agent.learn = async (obs) => (seen.push(...(obs as Observation[])), learn(obs));
    const propose = agent.propose.bind(agent);
    agent.propose = async (ctx, k) => (seen.push(...(ctx as AgentContext).history), propose(ctx, k));
    const lines: string[] = [];
    const s = setup({ rig, agent, rigRuns: 4, log: (l) => lines.push(l) });
    const snap = await runToEnd(s);
    expect(snap.context.finalStatus).toBe('completed');
    const selected = s.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(selected.map((t) => [t.status, t.measured])).toEqual(selected.map((t) => ['completed', { z: Number(t.params.x) }]));
    for (const t of selected) {
      expect(t.predictedReward).toEqual(expect.any(Number)); // a prediction-based value existed, and is not the measured reward
      expect(t.measuredReward ?? Number.NaN).toBeNaN();
    }
    expect(seen.filter((o) => o.fidelity === 'rig')).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);
    expect(lines.some((l) => /no measured reward — the reward reads "y", which the rigs did not measure \(they sent \[z\]\)/.test(l))).toBe(true);
  });

  it('an objective the rig left out is not measured: the agent gets no rig observation with its prediction (review 2026-12-07)', async () => {
    // Two objectives, y and z; the twin predicts both, the rig measures y only. The scalar reward (y) is measured.
    const predictor: Predictor = { score: async (c) => c.map((p) => ({ properties: { y: { mean: Number(p.x), std: 0.01 }, z: { mean: 1 - Number(p.x), std: 0.01 } }, fidelity: 'simulation' as const })) };
    const agent = fakeAgent();
    const seen: Observation[] = [];
    const propose = agent.propose.bind(agent);
    agent.propose = async (ctx, k) => (seen.push(...(ctx as AgentContext).history), propose(ctx, k));
    const s = setup({ agent, predictor, rigRuns: 4, objectivesOf: (v) => ({ objectives: [v.y, v.z], constraints: [] }) });
    await runToEnd(s);
    const selected = s.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(selected.map((t) => t.measuredReward)).toEqual(selected.map((t) => 0.9 * (1 - (Number(t.params.x) - 0.7) ** 2)));
    expect(seen.filter((o) => o.fidelity === 'simulation').length).toBeGreaterThan(0);
    expect(seen.filter((o) => o.fidelity === 'rig')).toEqual([]);
  });

  /**
   * Review 2026-12-07 (the GDL demo at a reduced twin size): above x = 0.8 the solid does not
   * conduct, s = 0 exactly and the reward log10(s) is −∞ — computable and terrible, not a failure
   * (NaN). The P-model below predicts s = 10^(4x) everywhere or, in the twin, 0 above 0.8 too.
   */
  const conducts = (x: number) => (x > 0.8 ? 0 : 10 ** (4 * x));
  const terribleAbove = () => fakeRig((job, emit) => {
    emit({ type: 'accepted' });
    emit({ type: 'result', measurements: { s: 0.9 * conducts(Number(job.params.x)) }, final: true });
  });
  /** An agent that proposes x = 0.95, 0.85, then a golden-ratio sequence, and keeps the last history it was shown. */
  const recordingAgent = () => {
    const agent = fakeAgent();
    const shown: { history: Observation[] } = { history: [] };
    let n = 0;
    agent.propose = async (ctx, k) => {
      shown.history = [...(ctx as AgentContext).history];
      return Array.from({ length: k }, () => ({ x: n < 2 ? [0.95, 0.85][n++] : Math.round(((n++ * 0.618034) % 1) * 1000) / 1000 }));
    };
    return { agent, shown };
  };

  it('a measured reward of −∞ is data: the agent sees it as −∞ and learns it below every finite reward; status says why (review 2026-12-07)', async () => {
    // Twin-less (surrogate estimates): the agent learns the rig measurements.
    const predictor: Predictor = { score: async (c) => c.map((p) => ({ properties: { s: { mean: 10 ** (4 * Number(p.x)), std: 0.01 } }, fidelity: 'surrogate' as const })) };
    const { agent, shown } = recordingAgent();
    const lines: string[] = [];
    const s = setup({ agent, predictor, rig: terribleAbove(), rigRuns: 6, rewardOf: (p) => Math.log10(p.s), log: (l) => lines.push(l) });
    await runToEnd(s);
    const completed = s.ledger.trials('c').filter((t) => t.status === 'completed');
    const bad = completed.filter((t) => Number(t.params.x) > 0.8);
    expect(bad.length).toBeGreaterThan(0);
    expect(completed.length).toBeGreaterThan(bad.length);
    // What the agent was shown at its last proposal: the −∞ rig results as −∞ (a NaN would be a failed manufacture).
    const rig = shown.history.filter((o) => o.fidelity === 'rig');
    expect(rig.filter((o) => Number(o.params.x) > 0.8).map((o) => o.reward)).toEqual(bad.slice(0, rig.filter((o) => Number(o.params.x) > 0.8).length).map(() => -Infinity));
    expect(rig.some((o) => Number(o.params.x) > 0.8)).toBe(true);
    // Learnt as the worst-reward substitution: below every finite reward.
    const { x, y } = trainingData({ parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] }, shown.history);
    const finite = rig.filter((o) => Number.isFinite(o.reward)).map((o) => o.reward);
    const substituted = y.filter((_, i) => x[i][0] > 0.8);
    expect(substituted.length).toBe(rig.filter((o) => Number(o.params.x) > 0.8).length);
    for (const v of substituted) expect(v).toBeLessThan(Math.min(...finite));
    // Why: in the log and in the summary status prints.
    expect(lines.some((l) => /measured s = 0 → reward −∞/.test(l))).toBe(true);
    const sum = summariseCampaign(s.ledger, 'c');
    expect(sum.outcomes.noReward).toBe(bad.length);
    expect(sum.noRewardReasons).toEqual([{ reason: 's = 0 → reward −∞', trials: bad.length, first: bad[0].id }]);
    const printed: string[] = [];
    printSummary({ json: false, info: (l) => printed.push(l), log: () => undefined, result: () => undefined }, sum);
    expect(printed).toContain(`  no finite measured reward: ${bad.length} × s = 0 → reward −∞ (first ${bad[0].id})`);
  });

  it('every feasible trial without a finite measured reward has its reason recorded: NaN or +∞ from the measurements alone, predictions that matter only together (review of 0e10d79)', async () => {
    // Before: none was recorded, and the summary said 'not recorded' (meant for trials recorded before reasons were kept).
    const ids = (s: ReturnType<typeof setup>) => s.ledger.trials('c').filter((t) => t.status === 'completed').map((t) => t.id);
    const nan = setup({ rigRuns: 2, rewardOf: (p) => (p.y - p.y) / (p.y - p.y) });
    await runToEnd(nan);
    expect(summariseCampaign(nan.ledger, 'c').noRewardReasons).toEqual([{ reason: 'reward NaN from the measurements [y]', trials: 2, first: ids(nan)[0] }]);
    const inf = setup({ rigRuns: 2, rewardOf: (p) => p.y / 0 });
    await runToEnd(inf);
    expect(summariseCampaign(inf.ledger, 'c').noRewardReasons.map((r) => r.reason)).toEqual(['reward +∞ from the measurements [y]']);
    // The twin predicts z and w, the rig measures y; the reward changes only with both unknown: no one name "reads" it.
    const predictor: Predictor = { score: async (c) => c.map(() => ({ properties: { z: { mean: 1, std: 0.01 }, w: { mean: 1, std: 0.01 } }, fidelity: 'simulation' as const })) };
    const lines: string[] = [];
    const both = setup({ rigRuns: 2, predictor, rewardOf: (p) => p.y + (Number.isNaN(p.z) && Number.isNaN(p.w) ? 1 : 0), log: (l) => lines.push(l) });
    await runToEnd(both);
    expect(summariseCampaign(both.ledger, 'c').noRewardReasons.map((r) => r.reason)).toEqual(['rests on [z, w] together, which the rigs did not measure']);
    expect(lines.filter((l) => /reads ,|reads  /.test(l))).toEqual([]);
    expect(lines.some((l) => /no measured reward — the reward rests on \[z, w\] together, which the rigs did not measure \(they sent \[y\]\)/.test(l))).toBe(true);
  });

  it('a warm-start row whose reward is −∞ reaches the agent as −∞, recomputed from its measurements as the ledger stores null (review 2026-12-07)', async () => {
    const predictor: Predictor = { score: async (c) => c.map((p) => ({ properties: { s: { mean: 10 ** (4 * Number(p.x)), std: 0.01 } }, fidelity: 'surrogate' as const })) };
    const { agent, shown } = recordingAgent();
    const s = setup({ agent, predictor, rig: terribleAbove(), rigRuns: 2, rewardOf: (p) => Math.log10(p.s) });
    const csv = join(mkdtempSync(join(tmpdir(), 'poreloop-rt-')), 'earlier.csv');
    writeFileSync(csv, 'x,s\n0.9,0\n0.5,100\n');
    const space = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
    importWarmStart(s.ledger, 'c', readWarmStart(csv, space, { properties: ['s'], rewardOf: (m) => Math.log10(m.s) }));
    expect(s.ledger.trials('c').map((t) => t.measuredReward)).toEqual([null, 2]);
    await runToEnd(s);
    const imported = shown.history.filter((o) => o.fidelity === 'rig' && (o.params.x === 0.9 || o.params.x === 0.5));
    expect(imported.map((o) => [o.params.x, o.reward])).toEqual([[0.9, -Infinity], [0.5, 2]]);
  });

  it('a twin campaign: the reality model takes simulated and measured −∞ as the worst, so the estimate the agent learns there is low (review 2026-12-07)', async () => {
    // The twin conducts up to x = 0.9, the rigs' samples only up to 0.8: x = 0.85 is predicted
    // the best and measured −∞. (A candidate predicted −∞ goes to the rigs only after every
    // finite one — sofc-device review 2026-12-07 — so the twin must be wrong for a rig to see one.)
    const twinConducts = (x: number) => (x > 0.9 ? 0 : 10 ** (4 * x));
    const predictor: Predictor = { score: async (c) => c.map((p) => ({ properties: { s: { mean: twinConducts(Number(p.x)), std: 0 } }, fidelity: 'simulation' as const })) };
    const { agent, shown } = recordingAgent();
    const space = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
    const reality = createRealityModel(space, 1);
    let measurements: FidelityObservation[] = [];
    const update = reality.update.bind(reality);
    reality.update = (sims, meas) => ((measurements = [...meas]), update(sims, meas));
    const s = setup({ agent, predictor, rig: terribleAbove(), rigRuns: 6, rewardOf: (p) => Math.log10(p.s), reality, simulationEvidence });
    await runToEnd(s);
    // Every rig result is the model's data, a −∞ as the stand-in below the worst finite one.
    const completed = s.ledger.trials('c').filter((t) => t.status === 'completed');
    expect(measurements.map((m) => m.params.x).sort()).toEqual(completed.map((t) => t.params.x).sort());
    const worst = Math.min(...completed.filter((t) => t.measuredReward !== null).map((t) => t.measuredReward!));
    const standIns = measurements.filter((m) => Number(m.params.x) > 0.8).map((m) => m.reward);
    expect(standIns.length).toBeGreaterThan(0);
    for (const r of standIns) expect(r).toBeLessThan(worst);
    const sims = shown.history.filter((o) => o.fidelity === 'simulation');
    const inside = sims.filter((o) => Number(o.params.x) > 0.8);
    const outside = sims.filter((o) => Number(o.params.x) <= 0.8 && Number(o.params.x) > 0.3);
    expect(inside.length).toBeGreaterThan(0);
    expect(outside.length).toBeGreaterThan(0);
    // The agent learns the reality model's estimate: where s = 0 it is below every estimate of a
    // conducting recipe (x > 0.3: reward > 1.2), not extrapolated from them.
    const high = Math.min(...outside.map((o) => o.reward));
    for (const o of inside) expect(o.reward).toBeLessThan(high);
  });

  it('predict.screen: the first round scores more candidates before any rig run, later rounds the usual number (issue #13)', async () => {
    const s = setup({ screen: 20 });
    await runToEnd(s);
    const perRound = [1, 2, 3].map((r) => s.ledger.trials('c').filter((t) => t.round === r));
    expect(perRound.map((t) => t.length)).toEqual([20, 6, 6]);
    // Every screened candidate was scored by the P-model; the rigs still got a batch of 2.
    expect(perRound[0].every((t) => t.predictedReward !== null)).toBe(true);
    expect(perRound[0].filter((t) => t.selectedRank !== null)).toHaveLength(2);
  });

  it('records what the agent learnt from with its fidelity: surrogate estimates are not simulations (issue #12)', async () => {
    const estimates: Predictor = { score: async (cs) => cs.map(() => ({ properties: { y: { mean: 0.5, std: 0.2 } }, fidelity: 'surrogate' as const })) };
    const s = setup({ predictor: estimates, rigRuns: 2 });
    await runToEnd(s);
    const learnt = s.ledger.documents('c', 'AgentLearned').map((d) => [d.body.round, d.body.fidelity]);
    expect(learnt).toEqual([[1, 'surrogate'], [1, 'rig']]);
  });

  it('a prior that predicts nothing (stage-wise trials: no twin, no data) claims no fidelity; the data mean is `prior`, not `surrogate` (review 2026-12-07, finding 4)', async () => {
    const nothing: Predictor = { score: async (cs) => cs.map(() => ({ properties: { y: { mean: NaN, std: Infinity } }, fidelity: 'prior' as const })) };
    const seen: Observation[][] = [];
    const agent = fakeAgent();
    const learn = agent.learn.bind(agent);
    agent.learn = async (obs) => (seen.push([...(obs as Observation[])]), learn(obs));
    const s = setup({ predictor: nothing, rigRuns: 2, agent });
    await runToEnd(s);
    const scored = s.ledger.documents('c', 'TrialScored').map((d) => d.body);
    expect(scored.length).toBeGreaterThan(0);
    expect(scored.every((b) => b.fidelity === undefined)).toBe(true);
    expect(exportCampaign(s.ledger, 'c').trials.filter((t) => t.status !== 'completed').every((t) => t.fidelity === null)).toBe(true);
    // No NaN "observation" of a prediction that was never made reaches the agent.
    expect(seen.flat().filter((o) => o.fidelity !== 'rig')).toEqual([]);
    expect(s.ledger.documents('c', 'AgentLearned').map((d) => d.body.fidelity)).toEqual(['prior', 'rig']);

    const mean: Predictor = { score: async (cs) => cs.map(() => ({ properties: { y: { mean: 0.5, std: 0.2 } }, fidelity: 'prior' as const })) };
    const t = setup({ predictor: mean, rigRuns: 2 });
    await runToEnd(t);
    expect(t.ledger.documents('c', 'TrialScored').every((d) => d.body.fidelity === 'prior')).toBe(true);
    expect(t.ledger.documents('c', 'AgentLearned').map((d) => d.body.fidelity)).toEqual(['prior', 'rig']);
  });

  it('chains a multi-stage pipeline, passing measurements on as inputs', async () => {
    const s = setup({ pipeline: ['make', 'measure'], rigRuns: 2 });
    await runToEnd(s);
    const stages = s.rig.jobs.map((j) => j.capability);
    expect(stages.filter((c) => c === 'make')).toHaveLength(2);
    expect(stages.filter((c) => c === 'measure')).toHaveLength(2);
    expect(s.rig.jobs.find((j) => j.capability === 'measure')!.inputs).toBeDefined();
  });

  it('records duplicate events once and a failed manufacture as an infeasible result', async () => {
    let n = 0;
    const b: Behaviour = (job, emit) => {
      emit({ type: 'accepted' });
      if (n++ % 2 === 0) {
        emit({ type: 'result', measurements: { y: 0.5 }, final: true });
        emit({ type: 'result', measurements: { y: 0.5 }, final: true, seq: 2 }); // re-delivery of seq 2
      } else emit({ type: 'failed', feasible: false, reason: 'coating cracked', final: true });
    };
    const s = setup({ rig: fakeRig(b), rigRuns: 4 });
    await runToEnd(s);
    const sel = s.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(sel.filter((t) => t.feasible === false)).toHaveLength(2);
    expect(sel.every((t) => t.status === 'completed')).toBe(true);
    expect(s.ledger.measurements('c')).toHaveLength(4);
  });

  it('records retried attempts and abandons a trial whose job finally fails', async () => {
    let n = 0;
    const b: Behaviour = (job, emit) => {
      if (n++ === 0) {
        emit({ type: 'failed', reason: 'timed out', attempt: 1, final: false, origin: 'dispatcher', seq: 0 });
        emit({ type: 'result', measurements: { y: 0.4 }, attempt: 2, final: true, seq: 1 });
      } else emit({ type: 'failed', reason: 'gripper jam', final: true });
    };
    const s = setup({ rig: fakeRig(b), rigRuns: 2 });
    await runToEnd(s);
    const jobs = s.ledger.jobs('c');
    expect(jobs.find((j) => j.status === 'completed')!.attempt).toBe(2);
    expect(jobs.find((j) => j.status === 'failed')!.reason).toBe('gripper jam');
    expect(s.ledger.trials('c').filter((t) => t.status === 'abandoned')).toHaveLength(1);
  });

  it('a late result of the rig that had the job completes the abandoned trial and reaches the agent (issue #14)', async () => {
    let n = 0;
    let lateResult = () => {};
    const b: Behaviour = (job, emit) => {
      if (n++ === 0) {
        // The dispatcher gives up on the first job (all attempts timed out) …
        emit({ type: 'failed', reason: 'timed out', origin: 'dispatcher', final: true, seq: 1 });
        lateResult = () => emit({ type: 'result', measurements: { y: 0.8 }, final: true, late: true, seq: 2 });
        return;
      }
      // … and the rig's real result arrives while round 2 is with the rigs.
      if (n === 3) lateResult();
      emit({ type: 'result', measurements: { y: 0.5 }, final: true });
    };
    const seen: number[] = [];
    const agent = fakeAgent();
    const propose = agent.propose.bind(agent);
    agent.propose = async (ctx, k) => {
      seen.push(ctx.history.filter((o) => o.fidelity === 'rig' && o.reward === 0.8).length);
      return propose(ctx as never, k);
    };
    const s = setup({ rig: fakeRig(b), rigRuns: 6, agent });
    await runToEnd(s);
    const first = s.ledger.trials('c').find((t) => t.id === s.rig.jobs[0].trialId)!;
    expect(first).toMatchObject({ status: 'completed', measuredReward: 0.8 });
    expect(s.ledger.documents('c', 'TrialAbandoned')).toHaveLength(1); // the record of the timeout stays
    expect(seen).toEqual([0, 0, 1]); // round 3's proposal learns from the late measurement
  });

  it('approval gate: decisions come from the ledger (another process); a rejected batch spends no rig run (issue #14)', async () => {
    const s = setup({ approval: true, rigRuns: 8 });
    const operator = Ledger.open(s.db); // `poreloop approve|reject` runs in another process
    const waiting: Array<ReturnType<typeof summariseCampaign>['awaitingApproval']> = [];
    s.runtime.start();
    const actor = createActor(s.machine, { input: s.input });
    const stop = atTheGate(actor, s.runtime, (round) => {
      if (waiting.length < round) {
        // `status` shows the batch that waits; the operator rejects round 1, approves the rest.
        waiting.push(summariseCampaign(operator, 'c', 0).awaitingApproval);
        issueCommand(operator, 'c', round === 1 ? 'reject' : 'approve', { round, by: 'test' });
      }
    });
    actor.start();
    await toPromise(actor);
    stop();
    await s.runtime.close();
    operator.close();
    // Budget 8 in batches of 2: round 1 rejected, then four approved rounds with 8 real rig runs.
    expect(s.rig.jobs).toHaveLength(8);
    expect(s.ledger.campaign('c')).toMatchObject({ status: 'completed', rigRuns: 8, stopReason: 'rig-run budget spent' });
    expect(waiting).toHaveLength(5);
    expect(waiting[0]).toEqual({ round: 1, trialIds: s.ledger.trials('c').filter((t) => t.round === 1 && t.selectedRank !== null).map((t) => t.id) });
    const round1 = s.ledger.trials('c').filter((t) => t.round === 1 && t.selectedRank !== null);
    expect(round1.map((t) => t.status)).toEqual(['abandoned', 'abandoned']);
    expect(s.ledger.documents('c', 'ApprovalGiven').map((d) => d.body.decision)).toEqual(['reject', 'approve', 'approve', 'approve', 'approve']);
    expect(summariseCampaign(s.ledger, 'c', 0).awaitingApproval).toBeNull();
  });

  it('the composition root stops a campaign waiting at the gate when its lease cannot be renewed: stopped, resumable (review 2026-12-07)', async () => {
    // src/compose/campaign.ts: a renewal the ledger's lock refused for half the lease's life.
    const s = setup({ approval: true, rigRuns: 4 });
    s.runtime.start();
    const actor = createActor(s.machine, { input: s.input });
    const stop = atTheGate(actor, s.runtime, () => {
      s.runtime.stopUnrecorded("renewal of the campaign's lease", new LedgerBusyError(s.db, 3, null));
      actor.send({ type: 'campaign.stop', reason: 'the ledger stayed locked' });
    });
    actor.start();
    await toPromise(actor);
    stop();
    await s.runtime.close();
    expect(s.ledger.campaign('c')).toMatchObject({
      status: 'stopped',
      stopReason: expect.stringMatching(/^the renewal of the campaign's lease could not be recorded in the ledger \(ledger .*another process held its write lock.*"poreloop resume c" continues it/),
    });
  });

  it('a decision counts for its round only: two approvals of round 1 leave round 2 waiting; a stale or round-less one is ignored, with why (issue #18)', async () => {
    const s = setup({ approval: true, rigRuns: 4 });
    s.runtime.start();
    const actor = createActor(s.machine, { input: s.input });
    const waitAt = (round: number) => new Promise<void>((resolve) => {
      const check = (snap: any) => snap.matches({ awaitingApproval: 'waiting' }) && snap.context.round === round && resolve();
      check(actor.getSnapshot());
      actor.subscribe(check);
    });
    const decide = () => {
      const snap = actor.getSnapshot();
      const decided = snap.matches({ awaitingApproval: 'waiting' }) ? s.runtime.decideApproval(snap.context.round) : null;
      if (decided) actor.send({ type: 'approval.decided', ...decided });
    };
    actor.start();
    await waitAt(1);
    // A double click: two approvals of round 1, and one from a script that names no round.
    issueCommand(s.ledger, 'c', 'approve', { round: 1, by: 'a' });
    issueCommand(s.ledger, 'c', 'approve', { round: 1, by: 'b' });
    decide();
    await waitAt(2);
    issueCommand(s.ledger, 'c', 'approve', { by: 'script' });
    decide();
    decide();
    // Round 2 still waits for a person: both leftovers were consumed and recorded as ignored.
    expect(actor.getSnapshot().matches({ awaitingApproval: 'waiting' })).toBe(true);
    expect(s.ledger.documents('c', 'ApprovalGiven').map((d) => d.body.round)).toEqual([1]);
    expect(s.ledger.pendingCommands('c')).toEqual([]);
    expect(s.ledger.documents('c', 'CommandIgnored').map((d) => d.body.reason)).toEqual(['written for round 1; round 2 waits', 'names no round (round 2 waits); decide again']);
    issueCommand(s.ledger, 'c', 'approve', { round: 2, by: 'a' });
    decide();
    await toPromise(actor);
    await s.runtime.close();
    expect(s.ledger.documents('c', 'ApprovalGiven').map((d) => [d.body.round, d.body.by])).toEqual([[1, 'a'], [2, 'a']]);
    expect(s.rig.jobs).toHaveLength(4);
  });

  it('an edited trial is re-scored before dispatch: the correction\'s evidence and the reality model\'s simulations pair the edited recipe with its own prediction (issue #18)', async () => {
    const updates: Array<readonly Evidence[]> = [];
    const correction: RealityCorrection = {
      update: (evidence) => (updates.push(evidence), []),
      apply: (candidates, predicted, rewardOf) => predicted.map((p, i) => ({ properties: p, reward: rewardOf(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.mean])), candidates[i]) })),
    };
    // A reality model that records its simulation level (issue #13) and ranks in the agent's order.
    const simulations: Array<readonly FidelityObservation[]> = [];
    const reality: RealityModel = {
      update: (sims) => (simulations.push(sims), { kind: 'test', samples: sims.length, state: null }),
      estimate: (cs) => cs.map(() => ({ mean: 0, std: 1 })),
      rank: (cs) => cs.map((_, index) => ({ index, value: -index, mean: 0, std: 1 })),
    };
    const predictor = fakePredictor();
    const s = setup({ approval: true, rigRuns: 2, correction, predictor, reality });
    s.runtime.start();
    const actor = createActor(s.machine, { input: s.input });
    let edited = '';
    const stop = atTheGate(actor, s.runtime, () => {
      if (!edited) {
        edited = s.ledger.trials('c').find((t) => t.status === 'selected')!.id;
        issueCommand(s.ledger, 'c', 'approve', { round: 1, edits: { [edited]: { x: 0.1 } }, by: 'test' });
      }
    });
    actor.start();
    await toPromise(actor);
    stop();
    await s.runtime.close();
    // The fake P-model predicts y = 1 - (x - 0.7)²: at the edited x = 0.1 that is 0.64.
    const own = 1 - (0.1 - 0.7) ** 2;
    expect(s.ledger.documents('c', 'TrialRescored').map((d) => [d.body.trialId, d.body.properties.y.mean])).toEqual([[edited, own]]);
    const trial = s.ledger.trials('c').find((t) => t.id === edited)!;
    expect(trial).toMatchObject({ params: { x: 0.1 }, status: 'completed', predictedReward: own });
    // The proposal's score stays in its document.
    expect(s.ledger.documents('c', 'TrialScored').find((d) => d.body.trialId === edited)!.body.properties.y.mean).not.toBe(own);
    const evidence = updates.at(-1)!.find((e) => e.params.x === 0.1)!;
    expect(evidence.predicted).toEqual({ y: own });
    // The reward is y, so the simulated reward of the edited recipe is its own prediction.
    expect(simulations.at(-1)!.filter((o) => o.params.x === 0.1).map((o) => o.reward)).toEqual([own]);
    expect(exportCampaign(s.ledger, 'c').trials.find((t) => t.trialId === edited)!.predicted.y.mean).toBe(own);
  });

  it('tells the agent which selected trials were abandoned (ctx.abandoned), apart from candidates never selected (issue #21)', async () => {
    const seen: Array<readonly unknown[] | undefined> = [];
    const inner = fakeAgent();
    const agent = { ...inner, propose: async (ctx: AgentContext, k: number) => (seen.push(ctx.abandoned), inner.propose(ctx, k)) };
    const s = setup({ approval: true, rigRuns: 3, agent: agent as ReturnType<typeof fakeAgent> });
    s.runtime.start();
    const actor = createActor(s.machine, { input: s.input });
    let rejected = '';
    const stop = atTheGate(actor, s.runtime, (round) => {
      if (s.ledger.pendingCommands('c').length === 0 && !s.runtime.decideApproval(round)) {
        if (!rejected) {
          rejected = s.ledger.trials('c').find((t) => t.status === 'selected')!.id;
          issueCommand(s.ledger, 'c', 'approve', { round: 1, reject: [rejected], by: 'test' });
        } else issueCommand(s.ledger, 'c', 'approve', { round, by: 'test' });
      }
    });
    actor.start();
    await toPromise(actor);
    stop();
    await s.runtime.close();
    const trials = s.ledger.trials('c');
    expect(trials.find((t) => t.id === rejected)!.status).toBe('abandoned');
    // Round 1 had nothing abandoned; every later proposal gets the rejected trial and only it.
    expect(seen[0]).toBeUndefined();
    expect(seen.length).toBeGreaterThan(1);
    for (const a of seen.slice(1)) expect(a).toEqual([trials.find((t) => t.id === rejected)!.params]);
  });

  it('a kill between a round\'s proposal and its scoring resumes with the agent\'s state after that proposal: the next proposals are the uninterrupted run\'s (#21 review)', async () => {
    // CMA-ES hands out members of its generation as it proposes: a resume from the state before
    // the proposal forgot them, and round 3 differed.
    const cmaes = () => createCmaesAgent() as ReturnType<typeof fakeAgent>;
    const step = async (s: ReturnType<typeof setup>, round: number, what: 'propose' | 'score') => s.runtime[what]({ campaignId: 'c', round });
    const round3 = (s: ReturnType<typeof setup>) => s.ledger.trials('c').filter((t) => t.round === 3).map((t) => t.params);

    const whole = setup({ agent: cmaes(), rig: fakeRig(() => {}) });
    whole.runtime.start();
    for (const round of [1, 2]) for (const what of ['propose', 'score'] as const) await step(whole, round, what);
    await step(whole, 3, 'propose');
    await whole.runtime.close();

    const killed = setup({ agent: cmaes(), rig: fakeRig(() => {}) });
    killed.runtime.start();
    await step(killed, 1, 'propose');
    await step(killed, 1, 'score');
    await step(killed, 2, 'propose');
    await killed.runtime.close();
    killed.ledger.close();
    // A new process on the same ledger: the machine's snapshot says `proposing` or `scoring` of round 2.
    const resumed = setup({ agent: cmaes(), rig: fakeRig(() => {}), db: killed.db });
    resumed.runtime.start();
    for (const what of ['propose', 'score'] as const) await step(resumed, 2, what);
    await step(resumed, 3, 'propose');
    await resumed.runtime.close();
    expect(round3(resumed)).toHaveLength(round3(whole).length);
    expect(round3(resumed)).toEqual(round3(whole));
    // The state is recorded with the proposals, once per round.
    expect(resumed.ledger.documents('c', 'AgentProposed').map((d) => d.key)).toEqual(['round:1', 'round:2', 'round:3']);
  });

  it('async: trials rejected at the approval gate are no results — not counted toward loop.warmup, not taken by an assimilation (#21 review)', async () => {
    // A rig that never answers: the approved trial stays in flight.
    const s = setup({ approval: true, mode: 'async', warmup: 2, batchSize: 3, rigRuns: 10, rig: fakeRig(() => {}) });
    s.runtime.start();
    const r = { campaignId: 'c', round: 1 };
    await s.runtime.propose(r);
    await s.runtime.score(r);
    expect((await s.runtime.select({ ...r, remaining: 10 })).selected).toBe(3);
    await s.runtime.requestApproval(r);
    const [, ...reject] = s.ledger.trials('c').filter((t) => t.selectedRank !== null).map((t) => t.id);
    issueCommand(s.ledger, 'c', 'approve', { round: 1, reject, by: 'test' });
    expect(s.runtime.decideApproval(1)).toMatchObject({ decision: 'approve', approved: 1 });
    await s.runtime.dispatch(r);
    // Two slots free, two trials rejected, no result: the warm-up of 2 ended trials still holds.
    let freed = false;
    void s.runtime.awaitRigs({ ...r, remaining: 9 }).then(() => (freed = true), () => {});
    await new Promise((done) => setImmediate(done));
    expect(freed).toBe(false);
    // Nothing ended at the rigs: the pass takes no trial, is no result round, records no learning.
    expect(await s.runtime.assimilate(r)).toMatchObject({ ended: 0, inFlight: 1 });
    expect(s.ledger.documents('c', 'AgentLearned').filter((d) => d.key === 'rig:1')).toEqual([]);
    await s.runtime.close();
  });

  it('passes only abandonments that concern the recipe: a job failed for good (rig timeout after maxAttempts) is not in ctx.abandoned (#21 review)', async () => {
    // gp-bo keeps every pick minDistance from ctx.abandoned for good: a hung rig's trial there
    // would have fenced off a recipe the lab never judged.
    const seen: Array<readonly unknown[] | undefined> = [];
    const inner = fakeAgent();
    const agent = { ...inner, propose: async (ctx: AgentContext, k: number) => (seen.push(ctx.abandoned), inner.propose(ctx, k)) };
    let n = 0;
    const b: Behaviour = (job, emit) => {
      emit({ type: 'accepted' });
      if (++n === 1) emit({ type: 'failed', reason: 'timed out (attempt 3 of 3)', origin: 'dispatcher', final: true });
      else emit({ type: 'result', measurements: { y: 0.5 }, final: true });
    };
    const s = setup({ rig: fakeRig(b), rigRuns: 6, agent: agent as ReturnType<typeof fakeAgent> });
    await runToEnd(s);
    const failed = s.ledger.documents('c', 'TrialAbandoned');
    expect(failed).toHaveLength(1);
    expect(failed[0].body).toMatchObject({ trialId: s.rig.jobs[0].trialId, kind: 'rig' });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((a) => a === undefined)).toBe(true);
  });

  it('ctx.abandoned from a ledger written before TrialAbandoned.kind: the approval gate\'s reason still counts, a rig failure\'s does not (#21 review)', async () => {
    // An old ledger: two selected trials abandoned without `kind`, one by the gate, one by a rig.
    const s = setup({ rigRuns: 4 });
    const space = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
    s.ledger.append('c', 'RoundStarted', { round: 1 }, 'round:1');
    for (const [i, x] of [0.1, 0.9].entries()) {
      s.ledger.append('c', 'TrialProposed', { trialId: `old-${i}`, round: 1, index: i, params: { x }, agent: 'fake' }, `old-${i}`);
      s.ledger.append('c', 'TrialScored', { trialId: `old-${i}`, properties: { y: { mean: 0.5, std: 0.1 } }, fidelity: 'surrogate', reward: 0.5 }, `old-${i}`);
      s.ledger.append('c', 'TrialSelected', { trialId: `old-${i}`, round: 1, rank: i, predictedReward: 0.5 }, `old-${i}`);
    }
    s.ledger.append('c', 'TrialAbandoned', { trialId: 'old-0', reason: 'rejected at the approval gate' }, 'old-0');
    s.ledger.append('c', 'TrialAbandoned', { trialId: 'old-1', reason: 'stage measure: timed out' }, 'old-1');
    const seen: Array<readonly unknown[] | undefined> = [];
    const inner = fakeAgent();
    const agent = { ...inner, propose: async (ctx: AgentContext, k: number) => (seen.push(ctx.abandoned), inner.propose(ctx, k)) };
    const r = new CampaignRuntime({
      ledger: s.ledger, campaignId: 'c', agent: agent as ReturnType<typeof fakeAgent>, space, predictor: fakePredictor(), rewardOf: (p) => p.y, rig: fakeRig(), pipeline: ['measure'],
      candidatesPerRound: 6, batchSize: 2, timeoutMs: 5000, maxAttempts: 3, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0',
    });
    await r.actors().propose({ campaignId: 'c', round: 2 } as never);
    await r.close();
    expect(seen).toEqual([[{ x: 0.1 }]]);
  });

  it('resumes a campaign killed while it waited at the approval gate; a decision taken meanwhile applies', async () => {
    const s1 = setup({ approval: true, rigRuns: 4 });
    s1.runtime.start();
    const a1 = createActor(s1.machine, { input: s1.input });
    a1.subscribe(() => s1.ledger.saveSnapshot('c', a1.getPersistedSnapshot()));
    a1.start();
    await new Promise<void>((resolve) => a1.subscribe((snap) => snap.matches({ awaitingApproval: 'waiting' }) && resolve()));
    a1.stop(); // killed at the gate
    await s1.runtime.close();
    const snapshot = s1.ledger.campaign('c')!.snapshot;
    issueCommand(s1.ledger, 'c', 'approve', { round: 1, by: 'test' }); // the operator approves while it is down
    s1.ledger.close();

    const s2 = setup({ db: s1.db, approval: true, rigRuns: 4 });
    s2.runtime.start();
    const a2 = createActor(s2.machine, { snapshot: snapshot as never, input: s2.input });
    a2.subscribe(() => s2.ledger.saveSnapshot('c', a2.getPersistedSnapshot()));
    const stop = atTheGate(a2, s2.runtime, (round) => {
      if (round > 1 && s2.ledger.pendingCommands('c').length === 0) issueCommand(s2.ledger, 'c', 'approve', { round, by: 'test' });
    });
    a2.start();
    expect(a2.getSnapshot().matches({ awaitingApproval: 'waiting' })).toBe(true);
    await toPromise(a2);
    stop();
    await s2.runtime.close();
    expect(a2.getSnapshot().context.finalStatus).toBe('completed');
    expect(s2.ledger.documents('c', 'ApprovalRequested').filter((d) => d.body.round === 1)).toHaveLength(1);
    expect(s2.ledger.documents('c', 'ApprovalGiven')[0].body).toMatchObject({ round: 1, decision: 'approve' });
    expect(s2.rig.jobs).toHaveLength(4);
    expect(s2.ledger.campaign('c')!.rigRuns).toBe(4);
  });

  it('the ledger grows by a bounded amount per round: the reality correction records fitted parameters, not its data (issue #15)', async () => {
    const space = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
    const s = setup({ rigRuns: 20, correction: createRealityCorrection(space, ['y'], 1) });
    await runToEnd(s);
    const bytes = (type: string, round: number) =>
      s.ledger.documents('c', type as 'ModelTrained').filter((d) => d.body.version === round).reduce((n, d) => n + JSON.stringify(d.body).length, 0);
    const versions = [...new Set(s.ledger.documents('c', 'ModelTrained').map((d) => d.body.version))];
    const rounds = versions.at(-1)!;
    expect(versions.length).toBeGreaterThanOrEqual(8);
    // From the second correction on (≥ 3 measured pairs: the GP is fitted) a round's
    // ModelTrained documents keep their size while the evidence grows to 20 trials.
    const sizes = versions.slice(1).map((v) => bytes('ModelTrained', v));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.min(...sizes) * 1.2);
    const last = s.ledger.documents('c', 'ModelTrained').filter((d) => d.body.version === rounds);
    expect(last.map((d) => d.body.samples)).toEqual([20, 20]);
    expect(JSON.stringify(last.map((d) => d.body.state))).not.toContain('"params"');
    // All of a round's documents together: the last round adds no more than the second did, within 20 %.
    const perRound = (r: number) => s.ledger.documents('c').filter((d) => JSON.stringify(d.body).includes(`-r${r}-`) || (d.body as { version?: number; round?: number }).version === r || (d.body as { round?: number }).round === r).reduce((n, d) => n + JSON.stringify(d.body).length, 0);
    expect(perRound(rounds)).toBeLessThanOrEqual(perRound(versions[1]) * 1.2);
  });

  it('records events for unknown jobs as rejected messages and ignores them', async () => {
    const s = setup({ rigRuns: 2 });
    // A stray result for a job of another campaign, on the same lab.
    await (s.runtime as unknown as { onRigEvent(e: unknown): Promise<void> }).onRigEvent({ jobId: 'other-campaign-job', rigId: 'r', seq: 1, type: 'result', at: '', protocol: '1.0', measurements: { y: 1 } });
    expect(s.ledger.documents('c', 'MessageRejected')).toHaveLength(1);
    expect(s.ledger.measurements('c')).toHaveLength(0);
  });

  it('resumes a trial killed between a stage\'s measurement and the next step: the next stage is sent, the last completes it (issue #15)', async () => {
    const s1 = await crashWhileWaiting({ rigRuns: 2, pipeline: ['make', 'measure'] });
    // The first trial's fabricate result was recorded, then the process died before the
    // characterise job was written; the second trial's last stage was measured but the trial
    // never completed.
    const [j1, j2] = s1.ledger.jobs('c');
    s1.ledger.append('c', 'MeasurementRecorded', { jobId: j1.jobId, trialId: j1.trialId, stage: 0, capability: 'make', rigId: 'rig-1', measurements: { q: 1 }, feasible: true }, `${j1.trialId}:0`);
    s1.ledger.append('c', 'MeasurementRecorded', { jobId: j2.jobId, trialId: j2.trialId, stage: 0, capability: 'make', rigId: 'rig-1', measurements: { q: 2 }, feasible: true }, `${j2.trialId}:0`);
    s1.ledger.append('c', 'JobDispatched', { jobId: `${j2.trialId}-s1`, trialId: j2.trialId, stage: 1, capability: 'measure', attempt: 1, params: {}, deadline: new Date(Date.now() + 60_000).toISOString() }, `${j2.trialId}-s1`);
    s1.ledger.append('c', 'MeasurementRecorded', { jobId: `${j2.trialId}-s1`, trialId: j2.trialId, stage: 1, capability: 'measure', rigId: 'rig-1', measurements: { y: 0.3 }, feasible: true }, `${j2.trialId}:1`);
    const snapshot = s1.ledger.campaign('c')!.snapshot;
    s1.ledger.close();

    const s2 = setup({ db: s1.db, rigRuns: 2, pipeline: ['make', 'measure'] });
    const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resumed round never finished')), 20_000));
    const snap = await Promise.race([runToEnd(s2, snapshot), stuck]);
    expect(snap.context.finalStatus).toBe('completed');
    expect(s2.rig.jobs.map((j) => j.jobId)).toEqual([`${j1.trialId}-s1`]); // nothing measured twice
    const done = s2.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(done.map((t) => [t.status, t.measuredReward])).toEqual([['completed', expect.any(Number)], ['completed', 0.3]]);
  });

  it('resumes a job killed between recording its final event and its outcome: the rig\'s replay of that event finishes it (fault suite, issue #15)', async () => {
    const s1 = await crashWhileWaiting({ rigRuns: 2 });
    // The first job's result event was recorded, then the process died before its measurement:
    // the job is still open, and after resume the rig answers the re-sent job by replaying the
    // same event (same seq), a duplicate of what the ledger holds.
    const [j1] = s1.ledger.jobs('c');
    const replayed = { jobId: j1.jobId, rigId: 'rig-1', seq: 2, at: new Date().toISOString(), protocol: '1.0', type: 'result' as const, measurements: { y: 0.5 }, final: true };
    s1.ledger.append('c', 'RigEventReceived', replayed, `${j1.jobId}:1:rig:2:result`);
    expect(s1.ledger.jobs('c').find((j) => j.jobId === j1.jobId)!.status).not.toBe('completed');
    const snapshot = s1.ledger.campaign('c')!.snapshot;
    s1.ledger.close();

    const s2 = setup({ db: s1.db, rigRuns: 2 });
    const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the resumed round never finished')), 20_000));
    const snap = await Promise.race([runToEnd(s2, snapshot), stuck]);
    expect(snap.context.finalStatus).toBe('completed');
    expect(s2.ledger.trials('c').filter((t) => t.selectedRank !== null).map((t) => t.status)).toEqual(['completed', 'completed']);
    expect(s2.ledger.measurements('c')).toHaveLength(2);
    expect(s2.ledger.integrity().ok).toBe(true);
  });

  it('resumes after a crash while rigs are working: same trials, jobs re-sent with the same id, nothing repeated', async () => {
    const s1 = await crashWhileWaiting({ rigRuns: 4 });
    const jobsBefore = s1.ledger.jobs('c').map((j) => j.jobId);
    const trialsBefore = s1.ledger.trials('c').map((t) => t.id);
    const snapshot = s1.ledger.campaign('c')!.snapshot;
    s1.ledger.close();

    const s2 = setup({ db: s1.db, rigRuns: 4 });
    const snap = await runToEnd(s2, snapshot);
    expect(snap.context.finalStatus).toBe('completed');
    // The re-sent jobs kept their ids; round 1's trials were not proposed again.
    expect(s2.rig.jobs.slice(0, 2).map((j) => j.jobId).sort()).toEqual([...jobsBefore].sort());
    // … to the rig that had them, known from JobSent although it never said a word (a rig
    // that finished the job answers from its record instead of another rig repeating it).
    expect(s2.rig.jobs.slice(0, 2).map((j) => j.rigId)).toEqual(['rig-1', 'rig-1']);
    const trials = s2.ledger.trials('c');
    expect(trials.filter((t) => t.round === 1).map((t) => t.id)).toEqual(trialsBefore);
    expect(new Set(trials.map((t) => t.id)).size).toBe(trials.length);
    expect(s2.ledger.measurements('c')).toHaveLength(4);
    expect([...s2.rig.executions.values()].every((n) => n === 1)).toBe(true);
    expect(s2.ledger.integrity().ok).toBe(true);
  });
});

/**
 * Another process (a second campaign on the ledger, `stop`, `approve`) holding the ledger's
 * write lock while `s` writes a document of `type` (a rig event: its results only), whenever
 * `lockedNow()` says so. `s` does not wait for the lock (busy_timeout 0), so each try of a
 * write meets it at once.
 */
function lockRigEvents(s: ReturnType<typeof setup>, lockedNow: () => boolean, type = 'RigEventReceived') {
  const other = Ledger.open(s.db);
  s.ledger.db.pragma('busy_timeout = 0');
  const append = s.ledger.append.bind(s.ledger);
  s.ledger.append = ((...args: Parameters<typeof append>) => {
    const locks = args[1] === type && (type !== 'RigEventReceived' || (args[2] as { type: string }).type === 'result');
    if (!locks || !lockedNow()) return append(...args);
    other.db.exec('BEGIN IMMEDIATE');
    try {
      return append(...args);
    } finally {
      other.db.exec('COMMIT');
    }
  }) as typeof append;
  return other;
}

const stuckAfter = (what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), 60_000));

describe('rig events while another process writes the ledger (review of two campaigns on one ledger, 2026-12-07)', () => {
  it('an event met by a locked ledger is tried again and recorded: the campaign completes', async () => {
    const lines: string[] = [];
    const s = setup({ rigRuns: 2, log: (l) => lines.push(l) });
    let first = true;
    const other = lockRigEvents(s, () => {
      const now = first;
      first = false;
      return now;
    });
    // Before: the event was logged as "rig event handling failed" and dropped; the round waited for ever.
    const snap = await Promise.race([runToEnd(s), stuckAfter('the round never finished: a rig event was dropped')]);
    expect(snap.context.finalStatus).toBe('completed');
    expect(lines.some((l) => /could not be recorded yet .*trying again/.test(l))).toBe(true);
    expect(s.ledger.measurements('c')).toHaveLength(2);
    expect(s.ledger.campaign('c')!.status).toBe('completed');
    other.close();
  });

  it('an event the ledger keeps refusing stops the campaign, loudly and resumably; the resumed process records the rig\'s answer', async () => {
    const lines: string[] = [];
    let locked = true;
    const s = setup({ rigRuns: 2, log: (l) => {
      lines.push(l);
      // The other process lets go once this one has given up on the event.
      if (/could not be recorded in the ledger/.test(l)) locked = false;
    } });
    const other = lockRigEvents(s, () => locked);
    await Promise.race([runToEnd(s), stuckAfter('the campaign neither recorded the event nor stopped')]);
    const stopped = s.ledger.campaign('c')!;
    // `stopped`, not `failed`: a failed campaign cannot be resumed, and the resume records the result.
    expect(stopped.status).toBe('stopped');
    expect(stopped.stopReason).toMatch(/result event of job .* could not be recorded in the ledger .*"poreloop resume c" continues it from the ledger \(open jobs are re-sent/);
    expect(lines.filter((l) => /could not be recorded in the ledger/.test(l))).toHaveLength(1);
    // The job whose result that was is open in the ledger (as may be the other, if its events
    // came after the campaign ended): nothing was given up or failed.
    const open = s.ledger.jobs('c').filter((j) => j.status !== 'completed');
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((j) => ['dispatched', 'accepted', 'running'].includes(j.status))).toBe(true);
    expect(s.ledger.measurements('c').length).toBeLessThan(2);
    other.close();
    s.ledger.close();

    // The resumed process re-sends the open jobs to the rig, which answers from its record.
    const s2 = setup({ db: s.db, rigRuns: 2, rig: s.rig });
    s2.runtime.start();
    const measured = new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (s2.ledger.measurements('c').length === 2) resolve(clearInterval(t));
      }, 10);
    });
    await Promise.race([measured, stuckAfter('the resumed process did not record the rig\'s answers')]);
    await s2.runtime.close();
    expect(s2.ledger.trials('c').filter((t) => t.selectedRank !== null).map((t) => t.status)).toEqual(['completed', 'completed']);
    // The same two jobs (re-sent with their ids), no new ones: the rig answered from its record.
    expect(new Set(s2.rig.jobs.map((j) => j.jobId)).size).toBe(2);
    expect(s2.ledger.jobs('c')).toHaveLength(2);
    expect(s2.ledger.integrity().ok).toBe(true);
  });

  it('a step whose writes find the ledger locked for good stops the campaign resumably, not `failed`', async () => {
    const lines: string[] = [];
    const s = setup({ rigRuns: 2, log: (l) => lines.push(l) });
    const other = lockRigEvents(s, () => true, 'RoundStarted');
    await Promise.race([runToEnd(s), stuckAfter('the campaign did not stop')]);
    // Before: `failed` (error: database is locked), which resume only summarises.
    expect(s.ledger.campaign('c')).toMatchObject({ status: 'stopped', stopReason: expect.stringMatching(/^the propose step's work could not be recorded in the ledger .*another process held its write lock/) });
    expect(lines.filter((l) => /could not be recorded in the ledger/.test(l))).toHaveLength(1);
    other.close();
  });

  it('an event whose handling fails with an error that is not a lock stops the campaign saying it could not be handled, not recorded (review of 0e10d79)', async () => {
    const s = setup({ rigRuns: 2 });
    const append = s.ledger.append.bind(s.ledger);
    s.ledger.append = ((...args: Parameters<typeof append>) => {
      if (args[1] === 'RigEventReceived' && (args[2] as { type: string }).type === 'result') throw new Error('rig.dispatch rejected the next stage');
      return append(...args);
    }) as typeof append;
    await Promise.race([runToEnd(s), stuckAfter('the campaign did not stop')]);
    // Before: "could not be recorded in the ledger", which blamed a ledger that refused nothing.
    expect(s.ledger.campaign('c')).toMatchObject({ status: 'stopped', stopReason: expect.stringMatching(/^the result event of job \S+ \(rig rig-1\) could not be handled \(rig.dispatch rejected the next stage\); the campaign stops/) });
  });

  it('a JobSent the lease guard refuses (another process took the campaign over) does not stop the campaign as if this process could resume it (review of 0e10d79)', async () => {
    const lines: string[] = [];
    const s = setup({ log: (l) => lines.push(l) });
    s.rig.setBehaviour(() => {});
    let taken = false;
    s.ledger.guardWrites('c', () => {
      if (taken) throw new Error('lease lost: another process took campaign c over');
    });
    s.runtime.start();
    taken = true;
    await s.rig.dispatch({ jobId: 'j1', trialId: 't1', attempt: 1, capability: 'measure', params: { x: 0.5 } } as never);
    await s.runtime.close();
    // Before: "the JobSent of job j1 … could not be recorded …: "poreloop resume c" continues it", though the new owner runs it.
    expect(lines.filter((l) => /could not be|poreloop resume/.test(l))).toEqual([]);
    taken = false;
    expect(s.ledger.campaign('c')!.status).toBe('running');
  });

  it('a JobSent the ledger refuses stops the campaign resumably; it is not thrown into the rig (an uncaught exception from the MQTT dispatcher)', async () => {
    const s = setup({ rigRuns: 2 });
    const other = lockRigEvents(s, () => true, 'JobSent');
    await Promise.race([runToEnd(s), stuckAfter('the campaign did not stop')]);
    expect(s.ledger.campaign('c')).toMatchObject({ status: 'stopped', stopReason: expect.stringMatching(/^the JobSent of job \S+ \(attempt 1, rig rig-1\) could not be recorded in the ledger/) });
    // The jobs stay open for the resume to re-send.
    expect(s.ledger.jobs('c').length).toBeGreaterThan(0);
    other.close();
  });
});
