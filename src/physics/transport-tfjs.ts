import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';
import { AXIS_INDEX, labelComponents, percolatingMask, type Axis, type Components } from './labelling.js';
import { conductingMask, solveTransport, type TransportOptions, type TransportResult } from './transport.js';

// Types only: the TensorFlow.js module itself is imported on first use, so that importing the
// physics (worker threads, the CLI) does not load it.
import type * as TF from '@tensorflow/tfjs';

/**
 * The GPU path of the τ solver (issue #20, "the GPU path when a GPU is present"): the steady
 * diffusion problem of ./transport.ts for one conducting phase, written in TensorFlow.js tensor
 * ops so that it runs on whatever backend tfjs has — CUDA through `@tensorflow/tfjs-node-gpu`
 * when a user has it installed, and the `cpu`/`wasm` backends here (which run the same tensor
 * program; that is how it is tested on machines without a GPU).
 *
 * The problem is the CPU solver's, unchanged: one finite-volume cell per voxel, unit
 * conductance between face-neighbours of the phase (the harmonic mean of σ and σ, the system
 * divided by σ as in transport.ts' assembleBinary), the Dirichlet values φ = 1 and φ = 0 on the
 * outer faces of the box half a voxel beyond the end cells (conductance 2, TauFactor's end
 * cells: Cooper et al., SoftwareX 5 (2016) 203), no flux through the four side faces (the
 * zero padding of the stencil), and clusters that do not span inlet to outlet removed first, on
 * the CPU, with the same labelling (./labelling.ts). Converged on the same two tests: relative
 * residual ‖b − Ax‖/‖b‖ ≤ tol AND inlet and outlet currents equal within fluxTol.
 *
 * What maps to a GPU: conjugate gradients with the Jacobi (diagonal) preconditioner — every
 * step is an element-wise op, the 7-point stencil (six contiguous slices of the flat padded
 * grid) or a reduction; the step sizes α, β stay on the device as scalar tensors, so the host
 * reads one number back only every `checkEvery` iterations (a read waits for the device). The
 * multigrid preconditioner of the CPU solver is not ported (its Gauss–Seidel smoother is
 * sequential), so this path takes more, cheaper iterations.
 *
 * Precision: the device works in float32 (tfjs on CUDA has no float64). Plain float32 CG was
 * measured to stall with inlet and outlet currents 1–2e-4 apart on 64³ fibre volumes, above the
 * default fluxTol, however long it ran (the rounding of A·x in float32). So the solve is a
 * mixed-precision iterative refinement: the residual b − Ax, the iterate x and both convergence
 * tests in float64 on the host (one pass over the grid per refinement), each correction
 * A e = r solved in float32 on the device until its residual has dropped by `innerTol`.
 *
 * Memory: every step runs in small tf.tidy scopes and each old tensor is disposed as soon as
 * its successor exists, so the device holds ≈ 10 float32 volumes (e, r, p, the mask, the
 * diagonal and its inverse, and a step's temporaries) whatever the iteration count — the test
 * checks that the tensor count returns to where it started. The host's own arrays, per cell of
 * the padded grid: the mask `on` (1 byte), the float64 iterate (8), the float32 diagonal (4) and
 * residual (4) and the right-hand side b (1) for the whole solve, and at the end of each
 * correction its download and the copy of it (dataSync, then slice: 4 + 4) — a peak of 26 bytes
 * per cell plus the kept-cell mask (1 per voxel), the count in `hostBytes` (#20 review: the
 * earlier 21 missed b and the second copy). Not in it: the transient Float32Array.from(on)
 * (4 bytes per cell, during setup, below that peak), the labelling's arrays (the caller's), and
 * whatever the backend keeps of the tensors made from host arrays (the mask, the diagonal — twice,
 * for invDiag and diagT — and each correction's r): on the cpu and wasm backends every tensor is
 * host memory; on tfjs-node-gpu this was not measured.
 */

