/**
 * Geometric multigrid for the 7-point finite-volume operator on a voxel grid, used as the
 * preconditioner of conjugate gradients (src/physics/transport.ts).
 *
 * Why this design:
 * - Coarsening by 2×2×2 aggregation with piecewise-constant prolongation P and the Galerkin
 *   coarse operator Pᵀ A P. For a 7-point stencil this product is again a 7-point stencil: the
 *   conductance between two coarse cells is the sum of the fine face conductances across their
 *   shared interface. The coarse operator therefore inherits the geometry of the pore space
 *   exactly (no averaging of a binary coefficient field), which is what makes the method
 *   robust on porous media where rediscretised coarse operators fail (cf. Notay, "An
 *   aggregation-based algebraic multigrid method", ETNA 37, 2010; Braess, 1995, on scaling
 *   the coarse correction of piecewise-constant interpolation).
 * - Symmetric Gauss–Seidel smoothing (forward before, backward after the coarse correction)
 *   and a W-cycle, so the preconditioner is a fixed symmetric positive definite operator and
 *   plain CG applies. With a coarsening factor of 8 a W-cycle costs only about 1/(1 − 2/8) =
 *   4/3 of the fine-level work.
 * - The coarsest level (≤ COARSEST cells) is solved exactly by dense Cholesky.
 *
 * Storage: every level is padded by one ghost layer on each side, so stencil loops need no
 * bounds tests; ghost cells carry zero conductance and zero solution. g0[i] is the conductance
 * between cell i and i + s0 (and likewise g1, g2); d is the diagonal (sum of face conductances
 * plus the Dirichlet boundary conductance); inactive cells have d = 0 and invD = 0.
 *
 * A fine level with a single conducting phase (the tortuosity problem: conductance 1 between
 * phase voxels, 2 to the outer faces) is stored as one byte per cell instead: six face bits
 * and two boundary bits (FACE_*). That moves 1 byte instead of 28 bytes of coefficients per
 * cell and sweep — the fine-level sweeps are memory-bound — and makes 500³ fit in memory.
 */

import type { FineVector, WasmArena } from './kernels.js';

export interface Level {
  /** Interior dimensions. */
  n: [number, number, number];
  /** Padded strides along axes 0 and 1 (axis 2 has stride 1). */
  s0: number;
  s1: number;
  size: number;
  g0: Float32Array;
  g1: Float32Array;
  g2: Float32Array;
  d: Float64Array;
  invD: Float64Array;
  /** Binary level: face/boundary bits per cell (g0…invD are then empty). */
  mask?: Uint8Array;
}

/** Bits of a binary level's cell byte: faces to −s0, +s0, −s1, +s1, −1, +1, then inlet, outlet. */
export const FACE_M0 = 1;
export const FACE_P0 = 2;
export const FACE_M1 = 4;
export const FACE_P1 = 8;
export const FACE_M2 = 16;
export const FACE_P2 = 32;
export const BND_IN = 64;
export const BND_OUT = 128;

/** Diagonal of a binary cell (face count + 2 per boundary face) and its inverse, by cell byte. */
export const D_LUT = new Float64Array(256);
export const INV_LUT = new Float64Array(256);
for (let m = 0; m < 256; m++) {
  let d = 0;
  for (let b = 0; b < 6; b++) d += (m >> b) & 1;
  d += 2 * ((m >> 6) & 1) + 2 * ((m >> 7) & 1);
  D_LUT[m] = d;
  INV_LUT[m] = d > 0 ? 1 / d : 0;
}

/** A binary level; `mask` (zeroed, of the padded size) may be supplied, e.g. from a WasmArena. */
export function createMaskLevel(n: [number, number, number], mask?: Uint8Array): Level {
  const s1 = n[2] + 2;
  const s0 = (n[1] + 2) * s1;
  const size = (n[0] + 2) * s0;
  const e32 = new Float32Array(0);
  const e64 = new Float64Array(0);
  return { n, s0, s1, size, g0: e32, g1: e32, g2: e32, d: e64, invD: e64, mask: mask ?? new Uint8Array(size) };
}

