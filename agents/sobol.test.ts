import { describe, expect, it } from 'vitest';
import { createRng } from '../src/core/rng.js';
import { SOBOL_MAX_DIMENSION, createSobolAgent, sobolDirections, sobolPoint } from './sobol.js';
import { hartmann6 } from './testing/functions.js';
import { runLoop } from './testing/harness.js';

describe("Sobol' sequence", () => {
  it('reproduces the published unscrambled points (Joe–Kuo; same as scipy.stats.qmc.Sobol)', () => {
    const dirs = sobolDirections(3);
    const pts = Array.from({ length: 8 }, (_, n) => sobolPoint(dirs, n));
    expect(pts).toEqual([
      [0, 0, 0],
      [0.5, 0.5, 0.5],
      [0.75, 0.25, 0.25],
      [0.25, 0.75, 0.75],
      [0.375, 0.375, 0.625],
      [0.875, 0.875, 0.125],
      [0.625, 0.125, 0.875],
      [0.125, 0.625, 0.375],
    ]);
  });

  it('keeps the net property when Owen-scrambled, in all supported dimensions', () => {
    const d = SOBOL_MAX_DIMENSION;
    expect(d).toBeGreaterThanOrEqual(21);
    const rng = createRng(5);
    const seeds = Array.from({ length: d }, () => rng.int(4294967296));
    const dirs = sobolDirections(d);
    const m = 6;
    const pts = Array.from({ length: 2 ** m }, (_, n) => sobolPoint(dirs, n, seeds));
    for (let j = 0; j < d; j++) {
      const cells = new Set(pts.map((p) => Math.floor(p[j] * 2 ** m)));
      expect(cells.size).toBe(2 ** m); // one point in each of the 64 strata
    }
    // Dimensions 1–2 form a (0, m, 2)-net: every elementary box of volume 2^-m holds one point.
    for (let a = 0; a <= m; a++) {
      const boxes = new Set(pts.map((p) => `${Math.floor(p[0] * 2 ** a)},${Math.floor(p[1] * 2 ** (m - a))}`));
      expect(boxes.size).toBe(2 ** m);
    }
    expect(pts[0].some((v) => v !== 0)).toBe(true); // scrambled: not anchored at the origin
  });

  it('resumes the same sequence after snapshot/restore', async () => {
    const a = createSobolAgent();
    const full = await runLoop(a, hartmann6.space, hartmann6.reward, { budget: 12, seed: 3 });
    const b = createSobolAgent();
    const half = await runLoop(b, hartmann6.space, hartmann6.reward, { budget: 6, seed: 3 });
    const c = createSobolAgent();
    c.restore!(JSON.parse(JSON.stringify(b.snapshot!())));
    const resumed = await runLoop(c, hartmann6.space, hartmann6.reward, { budget: 12, seed: 3, initial: half, learnInitial: false });
    expect(resumed.map((o) => o.params)).toEqual(full.map((o) => o.params));
  });

  // Best-of-n against random search: the slow tier, agents/compare.slow.test.ts (issue #15).

  // What Sobol' improves on most is coverage: the centred L2 discrepancy (Hickernell, Math.
  // Comp. 67 (1998) 299).
  it.each([2, 6, 10])('covers the %i-D cube more evenly than random points', (d) => {
    const n = 64;
    const cd2 = (x: number[][]): number => {
      let s1 = 0;
      let s2 = 0;
      for (const p of x) s1 += p.reduce((acc, v) => acc * (1 + 0.5 * Math.abs(v - 0.5) - 0.5 * (v - 0.5) ** 2), 1);
      for (const p of x) for (const q of x) s2 += p.reduce((acc, v, k) => acc * (1 + 0.5 * Math.abs(v - 0.5) + 0.5 * Math.abs(q[k] - 0.5) - 0.5 * Math.abs(v - q[k])), 1);
      return (13 / 12) ** d - (2 / n) * s1 + s2 / (n * n);
    };
    const rng = createRng(11);
    const dirs = sobolDirections(d);
    let sob = 0;
    let rnd = 0;
    for (let r = 0; r < 20; r++) {
      const seeds = Array.from({ length: d }, () => rng.int(4294967296));
      sob += cd2(Array.from({ length: n }, (_, i) => sobolPoint(dirs, i, seeds)));
      rnd += cd2(Array.from({ length: n }, () => Array.from({ length: d }, () => rng.next())));
    }
    expect(sob).toBeLessThan(rnd);
  });
});
