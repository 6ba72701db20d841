import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Enforces the dependency direction of DESIGN.md by reading every import in the tree:
 * plugins (agents/, twins/, robots/) never import each other; src/ never imports a plugin
 * except through src/compose (and src/cli, which calls compose); src/orchestrator imports only
 * src/core and src/ledger; src/core imports nothing of ours; nothing imports experiments/.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const p = join(dir, name);
    const st = statSync(join(root, p));
    if (st.isDirectory()) out.push(...files(p));
    else if (/\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Top-level area of a repo-relative path: 'agents', 'src/core', 'experiments', … */
function area(rel: string): string {
  const parts = rel.split(sep);
  return parts[0] === 'src' ? `src/${parts[1]}` : parts[0];
}

interface Edge { from: string; to: string; spec: string }
function edges(): Edge[] {
  const out: Edge[] = [];
  const importRe = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const dir of ['src', 'agents', 'twins', 'robots', 'experiments', 'tests']) {
    let list: string[] = [];
    try { list = files(dir); } catch { continue; }
    for (const f of list) {
      if (f.endsWith('.test.ts') && dir !== 'tests') continue; // a unit test may use fixtures from elsewhere
      const text = readFileSync(join(root, f), 'utf8');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3];
        if (!spec.startsWith('.')) continue;
        const target = relative(root, resolve(root, dirname(f), spec));
        out.push({ from: f, to: target, spec });
      }
    }
  }
  return out;
}

const ALLOWED: Record<string, (to: string) => boolean> = {
  'src/core': (to) => to === 'src/core',
  'src/voxel': (to) => ['src/core', 'src/voxel'].includes(to),
  'src/physics': (to) => ['src/core', 'src/voxel', 'src/physics', 'src/exec'].includes(to),
  // Statistical reconstruction (issue #19): the generative half of the twin, from images; scores with physics.
  'src/reconstruct': (to) => ['src/core', 'src/voxel', 'src/physics', 'src/reconstruct'].includes(to),
  'src/surrogate': (to) => ['src/core', 'src/surrogate', 'src/exec'].includes(to),
  'src/predict': (to) => ['src/core', 'src/physics', 'src/surrogate', 'src/predict', 'src/exec', 'src/voxel'].includes(to),
  'src/reward': (to) => ['src/core', 'src/reward'].includes(to),
  'src/ledger': (to) => ['src/core', 'src/ledger'].includes(to),
  'src/orchestrator': (to) => ['src/core', 'src/ledger', 'src/orchestrator'].includes(to),
  'src/exec': (to) => ['src/core', 'src/exec'].includes(to),
  // What operators look at (issue #18): reads the ledger, never composes or runs anything.
  'src/report': (to) => ['src/core', 'src/ledger', 'src/reward', 'src/report'].includes(to),
  'src/serve': (to) => ['src/core', 'src/ledger', 'src/report', 'src/voxel', 'src/serve'].includes(to),
  'src/config': (to) => ['src/core', 'src/config', 'src/reward'].includes(to),
  'src/compose': (to) => !to.startsWith('experiments') && !to.startsWith('tests') && to !== 'src/cli',
  'src/cli': (to) => !to.startsWith('experiments') && !to.startsWith('tests') && !['agents', 'twins', 'robots'].includes(to),
  agents: (to) => ['agents', 'src/core', 'src/surrogate', 'src/reward'].includes(to),
  twins: (to) => ['twins', 'src/core', 'src/voxel'].includes(to),
  robots: (to) => ['robots', 'src/core'].includes(to),
  experiments: () => true,
  tests: (to) => to !== 'experiments',
};

describe('architecture (DESIGN.md dependency direction)', () => {
  const all = edges();

  it('finds the imports it checks', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it('every import follows the allowed direction', () => {
    const bad = all.filter((e) => {
      const from = area(e.from);
      const to = area(e.to);
      const rule = ALLOWED[from];
      return rule ? !rule(to) : false;
    });
    expect(bad.map((e) => `${e.from} → ${e.spec}`)).toEqual([]);
  });

  it('the checker itself catches a plugin importing another plugin', () => {
    expect(ALLOWED.agents('twins')).toBe(false);
    expect(ALLOWED.robots('agents')).toBe(false);
    expect(ALLOWED['src/orchestrator']('robots')).toBe(false);
    expect(ALLOWED['src/core']('src/voxel')).toBe(false);
  });
});
