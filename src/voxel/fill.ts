import type { Rng } from '../core/rng.js';
import type { Shape3 } from '../core/protocols.js';
import { GAP_NONE, type GapField } from './raster.js';

/**
 * Placement rules of the twins (issue 3): which pore voxels a secondary phase (binder, PTFE,
 * carbon-binder domain) occupies. Both rules pick an exact number of voxels in ascending
 * order of a score, so the requested volume fraction is met to the voxel; ties in the last
 * score bucket are broken by a seeded shuffle, never by position (which would bias the
 * phase towards one corner).
 */

/**
 * Bridge rule (binder, CBD): fills `count` pore voxels in ascending order of d1 + d2, the
 * gaps to the nearest and second-nearest solid object (from rasterisation, see raster.ts).
 * Small d1 + d2 is the concave neck where two fibres cross or two grains touch — where a
 * wetting liquid (resin, binder slurry) is held by capillarity and where it remains after
 * drying/carbonisation. The iso-surfaces d1 + d2 = const are spheroid-like fillets around
 * each contact. Voxels near only one object are never chosen.
 * Returns the number filled: less than `count` when not enough neck voxels exist within the
 * field's gapMax.
 */
export function fillBridges(data: Uint8Array, gaps: GapField, label: number, count: number, rng: Rng): number {
  const { d1, d2 } = gaps;
  // A local copy: an imported binding read in a hot loop can cost a getter call per voxel
  // under some module loaders (tsx).
  const NONE = GAP_NONE;
  const hist = new Float64Array(NONE * 2);
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0 && d2[i] !== NONE) hist[d1[i] + d2[i]]++;
  }
  const cut = threshold(hist, count);
  if (cut.bucket < 0) {
    // Not enough candidates: take them all.
    let n = 0;
    for (let i = 0; i < data.length; i++) {
      if (data[i] === 0 && d2[i] !== NONE) {
        data[i] = label;
        n++;
      }
    }
    return n;
  }
  const tie: number[] = [];
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] !== 0 || d2[i] === NONE) continue;
    const k = d1[i] + d2[i];
    if (k < cut.bucket) {
      data[i] = label;
      n++;
    } else if (k === cut.bucket) tie.push(i);
  }
  return n + takeRandom(data, tie, count - n, label, rng);
}

/**
 * Coating rule (PTFE): fills `count` pore voxels in ascending order of
 * (distance to the solid surface) / w(z), where the distance is the 6-connected (city-block)
 * shell number from any solid voxel and w(z) > 0 is a relative loading per z-layer (1 =
 * uniform conformal coating; larger w = thicker coat at that height: a graded treatment).
 * Returns the number filled (less than `count` only if the pore space is exhausted).
 */
