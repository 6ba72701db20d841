import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';
import { sampleRange, type Samples } from './samples.js';

/**
 * Segmentation of grey-scale stacks (issue #19, `poreloop volume segment`): optional
 * denoising, then global thresholds by Otsu's method, two or more classes. Classes are
 * numbered by intensity, darkest = 0: in X-ray CT of electrodes and GDLs the pore is darkest,
 * so label 0 is pore, poreloop's convention.
 */

export type Denoise = 'none' | 'median' | 'nlm';

export interface SegmentOptions {
  /** Number of phases (2 = Otsu, ≥ 3 = multi-level Otsu); default 2. */
  classes?: number;
  denoise?: Denoise;
  /** Histogram bins (default 256). */
  bins?: number;
  /** Non-local means: filter strength in grey values (default 0.4 × the estimated noise σ, Buades et al. 2011). */
  nlmH?: number;
}

export interface Segmentation {
  labels: Uint8Array;
  /** Grey values separating the classes, ascending (classes − 1 of them). */
  thresholds: number[];
  fractions: number[];
  /** Noise standard deviation estimated from the input (before denoising). */
  noiseSigma: number;
}

export function segment(values: Samples | Float32Array, shape: Shape3, o: SegmentOptions = {}): Segmentation {
  const classes = o.classes ?? 2;
  if (!Number.isInteger(classes) || classes < 2 || classes > 8) throw new BadInputError(`classes must be an integer 2…8, got ${classes}`, '--classes');
  const denoise = o.denoise ?? 'none';
  if (!['none', 'median', 'nlm'].includes(denoise)) throw new BadInputError(`denoise must be none, median or nlm, got ${String(denoise)}`, '--denoise');
  // NaN compares false with every threshold, so it became class 0 — pore (issue #19 review).
  // A float stack's NaN/±∞ (masked or failed reconstruction) has no phase to give: refused.
  let nonFinite = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      if (first < 0) first = i;
      nonFinite++;
    }
  }
  if (nonFinite > 0) {
    const [, ny, nz] = shape;
    const at = [Math.floor(first / (ny * nz)), Math.floor(first / nz) % ny, first % nz];
    throw new BadInputError(`${nonFinite} of ${values.length} samples are not finite (NaN or ±∞; the first at x,y,z = ${at.join(',')}, value ${values[first]}); segmentation needs a grey value everywhere — crop them away or replace them first`, 'segment');
  }
  const noiseSigma = estimateNoise(values, shape);
  const img = denoise === 'median' ? median3(values, shape) : denoise === 'nlm' ? nonLocalMeans(values, shape, { sigma: noiseSigma, h: o.nlmH ?? 0.4 * noiseSigma }) : Float32Array.from(values);
  const thresholds = multiOtsu(img, classes, o.bins ?? 256);
  const labels = new Uint8Array(img.length);
  const counts = new Float64Array(classes);
  for (let i = 0; i < img.length; i++) {
    let c = 0;
    while (c < thresholds.length && img[i] > thresholds[c]) c++;
    labels[i] = c;
    counts[c]++;
  }
  return { labels, thresholds, fractions: Array.from(counts, (c) => c / img.length), noiseSigma };
}

/**
 * Multi-level Otsu (Otsu, IEEE Trans. SMC 9 (1979) 62; Liao, Chen & Chung, J. Inf. Sci. Eng.
 * 17 (2001) 713): thresholds maximising the between-class variance, found exactly over the
 * histogram by dynamic programming — maximise Σ_k S_k² / W_k over contiguous bin ranges,
 * O(classes · bins²). Returns grey values: the upper edge of each class's last bin.
 */
export function multiOtsu(values: ArrayLike<number>, classes: number, bins = 256): number[] {
  const { min, max } = sampleRange(values as Samples);
  if (!(max > min)) throw new BadInputError(`the image has a single grey value (${min}): nothing to threshold`, 'segment');
  const w = (max - min) / bins;
  const hist = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    hist[Math.min(bins - 1, Math.floor((v - min) / w))]++;
  }
  // Prefix sums of counts and of bin-centre × count.
  const P = new Float64Array(bins + 1);
  const S = new Float64Array(bins + 1);
  for (let b = 0; b < bins; b++) {
    P[b + 1] = P[b] + hist[b];
    S[b + 1] = S[b] + hist[b] * (min + (b + 0.5) * w);
  }
  const cost = (i: number, j: number) => (P[j] > P[i] ? (S[j] - S[i]) ** 2 / (P[j] - P[i]) : 0);
  // best[c][j]: best score of c classes over bins 0…j−1; from[c][j]: where the last class starts.
  const best = Array.from({ length: classes + 1 }, () => new Float64Array(bins + 1).fill(-Infinity));
  const from = Array.from({ length: classes + 1 }, () => new Int32Array(bins + 1));
  best[0][0] = 0;
  for (let c = 1; c <= classes; c++)
    for (let j = c; j <= bins; j++)
      for (let i = c - 1; i < j; i++) {
        const s = best[c - 1][i] + cost(i, j);
        if (s > best[c][j]) {
          best[c][j] = s;
          from[c][j] = i;
        }
      }
  const cuts: number[] = [];
  for (let c = classes, j = bins; c > 1; c--) {
    j = from[c][j];
    cuts.unshift(j);
  }
  return cuts.map((b) => min + b * w);
}

