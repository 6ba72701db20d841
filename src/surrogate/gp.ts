/**
 * Exact Gaussian-process regression (Rasmussen & Williams, "Gaussian Processes for Machine
 * Learning", MIT Press 2006, Alg. 2.1 and §5.4) with a Matérn-5/2 ARD kernel:
 *
 *   k(x, x') = s² (1 + √5 r + 5r²/3) exp(−√5 r),   r² = Σ_k (x_k − x'_k)² / ℓ_k²,
 *
 * plus Gaussian noise σ². Inputs are expected in the unit cube (the encoded parameter space);
 * targets are standardised internally (zero mean, unit variance) so the hyper-parameter bounds
 * and priors below mean the same thing for every data set. Hyper-parameters (ln ℓ_k, ln s²,
 * ln σ²) are fitted by maximising the log posterior (MAP: log marginal likelihood + log prior)
 * with iRprop− (Igel & Hüsken 2003; shown to suit GP marginal likelihoods by Blum & Riedmiller,
 * ESANN 2013) from several starts: the warm start given, the prior median, and draws from the
 * prior — all of them at every fit. Priors, as BoTorch's defaults since 2024:
 * - ln ℓ_k ~ N(√2 + ½ ln d, 3): the dimension-scaled length-scale prior of Hvarfner, Hellsten
 *   & Nardi, "Vanilla Bayesian optimization performs great in high dimensions", ICML 2024;
 * - ln σ² ~ N(−4, 1) with σ² ≥ 1e-4 (BoTorch's log-normal noise prior and its minimum
 *   inferred noise), so the noise cannot collapse and the posterior cannot become a spiky
 *   interpolant that sends every proposal to a corner (issue #12, GDL rig-only runs);
 * - ln s² ~ N(0, 1): targets are standardised, so the signal variance is near 1.
 * Used by the gp-bo agent, by PPO when no reward model is given, and by the discrepancy model.
 */
import type { Rng } from '../core/rng.js';

/** Hyper-parameters on the log scale (standardised targets). */
export interface GpHyper {
  logLengthscales: number[];
  logSignalVar: number;
  logNoiseVar: number;
  /**
   * ln b_k of the basis term Σ_k b_k h_k(x) h_k(x') added to the kernel: d of them for the
   * quadratic basis (quadraticBasis), 2d for the second-order one (secondOrderBasis; linear
   * features first); absent: the Matérn kernel alone.
   */
  logBasisVars?: number[];
}

export interface GpFitOptions {
  rng: Rng;
  /** Random restarts on top of the warm start and the default (default 2). */
  restarts?: number;
  /** iRprop− iterations per start (default 60). */
  iterations?: number;
  /** Warm start, e.g. the previous fit. */
  init?: GpHyper;
  /**
   * Fit hyper-parameters on a random subset of at most this many points (default 200): the
   * O(n³) per iteration of the likelihood gradient dominates otherwise. The returned model
   * conditions on all points.
   */
  maxFitPoints?: number;
  /** Lower bound on the noise variance (standardised units; default 1e-4, BoTorch's). */
  minNoiseVar?: number;
  /** Add a basis term to the kernel, its variances fitted with the rest (see quadraticBasis, secondOrderBasis). */
  basis?: BasisKind;
}

export interface GpJSON {
  x: number[][];
  y: number[];
  hyper: GpHyper;
}

/** Box for the log hyper-parameters (inputs in [0,1], targets standardised). */
const BOUNDS = {
  logLengthscale: [Math.log(0.01), Math.log(100)],
  logSignalVar: [Math.log(0.01), Math.log(100)],
  logNoiseVar: [Math.log(1e-6), Math.log(1)],
  logBasisVar: [Math.log(1e-6), Math.log(100)],
} as const;

const SQRT5 = Math.sqrt(5);

/** Means and standard deviations of the Gaussian priors on [ln ℓ_1..ln ℓ_d, ln s², ln σ²] (see the header). */
export function hyperPrior(d: number): { mean: number[]; sd: number[] } {
  const lengthMean = Math.SQRT2 + 0.5 * Math.log(Math.max(1, d));
  return { mean: [...new Array<number>(d).fill(lengthMean), 0, -4], sd: [...new Array<number>(d).fill(Math.sqrt(3)), 1, 1] };
}

/**
 * Explicit basis functions with a Gaussian prior on their coefficients, integrated out
 * (Rasmussen & Williams §2.7, eq. 2.39: f = g + hᵀβ, β ~ N(0, B) gives the kernel
 * k + hᵀBh). Here h_k(x) = √180 ((x_k − ½)² − 1/12), one per input, B = diag(b_k): a
 * separable quadratic in the unit cube whose curvatures the evidence sets, each b_k fitted with
 * the other hyper-parameters by MAP (issue #16: DTLZ2's bowl in its distance variables, which a
 * stationary kernel on 10–20 points extrapolates as a slope). The features are centred and
 * scaled to zero mean and unit variance over the uniform cube (Var (u − ½)² = 1/180), so that
 * the term does not duplicate the constant the standardisation removes and b_k is the share of
 * the standardised signal variance due to curvature along x_k, comparable with s². A per-input
 * b_k (not one shared b) lets the evidence keep the curvature of some inputs and drop that of
 * others, as the length-scales do (DTLZ2: bowls in the distance variables; ZDT: linear in them).
 */