/** Diagonal inverse of cell i (either storage). */
export function inverseDiagonal(L: Level, out: Float64Array): void {
  if (L.mask) for (let i = 0; i < L.size; i++) out[i] = INV_LUT[L.mask[i]];
  else out.set(L.invD);
}

/** The same operator with explicit coefficients (for the direct solver of a tiny volume). */
function expand(L: Level): Level {
  const m = L.mask;
  if (!m) return L;
  const F = createLevel(L.n);
  for (let i = 0; i < L.size; i++) {
    F.g0[i] = (m[i] >> 1) & 1;
    F.g1[i] = (m[i] >> 3) & 1;
    F.g2[i] = (m[i] >> 5) & 1;
    F.d[i] = D_LUT[m[i]];
  }
  finishDiagonal(F);
  return F;
}

/** Largest coarsest level solved directly. */
const COARSEST = 64;

/** An explicit level, its arrays from `arena` when one is given. */
export function createLevel(n: [number, number, number], arena?: WasmArena | null): Level {
  const s1 = n[2] + 2;
  const s0 = (n[1] + 2) * s1;
  const size = (n[0] + 2) * s0;
  const f32 = (): Float32Array => (arena ? arena.f32(size) : new Float32Array(size));
  const f64 = (): Float64Array => (arena ? arena.f64(size) : new Float64Array(size));
  return { n, s0, s1, size, g0: f32(), g1: f32(), g2: f32(), d: f64(), invD: f64() };
}

/** Interior shape of the next coarser level (aggregates of two, or one along an axis of length 1). */
function coarseShape(n: [number, number, number]): [number, number, number] {
  return n.map((k) => (k > 1 ? Math.ceil(k / 2) : 1)) as [number, number, number];
}

/** Interior shapes of the coarse levels a Multigrid builds over a fine level of shape n. */
export function coarseShapes(n: [number, number, number]): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  let m = n;
  while (m[0] * m[1] * m[2] > COARSEST && m.some((k) => k > 1)) {
    m = coarseShape(m);
    out.push(m);
  }
  return out;
}

export function finishDiagonal(L: Level): void {
  const { d, invD } = L;
  for (let i = 0; i < L.size; i++) invD[i] = d[i] > 0 ? 1 / d[i] : 0;
}

/** y = A x on a level (ghost entries of y are left untouched at zero); returns x·y. */
export function applyOperator(L: Level, x: Float64Array, y: Float64Array): number {
  if (L.mask) return applyMask(L, L.mask, x, y);
  const { g0, g1, g2, d, s0, s1 } = L;
  const [n0, n1, n2] = L.n;
  let xy = 0;
  for (let a = 1; a <= n0; a++) {
    for (let b = 1; b <= n1; b++) {
      const base = a * s0 + b * s1;
      for (let i = base + 1, end = base + n2; i <= end; i++) {
        y[i] =
          d[i] * x[i] -
          g0[i - s0] * x[i - s0] -
          g0[i] * x[i + s0] -
          g1[i - s1] * x[i - s1] -
          g1[i] * x[i + s1] -
          g2[i - 1] * x[i - 1] -
          g2[i] * x[i + 1];
        xy += x[i] * y[i];
      }
    }
  }
  return xy;
}

function gsForward(L: Level, x: Float64Array, b: Float64Array): void {
  if (L.mask) {
    gsMask(L, L.mask, x, b, true);
    return;
  }
  const { g0, g1, g2, invD, s0, s1 } = L;
  const [n0, n1, n2] = L.n;
  for (let a = 1; a <= n0; a++) {
    for (let c = 1; c <= n1; c++) {
      const base = a * s0 + c * s1;
      for (let i = base + 1, end = base + n2; i <= end; i++) {
        x[i] =
          (b[i] +
            g0[i - s0] * x[i - s0] +
            g0[i] * x[i + s0] +
            g1[i - s1] * x[i - s1] +
            g1[i] * x[i + s1] +
            g2[i - 1] * x[i - 1] +
            g2[i] * x[i + 1]) *
          invD[i];
      }
    }
  }
}

