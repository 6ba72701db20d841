import { describe, expect, it } from 'vitest';
import type { Voxels } from '../core/protocols.js';
import { Analysis } from './analysis.js';
import { PROPERTIES } from './properties.js';

/**
 * PropertyDef.context is what the loader checks predict.context against (review 2026-12-07: a
 * misspelt key ran with the default, silently). A key a property reads but does not declare
 * would be refused at load, so the declarations must cover every key `compute` reads.
 */

/** Three labels (pore 0, 1, 2) in random-ish voxels that percolate along every axis. */
function threePhase(): Voxels {
  const shape: [number, number, number] = [10, 10, 10];
  const data = new Uint8Array(1000);
  for (let i = 0; i < 1000; i++) data[i] = (i * 7919 + (i >> 3)) % 3;
  return { data, shape, voxelSize: 1, phases: { 0: 'pore', 1: 'a', 2: 'b' } };
}

describe('PropertyDef.context', () => {
  it('declares every context key the property reads', () => {
    const undeclared: string[] = [];
    for (const [name, def] of Object.entries(PROPERTIES)) {
      const read = new Set<string>();
      const values: Record<string, number> = { sigma_1: 10, sigma_2: 1 };
      const context = new Proxy(values, {
        get: (t, k) => {
          if (typeof k === 'string') read.add(k);
          return t[k as string];
        },
      });
      try {
        def.compute(new Analysis(threePhase(), 0, context));
      } catch {
        // A model that refuses this volume has read what it reads up to there.
      }
      const declared = new Set(def.context ?? []);
      for (const k of read) if (!declared.has(/^sigma_\d+$/.test(k) ? 'sigma_<label>' : k)) undeclared.push(`${name}: ${k}`);
    }
    expect(undeclared).toEqual([]);
  }, 60_000);
});
