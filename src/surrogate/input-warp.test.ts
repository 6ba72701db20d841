import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { logMarginalLikelihood } from './gp.js';
import { fitWarpedGp, kumaraswamy, warpedLogPosterior } from './input-warp.js';

describe('Kumaraswamy input warp (issue #12; Snoek et al., ICML 2014)', () => {
  it('is the identity at a = b = 1, monotone in [0, 1], and bends the axis otherwise', () => {
    const id = kumaraswamy({ columns: [0], logA: [0], logB: [0] });
    for (const v of [0.1, 0.5, 0.9]) expect(id([v])[0]).toBeCloseTo(v, 12);
    const w = kumaraswamy({ columns: [0], logA: [Math.log(0.5)], logB: [Math.log(2)] });
    let prev = -1;
    for (let v = 0; v <= 1; v += 0.01) {
      const z = w([v])[0];
      expect(z >= 0 && z <= 1 && z >= prev).toBe(true);
      prev = z;
    }
    // a < 1 stretches the low end: 0.1 maps well above 0.1.
    expect(w([0.1])[0]).toBeGreaterThan(0.4);
  });

  it('has the analytic input gradient of the log marginal likelihood (finite differences)', () => {
    const rng = createRng(3);
    const x = Array.from({ length: 9 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => Math.sin(4 * r[0]) - r[1]);
    const h = { logLengthscales: [-1, -0.5], logSignalVar: 0.2, logNoiseVar: -3 };
    const g = logMarginalLikelihood(x, y, h, true).inputGradient!;
    const e = 1e-6;
    for (const [i, k] of [[0, 0], [4, 1], [8, 0]]) {
      const at = (dv: number) => logMarginalLikelihood(x.map((r, j) => (j === i ? r.map((v, q) => (q === k ? v + dv : v)) : r)), y, h).value;
      expect(g[i * 2 + k]).toBeCloseTo((at(e) - at(-e)) / (2 * e), 4);
    }
  });

  it('has the analytic gradient of the warped log posterior in every parameter (finite differences)', () => {
    // Column 1 is binary and not warped: the warp parameters of columns 0 and 2 must chain
    // through their own input gradients, not those of their positions in θ.
    const rng = createRng(5);
    const x = Array.from({ length: 10 }, () => [rng.next() ** 2, rng.next() < 0.5 ? 1 : 0, rng.next()]);
    const y = x.map((r) => Math.cos(5 * r[0]) + r[1] + r[2] * r[2]);
    const theta = [-1.2, -0.8, -0.3, 0.1, -2.5, 0.3, -0.4, -0.2, 0.5];
    const { gradient } = warpedLogPosterior(x, y, theta, [0, 2]);
    expect(gradient).toHaveLength(theta.length);
    const e = 1e-6;
    theta.forEach((_, i) => {
      const at = (dv: number) => warpedLogPosterior(x, y, theta.map((t, j) => (j === i ? t + dv : t)), [0, 2]).value;
      expect(gradient[i]).toBeCloseTo((at(e) - at(-e)) / (2 * e), 4);
    });
  });

  it('learns a warp that stretches the end where a function varies fastest, and fits the same for the same seed', () => {
    // f varies only near x = 0 (a non-stationary function, as in Snoek et al.): the fitted warp
    // should spread the low end (w(0.1) well above 0.1) and fit better than the identity.
    const rng = createRng(11);
    const x = Array.from({ length: 30 }, () => [rng.next()]);
    const y = x.map((r) => Math.sin(1 / (r[0] + 0.08)));
    const fit = () => fitWarpedGp(x, y, { columns: [0], rng: createRng(2), restarts: 2, maxFitPoints: 120 });
    const a = fit();
    expect(a.warp([0.1])[0]).toBeGreaterThan(0.2);
    expect(JSON.stringify(fit().params)).toBe(JSON.stringify(a.params));
    const z = y.map((v) => (v - a.gp.targetScale.mean) / a.gp.targetScale.std);
    const identity = warpedLogPosterior(x, z, [...a.gp.hyper.logLengthscales, a.gp.hyper.logSignalVar, a.gp.hyper.logNoiseVar, 0, 0], [0]).value;
    const learnt = warpedLogPosterior(x, z, [...a.gp.hyper.logLengthscales, a.gp.hyper.logSignalVar, a.gp.hyper.logNoiseVar, ...a.params.logA, ...a.params.logB], [0]).value;
    expect(learnt).toBeGreaterThan(identity);
  });

  it('warps only the given columns: one-hot columns reach the GP unchanged and have no warp parameters', () => {
    // A continuous input and a three-valued categorical (one-hot columns 1-3); f varies fastest
    // near x = 0, so the fit bends column 0. A warp of a one-hot column would move its 0s and 1s
    // (w(1) < 1 at the clamp, w(0) > 0), and at a ≈ e⁻³ bring them together (issue #12 review).
    const rng = createRng(17);
    const x = Array.from({ length: 24 }, (_, i) => [rng.next(), ...[0, 1, 2].map((c) => (c === i % 3 ? 1 : 0))]);
    const y = x.map((r) => Math.sin(1 / (r[0] + 0.08)) + r[2] - r[3]);
    const fit = () => fitWarpedGp(x, y, { columns: [0], rng: createRng(4), restarts: 2, maxFitPoints: 120 });
    const a = fit();
    expect(a.params.columns).toEqual([0]);
    expect(a.params.logA).toHaveLength(1);
    expect(a.params.logB).toHaveLength(1);
    expect(a.params.logA[0] !== 0 || a.params.logB[0] !== 0).toBe(true);
    a.gp.x.forEach((row, i) => expect(row.slice(1)).toEqual(x[i].slice(1)));
    expect(a.warp([0.3, 0, 1, 0]).slice(1)).toEqual([0, 1, 0]);
    expect(JSON.stringify(fit().params)).toBe(JSON.stringify(a.params));
  });
});