export function quadraticBasis(x: readonly number[]): Float64Array {
  return Float64Array.from(x, (v) => BASIS_SCALE * ((v - 0.5) ** 2 - 1 / 12));
}
const BASIS_SCALE = Math.sqrt(180);
/** The largest h_k² over the cube (at a bound: 180 · (1/4 − 1/12)² = 5). */
const BASIS_MAX_SQUARE = 5;

/**
 * The separable second-order basis (issue #16, tenth pass): the linear features
 * √12 (x_k − ½) (zero mean, unit variance over the cube, as the quadratic ones), then
 * quadraticBasis's, each with its own variance — Box & Wilson's second-order response surface
 * (J. R. Stat. Soc. B 13 (1951) 1) without cross terms, its coefficients integrated out as
 * quadraticBasis's. With the linear terms the fitted curvature can be centred anywhere in the
 * cube, not only at ½, and a slope (ZDT's g, linear in its distance variables, whose front lies
 * on their bound) is the basis's to extrapolate rather than a stationary kernel's.
 */
export function secondOrderBasis(x: readonly number[]): Float64Array {
  const h = new Float64Array(2 * x.length);
  x.forEach((v, k) => {
    h[k] = LINEAR_SCALE * (v - 0.5);
    h[x.length + k] = BASIS_SCALE * ((v - 0.5) ** 2 - 1 / 12);
  });
  return h;
}
const LINEAR_SCALE = Math.sqrt(12);
/** The largest linear feature squared over the cube (at a bound: 12 · ¼ = 3). */
const LINEAR_MAX_SQUARE = 3;

/** Which basis a GP's kernel may carry: d quadratic features, or 2d linear and quadratic ones. */
export type BasisKind = 'quadratic' | 'second-order';

/** The number of basis variances of `kind` for d inputs. */
const basisSize = (kind: BasisKind, d: number): number => (kind === 'quadratic' ? d : 2 * d);

/** The kind of `hyper`'s basis term, from the number of its variances; undefined without one. */
export function basisKind(hyper: GpHyper): BasisKind | undefined {
  const m = hyper.logBasisVars?.length;
  if (m === undefined) return undefined;
  const d = hyper.logLengthscales.length;
  if (m === d) return 'quadratic';
  if (m === 2 * d) return 'second-order';
  throw new Error(`GP hyper-parameters: ${m} basis variances for ${d} inputs (allowed: ${d}, quadratic, or ${2 * d}, second-order)`);
}

/** x's basis features of `kind` (quadraticBasis, secondOrderBasis). */
export function basisFeatures(x: readonly number[], kind: BasisKind): Float64Array {
  return kind === 'quadratic' ? quadraticBasis(x) : secondOrderBasis(x);
}

/** The largest of Σ_k w_k h_k² over the cube: at a corner, where every feature is largest at once. */
function basisMaxVariance(w: Float64Array, kind: BasisKind): number {
  const sum = (v: Float64Array) => v.reduce((a, b) => a + b, 0);
  const d = w.length / 2;
  return kind === 'quadratic' ? BASIS_MAX_SQUARE * sum(w) : LINEAR_MAX_SQUARE * sum(w.subarray(0, d)) + BASIS_MAX_SQUARE * sum(w.subarray(d));
}
/**
 * Prior of each b_k: half-normal with scale 1 (mode 0, so that b_k → 0 where the likelihood is
 * flat in it; a curvature term of a standardised signal's size is plausible, one of several
 * times it is not). MAP in b itself: the log density −b²/2 is added without the Jacobian of the
 * log parameterisation the optimiser works in.
 */
const BASIS_PRIOR_SCALE = 1;

/** Σ_k w_k a_k b_k: the basis term of the kernel for features a, b and variances w. */
export function basisCovariance(a: ArrayLike<number>, b: ArrayLike<number>, w: Float64Array): number {
  let s = 0;
  for (let k = 0; k < w.length; k++) s += w[k] * a[k] * b[k];
  return s;
}

/**
 * Whether `hyper`'s basis term is switched on: some b_k above its box's floor. With every b_k
 * at the floor (1e-6, where the MAP puts a curvature the data do not ask for) the term adds at
 * most 5e-6 of the standardised signal variance: the model is the plain GP's (issue #16, mobo's
 * `trend: auto-bayes`).
 */
export function basisActive(hyper: GpHyper): boolean {
  return (hyper.logBasisVars ?? []).some((v) => v > BOUNDS.logBasisVar[0]);
}

/** The basis variances b_k of `hyper`, or null without a basis term. */
export function basisVariances(hyper: GpHyper): Float64Array | null {
  return hyper.logBasisVars ? Float64Array.from(hyper.logBasisVars, Math.exp) : null;
}

