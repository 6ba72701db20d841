import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeAgent, fakeRig } from '../../tests/fakes/index.js';
import { systemClock, type FidelityObservation, type Parameters, type Predictor, type RealityModel, type ScoreOptions } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { Ledger } from '../ledger/ledger.js';
import { combine, simulationEvidence } from '../predict/uncertainty.js';
import { CampaignRuntime } from './runtime.js';

/**
 * Issue #13 review, the runtime's side of the P-model's uncertainty in a twin campaign (real
 * ledger; the reality model and the predictor are recording fakes): the reality model's data
 * never carries an unknown σ as 0, and the predictor is handed the ranking the reality model
 * selects by.
 */
function setup(predictor: Predictor) {
  const ledger = Ledger.open(join(mkdtempSync(join(tmpdir(), 'poreloop-rtr-')), 'l.db'));
  ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
  const updates: FidelityObservation[][] = [];
  const rankings: Array<{ best: number; z: number }> = [];
  const reality: RealityModel = {
    update: (sims) => {
      updates.push([...sims]);
      return { kind: 'multi-fidelity', samples: 0, state: null };
    },
    estimate: (c) => c.map(() => ({ mean: 0, std: 1 })),
    rank: (c) => c.map((_, index) => ({ index, value: -index, mean: 0, std: 1 })),
    rankingGiven: (c, _r, best, z) => {
      rankings.push({ best, z });
      return c.map((_, i) => ({ value: 10 - i, lower: 9 - i, upper: 11 - i }));
    },
  };
  const runtime = new CampaignRuntime({
    ledger, campaignId: 'c', agent: fakeAgent(), space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
    predictor, rewardOf: (p) => p.y, simulationEvidence, rig: fakeRig(), pipeline: ['measure'], candidatesPerRound: 3, batchSize: 1,
    timeoutMs: 5000, maxAttempts: 3, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0', reality,
  });
  return { ledger, runtime, updates, rankings };
}

describe('twin campaign runtime: the P-model uncertainty reaches the reality model (issue #13 review)', () => {
  it('a one-realisation simulation is not exact (σ of the others), and the predictor ranks as the reality model selects', async () => {
    let options: ScoreOptions | undefined;
    // Candidate 0 has one successful realisation (σ unknown), the others two.
    const predictor: Predictor = {
      score: async (cs: Parameters[], o) => {
        options = o;
        const realisations = [[{ y: 5 }], [{ y: 1 }, { y: 3 }], [{ y: 2 }, { y: 6 }]];
        return cs.map((_, i) => ({ properties: combine(realisations[i], ['y']), fidelity: 'simulation' as const }));
      },
    };
    const s = setup(predictor);
    s.runtime.start();
    await s.runtime.propose({ campaignId: 'c', round: 1 });
    await s.runtime.score({ campaignId: 'c', round: 1 });
    await s.runtime.close();
    // The ranking the predictor got is the reality model's, over the best rig result (none yet).
    expect(options!.ranking).toBeTypeOf('function');
    expect(options!.ranking!([{ x: 0 }], [{ mean: 1, std: 0.1, simulated: true }], 1.96)).toEqual([{ value: 10, lower: 9, upper: 11 }]);
    expect(s.rankings).toEqual([{ best: -Infinity, z: 1.96 }]);
    // Refitted after scoring from the ledger: σ(1, 3) = √2/√2 = 1, σ(2, 6) = 2√2/√2 = 2; the
    // one-realisation trial gets the median of σ_i·√n_i (√2 and 2√2 → √2) over √1, not 0.
    const last = s.updates.at(-1)!;
    expect(last.map((o) => o.reward)).toEqual([5, 2, 4]);
    expect(last[1].std).toBeCloseTo(1, 12);
    expect(last[2].std).toBeCloseTo(2, 12);
    expect(last[0].std).toBeCloseTo(Math.SQRT2, 12);
    s.ledger.close();
  });
});
