import type { Shape3 } from '../core/protocols.js';

/**
 * Connected-component labelling with 6-connectivity (face neighbours), the connectivity that
 * transport on a voxel grid uses: two voxels that only share an edge or a corner exchange no
 * flux in a finite-volume scheme, so they must not count as connected.
 *
 * Algorithm: one raster pass with union–find (path halving, union by smaller index) over the
 * three backward neighbours (skipping unions the scan already implies), then an in-place flattening pass that numbers roots 1..count in raster order
 * (Wu, Otoo & Suzuki, Pattern Anal. Appl. 12, 2009 — the classic two-pass scheme).
 * Storage: C order, x slowest, z fastest (src/core/protocols.ts).
 */

/** Bit of `touch` for each face of the box: x=0, x=nx-1, y=0, y=ny-1, z=0, z=nz-1. */
export const FACE_BITS = { x0: 1, x1: 2, y0: 4, y1: 8, z0: 16, z1: 32 } as const;
export const AXIS_INDEX = { x: 0, y: 1, z: 2 } as const;
export type Axis = keyof typeof AXIS_INDEX;
export const AXES: readonly Axis[] = ['x', 'y', 'z'];

export interface Components {
  /** 0 for voxels outside the mask, else the component number 1..count. */
  labels: Int32Array;
  count: number;
  /** Voxel count of each component (index 0 unused). */
  sizes: Float64Array;
  /** Faces of the box that each component touches (FACE_BITS), index 0 unused. */
  touch: Uint8Array;
}

export function labelComponents(mask: Uint8Array, shape: Shape3): Components {
  const [nx, ny, nz] = shape;
  const n = nx * ny * nz;
  const sx = ny * nz;
  const sy = nz;
  // parent[i] = i + 1 of the parent voxel (0 = not in the mask), so one Int32Array serves both.
  const parent = new Int32Array(n);
  const find = (i: number): number => {
    while (parent[i] - 1 !== i) {
      const p = parent[i] - 1;
      parent[i] = parent[p];
      i = p;
    }
    return i;
  };
  const union = (a: number, b: number): void => {
    let ra = find(a);
    let rb = find(b);
    if (ra === rb) return;
    if (ra < rb) [ra, rb] = [rb, ra];
    parent[ra] = rb + 1;
  };
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const base = x * sx + y * sy;
      for (let z = 0; z < nz; z++) {
        const i = base + z;
        if (!mask[i]) continue;
        // A new voxel joins the set of its first backward neighbour directly (no find), and
        // a union with a further neighbour is skipped when the two neighbours are already
        // joined through their common neighbour (the decision-tree scan of Wu et al. 2009):
        // this halves the union–find work on porous volumes.
        const l = z > 0 && mask[i - 1] !== 0;
        const u = y > 0 && mask[i - sy] !== 0;
        const b = x > 0 && mask[i - sx] !== 0;
        if (l) {
          parent[i] = parent[i - 1];
          if (u && !mask[i - 1 - sy]) union(i, i - sy);
          if (b && !mask[i - 1 - sx]) union(i, i - sx);
        } else if (u) {
          parent[i] = parent[i - sy];
          if (b && !mask[i - sy - sx]) union(i, i - sx);
        } else if (b) parent[i] = parent[i - sx];
        else parent[i] = i + 1;
      }
    }
  }
  // Second pass, in place: parent[] becomes the label array. Every parent pointer goes to a
  // smaller (or the same) index and the root of a set is its smallest voxel, so in raster
  // order the voxel a pointer leads to has already been relabelled and holds the set's label:
  // no find() per voxel, and no second n-sized array (at 500³ that is 500 MB of fresh pages,
  // whose page faults were a measured part of the setup, issue #20).
  const labels = parent;
  let count = 0;
  const sizesList: number[] = [0];
  const touchList: number[] = [0];
  for (let x = 0; x < nx; x++) {
    const fx = (x === 0 ? FACE_BITS.x0 : 0) | (x === nx - 1 ? FACE_BITS.x1 : 0);
    for (let y = 0; y < ny; y++) {
      const fy = fx | (y === 0 ? FACE_BITS.y0 : 0) | (y === ny - 1 ? FACE_BITS.y1 : 0);
      const base = x * sx + y * sy;
      for (let z = 0; z < nz; z++) {
        const i = base + z;
        const q = parent[i];
        if (q === 0) continue;
        let l: number;
        if (q - 1 === i) {
          l = ++count;
          sizesList.push(0);
          touchList.push(0);
        } else l = labels[q - 1];
        labels[i] = l;
        sizesList[l]++;
        if (fy !== 0) touchList[l] |= fy;
      }
      // The z faces: only the first and last voxel of the row.
      if (labels[base] !== 0) touchList[labels[base]] |= FACE_BITS.z0;
      if (labels[base + nz - 1] !== 0) touchList[labels[base + nz - 1]] |= FACE_BITS.z1;
    }
  }
  return { labels, count, sizes: Float64Array.from(sizesList), touch: Uint8Array.from(touchList) };
}

/** Face bits of the inlet and outlet of an axis. */
export function axisFaces(axis: Axis): [number, number] {
  return axis === 'x' ? [FACE_BITS.x0, FACE_BITS.x1] : axis === 'y' ? [FACE_BITS.y0, FACE_BITS.y1] : [FACE_BITS.z0, FACE_BITS.z1];
}

/**
 * The components that touch both the inlet and the outlet face of `axis` (the percolating, or
 * spanning, clusters): keep[label] = 1 for those, and their voxel count from the component
 * sizes (no pass over the voxels). Shared by percolatingMask and the solvers' cluster removal.
 */
export function spanningLabels(comp: Components, axis: Axis): { keep: Uint8Array; count: number } {
  const [fa, fb] = axisFaces(axis);
  const keep = new Uint8Array(comp.count + 1);
  let count = 0;
  for (let l = 1; l <= comp.count; l++)
    if (comp.touch[l] & fa && comp.touch[l] & fb) {
      keep[l] = 1;
      count += comp.sizes[l];
    }
  return { keep, count };
}

/**
 * Mask of the voxels of `mask` in components that touch both the inlet and the outlet face of
 * `axis` (the percolating, or spanning, clusters). Returns the count of such voxels.
 */
export function percolatingMask(comp: Components, axis: Axis): { mask: Uint8Array; count: number } {
  const { keep, count } = spanningLabels(comp, axis);
  const lab = comp.labels;
  const mask = new Uint8Array(lab.length);
  for (let i = 0; i < lab.length; i++) if (keep[lab[i]]) mask[i] = 1;
  return { mask, count };
}