/**
 * Lower Cholesky factor of a symmetric positive-definite n×n matrix (row-major), or null.
 * Rows are computed four at a time: each entry's sum is a chain of dependent subtractions whose
 * latency, not the arithmetic, bounds the loop, and independent chains side by side run in
 * about the time of one. Every entry still takes the same products in the same order as the
 * one-row-at-a-time textbook loop, so the factor is the same bit for bit (issue #12 cost line;
 * test against the textbook loop).
 */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  /** Entry (r, j ≤ r) alone, textbook order; false where the matrix is not positive definite. */
  const entry = (r: number, j: number): boolean => {
    const rr = r * n;
    const rj = j * n;
    let s = a[rr + j];
    for (let k = 0; k < j; k++) s -= l[rr + k] * l[rj + k];
    if (r !== j) l[rr + j] = s / l[rj + j];
    else if (s > 0) l[rr + r] = Math.sqrt(s);
    else return false;
    return true;
  };
  let i = 0;
  for (; i + 3 < n; i += 4) {
    // Rows i..i+3 at every column j ≤ i together (row i's diagonal first: the others divide by
    // it), then the small triangle of columns i+1..i+3 entry by entry.
    const r0 = i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s0 = a[r0 + j];
      let s1 = a[r1 + j];
      let s2 = a[r2 + j];
      let s3 = a[r3 + j];
      for (let k = 0; k < j; k++) {
        const ljk = l[rj + k];
        s0 -= l[r0 + k] * ljk;
        s1 -= l[r1 + k] * ljk;
        s2 -= l[r2 + k] * ljk;
        s3 -= l[r3 + k] * ljk;
      }
      if (j === i) {
        if (!(s0 > 0)) return null;
        l[r0 + i] = Math.sqrt(s0);
      } else l[r0 + j] = s0 / l[rj + j];
      l[r1 + j] = s1 / l[rj + j];
      l[r2 + j] = s2 / l[rj + j];
      l[r3 + j] = s3 / l[rj + j];
    }
    for (let r = i + 1; r < i + 4; r++) for (let j = i + 1; j <= r; j++) if (!entry(r, j)) return null;
  }
  for (; i < n; i++) for (let j = 0; j <= i; j++) if (!entry(i, j)) return null;
  return l;
}

/** Solves L x = b in place (L lower triangular, row-major n×n). */
export function forwardSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/** Solves Lᵀ x = b in place. */
export function backSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/** Matérn-5/2 correlation (s² = 1) between two points for inverse squared length-scales (also the kernel of src/predict/multifidelity.ts). */
export function matern52(a: readonly number[], b: readonly number[], invL2: Float64Array): number {
  let r2 = 0;
  for (let k = 0; k < invL2.length; k++) {
    const t = a[k] - b[k];
    r2 += t * t * invL2[k];
  }
  const r = Math.sqrt(r2);
  return (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r);
}

/**
 * Scratch arrays of at least `size` doubles, one per `slot`, reused from call to call: a fit
 * evaluates the likelihood a few hundred times, and fresh n×n arrays for every evaluation cost
 * allocation, zeroing and garbage collection (issue #12 cost line). Only for arrays that never
 * outlive the call that uses them and whose every entry read was first written in that call.
 */
const scratchArrays: Float64Array[] = [];
/**
 * Larger arrays are allocated per call and not kept: the five slots of a GP on 2 000 points would
 * otherwise hold ≈ 110 MB for the life of the process (review of 58aafaf). 2²⁰ doubles (8 MiB)
 * covers the fits (≤ maxFitPoints = 120 points: 14 400 doubles per n×n slot) with room to spare.
 */
const SCRATCH_KEEP = 1 << 20;
function scratch(slot: number, size: number): Float64Array {
  if (size > SCRATCH_KEEP) return new Float64Array(size);
  if (!(scratchArrays[slot]?.length >= size)) scratchArrays[slot] = new Float64Array(size);
  return scratchArrays[slot];
}

/**
 * r² = Σ_k (x_ik − x_jk)² / ℓ_k², r and e^{−√5 r} of every pair j < i, packed row by row (pair
 * i(i−1)/2 + j). Computed once per kernel matrix and shared by the matrix and the likelihood
 * gradient, which needed the same three numbers again (half the exp calls of a fit). The
 * arithmetic is matern52's, operation for operation, so every kernel value is bit for bit the same.
 */
function kernelPairs(x: readonly (readonly number[])[], invL2: Float64Array): { r2: Float64Array; r: Float64Array; ex: Float64Array } {
  const n = x.length;
  const d = invL2.length;
  const m = (n * (n - 1)) / 2;
  const r2s = scratch(0, m);
  const rs = scratch(1, m);
  const exs = scratch(2, m);
  for (let i = 0, p = 0; i < n; i++) {
    const a = x[i];
    for (let j = 0; j < i; j++, p++) {
      const b = x[j];
      let r2 = 0;
      for (let k = 0; k < d; k++) {
        const t = a[k] - b[k];
        r2 += t * t * invL2[k];
      }
      const r = Math.sqrt(r2);
      r2s[p] = r2;
      rs[p] = r;
      exs[p] = Math.exp(-SQRT5 * r);
    }
  }
  return { r2: r2s, r: rs, ex: exs };
}

/**
 * Factorises K + σ²I, adding jitter if rounding makes it indefinite (pairs: kernelPairs of the
 * inputs; basis: the inputs' basis features and their variances when hyper has a basis term).
 */
