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

/**
 * The shipped SOFC campaign (configs/sofc-device.yaml, review of 2026-12-07, finding 1): a twin
 * whose physics gives an infinite anode loss in every realisation (reward −1000·loss = −∞:
 * computable and terrible), one whose packing jams (no prediction: NaN), and finite ones.
 */
describe('twin campaign runtime: non-finite predictions at selection (sofc-device review)', () => {
  const xs = [0.95, 0.05, 0.5, 0.3, 0.7, 0.9];
  const loss = (x: number) => (x > 0.8 ? Infinity : x < 0.1 ? NaN : 0.1 + x / 10);
  function twin() {
    const ledger = Ledger.open(join(mkdtempSync(join(tmpdir(), 'poreloop-rtr-')), 'l.db'));
    ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    const updates: FidelityObservation[][] = [];
    // Ranks in the order it is given (the agent's), as the multi-fidelity model did with the
    // unknown estimates' large σ: whatever reaches it first is chosen.
    const reality: RealityModel = {
      update: (sims) => {
        updates.push([...sims]);
        return { kind: 'multi-fidelity', samples: 0, state: null };
      },
      estimate: (c) => c.map(() => ({ mean: -150, std: 1 })),
      rank: (c) => c.map((_, index) => ({ index, value: -index, mean: -150 - index, std: 1 })),
    };
    const agent = fakeAgent();
    agent.propose = async (_ctx, k) => xs.slice(0, k).map((x) => ({ x }));
    const predictor: Predictor = {
      score: async (cs: Parameters[]) =>
        cs.map((p) => {
          const l = loss(Number(p.x));
          return { properties: combine([{ loss: l }, { loss: Number.isFinite(l) ? l + 0.001 : l }], ['loss']), fidelity: 'simulation' as const };
        }),
    };
    const runtime = new CampaignRuntime({
      ledger, campaignId: 'c', agent, space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
      predictor, rewardOf: (p) => -1000 * p.loss, simulationEvidence, rig: fakeRig(), pipeline: ['measure'], candidatesPerRound: 6, batchSize: 2,
      timeoutMs: 5000, maxAttempts: 3, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0', reality,
    });
    return { ledger, runtime, updates };
  }

  it('trials without a finite predicted reward go to the rigs after the finite ones, and a second pick is named by its acquisition (log EI), not mean-real', async () => {
    const s = twin();
    s.runtime.start();
    await s.runtime.propose({ campaignId: 'c', round: 1 });
    await s.runtime.score({ campaignId: 'c', round: 1 });
    await s.runtime.select({ campaignId: 'c', round: 1, remaining: 2 });
    await s.runtime.close();
    const selected = s.ledger.documents('c', 'TrialSelected').map((d) => d.body);
    const x = (id: string) => Number(s.ledger.trials('c').find((t) => t.id === id)!.params.x);
    expect(selected.map((b) => x(b.trialId))).toEqual([0.5, 0.3]);
    // The first pick before any rig result is by the mean; after it the Kriging believer's
    // incumbent is finite and the value is ln EI (selectByExpectedImprovement).
    expect(selected.map((b) => b.acquisition?.name)).toEqual(['mean-real', 'log-ei-real']);
    s.ledger.close();
  });

  it('an infinite simulated loss stays −∞ read back from the ledger (JSON stores it as null): the reality model gets the stand-in below the worst finite simulation', async () => {
    const s = twin();
    s.runtime.start();
    await s.runtime.propose({ campaignId: 'c', round: 1 });
    await s.runtime.score({ campaignId: 'c', round: 1 });
    await s.runtime.close();
    const sims = s.updates.at(-1)!;
    const finite = sims.filter((o) => Number(o.params.x) <= 0.8).map((o) => o.reward);
    expect(finite).toHaveLength(3);
    const infinite = sims.filter((o) => Number(o.params.x) > 0.8);
    expect(infinite.map((o) => Number(o.params.x))).toEqual([0.95, 0.9]);
    for (const o of infinite) expect(o.reward).toBeLessThan(Math.min(...finite));
    // The jammed twin (no prediction) is still no data.
    expect(sims.some((o) => Number(o.params.x) < 0.1)).toBe(false);
    // Recorded beside the null JSON makes of it, so every reading of the ledger (resume too) agrees.
    const scored = s.ledger.documents('c', 'TrialScored').map((d) => d.body);
    expect(scored.filter((b) => b.infinite?.loss === 'Infinity')).toHaveLength(2);
    s.ledger.close();
  });
});
