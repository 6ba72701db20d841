import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { augmentedChebyshev, dominates, extendFront, hypervolume, paretoFront, randomSimplexWeights, scalarise, type Goal } from './pareto.js';

describe('Pareto dominance and front', () => {
  it('respects goal directions', () => {
    const g: Goal[] = ['max', 'min'];
    expect(dominates([2, 1], [1, 1], g)).toBe(true);
    expect(dominates([2, 1], [2, 1], g)).toBe(false);
    expect(dominates([2, 2], [1, 1], g)).toBe(false);
    expect(paretoFront([[1, 1], [2, 2], [2, 1], [0, 0], [NaN, 0]], g)).toEqual([2, 3]);
  });

  /** The definition, as paretoFront was before the scale review: every pair tested. */
  const allPairsFront = (points: readonly (readonly number[])[], goals: readonly Goal[]): number[] => {
    const ok = points.map((p) => p.length === goals.length && p.every(Number.isFinite));
    return points.flatMap((p, i) => (ok[i] && !points.some((q, j) => j !== i && ok[j] && dominates(q, p, goals)) ? [i] : []));
  };

  /** Random rows with ties, duplicates, NaN, ±∞ and rows of the wrong length. */
  const randomRows = (rng: ReturnType<typeof createRng>, n: number, m: number): number[][] => {
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      if (u < 0.1 && rows.length) rows.push([...rows[Math.floor(rng.next() * rows.length)]]);
      else if (u < 0.13) rows.push(Array.from({ length: m + 1 }, () => rng.next()));
      else
        rows.push(
          Array.from({ length: m }, () => {
            const v = rng.next();
            return v < 0.03 ? NaN : v < 0.05 ? -Infinity : v < 0.06 ? Infinity : v < 0.09 ? -0 : v < 0.5 ? Math.floor(v * 8) : v * 10 - 5;
          }),
        );
    }
    return rows;
  };

  it('gives the definition\'s front (all pairs) for 1 to 4 objectives, any goals, ties, duplicates and non-finite rows (scale review)', () => {
    const rng = createRng(16);
    for (let trial = 0; trial < 300; trial++) {
      const m = 1 + (trial % 4);
      const goals: Goal[] = Array.from({ length: m }, () => (rng.next() < 0.5 ? 'max' : 'min'));
      const rows = randomRows(rng, Math.floor(rng.next() * 60), m);
      expect(paretoFront(rows, goals)).toEqual(allPairsFront(rows, goals));
    }
  });

  it('extending a front point by point gives the front of all the points, duplicates kept', () => {
    const rng = createRng(17);
    const key = (ps: readonly (readonly number[])[]) => ps.map((p) => p.join(',')).sort();
    for (let trial = 0; trial < 200; trial++) {
      const m = 2 + (trial % 3);
      const goals: Goal[] = Array.from({ length: m }, () => (rng.next() < 0.5 ? 'max' : 'min'));
      let front: number[][] = [];
      const seen: number[][] = [];
      for (let round = 0; round < 6; round++) {
        const added = randomRows(rng, Math.floor(rng.next() * 12), m);
        front = extendFront(front, added, goals);
        seen.push(...added);
        expect(key(front)).toEqual(key(paretoFront(seen, goals).map((i) => seen[i])));
      }
    }
  });

  it('a two-objective front reads each value a bounded number of times, not once per pair (scale review: all pairs took 28 s in status at 2 500 trials)', () => {
    let reads = 0;
    const counted = (p: number[]) => new Proxy(p, { get: (t, k, r) => (typeof k === 'string' && /^\d+$/.test(k) && reads++, Reflect.get(t, k, r)) });
    // 400 points all on the front (a trade-off line): all pairs read 4 · 400² values.
    const points = Array.from({ length: 400 }, (_, i) => counted([i, 400 - i]));
    expect(paretoFront(points, ['max', 'max'])).toHaveLength(400);
    expect(reads).toBeLessThanOrEqual(4 * 2 * points.length);
  });
});

describe('hypervolume', () => {
  it('2-D staircase (hand-computed: 1 + 2 + 3)', () => {
    expect(hypervolume([[1, 3], [2, 2], [3, 1], [3, 3]], ['min', 'min'], [4, 4])).toBeCloseTo(6, 12);
    // Same front, maximised: mirror every coordinate.
    expect(hypervolume([[-1, -3], [-2, -2], [-3, -1]], ['max', 'max'], [-4, -4])).toBeCloseTo(6, 12);
    // A point that does not dominate the reference adds nothing.
    expect(hypervolume([[5, 0]], ['min', 'min'], [4, 4])).toBe(0);
  });

  it('3-D by inclusion–exclusion: 4 + 2 − 1', () => {
    expect(hypervolume([[1, 1, 1]], ['min', 'min', 'min'], [2, 2, 2])).toBeCloseTo(1, 12);
    expect(hypervolume([[0, 0, 1], [1, 1, 0]], ['min', 'min', 'min'], [2, 2, 2])).toBeCloseTo(5, 12);
  });

  it('4-D exact agrees with inclusion–exclusion and with Monte Carlo', () => {
    const pts = [[0, 1, 1, 0.5], [1, 0, 0.5, 1], [0.5, 0.5, 0, 0.5]];
    const ref = [2, 2, 2, 2];
    const vol = (p: number[]) => p.reduce((v, x, i) => v * (ref[i] - x), 1);
    const meet = (...ps: number[][]) => ps[0].map((_, i) => Math.max(...ps.map((p) => p[i])));
    const [a, b, c] = pts;
    const ie = vol(a) + vol(b) + vol(c) - vol(meet(a, b)) - vol(meet(a, c)) - vol(meet(b, c)) + vol(meet(a, b, c));
    const goals: Goal[] = ['min', 'min', 'min', 'min'];
    expect(hypervolume(pts, goals, ref)).toBeCloseTo(ie, 10);
    const mc = hypervolume(pts, goals, ref, { maxExactWork: 0, rng: createRng(1), samples: 200_000 });
    expect(Math.abs(mc - ie) / ie).toBeLessThan(0.01);
  });
});

describe('ParEGO scalarisation', () => {
  it('augmented Chebyshev (hand case)', () => {
    // w = (0.25, 0.75), f = (0.8, 0.2): max(0.2, 0.15) + 0.05·0.35 = 0.2175.
    expect(augmentedChebyshev([0.8, 0.2], [0.25, 0.75])).toBeCloseTo(0.2175, 12);
  });

  it('weights are on the simplex', () => {
    const rng = createRng(2);
    for (let i = 0; i < 20; i++) {
      const w = randomSimplexWeights(3, rng);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(w.every((v) => v > 0)).toBe(true);
    }
  });

  it('ranks a dominating point above the point it dominates, and marks missing objectives NaN', () => {
    const obs = [[3, 1], [1, 3], [2, 2], [1, 1]].map((objectives) => ({ params: {}, reward: 0, fidelity: 'rig' as const, objectives }));
    const s = scalarise([...obs, { params: {}, reward: 0, fidelity: 'rig' }], ['max', 'min'], [0.5, 0.5]);
    expect(s[0].reward).toBeGreaterThan(s[3].reward); // (3,1) dominates (1,1) when maximising the first
    expect(s[0].reward).toBeCloseTo(-0, 12);
    expect(Number.isNaN(s[4].reward)).toBe(true);
  });
});
