/**
 * A minimal closed loop for agent tests and benchmarks: propose a batch, check every point is
 * feasible (and, for pools, never proposed twice), evaluate, learn. The real loop is the
 * orchestrator; this one has no rigs, ledger or predictor.
 */
import type { Agent, Observation, Parameters, ParameterSpace, RewardModel } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { isFeasible, paramKey } from '../../src/core/space.js';

export interface LoopOptions {
  budget: number;
  batch?: number;
  seed: number;
  /** Points observed before the agent's first proposal (e.g. the random start of pool replay). */
  initial?: Observation[];
  model?: RewardModel;
  /** Stop early when this returns true (e.g. Top% reached). */
  stop?: (history: readonly Observation[]) => boolean;
  /** Whether the agent learns `initial` first (false when resuming a restored agent). */
  learnInitial?: boolean;
}

export async function runLoop(agent: Agent, space: ParameterSpace, reward: (p: Parameters) => number, o: LoopOptions): Promise<Observation[]> {
  // One Rng per round, derived from the seed and the round's size of history, as a resumable
  // orchestrator does: a resumed loop hands the agent the same stream it would have had.
  const base = createRng(o.seed);
  const history: Observation[] = [...(o.initial ?? [])];
  const proposed: Parameters[] = history.map((h) => h.params);
  const seen = new Set(proposed.map(paramKey));
  if (history.length && o.learnInitial !== false) await agent.learn(history);
  while (history.length < o.budget && !o.stop?.(history)) {
    const k = Math.min(o.batch ?? 1, o.budget - history.length);
    const rng = base.fork(`round-${history.length}`);
    const batch = await agent.propose({ space, history, proposed, rng, model: o.model }, k);
    if (batch.length === 0) break;
    const obs: Observation[] = [];
    for (const p of batch) {
      const f = isFeasible(space, p);
      if (!f.ok) throw new Error(`${agent.name} proposed an infeasible point ${JSON.stringify(p)}: ${f.violations.join('; ')}`);
      const key = paramKey(p);
      if (space.pool && seen.has(key)) throw new Error(`${agent.name} proposed pool point ${key} twice`);
      seen.add(key);
      proposed.push(p);
      obs.push({ params: p, reward: reward(p), fidelity: 'rig' });
    }
    history.push(...obs);
    await agent.learn(obs);
  }
  return history;
}

export const bestReward = (h: readonly Observation[]): number => h.reduce((m, o) => (Number.isFinite(o.reward) && o.reward > m ? o.reward : m), -Infinity);
