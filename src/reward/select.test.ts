import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { ehviOrder, type PredictedObjectives } from './select.js';

const exact = (mean: number[], feasibility = 1): PredictedObjectives => ({ mean, std: mean.map(() => 0), feasibility });
const lnSum = (y: number[]) => y.reduce((s, v) => s + Math.log(v), 0);

describe('ehviOrder: the rigs get the candidates that extend the measured front (issue #16)', () => {
  const front = [[10, 1], [1, 10]];
  const ref = [0, 0];

  it('prefers the larger hypervolume gain to the larger scalar Σ ln v', () => {
    const x = [12, 1]; // Σ ln 2.48, adds (12 − 10) · 1 = 2
    const y = [4, 2]; // Σ ln 2.08, adds (4 − 1) · (2 − 1) = 3
    expect(lnSum(x)).toBeGreaterThan(lnSum(y));
    const order = ehviOrder([exact(x), exact(y)], front, ref, createRng(1), 16);
    expect(order.map((o) => o.index)).toEqual([1, 0]);
    expect(order[0].value).toBeGreaterThan(order[1].value);
  });

  it('builds the batch greedily: a near-copy of the first choice adds almost nothing', () => {
    const a = [4, 4]; // adds 3 · 3 = 9
    const b = [4.1, 4.1]; // alone 9.61, after a only 0.41
    const c = [8, 2]; // alone and after either: (8 − 4.1) · (2 − 1) ≥ 3.9
    const order = ehviOrder([exact(a), exact(b), exact(c)], front, ref, createRng(1), 16);
    expect(order.map((o) => o.index)).toEqual([1, 2, 0]);
  });

  it('weighs by the probability of feasibility; what adds nothing keeps the incoming order', () => {
    const set = (p: number) => [exact([0.5, 0.5]), exact([20, 20], 0), exact([4, 4], p), exact([0.1, 0.1])];
    const order = ehviOrder(set(0.5), front, ref, createRng(2), 256);
    expect(order.map((o) => o.index)).toEqual([2, 0, 1, 3]);
    const sure = ehviOrder(set(1), front, ref, createRng(2), 256)[0].value;
    // ≈ half the value of the same candidate known feasible (256 Bernoulli draws).
    expect(order[0].value / sure).toBeGreaterThan(0.35);
    expect(order[0].value / sure).toBeLessThan(0.65);
  });

  it('uses the σ of the predictions: an uncertain candidate below the front can still improve it', () => {
    const sure = exact([2, 2]); // adds 1 · 1 = 1
    const unsure: PredictedObjectives = { mean: [1, 1], std: [5, 5], feasibility: 1 };
    const order = ehviOrder([sure, unsure], front, ref, createRng(3), 512);
    expect(order[0].index).toBe(1);
    // Same seed, same order and values (fixed base samples).
    expect(ehviOrder([sure, unsure], front, ref, createRng(3), 512)).toEqual(order);
  });
});