function factorise(n: number, hyper: GpHyper, pairs: { r2: Float64Array; r: Float64Array; ex: Float64Array }, basis?: { h: Float64Array[]; w: Float64Array }): Float64Array {
  const s2 = Math.exp(hyper.logSignalVar);
  const k = scratch(3, n * n);
  for (let i = 0, p = 0; i < n; i++) {
    // s² · matern52: (1 + √5 r + 5r²/3) e^{−√5 r}, then times s², as matern52 and its caller did.
    for (let j = 0; j < i; j++, p++) k[i * n + j] = k[j * n + i] = s2 * ((1 + SQRT5 * pairs.r[p] + (5 / 3) * pairs.r2[p]) * pairs.ex[p]);
  }
  if (basis) for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) k[i * n + j] = k[j * n + i] = k[i * n + j] + basisCovariance(basis.h[i], basis.h[j], basis.w);
  const prior = Array.from({ length: n }, (_, i) => (basis ? s2 + basisCovariance(basis.h[i], basis.h[i], basis.w) : s2));
  for (let jitter = 0; ; jitter = jitter === 0 ? 1e-8 * s2 : jitter * 10) {
    for (let i = 0; i < n; i++) k[i * n + i] = prior[i] + Math.exp(hyper.logNoiseVar) + jitter;
    const l = cholesky(k, n);
    if (l) return l;
    if (jitter > s2) throw new Error('GP kernel matrix is not positive definite even with jitter');
  }
}

const inverseSquares = (hyper: GpHyper): Float64Array => Float64Array.from(hyper.logLengthscales, (v) => Math.exp(-2 * v));

/**
 * Log marginal likelihood of standardised targets and its gradient with respect to
 * [ln ℓ_1..ln ℓ_d, ln s², ln σ²] (R&W eq. 5.9: ½ tr((ααᵀ − K⁻¹) ∂K/∂θ)).
 * ∂k/∂ln ℓ_k = s² (5/3)(1 + √5 r) e^{−√5 r} (x_k − x'_k)²/ℓ_k²  — finite at r = 0.
 * With a basis term (hyper.logBasisVars), also [ln b_1..ln b_m]: ∂K/∂ln b_k = b_k h_k h_kᵀ, so
 * the entry is ½ b_k ((h_kᵀα)² − h_kᵀK⁻¹h_k).
 * With `inputGradient`, also ∂/∂x_ik (row-major n × d), through
 * ∂k/∂x_k = −s² (5/3)(1 + √5 r) e^{−√5 r} (x_k − x'_k)/ℓ_k²: what an input warp learnt with
 * the hyper-parameters needs (./input-warp.ts; not with a basis term).
 */
export function logMarginalLikelihood(x: readonly number[][], y: readonly number[], hyper: GpHyper, inputGradient = false): { value: number; gradient: number[]; inputGradient?: Float64Array } {
  const n = x.length;
  const d = hyper.logLengthscales.length;
  const invL2 = inverseSquares(hyper);
  const pairs = kernelPairs(x, invL2);
  const w = basisVariances(hyper);
  if (w && inputGradient) throw new Error('logMarginalLikelihood: no input gradient with a basis term');
  const kind = basisKind(hyper);
  const h = kind ? x.map((u) => basisFeatures(u, kind)) : [];
  const l = factorise(n, hyper, pairs, w ? { h, w } : undefined);
  const alpha = backSolve(l, n, forwardSolve(l, n, Float64Array.from(y)));
  let value = -0.5 * n * Math.log(2 * Math.PI);
  for (let i = 0; i < n; i++) value -= 0.5 * y[i] * alpha[i] + Math.log(l[i * n + i]);
  const kinv = inverseFromCholesky(l, n);
  const s2 = Math.exp(hyper.logSignalVar);
  const gradient = new Array<number>(d + 2).fill(0);
  const gx = inputGradient ? new Float64Array(n * d) : undefined;
  for (let i = 0, p = 0; i < n; i++) {
    const wii = alpha[i] * alpha[i] - kinv[i * n + i];
    gradient[d] += 0.5 * wii * s2;
    gradient[d + 1] += 0.5 * wii * Math.exp(hyper.logNoiseVar);
    const xi = x[i];
    for (let j = 0; j < i; j++, p++) {
      const xj = x[j];
      const w = alpha[i] * alpha[j] - kinv[i * n + j]; // symmetric: counted twice below
      const r = pairs.r[p];
      const ex = pairs.ex[p];
      gradient[d] += w * s2 * (1 + SQRT5 * r + (5 / 3) * pairs.r2[p]) * ex;
      const common = w * s2 * (5 / 3) * (1 + SQRT5 * r) * ex;
      for (let k = 0; k < d; k++) {
        const t = xi[k] - xj[k];
        gradient[k] += common * t * t * invL2[k];
      }
      if (gx) {
        for (let k = 0; k < d; k++) {
          const g = common * (xi[k] - xj[k]) * invL2[k];
          gx[i * d + k] -= g;
          gx[j * d + k] += g;
        }
      }
    }
  }
  if (w) {
    for (let k = 0; k < w.length; k++) {
      let ha = 0;
      let hkh = 0;
      for (let i = 0; i < n; i++) {
        ha += h[i][k] * alpha[i];
        let row = 0;
        for (let j = 0; j < n; j++) row += kinv[i * n + j] * h[j][k];
        hkh += h[i][k] * row;
      }
      gradient.push(0.5 * w[k] * (ha * ha - hkh));
    }
  }
  return gx ? { value, gradient, inputGradient: gx } : { value, gradient };
}

/**
 * (L Lᵀ)⁻¹ from the Cholesky factor: L⁻¹ by forward substitution, then K⁻¹ = L⁻ᵀ L⁻¹ (lower
 * triangle computed, mirrored). n³/3 multiply-adds against n³ for n solves with unit vectors.
 */