/** 3×3×3 median (edges: the voxels that exist). */
export function median3(values: ArrayLike<number>, [nx, ny, nz]: Shape3): Float32Array {
  const out = new Float32Array(nx * ny * nz);
  const win = new Float64Array(27);
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        let n = 0;
        for (let i = Math.max(0, x - 1); i <= Math.min(nx - 1, x + 1); i++)
          for (let j = Math.max(0, y - 1); j <= Math.min(ny - 1, y + 1); j++)
            for (let k = Math.max(0, z - 1); k <= Math.min(nz - 1, z + 1); k++) win[n++] = values[(i * ny + j) * nz + k];
        const w = win.subarray(0, n).sort();
        out[(x * ny + y) * nz + z] = n & 1 ? w[n >> 1] : 0.5 * (w[n / 2 - 1] + w[n / 2]);
      }
  return out;
}

/**
 * Noise σ from neighbour differences along z: for white noise on a piecewise-constant image
 * most differences are noise, and the median absolute difference is robust to the edges
 * (MAD / 0.6745 of a difference of two samples, divided by √2).
 */
export function estimateNoise(values: ArrayLike<number>, [nx, ny, nz]: Shape3): number {
  const d: number[] = [];
  const step = Math.max(1, Math.floor((nx * ny * nz) / 200_000));
  for (let i = 0; i + 1 < nx * ny * nz; i += step) if ((i + 1) % nz !== 0) d.push(Math.abs(values[i + 1] - values[i]));
  if (d.length === 0) return 0;
  d.sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)] / 0.6745 / Math.SQRT2;
}

/**
 * Non-local means (Buades, Coll & Morel, CVPR 2005): each voxel becomes the weighted mean of
 * the voxels in a search window whose surrounding patches look alike,
 * w = exp(−max(d² − 2σ², 0) / h²) with d² the mean squared patch difference (the σ-corrected
 * form of Buades et al., IPOL 2011). Computed per offset with a separable box sum over the
 * squared-difference image (Darbon et al., ISBI 2008), so the cost is O(V · search³), not
 * O(V · search³ · patch³).
 */
export function nonLocalMeans(values: ArrayLike<number>, shape: Shape3, o: { sigma: number; h: number; patch?: number; search?: number }): Float32Array {
  const [nx, ny, nz] = shape;
  const V = nx * ny * nz;
  const p = o.patch ?? 1;
  const s = o.search ?? 2;
  const h2 = Math.max(o.h, 1e-12) ** 2;
  const sigma2 = o.sigma ** 2;
  const src = Float32Array.from(values);
  const sum = new Float64Array(V);
  const wsum = new Float64Array(V);
  const diff = new Float32Array(V);
  const tmp = new Float32Array(V);
  const patchN = (2 * p + 1) ** 3;
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let dx = -s; dx <= s; dx++)
    for (let dy = -s; dy <= s; dy++)
      for (let dz = -s; dz <= s; dz++) {
        for (let x = 0; x < nx; x++)
          for (let y = 0; y < ny; y++)
            for (let z = 0; z < nz; z++) {
              const i = (x * ny + y) * nz + z;
              const j = (clamp(x + dx, nx) * ny + clamp(y + dy, ny)) * nz + clamp(z + dz, nz);
              diff[i] = (src[i] - src[j]) ** 2;
            }
        boxSum(diff, tmp, shape, p);
        for (let x = 0; x < nx; x++)
          for (let y = 0; y < ny; y++)
            for (let z = 0; z < nz; z++) {
              const i = (x * ny + y) * nz + z;
              const j = (clamp(x + dx, nx) * ny + clamp(y + dy, ny)) * nz + clamp(z + dz, nz);
              const d2 = diff[i] / patchN;
              const w = Math.exp(-Math.max(d2 - 2 * sigma2, 0) / h2);
              sum[i] += w * src[j];
              wsum[i] += w;
            }
      }
  const out = new Float32Array(V);
  for (let i = 0; i < V; i++) out[i] = sum[i] / wsum[i];
  return out;
}

/** In-place separable box sum of radius r (edges clamped), using `tmp` as scratch. */
function boxSum(a: Float32Array, tmp: Float32Array, [nx, ny, nz]: Shape3, r: number): void {
  const strides = [ny * nz, nz, 1];
  const dims = [nx, ny, nz];
  for (let axis = 0; axis < 3; axis++) {
    const st = strides[axis];
    const n = dims[axis];
    tmp.set(a);
    for (let i = 0; i < a.length; i++) {
      const c = Math.floor(i / st) % n;
      let acc = 0;
      for (let k = -r; k <= r; k++) {
        const cc = c + k < 0 ? 0 : c + k >= n ? n - 1 : c + k;
        acc += tmp[i + (cc - c) * st];
      }
      a[i] = acc;
    }
  }
}
