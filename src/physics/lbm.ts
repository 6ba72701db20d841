import type { Shape3 } from '../core/protocols.js';
import { AXIS_INDEX, labelComponents, percolatingMask, type Axis } from './labelling.js';
import { stepD3Q19 } from './lbm-kernel.js';

/**
 * Absolute permeability by the lattice Boltzmann method: D3Q19 lattice, two-relaxation-time
 * (TRT) collision, link-wise (half-way) bounce-back at solid walls, flow driven by a uniform
 * body force, periodic boundaries.
 *
 * Why TRT with Λ = (τ⁺ − ½)(τ⁻ − ½) = 3/16: with this "magic" parameter the wall of a
 * bounce-back link sits exactly half-way between the nodes and the computed permeability does
 * not depend on the viscosity (Ginzburg & d'Humières, Phys. Rev. E 68, 2003; Pan, Luo & Miller,
 * Comput. Fluids 35, 2006), which BGK cannot offer. The viscosity is therefore free to be
 * chosen for fast convergence: τ⁺ = 2 (ν = ½) by default, which converged in the fewest steps
 * on both sphere arrays and fibre layers among τ⁺ = 1…12 (larger τ⁺ speeds up the former and
 * slows down the latter).
 *
 * Driving and evaluation: a body force g per unit volume on the fluid is equivalent to a mean
 * pressure gradient G = g on a periodic cell; Darcy's law U = (k/μ) G then gives
 * k = μ U / g = ν ρ U / g in lattice units, with U the superficial velocity (flux per total
 * cross-section), and k [m²] = k_lu · (voxel size)². The forcing enters the antisymmetric
 * (odd) populations as 3 wᵢ (eᵢ·g) and the velocity moment carries the half-force correction
 * u = (Σ fᵢ eᵢ + g/2)/ρ (Guo, Zheng & Shi, Phys. Rev. E 65, 2002, at Stokes order).
 *
 * Samples that are not periodic along the flow axis (`periodicAlong` below) get `buffer` layers
 * of open fluid at each end, where no force acts: the flow can redistribute between the outlet
 * and the (wrapped) inlet instead of meeting the unrelated opposite face. k is still evaluated
 * with the nominal g, which is not exact: the entry and exit losses at the buffer–sample
 * junctions take part of g (review 2026-12-07: a straight slit 8 voxels wide loses 33 / 20 / 11 %
 * at lengths 8 / 16 / 32), while on random media they roughly cancel the opening of the face
 * pores (spheres, φ = 0.68, against the in-situ k of the same slab cut from a periodic
 * medium: +3 ± 5 % at 16 voxels, +1 ± 2 % at 32). Evaluating k from the pressure drop measured
 * between the sample's end layers (−7 / −3 / −2 % on the slit, +8 / +3 % on those media) or
 * mirror padding (exact on the slit, +18 / +8 % on those media) did worse on random media,
 * hence: no buffer for periodic samples, buffer and nominal g for the others (docs/physics.md).
 *
 * Convergence: every `checkEvery` steps the superficial velocity is compared with the previous
 * check; stop when the relative change is below `tol`.
 *
 * Storage: only fluid nodes, structure of arrays, two lattices of Float32 deviations from the
 * rest equilibrium (pull scheme: each node gathers post-collision populations from its
 * upstream neighbours; a link into a solid node pulls the node's own opposite population,
 * which is the bounce-back). 2 × 19 × 4 + 19 × 4 = 228 bytes per fluid node.
 */

// D3Q19 velocities: rest, 6 faces, 12 edges.
const EX = [0, 1, -1, 0, 0, 0, 0, 1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0];
const EY = [0, 0, 0, 1, -1, 0, 0, 1, -1, -1, 1, 0, 0, 0, 0, 1, -1, 1, -1];
const EZ = [0, 0, 0, 0, 0, 1, -1, 0, 0, 0, 0, 1, -1, -1, 1, 1, -1, -1, 1];
const Q = 19;
const OPP = EX.map((_, q) => EX.findIndex((_, p) => EX[p] === -EX[q] && EY[p] === -EY[q] && EZ[p] === -EZ[q]));

