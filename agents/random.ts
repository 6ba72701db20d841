/**
 * Uniform random search: the baseline every other agent must beat. Continuous spaces: uniform
 * in the encoded cube (so log-scaled parameters are log-uniform, integers and categories
 * equiprobable), repaired onto constraints. Pools: uniform draws without replacement among
 * the unused points. Stateless, so snapshot/restore are trivial.
 */
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import { dimension } from '../src/core/space.js';
import { proposeFromStream, readOptions, unusedPool } from './common.js';

export function createRandomAgent(options: Record<string, unknown> = {}): Agent {
  readOptions('random', {}, options);
  return {
    name: 'random',
    // Proposals do not depend on observations: a constant lie about pending trials would change nothing (issue #21).
    pendingAware: true,
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      const view = unusedPool(ctx);
      if (view) {
        // Partial Fisher–Yates: k distinct indices.
        const idx = view.points.map((_, i) => i);
        const n = Math.min(k, idx.length);
        for (let i = 0; i < n; i++) {
          const j = i + ctx.rng.int(idx.length - i);
          [idx[i], idx[j]] = [idx[j], idx[i]];
        }
        return idx.slice(0, n).map((i) => view.points[i]);
      }
      const d = dimension(ctx.space);
      return proposeFromStream(ctx, k, () => Array.from({ length: d }, () => ctx.rng.next()));
    },
    async learn(_experience: readonly Observation[]): Promise<void> {},
    snapshot: () => ({}),
    restore: () => {},
  };
}
