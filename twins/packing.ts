import type { Shape3 } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { rasteriseSphere, type GapField, type Sphere } from '../src/voxel/raster.js';
import { lognormal } from './params.js';

/**
 * Grain packing shared by the grain twins (grain-electrode, sofc-anode; issue 3).
 *
 * Rule: random sequential addition (RSA) with controlled overlap. Spheres with log-normal
 * diameters are proposed at uniform random positions and accepted when no accepted sphere is
 * closer than (1 − overlap)·(rᵢ + rⱼ): overlap = 0 gives hard spheres (RSA jams near a solid
 * fraction of 0.38 for equal spheres), overlap → 1 the fully penetrable (Boolean) model.
 * Each grain's size is drawn first and kept while positions are tried, so accepted sizes
 * follow the requested distribution exactly. Accepted spheres are rasterised at once (radius × `grow`, see sofc-anode's sintering) until
 * the solid reaches `targetVoxels`. Centres range over the domain widened by one radius in
 * every direction, so the volume is a window cut from a statistically homogeneous packing
 * with no depleted layer at its faces.
 */

export interface Population {
  /** Mean diameter in voxels. */
  meanD: number;
  cv: number;
  /** Target share of the solid volume (shares sum to 1). */
  share: number;
  label: number;
}

export interface Grain extends Sphere {
  pop: number;
}

export interface PackOptions {
  populations: Population[];
  targetVoxels: number;
  overlap: number;
  /** Radius factor used when rasterising (1: as packed). */
  grow?: number;
  /**
   * z semi-axis / in-plane radius of z-aligned spheroids (default 1: spheres). All grains share
   * it, so z scaled by 1/aspect turns them into spheres and the overlap test stays exact.
   */
  aspect?: number;
  /** Give up after this many proposals rejected in a row. */
  maxFailures?: number;
}

export interface PackResult {
  grains: Grain[];
  data: Uint8Array;
  /** Voxels per population. */
  counts: number[];
  /** True when targetVoxels was reached. */
  reached: boolean;
}

export function packGrains(shape: Shape3, rng: Rng, o: PackOptions): PackResult {
  const [nx, ny, nz] = shape;
  const grow = o.grow ?? 1;
  const aspect = o.aspect ?? 1;
  const invA = 1 / aspect;
  const maxFailures = o.maxFailures ?? 20_000;
  const data = new Uint8Array(nx * ny * nz);
  const counts = o.populations.map(() => 0);
  const grains: Grain[] = [];
  // Uniform grid over the widened domain; a grain is listed in every cell its box touches.
  const cell = Math.max(2, Math.max(...o.populations.map((p) => p.meanD)));
  const pad = 2 * cell;
  const gx = Math.ceil((nx + 2 * pad) / cell);
  const gy = Math.ceil((ny + 2 * pad) / cell);
  const gz = Math.ceil((nz + 2 * pad) / cell);
  const grid = new Map<number, number[]>();
  const cellRange = (c: number, r: number, n: number) => [Math.max(0, Math.floor((c - r + pad) / cell)), Math.min(n - 1, Math.floor((c + r + pad) / cell))];
  const keep = 1 - o.overlap;
  let total = 0;
  let failures = 0;
  // The next grain's population and size are drawn once and kept until a position is found
  // for it: redrawing the size on rejection would favour small grains (they fit more easily)
  // and bias the size distribution away from the requested one.
  let pop = -1;
  let r = 0;
  while (total < o.targetVoxels) {
    if (pop < 0) {
      // The population furthest behind its share goes next, so the phase ratio tracks the target.
      let worst = Infinity;
      for (let k = 0; k < o.populations.length; k++) {
        const p = o.populations[k];
        if (p.share <= 0) continue;
        const progress = counts[k] / (p.share * o.targetVoxels);
        if (progress < worst) {
          worst = progress;
          pop = k;
        }
      }
      const P = o.populations[pop];
      r = lognormal(rng, P.meanD, P.cv) / 2;
    }
    const cx = rng.uniform(-r, nx + r);
    const cy = rng.uniform(-r, ny + r);
    const cz = rng.uniform(-r * aspect, nz + r * aspect);
    const [ax0, ax1] = cellRange(cx, r, gx);
    const [ay0, ay1] = cellRange(cy, r, gy);
    const [az0, az1] = cellRange(cz, r * aspect, gz);
    let ok = true;
    if (keep > 0) {
      scan: for (let a = ax0; a <= ax1; a++) {
        for (let b = ay0; b <= ay1; b++) {
          for (let c = az0; c <= az1; c++) {
            const list = grid.get((a * gy + b) * gz + c);
            if (!list) continue;
            for (const j of list) {
              const g = grains[j];
              const dmin = keep * (r + g.r);
              const dx = g.cx - cx;
              const dy = g.cy - cy;
              const dz = (g.cz - cz) * invA;
              if (dx * dx + dy * dy + dz * dz < dmin * dmin) {
                ok = false;
                break scan;
              }
            }
          }
        }
      }
    }
    if (!ok) {
      if (++failures > maxFailures) return { grains, data, counts, reached: false };
      continue;
    }
    failures = 0;
    const id = grains.length;
    grains.push({ cx, cy, cz, r, pop, aspect });
    for (let a = ax0; a <= ax1; a++)
      for (let b = ay0; b <= ay1; b++)
        for (let c = az0; c <= az1; c++) {
          const key = (a * gy + b) * gz + c;
          const list = grid.get(key);
          if (list) list.push(id);
          else grid.set(key, [id]);
        }
    const added = rasteriseSphere(data, shape, { cx, cy, cz, r: r * grow, aspect }, o.populations[pop].label);
    counts[pop] += added;
    total += added;
    pop = -1;
  }
  return { grains, data, counts, reached: true };
}

