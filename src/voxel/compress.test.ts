import { describe, expect, it } from 'vitest';
import { collapseColumns } from './compress.js';

describe('collapseColumns', () => {
  it('removes evenly spaced pore voxels per column and keeps every solid voxel', () => {
    // One column: solid at z = 2 and z = 6, eight pores; remove 4 of 10 layers.
    const col = Uint8Array.from([0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
    const r = collapseColumns(col, [1, 1, 10], 6);
    // Pores of rank 1, 3, 5, 7 (z = 1, 4, 7, 9) go: gaps 2, 3, 3 become 1, 2, 1.
    expect(Array.from(r.data)).toEqual([0, 1, 0, 0, 1, 0]);
    expect(r.solidLost).toBe(0);
    const solidBefore = col.reduce((a, b) => a + (b ? 1 : 0), 0);
    expect(r.data.reduce((a, b) => a + (b ? 1 : 0), 0)).toBe(solidBefore);
  });

  it('porosity follows 1 − (1 − ε₀)·nz/nzOut, and overfull columns report lost solid', () => {
    const n = 4 * 4 * 20;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) data[i] = 2; // solid fraction 0.25
    const r = collapseColumns(data, [4, 4, 20], 10);
    const solid = r.data.reduce((a, b) => a + (b ? 1 : 0), 0);
    expect(solid).toBe(n / 4);
    expect(1 - solid / r.data.length).toBeCloseTo(1 - 0.25 * 2, 10);
    const dense = new Uint8Array(10).fill(1);
    dense[0] = 0;
    expect(collapseColumns(dense, [1, 1, 10], 5).solidLost).toBeCloseTo(4 / 9, 10);
  });
});
