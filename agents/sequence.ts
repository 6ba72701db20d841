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

const STEP_KEYS = ['agent', 'trials', 'options'];

/**
 * A step's agent built from its options, its errors naming the step: `agent.sobol.scramble`
 * becomes `agent.sequence.steps[0].options.scramble` (review 2026-12-07: the message named
 * agent.sobol, a key the config does not have).
 */
function createStep(factory: Factory, step: SequenceStep, at: string): Agent {
  try {
    return factory({ ...(step.options ?? {}) });
  } catch (e) {
    if (!(e instanceof BadInputError) || e.path === undefined) throw e;
    const own = `agent.${step.agent}`;
    if (e.path !== own && !e.path.startsWith(`${own}.`)) throw e;
    const bare = e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
    throw new BadInputError(bare, `${at}.options${e.path.slice(own.length)}`, { cause: e });
  }
}

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
    // A misspelt key (`option: { kappa: 3 }`) was ignored and the step ran with defaults (review 2026-12-07).
    for (const key of Object.keys(step)) {
      if (!STEP_KEYS.includes(key)) throw new BadInputError(`unknown key '${key}' of a step; allowed: ${STEP_KEYS.join(', ')}`, at);
    }
    if (step.options !== undefined && (typeof step.options !== 'object' || step.options === null || Array.isArray(step.options))) {
      throw new BadInputError(`'options' must be a mapping of the ${step.agent} agent's options (got ${JSON.stringify(step.options)})`, at);
    }
    if (step.agent === 'sequence') throw new BadInputError('a sequence cannot contain a sequence', at);
    if (!lookup(step.agent)) throw new BadInputError(`unknown agent '${step.agent}'`, at);
    const last = i === steps.length - 1;
    if (!last && !(Number.isInteger(step.trials) && step.trials! > 0)) throw new BadInputError("every step but the last needs 'trials': a positive integer", at);
    return step;
  });
  const agents = parsed.map((s, i) => createStep(lookup(s.agent)!, s, `agent.sequence.steps[${i}]`));
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
