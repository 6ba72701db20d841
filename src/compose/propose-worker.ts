import { threadId } from 'node:worker_threads';
import { agentRegistry } from '../../agents/index.js';
import type { AgentContext, Parameters } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { serveTasks } from '../exec/worker-host.js';

/**
 * The worker side of ./off-thread-agent.ts: one proposal of a registered agent, rebuilt from
 * its name, options and snapshot, with the proposal's random stream re-created from its seed.
 */
export interface ProposeTask {
  agent: string;
  options: Record<string, unknown>;
  /** The agent's snapshot() before the proposal (null: a fresh agent). */
  snapshot: unknown;
  /**
   * The agent's context but its random stream and reward model (an agent that uses the model
   * stays inline): every data field, so that one added to AgentContext reaches the worker too
   * (#21 review: `abandoned` was dropped here, so an off-thread gp-bo never kept its picks away
   * from trials rejected at the approval gate).
   */
  ctx: Omit<AgentContext, 'rng' | 'model'>;
  /** Seed of the (unused) Rng the caller passed in ctx.rng. */
  seed: number;
  k: number;
}

export interface ProposeTaskResult {
  params: Parameters[];
  /** The agent's snapshot() after the proposal: the caller restores it. */
  snapshot: unknown;
  /** The worker thread that ran it (tests check that it is not the main thread). */
  threadId: number;
}

serveTasks({
  propose: async (t: ProposeTask): Promise<ProposeTaskResult> => {
    const agent = agentRegistry[t.agent]({ ...t.options });
    if (t.snapshot !== null && t.snapshot !== undefined) agent.restore!(t.snapshot);
    const params = await agent.propose({ ...t.ctx, rng: createRng(t.seed) }, t.k);
    return { params, snapshot: agent.snapshot!(), threadId };
  },
});
