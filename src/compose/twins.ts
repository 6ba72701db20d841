import { generateTwinAsync } from '../../twins/async.js';
import { twinRegistry } from '../../twins/index.js';

/**
 * The twins as the CLI's `twin` commands see them (src/cli may not import plugins; issue 3).
 * Kept apart from campaign.ts so that listing or generating a twin loads no campaign machinery.
 * generateTwin runs volumes of 128³ and more in a worker thread (twins/async.ts).
 */
export const twins = twinRegistry;
export const generateTwin = generateTwinAsync;
