import { existsSync, readFileSync } from 'node:fs';

/**
 * poreloop's own version, from its package.json, found from this file in the sources
 * (src/core) or the build (dist/src/core) — never the host project's (library review:
 * yargs' default `--version` read the package.json above the node_modules yargs was installed
 * in, so `poreloop --version` in a lab's project printed the lab's version).
 */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const p = new URL(rel, import.meta.url);
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'poreloop') return pkg.version;
    }
  }
  return 'unknown';
}
