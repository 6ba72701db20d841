/**
 * The CLI from the sources, for fault tests that need real processes (signals, two writers)
 * without depending on a fresh `npm run build`: `node --import tsx tests/faults/cli-entry.ts …`.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
