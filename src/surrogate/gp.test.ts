import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { GaussianProcess, cholesky, expectedImprovement, inverseFromCholesky, logMarginalLikelihood, normCdf, type GpHyper } from './gp.js';

const m52 = (r: number): number => (1 + Math.sqrt(5) * r + (5 / 3) * r * r) * Math.exp(-Math.sqrt(5) * r);

/** The analytic gradient of f at vec against central finite differences (step 1e-5, 4 digits). */
function expectFiniteDifferenceGradient(f: (v: number[]) => { value: number; gradient: ArrayLike<number> }, vec: number[]): void {
  const { gradient } = f(vec);
  for (let i = 0; i < vec.length; i++) {
    const up = [...vec];
    const dn = [...vec];
    up[i] += 1e-5;
    dn[i] -= 1e-5;
    expect(gradient[i]).toBeCloseTo((f(up).value - f(dn).value) / 2e-5, 4);
  }
}

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
    const vec = [...h.logLengthscales, h.logSignalVar, h.logNoiseVar];
    expectFiniteDifferenceGradient((v) => logMarginalLikelihood(x, y, { logLengthscales: v.slice(0, 3), logSignalVar: v[3], logNoiseVar: v[4] }), vec);
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

describe('MAP fit, leave-one-out and log-EI (issue #12)', () => {
  it('has the analytic gradient of the log posterior (finite differences)', async () => {
    const { logPosterior } = await import('./gp.js');
    const rng = createRng(4);
    const x = Array.from({ length: 10 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => Math.cos(3 * r[0]) * r[1]);
    const vec = [-0.7, 0.4, 0.2, -3];
    const at = (v: number[]) => logPosterior(x, y, { logLengthscales: v.slice(0, 2), logSignalVar: v[2], logNoiseVar: v[3] });
    expectFiniteDifferenceGradient(at, vec);
  });

  it('keeps the fitted noise at or above its floor on noise-free data', () => {
    const rng = createRng(11);
    const x = Array.from({ length: 30 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => r[0] + 2 * r[1] * r[1]);
    const gp = GaussianProcess.fit(x, y, { rng });
    expect(Math.exp(gp.hyper.logNoiseVar)).toBeGreaterThanOrEqual(1e-4 * (1 - 1e-12));
  });

  it('gives the same leave-one-out predictions as conditioning on the other points', () => {
    const rng = createRng(5);
    const x = Array.from({ length: 9 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => Math.sin(4 * r[0]) + r[1]);
    const hyper: GpHyper = { logLengthscales: [-1, -0.3], logSignalVar: 0.2, logNoiseVar: -3 };
    const gp = new GaussianProcess(x, y, hyper);
    const loo = gp.leaveOneOut();
    const st = gp.targetScale;
    for (let i = 0; i < x.length; i++) {
      const rest = new GaussianProcess(x.filter((_, j) => j !== i), y.filter((_, j) => j !== i), hyper, st);
      const p = rest.predict([x[i]]);
      expect(loo.mean[i]).toBeCloseTo(p.mean[0], 8);
      // LOO variance includes the noise.
      expect(loo.variance[i]).toBeCloseTo(p.variance[0] + Math.exp(hyper.logNoiseVar) * st.std ** 2, 8);
    }
  });

  it('log-EI equals ln EI where EI is representable and keeps ranking where EI underflows to 0', async () => {
    const { logExpectedImprovement } = await import('./gp.js');
    for (const [m, v, b] of [[0, 1, 0], [3, 4, 2], [0, 1, 5], [0, 0.25, 3.9]]) {
      expect(logExpectedImprovement(m, v, b)).toBeCloseTo(Math.log(expectedImprovement(m, v, b)), 5);
    }
    // Continuous where the computation switches to the asymptotic series (z = −8).
    const below = logExpectedImprovement(-8 - 1e-9, 1, 0);
    const above = logExpectedImprovement(-8 + 1e-9, 1, 0);
    expect(Math.abs(above - below)).toBeLessThan(1e-5);
    // z = −40: EI is 0 in double precision, log-EI is finite and still increasing in μ.
    expect(expectedImprovement(-40, 1, 0)).toBe(0);
    const lo = logExpectedImprovement(-40, 1, 0);
    const hi = logExpectedImprovement(-39, 1, 0);
    expect(Number.isFinite(lo)).toBe(true);
    expect(hi).toBeGreaterThan(lo);
    // Reference: ln h(−40) = −800 − ln √(2π) − 2 ln 40 + ln(1 − 3/1600 + …).
    expect(lo).toBeCloseTo(-800 - 0.5 * Math.log(2 * Math.PI) - 2 * Math.log(40) + Math.log(1 - 3 / 1600 + 15 / 1600 ** 2), 6);
  });

  it('cholesky and inverseFromCholesky are the textbook loops bit for bit (four rows / columns at a time, issue #12 cost line)', () => {
    // The one-row-at-a-time forms the fast ones must reproduce exactly: same products, same order.
    const textbookCholesky = (a: Float64Array, n: number): Float64Array | null => {
      const l = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = a[i * n + j];
          for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
          if (i === j) {
            if (!(s > 0)) return null;
            l[i * n + i] = Math.sqrt(s);
          } else l[i * n + j] = s / l[j * n + j];
        }
      }
      return l;
    };
    const textbookInverse = (l: Float64Array, n: number): Float64Array => {
      const li = new Float64Array(n * n);
      for (let j = 0; j < n; j++) {
        li[j * n + j] = 1 / l[j * n + j];
        for (let i = j + 1; i < n; i++) {
          let s = 0;
          for (let k = j; k < i; k++) s -= l[i * n + k] * li[k * n + j];
          li[i * n + j] = s / l[i * n + i];
        }
      }
      const kinv = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
          kinv[i * n + j] = kinv[j * n + i] = s;
        }
      }
      return kinv;
    };
    const rng = createRng(12);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 40]) {
      const x = Array.from({ length: n }, () => [rng.next(), rng.next(), rng.next()]);
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = m52(Math.hypot(x[i][0] - x[j][0], x[i][1] - x[j][1], x[i][2] - x[j][2]) / 0.3) + (i === j ? 1e-3 : 0);
      const l = cholesky(a, n)!;
      expect(Array.from(l)).toEqual(Array.from(textbookCholesky(a, n)!));
      expect(Array.from(inverseFromCholesky(l, n))).toEqual(Array.from(textbookInverse(l, n)));
    }
    // Not positive definite (at an even and at an odd row): null, as before.
    expect(cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toBeNull();
    expect(cholesky(Float64Array.from([1, 0, 0, 0, 1, 2, 0, 2, 1]), 3)).toBeNull();
    // Inside and after the four-row blocks too (review of c6d5433): the identity with rows bad and
    // bad − 1 coupled by 2 fails at row `bad`, for every row of n = 4…9.
    for (let n = 4; n <= 9; n++) {
      for (let bad = 1; bad < n; bad++) {
        const a = new Float64Array(n * n);
        for (let i = 0; i < n; i++) a[i * n + i] = 1;
        a[bad * n + bad - 1] = a[(bad - 1) * n + bad] = 2;
        expect(textbookCholesky(a, n), `n ${n}, row ${bad}`).toBeNull();
        expect(cholesky(a, n), `n ${n}, row ${bad}`).toBeNull();
      }
    }
  });
});

