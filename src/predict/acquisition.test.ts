import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { acquire, expectedImprovement, farthestPoints, normalCdf, rewardEstimate } from './acquisition.js';

describe('acquisition', () => {
  it('normal CDF matches tabulated values', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1)).toBeCloseTo(0.841344746, 6);
    expect(normalCdf(-1.6448536)).toBeCloseTo(0.05, 6);
  });

  it('expected improvement: σ → 0 gives max(0, μ − best); at μ = best it is σ/√(2π)', () => {
    expect(expectedImprovement(2, 0, 1)).toBe(1);
    expect(expectedImprovement(0, 0, 1)).toBe(0);
    expect(expectedImprovement(1, 2, 1)).toBeCloseTo(2 / Math.sqrt(2 * Math.PI), 12);
  });

  it('Monte Carlo reward estimate of a linear reward recovers mean and σ', () => {
    const r = rewardEstimate({ a: { mean: 1, std: 0.5 }, b: { mean: 2, std: 0 } }, (p) => p.a + p.b, createRng(1), 20000);
    expect(r.mean).toBeCloseTo(3, 1);
    expect(r.std).toBeCloseTo(0.5, 1);
  });

  it('uncertainty is σ relative to the data spread; NaN σ counts as unknown', () => {
    const ctx = { spread: { a: 2, b: 10 }, best: -Infinity, rewardSpread: 0, minRelativeStd: 0.05, kappa: 2 };
    expect(acquire('uncertainty', { a: { mean: 0, std: 0.05 }, b: { mean: 0, std: 1 } }, undefined, ctx)).toEqual({ value: 0.1, worth: true });
    expect(acquire('uncertainty', { a: { mean: 0, std: 0.05 }, b: { mean: 0, std: 0.1 } }, undefined, ctx).worth).toBe(false);
    expect(acquire('uncertainty', { a: { mean: 0, std: NaN } }, undefined, ctx).value).toBe(Infinity);
  });

  it('farthest points: extremes first, never a duplicate of an anchor', () => {
    const pts = [[0], [0.5], [1], [0.9]];
    expect(farthestPoints(pts, [], 3)).toEqual([0, 2, 1]);
    expect(farthestPoints(pts, [[0], [1]], 4)).toEqual([1, 3]);
  });
});