export function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // L⁻¹ is kept transposed (lt[j·n + i] = [L⁻¹]ᵢⱼ) so the loops below read rows, not columns
  // with stride n; and four independent sums run side by side (as in cholesky: the chain of
  // dependent additions bounds the loop). Each entry takes the products of the textbook form
  // in its order, so K⁻¹ is the same bit for bit (test against the textbook loops).
  const lt = scratch(4, n * n);
  /** Column j of L⁻¹ from its diagonal down to row end − 1, alone (textbook order). */
  const column = (j: number, end: number): void => {
    const lj = j * n;
    lt[lj + j] = 1 / l[lj + j];
    for (let i = j + 1; i < end; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k] * lt[lj + k];
      lt[lj + i] = s / l[i * n + i];
    }
  };
  let j = 0;
  for (; j + 3 < n; j += 4) {
    // Columns j..j+3: their top 4×4 triangle alone, then the rows below four at a time, each
    // sum starting at its own diagonal (the staggered first terms) and then in step.
    for (let c = 0; c < 4; c++) column(j + c, j + 4);
    const l0 = j * n;
    const l1 = l0 + n;
    const l2 = l1 + n;
    const l3 = l2 + n;
    for (let i = j + 4; i < n; i++) {
      const li = i * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      s0 -= l[li + j] * lt[l0 + j];
      s0 -= l[li + j + 1] * lt[l0 + j + 1];
      s1 -= l[li + j + 1] * lt[l1 + j + 1];
      s0 -= l[li + j + 2] * lt[l0 + j + 2];
      s1 -= l[li + j + 2] * lt[l1 + j + 2];
      s2 -= l[li + j + 2] * lt[l2 + j + 2];
      for (let k = j + 3; k < i; k++) {
        const lik = l[li + k];
        s0 -= lik * lt[l0 + k];
        s1 -= lik * lt[l1 + k];
        s2 -= lik * lt[l2 + k];
        s3 -= lik * lt[l3 + k];
      }
      const lii = l[li + i];
      lt[l0 + i] = s0 / lii;
      lt[l1 + i] = s1 / lii;
      lt[l2 + i] = s2 / lii;
      lt[l3 + i] = s3 / lii;
    }
  }
  for (; j < n; j++) column(j, n);
  const kinv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const li = i * n;
    let j = 0;
    // Four entries of row i at a time (they share lt's row i), then the rest one by one.
    for (; j + 3 <= i; j += 4) {
      const l0 = j * n;
      const l1 = l0 + n;
      const l2 = l1 + n;
      const l3 = l2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = i; k < n; k++) {
        const lik = lt[li + k];
        s0 += lik * lt[l0 + k];
        s1 += lik * lt[l1 + k];
        s2 += lik * lt[l2 + k];
        s3 += lik * lt[l3 + k];
      }
      kinv[li + j] = kinv[l0 + i] = s0;
      kinv[li + j + 1] = kinv[l1 + i] = s1;
      kinv[li + j + 2] = kinv[l2 + i] = s2;
      kinv[li + j + 3] = kinv[l3 + i] = s3;
    }
    for (; j <= i; j++) {
      const lj = j * n;
      let s = 0;
      for (let k = i; k < n; k++) s += lt[li + k] * lt[lj + k];
      kinv[li + j] = kinv[lj + i] = s;
    }
  }
  return kinv;
}

/** Log marginal likelihood plus the log prior density of the hyper-parameters, with gradient (and the inputs' gradient, see logMarginalLikelihood). */
export function logPosterior(x: readonly number[][], y: readonly number[], hyper: GpHyper, inputGradient = false): { value: number; gradient: number[]; inputGradient?: Float64Array } {
  const d = hyper.logLengthscales.length;
  const f = logMarginalLikelihood(x, y, hyper, inputGradient);
  const prior = hyperPrior(d);
  const theta = toVec(hyper);
  let value = f.value;
  const gradient = f.gradient.map((g, i) => {
    if (i >= d + 2) {
      // Half-normal prior of a basis variance b = e^θ (see BASIS_PRIOR_SCALE): ln p = ln(2/(√(2π) c)) − b²/2c².
      const b = Math.exp(theta[i]) / BASIS_PRIOR_SCALE;
      value -= 0.5 * b * b + Math.log(BASIS_PRIOR_SCALE * Math.sqrt(Math.PI / 2));
      return g - b * b;
    }
    const z = (theta[i] - prior.mean[i]) / prior.sd[i];
    value -= 0.5 * z * z + Math.log(prior.sd[i] * Math.sqrt(2 * Math.PI));
    return g - z / prior.sd[i];
  });
  return f.inputGradient ? { value, gradient, inputGradient: f.inputGradient } : { value, gradient };
}

/** Clips [ln ℓ (d), ln s², ln σ², ln b (d or 2d, with a basis term)] into their boxes. */
export function clipHyper(v: number[], d: number, minNoise: number): number[] {
  return v.map((t, i) => {
    const [lo, hi] = i < d ? BOUNDS.logLengthscale : i === d ? BOUNDS.logSignalVar : i === d + 1 ? [Math.max(BOUNDS.logNoiseVar[0], Math.log(minNoise)), BOUNDS.logNoiseVar[1]] : BOUNDS.logBasisVar;
    return Math.min(hi, Math.max(lo, t));
  });
}

export const toVec = (h: GpHyper): number[] => [...h.logLengthscales, h.logSignalVar, h.logNoiseVar, ...(h.logBasisVars ?? [])];
export const fromVec = (v: number[], d: number): GpHyper => {
  const h: GpHyper = { logLengthscales: v.slice(0, d), logSignalVar: v[d], logNoiseVar: v[d + 1] };
  if (v.length > d + 2) h.logBasisVars = v.slice(d + 2);
  return h;
};