/** Backward sweep; returns b·x after the sweep (CG needs r·z, and r = b on the fine level). */
function gsBackward(L: Level, x: Float64Array, b: Float64Array): number {
  if (L.mask) return gsMask(L, L.mask, x, b, false);
  let bx = 0;
  const { g0, g1, g2, invD, s0, s1 } = L;
  const [n0, n1, n2] = L.n;
  for (let a = n0; a >= 1; a--) {
    for (let c = n1; c >= 1; c--) {
      const base = a * s0 + c * s1;
      for (let i = base + n2; i > base; i--) {
        x[i] =
          (b[i] +
            g0[i - s0] * x[i - s0] +
            g0[i] * x[i + s0] +
            g1[i - s1] * x[i - s1] +
            g1[i] * x[i + s1] +
            g2[i - 1] * x[i - 1] +
            g2[i] * x[i + 1]) *
          invD[i];
        bx += b[i] * x[i];
      }
    }
  }
  return bx;
}

// ─── Binary-level kernels ───
//
// Invariant: every vector a binary level multiplies (the smoother's iterate, CG's search
// direction) is exactly 0 at inactive cells (solid, removed clusters, ghosts). A face between
// two active cells has conductance 1 and a face to an inactive cell conductance 0, so under
// the invariant the off-diagonal part of a row is simply the sum of the six neighbours' values
// and the face bits are not needed in the kernels — only the diagonal, through D_LUT/INV_LUT.
// Outputs at inactive cells are forced to 0 by ACT_LUT (or by INV_LUT = 0), which keeps the
// invariant. This removes six bit extractions, six int→double conversions and six
// multiplications per cell from every sweep (issue #4: τ at 128³ well under a second).
//
// The Gauss–Seidel sweeps carry the freshly updated neighbour along the row in a local
// (prev) and add it last: the loop-carried dependency is then one addition and one
// multiplication, with no store-to-load round trip through memory.

/** 1 for an active cell byte (any face or boundary bit), 0 for an inactive one. */
export const ACT_LUT = new Float64Array(256);
for (let m = 1; m < 256; m++) ACT_LUT[m] = 1;

function applyMask(L: Level, mask: Uint8Array, x: Float64Array, y: Float64Array): number {
  const { s0, s1 } = L;
  const [n0, n1, n2] = L.n;
  let xy = 0;
  for (let a = 1; a <= n0; a++) {
    for (let b = 1; b <= n1; b++) {
      const base = a * s0 + b * s1;
      for (let i = base + 1, end = base + n2; i <= end; i++) {
        const m = mask[i];
        const xi = x[i];
        const v = ACT_LUT[m] * (D_LUT[m] * xi - (x[i - s0] + x[i + s0] + x[i - s1] + x[i + s1] + x[i - 1] + x[i + 1]));
        y[i] = v;
        xy += xi * v;
      }
    }
  }
  return xy;
}

function gsMask(L: Level, mask: Uint8Array, x: Float64Array, b: Float64Array, forward: boolean): number {
  const { s0, s1 } = L;
  const [n0, n1, n2] = L.n;
  let bx = 0;
  if (forward) {
    for (let a = 1; a <= n0; a++) {
      for (let c = 1; c <= n1; c++) {
        const base = a * s0 + c * s1;
        let prev = x[base];
        for (let i = base + 1, end = base + n2; i <= end; i++) {
          const s = b[i] + x[i - s0] + x[i + s0] + x[i - s1] + x[i + s1] + x[i + 1];
          prev = (s + prev) * INV_LUT[mask[i]];
          x[i] = prev;
          bx += b[i] * prev;
        }
      }
    }
    return bx;
  }
  for (let a = n0; a >= 1; a--) {
    for (let c = n1; c >= 1; c--) {
      const base = a * s0 + c * s1;
      let prev = x[base + n2 + 1];
      for (let i = base + n2; i > base; i--) {
        const s = b[i] + x[i - s0] + x[i + s0] + x[i - s1] + x[i + s1] + x[i - 1];
        prev = (s + prev) * INV_LUT[mask[i]];
        x[i] = prev;
        bx += b[i] * prev;
      }
    }
  }
  return bx;
}

