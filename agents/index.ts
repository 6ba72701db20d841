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

export const agentRegistry: Record<string, AgentFactory> = {
  random: createRandomAgent,
  sobol: createSobolAgent,
  cmaes: createCmaesAgent,
  'gp-bo': createGpBoAgent,
  mobo: createMoboAgent,
  ppo: createPpoAgent,
  sequence: (options) => createSequenceAgent(options, (name) => agentRegistry[name]),
};
