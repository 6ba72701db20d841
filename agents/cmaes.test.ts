import { describe, expect, it } from 'vitest';
import { createCmaesAgent, symmetricEigen } from './cmaes.js';
import { hartmann6 } from './testing/functions.js';
import { bestReward, runLoop } from './testing/harness.js';

describe('CMA-ES', () => {
  it('decomposes a symmetric matrix (hand case: eigenvalues 1 and 3 of [[2,1],[1,2]])', () => {
    const { values, vectors } = symmetricEigen([
      [2, 1],
      [1, 2],
    ]);
    expect([...values].sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    // C v = λ v for each column.
    for (let j = 0; j < 2; j++) {
      const v = [vectors[0][j], vectors[1][j]];
      expect(2 * v[0] + v[1]).toBeCloseTo(values[j] * v[0], 12);
    }
  });

  it('converges linearly on a shifted sphere', async () => {
    const space = { parameters: [0, 1, 2, 3, 4].map((i) => ({ name: `x${i}`, kind: 'continuous' as const, min: -1, max: 1 })) };
    const sphere = (p: Record<string, number | string>): number => -Object.values(p).reduce<number>((s, v) => s + ((v as number) - 0.3) ** 2, 0);
    const h = await runLoop(createCmaesAgent(), space, sphere, { budget: 400, seed: 1 });
    expect(bestReward(h)).toBeGreaterThan(-1e-3);
  });

  it('resumes identically after snapshot/restore mid-generation', async () => {
    const full = await runLoop(createCmaesAgent(), hartmann6.space, hartmann6.reward, { budget: 30, seed: 4, batch: 3 });
    const a = createCmaesAgent();
    const half = await runLoop(a, hartmann6.space, hartmann6.reward, { budget: 15, seed: 4, batch: 3 });
    const b = createCmaesAgent();
    b.restore!(JSON.parse(JSON.stringify(a.snapshot!())));
    const resumed = await runLoop(b, hartmann6.space, hartmann6.reward, { budget: 30, seed: 4, batch: 3, initial: half, learnInitial: false });
    expect(resumed.map((o) => o.params)).toEqual(full.map((o) => o.params));
  });

  // Comparisons with random search: the slow tier, agents/compare.slow.test.ts (issue #15).
});
