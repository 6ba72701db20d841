import { describe, expect, it } from 'vitest';
import { tpbDensity } from './tpb.js';
import { createVoxels } from './voxels.js';

describe('tpbDensity', () => {
  it('counts one straight TPB line where three phases meet (analytic length)', () => {
    const [nx, ny, nz] = [6, 6, 5];
    const v = createVoxels([nx, ny, nz], 0.5, { 0: 'pore', 1: 'ni', 2: 'ysz' });
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++)
        for (let z = 0; z < nz; z++) v.data[(x * ny + y) * nz + z] = x < 3 ? (y < 3 ? 1 : 2) : 0;
    // The line x = 3, y = 3 along z: nz edges of 0.5 µm in a volume of nx·ny·nz·0.125 µm³.
    expect(tpbDensity(v, 0, 1, 2)).toBeCloseTo((nz * 0.5) / (nx * ny * nz * 0.125), 12);
    v.data.fill(1);
    expect(tpbDensity(v, 0, 1, 2)).toBe(0);
  });
});
