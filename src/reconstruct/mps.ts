import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';
import type { Rng } from '../core/rng.js';
import { createVoxels } from '../voxel/voxels.js';

/**
 * Multiple-point statistics by direct sampling (Mariethoz, Renard & Straubhaar, Water Resour.
 * Res. 46 (2010) W11536): visit the nodes of the grid on a random path; at each, take the
 * `neighbours` closest nodes already simulated (the data event: lags and labels), scan the
 * training image from a random position, and copy the label of the first training node whose
 * own neighbourhood at the same lags differs in at most a fraction `threshold` of them. If the
 * scan reaches `scanFraction` of the training image first, the best node seen is copied.
 *
 * No pattern database and no multigrid: early on, the nearest simulated nodes are far apart,
 * so the data event spans large distances and carries the large-scale structure; later it is
 * compact and carries the small scale (Mariethoz 2010, §2.3 — the data event's own geometry
 * plays the role of a multigrid). The search radius bounds how far a data event reaches.
 *
 * Dimensions: a 3D training image gives 3D realisations; a 2D image (one side 1) gives 2D
 * realisations in the same plane. 2D → 3D needs a method that combines orthogonal sections
 * (SAM in sam.ts, SliceGAN): refused here rather than faked.
 *
 * Scan: only training nodes whose whole search box lies inside the image are scanned, so
 * every lag is compared (no edge effect, no bounds check in the inner loop). Labels are
 * categorical; distance = count of mismatching labels, all neighbours weighted alike.
 */

export interface MpsOptions {
  /** Segmented training image: 3D volume or 2D image (one side 1). */
  training: Voxels;
  /** Realisation shape (2D training image: the same side must be 1). */
  shape: Shape3;
  rng: Rng;
  /** Conditioning nodes per data event (default 24). */
  neighbours?: number;
  /** Largest accepted fraction of mismatching neighbours (default 0.05). */
  threshold?: number;
  /** Largest fraction of the training image scanned per node (default 0.1). */
  scanFraction?: number;
  /** Search radius in voxels (default 10), cut to a quarter of each training-image side. */
  radius?: number;
  voxelSize?: number;
  phaseNames?: Record<number, string>;
  onProgress?: (fraction: number) => void;
}

export interface MpsResult {
  voxels: Voxels;
  wallMs: number;
  /** Mean training nodes scanned per simulated node. */
  meanScanned: number;
  /** Share of nodes whose copied pattern met the threshold (the rest took the best seen). */
  acceptedShare: number;
  /** Mean mismatch fraction of the copied patterns. */
  meanDistance: number;
}

const UNKNOWN = 255;