/**
 * iRprop− ascent of `objective` (value and gradient at θ) inside the box `clip` projects onto,
 * from `start` (clipped); returns the best point seen. A throw of the objective (a kernel matrix
 * that is not positive definite) ends the ascent.
 */
export function rprop(objective: (theta: number[]) => { value: number; gradient: number[] }, start: number[], clip: (theta: number[]) => number[], iterations: number): { theta: number[]; value: number } {
  let theta = clip(start);
  const step = new Array<number>(theta.length).fill(0.1);
  let prevGrad = new Array<number>(theta.length).fill(0);
  let best = { theta, value: -Infinity };
  for (let it = 0; it < iterations; it++) {
    let f: { value: number; gradient: number[] };
    try {
      f = objective(theta);
    } catch {
      break;
    }
    if (f.value > best.value) best = { theta, value: f.value };
    const g = f.gradient;
    theta = theta.map((t, i) => {
      const sgn = g[i] * prevGrad[i];
      if (sgn > 0) step[i] = Math.min(step[i] * 1.2, 1);
      else if (sgn < 0) {
        step[i] = Math.max(step[i] * 0.5, 1e-6);
        g[i] = 0;
      }
      return t + Math.sign(g[i]) * step[i];
    });
    theta = clip(theta);
    prevGrad = g;
    // Converged: every step has shrunk below 1e-3 in log units (0.1 % of a length-scale).
    if (step.every((s) => s < 1e-3)) break;
  }
  return best;
}

/**
 * MAP by iRprop− from several starts, shared by GaussianProcess.fit and the warped fit of
 * ./input-warp.ts. θ = [hyper-parameters (d + 2), extra parameters]; the starts are `warm` (the
 * previous fit, when given), the prior median joined with `extra.median`, then `restarts` draws of
 * the hyper-parameters from their prior, each followed by `extra.draw()` (that order fixes the rng
 * stream). Fresh starts at every fit, not only the first: a warm start alone stays in the basin of
 * an early, small-data fit (issue #12: 97 → 80 cycles on one pool). Returns the best end point,
 * or the median start when every ascent failed.
 */
export function multiStartMap(
  d: number,
  objective: (theta: number[]) => { value: number; gradient: number[] },
  clip: (theta: number[]) => number[],
  o: { rng: Rng; restarts: number; iterations: number; warm?: number[]; extra?: { median: number[]; draw: () => number[] } },
): number[] {
  const prior = hyperPrior(d);
  const median = [...prior.mean, ...(o.extra?.median ?? [])];
  const starts = o.warm ? [o.warm, median] : [median];
  for (let r = 0; r < o.restarts; r++) {
    const h = prior.mean.map((m, i) => m + prior.sd[i] * o.rng.normal());
    starts.push([...h, ...(o.extra?.draw() ?? [])]);
  }
  let best = { theta: median, value: -Infinity };
  for (const s of starts) {
    const r = rprop(objective, s, clip, o.iterations);
    if (r.value > best.value) best = r;
  }
  return best.theta;
}

export interface GpPrediction {
  mean: number[];
  /** Variance of the latent function (noise excluded), in squared target units. */
  variance: number[];
}

export class GaussianProcess {
  readonly x: number[][];
  readonly y: number[];
  readonly hyper: GpHyper;
  private readonly yMean: number;
  private readonly yStd: number;
  private readonly chol: Float64Array;
  private readonly alpha: Float64Array;
  private readonly invL2: Float64Array;
  /** Basis variances b_k, their kind and the training points' features, with a basis term (basisFeatures). */
  private readonly basis?: { w: Float64Array; kind: BasisKind; h: Float64Array[] };

  /** Conditions on (x, y) with the given hyper-parameters. Needs at least one point. */
  constructor(x: readonly number[][], y: readonly number[], hyper: GpHyper, standardisation?: { mean: number; std: number }) {
    if (x.length === 0 || x.length !== y.length) throw new Error(`GP needs matching non-empty x and y (got ${x.length}, ${y.length})`);
    this.x = x.map((r) => [...r]);
    this.y = [...y];
    this.hyper = { logLengthscales: [...hyper.logLengthscales], logSignalVar: hyper.logSignalVar, logNoiseVar: hyper.logNoiseVar };
    if (hyper.logBasisVars) this.hyper.logBasisVars = [...hyper.logBasisVars];
    const st = standardisation ?? standardise(y);
    this.yMean = st.mean;
    this.yStd = st.std;
    this.invL2 = inverseSquares(hyper);
    const w = basisVariances(hyper);
    // basisKind refuses a number of basis variances that is neither d nor 2d (a corrupt snapshot).
    const kind = basisKind(hyper);
    if (w && kind) this.basis = { w, kind, h: this.x.map((u) => basisFeatures(u, kind)) };
    const n = x.length;
    this.chol = factorise(n, this.hyper, kernelPairs(this.x, this.invL2), this.basis);
    this.alpha = backSolve(this.chol, n, forwardSolve(this.chol, n, Float64Array.from(y, (v) => (v - this.yMean) / this.yStd)));
  }

