import type { Shape3 } from '../core/protocols.js';
import { AXIS_INDEX, labelComponents, spanningLabels, type Axis, type Components } from './labelling.js';
import {
  applyOperator,
  BND_IN,
  BND_OUT,
  createLevel,
  createMaskLevel,
  ACT_LUT,
  coarseShapes,
  D_LUT,
  finishDiagonal,
  INV_LUT,
  inverseDiagonal,
  Multigrid,
  type Level,
} from './multigrid.js';
import { WasmArena, type FineVector } from './kernels.js';

/**
 * Steady diffusion / conduction through a voxel volume: ∇·(σ∇φ) = 0 with φ = 1 on the inlet
 * face and φ = 0 on the outlet face of one axis and no flux through the four other faces.
 *
 * Discretisation (TauFactor's, Cooper et al. SoftwareX 5, 2016; Kench et al. JOSS 2023, and
 * shared/reference/README.md): one finite-volume cell per voxel; the conductance between
 * face-neighbours is the harmonic mean 2σᵢσⱼ/(σᵢ+σⱼ) (series resistance of two half-cells,
 * in units of σ × voxel length), zero if either is non-conducting; the Dirichlet values sit
 * on the outer faces of the box, half a voxel beyond the first and last cell centres, so an
 * end cell connects to its boundary with conductance 2σᵢ.
 *
 * Effective conductivity: σ_eff = (F / A) · N / Δφ, with F the total current through a cross
 * section, A the cross-section in voxels and N the number of voxels along the axis. With
 * σ = 1 in the transporting phase this is D_eff/D0 and the tortuosity factor is
 * τ = ε / (D_eff/D0) with ε the total volume fraction of the phase (TauFactor's convention).
 *
 * Conducting clusters that do not touch both the inlet and the outlet carry no current and
 * would make the matrix singular (a floating cluster has no Dirichlet anchor), so they are
 * removed before the solve; if nothing spans the box, σ_eff = 0 (τ = ∞) without a solve.
 *
 * Solver: conjugate gradients preconditioned by the multigrid of ./multigrid.ts (or by the
 * diagonal, the in-run baseline of the benchmark). Converged when the relative residual
 * ‖b − Ax‖/‖b‖ ≤ tol AND the inlet and outlet currents agree within fluxTol — the second
 * test is the physical one: the current must be conserved through the sample.
 */

export interface TransportOptions {
  axis: Axis;
  /** Conductivity of each label (index = label, length ≥ the largest label + 1); 0 = insulating. */
  conductivity: ArrayLike<number>;
  /** Relative residual target (default 1e-5; the flux test is the physical criterion). */
  tol?: number;
  /** Allowed relative mismatch of inlet and outlet current (default 1e-4). */
  fluxTol?: number;
  maxIterations?: number;
  preconditioner?: 'multigrid' | 'jacobi';
  /** Components of the conducting mask, when the caller already has them (shared across axes). */
  components?: Components;
  /**
   * Kernels of a single-phase solve: 'auto' (default) runs the fine level in WebAssembly
   * (kernels.wat) when it fits in a wasm memory and JavaScript otherwise; 'js' forces the
   * JavaScript kernels (the benchmark's comparison, and the fallback the tests check).
   */
  kernels?: 'auto' | 'js';
  /**
   * Storage of the fine level's CG vectors in a single-phase WebAssembly solve (issue #20):
   * 'auto' (default) keeps f64 when its arena fits in wasm32's 4 GiB and takes f32 storage
   * when only that fits (beyond ≈ 440³: 20 instead of 40 bytes per cell — 500³ then runs in
   * WebAssembly instead of the JavaScript kernels); 'float32' always takes f32 storage when the
   * WebAssembly kernels run; 'float64' never. Arithmetic and dot products stay f64 in the
   * kernels; the τ difference is measured in experiments/results/solver500.md.
   */
  precision?: 'auto' | 'float64' | 'float32';
  /**
   * Called every `progressEvery` CG iterations (default 10) with the iteration count and the
   * relative residual (diff review 2026-12-07, item 4: progress of `simulate()` and `poreloop
   * analyse` within a solve). It only reads the solver's state: results do not depend on it.
   */
  onIteration?: (iteration: number, relResidual: number) => void;
  progressEvery?: number;
}

