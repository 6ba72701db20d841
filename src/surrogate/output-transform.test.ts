import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { fitYeoJohnsonLambda, normQuantile, transformOutputs, yeoJohnson, type OutputTransformName } from './output-transform.js';

const std = (v: number[]): number[] => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  return v.map((t) => (t - m) / s);
};

describe('output transforms', () => {
  it('Yeo–Johnson matches its definition (Yeo & Johnson 2000)', () => {
    expect(yeoJohnson(1, 1)).toBeCloseTo(1, 12);
    expect(yeoJohnson(-1, 1)).toBeCloseTo(-1, 12);
    expect(yeoJohnson(Math.E - 1, 0)).toBeCloseTo(1, 12);
    expect(yeoJohnson(-3, 2)).toBeCloseTo(-Math.log(4), 12);
    expect(yeoJohnson(3, 0.5)).toBeCloseTo((Math.sqrt(4) - 1) / 0.5, 12);
  });

  it('chooses λ near 1 for Gaussian data and well below 1 for right-skewed (log-normal) data', () => {
    const rng = createRng(8);
    const g = Array.from({ length: 400 }, () => rng.normal());
    expect(Math.abs(fitYeoJohnsonLambda(std(g)) - 1)).toBeLessThan(0.3);
    const ln = std(g.map((v) => Math.exp(v)));
    expect(fitYeoJohnsonLambda(ln)).toBeLessThan(0.5);
    // The transformed log-normal sample is far less skewed than the raw one.
    const skew = (v: number[]) => std(v).reduce((a, b) => a + b ** 3, 0) / v.length;
    expect(Math.abs(skew(transformOutputs(ln, 'yeo-johnson')))).toBeLessThan(0.3 * skew(ln));
  });

  it('is strictly increasing (the best point stays the best) for every transform', () => {
    const rng = createRng(9);
    const y = Array.from({ length: 50 }, () => Math.exp(3 * rng.normal()));
    for (const name of ['none', 'yeo-johnson', 'copula'] as OutputTransformName[]) {
      const t = transformOutputs(y, name);
      for (let i = 0; i < y.length; i++) for (let j = 0; j < y.length; j++) if (y[i] < y[j]) expect(t[i]).toBeLessThan(t[j]);
    }
  });

  it('copula gives normal scores of the ranks, ties sharing their mean rank', () => {
    expect(normQuantile(0.975)).toBeCloseTo(1.959964, 6);
    expect(normQuantile(0.01)).toBeCloseTo(-2.326348, 6);
    const t = transformOutputs([10, 30, 20, 20], 'copula');
    expect(t[0]).toBeCloseTo(normQuantile(0.5 / 4), 9);
    expect(t[1]).toBeCloseTo(normQuantile(3.5 / 4), 9);
    expect(t[2]).toBe(t[3]);
    expect(t[2]).toBeCloseTo(0, 9);
  });

  it('rejects an unknown transform by name', () => {
    expect(() => transformOutputs([1, 2, 3], 'box' as OutputTransformName)).toThrow(BadInputError);
  });
});
