import { describe, expect, it } from 'vitest';
import type { ExportDocument } from '../ledger/export.js';
import { withParetoExport, type ParetoReport } from './pareto.js';

const report = (rounds: number[]): ParetoReport => ({
  objectives: [],
  measured: [{ trialId: 't3', values: [1, 2] }],
  predicted: [],
  hypervolume: rounds.map((round, i) => ({ round, hypervolume: i / rounds.length, measuredTrials: i + 1 })),
  reference: [],
  unmeasured: [],
  picked: [],
});

const doc = (rounds: number[]): ExportDocument => ({
  campaign: { id: 'c', name: 'c', status: 'completed', configHash: 'h', seed: 1, source: 's', versions: {}, createdAt: '' },
  trials: rounds.map((round, i) => ({ trialId: `t${i}`, round }) as ExportDocument['trials'][number]),
});

describe('the export with the Pareto report (issue #16)', () => {
  it("each trial's roundHypervolume is the history's entry of the last round up to its own; null before the first", () => {
    // History rounds with gaps (rounds without a measured trial have no entry).
    const history = [2, 3, 5, 9];
    const trialRounds = [1, 2, 3, 4, 5, 6, 9, 10, 0];
    const out = withParetoExport(doc(trialRounds), report(history));
    const byDefinition = (round: number) => [...report(history).hypervolume].reverse().find((h) => h.round <= round)?.hypervolume ?? null;
    expect(out.trials.map((t) => t.roundHypervolume)).toEqual(trialRounds.map(byDefinition));
    expect(out.trials.map((t) => t.roundHypervolume)).toEqual([null, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, null]);
    expect(out.trials.map((t) => t.pareto)).toEqual(trialRounds.map((_, i) => i === 3));
    expect(withParetoExport(doc([1]), report([])).trials[0].roundHypervolume).toBeNull();
  });

  it('reads the history once, not once per trial (scale review: a reversed copy per trial, trials × rounds)', () => {
    const rounds = Array.from({ length: 200 }, (_, i) => i + 1);
    const r = report(rounds);
    let reads = 0;
    r.hypervolume = new Proxy(r.hypervolume, { get: (t, k, recv) => (typeof k === 'string' && /^\d+$/.test(k) && reads++, Reflect.get(t, k, recv)) });
    const out = withParetoExport(doc([...rounds, ...rounds]), r);
    expect(out.trials[399].roundHypervolume).toBe(199 / 200);
    expect(reads).toBeLessThanOrEqual(2 * rounds.length);
  });
});
