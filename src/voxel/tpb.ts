import type { Voxels } from '../core/protocols.js';

/**
 * Triple-phase-boundary length by edge counting (Golbert, Adjiman & Brandon, Ind. Eng. Chem.
 * Res. 47 (2008) 7693): a voxel edge is TPB when the four voxels sharing it hold all three
 * phases a, b, c. Returns the density in µm of TPB per µm³ of volume. The staircase of the
 * voxel grid overestimates the length of a smooth, obliquely oriented TPB line (by up to ~1.5×
 * depending on orientation); compare values at the same resolution.
 */
export function tpbDensity(v: Voxels, a: number, b: number, c: number): number {
  const [nx, ny, nz] = v.shape;
  const d = v.data;
  const sx = ny * nz;
  const sy = nz;
  let edges = 0;
  // Bit per phase: an edge is TPB when the OR over its four voxels has all three bits.
  const bit = new Uint8Array(256);
  bit[a] = 1;
  bit[b] = 2;
  bit[c] = 4;
  const triple = (p: number, q: number, r: number, s: number) => (bit[p] | bit[q] | bit[r] | bit[s]) === 7;
  // Edges along x sit between voxels (y, z), (y+1, z), (y, z+1), (y+1, z+1); likewise y, z.
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        const i = x * sx + y * sy + z;
        if (y + 1 < ny && z + 1 < nz && triple(d[i], d[i + sy], d[i + 1], d[i + sy + 1])) edges++;
        if (x + 1 < nx && z + 1 < nz && triple(d[i], d[i + sx], d[i + 1], d[i + sx + 1])) edges++;
        if (x + 1 < nx && y + 1 < ny && triple(d[i], d[i + sx], d[i + sy], d[i + sx + sy])) edges++;
      }
  const vs = v.voxelSize;
  return (edges * vs) / (nx * ny * nz * vs ** 3);
}