  /** Fits hyper-parameters (see GpFitOptions) and conditions on all points. */
  static fit(x: readonly number[][], y: readonly number[], options: GpFitOptions): GaussianProcess {
    const st = standardise(y);
    const d = x[0]?.length ?? 0;
    const { x: xs, y: yf } = fitSubset(x, y.map((v) => (v - st.mean) / st.std), options.maxFitPoints ?? 200, options.rng);
    const minNoise = options.minNoiseVar ?? 1e-4;
    const kind = options.basis;
    const warm = options.init && options.init.logLengthscales.length === d && basisKind(options.init) === kind ? toVec(options.init) : undefined;
    // Basis variances start at their prior's median (half-normal: 0.674 × its scale) and are drawn from it.
    const m = kind ? basisSize(kind, d) : 0;
    const extra = kind ? { median: new Array<number>(m).fill(Math.log(0.6745 * BASIS_PRIOR_SCALE)), draw: () => Array.from({ length: m }, () => Math.log(Math.max(1e-6, Math.abs(BASIS_PRIOR_SCALE * options.rng.normal())))) } : undefined;
    const theta = multiStartMap(d, (t) => logPosterior(xs, yf, fromVec(t, d)), (t) => clipHyper(t, d, minNoise), { rng: options.rng, restarts: options.restarts ?? 2, iterations: options.iterations ?? 60, warm, extra });
    return new GaussianProcess(x, y, fromVec(theta, d), st);
  }

  static fromJSON(j: GpJSON): GaussianProcess {
    return new GaussianProcess(j.x, j.y, j.hyper);
  }

  toJSON(): GpJSON {
    return { x: this.x, y: this.y, hyper: this.hyper };
  }

  /** The same hyper-parameters and target scaling, one more point (Kriging-believer fantasies). */
  withPoint(x: readonly number[], y: number): GaussianProcess {
    return new GaussianProcess([...this.x, [...x]], [...this.y, y], this.hyper, { mean: this.yMean, std: this.yStd });
  }

  /**
   * (K + σ²I)⁻¹ b for standardised-unit b, from the factor the model already holds (pathwise
   * posterior samples, ./gp-sample.ts).
   */
  solve(b: readonly number[]): Float64Array {
    const n = this.x.length;
    if (b.length !== n) throw new Error(`GP solve needs ${n} values (got ${b.length})`);
    return backSolve(this.chol, n, forwardSolve(this.chol, n, Float64Array.from(b)));
  }

  /** Posterior mean and latent variance at each row of xs (R&W Alg. 2.1). */
  predict(xs: readonly (readonly number[])[]): GpPrediction {
    const n = this.x.length;
    const s2 = Math.exp(this.hyper.logSignalVar);
    const mean: number[] = [];
    const variance: number[] = [];
    const kstar = new Float64Array(n);
    const basis = this.basis;
    for (const q of xs) {
      const hq = basis ? basisFeatures(q, basis.kind) : undefined;
      let m = 0;
      for (let i = 0; i < n; i++) {
        kstar[i] = s2 * matern52(q, this.x[i], this.invL2);
        if (basis) kstar[i] += basisCovariance(hq!, basis.h[i], basis.w);
        m += kstar[i] * this.alpha[i];
      }
      forwardSolve(this.chol, n, kstar);
      let v = basis ? s2 + basisCovariance(hq!, hq!, basis.w) : s2;
      for (let i = 0; i < n; i++) v -= kstar[i] * kstar[i];
      mean.push(this.yMean + this.yStd * m);
      variance.push(Math.max(v, 1e-12 * s2) * this.yStd * this.yStd);
    }
    return { mean, variance };
  }

  /** Posterior mean only: O(n) per point (same arithmetic as `predict`, so identical values). */
  predictMean(xs: readonly (readonly number[])[]): number[] {
    const n = this.x.length;
    const s2 = Math.exp(this.hyper.logSignalVar);
    const basis = this.basis;
    return xs.map((q) => {
      let m = 0;
      if (basis) {
        const hq = basisFeatures(q, basis.kind);
        for (let i = 0; i < n; i++) m += (s2 * matern52(q, this.x[i], this.invL2) + basisCovariance(hq, basis.h[i], basis.w)) * this.alpha[i];
      } else for (let i = 0; i < n; i++) m += s2 * matern52(q, this.x[i], this.invL2) * this.alpha[i];
      return this.yMean + this.yStd * m;
    });
  }

  /** Prior variance of the latent function, its largest over the unit cube (an upper bound on every posterior variance there). */
  get priorVariance(): number {
    const basis = this.basis;
    const s2 = Math.exp(this.hyper.logSignalVar) + (basis ? basisMaxVariance(basis.w, basis.kind) : 0);
    return s2 * this.yStd * this.yStd;
  }

  /** Log marginal likelihood of the (standardised) data under the current hyper-parameters. */
  logMarginalLikelihood(): number {
    return logMarginalLikelihood(this.x, this.y.map((v) => (v - this.yMean) / this.yStd), this.hyper).value;
  }

  /**
   * Leave-one-out predictive means and variances (noise included) of every training point,
   * in target units, in closed form (R&W eq. 5.12): μ₋ᵢ = yᵢ − αᵢ/[K⁻¹]ᵢᵢ, σ²₋ᵢ = 1/[K⁻¹]ᵢᵢ.
   * Used to choose between surrogate models on the data so far.
   */
  leaveOneOut(): { mean: number[]; variance: number[] } {
    const n = this.x.length;
    const kinv = inverseFromCholesky(this.chol, n);
    const mean: number[] = [];
    const variance: number[] = [];
    for (let i = 0; i < n; i++) {
      const kii = kinv[i * n + i];
      mean.push(this.y[i] - (this.alpha[i] / kii) * this.yStd);
      variance.push(this.yStd * this.yStd / kii);
    }
    return { mean, variance };
  }

