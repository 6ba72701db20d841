/**
 * Issue #14: how long a proposal holds the orchestrator's event loop, inline and off-thread
 * (src/compose/off-thread-agent.ts). For each agent and history size: the proposal's wall
 * time and the longest event-loop stall seen meanwhile (a 5 ms timer's worst lateness).
 * Run: nice -n 10 npm run bench -- event-loop [agent…] (prints the table; results in
 * experiments/results/event-loop.md).
 */
import { agentRegistry } from '../agents/index.js';
import { offThread } from '../src/compose/off-thread-agent.js';
import type { Agent, Observation, ParameterSpace } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';

const space: ParameterSpace = { parameters: ['a', 'b', 'c', 'd'].map((name) => ({ kind: 'continuous' as const, name, min: 0, max: 1 })) };
const reward = (p: Record<string, number | string>) => -Object.values(p).reduce<number>((s, v) => s + (Number(v) - 0.4) ** 2, 0);

function history(n: number): Observation[] {
  const rng = createRng(n);
  return Array.from({ length: n }, () => {
    const params = Object.fromEntries(space.parameters.map((p) => [p.name, rng.next()]));
    return { params, reward: reward(params), fidelity: 'rig' as const };
  });
}

/** Runs `f` while a 5 ms timer measures its worst lateness. */
async function measure(f: () => Promise<unknown>): Promise<{ wallMs: number; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  const t0 = performance.now();
  await f();
  const wallMs = performance.now() - t0;
  // One more tick so that a stall at the very end is seen.
  await new Promise((r) => setTimeout(r, 6));
  clearInterval(t);
  return { wallMs, stallMs: Math.max(worst, 0) };
}

export async function run(args: string[]): Promise<void> {
  const agents = args.length ? args : ['gp-bo', 'cmaes'];
  const rows: string[] = ['| agent | history | mode | proposal wall ms | longest event-loop stall ms |', '| --- | ---: | --- | ---: | ---: |'];
  for (const name of agents) {
    for (const n of [30, 120, 400]) {
      const h = history(n);
      for (const mode of ['inline', 'worker'] as const) {
        const base = agentRegistry[name]({});
        const moved = mode === 'worker' ? offThread(base, { name, options: {} }) : { agent: base as Agent, close: async () => {} };
        // Warm-up (worker start, JIT) outside the measurement.
        await moved.agent.propose({ space, history: h.slice(0, 5), rng: createRng(1) }, 4);
        const m = await measure(() => moved.agent.propose({ space, history: h, rng: createRng(2) }, 4));
        await moved.close();
        rows.push(`| ${name} | ${n} | ${mode} | ${m.wallMs.toFixed(0)} | ${m.stallMs.toFixed(0)} |`);
        console.error(rows[rows.length - 1]);
      }
    }
  }
  console.log(rows.join('\n'));
}
