import { agentRegistry } from '../../agents/index.js';
import type { Twin } from '../core/protocols.js';
import { twinRegistry } from '../../twins/index.js';

/**
 * The plugin registries (DESIGN.md): the names configs and the CLI use → the factories of twins
 * and agents. In a module of their own, without the campaign machinery of campaign.ts (MQTT,
 * the physics pool, the surrogates), so that `poreloop twin calibrate`, whose options name them,
 * shows its help without the composition root (experiments/results/cli-start.md).
 */
export const registries = {
  twins: twinRegistry as Record<string, () => Twin>,
  agents: agentRegistry,
};
