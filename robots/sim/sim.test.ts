import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { analyticTruth } from './truth.js';
import { sampleLatency, type LatencySpec } from './index.js';

function moments(spec: LatencySpec, n = 40_000): { mean: number; sd: number; min: number } {
  const rng = createRng(3);
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const x = sampleLatency(spec, rng);
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
  }
  const mean = s / n;
  return { mean, sd: Math.sqrt(s2 / n - mean * mean), min };
}

describe('simulated latency distributions', () => {
  it('lognormal has the requested mean and sd (moment matching)', () => {
    const m = moments({ dist: 'lognormal', mean: 200, sd: 60 });
    expect(Math.abs(m.mean - 200) / 200).toBeLessThan(0.01);
    expect(Math.abs(m.sd - 60) / 60).toBeLessThan(0.03);
    expect(m.min).toBeGreaterThan(0);
  });
  it('exponential has mean = sd; fixed is fixed; normal is clipped at 0', () => {
    const e = moments({ dist: 'exponential', mean: 50 });
    expect(Math.abs(e.mean - 50) / 50).toBeLessThan(0.02);
    expect(Math.abs(e.sd - 50) / 50).toBeLessThan(0.03);
    expect(moments({ dist: 'fixed', mean: 7 }, 10)).toEqual({ mean: 7, sd: 0, min: 7 });
    expect(moments({ dist: 'normal', mean: 1, sd: 10 }).min).toBe(0);
  });
});

describe('analytic stand-in truth', () => {
  it('peaks at 0.5 in every parameter and calls negative loadings infeasible', async () => {
    expect((await analyticTruth({ a: 0.5, b: 0.5 }, 'characterise', {})).measurements.score).toBe(1);
    expect((await analyticTruth({ a: 1.5, b: 0.5 }, 'characterise', {})).measurements.score).toBeCloseTo(Math.exp(-1), 12);
    expect((await analyticTruth({ a: -0.1 }, 'fabricate', {})).feasible).toBe(false);
    expect((await analyticTruth({ a: 0.2, b: 'pvdf' }, 'fabricate', {})).measurements.mass).toBeCloseTo(1.2, 12);
  });
});