export interface TransportResult {
  axis: Axis;
  /** σ_eff in the unit of `conductivity`; D_eff/D0 when the phase has conductivity 1. */
  effective: number;
  percolating: boolean;
  /** Fraction of all voxels that conduct (σ > 0). */
  conductingFraction: number;
  /** Fraction of all voxels in clusters spanning inlet to outlet. */
  spanningFraction: number;
  iterations: number;
  relResidual: number;
  fluxIn: number;
  fluxOut: number;
  /** |F_in − F_out| / mean(F_in, F_out). */
  fluxImbalance: number;
  converged: boolean;
  wallMs: number;
  /** Part of wallMs before the first iteration: labelling, assembly, multigrid hierarchy, initial residual. */
  setupMs: number;
  /** Bytes of the arrays the solve allocated (fine level, Krylov vectors, coarse levels). */
  bytes: number;
  /** Multigrid levels (1 for the Jacobi baseline). */
  levels: number;
  /** Which kernels ran the fine level. */
  kernels: 'wasm' | 'js';
  /** Storage of the fine level's CG vectors. */
  precision: 'float64' | 'float32';
}

export function conductingMask(data: Uint8Array, conductivity: ArrayLike<number>): Uint8Array {
  const lut = new Uint8Array(256);
  for (let l = 0; l < Math.min(256, conductivity.length); l++) lut[l] = conductivity[l] > 0 ? 1 : 0;
  const m = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) m[i] = lut[data[i]];
  return m;
}

/** Fine level, right-hand side and the inlet/outlet boundary cells of one axis. */
interface Assembly {
  L: Level;
  /** Right-hand side, non-zero only at the inlet cells: b[inlet.idx[k]] = rhs[k]. */
  rhs: Float64Array;
  inlet: { idx: Int32Array; g: Float64Array };
  outlet: { idx: Int32Array; g: Float64Array };
}

/**
 * Binary assembly for a single conducting phase of conductivity σ: the system is divided by σ
 * (unit face conductance, 2 to the outer faces), so the potential is the same and only the
 * currents scale with σ.
 */
function assembleBinary(shape: Shape3, labels: Int32Array, keep: Uint8Array, sigma: number, axis: Axis, arena: WasmArena | null): Assembly {
  const [nx, ny, nz] = shape;
  const L = createMaskLevel([nx, ny, nz], arena?.u8(paddedSize(shape)));
  const mask = L.mask!;
  const { s0, s1 } = L;
  // The cell bytes are built in place (issue #20: no separate 0/1 array of the padded size,
  // whose fresh pages cost page faults at 500³): first bit 6 (CONDUCTS) for a cell of a
  // spanning cluster …
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++) {
      const j0 = (x * ny + y) * nz;
      const i0 = (x + 1) * s0 + (y + 1) * s1 + 1;
      for (let z = 0; z < nz; z++) mask[i0 + z] = keep[labels[j0 + z]] << 6;
    }
  const inlet = boundaryLayer(L, shape, axis, 1, (i) => mask[i] > 0, () => 2 * sigma);
  const outlet = boundaryLayer(L, shape, axis, shape[AXIS_INDEX[axis]], (i) => mask[i] > 0, () => 2 * sigma);
  // … then the face bits FACE_M0 … FACE_P2 (bits 0 … 5) from the neighbours' bit 6, shifted
  // into place without a branch per neighbour (assembly was the largest part of the setup of a
  // 300³ solve, measured). Bit 6 of a cell is last read by the cell one plane ahead, so it is
  // cleared there; the last plane's afterwards.
  for (let i = s0; i < L.size - s0; i++) {
    const m = mask[i];
    mask[i] =
      m |
      ((m >> 6) *
        (((mask[i - s0] >> 6) & 1) | ((mask[i + s0] >> 5) & 2) | ((mask[i - s1] >> 4) & 4) | ((mask[i + s1] >> 3) & 8) | ((mask[i - 1] >> 2) & 16) | ((mask[i + 1] >> 1) & 32)));
    mask[i - s0] &= 63;
  }
  for (let i = L.size - 2 * s0; i < L.size - s0; i++) mask[i] &= 63;
  for (const i of inlet.idx) mask[i] |= BND_IN;
  for (const i of outlet.idx) mask[i] |= BND_OUT;
  return { L, rhs: new Float64Array(inlet.idx.length).fill(2), inlet, outlet };
}

