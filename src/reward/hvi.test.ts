import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { hvMax, hypervolumeImprovement } from './hvi.js';
import { hypervolume } from './pareto.js';

/** Exact hypervolume by inclusion–exclusion over every subset (maximisation): the brute force. */
function bruteForce(points: number[][], ref: number[]): number {
  let total = 0;
  for (let mask = 1; mask < 1 << points.length; mask++) {
    const chosen = points.filter((_, i) => mask & (1 << i));
    const meet = ref.map((_, k) => Math.min(...chosen.map((p) => p[k])));
    const vol = meet.reduce((v, x, k) => v * Math.max(0, x - ref[k]), 1);
    total += (chosen.length % 2 === 1 ? 1 : -1) * vol;
  }
  return total;
}

describe('hypervolume (maximisation sweep/HSO used by the acquisition)', () => {
  it('2-D exact staircase', () => {
    // Points (1,3), (2,2), (3,1) above (0,0): 3 + 2 + 1 = 6 (dominated (1,1) adds nothing).
    expect(hvMax([[1, 3], [2, 2], [3, 1], [1, 1]], [0, 0])).toBeCloseTo(6, 12);
  });

  it('3-D agrees with inclusion–exclusion brute force on random fronts', () => {
    const rng = createRng(7);
    for (let t = 0; t < 20; t++) {
      const pts = Array.from({ length: 2 + rng.int(6) }, () => [rng.next(), rng.next(), rng.next()]);
      const ref = [0, 0, 0];
      const exact = bruteForce(pts, ref);
      expect(hvMax(pts, ref)).toBeCloseTo(exact, 10);
      expect(hypervolume(pts, ['max', 'max', 'max'], ref)).toBeCloseTo(exact, 10);
    }
  });

  it('improvement = HV(front ∪ {y}) − HV(front), 2-D and 3-D', () => {
    const rng = createRng(8);
    for (const m of [2, 3]) {
      for (let t = 0; t < 20; t++) {
        const front = Array.from({ length: 1 + rng.int(6) }, () => Array.from({ length: m }, () => rng.next()));
        const y = Array.from({ length: m }, () => rng.uniform(-0.2, 1.2));
        const ref = new Array(m).fill(0);
        const goals = new Array(m).fill('max' as const);
        const want = hypervolume([...front, y], goals, ref) - hypervolume(front, goals, ref);
        expect(hypervolumeImprovement(front, y, ref)).toBeCloseTo(want, 10);
      }
    }
    // A dominated point or one below the reference improves nothing.
    expect(hypervolumeImprovement([[2, 2]], [1, 1], [0, 0])).toBe(0);
    expect(hypervolumeImprovement([], [1, -1], [0, 0])).toBe(0);
  });
});
