/**
 * `npm run bench -- <suite> [args…]`: runs experiments/bench-<suite>.ts, whose exported
 * `run(args)` writes its tables to experiments/results/<suite>.md (+ .json).
 */
import { existsSync, readdirSync } from 'node:fs';

const [suite, ...args] = process.argv.slice(2);
const here = new URL('.', import.meta.url);
const suites = readdirSync(here).filter((f) => /^bench-[a-z0-9-]+\.ts$/.test(f)).map((f) => f.slice(6, -3)).sort();
if (!suite || !suites.includes(suite)) {
  process.stderr.write(`usage: npm run bench -- <suite> [args]\nsuites: ${suites.join(', ') || '(none)'}\n`);
  process.exit(2);
}
const file = new URL(`bench-${suite}.ts`, here);
if (!existsSync(file)) process.exit(2);
const mod = (await import(file.href)) as { run(args: string[]): Promise<void> };
await mod.run(args);