export function reconstructMps(o: MpsOptions): MpsResult {
  const t0 = performance.now();
  const ti = o.training;
  const [tx, ty, tz] = ti.shape;
  const [nx, ny, nz] = o.shape;
  const n = o.neighbours ?? 24;
  const threshold = o.threshold ?? 0.05;
  const scanFraction = o.scanFraction ?? 0.1;
  const radius = o.radius ?? 10;
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new BadInputError(`neighbours must be an integer in 1 … 200, got ${n}`, 'neighbours');
  if (!(threshold >= 0 && threshold < 1)) throw new BadInputError(`threshold must be in [0, 1), got ${threshold}`, 'threshold');
  if (!(scanFraction > 0 && scanFraction <= 1)) throw new BadInputError(`scanFraction must be in (0, 1], got ${scanFraction}`, 'scanFraction');
  if (!Number.isInteger(radius) || radius < 1) throw new BadInputError(`radius must be an integer ≥ 1, got ${radius}`, 'radius');
  if (o.shape.some((s) => !Number.isInteger(s) || s < 1)) throw new BadInputError(`shape must be three positive integers, got ${o.shape.join('×')}`, 'shape');
  for (let a = 0; a < 3; a++) {
    if (ti.shape[a] === 1 && o.shape[a] !== 1) {
      throw new BadInputError(
        `the training image is 2D (side ${'xyz'[a]} is 1), so realisations are 2D: give size 1 along ${'xyz'[a]}; for a 3D volume use a 3D training image, or reconstruct sam (2D → 3D)`,
        'shape',
      );
    }
  }
  for (let i = 0; i < ti.data.length; i++) {
    if (ti.data[i] === UNKNOWN) throw new BadInputError(`label ${UNKNOWN} is reserved for unsimulated nodes; relabel the training image`, 'training');
  }
  // Search box per axis: the radius, at most a quarter of the training image's side, so that
  // at least half of each side is scanned; 0 along a flat axis.
  const R = [tx, ty, tz].map((t) => Math.min(radius, Math.floor((t - 1) / 4)));
  const sides = [nx, ny, nz];
  if (R.every((r, a) => r === 0 || sides[a] === 1)) throw new BadInputError(`training image ${ti.shape.join('×')} is too small for a neighbourhood (each side ≥ 5)`, 'training');

  // Lags within the radius, nearest first (ties broken by a fixed order: deterministic).
  const lags: Array<[number, number, number, number]> = [];
  for (let dx = -R[0]; dx <= R[0]; dx++)
    for (let dy = -R[1]; dy <= R[1]; dy++)
      for (let dz = -R[2]; dz <= R[2]; dz++) {
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 > 0 && d2 <= radius * radius) lags.push([dx, dy, dz, d2]);
      }
  lags.sort((a, b) => a[3] - b[3]);
  const L = lags.length;
  const lx = Int16Array.from(lags, (l) => l[0]);
  const ly = Int16Array.from(lags, (l) => l[1]);
  const lz = Int16Array.from(lags, (l) => l[2]);
  const simDelta = Int32Array.from(lags, (l) => (l[0] * ny + l[1]) * nz + l[2]);
  const tiDelta = Int32Array.from(lags, (l) => (l[0] * ty + l[1]) * tz + l[2]);

  // Inner training nodes: every lag inside the image.
  const ix0 = R[0], iy0 = R[1], iz0 = R[2];
  const inx = tx - 2 * R[0], iny = ty - 2 * R[1], inz = tz - 2 * R[2];
  const inner = inx * iny * inz;
  const maxScan = Math.max(1, Math.floor(scanFraction * inner));
  const T = ti.data;
  const order = new Uint32Array(inner);
  {
    let i = 0;
    for (let x = 0; x < inx; x++) for (let y = 0; y < iny; y++) for (let z = 0; z < inz; z++) order[i++] = ((x + ix0) * ty + y + iy0) * tz + z + iz0;
  }

  const N = nx * ny * nz;
  const sim = new Uint8Array(N).fill(UNKNOWN);
  const path = new Uint32Array(N);
  for (let i = 0; i < N; i++) path[i] = i;
  const rng = o.rng;
  shuffle(path, rng);
  shuffle(order, rng);

  const evDelta = new Int32Array(n);
  const evValue = new Uint8Array(n);
  let scanned = 0;
  let accepted = 0;
  let distanceSum = 0;
  const report = Math.max(1, Math.floor(N / 20));
  for (let p = 0; p < N; p++) {
    const node = path[p];
    const x = Math.floor(node / (ny * nz));
    const y = Math.floor(node / nz) % ny;
    const z = node % nz;
    // Data event: the n nearest simulated nodes within the radius.
    let k = 0;
    for (let m = 0; m < L && k < n; m++) {
      const X = x + lx[m], Y = y + ly[m], Z = z + lz[m];
      if (X < 0 || X >= nx || Y < 0 || Y >= ny || Z < 0 || Z >= nz) continue;
      const v = sim[node + simDelta[m]];
      if (v === UNKNOWN) continue;
      evDelta[k] = tiDelta[m];
      evValue[k] = v;
      k++;
    }
    // Scan the inner nodes in the order of a fixed random permutation, from a random place in
    // it: in storage order the first match after a random start is not a uniform draw among
    // the matches (matches come in runs, and a match after a long gap is picked more often).
    let at = rng.int(inner);
    const allowed = Math.floor(threshold * k);
    let best = -1;
    let bestMis = k + 1;
    let j = 0;
    for (; j < maxScan; j++) {
      const base = order[at];
      if (++at === inner) at = 0;
      let mis = 0;
      for (let q = 0; q < k && mis < bestMis; q++) if (T[base + evDelta[q]] !== evValue[q]) mis++;
      if (mis < bestMis) {
        bestMis = mis;
        best = base;
        if (mis <= allowed) break;
      }
    }
    scanned += Math.min(j + 1, maxScan);
    if (bestMis <= allowed) accepted++;
    distanceSum += k > 0 ? bestMis / k : 0;
    sim[node] = T[best];
    if (o.onProgress && p % report === 0) o.onProgress(p / N);
  }
  const names = o.phaseNames ?? ti.phases;
  return {
    voxels: createVoxels([nx, ny, nz], o.voxelSize ?? ti.voxelSize, { ...names }, sim),
    wallMs: performance.now() - t0,
    meanScanned: scanned / N,
    acceptedShare: accepted / N,
    meanDistance: distanceSum / N,
  };
}

/** Fisher–Yates, in place. */
function shuffle(a: Uint32Array, rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
