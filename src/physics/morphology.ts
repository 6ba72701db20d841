import type { Shape3 } from '../core/protocols.js';
import { edt } from './edt.js';
import { AXES, AXIS_INDEX, axisFaces, labelComponents, percolatingMask, type Axis, type Components } from './labelling.js';

/**
 * Morphological descriptors of labelled voxel volumes. Lengths are in voxels here; the
 * simulators (./simulators.ts) convert to SI units with the voxel size. Each estimator and
 * its known error is written up in docs/physics.md.
 */

export function phaseMask(data: Uint8Array, phase: number): Uint8Array {
  const m = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) m[i] = data[i] === phase ? 1 : 0;
  return m;
}

export function countLabel(data: Uint8Array, phase: number): number {
  let c = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === phase) c++;
  return c;
}

/**
 * Number of voxel faces inside the box between a voxel labelled `a` and a neighbour labelled
 * `b` (or, with b = undefined, any label other than a).
 */
export function interfaceFaces(data: Uint8Array, shape: Shape3, a: number, b?: number): number {
  const [nx, ny, nz] = shape;
  // Label classes: 1 = a, 2 = the other side (b, or anything but a), 0 = neither.
  const cls = new Uint8Array(256);
  for (let l = 0; l < 256; l++) cls[l] = l === a ? 1 : b === undefined || l === b ? 2 : 0;
  let count = 0;
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++) {
      const base = (x * ny + y) * nz;
      for (let z = 0; z < nz; z++) {
        const ci = cls[data[base + z]];
        if (ci === 0) continue;
        // A face counts when its two voxels are of classes 1 and 2 (ci · cj = 2).
        if (x + 1 < nx && ci * cls[data[base + z + ny * nz]] === 2) count++;
        if (y + 1 < ny && ci * cls[data[base + z + nz]] === 2) count++;
        if (z + 1 < nz && ci * cls[data[base + z + 1]] === 2) count++;
      }
    }
  return count;
}

/**
 * Interface area per unit volume, in voxel⁻¹, by the corrected face count: the faces between
 * the two phases, times 2/3. For a convex body the faces normal to an axis number twice its
 * projected area on that plane, and the mean projected area of a convex body is a quarter of
 * its surface (Cauchy's projection formula), so the face count is 6 × S/4 = 1.5 S; the same
 * holds in expectation for any isotropic surface (Cauchy–Crofton).
 */
export function specificSurface(data: Uint8Array, shape: Shape3, a: number, b?: number): number {
  return ((2 / 3) * interfaceFaces(data, shape, a, b)) / data.length;
}

export interface LocalThickness {
  /** Local thickness (diameter, voxels) of each phase voxel; 0 outside the phase. */
  thickness: Float32Array;
  /** Diameters of the bins (voxels), descending. */
  diameters: number[];
  /** Volume fraction of the phase with each local-thickness diameter. */
  volumeFraction: number[];
}

/**
 * Local thickness (Hildebrand & Rüegsegger, J. Microsc. 185, 1997): the diameter of the
 * largest sphere that fits in the phase and contains the voxel. Computed as in PoreSpy's
 * `local_thickness` (Gostick et al., JOSS 2019): for radii r from large to small, the centres
 * where a sphere of radius r fits (distance to the other phases ≥ r) are dilated by r with a
 * second distance transform, and voxels not yet assigned get diameter 2r. Radii step by
 * max(0.5, r_max/maxBins) voxels, so the diameters are quantised to that step.
 *
 * r is a distance between voxel centres and the spheres are centred on voxel centres, so a
 * slab of w voxels gets 2⌈w/2⌉ (w for even w, w + 1 for odd w; a lone voxel 2). No rule on
 * voxel-centred spheres is exact for both parities (review 2026-12-07): 2r − 1, the sphere
 * that fits inside the voxels' cubes, gives odd widths exactly but even ones w − 1 and a
 * cylinder 16 voxels wide 14.2; exactness needs centres at half-voxel positions (a grid twice
 * as fine, eight times the memory and time).
 */
