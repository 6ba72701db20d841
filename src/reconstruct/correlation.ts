import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';

/**
 * Descriptors that statistical reconstruction matches (Torquato, *Random Heterogeneous
 * Materials*, 2002, ch. 2): along lines parallel to one axis,
 *
 * - the two-point probability S2(r) of phase p: the chance that two voxels r apart both lie
 *   in p (S2(0) = φ, S2(r → ∞) → φ²);
 * - the lineal-path function L(r): the chance that a segment of r voxels lies wholly in p
 *   (L(1) = φ), which carries the connectedness S2 misses (Yeong & Torquato, PRE 57 (1998) 495).
 *
 * Functions of an image are measured on non-periodic lines (each lag over the N − r pairs
 * that fit); a reconstruction is periodic (sam.ts), as Yeong and Torquato's was.
 */

export type Axis = 0 | 1 | 2;
export const AXES: readonly Axis[] = [0, 1, 2];
export const AXIS_NAMES = ['x', 'y', 'z'] as const;

/** Per axis and phase: S2[r] for r = 0…rmax and L[r] for r = 1…rmax (L[0] unused = 1). */
export interface Descriptors {
  phases: number[];
  rmax: number;
  /** s2[axis][phaseIndex][r]; an axis without data (a 2D image's z) is undefined. */
  s2: Array<Float64Array[] | undefined>;
  lp: Array<Float64Array[] | undefined>;
  fractions: number[];
}

/** Visits every line along `axis`: start index and stride in C order (x slowest). */
export function forEachLine(shape: Shape3, axis: Axis, fn: (start: number, stride: number, n: number) => void): void {
  const [nx, ny, nz] = shape;
  const strides = [ny * nz, nz, 1];
  const stride = strides[axis];
  const n = shape[axis];
  for (let x = 0; x < (axis === 0 ? 1 : nx); x++)
    for (let y = 0; y < (axis === 1 ? 1 : ny); y++)
      for (let z = 0; z < (axis === 2 ? 1 : nz); z++) fn((x * ny + y) * nz + z, stride, n);
}

/** S2 and L of each phase along each axis longer than rmax; non-periodic unless asked. */
export function measureDescriptors(v: Voxels | { data: Uint8Array; shape: Shape3 }, phases: number[], rmax: number, periodic = false): Descriptors {
  const s2: Descriptors['s2'] = [];
  const lp: Descriptors['lp'] = [];
  const line = new Uint8Array(Math.max(...v.shape));
  for (const axis of AXES) {
    if (v.shape[axis] <= rmax) {
      s2.push(undefined);
      lp.push(undefined);
      continue;
    }
    const s2c = phases.map(() => new Float64Array(rmax + 1));
    const lpc = phases.map(() => new Float64Array(rmax + 1));
    const pairs = new Float64Array(rmax + 1);
    forEachLine(v.shape, axis, (start, stride, n) => {
      for (let i = 0; i < n; i++) line[i] = v.data[start + i * stride];
      for (let r = 0; r <= rmax; r++) pairs[r] += periodic ? n : n - r;
      phases.forEach((p, k) => {
        const c = s2c[k];
        for (let r = 0; r <= rmax; r++) {
          let s = 0;
          if (periodic) for (let i = 0; i < n; i++) s += +(line[i] === p && line[(i + r) % n] === p);
          else for (let i = 0; i + r < n; i++) if (line[i] === p && line[i + r] === p) s++;
          c[r] += s;
        }
        const l = lpc[k];
        if (periodic) {
          for (let i = 0; i < n; i++) {
            let len = 0;
            while (len < rmax && line[(i + len) % n] === p) len++;
            for (let r = 1; r <= len; r++) l[r]++;
          }
          return;
        }
        // Runs of p: a run of ℓ voxels holds ℓ − r + 1 segments of r voxels.
        let run = 0;
        for (let i = 0; i <= n; i++) {
          if (i < n && line[i] === p) run++;
          else if (run > 0) {
            for (let r = 1; r <= Math.min(rmax, run); r++) l[r] += run - r + 1;
            run = 0;
          }
        }
      });
    });
    // Segments of r voxels that fit on a line: n − r + 1 = pairs[r − 1] (n when periodic).
    s2.push(s2c.map((c) => c.map((x, r) => x / pairs[r])));
    lp.push(lpc.map((c) => c.map((x, r) => (r === 0 ? 1 : x / pairs[periodic ? r : r - 1]))));
  }
  const counts = new Float64Array(256);
  for (let i = 0; i < v.data.length; i++) counts[v.data[i]]++;
  return { phases, rmax, s2, lp, fractions: phases.map((p) => counts[p] / v.data.length) };
}

/**
 * Targets for a 3D reconstruction from 2D information: every axis present in the image is
 * kept; an axis the image lacks (z of a single slice) takes the mean of the others —
 * statistical isotropy in the missing direction, the assumption of any 2D → 3D method.
 */
