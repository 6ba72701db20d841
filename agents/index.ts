/**
 * The agent registry (DESIGN.md style rule 9): names used in campaign configs → factories.
 * See docs/agents.md for each agent, its options and the recommended default.
 */
import type { Agent } from '../src/core/protocols.js';
import { createCmaesAgent } from './cmaes.js';
import { createGpBoAgent } from './gp-bo.js';
import { createMoboAgent } from './mobo.js';
import { createPpoAgent } from './ppo.js';
import { createRandomAgent } from './random.js';
import { createSequenceAgent } from './sequence.js';
import { createSobolAgent } from './sobol.js';

export type AgentFactory = (options: Record<string, unknown>) => Agent;

/** The built-in agents; a sequence looks its steps up in the (mutable) registry of its thread. */
export const BUILT_IN_AGENTS: Readonly<Record<string, AgentFactory>> = Object.freeze({
  random: createRandomAgent,
  sobol: createSobolAgent,
  cmaes: createCmaesAgent,
  'gp-bo': createGpBoAgent,
  mobo: createMoboAgent,
  ppo: createPpoAgent,
  sequence: (options) => createSequenceAgent(options, (name) => agentRegistry[name]),
});

/**
 * The registry: the built-ins, to which a caller may add or replace entries (`registries.agents`
 * is this object). Whether an entry is still the built-in is checked against the frozen map
 * above, not a copy taken when some module loaded — a registry changed before that module
 * loaded gave a wrong copy (review 2026-12-07).
 */
export const agentRegistry: Record<string, AgentFactory> = { ...BUILT_IN_AGENTS };
