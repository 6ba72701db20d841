import { describe, expect, it } from 'vitest';
import { createRng } from '../src/core/rng.js';
import { hypervolumeImprovement } from '../src/reward/hvi.js';
import { GaussianProcess } from '../src/surrogate/gp.js';
import { expectedHvi2d, JointPosterior, NehviSampler } from './ehvi.js';

describe('expected hypervolume improvement', () => {
  it('the 2-D closed form agrees with a Monte-Carlo average of the improvement', () => {
    const rng = createRng(3);
    const front = [[0.2, 0.9], [0.5, 0.6], [0.8, 0.25]];
    const ref = [0, 0];
    for (const [mean, sd] of [
      [[0.6, 0.7], [0.1, 0.2]],
      [[0.3, 0.3], [0.3, 0.05]],
      [[1.0, 0.1], [0.05, 0.3]],
    ]) {
      const exact = expectedHvi2d(front, mean, sd, ref);
      let mc = 0;
      const n = 200_000;
      for (let s = 0; s < n; s++) mc += hypervolumeImprovement(front, [mean[0] + sd[0] * rng.normal(), mean[1] + sd[1] * rng.normal()], ref);
      mc /= n;
      expect(exact).toBeGreaterThan(0);
      expect(Math.abs(mc - exact) / exact).toBeLessThan(0.02);
    }
    // Zero variance: the improvement of the mean itself.
    expect(expectedHvi2d(front, [0.6, 0.7], [0, 0], ref)).toBeCloseTo(hypervolumeImprovement(front, [0.6, 0.7], ref), 12);
  });

  it('the joint posterior matches the GP marginals, and qNEHVI matches the closed form where baseline and candidate are independent', () => {
    const rng = createRng(4);
    const xs = Array.from({ length: 12 }, () => [rng.next()]);
    const f1 = (x: number[]) => Math.sin(6 * x[0]);
    const f2 = (x: number[]) => Math.cos(5 * x[0]);
    const hyper = { logLengthscales: [Math.log(0.15)], logSignalVar: 0, logNoiseVar: Math.log(1e-6) };
    const gps = [f1, f2].map((f) => new GaussianProcess(xs, xs.map(f), hyper));
    const posts = gps.map((gp) => new JointPosterior(gp));
    const probe = [[0.31], [0.77], [3.0]];
    const cov = posts[0].covariance(probe);
    const marg = gps[0].predict(probe).variance;
    probe.forEach((_, i) => expect(cov[i][i]).toBeCloseTo(marg[i], 8));
    // Baseline at observed points (nearly noiseless: its sampled front is the observed front);
    // a candidate far outside the data is independent of it, so qNEHVI = closed-form EHVI.
    const sampler = new NehviSampler(posts, xs, { samples: 4000, rng: createRng(5), normalise: (y) => [...y], reference: [-1.5, -1.5] });
    const front = xs.map((x) => [f1(x), f2(x)]);
    const far = [3.0];
    const p = gps.map((gp) => gp.predict([far]));
    const exact = expectedHvi2d(front, p.map((q) => q.mean[0]), p.map((q) => Math.sqrt(q.variance[0])), [-1.5, -1.5]);
    expect(Math.abs(sampler.value(far) - exact) / exact).toBeLessThan(0.05);
    // A point already observed adds (almost) nothing.
    expect(sampler.value(xs[0])).toBeLessThan(1e-3 * exact);
  });
});

describe('JointPosterior with a basis term in the kernel (issue #16, eighth and tenth passes)', () => {
  it.each([
    ['quadratic', [0.7, 0.05]],
    ['second-order', [0.3, 0.01, 0.7, 0.05]],
  ])('matches the GP marginals, and the covariance of the latent function is that of Matérn plus the %s basis term', (_kind, w) => {
    const rng = createRng(6);
    const xs = Array.from({ length: 10 }, () => [rng.next(), rng.next()]);
    const hyper = { logLengthscales: [Math.log(0.4), Math.log(0.9)], logSignalVar: -0.5, logNoiseVar: Math.log(1e-3), logBasisVars: w.map(Math.log) };
    const gp = new GaussianProcess(xs, xs.map((x) => (x[0] - 0.5) ** 2 + Math.sin(3 * x[1])), hyper);
    const post = new JointPosterior(gp);
    const probe = [[0, 0], [1, 0.4], [0.5, 0.5], [0.2, 1]];
    const p = gp.predict(probe);
    const cov = post.covariance(probe);
    probe.forEach((q, i) => {
      expect(cov[i][i]).toBeCloseTo(p.variance[i], 8);
      expect(post.mean([q])[0]).toBeCloseTo(p.mean[i], 10);
      // parts(): prior variance and features for the sampler's cross-covariances.
      const { prior, h } = post.parts(q);
      expect(post.kernel(q, q)).toBeCloseTo(prior, 12);
      expect(post.kernel(q, probe[0], h)).toBe(post.kernel(q, probe[0]));
    });
    // Without the basis term the same GP's posterior differs (the term is in use).
    const plain = new JointPosterior(new GaussianProcess(xs, gp.y, { ...hyper, logBasisVars: undefined }));
    expect(Math.abs(plain.covariance(probe)[0][0] - cov[0][0])).toBeGreaterThan(1e-3);
  });
});

