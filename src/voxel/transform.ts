import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';
import { createVoxels } from './voxels.js';

/**
 * Geometry on label volumes for `poreloop volume crop|downsample` (issue #19): real scans are
 * larger than the physics wants, so they are cut to a region of interest or coarsened.
 */

/** The sub-volume starting at `origin` with `size` voxels per axis. */
export function cropVolume(v: Voxels, origin: readonly number[], size: readonly number[]): Voxels {
  const [, ny, nz] = v.shape;
  if (origin.length !== 3 || size.length !== 3) throw new BadInputError('origin and size need three integers each (x, y, z)', 'crop');
  for (let a = 0; a < 3; a++) {
    if (!Number.isInteger(origin[a]) || !Number.isInteger(size[a]) || origin[a] < 0 || size[a] < 1 || origin[a] + size[a] > v.shape[a]) {
      throw new BadInputError(`axis ${'xyz'[a]}: origin ${origin[a]} + size ${size[a]} must lie within 0…${v.shape[a]}`, 'crop');
    }
  }
  const [sx, sy, sz] = size;
  const out = new Uint8Array(sx * sy * sz);
  for (let x = 0; x < sx; x++)
    for (let y = 0; y < sy; y++) {
      const from = ((x + origin[0]) * ny + y + origin[1]) * nz + origin[2];
      out.set(v.data.subarray(from, from + sz), (x * sy + y) * sz);
    }
  return createVoxels([sx, sy, sz], v.voxelSize, v.phases, out);
}

/**
 * Coarsens by an integer factor: each f³ block becomes its most frequent label (ties to the
 * lower label), the voxel size grows f times. A trailing partial block is dropped.
 */
export function downsampleVolume(v: Voxels, factor: number): Voxels {
  if (!Number.isInteger(factor) || factor < 1) throw new BadInputError(`factor must be an integer ≥ 1, got ${factor}`, 'downsample');
  const [nx, ny, nz] = v.shape;
  const shape: Shape3 = [Math.floor(nx / factor), Math.floor(ny / factor), Math.floor(nz / factor)];
  if (shape.some((n) => n < 1)) throw new BadInputError(`factor ${factor} leaves no voxel of a ${v.shape.join('×')} volume`, 'downsample');
  const out = new Uint8Array(shape[0] * shape[1] * shape[2]);
  const votes = new Uint32Array(256);
  for (let X = 0; X < shape[0]; X++)
    for (let Y = 0; Y < shape[1]; Y++)
      for (let Z = 0; Z < shape[2]; Z++) {
        votes.fill(0);
        for (let x = X * factor; x < (X + 1) * factor; x++)
          for (let y = Y * factor; y < (Y + 1) * factor; y++) for (let z = Z * factor; z < (Z + 1) * factor; z++) votes[v.data[(x * ny + y) * nz + z]]++;
        let best = 0;
        for (let l = 1; l < 256; l++) if (votes[l] > votes[best]) best = l;
        out[(X * shape[1] + Y) * shape[2] + Z] = best;
      }
  return createVoxels(shape, v.voxelSize * factor, v.phases, out);
}
