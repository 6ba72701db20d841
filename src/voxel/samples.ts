import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';

/**
 * Volumes as files hold them before they become phase labels (issue #19): any integer or
 * floating-point sample type, C order (x slowest, z fastest) like `Voxels`. A segmented volume
 * becomes labels with `toLabels`; a grey-scale one goes through `volume segment` first.
 */
export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

export interface SampleVolume {
  values: Samples;
  shape: Shape3;
  /** Voxel edge in µm, when the file states one. */
  voxelSize?: number;
  phases?: Record<number, string>;
  /** Things the reader noticed and the user should know (no voxel size, anisotropic voxels …). */
  warnings: string[];
}

/** Smallest and largest sample, NaN counted separately. */
export function sampleRange(values: Samples): { min: number; max: number; nonFinite: number; integral: boolean } {
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  let integral = true;
  const floats = values instanceof Float32Array || values instanceof Float64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (floats) {
      if (!Number.isFinite(v)) {
        nonFinite++;
        continue;
      }
      if (integral && v !== Math.round(v)) integral = false;
    }
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max, nonFinite, integral };
}

/**
 * Phase labels from samples: every value must be an integer 0–255. A 16-bit label stack or
 * an int64 `.npy` of labels passes; a grey-scale image does not, and the message says so.
 */
export function toLabels(values: Samples, where: string): Uint8Array {
  if (values instanceof Uint8Array) return values;
  const out = new Uint8Array(values.length);
  const check = labelCheck();
  labelsInto(values, out, 0, check);
  assertLabels(check, where);
  return out;
}

/**
 * The label rule and its message, shared by `toLabels` and the chunked reader
 * (./read-chunked.ts `readLabels`) so that they cannot drift (diff review 2026-12-07, item 7:
 * the reader had its own copy of both). Samples go through `labelsInto` — all at once or chunk
 * by chunk — and `assertLabels` throws when any was not a label.
 */
export interface LabelCheck {
  /** Smallest and largest finite sample seen. */
  min: number;
  max: number;
  nonFinite: number;
  integral: boolean;
  /** Some sample was not an integer 0–255. */
  bad: boolean;
}

export function labelCheck(): LabelCheck {
  return { min: Infinity, max: -Infinity, nonFinite: 0, integral: true, bad: false };
}

/**
 * Writes values[i] to out[at + i] where each is a label, and records what `assertLabels` says
 * otherwise: a tight loop on locals (343 M samples in a few seconds), the stats merged after.
 */
export function labelsInto(values: ArrayLike<number>, out: Uint8Array, at: number, check: LabelCheck): void {
  let min = check.min;
  let max = check.max;
  let bad = false;
  const len = values.length;
  for (let i = 0; i < len; i++) {
    const v = values[i];
    if (v >= 0 && v <= 255 && (v | 0) === v) {
      out[at + i] = v;
      if (v < min) min = v;
      if (v > max) max = v;
    } else bad = true;
  }
  if (bad) {
    // The rare path: the values again, for what the message says about a grey-scale image.
    check.bad = true;
    for (let i = 0; i < len; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) check.nonFinite++;
      else {
        if (v !== Math.round(v)) check.integral = false;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  check.min = min;
  check.max = max;
}

/** Throws the BadInputError of samples that are not phase labels (the first reason: non-finite, fractional, range). */
export function assertLabels(check: LabelCheck, where: string): void {
  if (!check.bad) return;
  const what = check.nonFinite > 0 ? `${check.nonFinite} non-finite values` : !check.integral ? 'fractional values' : `values ${check.min}…${check.max}`;
  throw new BadInputError(`holds ${what}, not phase labels 0–255: a grey-scale image must be segmented first (poreloop volume segment)`, where);
}

/** Reorders an x-fastest (Fortran, VTK, TIFF page) array into C order (x slowest). */
export function fromXFastest<T extends Samples>(src: T, [nx, ny, nz]: Shape3): T {
  const out = new (src.constructor as new (n: number) => T)(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[(x * ny + y) * nz + z] = src[i++];
  return out;
}

export function toXFastest<T extends Samples>(src: T, [nx, ny, nz]: Shape3): T {
  const out = new (src.constructor as new (n: number) => T)(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[i++] = src[(x * ny + y) * nz + z];
  return out;
}
