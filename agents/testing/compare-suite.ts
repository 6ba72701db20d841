import { expect, it } from 'vitest';
import { versusRandom } from './compare.js';
import type { Comparison } from './comparisons.js';

/**
 * The slow tier's agent-versus-random tests (issue #15): for each asserted case (maxRatio not
 * null), the agent's median
 * final optimality gap over the case's seeds must be at most `maxRatio` × random search's on
 * the same seeds. Each case's seeds and margin were checked on other blocks of seeds
 * (experiments/agents-vs-random.ts; numbers in experiments/results/agents-vs-random.md), so a
 * pass means the agent is better, not that these seeds happen to favour it.
 */
export function compareWithRandom(cases: readonly Comparison[]): void {
  const asserted = cases.flatMap((c) => (c.maxRatio === null ? [] : [[c.name, c, c.maxRatio] as const]));
  it.each(asserted)('%s: median gap ≤ margin × random over its seeds', async (_name, c, maxRatio) => {
    const r = await versusRandom(c.make, c.problem, c.budget, c.seeds);
    expect(r.agent, `median gap ${r.agent} vs random ${r.random} (ratio ${(r.agent / r.random).toFixed(2)}, allowed ${maxRatio})`).toBeLessThanOrEqual(maxRatio * r.random);
  });
}