export function localThickness(mask: Uint8Array, shape: Shape3, maxBins = 40): LocalThickness {
  const dt = edt(mask, shape);
  let rmax = 0;
  for (let i = 0; i < dt.length; i++) if (dt[i] > rmax) rmax = dt[i];
  const thickness = new Float32Array(mask.length);
  const diameters: number[] = [];
  const volumeFraction: number[] = [];
  if (rmax === 0) return { thickness, diameters, volumeFraction };
  const step = Math.max(0.5, rmax / maxBins);
  const seedsInv = new Uint8Array(mask.length);
  let total = 0;
  for (let i = 0; i < mask.length; i++) total += mask[i];
  for (let r = rmax; r > 0; r -= step) {
    // Voxels farther than r from every centre are outside all spheres of radius r.
    for (let i = 0; i < mask.length; i++) seedsInv[i] = dt[i] >= r ? 0 : 1;
    const dist = edt(seedsInv, shape);
    let added = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] && thickness[i] === 0 && dist[i] < r) {
        thickness[i] = 2 * r;
        added++;
      }
    }
    diameters.push(2 * r);
    volumeFraction.push(added / mask.length);
    if (r - step <= 0 && added < total) {
      // Whatever is left is thinner than the smallest step.
      let rest = 0;
      for (let i = 0; i < mask.length; i++)
        if (mask[i] && thickness[i] === 0) {
          thickness[i] = 2 * r;
          rest++;
        }
      volumeFraction[volumeFraction.length - 1] += rest / mask.length;
    }
  }
  return { thickness, diameters, volumeFraction };
}

/** Volume-weighted mean and median (d50) of a local-thickness distribution, voxels. */
export function thicknessStats(lt: LocalThickness): { mean: number; d50: number } {
  const total = lt.volumeFraction.reduce((s, v) => s + v, 0);
  if (total === 0) return { mean: 0, d50: 0 };
  let mean = 0;
  for (let k = 0; k < lt.diameters.length; k++) mean += lt.diameters[k] * lt.volumeFraction[k];
  mean /= total;
  // d50: the diameter such that half the phase volume is in pores at least that size.
  let acc = 0;
  let d50 = lt.diameters[lt.diameters.length - 1];
  for (let k = 0; k < lt.diameters.length; k++) {
    acc += lt.volumeFraction[k];
    if (acc >= total / 2) {
      d50 = lt.diameters[k];
      break;
    }
  }
  return { mean, d50 };
}

/**
 * Two-point correlation S2(r): probability that two points r voxels apart along an axis both
 * lie in the phase, averaged over the three axes (non-periodic: only pairs inside the box).
 * S2(0) = φ and S2(r) → φ² for r beyond the correlation length.
 */
export function twoPointCorrelation(mask: Uint8Array, shape: Shape3, rmax?: number): Float64Array {
  const R = Math.min(rmax ?? Math.floor(Math.min(...shape) / 2), Math.min(...shape) - 1);
  const out = new Float64Array(R + 1);
  const [nx, ny, nz] = shape;
  const strides = [ny * nz, nz, 1];
  for (let r = 0; r <= R; r++) {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      let hits = 0;
      let pairs = 0;
      const st = strides[k] * r;
      for (let x = 0; x < nx; x++)
        for (let y = 0; y < ny; y++)
          for (let z = 0; z < nz; z++) {
            const c = k === 0 ? x : k === 1 ? y : z;
            if (c + r >= shape[k]) continue;
            const i = (x * ny + y) * nz + z;
            pairs++;
            hits += mask[i] & mask[i + st];
          }
      sum += hits / pairs;
    }
    out[r] = sum / 3;
  }
  return out;
}

/**
 * Correlation length (voxels): the first r where S2(r) − φ² falls to 1/e of its value at
 * r = 0 (φ − φ²), linearly interpolated; the largest r computed if it never does.
 */
export function correlationLength(s2: Float64Array): number {
  const phi = s2[0];
  const c0 = phi - phi * phi;
  if (c0 <= 0) return 0;
  const target = c0 / Math.E;
  for (let r = 1; r < s2.length; r++) {
    const c = s2[r] - phi * phi;
    if (c <= target) {
      const cp = s2[r - 1] - phi * phi;
      return r - 1 + (cp - target) / (cp - c);
    }
  }
  return s2.length - 1;
}

/**
 * Chord lengths along an axis: runs of consecutive phase voxels. Runs touching either face
 * of the box are truncated by the box and excluded (the usual unbiased choice).
 */