/** Rasterises grains (radius × factor) into a fresh volume; returns it with voxels per population. */
export function rasteriseGrains(shape: Shape3, grains: readonly Grain[], labels: readonly number[], factor: number, gaps?: GapField): { data: Uint8Array; counts: number[] } {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  const counts = labels.map(() => 0);
  for (const g of grains) counts[g.pop] += rasteriseSphere(data, shape, { ...g, r: g.r * factor }, labels[g.pop], gaps);
  return { data, counts };
}

/** Total voxels covered by the grains at radius × factor (count only, scratch volume reused). */
export function coveredVoxels(shape: Shape3, grains: readonly Grain[], factor: number, scratch: Uint8Array): number {
  scratch.fill(0);
  let n = 0;
  for (const g of grains) n += rasteriseSphere(scratch, shape, { ...g, r: g.r * factor }, 1);
  return n;
}

/**
 * Contacts of the grains at radius × factor: mean coordination number and mean neck ratio
 * a / min(rᵢ, rⱼ), a = radius of the circle where two overlapping spheres meet (for
 * spheroids, measured in the z-scaled space where they are spheres).
 */
export function contactStats(grains: readonly Grain[], factor: number): { coordination: number; neckRatio: number } {
  if (grains.length === 0) return { coordination: 0, neckRatio: 0 };
  let rMax = 0;
  for (const g of grains) rMax = Math.max(rMax, g.r * factor);
  const cell = 2 * rMax;
  // Integer cell keys (centres lie within one radius of the domain, so cells ≥ −1 after flooring).
  const W = 1 << 10;
  const key = (a: number, b: number, c: number) => ((a + 1) * W + (b + 1)) * W + (c + 1);
  const grid = new Map<number, number[]>();
  grains.forEach((g, i) => {
    const k = key(Math.floor(g.cx / cell), Math.floor(g.cy / cell), Math.floor(g.cz / cell));
    const l = grid.get(k);
    if (l) l.push(i);
    else grid.set(k, [i]);
  });
  let contacts = 0;
  let neckSum = 0;
  grains.forEach((g, i) => {
    const ix = Math.floor(g.cx / cell);
    const iy = Math.floor(g.cy / cell);
    const iz = Math.floor(g.cz / cell);
    const r1 = g.r * factor;
    for (let a = ix - 1; a <= ix + 1; a++)
      for (let b = iy - 1; b <= iy + 1; b++)
        for (let c = iz - 1; c <= iz + 1; c++) {
          const list = grid.get(key(a, b, c));
          if (!list) continue;
          for (const j of list) {
            if (j <= i) continue;
            const h = grains[j];
            const r2 = h.r * factor;
            const dx = g.cx - h.cx;
            const dy = g.cy - h.cy;
            const dz = (g.cz - h.cz) / (g.aspect ?? 1);
            const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
            if (d >= r1 + r2 || d <= Math.abs(r1 - r2)) continue;
            const x = (d * d + r1 * r1 - r2 * r2) / (2 * d);
            contacts++;
            neckSum += Math.sqrt(Math.max(0, r1 * r1 - x * x)) / Math.min(r1, r2);
          }
        }
  });
  return { coordination: (2 * contacts) / grains.length, neckRatio: contacts > 0 ? neckSum / contacts : 0 };
}
