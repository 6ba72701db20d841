import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import type { FidelityObservation, Parameters } from '../src/core/protocols.js';
import { Ledger } from '../src/ledger/ledger.js';
import { createRealityModel } from '../src/predict/multifidelity.js';
import { simulationEvidence } from '../src/predict/uncertainty.js';
import { campaignReward } from '../src/reward/scope.js';
import { tmp } from './helpers.js';

/**
 * Issue #13: in a twin campaign the rigs get the candidates of highest expected improvement of
 * the REAL reward under the multi-fidelity model (simulations → rig results), not the best
 * P-model predictions. A small real campaign (twin, physics, embedded broker, simulated rigs
 * with a bias), then the selection of every round is recomputed from the ledger.
 */
const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));
const config = {
  ...demo,
  name: 'reality-selection',
  seed: 5,
  twin: { ...demo.twin, size: [16, 16, 12] },
  space: { porosity: { min: 0.6, max: 0.8 }, ptfeLoading: { min: 0, max: 30 } },
  predict: { ...demo.predict, properties: ['limitingCurrent', 'sigma_eff_z'], physicsPerRound: 4 },
  reward: 'limitingCurrent / 1e5 + 2 * log10(1 + sigma_eff_z) - 0.3 * max(0, 10 - ptfeLoading)',
  agent: { name: 'random', candidates: 4, batchSize: 2 },
  rigs: {
    ...demo.rigs,
    measure: ['limitingCurrent', 'sigma_eff_z'],
    timeout: '20s',
    simulate: { ...demo.rigs.simulate, bias: { sigma_eff_z: -0.5 }, rigs: demo.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 5 })) },
  },
  budget: { rigRuns: 4 },
  stop: {},
};

describe('twin campaign: selection by the expected improvement of the real reward (issue #13)', () => {
  it('records the multi-fidelity model every round and sends the rigs its EI ranking', async () => {
    const dir = tmp('poreloop-reality-');
    const path = join(dir, 'campaign.yaml');
    writeFileSync(path, YAML.stringify(config));
    const db = join(dir, 'ledger.db');
    const resolved = loadCampaign(path);
    let id = '';
    await runCampaign(resolved, { db, onStart: (c) => (id = c) });
    const ledger = Ledger.open(db, { readonly: true });
    try {
      const trials = ledger.trials(id);
      const rounds = [...new Set(trials.map((t) => t.round))].sort((a, b) => a - b);
      expect(rounds.length).toBeGreaterThanOrEqual(2);
      const models = ledger.documents(id, 'ModelTrained').filter((d) => d.body.kind === 'multi-fidelity');
      // One per round with rig results, fitted to all rig results so far.
      expect(models.map((m) => m.body.version)).toEqual(rounds);
      const selected = ledger.documents(id, 'TrialSelected');
      const scored = new Map(ledger.documents(id, 'TrialScored').map((d) => [d.body.trialId, d.body]));
      const rewardOf = campaignReward({ expression: resolved.reward, fixed: resolved.config.twin?.fixed });
      const full = (p: Parameters) => ({ ...resolved.config.twin!.fixed, ...p });
      for (const r of rounds) {
        // The model as it stood at round r's selection: simulations up to r, rig results before r.
        const sims: FidelityObservation[] = simulationEvidence(
          trials
            .filter((t) => t.round <= r && t.fidelity === 'simulation')
            .map((t) => ({ params: t.params, properties: scored.get(t.id)!.raw ?? scored.get(t.id)!.properties, rewardOf: (m: Record<string, number>) => rewardOf(m, full(t.params)) })),
        );
        const rigs = trials.filter((t) => t.round < r && t.status === 'completed' && Number.isFinite(t.measuredReward)).map((t) => ({ params: t.params, reward: t.measuredReward! }));
        const model = createRealityModel(resolved.space, resolved.config.seed);
        model.update(sims, rigs);
        const round = trials.filter((t) => t.round === r).sort((a, b) => a.index - b.index);
        const best = rigs.length ? Math.max(...rigs.map((x) => x.reward)) : -Infinity;
        const order = model.rank(round.map((t) => t.params), best);
        const first = selected.find((d) => d.body.round === r && d.body.rank === 0)!.body;
        // The first of the batch is the candidate of highest (log) EI of the real reward
        // (before any rig result: of the highest estimate), recorded with its estimate.
        expect(first.trialId).toBe(round[order[0].index].id);
        expect(first.acquisition?.name).toBe(rigs.length ? 'log-ei-real' : 'mean-real');
        expect(first.acquisition?.value).toBeCloseTo(order[0].value, 9);
        expect(first.predictedReward).toBeCloseTo(order[0].mean, 9);
      }
      // What the ledger says the model learnt: ρ fitted once rig results exist.
      const last = models[models.length - 1].body.state as { rho: { mean: number } | null; measurements: number };
      expect(last.measurements).toBe(trials.filter((t) => t.status === 'completed' && Number.isFinite(t.measuredReward)).length);
      expect(Number.isFinite(last.rho?.mean)).toBe(true);
    } finally {
      ledger.close();
    }
  }, 60_000);
});
