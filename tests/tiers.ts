/**
 * The test pyramid (issue #15), read by the vitest configs:
 * - fast (`npm test`): every *.test.ts but the slow tests and the long fault runs;
 * - slow (`npm run test:slow`): learning benchmarks, accuracy and agent-versus-random
 *   comparisons, long end-to-end campaigns — a whole file marked `// @module-tag slow` in its
 *   first lines, or single tests given `{ tags: ['slow'] }`;
 * - faults (`npm run test:faults`): every file in tests/faults/, at full counts
 *   (PORELOOP_FAULTS_FULL=1); a file there marked `// @module-tag faults` (a long fault run,
 *   like faults.test.ts), or a test given `{ tags: ['faults'] }`, runs in this tier only; the
 *   rest of tests/faults/ also runs in the fast tier.
 * The configs list files by reading them here, so the fast tier never imports a slow file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOTS = ['src', 'agents', 'twins', 'robots', 'tests', 'experiments'];
export const FAULTS_DIR = 'tests/faults';

/** A whole file is slow when a `@module-tag slow` comment is among its first lines (vitest's file tag). */
export const SLOW_FILE = /^(?:\/\/|\s*\*)\s*@module-tag\s+slow\b/m;
/** A long fault run: `@module-tag faults`. */
export const FAULTS_FILE = /^(?:\/\/|\s*\*)\s*@module-tag\s+faults\b/m;
/** A single test is slow when it is given the tag. */
export const SLOW_TEST = /\btags:[^\n]*['"]slow['"]/;

export function testFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.test.ts')) out.push(rel);
    }
  };
  for (const r of ROOTS) walk(r);
  return out.sort();
}

export function classify(root: string): { fast: string[]; slowFiles: string[]; withSlowTests: string[]; faults: string[] } {
  const fast: string[] = [];
  const slowFiles: string[] = [];
  const withSlowTests: string[] = [];
  const faults: string[] = [];
  for (const f of testFiles(root)) {
    const text = readFileSync(join(root, f), 'utf8');
    const head = text.slice(0, 2000);
    if (f.startsWith(`${FAULTS_DIR}/`)) faults.push(f);
    if (SLOW_FILE.test(head)) slowFiles.push(f);
    else if (!FAULTS_FILE.test(head)) fast.push(f);
    if (!SLOW_FILE.test(head) && SLOW_TEST.test(text)) withSlowTests.push(f);
  }
  return { fast, slowFiles, withSlowTests, faults };
}
