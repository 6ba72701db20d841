/** Shared by the agent tests: final optimality gaps of an agent and of random on the same seeds. */
import type { Agent } from '../../src/core/protocols.js';
import type { TestProblem } from './functions.js';
import { bestReward, runLoop } from './harness.js';
import { createRandomAgent } from '../random.js';

export async function gaps(make: () => Agent, p: TestProblem, budget: number, seeds: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  for (const seed of seeds) out.push(p.optimum - bestReward(await runLoop(make(), p.space, p.reward, { budget, seed })));
  return out;
}

export const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

export const mean = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** Median gap of the agent and of uniform random search over the same seeds. */
export async function versusRandom(make: () => Agent, p: TestProblem, budget: number, seeds: readonly number[]): Promise<{ agent: number; random: number }> {
  return { agent: median(await gaps(make, p, budget, seeds)), random: median(await gaps(() => createRandomAgent(), p, budget, seeds)) };
}
