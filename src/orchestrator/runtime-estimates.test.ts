import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { fakeAgent, fakePredictor, fakeRig, killWhileAwaitingRigs, type Behaviour } from '../../tests/fakes/index.js';
import { BadInputError } from '../core/errors.js';
import { systemClock, type Evidence, type Observation, type Parameters, type RealityCorrection } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { printSummary } from '../cli/commands/campaign.js';
import { exportCampaign, summariseCampaign } from '../ledger/export.js';
import { Ledger } from '../ledger/ledger.js';
import { campaignMachine } from './campaign.machine.js';
import { CampaignRuntime, type StageEstimator } from './runtime.js';

/**
 * Issue #20 review: the runtime's handling of a stage estimator (an early-stopped durability
 * test's EOL predicted, src/compose/durability.ts), with a fake estimator: a prediction is never
 * a measurement, and an estimator that cannot read a result never leaves a trial running.
 */

/** The rig reports y; a cell with x > 0.5 reaches end of life in the test (eol measured), the others are stopped early. */
const cycler: Behaviour = (job, emit) => {
  emit({ type: 'accepted' });
  const x = Number(job.params.x);
  emit({ type: 'result', measurements: { y: x, ...(x > 0.5 ? { eol: 1000 * x, eolReached: 1 } : { eolReached: 0 }) }, final: true });
};

/** Predicts eol = 500 ± 50 for a test that stopped before end of life. */
const estimator: StageEstimator = {
  stage: 'measure',
  inputs: { stopAtCycle: 200 },
  estimate: async (m) => (m.eolReached === 1 ? null : { estimates: { eol: { mean: 500, std: 50 } }, basis: 'stopped-early', model: { id: 'fake@0', dataHash: '0', path: '/nowhere' } }),
};

/** An estimator whose model cannot read the result (as EolSurrogate.predictFrom on a test shorter than its window). */
const unreadable: StageEstimator = {
  ...estimator,
  estimate: async () => {
    throw new BadInputError('missing capacity_2000: the test must run through cycle 2000 of the early window', 'measurements[0]');
  },
};

interface Options {
  db?: string;
  rig?: ReturnType<typeof fakeRig>;
  estimator?: StageEstimator;
  rewardOf?: (p: Record<string, number>) => number;
  rigRuns?: number;
  measure?: string[];
  log?: (line: string) => void;
}

function setup(o: Options) {
  const db = o.db ?? join(mkdtempSync(join(tmpdir(), 'poreloop-rt-est-')), 'l.db');
  const ledger = Ledger.open(db);
  if (!ledger.campaign('c')) ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
  const learnt: Observation[] = [];
  const agent = fakeAgent();
  const learn = agent.learn.bind(agent);
  agent.learn = async (obs) => {
    learnt.push(...(obs as Observation[]));
    await learn(obs);
  };
  const evidence: Evidence[][] = [];
  const correction: RealityCorrection = {
    update: (e) => (evidence.push([...e]), []),
    apply: (_c, predicted, rewardOf) => predicted.map((p) => ({ properties: p, reward: rewardOf(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.mean])), {}) })),
  };
  const observed: Parameters[] = [];
  const rig = o.rig ?? fakeRig(cycler);
  const runtime = new CampaignRuntime({
    ledger, campaignId: 'c', agent, space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
    predictor: fakePredictor(), rewardOf: o.rewardOf ?? ((p) => p.y * p.eol), rig, pipeline: ['measure'], candidatesPerRound: 6, batchSize: 2,
    timeoutMs: 5000, maxAttempts: 3, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0', correction,
    observe: async (rows) => void observed.push(...rows.map((r) => r.params)), measure: o.measure ?? ['y', 'eol'], estimator: o.estimator ?? estimator, log: o.log,
  });
  const machine = campaignMachine.provide({
    actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => (f as any)(input))])) as never,
  });
  const input = { campaignId: 'c', startedAt: 0, limits: { rigRuns: o.rigRuns ?? 8, failures: 10, approval: false } };
  return { ledger, rig, runtime, machine, input, db, learnt, evidence, observed };
}

/** Runs to the end, or fails after 20 s: the bug this guards against was a campaign that waited forever. */
async function runToEnd(s: ReturnType<typeof setup>, snapshot?: unknown) {
  s.runtime.start();
  const actor = createActor(s.machine, snapshot ? { snapshot: snapshot as never, input: s.input } : { input: s.input });
  actor.subscribe(() => s.ledger.saveSnapshot('c', actor.getPersistedSnapshot()));
  actor.start();
  const stuck = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the campaign never finished: a trial stayed with the rigs')), 20_000));
  await Promise.race([toPromise(actor), stuck]);
  await s.runtime.close();
  return actor.getSnapshot();
}

const key = (p: Parameters) => JSON.stringify(p);