/** Coarse index of each fine interior coordinate, per axis (aggregates of 2, or 1 if n = 1). */
function coarseMap(n: number, stride: number): Int32Array {
  const m = new Int32Array(n + 2);
  const f = n > 1 ? 2 : 1;
  for (let a = 1; a <= n; a++) m[a] = (Math.floor((a - 1) / f) + 1) * stride;
  return m;
}

/**
 * Galerkin coarse operator Pᵀ A P for piecewise-constant P over 2×2×2 aggregates. A binary
 * level takes coarsenBinary unless `generic` (the reference its test compares with).
 */
export function coarsen(F: Level, arena: WasmArena | null, generic = false): { C: Level; m0: Int32Array; m1: Int32Array } {
  const C = createLevel(coarseShape(F.n), arena);
  const m0 = coarseMap(F.n[0], C.s0);
  const m1 = coarseMap(F.n[1], C.s1);
  if (F.mask && !generic) coarsenBinary(F, F.mask, C, m0, m1);
  else coarsenGeneric(F, C, m0, m1);
  // Roundoff can leave a tiny non-zero diagonal for an aggregate with no active cell.
  for (let I = 0; I < C.size; I++) if (C.d[I] < 1e-12) C.d[I] = 0;
  finishDiagonal(C);
  return { C, m0, m1 };
}

function coarsenGeneric(F: Level, C: Level, m0: Int32Array, m1: Int32Array): void {
  const m2 = coarseMap(F.n[2], 1);
  const { s0, s1 } = F;
  const mask = F.mask;
  const [n0, n1, n2] = F.n;
  // With aggregates of two (1-based index a: cells a and a + 1 for odd a), the face between a
  // and a + 1 lies inside an aggregate exactly when a is odd.
  for (let a = 1; a <= n0; a++) {
    const in0 = n0 > 1 && (a & 1) === 1;
    for (let b = 1; b <= n1; b++) {
      const in1 = n1 > 1 && (b & 1) === 1;
      const base = a * s0 + b * s1;
      const cb = m0[a] + m1[b];
      for (let c = 1; c <= n2; c++) {
        const i = base + c;
        const I = cb + m2[c];
        const fm = mask ? mask[i] : 0;
        const ga = mask ? (fm >> 1) & 1 : F.g0[i];
        const gb = mask ? (fm >> 3) & 1 : F.g1[i];
        const gc = mask ? (fm >> 5) & 1 : F.g2[i];
        // The diagonal of PᵀAP is the sum over the aggregate of A's entries: fine diagonals
        // minus twice the conductances of faces inside the aggregate.
        let dd = mask ? D_LUT[fm] : F.d[i];
        if (a < n0) {
          if (in0) dd -= 2 * ga;
          else C.g0[I] += ga;
        }
        if (b < n1) {
          if (in1) dd -= 2 * gb;
          else C.g1[I] += gb;
        }
        if (c < n2) {
          if (n2 > 1 && (c & 1) === 1) dd -= 2 * gc;
          else C.g2[I] += gc;
        }
        C.d[I] += dd;
      }
    }
  }
}

/**
 * coarsen() of a binary level, by pairs of cells along a row and without a branch per cell
 * (issue #20: the generic loop took ≈ 15 ns per fine cell, 2 s at 500³). A face bit towards
 * the ghost layer is 0, so no test for the last cell of an axis is needed; a face inside an
 * aggregate is taken off the diagonal twice, one between aggregates adds to the conductance.
 */