describe('hvi2Sorted (issue #16: the allocation-free 2-D improvement of the acquisition)', () => {
  it('equals the general hypervolume improvement on random fronts and points', async () => {
    const { hvi2Sorted } = await import('./ehvi.js');
    const { paretoFront } = await import('../src/reward/pareto.js');
    const rng = createRng(9);
    for (let t = 0; t < 300; t++) {
      const pts = Array.from({ length: 1 + rng.int(12) }, () => [rng.normal(), rng.normal()]);
      const front = paretoFront(pts, ['max', 'max']).map((i) => pts[i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const y = [rng.normal() + 0.5, rng.normal() + 0.5];
      const ref = [-1 - rng.next(), -1 - rng.next()];
      expect(hvi2Sorted(front, y, ref)).toBeCloseTo(hypervolumeImprovement(front, y, ref), 12);
    }
  });
});

describe('hvi3Sorted (issue #16: the 3-objective improvement of the acquisition)', () => {
  it('equals the general hypervolume improvement on random fronts and points', async () => {
    const { hvi3Sorted } = await import('./ehvi.js');
    const { paretoFront } = await import('../src/reward/pareto.js');
    const rng = createRng(10);
    for (let t = 0; t < 300; t++) {
      const pts = Array.from({ length: 1 + rng.int(15) }, () => [rng.normal(), rng.normal(), rng.normal()]);
      const front = paretoFront(pts, ['max', 'max', 'max']).map((i) => pts[i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      const byThird = Int32Array.from(front.map((_, i) => i).sort((a, b) => front[b][2] - front[a][2] || a - b));
      const y = [rng.normal() + 0.5, rng.normal() + 0.5, rng.normal() + 0.5];
      const ref = [-1 - rng.next(), -1 - rng.next(), -1 - rng.next()];
      expect(hvi3Sorted(front, byThird, y, ref)).toBeCloseTo(hypervolumeImprovement(front, y, ref), 12);
    }
  });
});

describe('qLogNEHVI pieces (issue #16: a smoothed, log-space improvement that is never flat)', () => {
  const fronts = async (m: number, seed: number) => {
    const { paretoFront } = await import('../src/reward/pareto.js');
    const rng = createRng(seed);
    return Array.from({ length: 100 }, () => {
      const pts = Array.from({ length: 1 + rng.int(14) }, () => Array.from({ length: m }, () => rng.next()));
      const front = paretoFront(pts, new Array(m).fill('max')).map((i) => pts[i]);
      const y = Array.from({ length: m }, () => 1.2 * rng.next() - 0.1);
      return { front, y, ref: new Array(m).fill(0.05) };
    });
  };

  it('the box decomposition gives the exact hypervolume improvement in 2, 3 and 4 objectives', async () => {
    const { nondominatedCells, cellsHvi } = await import('./ehvi.js');
    for (const m of [2, 3, 4]) {
      for (const { front, y, ref } of await fronts(m, 20 + m)) expect(cellsHvi(nondominatedCells(front, ref), y)).toBeCloseTo(hypervolumeImprovement(front, y, ref), 12);
    }
  });

  it('ln of the smoothed improvement equals ln of the exact one where that is not tiny (to within the temperatures)', async () => {
    const { nondominatedCells, logSmoothedHvi, compileCells, logSmoothedHviCompiled, TAU_MAX } = await import('./ehvi.js');
    let checked = 0;
    for (const m of [2, 3]) {
      for (const { front, y, ref } of await fronts(m, 30 + m)) {
        const cells = nondominatedCells(front, ref);
        const exact = hypervolumeImprovement(front, y, ref);
        const smooth = logSmoothedHvi(cells, y);
        expect(logSmoothedHviCompiled(compileCells(cells, m), y)).toBeCloseTo(smooth, 10);
        if (exact < 1e-3) continue;
        checked++;
        // Tight temperatures: the same number in log space.
        expect(Math.abs(logSmoothedHvi(cells, y, 1e-9, 1e-7) - Math.log(exact))).toBeLessThan(1e-3);
        // BoTorch's temperatures: each cell's side moves by at most τ_max·ln 2 (the smooth min at a kink).
        expect(Math.abs(Math.exp(smooth) - exact)).toBeLessThanOrEqual(cells.lo.length * m * 1.2 ** (m - 1) * TAU_MAX * Math.LN2 + 1e-9);
        // ...which is loose (hundreds of times the error seen): where the improvement is ≥ 1e-3 the
        // smoothed one is within 5 % of it (measured ≤ 2.9 % on these fronts; final review).
        expect(Math.abs(Math.exp(smooth) - exact)).toBeLessThanOrEqual(0.05 * exact);
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('fatMin has no kink: the same slope on both sides of a = b, and moves min by at most τ ln 2; logFatplus is continuous at its shortcut', async () => {
    const { fatMin, logFatplus, TAU_MAX, TAU_RELU } = await import('./ehvi.js');
    const h = 1e-7;
    for (const b of [0, 0.3, -2]) {
      const below = (fatMin(b, b) - fatMin(b - h, b)) / h;
      const above = (fatMin(b + h, b) - fatMin(b, b)) / h;
      expect(below).toBeCloseTo(0.5, 4);
      expect(above).toBeCloseTo(0.5, 4);
      for (const a of [b - 1, b - 0.01, b, b + 0.005, b + 1]) {
        const d = Math.min(a, b) - fatMin(a, b);
        expect(d).toBeGreaterThan(0);
        expect(d).toBeLessThanOrEqual(TAU_MAX * Math.LN2 + 1e-15);
      }
    }
    const x = 40 * TAU_RELU;
    expect(Math.abs(logFatplus(x * (1 + 1e-12)) - logFatplus(x * (1 - 1e-12)))).toBeLessThan(1e-9);
  });

  it('is finite where the exact improvement is 0, and grows as the point nears the region that improves', async () => {
    const { nondominatedCells, logSmoothedHvi } = await import('./ehvi.js');
    const front = [[0.9, 0.2], [0.6, 0.6], [0.2, 0.9]];
    const cells = nondominatedCells(front, [0, 0]);
    // Dominated by the front (inside its staircase), then below the reference: the exact improvement is 0.
    const path = [[0.3, 0.3], [0.45, 0.45], [0.55, 0.55], [0.59, 0.59]];
    const outside = [[-0.5, 0.5], [-0.2, 0.5], [-0.05, 0.5]];
    for (const seq of [path, outside]) {
      const v = seq.map((y) => logSmoothedHvi(cells, y));
      seq.forEach((y) => expect(hypervolumeImprovement(front, y, [0, 0])).toBe(0));
      v.forEach((l) => expect(Number.isFinite(l)).toBe(true));
      for (let i = 1; i < v.length; i++) expect(v[i]).toBeGreaterThan(v[i - 1]);
    }
  });

  it('NehviSampler.logValue: ln of value() where the improvement is not tiny; finite where value() is 0; a local ascent moves only on it', async () => {
    const { ascend } = await import('./mobo.js');
    const rng = createRng(41);
    // DTLZ2-like: objectives worsen with the distance variable x₁ away from ½ (goal-signed, maximised).
    const f = (x: number[]) => {
      const g = 4 * (x[1] - 0.5) ** 2;
      return [-(1 + g) * Math.cos((x[0] * Math.PI) / 2), -(1 + g) * Math.sin((x[0] * Math.PI) / 2)];
    };
    const xs = Array.from({ length: 14 }, () => [rng.next(), rng.next()]);
    const hyper = { logLengthscales: [Math.log(0.4), Math.log(0.4)], logSignalVar: 0, logNoiseVar: Math.log(1e-6) };
    const gps = [0, 1].map((i) => new GaussianProcess(xs, xs.map((x) => f(x)[i]), hyper));
    const sampler = new NehviSampler(gps.map((gp) => new JointPosterior(gp)), xs, { samples: 64, rng: createRng(42), normalise: (y) => [...y], reference: [-1.1, -1.1] });
    let near = 0;
    for (let i = 0; i <= 20; i++) {
      for (let j = 0; j <= 20; j++) {
        const x = [i / 20, j / 20];
        const v = sampler.value(x);
        const l = sampler.logValue(x);
        expect(Number.isFinite(l)).toBe(true);
        if (v > 1e-3) {
          near++;
          expect(Math.abs(l - Math.log(v))).toBeLessThan(0.25);
        }
      }
    }
    expect(near).toBeGreaterThan(0);
    // A start where the exact improvement is 0 in every sample (far from the front's distance x₁ = ½):
    const start = [0.5, 0.02];
    expect(sampler.value(start)).toBe(0);
    const exactAscent = ascend({ u: start, s: sampler.value(start) }, (u) => ({ u, s: sampler.value(u) }), 30);
    expect(exactAscent.u).toEqual(start); // flat: no gradient, no move
    const logAscent = ascend({ u: start, s: sampler.logValue(start) }, (u) => ({ u, s: sampler.logValue(u) }), 30);
    expect(logAscent.s).toBeGreaterThan(sampler.logValue(start) + 1);
    expect(Math.abs(logAscent.u[1] - 0.5)).toBeLessThan(Math.abs(start[1] - 0.5));
  });
});