describe('campaign runtime with a stage estimator (issue #20 review)', () => {
  it('a prediction is not a measurement: the agent gets it at fidelity early-life, the correction and the P-model never see it', async () => {
    const s = setup({});
    await runToEnd(s);
    const trials = s.ledger.trials('c').filter((t) => t.selectedRank !== null);
    const estimated = trials.filter((t) => s.ledger.documents('c', 'EstimateRecorded').some((d) => d.body.trialId === t.id));
    const measured = trials.filter((t) => !estimated.includes(t));
    // Both kinds happened (x ≤ 0.5 stopped early, x > 0.5 reached EOL), so the checks below are not vacuous.
    expect(estimated.length).toBeGreaterThan(0);
    expect(measured.length).toBeGreaterThan(0);
    for (const t of estimated) {
      expect(t.measuredReward ?? Number.NaN).toBeNaN(); // the reward rests on eol, which was predicted (NaN is stored as null)
      const o = s.learnt.filter((l) => key(l.params) === key(t.params) && l.fidelity !== 'simulation' && l.fidelity !== 'surrogate');
      expect(o.map((l) => [l.fidelity, l.reward])).toEqual([['early-life', Number(t.params.x) * 500]]);
    }
    for (const t of measured) {
      expect(s.learnt.filter((l) => key(l.params) === key(t.params) && l.fidelity === 'rig').map((l) => l.reward)).toEqual([t.measuredReward]);
    }
    const est = new Set(estimated.map((t) => key(t.params)));
    const evidence = s.evidence.flat();
    expect(evidence.length).toBeGreaterThan(0);
    expect(evidence.filter((e) => est.has(key(e.params)))).toEqual([]);
    expect(s.observed.length).toBe(measured.length);
    expect(s.observed.filter((p) => est.has(key(p)))).toEqual([]);
  });

  it('the summary counts estimated trials apart and shows each estimate (fidelity, eol ± σ), not as a measurement', async () => {
    const s = setup({ rigRuns: 4 });
    await runToEnd(s);
    const sum = summariseCampaign(s.ledger, 'c', 1);
    const ids = s.ledger.documents('c', 'EstimateRecorded').map((d) => d.body.trialId);
    expect(ids.length).toBeGreaterThan(0);
    expect(sum.outcomes.estimated).toBe(ids.length);
    expect(sum.outcomes.measured + sum.outcomes.estimated).toBe(4);
    expect(sum.outcomes.noReward).toBe(0); // the estimated trials' NaN rewards are not "±∞/NaN" measurements
    expect(sum.estimates.map((e) => [e.trialId, e.fidelity, e.estimates.eol])).toEqual(ids.map((id) => [id, 'early-life', { mean: 500, std: 50 }]));
    const lines: string[] = [];
    printSummary({ json: false, info: (l) => lines.push(l), log: () => undefined, result: () => undefined }, sum);
    const text = lines.join('\n');
    expect(text).toContain(`${sum.outcomes.measured} measured (`);
    expect(text).toContain(`${ids.length} stopped early with an estimate`);
    expect(text).toContain(`${ids[0]}: early-life estimate (stopped-early) eol 500.0 ± 50.00`);
    expect(text).not.toMatch(/±∞\/NaN/);
    // The export carries each trial's estimate beside (not inside) its measurements.
    const exported = exportCampaign(s.ledger, 'c').trials.filter((t) => t.selectedRank !== null);
    expect(exported.filter((t) => t.estimate).map((t) => [t.trialId, t.estimate!.fidelity, t.estimate!.estimates.eol, 'eol' in t.measured])).toEqual(ids.map((id) => [id, 'early-life', { mean: 500, std: 50 }, false]));
  });

  it('a reward that does not use the estimated property is measured even when an estimate was made', async () => {
    const s = setup({ rewardOf: (p) => p.y, rigRuns: 4 });
    await runToEnd(s);
    const ids = new Set(s.ledger.documents('c', 'EstimateRecorded').map((d) => d.body.trialId));
    const estimated = s.ledger.trials('c').filter((t) => ids.has(t.id));
    expect(estimated.length).toBeGreaterThan(0);
    for (const t of estimated) expect(t.measuredReward).toBe(t.params.x);
  });

  it('a result the estimator cannot read ends its trial (abandoned, reason in the ledger and the log), never leaves it running', async () => {
    const lines: string[] = [];
    const s = setup({ estimator: unreadable, rigRuns: 2, log: (l) => lines.push(l) });
    const snap = await runToEnd(s);
    expect(snap.status).toBe('done');
    const trials = s.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(trials.map((t) => t.status).filter((st) => st === 'running' || st === 'dispatched')).toEqual([]);
    // x > 0.5 reached EOL, x ≤ 0.5 needed the estimate: a reward of y·eol cannot be computed without it.
    for (const t of trials.filter((tr) => Number(tr.params.x) <= 0.5)) {
      expect(t.status).toBe('abandoned');
      const reason = s.ledger.documents('c', 'TrialAbandoned').find((d) => d.body.trialId === t.id)!.body.reason;
      expect(reason).toMatch(/lack "eol".*; the measure result could not be estimated: .*missing capacity_2000/);
    }
    expect(lines.some((l) => /no early-life estimate; the measure result could not be estimated: .*missing capacity_2000/.test(l))).toBe(true);
  });

  it('a resumed campaign completes a trial whose unreadable result arrived before the kill (no rethrow in reconcile)', async () => {
    // First process: the rig never answers; killed while waiting, after the result was recorded.
    const s1 = setup({ rig: fakeRig(() => {}), estimator: unreadable, rigRuns: 2, rewardOf: (p) => p.y, measure: ['y'] });
    await killWhileAwaitingRigs(s1);
    for (const j of s1.ledger.jobs('c')) {
      s1.ledger.append('c', 'MeasurementRecorded', { jobId: j.jobId, trialId: j.trialId, stage: 0, capability: 'measure', rigId: 'rig-1', measurements: { y: 0.25, eolReached: 0 }, feasible: true }, `${j.trialId}:0`);
    }
    const snapshot = s1.ledger.campaign('c')!.snapshot;
    s1.ledger.close();

    // eol is not in this reward: the trials complete with what was measured, no estimate.
    const s2 = setup({ db: s1.db, estimator: unreadable, rigRuns: 2, rewardOf: (p) => p.y, measure: ['y'] });
    const snap = await runToEnd(s2, snapshot);
    expect(snap.context.finalStatus).toBe('completed');
    const trials = s2.ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(trials.map((t) => [t.status, t.measuredReward])).toEqual([['completed', 0.25], ['completed', 0.25]]);
    expect(s2.ledger.documents('c', 'EstimateRecorded')).toEqual([]);
  });
});
