/**
 * Voxel volumes as CNN input (issue #5): block-average downsampling of the phase indicator.
 * A b³ block becomes the fraction of its voxels in the phase (default pore, label 0), a
 * grey-value that keeps sub-block porosity information that nearest-neighbour subsampling
 * would alias away. Output is flat in the Voxels order (x slowest, z fastest), the layout the
 * cnn3d network reshapes to [nx, ny, nz, 1].
 */
import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';

/** Shape after downsampling to at most `target` voxels per axis (block edge = ⌈n/target⌉ for the largest axis). */
export function downsampledShape(shape: Shape3, target: number): { block: number; shape: Shape3 } {
  const block = Math.max(1, Math.ceil(Math.max(...shape) / target));
  return { block, shape: shape.map((n) => Math.floor(n / block)) as Shape3 };
}

export function downsample(voxels: Voxels, target: number, phase = 0): { data: Float32Array; shape: Shape3 } {
  const [nx, ny, nz] = voxels.shape;
  const { block: b, shape } = downsampledShape(voxels.shape, target);
  const [mx, my, mz] = shape;
  if (mx === 0 || my === 0 || mz === 0) throw new BadInputError(`volume ${nx}×${ny}×${nz} is too small for a ${target}³ grid`, 'voxels.shape');
  const out = new Float32Array(mx * my * mz);
  const inv = 1 / (b * b * b);
  for (let X = 0; X < mx; X++)
    for (let Y = 0; Y < my; Y++)
      for (let Z = 0; Z < mz; Z++) {
        let n = 0;
        for (let x = X * b; x < (X + 1) * b; x++)
          for (let y = Y * b; y < (Y + 1) * b; y++) {
            const row = (x * ny + y) * nz;
            for (let z = Z * b; z < (Z + 1) * b; z++) if (voxels.data[row + z] === phase) n++;
          }
        out[(X * my + Y) * mz + Z] = n * inv;
      }
  return { data: out, shape };
}
