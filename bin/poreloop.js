#!/usr/bin/env node
// Entry point of `npx poreloop`: runs the compiled CLI (built by `npm ci` through the
// `prepare` script, or `npm run build`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err?.stack ?? String(err)); process.exitCode = 1; },
);