function paddedSize(shape: Shape3): number {
  return (shape[0] + 2) * (shape[1] + 2) * (shape[2] + 2);
}

/**
 * A WebAssembly arena for a single-phase solve of this shape (kernels.ts): the cell bytes and
 * the CG vectors of the fine level (r, z, p, and q with f64 storage; x is kept at the boundary cells only), and every coarse level (three f32 conductances,
 * diagonal, inverse, right-hand side and correction); null when it cannot be had (then the
 * JavaScript kernels run).
 */
function binaryArena(shape: Shape3, precision: 'float64' | 'float32'): WasmArena | null {
  const size = paddedSize(shape);
  const f64 = precision === 'float64' ? [size, size, size, size] : [];
  // f32: no q (solveTransport).
  const f32: number[] = precision === 'float32' ? [size + 1, size + 1, size + 1] : [];
  for (const c of coarseShapes(shape)) {
    const n = paddedSize(c);
    f64.push(n, n, n, n);
    f32.push(n, n, n);
  }
  return WasmArena.acquire(WasmArena.bytesFor(f64, f32, [size]), { d: D_LUT, inv: INV_LUT, act: ACT_LUT });
}

/**
 * Initial guess: the potential of a homogeneous medium, falling linearly from 1 at the inlet
 * face to 0 at the outlet face (cell centres at (k − ½)/N), on the active cells only (so a
 * binary level's zero-at-inactive invariant holds). It is the exact solution for straight
 * channels and removes most of the smooth error elsewhere, which saves CG iterations.
 */
function linearGuess(L: Level, shape: Shape3, axis: Axis, x: FineVector): void {
  const ax = AXIS_INDEX[axis];
  const N = shape[ax];
  const [n0, n1, n2] = L.n;
  const mask = L.mask;
  // Row by row without a per-cell branch (issue #20: this loop was ≈ 1 s of a 500³ setup).
  const ramp = new Float64Array(n2 + 1);
  for (let e = 1; e <= n2; e++) ramp[e] = 1 - (e - 0.5) / N;
  for (let a = 1; a <= n0; a++)
    for (let c = 1; c <= n1; c++) {
      const base = a * L.s0 + c * L.s1;
      const v = ax === 0 ? 1 - (a - 0.5) / N : 1 - (c - 0.5) / N;
      if (mask) {
        if (ax === 2) for (let e = 1; e <= n2; e++) x[base + e] = ACT_LUT[mask[base + e]] * ramp[e];
        else for (let e = 1; e <= n2; e++) x[base + e] = ACT_LUT[mask[base + e]] * v;
      } else for (let e = 1; e <= n2; e++) x[base + e] = L.d[base + e] > 0 ? (ax === 2 ? ramp[e] : v) : 0;
    }
}

/** Cells of one layer normal to `axis` (padded position `pos`) that conduct, with their 2σ. */
function boundaryLayer(
  L: Level,
  shape: Shape3,
  axis: Axis,
  pos: number,
  conducts: (i: number) => boolean,
  conductance: (i: number) => number,
): { idx: Int32Array; g: Float64Array } {
  const ax = AXIS_INDEX[axis];
  const strides = [L.s0, L.s1, 1];
  const [a, c] = [0, 1, 2].filter((k) => k !== ax);
  const idx: number[] = [];
  const g: number[] = [];
  for (let ia = 1; ia <= shape[a]; ia++)
    for (let ic = 1; ic <= shape[c]; ic++) {
      const i = ia * strides[a] + ic * strides[c] + pos * strides[ax];
      if (conducts(i)) {
        idx.push(i);
        g.push(conductance(i));
      }
    }
  return { idx: Int32Array.from(idx), g: Float64Array.from(g) };
}

