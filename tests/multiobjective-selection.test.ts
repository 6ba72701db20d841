import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { frontSelection } from '../src/compose/front-selection.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import { paretoOf } from '../src/compose/pareto.js';
import { Ledger } from '../src/ledger/ledger.js';
import { tmp } from './helpers.js';

/**
 * Issue #16: in a multi-objective campaign the rigs get the candidates of highest expected
 * hypervolume improvement of their PREDICTED objectives over the MEASURED front (greedy
 * batch, probability of feasibility), not the best per-trial scalar Σ goal·ln v — so
 * `candidates > batchSize` down-selects by the front. A small real campaign (fibre-gdl twin,
 * physics, embedded broker, simulated rigs, SQLite ledger); every round's selection is then
 * recomputed from the ledger; `stop.noImprovementRounds` counts rounds without a hypervolume
 * gain; the run's summary carries the front.
 */
const example = YAML.parse(readFileSync(new URL('../configs/gdl-pareto.yaml', import.meta.url), 'utf8'));
const config = {
  ...example,
  name: 'mo-selection',
  seed: 2,
  twin: { ...example.twin, size: [16, 16, 12] },
  predict: { ...example.predict, physicsPerRound: 6 },
  agent: { name: 'random', candidates: 6, batchSize: 2 },
  rigs: { ...example.rigs, timeout: '20s', simulate: { ...example.rigs.simulate, rigs: example.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 5 })) } },
  budget: { rigRuns: 8 },
  // Rounds without a gain in dominated hypervolume of the measured front end the campaign.
  stop: { noImprovementRounds: 1 },
};

describe('multi-objective campaign: the rigs get the batch of highest expected hypervolume improvement', () => {
  it('selects by the front over the measured trials, records why, and returns the front in its summary', { tags: ['slow'], timeout: 120_000 }, async () => {
    const dir = tmp('poreloop-mo-select-');
    const path = join(dir, 'campaign.yaml');
    writeFileSync(path, YAML.stringify(config));
    const db = join(dir, 'ledger.db');
    const resolved = loadCampaign(path);
    let id = '';
    const summary = await runCampaign(resolved, { db, onStart: (c) => (id = c) });
    const ledger = Ledger.open(db, { readonly: true });
    try {
      const trials = ledger.trials(id);
      const rounds = [...new Set(trials.map((t) => t.round))].sort((a, b) => a - b);
      const select = frontSelection({ objectives: resolved.config.objectives!, constraints: resolved.config.outcomeConstraints }, resolved.config.twin!.fixed ?? {}, resolved.config.seed);
      let differs = 0;
      for (const r of rounds) {
        const round = trials.filter((t) => t.round === r);
        // The runtime's incoming order: best scalar first (finite predictions all, here).
        const byScalar = [...round].sort((a, b) => b.predictedReward! - a.predictedReward!);
        // The measured front as it stood at round r's selection: rig results of earlier rounds.
        const before = trials.filter((t) => t.round < r);
        const order = select.rank(byScalar, before, r);
        const chosen = trials.filter((t) => t.round === r && t.selectedRank !== null).sort((a, b) => a.selectedRank! - b.selectedRank!);
        expect(chosen.length).toBe(2);
        expect(chosen[0].id).toBe(byScalar[order[0].index].id);
        const doc = ledger.documents(id, 'TrialSelected').find((d) => d.body.trialId === chosen[0].id)!.body;
        expect(doc.acquisition?.name).toBe('qehvi-measured-front');
        expect(doc.acquisition?.value).toBeCloseTo(order[0].value, 12);
        if (chosen.map((t) => t.id).join() !== byScalar.slice(0, 2).map((t) => t.id).join()) differs++;
      }
      // stop.noImprovementRounds: 1 counts rounds without a gain in dominated hypervolume of the
      // measured front. With this seed round 2 adds a trade-off but no better scalar — the scalar
      // rule would have stopped after it — and round 3 adds neither: the campaign stops there.
      const bestScalar = (r: number) => Math.max(-Infinity, ...trials.filter((t) => t.round <= r && t.status === 'completed' && t.feasible && Number.isFinite(t.measuredReward)).map((t) => t.measuredReward!));
      expect(rounds).toEqual([1, 2, 3]);
      expect(rounds.map((r) => select.gained(trials, r))).toEqual([true, true, false]);
      expect(bestScalar(2)).toBe(bestScalar(1));
      expect(ledger.documents(id, 'CampaignStopped').at(-1)!.body.reason).toBe('no improvement');
      // The scalar would have sent other trials in at least one round: the choice is the front's.
      expect(differs).toBeGreaterThan(0);
      // The run's summary carries the measured front (library users get it from runCampaign).
      expect(summary.pareto?.measured.length).toBeGreaterThan(0);
      expect(summary.pareto?.measured.every((p) => trials.find((t) => t.id === p.trialId)?.status === 'completed')).toBe(true);
      expect(summary.pareto).toEqual(paretoOf(ledger, id));
    } finally {
      ledger.close();
    }
  });
});
