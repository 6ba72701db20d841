import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { GaussianProcess, expectedImprovement, logMarginalLikelihood, normCdf, type GpHyper } from './gp.js';

const m52 = (r: number): number => (1 + Math.sqrt(5) * r + (5 / 3) * r * r) * Math.exp(-Math.sqrt(5) * r);

describe('GaussianProcess', () => {
  it('matches the hand-computed posterior of a 2-point, 1-D case', () => {
    // x = 0, 1; y = 2, 5 (standardised: −1, +1); ℓ = 0.5, s² = 1.3, σ² = 0.01 (standardised units).
    const hyper: GpHyper = { logLengthscales: [Math.log(0.5)], logSignalVar: Math.log(1.3), logNoiseVar: Math.log(0.01) };
    const gp = new GaussianProcess([[0], [1]], [2, 5], hyper);
    const s2 = 1.3;
    const a = s2 + 0.01;
    const rho = s2 * m52(1 / 0.5);
    const det = a * a - rho * rho;
    const kinv = [
      [a / det, -rho / det],
      [-rho / det, a / det],
    ];
    const ys = [-1, 1];
    const kstar = [s2 * m52(0.25 / 0.5), s2 * m52(0.75 / 0.5)];
    const alpha = [kinv[0][0] * ys[0] + kinv[0][1] * ys[1], kinv[1][0] * ys[0] + kinv[1][1] * ys[1]];
    const meanS = kstar[0] * alpha[0] + kstar[1] * alpha[1];
    const quad = kstar[0] * (kinv[0][0] * kstar[0] + kinv[0][1] * kstar[1]) + kstar[1] * (kinv[1][0] * kstar[0] + kinv[1][1] * kstar[1]);
    const p = gp.predict([[0.25]]);
    // Target mean 3.5, std 1.5.
    expect(p.mean[0]).toBeCloseTo(3.5 + 1.5 * meanS, 10);
    expect(p.variance[0]).toBeCloseTo(2.25 * (s2 - quad), 10);
    // Log marginal likelihood, hand-computed: −½ yᵀK⁻¹y − ½ ln det K − ln 2π.
    const lml = -0.5 * (ys[0] * alpha[0] + ys[1] * alpha[1]) - 0.5 * Math.log(det) - Math.log(2 * Math.PI);
    expect(gp.logMarginalLikelihood()).toBeCloseTo(lml, 10);
  });

  it('has the analytic gradient of the log marginal likelihood (finite differences)', () => {
    const rng = createRng(3);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next()]);
    const y = x.map((r) => Math.sin(4 * r[0]) + r[1] * r[1] - 0.3 * r[2]);
    const h: GpHyper = { logLengthscales: [-1, -0.5, 0.2], logSignalVar: 0.3, logNoiseVar: -4 };
    const { gradient } = logMarginalLikelihood(x, y, h);
    const vec = [...h.logLengthscales, h.logSignalVar, h.logNoiseVar];
    const at = (v: number[]): number => logMarginalLikelihood(x, y, { logLengthscales: v.slice(0, 3), logSignalVar: v[3], logNoiseVar: v[4] }).value;
    for (let i = 0; i < vec.length; i++) {
      const e = 1e-5;
      const up = [...vec];
      const dn = [...vec];
      up[i] += e;
      dn[i] -= e;
      expect(gradient[i]).toBeCloseTo((at(up) - at(dn)) / (2 * e), 4);
    }
  });

  it('fits hyper-parameters that raise the likelihood and interpolate a smooth function', () => {
    const rng = createRng(7);
    const f = (t: number): number => Math.sin(6 * t) + 0.5 * t;
    const x = Array.from({ length: 15 }, (_, i) => [i / 14]);
    const y = x.map((r) => f(r[0]));
    const gp = GaussianProcess.fit(x, y, { rng });
    const naive = new GaussianProcess(x, y, { logLengthscales: [Math.log(5)], logSignalVar: 0, logNoiseVar: 0 });
    expect(gp.logMarginalLikelihood()).toBeGreaterThan(naive.logMarginalLikelihood());
    const test = [0.13, 0.52, 0.88];
    const p = gp.predict(test.map((t) => [t]));
    test.forEach((t, i) => expect(Math.abs(p.mean[i] - f(t))).toBeLessThan(0.05));
    expect(gp.toJSON()).toEqual(GaussianProcess.fromJSON(JSON.parse(JSON.stringify(gp.toJSON()))).toJSON());
  });
});

describe('expected improvement', () => {
  it('matches closed-form values', () => {
    expect(normCdf(1.96)).toBeCloseTo(0.9750021, 6);
    expect(normCdf(-3)).toBeCloseTo(0.0013499, 6);
    expect(expectedImprovement(0, 1, 0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 6);
    // μ − best = 1, σ = 2: z = 0.5 → 1·Φ(0.5) + 2·φ(0.5).
    expect(expectedImprovement(3, 4, 2)).toBeCloseTo(0.6914625 + 2 * 0.3520653, 5);
    expect(expectedImprovement(1, 0, 3)).toBe(0);
  });
});