function coarsenBinary(F: Level, mask: Uint8Array, C: Level, m0: Int32Array, m1: Int32Array): void {
  const { s0, s1 } = F;
  const [n0, n1, n2] = F.n;
  const { g0, g1, g2, d } = C;
  for (let a = 1; a <= n0; a++) {
    // Faces to +s0 (+s1) lie inside an aggregate for odd a (b) when the axis is aggregated.
    const in0 = n0 > 1 && (a & 1) === 1 ? 1 : 0;
    for (let b = 1; b <= n1; b++) {
      const in1 = n1 > 1 && (b & 1) === 1 ? 1 : 0;
      const base = a * s0 + b * s1;
      let I = m0[a] + m1[b] + 1;
      let e = 1;
      for (; e < n2; e += 2, I++) {
        const u = mask[base + e];
        const v = mask[base + e + 1];
        const f0 = ((u >> 1) & 1) + ((v >> 1) & 1);
        const f1 = ((u >> 3) & 1) + ((v >> 3) & 1);
        d[I] += D_LUT[u] + D_LUT[v] - 2 * ((u >> 5) & 1) - 2 * (in0 * f0 + in1 * f1);
        g0[I] += (1 - in0) * f0;
        g1[I] += (1 - in1) * f1;
        g2[I] += (v >> 5) & 1;
      }
      if (e === n2) {
        // The odd last cell (or an axis of length 1): an aggregate of one along axis 2.
        const u = mask[base + e];
        const f0 = (u >> 1) & 1;
        const f1 = (u >> 3) & 1;
        d[I] += D_LUT[u] - 2 * (in0 * f0 + in1 * f1);
        g0[I] += (1 - in0) * f0;
        g1[I] += (1 - in1) * f1;
        g2[I] += (u >> 5) & 1;
      }
    }
  }
}

/** Dense Cholesky of the active cells of the coarsest level. */
class DirectSolver {
  private readonly idx: Int32Array;
  private readonly Lmat: Float64Array;
  private readonly m: number;
  private readonly y: Float64Array;

  constructor(L: Level) {
    const active: number[] = [];
    const pos = new Int32Array(L.size).fill(-1);
    const [n0, n1, n2] = L.n;
    for (let a = 1; a <= n0; a++)
      for (let b = 1; b <= n1; b++)
        for (let c = 1; c <= n2; c++) {
          const i = a * L.s0 + b * L.s1 + c;
          if (L.d[i] > 0) {
            pos[i] = active.length;
            active.push(i);
          }
        }
    const m = active.length;
    const A = new Float64Array(m * m);
    for (let k = 0; k < m; k++) {
      const i = active[k];
      A[k * m + k] = L.d[i];
      const nb: Array<[number, number]> = [
        [i + L.s0, L.g0[i]],
        [i - L.s0, L.g0[i - L.s0]],
        [i + L.s1, L.g1[i]],
        [i - L.s1, L.g1[i - L.s1]],
        [i + 1, L.g2[i]],
        [i - 1, L.g2[i - 1]],
      ];
      for (const [j, g] of nb) if (g !== 0 && pos[j] >= 0) A[k * m + pos[j]] -= g;
    }
    for (let j = 0; j < m; j++) {
      let s = A[j * m + j];
      for (let k = 0; k < j; k++) s -= A[j * m + k] * A[j * m + k];
      // A Galerkin operator of a connected, Dirichlet-anchored system is SPD; a tiny pivot
      // would mean a floating cluster, which the caller removed beforehand.
      const piv = Math.sqrt(Math.max(s, 1e-300));
      A[j * m + j] = piv;
      for (let i = j + 1; i < m; i++) {
        let t = A[i * m + j];
        for (let k = 0; k < j; k++) t -= A[i * m + k] * A[j * m + k];
        A[i * m + j] = t / piv;
      }
    }
    this.idx = Int32Array.from(active);
    this.Lmat = A;
    this.m = m;
    this.y = new Float64Array(m);
  }