export interface PermeabilityOptions {
  axis: Axis;
  /** Relaxation time of the symmetric moments (viscosity ν = (τ⁺ − ½)/3); default 2. */
  tauPlus?: number;
  /** Magic parameter Λ; default 3/16 (viscosity-independent bounce-back walls). */
  lambda?: number;
  /** Body force in lattice units; default 1e-5 (Stokes regime). */
  force?: number;
  /** Relative change of U between checks that counts as converged; default 1e-5. */
  tol?: number;
  checkEvery?: number;
  maxSteps?: number;
  /** Open fluid layers added at each end along the flow axis; default 0 (periodic sample). */
  buffer?: number;
  /** Largest number of fluid nodes allowed (memory ≈ 230 B per node); default 1.2e7. */
  maxFluidNodes?: number;
  /**
   * Called at every convergence check (every `checkEvery` steps) with the steps so far and the
   * relative change of U (diff review 2026-12-07, item 4: progress within a solve); read-only.
   */
  onCheck?: (steps: number, change: number) => void;
}

export interface PermeabilityResult {
  axis: Axis;
  /** Permeability in lattice units (voxel²); exactly 0 when no fluid cluster spans the axis. */
  kLattice: number;
  steps: number;
  converged: boolean;
  /** Relative change of U at the last check. */
  change: number;
  /** Largest velocity magnitude / lattice speed of sound, a Mach-number check. */
  maxMach: number;
  wallMs: number;
  fluidNodes: number;
}

