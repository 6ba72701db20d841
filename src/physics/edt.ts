import type { Shape3 } from '../core/protocols.js';

/**
 * Exact Euclidean distance transform by separable lower envelopes of parabolas
 * (Felzenszwalb & Huttenlocher, "Distance transforms of sampled functions", Theory of
 * Computing 8, 2012). O(N) per axis: three 1D passes over the squared distances.
 *
 * `edt(mask)` gives, for every voxel with mask = 1, the distance (in voxels, centre to
 * centre) to the nearest voxel with mask = 0; 0 where mask = 0. Outside the box counts as
 * mask = 1 (no background beyond the edges) unless `edgesAreBackground` is set, in which case
 * a layer of background surrounds the box, one voxel beyond its faces.
 */

const INF = Number.POSITIVE_INFINITY;

/** 1D squared distance transform of f along one line into d (scratch v, z given). */
function dt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === INF) continue;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -INF;
      z[1] = INF;
      continue;
    }
    // z[0] = −∞ stops the loop at k = 0 (Felzenszwalb & Huttenlocher, Algorithm 1).
    let p = v[k];
    let s = (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
    while (s <= z[k]) {
      k--;
      p = v[k];
      s = (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  if (k < 0) {
    for (let q = 0; q < n; q++) d[q] = INF;
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (z[j + 1] < q) j++;
    const dq = q - v[j];
    d[q] = dq * dq + f[v[j]];
  }
}

/** Squared EDT in place over a Float64Array holding 0 (background) or INF, C order. */
function squaredEdtInPlace(g: Float64Array, shape: Shape3, pad: boolean): void {
  const [nx, ny, nz] = shape;
  const strides = [ny * nz, nz, 1];
  const nmax = Math.max(nx, ny, nz) + 2;
  const f = new Float64Array(nmax);
  const d = new Float64Array(nmax);
  const v = new Int32Array(nmax);
  const z = new Float64Array(nmax + 1);
  for (let axis = 2; axis >= 0; axis--) {
    const len = shape[axis];
    const st = strides[axis];
    const o = pad ? 1 : 0;
    // The two other axes enumerate the lines along `axis`.
    const [a, b] = [0, 1, 2].filter((k) => k !== axis);
    for (let ia = 0; ia < shape[a]; ia++) {
      for (let ib = 0; ib < shape[b]; ib++) {
        const start = ia * strides[a] + ib * strides[b];
        if (pad) {
          f[0] = 0;
          f[len + 1] = 0;
        }
        for (let q = 0; q < len; q++) f[q + o] = g[start + q * st];
        dt1d(f, len + 2 * o, d, v, z);
        for (let q = 0; q < len; q++) g[start + q * st] = d[q + o];
      }
    }
  }
}

export interface EdtOptions {
  /** Treat the outside of the box as background (distance to the box faces counts). */
  edgesAreBackground?: boolean;
}

/** Euclidean distance (voxels) from each mask voxel to the nearest non-mask voxel. */
export function edt(mask: Uint8Array, shape: Shape3, options: EdtOptions = {}): Float32Array {
  const g = new Float64Array(mask.length);
  for (let i = 0; i < mask.length; i++) g[i] = mask[i] ? INF : 0;
  squaredEdtInPlace(g, shape, options.edgesAreBackground ?? false);
  const out = new Float32Array(mask.length);
  for (let i = 0; i < g.length; i++) out[i] = Math.sqrt(g[i]);
  return out;
}
