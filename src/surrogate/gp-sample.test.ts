import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { GaussianProcess, matern52, type GpHyper } from './gp.js';
import { maternFeatures, posteriorSample } from './gp-sample.js';

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i], 0);

describe('maternFeatures', () => {
  it('approximates the ARD Matérn-5/2 kernel (and not the squared exponential) as features grow', () => {
    const logL = [Math.log(0.3), Math.log(0.8)];
    const s2 = 1.7;
    const invL2 = Float64Array.from(logL, (v) => Math.exp(-2 * v));
    const rng = createRng(3);
    const pairs = Array.from({ length: 30 }, () => [[rng.next(), rng.next()], [rng.next(), rng.next()]]);
    const phi = maternFeatures(logL, s2, 40_000, createRng(4));
    let worst = 0;
    let worstSe = 0;
    for (const [a, b] of pairs) {
      const exact = s2 * matern52(a, b, invL2);
      worst = Math.max(worst, Math.abs(dot(phi(a), phi(b)) - exact));
      // The squared-exponential kernel of the same length-scales, what a Gaussian spectral
      // density would approximate instead: differs by up to ~0.1·s² at these distances.
      const r2 = (a[0] - b[0]) ** 2 * invL2[0] + (a[1] - b[1]) ** 2 * invL2[1];
      worstSe = Math.max(worstSe, Math.abs(s2 * Math.exp(-0.5 * r2) - exact));
    }
    // Monte-Carlo error of 40 000 features: standard deviation ≤ s²/√20 000 ≈ 0.012.
    expect(worst).toBeLessThan(0.04);
    expect(worstSe).toBeGreaterThan(0.1);
    expect(dot(phi([0.2, 0.4]), phi([0.2, 0.4]))).toBeCloseTo(s2, 1);
  });

  it('refuses a feature count that is not a positive integer', () => {
    expect(() => maternFeatures([0], 1, 0, createRng(1))).toThrow(/positive integer/);
    expect(() => maternFeatures([0], 1, 2.5, createRng(1))).toThrow(/positive integer/);
  });
});

describe('posteriorSample', () => {
  const hyper: GpHyper = { logLengthscales: [Math.log(0.25), Math.log(0.6)], logSignalVar: Math.log(1.2), logNoiseVar: Math.log(0.01) };
  const rng = createRng(11);
  const x = Array.from({ length: 12 }, () => [rng.next(), rng.next()]);
  const y = x.map((r) => 3 + Math.sin(6 * r[0]) - 2 * r[1] * r[1]);
  const gp = new GaussianProcess(x, y, hyper);
  // A training point, a point near the data and one in a gap.
  const at = [x[0], [x[3][0] + 0.03, x[3][1] - 0.02], [0.97, 0.03]];

  it('has the GP posterior mean and variance over many draws', () => {
    const p = gp.predict(at);
    const draws = 3000;
    const s = createRng(5);
    const sums = at.map(() => [0, 0]);
    for (let t = 0; t < draws; t++) {
      const f = posteriorSample(gp, s, 256)(at);
      f.forEach((v, i) => {
        sums[i][0] += v;
        sums[i][1] += v * v;
      });
    }
    at.forEach((_, i) => {
      const m = sums[i][0] / draws;
      const v = sums[i][1] / draws - m * m;
      // Mean within 4 standard errors; variance within 4 standard errors of a Gaussian sample
      // variance (√(2/draws) ≈ 2.6 % relative) plus the non-Gaussianity of 256 features.
      expect(Math.abs(m - p.mean[i])).toBeLessThan(4 * Math.sqrt(p.variance[i] / draws));
      expect(Math.abs(v / p.variance[i] - 1)).toBeLessThan(0.15);
    });
    // The sampled variance shrinks at the data: far smaller at the training point than in the gap.
    expect(p.variance[0]).toBeLessThan(0.1 * p.variance[2]);
  });

  it('is one function: the same rng state gives the same values bit for bit, a new state another', () => {
    const a = posteriorSample(gp, createRng(8))(at);
    const b = posteriorSample(gp, createRng(8))(at);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const f = posteriorSample(gp, createRng(8));
    // Evaluating in pieces gives the values of evaluating together (a fixed function, not noise).
    expect(JSON.stringify([...f(at.slice(0, 1)), ...f(at.slice(1))])).toBe(JSON.stringify(a));
    expect(posteriorSample(gp, createRng(9))(at)).not.toEqual(a);
  });

  it('refuses a GP with the quadratic basis term, whose kernel its features do not approximate (issue #16)', () => {
    const basis = new GaussianProcess(gp.x, gp.y, { ...gp.hyper, logBasisVars: gp.hyper.logLengthscales.map(() => 0) });
    expect(() => posteriorSample(basis, createRng(8))).toThrow(/basis term/);
  });
});
