/**
 * A `poreloop worker` process for experiments/bench-scale-workers.ts: the CLI's own command
 * (src/cli/main.ts), started from the sources through tsx so the bench does not depend on a
 * fresh `npm run build`. Arguments are the CLI's: `worker --broker … --lab … --kinds physics`.
 */
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
