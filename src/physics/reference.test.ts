import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeNpy } from '../voxel/npy.js';
import { labelComponents, type Axis } from './labelling.js';
import { phaseMask } from './morphology.js';
import { tortuosity } from './transport.js';

/**
 * Issue 4, validation: τ must agree within 1% with TauFactor 2 on every reference volume of
 * shared/reference/ (label 1 = pore there), including the blocked directions (τ = ∞).
 * The folder sits beside the clone (../shared) or where PORELOOP_SHARED points.
 */
const dir = process.env.PORELOOP_SHARED
  ? `${process.env.PORELOOP_SHARED.replace(/\/$/, '')}/reference/`
  : fileURLToPath(new URL('../../../shared/reference/', import.meta.url));

interface Entry {
  file: string;
  axis: Axis;
  porosity: number;
  tau: number | null;
  tau_is_inf: boolean;
  D_eff: number;
}

describe('tortuosity factor against TauFactor 2 (shared/reference)', () => {
  it('finds the reference data', () => {
    expect(existsSync(dir + 'taufactor.jsonl'), `reference data not found at ${dir}; set PORELOOP_SHARED`).toBe(true);
  });
  const entries: Entry[] = existsSync(dir + 'taufactor.jsonl')
    ? readFileSync(dir + 'taufactor.jsonl', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Entry)
    : [];
  const files = [...new Set(entries.map((e) => e.file))];
  for (const file of files) {
    it(`${file}: every axis within 1%`, () => {
      const { data, shape } = decodeNpy(readFileSync(dir + file), file);
      const components = labelComponents(phaseMask(data, 1), shape);
      for (const e of entries.filter((x) => x.file === file)) {
        const r = tortuosity(data, shape, 1, e.axis, { components });
        expect(r.porosity).toBeCloseTo(e.porosity, 6);
        if (e.tau_is_inf) {
          expect(r.tau, `${file} ${e.axis}`).toBe(Infinity);
          expect(r.dRel).toBe(0);
        } else {
          expect(r.converged).toBe(true);
          expect(r.fluxImbalance).toBeLessThan(1e-4);
          expect(Math.abs(r.tau / (e.tau as number) - 1), `${file} ${e.axis}: τ ${r.tau} vs ${e.tau}`).toBeLessThan(0.01);
          expect(Math.abs(r.dRel / e.D_eff - 1)).toBeLessThan(0.01);
        }
      }
    });
  }
});