export function completeAxes(d: Descriptors): Required<Descriptors> & { s2: Float64Array[][]; lp: Float64Array[][] } {
  const have = AXES.filter((a) => d.s2[a] !== undefined);
  if (have.length === 0) throw new BadInputError(`the image is too small for lags up to ${d.rmax}: every side must exceed rmax`, 'target');
  const mean = (arrs: Array<Float64Array[] | undefined>): Float64Array[] =>
    d.phases.map((_, k) => {
      const out = new Float64Array(d.rmax + 1);
      for (const a of have) for (let r = 0; r <= d.rmax; r++) out[r] += arrs[a]![k][r] / have.length;
      return out;
    });
  const s2m = mean(d.s2);
  const lpm = mean(d.lp);
  return { ...d, s2: AXES.map((a) => d.s2[a] ?? s2m), lp: AXES.map((a) => d.lp[a] ?? lpm) };
}

/**
 * Descriptors from 2D sections of a volume — the information a 2D → 3D method gets
 * (SliceGAN trains on every plane of the three orientations): `count` evenly spaced planes per
 * orientation (default 1: the central one); axis a's functions average the planes that contain
 * it. With every plane this is the volume's own line statistics along the axes.
 */
export function descriptorsFromSlices(v: Voxels, phases: number[], rmax: number, count = 1): Descriptors {
  const [nx, ny, nz] = v.shape;
  if (count >= Math.max(nx, ny, nz)) return measureDescriptors(v, phases, rmax);
  const per = AXES.flatMap((a) => Array.from({ length: Math.min(count, v.shape[a]) }, (_, k) => [a, Math.floor(((k + 0.5) * v.shape[a]) / Math.min(count, v.shape[a]))] as const)).map(([a, i]) => ({ a, d: measureDescriptors(cut(a, i), phases, rmax) }));
  function cut(axis: Axis, i: number): { data: Uint8Array; shape: Shape3 } {
    const shape: Shape3 = axis === 0 ? [1, ny, nz] : axis === 1 ? [nx, 1, nz] : [nx, ny, 1];
    const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
    let k = 0;
    for (let x = 0; x < shape[0]; x++)
      for (let y = 0; y < shape[1]; y++)
        for (let z = 0; z < shape[2]; z++) data[k++] = v.data[((axis === 0 ? i : x) * ny + (axis === 1 ? i : y)) * nz + (axis === 2 ? i : z)];
    return { data, shape };
  }
  const avg = (key: 's2' | 'lp', axis: Axis) => {
    const from = per.filter((p) => p.a !== axis).map((p) => p.d[key][axis]).filter((x): x is Float64Array[] => x !== undefined);
    if (from.length === 0) return undefined;
    return phases.map((_, k) => Float64Array.from({ length: rmax + 1 }, (_, r) => from.reduce((s, f) => s + f[k][r], 0) / from.length));
  };
  const fractions = phases.map((_, k) => per.reduce((s, p) => s + p.d.fractions[k], 0) / per.length);
  return { phases, rmax, s2: AXES.map((a) => avg('s2', a)), lp: AXES.map((a) => avg('lp', a)), fractions };
}

export interface DescriptorError {
  /** RMS over lags and phases of the difference, divided by the RMS of the reference: 0.05 = 5 %. */
  s2Relative: number[];
  /** The same RMS divided by the reference's φ(1 − φ), the part of S2 that carries structure (stricter). */
  s2OfVariance: number[];
  lpRelative: number[];
}

/** How far `got` is from `ref`, per axis (lags 1…rmax; S2(0) = φ is matched exactly by swaps). */
export function compareDescriptors(got: Descriptors, ref: Descriptors): DescriptorError {
  const out: DescriptorError = { s2Relative: [], s2OfVariance: [], lpRelative: [] };
  for (const a of AXES) {
    const g2 = got.s2[a];
    const r2 = ref.s2[a];
    const gl = got.lp[a];
    const rl = ref.lp[a];
    if (!g2 || !r2 || !gl || !rl) {
      out.s2Relative.push(NaN);
      out.s2OfVariance.push(NaN);
      out.lpRelative.push(NaN);
      continue;
    }
    let d2 = 0;
    let n2 = 0;
    let dl = 0;
    let nl = 0;
    let count = 0;
    let variance = 0;
    ref.phases.forEach((_, k) => {
      const phi = ref.s2[a]![k][0];
      variance += phi * (1 - phi);
      for (let r = 1; r <= ref.rmax; r++) {
        d2 += (g2[k][r] - r2[k][r]) ** 2;
        n2 += r2[k][r] ** 2;
        dl += (gl[k][r] - rl[k][r]) ** 2;
        nl += rl[k][r] ** 2;
        count++;
      }
    });
    variance /= ref.phases.length;
    out.s2Relative.push(Math.sqrt(d2 / n2));
    out.s2OfVariance.push(Math.sqrt(d2 / count) / variance);
    out.lpRelative.push(Math.sqrt(dl / nl));
  }
  return out;
}
