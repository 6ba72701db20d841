/**
 * Cheap transport descriptors of one realised volume (issue #5): inputs for the surrogate that
 * explain why *this* realisation of a twin has its own τ and k, not just what its manufacturing
 * parameters make likely. At 32³–48³ voxels the stochastic fibre layout moves τ_z by several
 * per cent between seeds of the same parameters (experiments/results/surrogate.md), which a
 * parameters-only model cannot learn; these features measure the layout directly. All are
 * single passes or one breadth-first search over the pore space: milliseconds at 48³, against
 * ~0.1 s for the multigrid τ solve and seconds for the LBM permeability they help to predict.
 *
 * Per axis a ∈ {x, y, z}:
 * - `sliceHarmonic_a`: harmonic mean of the slice porosities normal to a — the conductance
 *   of slices in series (a 1D resistor model; a thin, dense slice throttles transport across
 *   the whole layer, which the plain porosity misses).
 * - `sliceMin_a`: the porosity of the densest slice (the bottleneck itself).
 * - `geodesic_a`: geometric tortuosity, the mean shortest 6-connected path through the pore
 *   space from the inlet face to each reachable pore voxel of the outlet face, divided by the
 *   straight distance (L − 1). Geometric tortuosity is the standard cheap proxy of the
 *   diffusive one (Ghanbarian et al., SSSAJ 77 (2013) 1461, §2). Reported as its reciprocal
 *   (straightness, 1/τ_geo), so a volume with no path gives 0 instead of ∞.
 * - `reach_a`: share of the outlet face's pore voxels that the inlet reaches (0 = blocked).
 */
import type { Voxels } from '../core/protocols.js';

export const AXES = ['x', 'y', 'z'] as const;
export type Axis = (typeof AXES)[number];

/** Names in the order `transportDescriptors` returns them (all three axes). */
export const TRANSPORT_DESCRIPTORS: readonly string[] = AXES.flatMap((a) => [`sliceHarmonic_${a}`, `sliceMin_${a}`, `geodesic_${a}`, `reach_${a}`]);

/** Slice porosities normal to `axis` (index = position along the axis). */
function slicePorosity(mask: Uint8Array, shape: readonly [number, number, number], axis: number): Float64Array {
  const [nx, ny, nz] = shape;
  const out = new Float64Array(shape[axis]);
  let v = 0;
  for (let i = 0; i < nx; i++)
    for (let j = 0; j < ny; j++)
      for (let k = 0; k < nz; k++, v++) if (mask[v]) out[axis === 0 ? i : axis === 1 ? j : k]++;
  const area = (nx * ny * nz) / shape[axis];
  for (let q = 0; q < out.length; q++) out[q] /= area;
  return out;
}

/**
 * Breadth-first search over the 6-connected pore voxels from every pore voxel of the face
 * at position 0 along `axis`; returns [mean distance to the reached outlet-face voxels / (L − 1),
 * share of outlet-face pore voxels reached]. Distance is counted in voxel steps.
 */
function geodesic(mask: Uint8Array, shape: readonly [number, number, number], axis: number): [number, number] {
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const strides = [ny * nz, nz, 1];
  const len = shape[axis];
  const dist = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  const coord = (v: number, ax: number) => Math.floor(v / strides[ax]) % shape[ax];
  for (let v = 0; v < n; v++) {
    if (mask[v] && coord(v, axis) === 0) {
      dist[v] = 0;
      queue[tail++] = v;
    }
  }
  while (head < tail) {
    const v = queue[head++];
    const d = dist[v] + 1;
    for (let ax = 0; ax < 3; ax++) {
      const c = coord(v, ax);
      const s = strides[ax];
      if (c > 0 && mask[v - s] && dist[v - s] < 0) {
        dist[v - s] = d;
        queue[tail++] = v - s;
      }
      if (c < shape[ax] - 1 && mask[v + s] && dist[v + s] < 0) {
        dist[v + s] = d;
        queue[tail++] = v + s;
      }
    }
  }
  let sum = 0;
  let reached = 0;
  let outlet = 0;
  for (let v = 0; v < n; v++) {
    if (!mask[v] || coord(v, axis) !== len - 1) continue;
    outlet++;
    if (dist[v] >= 0) {
      reached++;
      sum += dist[v];
    }
  }
  if (reached === 0) return [Infinity, 0];
  return [sum / reached / (len - 1), reached / outlet];
}

/**
 * The descriptors above for the voxels of `phase` (default 0, the pore space of the twins),
 * as a name → value record in the order of TRANSPORT_DESCRIPTORS.
 */
export function transportDescriptors(voxels: Voxels, phase = 0): Record<string, number> {
  const { data, shape } = voxels;
  if (shape.some((s) => s < 2)) throw new RangeError(`transport descriptors need at least 2 voxels per axis, got ${shape.join('×')}`);
  const mask = new Uint8Array(data.length);
  for (let v = 0; v < data.length; v++) mask[v] = data[v] === phase ? 1 : 0;
  const out: Record<string, number> = {};
  AXES.forEach((a, axis) => {
    const slices = slicePorosity(mask, shape, axis);
    let inv = 0;
    let min = Infinity;
    for (const s of slices) {
      inv += s > 0 ? 1 / s : Infinity;
      min = Math.min(min, s);
    }
    out[`sliceHarmonic_${a}`] = Number.isFinite(inv) ? slices.length / inv : 0;
    out[`sliceMin_${a}`] = min;
    const [tau, reach] = geodesic(mask, shape, axis);
    out[`geodesic_${a}`] = 1 / tau;
    out[`reach_${a}`] = reach;
  });
  return out;
}