describe('quadratic basis in the kernel, variances by MAP (issue #16, eighth pass; R&W §2.7)', () => {
  it('has the analytic gradient of the log posterior with the basis variances (finite differences)', async () => {
    const { logPosterior } = await import('./gp.js');
    const rng = createRng(12);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next()]);
    const y = x.map((r) => Math.sin(4 * r[0]) + (r[1] - 0.5) ** 2 - 0.3 * r[2]);
    const vec = [-0.7, 0.4, 0.1, 0.2, -3, Math.log(0.3), Math.log(1.5), Math.log(0.02)];
    const at = (v: number[]) => logPosterior(x, y, { logLengthscales: v.slice(0, 3), logSignalVar: v[3], logNoiseVar: v[4], logBasisVars: v.slice(5) });
    expect(at(vec).gradient).toHaveLength(vec.length);
    expectFiniteDifferenceGradient(at, vec);
  });

  it('is Bayesian linear regression on the features when the Matérn part vanishes (R&W eq. 2.8–2.9)', async () => {
    const { quadraticBasis } = await import('./gp.js');
    const rng = createRng(13);
    const x = Array.from({ length: 15 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => 1 + 4 * (r[0] - 0.5) ** 2 - 2 * (r[1] - 0.5) ** 2 + 0.05 * rng.normal());
    const [noise, b] = [0.1, [0.5, 2]];
    const gp = new GaussianProcess(x, y, { logLengthscales: [0, 0], logSignalVar: Math.log(1e-12), logNoiseVar: Math.log(noise), logBasisVars: b.map(Math.log) });
    const { mean, std } = gp.targetScale;
    // A = HᵀH/σ² + B⁻¹ (2 × 2), posterior of β: N(A⁻¹Hᵀy/σ², A⁻¹).
    const h = x.map((u) => quadraticBasis(u));
    const a = [[1 / b[0], 0], [0, 1 / b[1]]];
    const hy = [0, 0];
    h.forEach((f, i) => {
      for (let r = 0; r < 2; r++) {
        hy[r] += (f[r] * (y[i] - mean)) / std / noise;
        for (let c = 0; c < 2; c++) a[r][c] += (f[r] * f[c]) / noise;
      }
    });
    const det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    const ainv = [[a[1][1] / det, -a[0][1] / det], [-a[1][0] / det, a[0][0] / det]];
    const beta = [ainv[0][0] * hy[0] + ainv[0][1] * hy[1], ainv[1][0] * hy[0] + ainv[1][1] * hy[1]];
    for (const q of [[0.5, 0.5], [0, 1], [0.9, 0.2]]) {
      const f = quadraticBasis(q);
      const p = gp.predict([q]);
      expect(p.mean[0]).toBeCloseTo(mean + std * (f[0] * beta[0] + f[1] * beta[1]), 8);
      const quad = f[0] * (ainv[0][0] * f[0] + ainv[0][1] * f[1]) + f[1] * (ainv[1][0] * f[0] + ainv[1][1] * f[1]);
      expect(p.variance[0]).toBeCloseTo(std * std * quad, 8);
    }
  });

  it('keeps the curvature of a bowl in the bowl variables and drops it where the data are linear', () => {
    const rng = createRng(3);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next(), rng.next()]);
    const fit = (f: (u: number[]) => number) => GaussianProcess.fit(x, x.map(f), { rng: createRng(1), restarts: 2, basis: 'quadratic' }).hyper.logBasisVars!.map(Math.exp);
    // DTLZ2's g in x1..x3 plus a slope in x0: curvature along x1..x3 only.
    const bowl = fit((u) => u.slice(1).reduce((s, v) => s + (v - 0.5) ** 2, 0) + 0.3 * u[0]);
    expect(bowl[0]).toBeLessThan(1e-3);
    for (const b of bowl.slice(1)) expect(b).toBeGreaterThan(0.05);
    // Linear (ZDT's g): no curvature anywhere, every b_k at or near its floor.
    const linear = fit((u) => u.reduce((s, v, k) => s + (k + 1) * v, 0));
    for (const b of linear) expect(b).toBeLessThan(1e-3);
  });

  it('conditions on one more point, round-trips through JSON and bounds every posterior variance by priorVariance', () => {
    const rng = createRng(14);
    const x = Array.from({ length: 10 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => (r[0] - 0.5) ** 2 + r[1]);
    const gp = new GaussianProcess(x, y, { logLengthscales: [0.5, 0.2], logSignalVar: 0, logNoiseVar: -5, logBasisVars: [Math.log(0.8), Math.log(1e-4)] });
    const probe = [[0, 0], [1, 1], [0.5, 0.3], [0, 0.7]];
    expect(GaussianProcess.fromJSON(JSON.parse(JSON.stringify(gp.toJSON()))).predict(probe)).toEqual(gp.predict(probe));
    const more = gp.withPoint([0.1, 0.9], 2);
    expect(more.hyper.logBasisVars).toEqual(gp.hyper.logBasisVars);
    expect(more.predict(probe)).toEqual(new GaussianProcess([...x, [0.1, 0.9]], [...y, 2], gp.hyper, gp.targetScale).predict(probe));
    for (const v of gp.predict(probe).variance) expect(v).toBeLessThanOrEqual(gp.priorVariance);
    // Without data the variance at a corner of x₀ is s² + 5 b₀ (h² = 5 at a bound), the bound itself.
    const one = new GaussianProcess([[0.5, 0.5]], [0], { ...gp.hyper, logNoiseVar: Math.log(1e3) });
    expect(one.predict([[0, 0]]).variance[0] / one.targetScale.std ** 2).toBeCloseTo(1 + 5 * 0.8 + 5 * 1e-4, 2);
    // There it is about 5× the Matérn part alone, so this checks the basis term of the bound (review).
    expect(one.predict([[0, 0]]).variance[0]).toBeLessThanOrEqual(one.priorVariance * (1 + 1e-12));
  });
});