export function fillCoating(data: Uint8Array, shape: Shape3, label: number, count: number, rng: Rng, weightZ?: Float64Array): number {
  const [nx, ny, nz] = shape;
  const n = data.length;
  if (count <= 0) return 0;
  const w = weightZ ?? new Float64Array(nz).fill(1);
  let wMax = 0;
  for (let z = 0; z < nz; z++) wMax = Math.max(wMax, w[z]);
  const sy = nz;
  const sx = ny * nz;
  const shell = new Uint8Array(n);
  let found = new Int32Array(1 << 16);
  let nFound = 0;
  const push = (i: number) => {
    if (nFound === found.length) {
      const g = new Int32Array(found.length * 2);
      g.set(found);
      found = g;
    }
    found[nFound++] = i;
  };
  // Per-shell, per-z counts: how many voxels have key ≤ T is then a small sum.
  const perShell: Float64Array[] = [];
  const isSolid = (i: number) => data[i] !== 0;
  // Shell 1: pore voxels with a solid face neighbour.
  let layer = new Float64Array(nz);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const base = x * sx + y * sy;
      for (let z = 0; z < nz; z++) {
        const i = base + z;
        if (data[i] !== 0) continue;
        if (
          (z > 0 && isSolid(i - 1)) ||
          (z < nz - 1 && isSolid(i + 1)) ||
          (y > 0 && isSolid(i - sy)) ||
          (y < ny - 1 && isSolid(i + sy)) ||
          (x > 0 && isSolid(i - sx)) ||
          (x < nx - 1 && isSolid(i + sx))
        ) {
          shell[i] = 1;
          push(i);
          layer[z]++;
        }
      }
    }
  }
  perShell.push(layer);
  const keyScale = 16;
  const keyOf = (k: number, z: number) => Math.round((k / w[z]) * keyScale);
  const countUpTo = (T: number) => {
    let c = 0;
    for (let k = 1; k <= perShell.length; k++) {
      const row = perShell[k - 1];
      for (let z = 0; z < nz; z++) if (keyOf(k, z) <= T) c += row[z];
    }
    return c;
  };
  let start = 0;
  let next = 0;
  // Defined once (not per voxel): marks an unvisited pore voxel as shell `next`.
  const visit = (j: number) => {
    if (data[j] === 0 && shell[j] === 0) {
      shell[j] = next;
      push(j);
      layer[j % nz]++;
    }
  };
  // Grow shells until every voxel that could rank among the first `count` has been found:
  // undiscovered voxels have shell ≥ K+1, hence key ≥ (K+1)/wMax.
  for (let k = 1; k < 254; k++) {
    if (countUpTo(Math.floor(((k + 1) / wMax) * keyScale) - 1) >= count) break;
    const end = nFound;
    if (end === start) break;
    next = k + 1;
    layer = new Float64Array(nz);
    for (let f = start; f < end; f++) {
      const i = found[f];
      const z = i % nz;
      const y = ((i - z) / sy) % ny;
      const x = (i - z - y * sy) / sx;
      if (z > 0) visit(i - 1);
      if (z < nz - 1) visit(i + 1);
      if (y > 0) visit(i - sy);
      if (y < ny - 1) visit(i + sy);
      if (x > 0) visit(i - sx);
      if (x < nx - 1) visit(i + sx);
    }
    perShell.push(layer);
    start = end;
  }
  let maxKey = 0;
  for (let f = 0; f < nFound; f++) {
    const i = found[f];
    maxKey = Math.max(maxKey, keyOf(shell[i], i % nz));
  }
  const hist = new Float64Array(maxKey + 1);
  for (let f = 0; f < nFound; f++) {
    const i = found[f];
    hist[keyOf(shell[i], i % nz)]++;
  }
  const cut = threshold(hist, count);
  const tie: number[] = [];
  let filled = 0;
  for (let f = 0; f < nFound; f++) {
    const i = found[f];
    const key = keyOf(shell[i], i % nz);
    if (cut.bucket < 0 || key < cut.bucket) {
      data[i] = label;
      filled++;
    } else if (key === cut.bucket) tie.push(i);
  }
  return cut.bucket < 0 ? filled : filled + takeRandom(data, tie, count - filled, label, rng);
}

/** Smallest bucket b with Σ_{k≤b} hist[k] ≥ count (bucket −1: fewer than `count` in all). */
function threshold(hist: Float64Array, count: number): { bucket: number } {
  let acc = 0;
  for (let k = 0; k < hist.length; k++) {
    acc += hist[k];
    if (acc >= count) return { bucket: k };
  }
  return { bucket: -1 };
}

/** Labels `want` voxels of `pool`, chosen uniformly at random (partial Fisher–Yates). */
function takeRandom(data: Uint8Array, pool: number[], want: number, label: number, rng: Rng): number {
  const m = Math.min(want, pool.length);
  for (let j = 0; j < m; j++) {
    const k = j + rng.int(pool.length - j);
    const t = pool[k];
    pool[k] = pool[j];
    pool[j] = t;
    data[t] = label;
  }
  return Math.max(0, m);
}
