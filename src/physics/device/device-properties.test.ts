import { describe, expect, it } from 'vitest';
import { simulate } from '../index.js';
import { fibreVolume } from '../test-volumes.js';
import { factorBlockTridiagonal, solveFactored } from './block-tridiagonal.js';
import { createRng } from '../../core/rng.js';

describe('device properties through simulate()', () => {
  const gdl = fibreVolume([32, 32, 24], 25, 4, 3);

  it('PEMFC properties on a fibre volume; a PTFE coat (label 3) changes the computed saturation', async () => {
    const ctx = { thickness: 190e-6, currentDensity: 15000 };
    const r = await simulate(gdl, { properties: ['pemfcVoltage', 'pemfcLimitingCurrentWet', 'pemfcSaturation'], context: ctx });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const p = r.value.properties;
    expect(p.pemfcVoltage).toBeGreaterThan(0.3);
    expect(p.pemfcVoltage).toBeLessThan(1.0);
    expect(p.pemfcLimitingCurrentWet).toBeGreaterThan(15000);
    expect(p.pemfcSaturation).toBeGreaterThan(0);
    // Coat every fibre voxel that touches pore along z with PTFE: θ moves from 80° towards 108°.
    const [nx, ny, nz] = gdl.shape;
    const coated = Uint8Array.from(gdl.data);
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 1; z < nz - 1; z++) {
          const i = (x * ny + y) * nz + z;
          if (gdl.data[i] === 1 && (gdl.data[i - 1] === 0 || gdl.data[i + 1] === 0)) coated[i] = 3;
        }
    const r2 = await simulate({ ...gdl, data: coated, phases: { ...gdl.phases, 3: 'ptfe' } }, { properties: ['pemfcSaturation'], context: ctx });
    expect(r2.ok).toBe(true);
    if (r2.ok) expect(r2.value.properties.pemfcSaturation).not.toBeCloseTo(p.pemfcSaturation, 4);
  });

  it('DFN capacity on a volume as positive electrode: positive, and retention at 2C below 1', async () => {
    // The fibres stand in for active material (label 1), the pore for electrolyte.
    const r = await simulate(gdl, { properties: ['dfnCapacity', 'dfnCapacityRetention'], context: { cRate: 2, electrodeThickness: 60e-6 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.properties.dfnCapacity).toBeGreaterThan(0);
    expect(r.value.properties.dfnCapacityRetention).toBeGreaterThan(0.3);
    expect(r.value.properties.dfnCapacityRetention).toBeLessThan(1);
  }, 120_000);

  it('SOFC anode loss on a three-phase volume; ageing never lowers it', async () => {
    const [, ny, nz] = gdl.shape;
    const data = Uint8Array.from(gdl.data, (v, i) => {
      if (v === 0) return 0;
      const x = Math.floor(i / (ny * nz));
      const y = Math.floor(i / nz) % ny;
      return ((x >> 2) + (y >> 2)) % 2 === 0 ? 1 : 2;
    });
    const v = { ...gdl, voxelSize: 0.25, data, phases: { 0: 'pore', 1: 'ni', 2: 'ysz' } };
    const r = await simulate(v, { properties: ['sofcAnodeLoss', 'sofcAnodeLossAged'] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.properties.sofcAnodeLoss).toBeGreaterThan(0);
    expect(r.value.properties.sofcAnodeLossAged).toBeGreaterThanOrEqual(r.value.properties.sofcAnodeLoss);
  });
});

describe('block-tridiagonal solver', () => {
  it('matches the dense product: A·x = b for a random diagonally dominant system', () => {
    const rng = createRng(5);
    const n = 6;
    const m = 4;
    const blk = () => Float64Array.from({ length: m * m }, () => rng.uniform(-1, 1));
    const lower = Array.from({ length: n }, blk);
    const upper = Array.from({ length: n }, blk);
    const diag = Array.from({ length: n }, () => {
      const d = blk();
      for (let k = 0; k < m; k++) d[k * m + k] += 8;
      return d;
    });
    const copy = (a: Float64Array[]) => a.map((b) => Float64Array.from(b));
    const [L, D, U] = [copy(lower), copy(diag), copy(upper)];
    const b = Float64Array.from({ length: n * m }, () => rng.uniform(-1, 1));
    const x = Float64Array.from(b);
    solveFactored(factorBlockTridiagonal(lower, diag, upper, m), x);
    for (let i = 0; i < n; i++)
      for (let r = 0; r < m; r++) {
        let s = 0;
        for (let k = 0; k < m; k++) {
          s += D[i][r * m + k] * x[i * m + k];
          if (i > 0) s += L[i][r * m + k] * x[(i - 1) * m + k];
          if (i < n - 1) s += U[i][r * m + k] * x[(i + 1) * m + k];
        }
        expect(s).toBeCloseTo(b[i * m + r], 10);
      }
  });
});
