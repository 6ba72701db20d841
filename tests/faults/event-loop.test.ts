import { threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentRegistry } from '../../agents/index.js';
import { offThread } from '../../src/compose/off-thread-agent.js';
import type { ProposeTaskResult } from '../../src/compose/propose-worker.js';
import type { Observation, ParameterSpace } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { WorkerPool } from '../../src/exec/worker-pool.js';

/**
 * Issue #14: a 14.9 s proposal on the orchestrator's event loop made a heartbeating rig look
 * offline. Proposals of agents that do not roll out against the in-thread reward model now run
 * on a worker thread; these tests check that they do, and that they are the very proposals
 * the agent makes inline (so moving them changed no campaign's results).
 */
const space: ParameterSpace = {
  parameters: [
    { kind: 'continuous', name: 'a', min: 0, max: 1 },
    { kind: 'continuous', name: 'b', min: 0, max: 10, log: false },
    { kind: 'integer', name: 'n', min: 1, max: 5 },
  ],
};
const reward = (p: Record<string, number | string>) => -((Number(p.a) - 0.3) ** 2) - ((Number(p.b) - 7) / 10) ** 2 + 0.01 * Number(p.n);

afterEach(() => vi.restoreAllMocks());

describe('proposals off the event loop (issue #14)', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['random', {}],
    ['sobol', {}],
    ['cmaes', {}],
    ['gp-bo', {}],
    ['sequence', { steps: [{ agent: 'sobol', trials: 6 }, { agent: 'gp-bo' }] }],
  ];
  it.each(cases)('%s: runs on a worker thread and proposes exactly what it proposes inline', async (name, options) => {
    const threads: number[] = [];
    const run = WorkerPool.prototype.run;
    vi.spyOn(WorkerPool.prototype, 'run').mockImplementation(async function (this: WorkerPool, ...args: Parameters<typeof run>) {
      const r = (await run.apply(this, args)) as ProposeTaskResult;
      threads.push(r.threadId);
      return r as never;
    });
    const inline = agentRegistry[name]({ ...options });
    const moved = offThread(agentRegistry[name]({ ...options }), { name, options });
    try {
      expect(moved.agent).not.toBe(inline);
      const history: Observation[] = [];
      for (let round = 1; round <= 3; round++) {
        const ctx = () => ({ space, history: [...history], rng: createRng(1000 + round) });
        const a = await inline.propose(ctx(), 4);
        const b = await moved.agent.propose(ctx(), 4);
        expect(b, `round ${round}`).toEqual(a);
        const obs = a.map((params) => ({ params, reward: reward(params), fidelity: 'simulation' as const }));
        history.push(...obs);
        await inline.learn(obs);
        await moved.agent.learn(obs);
      }
      expect(threads).toHaveLength(3);
      for (const t of threads) expect(t).not.toBe(threadId);
    } finally {
      await moved.close();
    }
  }, 120_000);

  it('gp-bo on the worker gets the whole context: trials at the rigs and trials rejected at the approval gate (#21 review)', async () => {
    // `abandoned` was dropped on the way to the worker, so an off-thread gp-bo proposed the very
    // recipe a person had just rejected; inline, it keeps its picks minDistance away from it.
    const history: Observation[] = [0.1, 0.5, 0.9].map((a, i) => ({ params: { a, b: 2 + 3 * i, n: 1 + i }, reward: reward({ a, b: 2 + 3 * i, n: 1 + i }), fidelity: 'rig' as const }));
    const options = { initialPoints: 2 };
    const inline = agentRegistry['gp-bo']({ ...options });
    const [first] = await inline.propose({ space, history, rng: createRng(5) }, 1);
    const ctx = { space, history, pending: [{ a: 0.7, b: 8, n: 3 }], abandoned: [first] };
    const a = await agentRegistry['gp-bo']({ ...options }).propose({ ...ctx, rng: createRng(5) }, 1);
    expect(a[0]).not.toEqual(first);
    const moved = offThread(agentRegistry['gp-bo']({ ...options }), { name: 'gp-bo', options });
    try {
      expect(await moved.agent.propose({ ...ctx, rng: createRng(5) }, 1)).toEqual(a);
    } finally {
      await moved.close();
    }
  }, 120_000);

  it('an agent that rolls out against the in-thread reward model (ppo) stays inline', () => {
    const ppo = agentRegistry.ppo({});
    expect(ppo.usesModel).toBe(true);
    expect(offThread(ppo, { name: 'ppo', options: {} }).agent).toBe(ppo);
  });

  it('ppo, which stays inline, gives the event loop a turn after every training iteration', async () => {
    const iterations = 5;
    const ppo = agentRegistry.ppo({ iterations, iterationsWarm: iterations, episodes: 8, finalSamples: 8, initialPoints: 2 });
    // A model that answers at once: awaiting it yields to microtasks only, never to timers or I/O.
    const model = async (ps: readonly unknown[]) => ps.map(() => ({ mean: 0, std: 1 }));
    const history: Observation[] = [0.1, 0.3, 0.5, 0.7, 0.9].map((a) => ({ params: { a, b: 5, n: 2 }, reward: a, fidelity: 'rig' as const }));
    // The first proposal loads the TensorFlow.js backend (real I/O, which yields); count the second.
    await ppo.propose({ space, history, rng: createRng(7), model }, 2);
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await ppo.propose({ space, history, rng: createRng(8), model }, 2);
    running = false;
    // Counted in event-loop turns, not milliseconds, so the machine's speed does not matter.
    expect(turns).toBeGreaterThanOrEqual(iterations);
  }, 120_000);
});