/** Where a τ solve runs: 'auto' takes the GPU path only when a GPU is there. */
export type SolverDevice = 'auto' | 'cpu' | 'gpu';
export const SOLVER_DEVICES: readonly SolverDevice[] = ['auto', 'cpu', 'gpu'];

export interface TfjsProgress {
  iteration: number;
  /** ‖r‖/‖b‖ of the CG recurrence at that iteration. */
  relResidual: number;
}

export interface TfjsTransportOptions {
  axis: Axis;
  /** As in TransportOptions: exactly one label may conduct (the tortuosity problem). */
  conductivity: ArrayLike<number>;
  /** Components of the conducting mask, when the caller already has them (as in TransportOptions). */
  components?: Components;
  /** Relative residual target (default 1e-5, the CPU solver's). */
  tol?: number;
  /** Allowed relative mismatch of inlet and outlet current (default 1e-4, the CPU solver's). */
  fluxTol?: number;
  /** Default 20 000 (Jacobi-preconditioned CG, as the CPU solver's Jacobi baseline). */
  maxIterations?: number;
  /** Read the residual back (and test convergence) every this many iterations (default 8). */
  checkEvery?: number;
  /**
   * Each float32 correction solve on the device stops when its residual has dropped by this
   * factor (default 1e-2); the float64 tests then decide whether another one is needed.
   * Chosen on development volumes (experiments/solver-gpu-innertol.ts: fibre seeds 1 and 2 at
   * 48³ and 64³, random seed 3 at 32³, a ball at 24³; x and z): total CG iterations 1640 at 1e-2,
   * 1952 at 1e-4, 2200 at 1e-3; all within 5.1e-5 of a tight solve at 1e-2, 3.2e-7 at 1e-3
   * (experiments/results/solver-gpu-innertol.md).
   */
  innerTol?: number;
  /**
   * The 7-point neighbour sum: 'slices' (default; six contiguous slices of the flat padded grid,
   * 13× faster than conv3d on the wasm backend at 48³) or 'conv3d' (one cross-shaped convolution:
   * one pass instead of ≈ 14, untested on a GPU, where cuDNN may make it the faster one).
   */
  stencil?: 'slices' | 'conv3d';
  /** Called at every residual check (device and host). */
  onProgress?: (p: TfjsProgress) => void;
  /**
   * The tfjs backend to run on (default: the active one). The GPU path passes 'tensorflow'
   * (tfjs-node-gpu); tests and the benchmark pass 'cpu' or 'wasm'. The backend is global to a
   * process: the previous one is restored afterwards.
   */
  backend?: string;
  /** The TensorFlow.js module (default: `await import('@tensorflow/tfjs')`). */
  tf?: typeof TF;
}

export interface TfjsTransportResult extends Omit<TransportResult, 'kernels' | 'precision'> {
  kernels: 'tfjs';
  precision: 'float32';
  /** The tfjs backend that ran the tensor program ('tensorflow', 'cpu', 'wasm', …). */
  backend: string;
  /** Float64 residual evaluations after the first, each followed by a float32 correction solve on the device. */
  refinements: number;
  /** `bytes` is the peak of tfjs memory (the device's, on a GPU); this is the host's arrays. */
  hostBytes: number;
}

function loadTf(tf?: typeof TF): Promise<typeof TF> {
  return tf ? Promise.resolve(tf) : import('@tensorflow/tfjs');
}

/** The single conducting label and its σ, or a BadInputError. */
function conductingLabel(conductivity: ArrayLike<number>): { label: number; sigma: number } {
  const labels: number[] = [];
  for (let l = 0; l < Math.min(256, conductivity.length); l++) {
    const s = conductivity[l];
    if (!(Number.isFinite(s) && s >= 0)) throw new BadInputError(`conductivity of label ${l} must be a finite number ≥ 0, got ${s}`, 'conductivity');
    if (s > 0) labels.push(l);
  }
  if (labels.length !== 1) {
    throw new BadInputError(
      `the tensor (GPU) solver takes exactly one conducting label (the tortuosity problem), got ${labels.length}${labels.length ? ` (${labels.join(', ')})` : ''}; use device 'cpu' for multi-phase conduction`,
      'conductivity',
    );
  }
  return { label: labels[0], sigma: conductivity[labels[0]] };
}