/** Permeability of the voxels where `fluid[i] = 1` (C order, `shape`), in voxel². */
export function permeability(fluid: Uint8Array, shape: Shape3, options: PermeabilityOptions): PermeabilityResult {
  const t0 = performance.now();
  const ax = AXIS_INDEX[options.axis];
  const buffer = options.buffer ?? 0;
  // Domain: the sample plus buffer layers along the flow axis.
  const dims: [number, number, number] = [shape[0], shape[1], shape[2]];
  dims[ax] += 2 * buffer;
  const [nx, ny, nz] = dims;
  const total = nx * ny * nz;
  const isFluid = new Uint8Array(total);
  const forced = new Uint8Array(total);
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        const c = [x, y, z];
        c[ax] -= buffer;
        const i = (x * ny + y) * nz + z;
        if (c[ax] < 0 || c[ax] >= shape[ax]) isFluid[i] = 1;
        else {
          const v = fluid[(c[0] * shape[1] + c[1]) * shape[2] + c[2]];
          isFluid[i] = v;
          forced[i] = v;
        }
      }
  const nodeOf = new Int32Array(total).fill(-1);
  let M = 0;
  for (let i = 0; i < total; i++) if (isFluid[i]) nodeOf[i] = M++;
  const maxNodes = options.maxFluidNodes ?? 1.2e7;
  if (M > maxNodes) throw new RangeError(`${M} fluid nodes exceed the LBM limit of ${maxNodes}; crop or coarsen the volume`);
  const res = { axis: options.axis, steps: 0, converged: true, change: 0, maxMach: 0, fluidNodes: M };
  // No fluid cluster joins the two faces of the sample: k = 0 exactly, no need to iterate
  // (a run would only return round-off of the Float32 populations).
  if (M === 0 || percolatingMask(labelComponents(fluid, shape), options.axis).count === 0) {
    return { ...res, kLattice: 0, wallMs: performance.now() - t0 };
  }

  // Pull table: population q of node m is read from src[q·M + m] in the previous lattice.
  const src = new Int32Array(Q * M);
  const force = new Float64Array(M);
  const g = options.force ?? 1e-5;
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) {
        const i = (x * ny + y) * nz + z;
        const m = nodeOf[i];
        if (m < 0) continue;
        force[m] = forced[i] ? g : 0;
        for (let q = 0; q < Q; q++) {
          const ux = (x - EX[q] + nx) % nx;
          const uy = (y - EY[q] + ny) % ny;
          const uz = (z - EZ[q] + nz) % nz;
          const up = nodeOf[(ux * ny + uy) * nz + uz];
          src[q * M + m] = up >= 0 ? q * M + up : OPP[q] * M + m;
        }
      }

  const tauP = options.tauPlus ?? 2;
  const lambda = options.lambda ?? 3 / 16;
  const tauM = 0.5 + lambda / (tauP - 0.5);
  const wP = 1 / tauP;
  const wM = 1 / tauM;
  const nu = (tauP - 0.5) / 3;
  const tol = options.tol ?? 1e-5;
  const checkEvery = options.checkEvery ?? 100;
  const maxSteps = options.maxSteps ?? 200_000;
  // Deviations from the rest equilibrium (./lbm-kernel.ts): 0 is fluid at rest, ρ = 1.
  let fa = new Float32Array(Q * M);
  let fb = new Float32Array(Q * M);
  const fx = ax === 0 ? 1 : 0;
  const fy = ax === 1 ? 1 : 0;
  const fz = ax === 2 ? 1 : 0;
  let prevU = 0;
  let U = 0;
  let step = 0;
  let converged = false;
  let change = 1;
  let maxU = 0;
  while (step < maxSteps) {
    const check = (step + 1) % checkEvery === 0;
    const [sumU, max2] = stepD3Q19(fa, fb, src, force, M, wP, wM, fx, fy, fz, check);
    if (check) maxU = max2;
    const t = fa;
    fa = fb;
    fb = t;
    step++;
    U = sumU / total;
    if (check) {
      change = Math.abs(U - prevU) / Math.max(Math.abs(U), 1e-300);
      prevU = U;
      if (change < tol) {
        converged = true;
        break;
      }
      options.onCheck?.(step, change);
    }
  }
  // Darcy: k = ν ρ₀ U / g. U is the flux per unit cross-section (the same through every
  // section). Exact for a periodic sample; with buffers an approximation (header comment).
  const kLattice = (nu * U) / g;
  return {
    ...res,
    kLattice: Math.max(0, kLattice),
    steps: step,
    converged,
    change,
    maxMach: Math.sqrt(maxU) * Math.sqrt(3),
    wallMs: performance.now() - t0,
  };
}

/**
 * Whether the sample may be treated as periodic along `axis`: wrapping it joins its last layer
 * to its first, and that seam must be no more abrupt than the sample's own layer-to-layer
 * changes — the fraction of voxels that differ between the last and the first layer is at most
 * the mean fraction between adjacent layers. True for every structure that is uniform along
 * the axis (channels, slits: both are 0) and for mirror-symmetric unit cells (the end layers
 * are equal); about half the time for a periodic random medium (its seam is an ordinary pair of
 * layers); rarely for a crop of a correlated random medium, whose two faces are unrelated
 * (review 2026-12-07: the buffer was added to periodic samples too).
 */
export function periodicAlong(fluid: Uint8Array, shape: Shape3, axis: Axis): boolean {
  const ax = AXIS_INDEX[axis];
  const n = shape[ax];
  if (n < 2) return true;
  const stride = [shape[1] * shape[2], shape[2], 1][ax];
  // Layer l holds the voxels i with ⌊i / stride⌋ mod n = l; count differences between the
  // layer pairs (l, l + 1) and the seam (n − 1, 0) in one pass.
  const diff = new Float64Array(n);
  for (let i = 0; i < fluid.length; i++) {
    const l = Math.floor(i / stride) % n;
    const next = l === n - 1 ? i - (n - 1) * stride : i + stride;
    if (fluid[i] !== fluid[next]) diff[l]++;
  }
  let interior = 0;
  for (let l = 0; l < n - 1; l++) interior += diff[l];
  return diff[n - 1] <= interior / (n - 1);
}