  solve(b: Float64Array, x: Float64Array): void {
    const { idx, Lmat: A, m, y } = this;
    for (let i = 0; i < m; i++) {
      let s = b[idx[i]];
      for (let k = 0; k < i; k++) s -= A[i * m + k] * y[k];
      y[i] = s / A[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < m; k++) s -= A[k * m + i] * y[k];
      y[i] = s / A[i * m + i];
    }
    for (let i = 0; i < m; i++) x[idx[i]] = y[i];
  }
}

export interface MultigridOptions {
  /** Smoothing sweeps before and after the coarse correction (default 1; must be 1 with an arena, whose kernels fuse the sweep with the transfers). */
  sweeps?: number;
  /** Coarse solves per level: 1 = V-cycle, 2 = W-cycle (default 2). */
  gamma?: number;
  /** Scaling of the coarse-grid correction (default OVER_CORRECTION). */
  omega?: number;
  /**
   * Memory and WebAssembly kernels for a binary fine level (kernels.ts): the fine level's
   * sweeps, restriction and prolongation then run in wasm, and the first coarse level's
   * right-hand side and correction are allocated in the arena.
   */
  arena?: WasmArena | null;
}

/**
 * Over-correction of the coarse-grid correction. Piecewise-constant prolongation
 * underestimates the smooth error (the coarse function is a staircase, so its energy is too
 * high); scaling the correction by ω ∈ (1, 2) compensates (Braess, 1995; Blaheta, 1986; the
 * over-correction of Notay's aggregation AMG, ETNA 37, 2010). For ω < 2 the two-grid operator
 * stays symmetric positive definite, so CG still applies. Measured on the 128³ references
 * (experiments/results/physics.md): ω = 1.8 cuts the CG iterations by about a third against
 * ω = 1.
 */
export const OVER_CORRECTION = 1.8;

/** A multigrid hierarchy over a fine level; `apply(r, z)` computes z ≈ A⁻¹ r. */
export class Multigrid {
  readonly levels: Level[];
  private readonly maps: Array<{ m0: Int32Array; m1: Int32Array }> = [];
  private readonly bs: Float64Array[] = [];
  private readonly xs: Float64Array[] = [];
  private readonly direct: DirectSolver;
  private readonly sweeps: number;
  private readonly gamma: number;
  private readonly omega: number;
  private readonly arena: WasmArena | null;
  /** Scratch row for the restriction. */
  private readonly row: Float64Array;

  constructor(fine: Level, options: MultigridOptions = {}) {
    this.sweeps = options.sweeps ?? 1;
    this.gamma = options.gamma ?? 2;
    this.omega = options.omega ?? OVER_CORRECTION;
    this.arena = fine.mask ? (options.arena ?? null) : null;
    if (this.arena && this.sweeps !== 1) throw new Error(`MultigridOptions.sweeps: the WebAssembly kernels run one sweep before and one after the coarse correction (fused with the transfers), got ${this.sweeps}; use 1, or no arena`);
    this.levels = [fine];
    let L = fine;
    const vector = (n: number): Float64Array => (this.arena ? this.arena.f64(n) : new Float64Array(n));
    for (let k = coarseShapes(fine.n).length; k > 0; k--) {
      const { C, m0, m1 } = coarsen(L, this.arena);
      this.maps.push({ m0, m1 });
      this.levels.push(C);
      this.bs.push(vector(C.size));
      this.xs.push(vector(C.size));
      L = C;
    }
    this.direct = new DirectSolver(expand(L));
    this.row = new Float64Array(fine.n[2]);
  }

  /** Bytes held by the coarse levels (the fine level belongs to the caller). */
  coarseBytes(): number {
    let s = 0;
    for (let k = 1; k < this.levels.length; k++) s += this.levels[k].size * (3 * 4 + 2 * 8 + 2 * 8);
    return s;
  }