function checkCommon(data: Uint8Array, shape: Shape3, o: { axis: Axis; tol?: number; fluxTol?: number; maxIterations?: number }): void {
  if (!(o.axis in AXIS_INDEX)) throw new BadInputError(`expected axis x, y or z, got ${String(o.axis)}`, 'axis');
  if (!shape.every((n) => Number.isInteger(n) && n >= 1) || data.length !== shape[0] * shape[1] * shape[2]) {
    throw new BadInputError(`voxel data length ${data.length} does not match shape ${shape.join('×')}`, 'shape');
  }
  if (o.tol !== undefined && !(o.tol > 0 && o.tol < 1)) throw new BadInputError(`expected 0 < tol < 1, got ${o.tol}`, 'tol');
  if (o.fluxTol !== undefined && !(o.fluxTol > 0 && o.fluxTol < 1)) throw new BadInputError(`expected 0 < fluxTol < 1, got ${o.fluxTol}`, 'fluxTol');
  if (o.maxIterations !== undefined && !(Number.isInteger(o.maxIterations) && o.maxIterations >= 1)) {
    throw new BadInputError(`expected an integer maxIterations ≥ 1, got ${o.maxIterations}`, 'maxIterations');
  }
}

/**
 * Solves the transport problem of one conducting phase with tensor ops on a tfjs backend
 * (see the file comment). Same result fields as solveTransport, plus the backend that ran.
 */