export function chordLengths(mask: Uint8Array, shape: Shape3, axis: Axis): number[] {
  const ax = AXIS_INDEX[axis];
  const strides = [shape[1] * shape[2], shape[2], 1];
  const [a, b] = [0, 1, 2].filter((k) => k !== ax);
  const len = shape[ax];
  const st = strides[ax];
  const chords: number[] = [];
  for (let ia = 0; ia < shape[a]; ia++)
    for (let ib = 0; ib < shape[b]; ib++) {
      const start = ia * strides[a] + ib * strides[b];
      let run = 0;
      let touchesStart = false;
      for (let q = 0; q < len; q++) {
        if (mask[start + q * st]) {
          if (run === 0) touchesStart = q === 0;
          run++;
        } else {
          if (run > 0 && !touchesStart) chords.push(run);
          run = 0;
        }
      }
    }
  return chords;
}

export interface AxisConnectivity {
  /** Fraction of the phase volume in clusters touching both faces of the axis. */
  percolating: number;
  /** … touching exactly one of the two faces. */
  deadEnd: number;
  /** … touching neither. */
  isolated: number;
}

/** Connectivity of a phase along each axis, from its 6-connected components. */
export function connectivity(comp: Components): Record<Axis, AxisConnectivity> {
  let total = 0;
  for (let l = 1; l <= comp.count; l++) total += comp.sizes[l];
  const out = {} as Record<Axis, AxisConnectivity>;
  for (const axis of AXES) {
    const [fa, fb] = axisFaces(axis);
    let p = 0;
    let d = 0;
    let iso = 0;
    for (let l = 1; l <= comp.count; l++) {
      const ta = (comp.touch[l] & fa) !== 0;
      const tb = (comp.touch[l] & fb) !== 0;
      if (ta && tb) p += comp.sizes[l];
      else if (ta || tb) d += comp.sizes[l];
      else iso += comp.sizes[l];
    }
    out[axis] = total > 0 ? { percolating: p / total, deadEnd: d / total, isolated: iso / total } : { percolating: 0, deadEnd: 0, isolated: 0 };
  }
  return out;
}

export interface TpbResult {
  /** Voxel edges where all three phases meet. */
  edges: number;
  /** … of which each of the three phases touching the edge belongs to a cluster percolating along `axis`. */
  activeEdges: number;
}

/**
 * Triple-phase boundary by edge counting: a lattice edge (shared by four voxels) is on the
 * TPB when the four voxels include all three labels (cf. Golbert, Adjiman & Brandon, Solid
 * State Ionics 179, 2008). Active TPB: each of the three phases at the edge is connected to
 * both faces of `axis` (6-connectivity), i.e. gas, ion and electron paths all percolate.
 */
export function triplePhaseBoundary(data: Uint8Array, shape: Shape3, labels: [number, number, number], axis: Axis): TpbResult {
  const [nx, ny, nz] = shape;
  const perc = labels.map((l) => percolatingMask(labelComponents(phaseMask(data, l), shape), axis).mask);
  const lut = new Int8Array(256).fill(-1);
  labels.forEach((l, k) => (lut[l] = k));
  const strides = [ny * nz, nz, 1];
  let edges = 0;
  let active = 0;
  // An edge along axis k sits between four voxels offset along the two other axes.
  for (let k = 0; k < 3; k++) {
    const [a, b] = [0, 1, 2].filter((j) => j !== k);
    const sa = strides[a];
    const sb = strides[b];
    const lim = [nx, ny, nz];
    lim[a]--;
    lim[b]--;
    for (let x = 0; x < lim[0]; x++)
      for (let y = 0; y < lim[1]; y++)
        for (let z = 0; z < lim[2]; z++) {
          const i = (x * ny + y) * nz + z;
          let seen = 0;
          let live = 0;
          for (let c = 0; c < 4; c++) {
            const j = i + (c & 1 ? sa : 0) + (c & 2 ? sb : 0);
            const p = lut[data[j]];
            if (p < 0) continue;
            seen |= 1 << p;
            if (perc[p][j]) live |= 1 << p;
          }
          if (seen === 7) {
            edges++;
            if (live === 7) active++;
          }
        }
  }
  return { edges, activeEdges: active };
}