  /**
   * z = M⁻¹ r; returns r·z (fused into the last sweep, saving CG a pass over memory). r and z
   * may be f32 (issue #20) only when the hierarchy lives in an arena and has a coarse level:
   * the fine level then runs the fused kernels of kernels.wat (smoothRestrict32 and
   * prolongSmooth32: one f32 Gauss–Seidel sweep before and after the coarse correction, each
   * fused with the restriction or prolongation into one pass over memory); the coarse levels
   * stay f64 (with an arena they run the same two fused passes, smoothRestrictExplicit and
   * prolongSmoothExplicit).
   */
  apply(r: FineVector, z: FineVector): number {
    if (r instanceof Float32Array && (!this.arena || this.levels.length < 2)) throw new Error('internal: f32 vectors need the WebAssembly kernels and a coarse level');
    // The fused f32 kernel starts from z = 0 without reading z.
    if (!(z instanceof Float32Array)) z.fill(0);
    return this.cycle(0, r, z, true);
  }

  /**
   * One cycle from level k down; returns b·x. Only the fine level (k = 0) may have f32 vectors.
   * `zero`: x is 0 on entry (the fused kernels then do not read it; a W-cycle's second visit of
   * a level starts from the first visit's x).
   */
  private cycle(k: number, b: FineVector, x: FineVector, zero: boolean): number {
    if (k === this.levels.length - 1) {
      this.direct.solve(b as Float64Array, x as Float64Array);
      let bx = 0;
      for (let i = 0; i < b.length; i++) bx += b[i] * x[i];
      return bx;
    }
    const L = this.levels[k];
    const bc = this.bs[k];
    const xc = this.xs[k];
    const C = this.levels[k + 1];
    // With an arena, the f32 fine level and the explicit levels run the fused kernels: a sweep
    // from x = 0 with the restriction, and the prolongation with the backward sweep (issue #20).
    const fused = this.arena && (x instanceof Float32Array || !L.mask) ? this.arena : null;
    if (fused) {
      if (L.mask) fused.smoothRestrict32(L, L.mask, b as Float32Array, x as Float32Array, bc, C);
      else fused.smoothRestrictExplicit(L, b as Float64Array, x as Float64Array, bc, C, zero);
    } else {
      for (let s = 0; s < this.sweeps; s++) this.smooth(L, x as Float64Array, b as Float64Array, true);
      this.restrictResidual(k, b as Float64Array, x as Float64Array, bc);
    }
    // With an arena the coarse level's first visit does not read xc (the fused kernels start from
    // x = 0; the coarsest level's direct solve writes its active cells, and nothing writes the
    // others), so it is not cleared (issue #20: a pass over xc per visit).
    if (!this.arena) xc.fill(0);
    // The coarsest level is exact, so one visit suffices there.
    const visits = k + 1 === this.levels.length - 1 ? 1 : this.gamma;
    for (let g = 0; g < visits; g++) this.cycle(k + 1, bc, xc, g === 0);
    // The fused kernels apply the over-correction ω in the prolongation (issue #20).
    if (fused) return L.mask ? fused.prolongSmooth32(L, L.mask, xc, x as Float32Array, b as Float32Array, C, this.omega) : fused.prolongSmoothExplicit(L, xc, x as Float64Array, b as Float64Array, C, this.omega);
    if (this.omega !== 1) for (let i = 0; i < xc.length; i++) xc[i] *= this.omega;
    this.prolongAdd(k, xc, x as Float64Array);
    let bx = 0;
    for (let s = 0; s < this.sweeps; s++) bx = this.smooth(L, x as Float64Array, b as Float64Array, false);
    return bx;
  }

  /** One Gauss–Seidel sweep, in WebAssembly on an arena's f64 binary level; returns b·x. */
  private smooth(L: Level, x: Float64Array, b: Float64Array, forward: boolean): number {
    const wasm = this.arena;
    // With an arena, only an f64 binary fine level comes here (cycle fuses the others).
    if (wasm) return wasm.gaussSeidel(L, L.mask!, x, b, forward);
    if (forward) {
      gsForward(L, x, b);
      return 0;
    }
    return gsBackward(L, x, b);
  }

