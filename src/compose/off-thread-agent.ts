import type { Agent } from '../core/protocols.js';
import { WorkerPool } from '../exec/worker-pool.js';
import type { ProposeTask, ProposeTaskResult } from './propose-worker.js';

/**
 * Proposals off the orchestrator's event loop (issue #14: a 14.9 s proposal on the event loop
 * made a heartbeating rig look offline; its trial was abandoned and its result thrown away).
 *
 * The returned agent proposes on a worker thread: the worker rebuilds the agent from its
 * registry name, options and snapshot(), proposes with the same random stream (re-created
 * from ctx.rng's seed, so ctx.rng must be unused, as the runtime's fresh fork per round is),
 * and sends back the proposals and its new snapshot, which the agent here restores. So the
 * proposals are the same as inline (tests/faults/event-loop.test.ts checks it per agent) and
 * resume keeps working from snapshots as before. learn() stays here: for these agents it
 * only records (the work is in propose).
 *
 * Agents that roll out against ctx.model (the Predictor's reward model, a TF.js model in this
 * thread) or that cannot snapshot/restore propose inline, as before: `offThread` returns them
 * unchanged.
 */
export function offThread(agent: Agent, spec: { name: string; options: Record<string, unknown> }): { agent: Agent; close(): Promise<void> } {
  if (agent.usesModel || !agent.snapshot || !agent.restore) return { agent, close: async () => {} };
  const snapshot = agent.snapshot.bind(agent);
  const restore = agent.restore.bind(agent);
  // One worker, started at the first proposal (rounds are sequential: one proposal at a time).
  let pool: WorkerPool | undefined;
  return {
    agent: {
      name: agent.name,
      usesModel: agent.usesModel,
      pendingAware: agent.pendingAware,
      learn: (experience) => agent.learn(experience),
      snapshot,
      restore,
      async propose(ctx, k) {
        pool ??= new WorkerPool({ size: 1, workerUrl: new URL('./propose-worker.js', import.meta.url) });
        const { rng, model: _model, ...data } = ctx;
        const task: ProposeTask = { agent: spec.name, options: spec.options, snapshot: snapshot() ?? null, ctx: data, seed: rng.seed, k };
        const r = await pool.run<ProposeTaskResult>('propose', task);
        restore(r.snapshot);
        return r.params;
      },
    },
    close: async () => {
      await pool?.close();
    },
  };
}