describe('second-order basis in the kernel: linear and quadratic features (issue #16, tenth pass)', () => {
  it('has zero-mean, unit-variance features over the cube, linear ones first, and the basis kind read from the variances', async () => {
    const { secondOrderBasis, quadraticBasis, basisFeatures, basisKind } = await import('./gp.js');
    // Midpoint rule on [0, 1]: ∫h = 0 and ∫h² = 1 for both feature families.
    const n = 20000;
    let [m1, m2, s1, s2] = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const [l, q] = secondOrderBasis([(i + 0.5) / n]);
      m1 += l / n;
      m2 += q / n;
      s1 += (l * l) / n;
      s2 += (q * q) / n;
    }
    for (const m of [m1, m2]) expect(Math.abs(m)).toBeLessThan(1e-6);
    for (const s of [s1, s2]) expect(s).toBeCloseTo(1, 6);
    const u = [0.1, 0.8, 0.35];
    const h = secondOrderBasis(u);
    expect(Array.from(h.subarray(3))).toEqual(Array.from(quadraticBasis(u)));
    expect(h[0]).toBeCloseTo(Math.sqrt(12) * (0.1 - 0.5), 12);
    expect(basisFeatures(u, 'quadratic')).toEqual(quadraticBasis(u));
    expect(basisFeatures(u, 'second-order')).toEqual(h);
    const hyper = (m: number | undefined): GpHyper => ({ logLengthscales: [0, 0, 0], logSignalVar: 0, logNoiseVar: -4, ...(m === undefined ? {} : { logBasisVars: new Array<number>(m).fill(-1) }) });
    expect([basisKind(hyper(undefined)), basisKind(hyper(3)), basisKind(hyper(6))]).toEqual([undefined, 'quadratic', 'second-order']);
    expect(() => basisKind(hyper(4))).toThrow(/4 basis variances for 3 inputs \(allowed: 3, quadratic, or 6, second-order\)/);
    // A GP with such hyper-parameters (a corrupt snapshot) is refused, not conditioned on the
    // first 4 of the second-order features (review of the tenth pass).
    expect(() => new GaussianProcess([u], [1], hyper(4))).toThrow(/4 basis variances for 3 inputs/);
  });

  it('has the analytic gradient of the log posterior with 2d basis variances (finite differences)', async () => {
    const { logPosterior } = await import('./gp.js');
    const rng = createRng(21);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next()]);
    const y = x.map((r) => Math.sin(4 * r[0]) + (r[1] - 0.3) ** 2 - 0.3 * r[0]);
    const vec = [-0.7, 0.4, 0.2, -3, Math.log(0.3), Math.log(1.5), Math.log(0.02), Math.log(0.7)];
    const at = (v: number[]) => logPosterior(x, y, { logLengthscales: v.slice(0, 2), logSignalVar: v[2], logNoiseVar: v[3], logBasisVars: v.slice(4) });
    expect(at(vec).gradient).toHaveLength(vec.length);
    expectFiniteDifferenceGradient(at, vec);
  });

  it('finds the slope of linear data in the linear variances, where the quadratic basis found nothing, and a bowl off the centre in both', () => {
    const rng = createRng(3);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next(), rng.next(), rng.next()]);
    const fit = (f: (u: number[]) => number) => GaussianProcess.fit(x, x.map(f), { rng: createRng(1), restarts: 2, basis: 'second-order' }).hyper.logBasisVars!.map(Math.exp);
    // ZDT's g: linear in every input — a slope along each, no curvature (as the quadratic-basis test's data).
    const linear = fit((u) => u.reduce((s, v, k) => s + (k + 1) * v, 0));
    expect(Math.max(...linear.slice(0, 4))).toBeGreaterThan(0.05);
    for (const b of linear.slice(4)) expect(b).toBeLessThan(1e-3);
    // A bowl centred at 0.2 in x1 (flat in x0, x2, x3): curvature and slope along x1 only.
    const bowl = fit((u) => 4 * (u[1] - 0.2) ** 2);
    expect(bowl[5]).toBeGreaterThan(0.05);
    expect(bowl[1]).toBeGreaterThan(0.05);
    for (const k of [0, 2, 3]) expect(bowl[k] + bowl[4 + k]).toBeLessThan(1e-3);
  });

  it('bounds every posterior variance by priorVariance, attained at a corner without data', () => {
    const rng = createRng(15);
    const x = Array.from({ length: 8 }, () => [rng.next(), rng.next()]);
    const w = [0.6, 1e-4, 0.8, 0.02];
    const gp = new GaussianProcess(x, x.map((r) => r[0] - r[1] ** 2), { logLengthscales: [0.5, 0.2], logSignalVar: 0, logNoiseVar: -5, logBasisVars: w.map(Math.log) });
    for (const v of gp.predict([[0, 0], [1, 1], [0.5, 0.3], [0, 0.7], [1, 0]]).variance) expect(v).toBeLessThanOrEqual(gp.priorVariance);
    // One far-off noisy point: the variance at (1, 1) is s² + 3(a₀ + a₁) + 5(b₀ + b₁), the bound.
    const one = new GaussianProcess([[0.5, 0.5]], [0], { ...gp.hyper, logNoiseVar: Math.log(1e3) });
    const corner = one.predict([[1, 1]]).variance[0];
    expect(corner / one.targetScale.std ** 2).toBeCloseTo(1 + 3 * (0.6 + 1e-4) + 5 * (0.8 + 0.02), 2);
    expect(corner).toBeLessThanOrEqual(one.priorVariance * (1 + 1e-12));
    expect(corner).toBeGreaterThan(0.99 * one.priorVariance);
  });
});
