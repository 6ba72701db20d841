import { BUILT_IN_AGENTS } from '../../agents/index.js';
import type { Agent } from '../core/protocols.js';
import { WorkerPool } from '../exec/worker-pool.js';
import type { ProposeTask, ProposeTaskResult } from './propose-worker.js';
import { registries } from './registries.js';

/**
 * Whether the worker would rebuild the same agent — its own registry holds exactly
 * BUILT_IN_AGENTS, so only an agent made by one of them can be rebuilt there (library review: a custom agent registered in
 * this thread was unknown in the worker — "agentRegistry[t.agent] is not a function", a failed
 * campaign — and one registered under a built-in name silently ran the built-in there). True
 * when the registry's factory for `name` is the built-in one, and so is every agent a sequence
 * names in its steps (the sequence looks them up in the registry of the thread it runs in).
 */
function rebuiltAlike(name: string, options: Record<string, unknown>): boolean {
  const steps = name === 'sequence' && Array.isArray(options.steps) ? (options.steps as Array<{ agent?: unknown }>) : [];
  return [name, ...steps.map((s) => s?.agent)].every(
    (n) => typeof n === 'string' && Object.hasOwn(BUILT_IN_AGENTS, n) && registries.agents[n] === BUILT_IN_AGENTS[n],
  );
}

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
 * thread), that cannot snapshot/restore, or that are not made by the built-in factory of their
 * name (a caller's own agent, or one registered under a built-in name: rebuiltAlike) propose
 * inline, as before: `offThread` returns them unchanged.
 */
export function offThread(agent: Agent, spec: { name: string; options: Record<string, unknown> }): { agent: Agent; close(): Promise<void> } {
  if (agent.usesModel || !agent.snapshot || !agent.restore || !rebuiltAlike(spec.name, spec.options)) return { agent, close: async () => {} };
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
