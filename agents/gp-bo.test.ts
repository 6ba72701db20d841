import { describe, expect, it } from 'vitest';
import { createRng } from '../src/core/rng.js';
import { paramKey } from '../src/core/space.js';
import { createGpBoAgent } from './gp-bo.js';
import { branin, hartmann6, levy } from './testing/functions.js';
import { versusRandom } from './testing/compare.js';
import { runLoop } from './testing/harness.js';

describe('GP-BO', () => {
  it.each([
    [branin.name, branin, 30],
    [hartmann6.name, hartmann6, 40],
    ['levy10', levy(10), 60],
  ] as const)('beats random search on %s', async (_name, p, budget) => {
    const r = await versusRandom(() => createGpBoAgent(), p, budget, [1, 2, 3]);
    expect(r.agent).toBeLessThan(r.random);
  });

  it('proposes distinct batch points by Kriging believer, and fantasises pending points', async () => {
    const agent = createGpBoAgent();
    const history = await runLoop(createGpBoAgent(), branin.space, branin.reward, { budget: 8, seed: 2 });
    const batch = await agent.propose({ space: branin.space, history, rng: createRng(9) }, 4);
    expect(new Set(batch.map(paramKey)).size).toBe(4);
    const next = await agent.propose({ space: branin.space, history, proposed: [...history.map((o) => o.params), ...batch], rng: createRng(9) }, 1);
    expect(batch.map(paramKey)).not.toContain(paramKey(next[0]));
  });

  it('resumes identically after snapshot/restore', async () => {
    const full = await runLoop(createGpBoAgent(), branin.space, branin.reward, { budget: 16, seed: 5 });
    const a = createGpBoAgent();
    const half = await runLoop(a, branin.space, branin.reward, { budget: 9, seed: 5 });
    const b = createGpBoAgent();
    b.restore!(JSON.parse(JSON.stringify(a.snapshot!())));
    const resumed = await runLoop(b, branin.space, branin.reward, { budget: 16, seed: 5, initial: half, learnInitial: false });
    expect(resumed.map((o) => o.params)).toEqual(full.map((o) => o.params));
  });
});

describe('argmaxEiPool', () => {
  it('returns the same point as a full scan of EI', async () => {
    const { GaussianProcess, expectedImprovement } = await import('../src/surrogate/gp.js');
    const { argmaxEiPool } = await import('./gp-bo.js');
    const rng = createRng(12);
    for (let trial = 0; trial < 5; trial++) {
      const x = Array.from({ length: 25 }, () => [rng.next(), rng.next(), rng.next()]);
      const y = x.map((r) => Math.sin(5 * r[0]) + r[1] - r[2] * r[2]);
      const gp = GaussianProcess.fit(x, y, { rng });
      const pool = Array.from({ length: 400 }, () => [rng.next(), rng.next(), rng.next()]);
      const best = Math.max(...y);
      const p = gp.predict(pool);
      const ei = p.mean.map((m, i) => expectedImprovement(m, p.variance[i], best, 0.01));
      expect(argmaxEiPool(gp, pool, best, 0.01)).toBe(ei.indexOf(Math.max(...ei)));
    }
  });
});
