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
