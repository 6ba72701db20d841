import type { Shape3, Voxels } from '../core/protocols.js';
import { BadInputError } from '../core/errors.js';

/**
 * Small helpers around the Voxels type of src/core/protocols.ts. Layout: C order, x slowest,
 * z fastest — index(x, y, z) = (x·ny + y)·nz + z — the layout of a numpy (nx, ny, nz) array.
 */

/** Largest volume poreloop accepts in one piece (voxels): 1024³ = 1 GiB of labels. */
export const MAX_VOXELS = 1024 ** 3;

/**
 * Largest sample array a reader allocates: 2 GiB. MAX_VOXELS alone let a 1024³ float64 stack
 * (8 GiB, plus the copies readers make) through (issue #19 review).
 */
export const MAX_SAMPLE_BYTES = 2 * 1024 ** 3;

/** Refuses `n` samples of `bytes` bytes each when they pass MAX_SAMPLE_BYTES, before anything is allocated. */
export function checkSampleBytes(n: number, bytes: number, where: string): void {
  if (n * bytes > MAX_SAMPLE_BYTES) {
    throw new BadInputError(`${n} samples of ${bytes} byte${bytes === 1 ? '' : 's'} = ${(n * bytes / 1024 ** 3).toFixed(2)} GiB exceed the limit of ${MAX_SAMPLE_BYTES / 1024 ** 3} GiB; crop or downsample it, or store fewer bytes per sample`, where);
  }
}

export function voxelCount(shape: Shape3): number {
  return shape[0] * shape[1] * shape[2];
}

export function checkShape(shape: readonly number[], where = 'shape'): Shape3 {
  if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new BadInputError(`expected three positive integers [nx, ny, nz], got ${JSON.stringify(shape)}`, where);
  }
  const n = shape[0] * shape[1] * shape[2];
  if (n > MAX_VOXELS) {
    throw new BadInputError(`volume of ${n} voxels exceeds the limit of ${MAX_VOXELS} (1024³); crop or downsample it`, where);
  }
  return [shape[0], shape[1], shape[2]];
}

export function createVoxels(shape: Shape3, voxelSize: number, phases: Record<number, string>, data?: Uint8Array): Voxels {
  const s = checkShape(shape);
  const n = voxelCount(s);
  if (data && data.length !== n) {
    throw new BadInputError(`data has ${data.length} voxels but shape ${s.join('×')} needs ${n}`, 'voxels');
  }
  if (!(voxelSize > 0)) throw new BadInputError(`voxel size must be > 0 µm, got ${voxelSize}`, 'voxelSize');
  return { data: data ?? new Uint8Array(n), shape: s, voxelSize, phases: { ...phases } };
}

export function index3(shape: Shape3, x: number, y: number, z: number): number {
  return (x * shape[1] + y) * shape[2] + z;
}

/** Volume fraction of every label present or named. */
export function phaseFractions(v: Voxels): Record<number, number> {
  const counts = new Float64Array(256);
  const d = v.data;
  for (let i = 0; i < d.length; i++) counts[d[i]]++;
  const out: Record<number, number> = {};
  for (let l = 0; l < 256; l++) {
    if (counts[l] > 0 || v.phases[l] !== undefined) out[l] = counts[l] / d.length;
  }
  return out;
}

/** Labels that occur in the volume, ascending. */
export function labelsPresent(v: Voxels): number[] {
  const seen = new Uint8Array(256);
  const d = v.data;
  for (let i = 0; i < d.length; i++) seen[d[i]] = 1;
  const out: number[] = [];
  for (let l = 0; l < 256; l++) if (seen[l]) out.push(l);
  return out;
}