function assemble(data: Uint8Array, shape: Shape3, labels: Int32Array, keep: Uint8Array, conductivity: ArrayLike<number>, axis: Axis): Assembly {
  const [nx, ny, nz] = shape;
  const L = createLevel([nx, ny, nz]);
  const { g0, g1, g2, d, s0, s1 } = L;
  const sig = new Float64Array(256);
  for (let l = 0; l < Math.min(256, conductivity.length); l++) sig[l] = conductivity[l];
  // Cell conductivity on the padded grid (0 in ghosts and removed clusters).
  const cell = new Float64Array(L.size);
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++) {
      const j0 = (x * ny + y) * nz;
      const i0 = (x + 1) * s0 + (y + 1) * s1 + 1;
      for (let z = 0; z < nz; z++) cell[i0 + z] = keep[labels[j0 + z]] ? sig[data[j0 + z]] : 0;
    }
  const size = L.size;
  for (let i = s0; i < size - s0; i++) {
    const s = cell[i];
    if (s === 0) continue;
    let t = cell[i + s0];
    if (t > 0) g0[i] = (2 * s * t) / (s + t);
    t = cell[i + s1];
    if (t > 0) g1[i] = (2 * s * t) / (s + t);
    t = cell[i + 1];
    if (t > 0) g2[i] = (2 * s * t) / (s + t);
  }
  // Half-cell to the outer face: conductance σ / (1/2) = 2σ (TauFactor's end cells).
  const half = (i: number): number => Math.fround(2 * cell[i]);
  const inlet = boundaryLayer(L, shape, axis, 1, (i) => cell[i] > 0, half);
  const outlet = boundaryLayer(L, shape, axis, shape[AXIS_INDEX[axis]], (i) => cell[i] > 0, half);
  // Diagonal from the (float32-rounded) face conductances so that A stays exactly symmetric
  // and its rows sum to the boundary conductance.
  for (let i = s0; i < size - s0; i++) d[i] = g0[i] + g0[i - s0] + g1[i] + g1[i - s1] + g2[i] + g2[i - 1];
  for (let k = 0; k < inlet.idx.length; k++) d[inlet.idx[k]] += inlet.g[k];
  for (let k = 0; k < outlet.idx.length; k++) d[outlet.idx[k]] += outlet.g[k];
  finishDiagonal(L);
  return { L, rhs: Float64Array.from(inlet.g), inlet, outlet };
}

