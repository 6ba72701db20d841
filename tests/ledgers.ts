import { Ledger } from '../src/ledger/ledger.js';

/** Ledgers written through the real Ledger for the tests of what reads them (the dashboard, the report; issue #18). */

/** A finished campaign of `rewards.length` rig runs (null: infeasible) written through the real ledger, on a clock that ticks 1 s per document. */
export function finishedCampaign(rewards: Array<number | null>, config: Record<string, unknown> = {}, id = 'c1', path = ':memory:'): Ledger {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const l = Ledger.open(path, { now: () => new Date((t += 1000)) });
  l.append(id, 'CampaignStarted', { name: 'model', config: { reward: 'a', budget: { rigRuns: 10 }, agent: { name: 'gp-bo' }, space: { x: { min: 0, max: 1 } }, ...config }, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0' } }, 'start');
  rewards.forEach((r, i) => {
    const trialId = `${id}-r${i + 1}-0`;
    const jobId = `${trialId}-s0`;
    l.append(id, 'RoundStarted', { round: i + 1 }, `round:${i + 1}`);
    l.append(id, 'TrialProposed', { trialId, round: i + 1, index: 0, params: { x: i / 10 }, agent: 'gp-bo' }, trialId);
    l.append(id, 'TrialScored', { trialId, properties: { a: { mean: (r ?? 0) + 0.5, std: 0.1 } }, raw: { a: { mean: (r ?? 0) + 1, std: 0.2 } }, fidelity: 'simulation', reward: (r ?? 0) + 0.5 }, trialId);
    l.append(id, 'TrialSelected', { trialId, round: i + 1, rank: 0, predictedReward: (r ?? 0) + 0.5 }, trialId);
    l.append(id, 'JobDispatched', { jobId, trialId, stage: 0, capability: 'make', attempt: 1, params: { x: i / 10 }, deadline: '2030-01-01T00:00:00Z' }, jobId);
    l.append(id, 'MeasurementRecorded', { jobId, trialId, stage: 0, capability: 'make', rigId: 'rig-1', measurements: { a: r ?? 0, b: 10 - (r ?? 0) }, feasible: r !== null }, jobId);
    l.append(id, 'TrialCompleted', { trialId, measured: { a: r ?? 0, b: 10 - (r ?? 0) }, reward: r ?? Number.NaN, feasible: r !== null }, trialId);
  });
  l.append(id, 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
  return l;
}