export async function solveTransportTfjs(data: Uint8Array, shape: Shape3, options: TfjsTransportOptions): Promise<TfjsTransportResult> {
  const t0 = performance.now();
  checkCommon(data, shape, options);
  const { axis } = options;
  const { sigma } = conductingLabel(options.conductivity);
  const checkEvery = options.checkEvery ?? 8;
  if (!(Number.isInteger(checkEvery) && checkEvery >= 1)) throw new BadInputError(`expected an integer checkEvery ≥ 1, got ${checkEvery}`, 'checkEvery');
  const tol = options.tol ?? 1e-5;
  const fluxTol = options.fluxTol ?? 1e-4;
  const maxIt = options.maxIterations ?? 20000;
  const innerTol = options.innerTol ?? 1e-2;
  const stencil = options.stencil ?? 'slices';
  if (stencil !== 'slices' && stencil !== 'conv3d') throw new BadInputError(`expected stencil slices or conv3d, got ${String(stencil)}`, 'stencil');
  if (!(innerTol > 0 && innerTol < 1)) throw new BadInputError(`expected 0 < innerTol < 1, got ${innerTol}`, 'innerTol');
  const n = data.length;
  const ax = AXIS_INDEX[axis];
  const N = shape[ax];

  // Cluster removal on the CPU with the labelling of the CPU solver (one pass, cheap next to the solve).
  const comp = options.components ?? labelComponents(conductingMask(data, options.conductivity), shape);
  let conducting = 0;
  for (let l = 1; l <= comp.count; l++) conducting += comp.sizes[l];
  const { mask: keep, count: spanning } = percolatingMask(comp, axis);
  const base = { axis, conductingFraction: conducting / n, spanningFraction: spanning / n };

  const tf = await loadTf(options.tf);
  const previous = tf.getBackend();
  if (options.backend && options.backend !== previous) {
    if (!(await tf.setBackend(options.backend))) throw new Error(`TensorFlow.js backend '${options.backend}' failed to initialise`);
  }
  await tf.ready();
  const backend = tf.getBackend();
  const done = (r: Omit<TfjsTransportResult, 'backend' | 'kernels' | 'precision' | 'axis' | 'conductingFraction' | 'spanningFraction'>): TfjsTransportResult => ({
    ...base,
    ...r,
    kernels: 'tfjs',
    precision: 'float32',
    backend,
  });
  try {
    if (spanning === 0) {
      const ms = performance.now() - t0;
      return done({ effective: 0, percolating: false, iterations: 0, refinements: 0, hostBytes: 0, relResidual: 0, fluxIn: 0, fluxOut: 0, fluxImbalance: 0, converged: true, wallMs: ms, setupMs: ms, bytes: 0, levels: 0 });
    }
    return solveOn(tf, keep, shape, { ax, N, sigma, tol, fluxTol, maxIt, checkEvery, innerTol, stencil, onProgress: options.onProgress, t0, done });
  } finally {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}

interface SolveSettings {
  ax: number;
  N: number;
  sigma: number;
  tol: number;
  fluxTol: number;
  maxIt: number;
  checkEvery: number;
  innerTol: number;
  stencil: 'slices' | 'conv3d';
  onProgress?: (p: TfjsProgress) => void;
  t0: number;
  done: (r: Omit<TfjsTransportResult, 'backend' | 'kernels' | 'precision' | 'axis' | 'conductingFraction' | 'spanningFraction'>) => TfjsTransportResult;
}

function solveOn(tf: typeof TF, keep: Uint8Array, shape: Shape3, s: SolveSettings): TfjsTransportResult {
  const { ax, N } = s;
  const [nx, ny, nz] = shape;
  const n = keep.length;
  const startBytes = tf.memory().numBytes;
  let peakBytes = 0;
  const mark = (): void => {
    peakBytes = Math.max(peakBytes, tf.memory().numBytes - startBytes);
  };
  // The grid of the CPU solver (multigrid.ts Level): one ghost layer around the box, stored
  // flat, so the six face-neighbours of cell i are i ± 1, i ± s1, i ± s0 and never wrap into
  // another row (the ghosts hold 0: no flux through the side faces). On the device the
  // neighbour sum is six contiguous slices of the vector padded by s0 zeros — measured 13×
  // faster than a cross-shaped conv3d on the wasm backend at 48³ (3.6 vs 46 ms) and 5× on cpu.
  const s1 = nz + 2;
  const s0 = (ny + 2) * s1;
  const size = (nx + 2) * s0;
  const offsets = [s0 - 1, s0 + 1, s0 - s1, s0 + s1, 0, 2 * s0];
  // The alternative, `stencil: 'conv3d'`: one op and one output volume instead of ≈ 14 passes —
  // slower on the wasm backend (above), not measured on cuDNN, where it may win.
  const cross = new Float32Array(27);
  for (const k of [4, 10, 12, 14, 16, 22]) cross[k] = 1;
  const kernel = s.stencil === 'conv3d' ? tf.tensor5d(cross, [3, 3, 3, 1, 1]) : null;
  const neighbours = (u: TF.Tensor1D): TF.Tensor1D => {
    if (kernel) return tf.tidy(() => tf.conv3d(u.reshape([1, nx + 2, ny + 2, nz + 2, 1]) as TF.Tensor5D, kernel as TF.Tensor5D, 1, 'same').reshape([size]) as TF.Tensor1D);
    const padded = tf.pad(u, [[s0, s0]]);
    let acc: TF.Tensor1D | null = null;
    for (const o of offsets) {
      const t = padded.slice(o, size);
      if (acc) {
        const a2 = acc.add(t) as TF.Tensor1D;
        acc.dispose();
        t.dispose();
        acc = a2;
      } else acc = t;
    }
    padded.dispose();
    return acc!;
  };

  // Host side (float64): the kept cells, their diagonal (kept face-neighbours + 2 per Dirichlet
  // face: conductance 2 to a face half a voxel away), the inlet and outlet cells, and the
  // iterate x, started from the linear potential of a homogeneous medium (transport.ts
  // linearGuess: exact for straight channels, and most of the smooth error elsewhere).
  const on = new Uint8Array(size);
  const x = new Float64Array(size);
  const inletIdx: number[] = [];
  const outletIdx: number[] = [];
  for (let a = 0, j = 0; a < nx; a++)
    for (let c = 0; c < ny; c++)
      for (let e = 0; e < nz; e++, j++) {
        if (!keep[j]) continue;
        const i = (a + 1) * s0 + (c + 1) * s1 + e + 1;
        on[i] = 1;
        const k = ax === 0 ? a : ax === 1 ? c : e;
        if (k === 0) inletIdx.push(i);
        if (k === N - 1) outletIdx.push(i);
        x[i] = 1 - (k + 0.5) / N;
      }
  const diag = new Float32Array(size);
  for (let i = s0; i < size - s0; i++) {
    if (on[i]) diag[i] = on[i - 1] + on[i + 1] + on[i - s1] + on[i + s1] + on[i - s0] + on[i + s0];
  }
  for (const i of inletIdx) diag[i] += 2;
  for (const i of outletIdx) diag[i] += 2;
  const bnorm = 2 * Math.sqrt(inletIdx.length);
  const r32 = new Float32Array(size);
  // b = 2·φ_in = 2 at the inlet cells.
  const b = new Uint8Array(size);
  for (const i of inletIdx) b[i] = 2;
  /** r = b − A x in float64 (stored as float32 for the device); returns ‖r‖² (float64). */
  const residual = (): number => {
    let rr = 0;
    for (let i = s0; i < size - s0; i++) {
      if (!on[i]) continue;
      const v = b[i] - diag[i] * x[i] + (x[i - 1] + x[i + 1] + x[i - s1] + x[i + s1] + x[i - s0] + x[i + s0]);
      r32[i] = v;
      rr += v * v;
    }
    return rr;
  };
  /** Currents through the inlet and outlet faces in units of σ, from the float64 iterate. */
  const fluxes = (): [number, number] => {
    let a = 0;
    let c = 0;
    for (const i of inletIdx) a += 2 * (1 - x[i]);
    for (const i of outletIdx) c += 2 * x[i];
    return [a, c];
  };

  const active = tf.tensor1d(Float32Array.from(on));
  const invDiag = tf.tidy(() => active.div(tf.maximum(tf.tensor1d(diag), 1)) as TF.Tensor1D);
  // A u = diag·u − active·(Σ neighbours u); u is zero off the kept cells, so only kept
  // neighbours contribute (unit conductance between two kept cells).
  const diagT = tf.tensor1d(diag);
  let it = 0;
  const apply = (u: TF.Tensor1D): TF.Tensor1D => {
    const nb = neighbours(u);
    if (it <= 1) mark();
    const v = tf.tidy(() => diagT.mul(u).sub(active.mul(nb)) as TF.Tensor1D);
    nb.dispose();
    return v;
  };

  let fin = 0;
  let fout = 0;
  let converged = false;
  let rel = Infinity;
  let setupMs = 0;
  let refinements = 0;
  /**
   * One correction: CG with the Jacobi preconditioner for A e = r on the device in float32,
   * from e = 0, until its own residual has dropped by innerTol (or the iteration budget is
   * spent). The step sizes stay on the device; the host reads ‖r‖² every checkEvery steps.
   */
  const correction = (rnorm: number): Float32Array => {
    let r = tf.tensor1d(r32);
    let p = tf.tidy(() => invDiag.mul(r) as TF.Tensor1D);
    let rz = tf.tidy(() => r.mul(p).sum() as TF.Scalar);
    let e = tf.zerosLike(r);
    try {
      while (it < s.maxIt) {
        // Small tidy scopes, each old tensor disposed as soon as its successor exists, so that
        // only a few temporaries of the volume's size live at once; divNoNan keeps a step with
        // r = 0 exactly from making NaNs.
        const q = apply(p);
        const alpha = tf.tidy(() => rz.divNoNan(p.mul(q).sum()) as TF.Scalar);
        const e2 = tf.tidy(() => e.add(p.mul(alpha)) as TF.Tensor1D);
        e.dispose();
        e = e2;
        const r2 = tf.tidy(() => r.sub(q.mul(alpha)) as TF.Tensor1D);
        r.dispose();
        q.dispose();
        alpha.dispose();
        r = r2;
        it++;
        if (it % s.checkEvery === 0) {
          const rr = tf.tidy(() => r.square().sum() as TF.Scalar);
          const inner = Math.sqrt(rr.dataSync()[0]);
          rr.dispose();
          s.onProgress?.({ iteration: it, relResidual: inner / bnorm });
          if (inner <= s.innerTol * rnorm) break;
        }
        const z = tf.tidy(() => invDiag.mul(r) as TF.Tensor1D);
        const rz2 = tf.tidy(() => r.mul(z).sum() as TF.Scalar);
        const p2 = tf.tidy(() => z.add(p.mul(rz2.divNoNan(rz))) as TF.Tensor1D);
        if (it === 1) mark();
        z.dispose();
        p.dispose();
        rz.dispose();
        p = p2;
        rz = rz2;
      }
      // A copy: on the wasm backend dataSync may view memory that the dispose below frees.
      return (e.dataSync() as Float32Array).slice();
    } finally {
      tf.dispose([r, p, rz, e]);
    }
  };
  try {
    // Mixed-precision iterative refinement (Wilkinson; Moler, JACM 14 (1967) 316): the
    // residual, the iterate and both convergence tests in float64 on the host, the corrections
    // in float32 on the device. Measured on 32³–64³ volumes: plain float32 CG stalls with the
    // inlet and outlet currents 1–2e-4 apart (the rounding of A·x in float32), above the
    // default fluxTol, however long it runs; with the float64 residual it meets the CPU
    // solver's criteria.
    for (;;) {
      const rr = residual();
      rel = Math.sqrt(rr) / bnorm;
      if (!Number.isFinite(rel)) throw new Error(`tensor solver (${tf.getBackend()}): the residual is ${rel} after ${it} iterations`);
      if (rel <= s.tol) {
        [fin, fout] = fluxes();
        converged = Math.abs(fin - fout) <= s.fluxTol * 0.5 * (fin + fout);
      }
      if (refinements === 0) setupMs = performance.now() - s.t0;
      s.onProgress?.({ iteration: it, relResidual: rel });
      // The initial guess may already be the solution (straight channels): then no iteration.
      if (converged || it >= s.maxIt) break;
      const e = correction(Math.sqrt(rr));
      for (let i = s0; i < size - s0; i++) x[i] += e[i];
      refinements++;
    }
    if (!converged) [fin, fout] = fluxes();
  } finally {
    tf.dispose([active, invDiag, diagT]);
    kernel?.dispose();
  }
  const area = n / N;
  const F = 0.5 * (fin + fout);
  // σ scales the currents only (the system was divided by it).
  return s.done({
    effective: s.sigma * (F / area) * N,
    percolating: true,
    iterations: it,
    refinements,
    relResidual: rel,
    fluxIn: s.sigma * fin,
    fluxOut: s.sigma * fout,
    fluxImbalance: Math.abs(fin - fout) / F,
    converged,
    wallMs: performance.now() - s.t0,
    setupMs,
    bytes: peakBytes,
    // on, x, diag, r32, b, and a correction's download and its copy (see the file comment).
    hostBytes: size * (1 + 8 + 4 + 4 + 1 + 4 + 4) + n,
    levels: 1,
  });
}

/** What the GPU probe found: whether tfjs-node-gpu loaded and libtensorflow sees a CUDA GPU. */
export interface GpuProbe {
  available: boolean;
  /** The package that registered the native backend, or null. */
  package: string | null;
  /** One line for messages: what is there or what is missing. */
  detail: string;
}

const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
let probed: Promise<GpuProbe> | null = null;

/**
 * Loads `@tensorflow/tfjs-node-gpu` once per process (an optional dependency: it downloads
 * libtensorflow at install time and is absent here; STACK.md) and asks its backend whether
 * libtensorflow runs on a GPU (NodeJSKernelBackend.isGPUPackage and .isUsingGpuDevice, set from
 * the binding when the backend starts). The backend active before the probe is restored
 * afterwards (see probeGpuWith).
 */
export function probeGpu(): Promise<GpuProbe> {
  probed ??= probeGpuWith(() => {
    // A variable, not a literal: TypeScript must not require the absent package's types.
    const specifier: string = GPU_PACKAGE;
    return import(specifier);
  });
  return probed;
}

/**
 * probeGpu's body with the import of the native package given (tests pass a stand-in).
 *
 * The active backend is read BEFORE that import (#20 review): tfjs-node(-gpu)'s index registers
 * 'tensorflow' and calls tf.setBackend('tensorflow') as a side effect of being imported, so a
 * getBackend() after it always said 'tensorflow' and the process stayed on libtensorflow even
 * when the probe found no GPU. getBackend() only reads the engine's backend name (tfjs-core 4.22
 * globals.js: `ENGINE.backendName`), so reading it starts no backend. When none was active
 * before, the import leaves 'tensorflow' selected: tfjs offers no way back to "none chosen"
 * short of engine.reset() (which also drops every tensor and flag), and 'tensorflow' is what tfjs
 * would start by default anyway once the package is registered (priority 3, above wasm's 2 and
 * cpu's 1) — as the surrogates' ensureBackend() prefers it too (src/surrogate/backend.ts).
 */
export async function probeGpuWith(importNative: () => Promise<unknown>, tfModule?: typeof TF): Promise<GpuProbe> {
  const tf = await loadTf(tfModule);
  const previous: string | null | undefined = tf.getBackend();
  try {
    try {
      await importNative();
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      return { available: false, package: null, detail: `${GPU_PACKAGE} is not installed or did not load (${why})` };
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      return { available: false, package: GPU_PACKAGE, detail: `${GPU_PACKAGE} loaded but registered its backend on another copy of @tensorflow/tfjs-core (install versions that deduplicate: 4.22.0 for both)` };
    }
    if (!(await tf.setBackend('tensorflow'))) return { available: false, package: GPU_PACKAGE, detail: `${GPU_PACKAGE}: the 'tensorflow' backend failed to initialise` };
    const b = tf.backend() as unknown as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
    if (b.isGPUPackage && b.isUsingGpuDevice) return { available: true, package: GPU_PACKAGE, detail: `${GPU_PACKAGE} on a CUDA GPU` };
    return { available: false, package: GPU_PACKAGE, detail: `${GPU_PACKAGE} loaded but libtensorflow sees no CUDA GPU (driver, CUDA 11.2 and cuDNN 8.1 libraries on the library path?)` };
  } finally {
    if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
}

/** How to get the GPU path, for the error of device 'gpu' without one. */
export const GPU_INSTALL_HINT =
  `the GPU path needs ${GPU_PACKAGE}@4.22.0 and an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1: \`npm install ${GPU_PACKAGE}@4.22.0\` ` +
  '(its install script downloads libtensorflow; without internet access set TFJS_NODE_BASE_URI to a mirror of the libtensorflow archives); ' +
  "or use device 'auto' (the CPU solver when there is no GPU) or 'cpu'";

export interface DeviceTransportOptions extends TransportOptions {
  /**
   * 'cpu': the multigrid solver of ./transport.ts. 'gpu': the tensor solver on
   * tfjs-node-gpu, an error when there is no GPU (never a silent fall-back). 'auto' (default):
   * the tensor solver when tfjs-node-gpu loaded and reports a GPU and one label conducts,
   * else the CPU solver.
   */
  device?: SolverDevice;
  /** Tensor solver settings (see TfjsTransportOptions). */
  checkEvery?: number;
  innerTol?: number;
  stencil?: 'slices' | 'conv3d';
  onProgress?: (p: TfjsProgress) => void;
  /** Replaces the GPU probe (tests). */
  probe?: () => Promise<GpuProbe>;
  /** The tfjs backend of the tensor solver (default 'tensorflow', the GPU's; tests take 'wasm'). */
  tfjsBackend?: string;
}

/** Either solver's result, with which path ran. */
export type DeviceTransportResult = (TransportResult | TfjsTransportResult) & {
  /** 'gpu' when the tensor solver ran; 'cpu' otherwise. */
  device: 'cpu' | 'gpu';
  /** 'multigrid-pcg' (./transport.ts) or 'tfjs-jacobi-pcg' (this file). */
  solver: 'multigrid-pcg' | 'tfjs-jacobi-pcg';
  /** The tfjs backend for the tensor solver; the kernels ('wasm' or 'js') for the CPU solver. */
  backend: string;
  /** Why this path: the probe's line. */
  reason: string;
};

/**
 * The τ solve on the device `options.device` asks for (see DeviceTransportOptions); the
 * result says which path ran (`device`, `solver`, `backend`) and why (`reason`).
 */
export async function solveTransportOnDevice(data: Uint8Array, shape: Shape3, options: DeviceTransportOptions): Promise<DeviceTransportResult> {
  const device = options.device ?? 'auto';
  if (!SOLVER_DEVICES.includes(device)) throw new BadInputError(`expected device auto, cpu or gpu, got ${String(device)}`, 'device');
  const cpu = (reason: string): DeviceTransportResult => {
    const r = solveTransport(data, shape, options);
    return { ...r, device: 'cpu', solver: 'multigrid-pcg', backend: r.kernels, reason };
  };
  if (device === 'cpu') return cpu("device 'cpu'");
  let single = true;
  try {
    conductingLabel(options.conductivity);
  } catch (e) {
    if (device === 'gpu') throw e;
    single = false;
  }
  if (!single) return cpu('more than one conducting label: the tensor solver takes one');
  const probe = await (options.probe ?? probeGpu)();
  if (!probe.available) {
    if (device === 'gpu') throw new BadInputError(`no GPU for the tensor solver: ${probe.detail}; ${GPU_INSTALL_HINT}`, 'device');
    return cpu(`no GPU: ${probe.detail}`);
  }
  const r = await solveTransportTfjs(data, shape, { ...options, backend: options.tfjsBackend ?? 'tensorflow' });
  return { ...r, device: 'gpu', solver: 'tfjs-jacobi-pcg', reason: probe.detail };
}

/** tortuosity() of ./transport.ts on the device `options.device` asks for. */
export async function tortuosityOnDevice(
  data: Uint8Array,
  shape: Shape3,
  phase: number,
  axis: Axis,
  options: Omit<DeviceTransportOptions, 'axis' | 'conductivity'> = {},
): Promise<DeviceTransportResult & { dRel: number; tau: number; porosity: number }> {
  if (!(Number.isInteger(phase) && phase >= 0 && phase <= 255)) throw new BadInputError(`phase must be a label 0..255, got ${phase}`, 'phase');
  const conductivity = new Float64Array(256);
  conductivity[phase] = 1;
  const res = await solveTransportOnDevice(data, shape, { ...options, axis, conductivity });
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === phase) count++;
  const porosity = count / data.length;
  return { ...res, dRel: res.effective, porosity, tau: res.effective > 0 ? porosity / res.effective : Infinity };
}