function dot(a: FineVector, b: FineVector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function solveTransport(data: Uint8Array, shape: Shape3, options: TransportOptions): TransportResult {
  const t0 = performance.now();
  const { axis, conductivity } = options;
  const tol = options.tol ?? 1e-5;
  const fluxTol = options.fluxTol ?? 1e-4;
  const n = data.length;
  const comp = options.components ?? labelComponents(conductingMask(data, conductivity), shape);
  let conducting = 0;
  for (let l = 1; l <= comp.count; l++) conducting += comp.sizes[l];
  // Spanning clusters (those touching the inlet and the outlet face) by label, and their size
  // from the component sizes: no pass over the voxels (issue #20).
  const { keep, count: spanning } = spanningLabels(comp, axis);
  const base = {
    axis,
    conductingFraction: conducting / n,
    spanningFraction: spanning / n,
  };
  if (spanning === 0) {
    return {
      ...base,
      effective: 0,
      percolating: false,
      iterations: 0,
      relResidual: 0,
      fluxIn: 0,
      fluxOut: 0,
      fluxImbalance: 0,
      converged: true,
      wallMs: performance.now() - t0,
      setupMs: performance.now() - t0,
      bytes: 0,
      levels: 0,
      kernels: 'js',
      precision: 'float64',
    };
  }
  // One conducting label (the tortuosity problem) → the one-byte-per-cell binary level.
  const labels: number[] = [];
  for (let l = 0; l < Math.min(256, conductivity.length); l++) if (conductivity[l] > 0) labels.push(l);
  const useMg = (options.preconditioner ?? 'multigrid') === 'multigrid';
  // f32 storage (issue #20) where asked, or where only it fits; it needs a coarse level (multigrid.ts apply).
  let arena: WasmArena | null = null;
  let precision: 'float64' | 'float32' = 'float64';
  if (labels.length === 1 && useMg && (options.kernels ?? 'auto') === 'auto') {
    const want = options.precision ?? 'auto';
    const f32ok = coarseShapes(shape).length > 0;
    if (want !== 'float32' || !f32ok) arena = binaryArena(shape, 'float64');
    if (!arena && want !== 'float64' && f32ok) {
      arena = binaryArena(shape, 'float32');
      if (arena) precision = 'float32';
    }
  }
  const { L, rhs, inlet, outlet } =
    labels.length === 1
      ? assembleBinary(shape, comp.labels, keep, conductivity[labels[0]], axis, arena)
      : assemble(data, shape, comp.labels, keep, conductivity, axis);
  const mg = useMg ? new Multigrid(L, { arena }) : null;
  const size = L.size;
  const vector = (): FineVector => (arena ? (precision === 'float32' ? arena.f32v(size) : arena.f64(size)) : new Float64Array(size));
  // x is kept at the inlet and outlet cells only (issue #20): the currents are all that is read
  // of it, and x = x0 + Σ αₖ pₖ there is a sum over the iterations. That saves a fine-level
  // vector (0.5 GiB at 500³) and its load and store in every CG update; the boundary values
  // are accumulated in f64 even when the vectors are f32.
  const r = vector();
  const z = vector();
  const p = vector();
  // With f32 storage, q = A p is not stored but recomputed from p where it is needed (issue
  // #20): no store and reload of q (8 bytes per cell and iteration) and no separate p update
  // pass, and one fine vector fewer (0.5 GiB of fresh pages at 500³), for a second stencil
  // evaluation per iteration: kernels.wat dirPAp32, rUpdateAp32.
  const fused = arena && precision === 'float32' ? arena : null;
  const q = fused ? null : vector();
  // Where q is stored the vectors are f64 (f32 storage always takes the fused path).
  const matvec = (u: FineVector, v: FineVector): number => (arena ? arena.matvec(L, L.mask!, u as Float64Array, v as Float64Array) : applyOperator(L, u as Float64Array, v as Float64Array));
  /** The new search direction p = z + βp; returns p·Ap (q = Ap where q is stored). */
  const direction = (beta: number): number => {
    if (fused) return fused.direction32(L, L.mask!, p as Float32Array, z as Float32Array, beta);
    if (arena) arena.xpby(p as Float64Array, z as Float64Array, beta);
    else for (let i = 0; i < size; i++) p[i] = z[i] + beta * p[i];
    return matvec(p, q!);
  };
  /** r −= αAp; returns r·r. */
  const rUpdate = (alpha: number): number => {
    if (fused) return fused.residual32(L, L.mask!, r as Float32Array, p as Float32Array, alpha);
    if (arena) return arena.rUpdate(r as Float64Array, q as Float64Array, alpha);
    let rr = 0;
    for (let i = 0; i < size; i++) {
      const ri = r[i] - alpha * q![i];
      r[i] = ri;
      rr += ri * ri;
    }
    return rr;
  };
  // Initial guess x0 (in p, free until the first direction) and r = b − A x0: r is 0 here, so
  // rUpdate with α = 1 (Ap = A x0) gives −A x0, then b is added at the inlet cells.
  linearGuess(L, shape, axis, p);
  const xIn = Float64Array.from(inlet.idx, (i) => p[i]);
  const xOut = Float64Array.from(outlet.idx, (i) => p[i]);
  if (q) matvec(p, q);
  let rr0 = rUpdate(1);
  for (let k = 0; k < rhs.length; k++) {
    const i = inlet.idx[k];
    const old = r[i];
    r[i] += rhs[k];
    rr0 += r[i] * r[i] - old * old;
  }
  const invD = new Float64Array(mg ? 0 : size);
  if (!mg) inverseDiagonal(L, invD);
  /** z = M⁻¹ r; returns r·z. */
  const precondition = (): number => {
    if (mg) return mg.apply(r, z);
    let rz = 0;
    for (let i = 0; i < size; i++) {
      z[i] = r[i] * invD[i];
      rz += r[i] * z[i];
    }
    return rz;
  };
  const bnorm = Math.sqrt(dot(rhs, rhs));
  const maxIt = options.maxIterations ?? (useMg ? 500 : 20000);
  const fluxes = (): [number, number] => {
    let fin = 0;
    let fout = 0;
    for (let k = 0; k < inlet.idx.length; k++) fin += inlet.g[k] * (1 - xIn[k]);
    for (let k = 0; k < outlet.idx.length; k++) fout += outlet.g[k] * xOut[k];
    return [fin, fout];
  };
  let it = 0;
  let fin = 0;
  let fout = 0;
  let converged = false;
  /** Both criteria: relative residual and conservation of the current through the sample. */
  const check = (rr: number): number => {
    const rel = Math.sqrt(rr) / bnorm;
    if (rel <= tol) {
      [fin, fout] = fluxes();
      converged = Math.abs(fin - fout) <= fluxTol * 0.5 * (fin + fout);
    }
    return rel;
  };
  // The initial guess may already be the solution (straight channels): then no iteration.
  let rel = check(rr0);
  const setupMs = performance.now() - t0;
  let rz = converged ? 0 : precondition();
  // p = z (β = 0: p's x0 is multiplied by 0).
  let pAp = converged ? 1 : direction(0);
  const onIteration = options.onIteration;
  const every = Math.max(1, Math.floor(options.progressEvery ?? 10));
  while (!converged && it < maxIt) {
    const alpha = rz / pAp;
    for (let k = 0; k < xIn.length; k++) xIn[k] += alpha * p[inlet.idx[k]];
    for (let k = 0; k < xOut.length; k++) xOut[k] += alpha * p[outlet.idx[k]];
    const rr = rUpdate(alpha);
    it++;
    rel = check(rr);
    if (converged) break;
    if (onIteration && it % every === 0) onIteration(it, rel);
    const rzNew = precondition();
    const beta = rzNew / rz;
    rz = rzNew;
    pAp = direction(beta);
  }
  if (!converged) [fin, fout] = fluxes();
  arena?.release();
  const area = n / shape[AXIS_INDEX[axis]];
  const F = 0.5 * (fin + fout);
  const coefficientBytes = L.mask ? size : size * (3 * 4 + 2 * 8);
  const bytes = coefficientBytes + (q ? 4 : 3) * size * (precision === 'float32' ? 4 : 8) + (mg ? mg.coarseBytes() : size * 8) + n * 4;
  return {
    ...base,
    effective: (F / area) * shape[AXIS_INDEX[axis]],
    percolating: true,
    iterations: it,
    relResidual: rel,
    fluxIn: fin,
    fluxOut: fout,
    fluxImbalance: Math.abs(fin - fout) / F,
    converged,
    wallMs: performance.now() - t0,
    setupMs,
    bytes,
    levels: mg ? mg.levels.length : 1,
    kernels: arena ? 'wasm' : 'js',
    precision,
  };
}

export interface TortuosityResult extends TransportResult {
  /** D_eff/D0 of the phase. */
  dRel: number;
  /** τ = ε / (D_eff/D0), Infinity when the phase does not span the axis. */
  tau: number;
  /** Total volume fraction ε of the phase (isolated pores included). */
  porosity: number;
}

/**
 * Tortuosity factor of the voxels labelled `phase` along `axis`, TauFactor's convention:
 * unit diffusivity in the phase, zero elsewhere; τ = ε/(D_eff/D0) with ε the total phase
 * fraction.
 */
export function tortuosity(
  data: Uint8Array,
  shape: Shape3,
  phase: number,
  axis: Axis,
  options: Omit<TransportOptions, 'axis' | 'conductivity'> = {},
): TortuosityResult {
  const conductivity = new Float64Array(256);
  conductivity[phase] = 1;
  const res = solveTransport(data, shape, { ...options, axis, conductivity });
  // The conducting voxels are the phase's voxels: solveTransport counted them (from the
  // component sizes) unless the caller passed components of its own.
  let porosity = res.conductingFraction;
  if (options.components) {
    let count = 0;
    for (let i = 0; i < data.length; i++) if (data[i] === phase) count++;
    porosity = count / data.length;
  }
  return { ...res, dRel: res.effective, porosity, tau: res.effective > 0 ? porosity / res.effective : Infinity };
}
