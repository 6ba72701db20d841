import { describe, expect, it } from 'vitest';
import type { Evidence, ParameterSpace } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { createRealityCorrection } from './correction.js';

const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] };

/** Rigs measure k 30 % low everywhere and nothing above x = 0.9 can be made. */
function evidence(n: number, seed: number): Evidence[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const x = rng.next();
    const k = 1 + 10 * x;
    return { params: { x }, predicted: { k }, measured: x > 0.9 ? ({} as Record<string, number>) : { k: 0.7 * k }, feasible: x <= 0.9 };
  });
}

describe('reality correction', () => {
  it('is a function of the evidence: a fresh instance (a resumed campaign) refits the same models', () => {
    const ev = evidence(12, 5);
    const a = createRealityCorrection(space, ['k'], 3);
    a.update(ev.slice(0, 6)); // a history of earlier rounds must not matter
    const ra = a.update(ev);
    const b = createRealityCorrection(space, ['k'], 3);
    const rb = b.update(ev);
    expect(rb).toEqual(ra);
    const cands = [{ x: 0.2 }, { x: 0.5 }, { x: 0.95 }];
    const pred = cands.map((c) => ({ k: { mean: 1 + 10 * (c.x as number), std: 0.1 } }));
    const rewardOf = (m: Record<string, number>) => m.k;
    expect(b.apply(cands, pred, rewardOf, 0)).toEqual(a.apply(cands, pred, rewardOf, 0));
    // And it corrects toward the rigs: k is measured 30 % low.
    const [c] = b.apply([{ x: 0.5 }], [{ k: { mean: 6, std: 0.1 } }], rewardOf, Number.NaN);
    expect(c.properties.k.mean).toBeCloseTo(4.2, 0);
  });

  it('carries the realisations through the correction, scaled like the mean (issue #13: the reward σ needs them)', () => {
    const c = createRealityCorrection(space, ['k'], 3);
    c.update(evidence(12, 5));
    const [out] = c.apply([{ x: 0.5 }], [{ k: { mean: 6, std: 0.5, samples: [5.5, 6.5] }, u: { mean: 1, std: 0, samples: [1, 1] } }], (m) => m.k, Number.NaN);
    const f = out.properties.k.mean / 6;
    expect(out.properties.k.samples).toEqual([5.5 * f, 6.5 * f]);
    expect(out.properties.k.std).toBeGreaterThan(0.5 * f);
    expect(out.properties.u.samples).toEqual([1, 1]);
  });

  it('carries n and the spread through the correction, the spread scaled like the realisations (config review, item 2)', () => {
    const c = createRealityCorrection(space, ['k'], 3);
    c.update(evidence(12, 5));
    const samples = [5.5, 6.5, 6];
    const spread = Math.sqrt(samples.reduce((a, v) => a + (v - 6) ** 2, 0) / 2);
    const [out] = c.apply([{ x: 0.5 }], [{ k: { mean: 6, std: 0.3, spread, n: 3, samples } }], (m) => m.k, Number.NaN);
    const k = out.properties.k;
    expect(k.mean).not.toBeCloseTo(6, 1); // it was corrected
    expect(k.n).toBe(3);
    const m = k.samples!.reduce((a, v) => a + v, 0) / 3;
    expect(k.spread).toBeCloseTo(Math.sqrt(k.samples!.reduce((a, v) => a + (v - m) ** 2, 0) / 2), 10);
    // A surrogate estimate has neither; none is invented.
    const [bare] = c.apply([{ x: 0.5 }], [{ k: { mean: 6, std: 0.3 } }], (m2) => m2.k, Number.NaN);
    expect('spread' in bare.properties.k || 'n' in bare.properties.k).toBe(false);
  });

  it('records fitted parameters whose size does not grow with the evidence', () => {
    const size = (n: number) => JSON.stringify(createRealityCorrection(space, ['k'], 3).update(evidence(n, 7)).map((m) => m.state)).length;
    expect(size(60)).toBeLessThanOrEqual(size(6) * 1.2);
  });
});
