import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';
import type { Rng } from '../core/rng.js';
import { createVoxels } from '../voxel/voxels.js';
import { AXES, completeAxes, type Descriptors } from './correlation.js';

/**
 * Statistical reconstruction by simulated annealing (Yeong & Torquato, Phys. Rev. E 57 (1998)
 * 495; 58 (1998) 224 for 2D → 3D): start from a random volume with the target's phase
 * fractions, swap two voxels of different phases (fractions stay exact), and accept by the
 * Metropolis rule on the energy
 *
 *   E = Σ_axes Σ_phases Σ_r [S2(r) − S2*(r)]² + w_L [L(r) − L*(r)]²,
 *
 * while the temperature falls geometrically. The volume is periodic and S2, L are measured
 * along the three axes only, so a swap changes six lines and both functions update in
 * O(rmax) per line (S2: the pairs through the voxel; L: the runs on either side of it)
 * instead of being remeasured. Swaps pick voxels on phase boundaries ("different-phase
 * neighbour" sampling, Tang et al., Acta Mater. 57 (2009) 3260): interior voxels almost
 * never lower E, so proposing them only wastes time at low temperature.
 */

export interface SamOptions {
  shape: Shape3;
  /** Targets (from correlation.ts); axes the image lacks are filled in by isotropy. */
  target: Descriptors;
  rng: Rng;
  /** Attempted swaps per voxel (default 40). */
  sweeps?: number;
  /** Weight of the lineal-path term (default 1). */
  lineal?: number;
  /** Temperature at the end relative to the start (default 1e-5). */
  cooling?: number;
  voxelSize?: number;
  phaseNames?: Record<number, string>;
  /** Told after each temperature stage. */
  onStage?: (s: { stage: number; stages: number; temperature: number; energy: number; acceptance: number }) => void;
}

export interface SamResult {
  voxels: Voxels;
  energy: number;
  /** Energy at the start (random volume) for scale. */
  energy0: number;
  swaps: number;
  accepted: number;
  wallMs: number;
}

const STAGES = 100;

