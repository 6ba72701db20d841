import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { createVoxels } from '../voxel/voxels.js';
import { compareDescriptors, measureDescriptors } from './correlation.js';
import { reconstructSam } from './sam.js';

/** A 2D image of discs (phase 1) in a matrix (phase 0), 64×64, seeded. */
function discs(seed: number) {
  const rng = createRng(seed);
  const n = 64;
  const data = new Uint8Array(n * n);
  for (let k = 0; k < 14; k++) {
    const cx = rng.int(n);
    const cy = rng.int(n);
    for (let x = 0; x < n; x++)
      for (let y = 0; y < n; y++) if ((x - cx) ** 2 + (y - cy) ** 2 <= 25) data[x * n + y] = 1;
  }
  return createVoxels([n, n, 1], 1, { 0: 'pore', 1: 'solid' }, data);
}

describe('simulated-annealing reconstruction (Yeong–Torquato)', () => {
  it('keeps its incremental S2 and lineal-path counts equal to a full periodic remeasurement', () => {
    const img = discs(3);
    const target = measureDescriptors(img, [0, 1], 6);
    const r = reconstructSam({ shape: [14, 15, 16], target, rng: createRng(1), sweeps: 3 });
    // Energy recomputed from scratch on the final (periodic) volume, z from the x/y mean.
    const got = measureDescriptors(r.voxels, [0, 1], 6, true);
    let e = 0;
    for (const a of [0, 1, 2] as const)
      for (let k = 0; k < 2; k++)
        for (let lag = 1; lag <= 6; lag++) {
          const t2 = target.s2[a]?.[k][lag] ?? (target.s2[0]![k][lag] + target.s2[1]![k][lag]) / 2;
          const tl = target.lp[a]?.[k][lag] ?? (target.lp[0]![k][lag] + target.lp[1]![k][lag]) / 2;
          e += (got.s2[a]![k][lag] - t2) ** 2 + (got.lp[a]![k][lag] - tl) ** 2;
        }
    expect(r.energy).toBeCloseTo(e, 12);
  });

  it('matches the phase fraction exactly and S2 of a 2D image within a few per cent in 3D', () => {
    const img = discs(5);
    const target = measureDescriptors(img, [0, 1], 12);
    const r = reconstructSam({ shape: [26, 26, 26], target, rng: createRng(2), sweeps: 25 });
    const got = measureDescriptors(r.voxels, [0, 1], 12, true);
    expect(Math.abs(got.fractions[1] - target.fractions[1])).toBeLessThan(1 / 26 ** 3 + 1e-12);
    expect(r.energy).toBeLessThan(r.energy0 / 20);
    const err = compareDescriptors(got, { ...target, s2: [target.s2[0], target.s2[1], target.s2[0]], lp: [target.lp[0], target.lp[1], target.lp[0]] });
    for (const a of [0, 1]) expect(err.s2Relative[a]).toBeLessThan(0.05);
  });

  it('is deterministic for a seed', () => {
    const target = measureDescriptors(discs(3), [0, 1], 5);
    const a = reconstructSam({ shape: [12, 12, 12], target, rng: createRng(9), sweeps: 2 });
    const b = reconstructSam({ shape: [12, 12, 12], target, rng: createRng(9), sweeps: 2 });
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(b.voxels.data))).toBe(true);
  });
});
