import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { classify, FAULTS_DIR, FAULTS_FILE, testFiles } from './tiers.js';

/** The test pyramid of tests/tiers.ts (issue #15) leaves no test file out and puts none in the wrong tier. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('test tiers', () => {
  const t = classify(root);
  const all = testFiles(root);

  it('finds the test files', () => {
    expect(all.length).toBeGreaterThan(50);
    expect(t.fast).toContain('tests/tiers.test.ts');
  });

  it('every test file runs in some tier', () => {
    const covered = new Set([...t.fast, ...t.slowFiles, ...t.faults]);
    expect(all.filter((f) => !covered.has(f))).toEqual([]);
  });

  it('no whole-file slow test is in the fast tier, and faults-only files live in tests/faults', () => {
    expect(t.fast.filter((f) => t.slowFiles.includes(f))).toEqual([]);
    const faultsOnly = all.filter((f) => FAULTS_FILE.test(readFileSync(join(root, f), 'utf8').slice(0, 2000)));
    expect(faultsOnly.length).toBeGreaterThan(0);
    for (const f of faultsOnly) {
      expect(f.startsWith(`${FAULTS_DIR}/`), f).toBe(true);
      expect(t.fast).not.toContain(f);
    }
  });

  it('the slow tier has the learning benchmarks', () => {
    expect(t.slowFiles).toEqual(expect.arrayContaining(['agents/compare.slow.test.ts', 'agents/compare-ppo.slow.test.ts']));
    expect(t.withSlowTests).toEqual(expect.arrayContaining(['src/surrogate/ensemble.test.ts', 'src/physics/reference.test.ts']));
  });
});
