import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The newest modification time of the built code's sources (src, agents, twins, robots). */
function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(path));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) t = Math.max(t, statSync(path).mtimeMs);
  }
  return t;
}

/**
 * Node's arguments that start the CLI in a child process (the CLI's own arguments follow):
 * the built one (bin/poreloop.js) when the last build (dist/.tsbuildinfo) is newer than every
 * source — `npm test` builds first — else the sources through tsx (tests/faults/cli-entry.ts),
 * so a run straight after an edit never tests stale code (used by tests/cli-start.test.ts and
 * tests/faults/liveness.test.ts). `imports` are --import scripts loaded after tsx (their module
 * hooks then see what tsx resolved).
 */
let builtIsFresh: boolean | undefined;
export function cliNodeArgs(imports: string[] = []): string[] {
  const built = join(ROOT, 'dist', '.tsbuildinfo');
  // Decided once per test process (walking the sources for every child cost a walk per child).
  builtIsFresh ??= existsSync(built) && ['src', 'agents', 'twins', 'robots'].every((d) => newestSource(join(ROOT, d)) <= statSync(built).mtimeMs);
  const fresh = builtIsFresh;
  const extra = imports.flatMap((i) => ['--import', i]);
  return fresh ? [...extra, join(ROOT, 'bin', 'poreloop.js')] : ['--import', 'tsx', ...extra, fileURLToPath(new URL('./faults/cli-entry.ts', import.meta.url))];
}