export function reconstructSam(o: SamOptions): SamResult {
  const t0 = performance.now();
  const target = completeAxes(o.target);
  const { phases, rmax } = target;
  const shape = o.shape;
  const [nx, ny, nz] = shape;
  const V = nx * ny * nz;
  if (shape.some((n) => 2 * rmax >= n)) throw new BadInputError(`every side must exceed 2·rmax = ${2 * rmax} (periodic lags), got ${shape.join('×')}`, 'shape');
  if (phases.length < 2 || phases.length > 8) throw new BadInputError(`2 to 8 phases, got ${phases.length}`, 'phases');
  const K = phases.length;
  const kOf = new Int8Array(256).fill(-1);
  phases.forEach((p, k) => (kOf[p] = k));
  const wL = o.lineal ?? 1;
  const sweeps = o.sweeps ?? 40;
  if (!(sweeps > 0)) throw new BadInputError(`sweeps must be > 0, got ${sweeps}`, 'sweeps');
  const rng = o.rng;

  // Random start with the target's fractions, exactly (largest-remainder rounding).
  const data = new Uint8Array(V);
  {
    const raw = target.fractions.map((f) => f * V);
    const counts = raw.map(Math.floor);
    let left = V - counts.reduce((s, c) => s + c, 0);
    const order = raw.map((r, k) => [r - Math.floor(r), k] as const).sort((a, b) => b[0] - a[0]);
    for (let i = 0; left > 0; i = (i + 1) % K, left--) counts[order[i][1]]++;
    let at = 0;
    counts.forEach((c, k) => data.fill(phases[k], at, (at += c)));
    for (let i = V - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = data[i];
      data[i] = data[j];
      data[j] = t;
    }
  }

  const strides = [ny * nz, nz, 1];
  // Counts: s2c[a*K + k][r], lpc[a*K + k][r]; functions are counts / V (periodic lines).
  const s2c = Array.from({ length: 3 * K }, () => new Float64Array(rmax + 1));
  const lpc = Array.from({ length: 3 * K }, () => new Float64Array(rmax + 1));
  for (const a of AXES) {
    const n = shape[a];
    const st = strides[a];
    forEachPeriodicLine(shape, a, (start) => {
      for (let k = 0; k < K; k++) {
        const p = phases[k];
        const c = s2c[a * K + k];
        for (let i = 0; i < n; i++) {
          if (data[start + i * st] !== p) continue;
          for (let r = 0; r <= rmax; r++) if (data[start + ((i + r) % n) * st] === p) c[r]++;
        }
        const l = lpc[a * K + k];
        for (let i = 0; i < n; i++) {
          // Segments starting at i: as long as the run of p from i (capped at rmax).
          let len = 0;
          while (len < rmax && data[start + ((i + len) % n) * st] === p) len++;
          for (let r = 1; r <= len; r++) l[r]++;
        }
      }
    });
  }
  const t2 = AXES.flatMap((a) => target.s2[a]);
  const tl = AXES.flatMap((a) => target.lp[a]);
  const energy = (): number => {
    let e = 0;
    for (let j = 0; j < 3 * K; j++) {
      const c = s2c[j];
      const l = lpc[j];
      const a2 = t2[j];
      const al = tl[j];
      for (let r = 1; r <= rmax; r++) {
        const d = c[r] / V - a2[r];
        const dl = l[r] / V - al[r];
        e += d * d + wL * dl * dl;
      }
    }
    return e;
  };

  const coord = new Int32Array(3);
  /** Changes voxel idx to label q, updating S2 and L counts along its three lines. */
  const setVoxel = (idx: number, q: number): void => {
    const p = data[idx];
    if (p === q) return;
    coord[0] = Math.floor(idx / strides[0]);
    coord[1] = Math.floor((idx % strides[0]) / nz);
    coord[2] = idx % nz;
    const kp = kOf[p];
    const kq = kOf[q];
    for (let a = 0; a < 3; a++) {
      const n = shape[a];
      const st = strides[a];
      const i = coord[a];
      const start = idx - i * st;
      const cp = s2c[a * K + kp];
      const cq = s2c[a * K + kq];
      cp[0]--;
      cq[0]++;
      for (let r = 1; r <= rmax; r++) {
        let j1 = i + r;
        if (j1 >= n) j1 -= n;
        let j2 = i - r;
        if (j2 < 0) j2 += n;
        const l1 = data[start + j1 * st];
        const l2 = data[start + j2 * st];
        if (l1 === p) cp[r]--;
        if (l2 === p) cp[r]--;
        if (l1 === q) cq[r]++;
        if (l2 === q) cq[r]++;
      }
      // Lineal path: the run of p through i splits, the runs of q beside i join. Walks to
      // the left and right of i, periodic, at most n − 1 voxels in all.
      let pa = 0;
      let qa = 0;
      let j = i;
      const leftLabel = data[start + (i === 0 ? n - 1 : i - 1) * st];
      const tracked = leftLabel === p ? p : leftLabel === q ? q : -1;
      let left = 0;
      if (tracked >= 0) {
        for (;;) {
          j = j === 0 ? n - 1 : j - 1;
          if (left >= n - 1 || data[start + j * st] !== tracked) break;
          left++;
        }
      }
      if (tracked === p) pa = left;
      else if (tracked === q) qa = left;
      let pb = 0;
      let qb = 0;
      const rightLabel = data[start + (i === n - 1 ? 0 : i + 1) * st];
      if (rightLabel === p || rightLabel === q) {
        let right = 0;
        const used = rightLabel === tracked ? left : 0;
        j = i;
        for (;;) {
          j = j === n - 1 ? 0 : j + 1;
          if (right >= n - 1 - used || data[start + j * st] !== rightLabel) break;
          right++;
        }
        if (rightLabel === p) pb = right;
        else qb = right;
      }
      const lp = lpc[a * K + kp];
      const lq = lpc[a * K + kq];
      const pRing = pa + pb + 1 === n;
      const qRing = qa + qb + 1 === n;
      for (let r = 1; r <= rmax; r++) {
        // A ring wholly of one phase holds n segments of every length; a run of ℓ < n holds ℓ − r + 1.
        lp[r] += seg(pa, r) + seg(pb, r) - (pRing ? n : seg(pa + pb + 1, r));
        lq[r] += (qRing ? n : seg(qa + qb + 1, r)) - seg(qa, r) - seg(qb, r);
      }
    }
    data[idx] = q;
  };

  const boundary = (idx: number): boolean => {
    const x = Math.floor(idx / strides[0]);
    const y = Math.floor((idx % strides[0]) / nz);
    const z = idx % nz;
    const l = data[idx];
    return (
      data[(((x + 1) % nx) * ny + y) * nz + z] !== l ||
      data[(((x + nx - 1) % nx) * ny + y) * nz + z] !== l ||
      data[(x * ny + ((y + 1) % ny)) * nz + z] !== l ||
      data[(x * ny + ((y + ny - 1) % ny)) * nz + z] !== l ||
      data[(x * ny + y) * nz + ((z + 1) % nz)] !== l ||
      data[(x * ny + y) * nz + ((z + nz - 1) % nz)] !== l
    );
  };
  const pick = (notLabel: number): number => {
    for (let t = 0; t < 64; t++) {
      const i = rng.int(V);
      if (data[i] !== notLabel && boundary(i)) return i;
    }
    for (;;) {
      const i = rng.int(V);
      if (data[i] !== notLabel) return i;
    }
  };

  // The last swap, for undo (no allocation per swap: this is the inner loop).
  let su = 0;
  let sv = 0;
  let spu = 0;
  let spv = 0;
  /** Swaps two boundary voxels of different phases; returns the energy after. */
  const swap = (): number => {
    su = pick(-1);
    sv = pick(data[su]);
    spu = data[su];
    spv = data[sv];
    setVoxel(su, spv);
    setVoxel(sv, spu);
    return energy();
  };
  const undo = (): void => {
    setVoxel(sv, spv);
    setVoxel(su, spu);
  };

  let e = energy();
  const e0 = e;
  // Start temperature: uphill moves of the mean size accepted with probability 1/2 (the
  // random start is far from the target, so most early moves are downhill anyway).
  let up = 0;
  let nUp = 0;
  for (let t = 0; t < 200; t++) {
    const d = swap() - e;
    undo();
    if (d > 0) {
      up += d;
      nUp++;
    }
  }
  let T = nUp > 0 ? up / nUp / Math.LN2 : 1e-12;
  const alpha = Math.pow(o.cooling ?? 1e-5, 1 / STAGES);
  const perStage = Math.max(1, Math.round((sweeps * V) / STAGES));
  let swaps = 0;
  let accepted = 0;
  for (let stage = 0; stage < STAGES; stage++) {
    let acc = 0;
    for (let t = 0; t < perStage; t++) {
      const en = swap();
      const d = en - e;
      if (d <= 0 || rng.next() < Math.exp(-d / T)) {
        e = en;
        acc++;
      } else undo();
    }
    swaps += perStage;
    accepted += acc;
    o.onStage?.({ stage, stages: STAGES, temperature: T, energy: e, acceptance: acc / perStage });
    T *= alpha;
  }
  const phaseNames = o.phaseNames ?? Object.fromEntries(phases.map((p) => [p, p === 0 ? 'pore' : `phase${p}`]));
  return {
    voxels: createVoxels(shape, o.voxelSize ?? 1, phaseNames, data),
    energy: e,
    energy0: e0,
    swaps,
    accepted,
    wallMs: Math.round(performance.now() - t0),
  };
}

function seg(len: number, r: number): number {
  return len >= r ? len - r + 1 : 0;
}

function forEachPeriodicLine(shape: Shape3, axis: 0 | 1 | 2, fn: (start: number) => void): void {
  const [nx, ny, nz] = shape;
  for (let x = 0; x < (axis === 0 ? 1 : nx); x++)
    for (let y = 0; y < (axis === 1 ? 1 : ny); y++) for (let z = 0; z < (axis === 2 ? 1 : nz); z++) fn((x * ny + y) * nz + z);
}
