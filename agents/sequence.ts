/**
 * A named sequence of agents, e.g. Sobol' for a space-filling start, then a model-based agent:
 *   { name: 'sequence', steps: [{ agent: 'sobol', trials: 8 }, { agent: 'gp-bo' }] }
 * Step i proposes until it has proposed `trials` points (the last step has no limit); a batch
 * that crosses a boundary is split. Every step learns every observation (a later CMA-ES or PPO
 * starts from all the data), and snapshot/restore carry the count and each step's state.
 */
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';

export interface SequenceStep {
  agent: string;
  trials?: number;
  options?: Record<string, unknown>;
}

type Factory = (options: Record<string, unknown>) => Agent;

export function createSequenceAgent(options: Record<string, unknown>, lookup: (name: string) => Factory | undefined): Agent {
  for (const key of Object.keys(options)) {
    if (!['name', 'batchSize', 'steps'].includes(key)) throw new BadInputError(`unknown option '${key}'; allowed: steps`, 'agent.sequence');
  }
  const steps = options.steps;
  if (!Array.isArray(steps) || steps.length === 0) {
    throw new BadInputError("needs 'steps': a non-empty list of { agent, trials?, options? }", 'agent.sequence.steps');
  }
  const parsed: SequenceStep[] = steps.map((s, i) => {
    const at = `agent.sequence.steps[${i}]`;
    if (typeof s !== 'object' || s === null || typeof (s as SequenceStep).agent !== 'string') throw new BadInputError("each step needs 'agent': a name", at);
    const step = s as SequenceStep;
    if (step.agent === 'sequence') throw new BadInputError('a sequence cannot contain a sequence', at);
    if (!lookup(step.agent)) throw new BadInputError(`unknown agent '${step.agent}'`, at);
    const last = i === steps.length - 1;
    if (!last && !(Number.isInteger(step.trials) && step.trials! > 0)) throw new BadInputError("every step but the last needs 'trials': a positive integer", at);
    return step;
  });
  const agents = parsed.map((s) => lookup(s.agent)!({ ...(s.options ?? {}) }));
  let proposed = 0;

  const stepAt = (count: number): { index: number; left: number } => {
    let start = 0;
    for (let i = 0; i < parsed.length; i++) {
      const t = parsed[i].trials;
      if (i === parsed.length - 1 || t === undefined || count < start + t) return { index: i, left: i === parsed.length - 1 ? Infinity : start + t! - count };
      start += t;
    }
    return { index: parsed.length - 1, left: Infinity };
  };

  return {
    name: 'sequence',
    usesModel: agents.some((a) => a.usesModel),
    // ctx.pending reaches every member: the sequence handles it when each member does.
    pendingAware: agents.every((a) => a.pendingAware),
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      const out: Parameters[] = [];
      while (out.length < k) {
        const { index, left } = stepAt(proposed);
        const want = Math.min(k - out.length, left);
        const got = await agents[index].propose({ ...ctx, proposed: [...(ctx.proposed ?? []), ...out] }, want);
        proposed += got.length;
        out.push(...got);
        if (got.length < want) break; // pool exhausted
      }
      return out;
    },
    async learn(experience: readonly Observation[]): Promise<void> {
      for (const a of agents) await a.learn(experience);
    },
    snapshot: () => ({ proposed, steps: agents.map((a) => (a.snapshot ? a.snapshot() : null)) }),
    restore: (s: unknown) => {
      const t = s as { proposed: number; steps: unknown[] };
      proposed = t.proposed;
      agents.forEach((a, i) => a.restore?.(t.steps[i]));
    },
  };
}