  /** Standard deviation of the targets used to standardise them (noise-scale reference). */
  get targetScale(): { mean: number; std: number } {
    return { mean: this.yMean, std: this.yStd };
  }
}

/**
 * Σᵢ log p(tᵢ | t₋ᵢ), the leave-one-out predictive log density of targets t (R&W eq. 5.10–5.11)
 * under `gp` fitted to t − m(x) for a prior mean m, or to t itself without `trendWithout`. The
 * GP's part is closed form (R&W eq. 5.12, GaussianProcess.leaveOneOut; hyper-parameters kept).
 * The trend is refitted without point i (`trendWithout(i)`): fitted on all points, its d + 1
 * coefficients would have seen tᵢ and made the trended model look better than it predicts.
 * The GP's LOO mean is linear in the residual vector r and independent of rᵢ,
 * μ₋ᵢ = rᵢ − [K⁻¹r]ᵢ/[K⁻¹]ᵢᵢ, so each i costs one solve with the factor the GP holds.
 * The quantity mobo's `trend: auto` compares between the two prior means (issue #16) and
 * gp-bo's `inputWarp: 'auto'` between the plain and the pool-warped GP (issue #12).
 */
export function looLogDensity(gp: GaussianProcess, t: readonly number[], trendWithout?: (i: number) => (u: readonly number[]) => number): number {
  const loo = gp.leaveOneOut();
  const { mean, std } = gp.targetScale;
  let s = 0;
  for (let i = 0; i < t.length; i++) {
    const v = loo.variance[i];
    let mu = loo.mean[i];
    if (trendWithout) {
      const m = trendWithout(i);
      const a = gp.solve(gp.x.map((u, j) => (t[j] - m(u) - mean) / std))[i];
      mu = t[i] - (a * v) / std;
    }
    s += -0.5 * Math.log(2 * Math.PI * v) - (t[i] - mu) ** 2 / (2 * v);
  }
  return s;
}

/** A random subset of at most `maxFit` points to fit hyper-parameters on (GpFitOptions.maxFitPoints); all of them when there are no more. */
export function fitSubset(x: readonly number[][], y: readonly number[], maxFit: number, rng: Rng): { x: readonly number[][]; y: readonly number[] } {
  if (x.length <= maxFit) return { x, y };
  const idx = x.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return { x: idx.slice(0, maxFit).map((i) => x[i]), y: idx.slice(0, maxFit).map((i) => y[i]) };
}

export function standardise(y: readonly number[]): { mean: number; std: number } {
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const v = y.reduce((s, t) => s + (t - mean) ** 2, 0) / y.length;
  return { mean, std: v > 1e-24 ? Math.sqrt(v) : 1 };
}

/** Standard normal pdf and cdf (the cdf through erfc below, accurate in the tails EI reaches). */
export function normPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** erfc by the Chebyshev fit of Numerical Recipes (3rd ed., §6.2.2), relative error < 1.2e-7. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Expected improvement over `best` for maximisation (Jones, Schonlau & Welch 1998):
 * EI = (μ − best − ξ) Φ(z) + σ φ(z), z = (μ − best − ξ)/σ.
 */
export function expectedImprovement(mean: number, variance: number, best: number, xi = 0): number {
  const s = Math.sqrt(Math.max(variance, 0));
  const imp = mean - best - xi;
  if (s < 1e-12) return Math.max(imp, 0);
  const z = imp / s;
  return imp * normCdf(z) + s * normPdf(z);
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln h(z), h(z) = φ(z) + zΦ(z), so that EI = σ·h((μ − best − ξ)/σ). Computed directly where
 * that is accurate (z ≥ −8: h > 1e-16 and Φ's relative error of 1.2e-7 costs < 1e-5 of h), and
 * by the asymptotic series h(z) = φ(z)/z²·(1 − 3/z² + 15/z⁴ − 105/z⁶ + 945/z⁸) below, where
 * the direct form cancels to 0 (relative error < 1e-7 at z = −8, smaller beyond). This is the
 * point of log-EI (Ament et al., "Unexpected improvements to expected improvement", NeurIPS
 * 2023): far from the incumbent EI underflows to exactly 0 for every candidate and its argmax
 * degenerates to the first index, while ln EI keeps ranking them.
 */
export function logH(z: number): number {
  if (z >= -8) return Math.log(normPdf(z) + z * normCdf(z));
  const w = 1 / (z * z);
  const series = 1 - w * (3 - w * (15 - w * (105 - 945 * w)));
  return -0.5 * z * z - LOG_SQRT_2PI + Math.log(w) + Math.log(series);
}

/** ln EI for maximisation (−∞ only when σ = 0 and μ ≤ best + ξ). */
export function logExpectedImprovement(mean: number, variance: number, best: number, xi = 0): number {
  const s = Math.sqrt(Math.max(variance, 0));
  const imp = mean - best - xi;
  if (s < 1e-12) return imp > 0 ? Math.log(imp) : -Infinity;
  return Math.log(s) + logH(imp / s);
}