  /** bc = Pᵀ (b − A x). */
  private restrictResidual(k: number, b: Float64Array, x: Float64Array, bc: Float64Array): void {
    const L = this.levels[k];
    const wasm = this.arena;
    if (wasm) {
      wasm.restrict(L, L.mask!, b, x, bc, this.levels[k + 1]);
      return;
    }
    const { m0, m1 } = this.maps[k];
    const { s0, s1 } = L;
    const [n0, n1, n2] = L.n;
    const row = this.row;
    bc.fill(0);
    for (let a = 1; a <= n0; a++) {
      for (let c = 1; c <= n1; c++) {
        const base = a * s0 + c * s1;
        // The residual of one row goes to a scratch row that stays in L1, then pairs of it are
        // summed into the coarse row: no branch or read-modify-write per fine cell. Along axis
        // 2 the aggregate of 1-based cell e is (e + 1) >> 1.
        if (L.mask) residualRowMask(L, L.mask, b, x, base, row);
        else residualRow(L, b, x, base, row);
        const cb = m0[a] + m1[c] + 1;
        let e = 0;
        for (; e + 1 < n2; e += 2) bc[cb + (e >> 1)] += row[e] + row[e + 1];
        if (e < n2) bc[cb + (e >> 1)] += row[e];
      }
    }
  }

  private prolongAdd(k: number, xc: Float64Array, x: Float64Array): void {
    const L = this.levels[k];
    const wasm = this.arena;
    if (wasm) {
      wasm.prolong(L, L.mask!, xc, x, this.levels[k + 1]);
      return;
    }
    const { m0, m1 } = this.maps[k];
    const { s0, s1 } = L;
    const [n0, n1, n2] = L.n;
    const mask = L.mask;
    for (let a = 1; a <= n0; a++) {
      for (let c = 1; c <= n1; c++) {
        const i0 = a * s0 + c * s1 + 1;
        const cb = m0[a] + m1[c] + 1;
        // A binary level keeps its invariant (inactive cells stay exactly 0). On an explicit
        // level inactive cells pick up a value too, but their zero conductances keep it from
        // reaching any active cell, and the backward sweep that follows resets them to 0.
        if (mask) for (let e = 0; e < n2; e++) x[i0 + e] += ACT_LUT[mask[i0 + e]] * xc[cb + (e >> 1)];
        else for (let e = 0; e < n2; e++) x[i0 + e] += xc[cb + (e >> 1)];
      }
    }
  }
}

/** row[e] = (b − A x) at cell base + 1 + e of an explicit level, e < n2. */
function residualRow(L: Level, b: Float64Array, x: Float64Array, base: number, row: Float64Array): void {
  const { g0, g1, g2, d, s0, s1 } = L;
  const n2 = L.n[2];
  for (let e = 0; e < n2; e++) {
    const i = base + 1 + e;
    // Inactive cells contribute exactly 0 (b = 0, d = 0, no faces): no branch needed.
    row[e] =
      b[i] -
      d[i] * x[i] +
      g0[i - s0] * x[i - s0] +
      g0[i] * x[i + s0] +
      g1[i - s1] * x[i - s1] +
      g1[i] * x[i + s1] +
      g2[i - 1] * x[i - 1] +
      g2[i] * x[i + 1];
  }
}

/** The same for a binary level, under its zero-at-inactive invariant. */
function residualRowMask(L: Level, mask: Uint8Array, b: Float64Array, x: Float64Array, base: number, row: Float64Array): void {
  const { s0, s1 } = L;
  const n2 = L.n[2];
  for (let e = 0; e < n2; e++) {
    const i = base + 1 + e;
    const m = mask[i];
    row[e] = ACT_LUT[m] * (b[i] - D_LUT[m] * x[i] + (x[i - s0] + x[i + s0] + x[i - s1] + x[i + s1] + x[i - 1] + x[i + 1]));
  }
}
