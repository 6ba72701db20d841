/**
 * Expected hypervolume improvement on independent GPs, one per objective (issue #16).
 *
 * - `JointPosterior`: the full posterior covariance of a fitted GaussianProcess
 *   (src/surrogate/gp.ts gives marginal variances only; k_post(a, b) = k(a, b) − v_aᵀ v_b with
 *   v = L⁻¹ k_X(·), L the Cholesky factor of K + σ²I — Rasmussen & Williams 2006, eq. 2.24).
 * - `NehviSampler`: the Monte-Carlo noisy expected hypervolume improvement, qNEHVI (Daulton,
 *   Balandat & Bakshy, "Parallel Bayesian optimization of multiple noisy objectives with
 *   expected hypervolume improvement", NeurIPS 2021). The front is not the observed values
 *   (they are noisy) but, per posterior sample, the front of the sampled values at the
 *   baseline points (observed and pending); a candidate's value is the average over samples of
 *   its hypervolume improvement over that sample's front. Candidates are sampled jointly with
 *   the baseline: with fixed base samples z_s (baseline) and ε_s (candidate),
 *     f_s(x) = μ(x) + wᵀz_s + sqrt(σ²(x) − |w|²) ε_s,  w = L_B⁻¹ Σ_{B,x},
 *   which is the conditional of f(x) on the baseline sample (common random numbers make the
 *   acquisition a deterministic function of x, as BoTorch's fixed base samples do). A batch is
 *   built by sequential greedy selection: each chosen point joins the baseline (its samples
 *   drawn jointly with the others), so the next choice counts only what it adds.
 * - `expectedHvi2d`: the closed form in two objectives for independent Gaussians (strip
 *   decomposition: E[HVI] = Σ_k E[(y₂ − u_k)⁺] · ∫_strip_k P(y₁ ≥ t) dt; Emmerich, Giannakoglou
 *   & Naujoks, IEEE TEC 10 (2006) 421), the analytic check of the sampler.
 */
import type { Rng } from '../src/core/rng.js';
import { paretoFront } from '../src/reward/pareto.js';
import { hypervolumeImprovement } from '../src/reward/hvi.js';
import { basisCovariance, basisFeatures, basisKind, basisVariances, cholesky, forwardSolve, GaussianProcess, normCdf, normPdf, type BasisKind } from '../src/surrogate/gp.js';

const SQRT5 = Math.sqrt(5);

/**
 * The full posterior of a fitted GP (latent function, target units). `trend`, when given, is a
 * prior mean the GP was fitted around (it learnt y − trend(x)): it is added back to the mean.
 */
export class JointPosterior {
  private readonly gp: GaussianProcess;
  private readonly chol: Float64Array;
  private readonly invL2: Float64Array;
  private readonly s2: number;
  private readonly yVar: number;
  /** The GP's basis term (gp.ts basisFeatures), when it has one: its variances, kind and the training points' features. */
  private readonly basis?: { w: Float64Array; kind: BasisKind; h: Float64Array[] };

  constructor(gp: GaussianProcess, private readonly trend?: (x: readonly number[]) => number) {
    this.gp = gp;
    const h = gp.hyper;
    this.invL2 = Float64Array.from(h.logLengthscales, (v) => Math.exp(-2 * v));
    this.s2 = Math.exp(h.logSignalVar);
    const w = basisVariances(h);
    const kind = basisKind(h);
    if (w && kind) this.basis = { w, kind, h: gp.x.map((q) => basisFeatures(q, kind)) };
    this.yVar = gp.targetScale.std ** 2;
    const n = gp.x.length;
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) k[i * n + j] = k[j * n + i] = this.kernel(gp.x[i], gp.x[j], this.basis?.h[i], this.basis?.h[j]);
    // Same matrix and jitter ladder as gp.ts's factorise, so means and variances agree with gp.predict.
    const prior = gp.x.map((q, i) => this.priorAt(q, this.basis?.h[i]));
    for (let jitter = 0; ; jitter = jitter === 0 ? 1e-8 * this.s2 : jitter * 10) {
      for (let i = 0; i < n; i++) k[i * n + i] = prior[i] + Math.exp(h.logNoiseVar) + jitter;
      const l = cholesky(k, n);
      if (l) {
        this.chol = l;
        break;
      }
      if (jitter > this.s2) throw new Error('GP kernel matrix is not positive definite even with jitter');
    }
  }

  /**
   * Prior covariance (standardised units): s² · Matérn-5/2, plus the basis term
   * Σ b_k h_k(a) h_k(b) when the GP has one; ha, hb: a's and b's features when known (see
   * `features`), computed here otherwise.
   */
  kernel(a: readonly number[], b: readonly number[], ha?: Float64Array, hb?: Float64Array): number {
    let r2 = 0;
    for (let k = 0; k < this.invL2.length; k++) {
      const t = a[k] - b[k];
      r2 += t * t * this.invL2[k];
    }
    const r = Math.sqrt(r2);
    const m = this.s2 * (1 + SQRT5 * r + (5 / 3) * r2) * Math.exp(-SQRT5 * r);
    const basis = this.basis;
    return basis ? m + basisCovariance(ha ?? basisFeatures(a, basis.kind), hb ?? basisFeatures(b, basis.kind), basis.w) : m;
  }

  /** q's basis features (gp.ts basisFeatures), or undefined when the GP has no basis term. */
  features(q: readonly number[]): Float64Array | undefined {
    return this.basis ? basisFeatures(q, this.basis.kind) : undefined;
  }

  /** Prior variance k(q, q) (standardised units). */
  private priorAt(q: readonly number[], hq = this.features(q)): number {
    return this.basis ? this.s2 + basisCovariance(hq!, hq!, this.basis.w) : this.s2;
  }

  /** v = L⁻¹ k_X(q): the whitened cross-covariance with the training points (hq: q's features, see `kernel`). */
  whiten(q: readonly number[], hq = this.features(q)): Float64Array {
    const n = this.gp.x.length;
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = this.kernel(q, this.gp.x[i], hq, this.basis?.h[i]);
    return forwardSolve(this.chol, n, v);
  }

  mean(xs: readonly (readonly number[])[]): number[] {
    const mu = this.gp.predictMean(xs);
    const trend = this.trend;
    return trend ? mu.map((v, i) => v + trend(xs[i])) : mu;
  }

  /** Posterior covariance matrix (target units, latent) of the rows of xs. */
  covariance(xs: readonly (readonly number[])[]): number[][] {
    const h = xs.map((q) => this.features(q));
    const v = xs.map((q, i) => this.whiten(q, h[i]));
    return xs.map((a, i) => xs.map((b, j) => (this.kernel(a, b, h[i], h[j]) - dot(v[i], v[j])) * this.yVar));
  }

  /** Prior variance, whitened vector and features of q, for cross-covariances with a fixed set (see NehviSampler). */
  parts(q: readonly number[]): { prior: number; v: Float64Array; h?: Float64Array } {
    const h = this.features(q);
    return { prior: this.priorAt(q, h), v: this.whiten(q, h), h };
  }

  get targetVariance(): number {
    return this.yVar;
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Lower Cholesky factor of a covariance matrix, with growing jitter until it factorises. */
function cholWithJitter(c: number[][]): Float64Array {
  const n = c.length;
  const scale = Math.max(1e-12, ...c.map((r, i) => r[i]));
  for (let jitter = 1e-9 * scale; ; jitter *= 10) {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = c[i][j] + (i === j ? jitter : 0);
    const l = cholesky(a, n);
    if (l) return l;
    if (jitter > scale) throw new Error('posterior covariance is not positive definite');
  }
}

/** One objective's posterior over the baseline, ready to sample candidates jointly with it. */
interface BaselineModel {
  post: JointPosterior;
  xs: number[][];
  chol: Float64Array;
  /** Whitened cross-covariances v_b of each baseline point (rows). */
  v: Float64Array[];
  /** The baseline points' basis features (JointPosterior.features), when the GP has a basis term. */
  h: (Float64Array | undefined)[];
  /** Baseline samples (S × n_b) and the standard-normal draws behind them. */
  z: Float64Array[];
}

export interface NehviOptions {
  /** Monte-Carlo samples (fixed base samples). */
  samples: number;
  rng: Rng;
  /** Normalisation applied to goal-signed objective samples before the hypervolume. */
  normalise: (y: readonly number[]) => number[];
  /** Reference point in normalised units. */
  reference: readonly number[];
}

/**
 * qNEHVI by sequential greedy batches: `value(x)` is the MC estimate of the expected
 * hypervolume improvement of x over the baseline's sampled fronts; `add(x)` puts a chosen x
 * into the baseline.
 */
export class NehviSampler {
  private models: BaselineModel[] = [];
  private fronts: number[][][] = [];
  private frontIdx: number[][] = [];
  /** Per sample, the front's indices in decreasing third objective (hvi3Sorted; m = 3 only). */
  private byThird: Int32Array[] = [];
  private eps: number[][] = [];
  /** Per sample, the compiled box decomposition of its front (built on the first logValue). */
  private cells: CompiledCells[] | null = null;
  private readonly m: number;

  constructor(private readonly posts: readonly JointPosterior[], private baseline: number[][], private readonly o: NehviOptions) {
    this.m = posts.length;
    this.rebuild();
  }

  private rebuild(): void {
    const S = this.o.samples;
    const nb = this.baseline.length;
    this.models = this.posts.map((post) => {
      if (nb === 0) return { post, xs: [], chol: new Float64Array(0), v: [], h: [], z: [] };
      const chol = cholWithJitter(post.covariance(this.baseline));
      const z = Array.from({ length: S }, () => Float64Array.from({ length: nb }, () => this.o.rng.normal()));
      const h = this.baseline.map((q) => post.features(q));
      return { post, xs: this.baseline.map((r) => [...r]), chol, v: this.baseline.map((q, i) => post.whiten(q, h[i])), h, z };
    });
    this.eps = Array.from({ length: S }, () => Array.from({ length: this.m }, () => this.o.rng.normal()));
    // Per sample: the sampled objective values of the baseline and their front (normalised).
    const means = this.models.map((b) => (nb ? b.post.mean(this.baseline) : []));
    this.fronts = [];
    this.frontIdx = [];
    this.byThird = [];
    this.cells = null;
    for (let s = 0; s < S; s++) {
      const ys = Array.from({ length: nb }, (_, i) => {
        const y = this.models.map((b, j) => {
          let f = means[j][i];
          for (let k = 0; k <= i; k++) f += b.chol[i * nb + k] * b.z[s][k];
          return f;
        });
        return this.o.normalise(y);
      });
      const idx = paretoFront(ys, new Array(this.m).fill('max'));
      this.frontIdx.push(idx);
      // Sorted by the first objective, descending (hvi2Sorted's order; harmless for m > 2).
      const front = idx.map((i) => ys[i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      this.fronts.push(front);
      if (this.m === 3) this.byThird.push(Int32Array.from(front.map((_, i) => i).sort((a, b) => front[b][2] - front[a][2] || a - b)));
    }
  }

  /** How many samples put each baseline point on their front (BoTorch's prune_baseline uses this). */
  frontMembership(): number[] {
    const n = new Array<number>(this.baseline.length).fill(0);
    for (const idx of this.frontIdx) for (const i of idx) n[i]++;
    return n;
  }

  /** Adds a chosen point to the baseline (sequential greedy batch construction). */
  add(x: readonly number[]): void {
    this.baseline = [...this.baseline, [...x]];
    this.rebuild();
  }

  /** Joint samples (goal-signed, S × m) of the objectives at x, conditioned on the baseline samples. */
  samplesAt(x: readonly number[]): number[][] {
    const S = this.o.samples;
    const nb = this.baseline.length;
    const per = this.models.map((b) => {
      const mu = b.post.mean([x])[0];
      const { prior, v, h } = b.post.parts(x);
      const tv = b.post.targetVariance;
      const varX = Math.max(0, (prior - dot(v, v)) * tv);
      if (nb === 0) return { mu, w: new Float64Array(0), cond: Math.sqrt(varX) };
      // Σ_{B,x} in target units, then w = L_B⁻¹ Σ_{B,x}.
      const c = Float64Array.from(b.xs, (q, i) => (b.post.kernel(q, x, b.h[i], h) - dot(b.v[i], v)) * tv);
      const w = forwardSolve(b.chol, nb, c);
      return { mu, w, cond: Math.sqrt(Math.max(0, varX - dot(w, w))) };
    });
    return Array.from({ length: S }, (_, s) => per.map((p, j) => p.mu + dot(p.w, this.models[j].z[s] ?? []) + p.cond * this.eps[s][j]));
  }

  /** The MC estimate of E[HVI(x)] (normalised units). */
  value(x: readonly number[]): number {
    const ys = this.samplesAt(x);
    let total = 0;
    for (let s = 0; s < ys.length; s++) {
      const y = this.o.normalise(ys[s]);
      const f = this.fronts[s];
      total += this.m === 2 ? hvi2Sorted(f, y, this.o.reference) : this.m === 3 ? hvi3Sorted(f, this.byThird[s], y, this.o.reference) : hypervolumeImprovement(f, y, this.o.reference);
    }
    return total / ys.length;
  }

  /**
   * qLogNEHVI: ln of the MC average of the smoothed improvement (logmeanexp over samples of
   * logSmoothedHvi on each sample's cells; see nondominatedCells). Finite everywhere.
   */
  logValue(x: readonly number[]): number {
    if (!this.cells) this.cells = this.fronts.map((f) => compileCells(nondominatedCells(f, this.o.reference), this.m));
    const ys = this.samplesAt(x);
    const logs = new Float64Array(ys.length);
    for (let s = 0; s < ys.length; s++) logs[s] = logSmoothedHviCompiled(this.cells[s], this.o.normalise(ys[s]));
    return logSumExp(logs) - Math.log(ys.length);
  }
}

/**
 * Two-objective hypervolume improvement of y (maximisation) over a non-dominated `front`
 * sorted by the first objective descending (so the second ascends): the box [ref, y] minus
 * the staircase of the front clipped to it, in one pass without allocation. The same value as
 * src/reward/hvi.ts's hypervolumeImprovement; it runs once per candidate and posterior sample
 * (thousands of times per proposal with the local ascent), where the general routine's
 * clipping, copying and sorting dominated the cost (issue #16 profile).
 */
export function hvi2Sorted(front: readonly (readonly number[])[], y: readonly number[], ref: readonly number[]): number {
  const w = y[0] - ref[0];
  const h = y[1] - ref[1];
  if (!(w > 0 && h > 0)) return 0;
  let covered = 0;
  let level = ref[1];
  for (const p of front) {
    const c0 = Math.min(p[0], y[0]);
    const c1 = Math.min(p[1], y[1]);
    if (c0 <= ref[0] || c1 <= level) continue;
    covered += (c0 - ref[0]) * (c1 - level);
    level = c1;
  }
  return Math.max(0, w * h - covered);
}

/**
 * Three-objective hypervolume improvement of y over a non-dominated `front` sorted by the first
 * objective descending, with `byThird` its indices in decreasing third objective: the box
 * [ref, y] minus the clipped front's volume, by slices along the third objective (HSO, While
 * et al. 2006), each slice's area by hvi2Sorted's sweep over the points above it. Clipping to
 * y keeps both orders, so nothing is sorted or copied per call: O(F²) for F front points.
 */
export function hvi3Sorted(front: readonly (readonly number[])[], byThird: Int32Array, y: readonly number[], ref: readonly number[]): number {
  let box = 1;
  for (let i = 0; i < 3; i++) {
    const d = y[i] - ref[i];
    if (!(d > 0)) return 0;
    box *= d;
  }
  const n = front.length;
  const inSlice = new Uint8Array(n);
  let covered = 0;
  for (let k = 0; k < n; k++) {
    const j = byThird[k];
    const top = Math.min(front[j][2], y[2]);
    if (top <= ref[2]) break;
    inSlice[j] = 1;
    const bottom = k + 1 < n ? Math.max(ref[2], Math.min(front[byThird[k + 1]][2], y[2])) : ref[2];
    if (top <= bottom) continue;
    let area = 0;
    let level = ref[1];
    for (let i = 0; i < n; i++) {
      if (!inSlice[i]) continue;
      const c0 = Math.min(front[i][0], y[0]);
      const c1 = Math.min(front[i][1], y[1]);
      if (c0 <= ref[0] || c1 <= level) continue;
      area += (c0 - ref[0]) * (c1 - level);
      level = c1;
    }
    covered += (top - bottom) * area;
  }
  return Math.max(0, box - covered);
}

/** E[(Y − u)⁺] for Y ~ N(μ, σ²). */
function expectedExcess(u: number, mean: number, sd: number): number {
  if (sd <= 0) return Math.max(0, mean - u);
  const z = (mean - u) / sd;
  return (mean - u) * normCdf(z) + sd * normPdf(z);
}

/**
 * Closed-form expected hypervolume improvement in 2-D (maximisation) of a point with
 * independent Gaussian objectives N(mean[i], sd[i]²) over `front`, reference `ref`.
 */
export function expectedHvi2d(front: readonly (readonly number[])[], mean: readonly number[], sd: readonly number[], ref: readonly number[]): number {
  const pts = front.filter((p) => p[0] > ref[0] && p[1] > ref[1]);
  const s = paretoFront(pts, ['max', 'max']).map((i) => pts[i]).sort((a, b) => b[0] - a[0]);
  // Along objective 1 from the top down, the strip t ∈ (x_k, x_{k−1}] has the front's level
  // u_k = best objective 2 among points with objective 1 ≥ t (the reference below all points).
  // ∫_a^b P(y₁ ≥ t) dt = E[(y₁ − a)⁺] − E[(y₁ − b)⁺].
  let total = 0;
  let level = ref[1];
  let upperExcess = 0; // E[(y₁ − upper)⁺]; 0 for upper = ∞
  for (let k = 0; k <= s.length; k++) {
    const lower = k < s.length ? s[k][0] : ref[0];
    const lowerExcess = expectedExcess(lower, mean[0], sd[0]);
    total += expectedExcess(level, mean[1], sd[1]) * (lowerExcess - upperExcess);
    if (k < s.length) {
      level = Math.max(level, s[k][1]);
      upperExcess = lowerExcess;
    }
  }
  return total;
}

/*
 * qLogNEHVI (issue #16): the log of a smoothed hypervolume improvement, after Ament, Daulton,
 * Eriksson, Balandat & Bakshy, "Unexpected improvements to expected improvement for Bayesian
 * optimization", NeurIPS 2023, §5 and BoTorch's qLogNoisyExpectedHypervolumeImprovement.
 * Per posterior sample the improvement is written over a box decomposition of the region the
 * sample's front does not dominate (cells [l, u], u may be ∞):
 *   HVI(y) = Σ_cells Π_i [min(y_i, u_i) − l_i]⁺,
 * and [·]⁺ is replaced by a fat-tailed softplus (fatplus, temperature TAU_RELU) and min by a
 * fat-tailed smooth minimum (temperature TAU_MAX), all in log space (logsumexp over cells,
 * logmeanexp over samples). Where the exact improvement is 0 — a candidate whose sampled
 * objectives lie outside the reference box or under the front, most of DTLZ2's cube — the
 * smoothed value is tiny but positive and grows as the candidate nears the region that
 * improves, so the acquisition is never flat and its ranking and local ascent keep a direction.
 * Where the exact improvement is not tiny the two agree to within the temperatures.
 */

/** BoTorch's temperatures for qLogNEHVI (botorch/acquisition/multi_objective/logei.py): [·]⁺ and min. */
export const TAU_RELU = 1e-6;
export const TAU_MAX = 1e-2;
/** Weight of the Cauchy tail of fatplus (BoTorch's safe_math.fatplus: keeps it monotone and convex). */
const FAT_ALPHA = 0.1;

/** ln fatplus(x) = ln τ(softplus(x/τ) + α/(1 + (x/τ)²)): ≈ ln x for x ≫ τ, ≈ ln(ατ³/x²) for x ≪ −τ. */
export function logFatplus(x: number, tau = TAU_RELU): number {
  const t = x / tau;
  // softplus(t) = t to double precision there; the tail term stays, so the value is continuous.
  if (t > 40) return Math.log(tau) + Math.log(t + FAT_ALPHA / (1 + t * t));
  const softplus = t < -40 ? Math.exp(t) : Math.log1p(Math.exp(t));
  return Math.log(tau) + Math.log(softplus + FAT_ALPHA / (1 + t * t));
}

/**
 * A fat-tailed smooth minimum of a and b: min(a, b) − τ ln(1 + c(|a − b|/τ)) with the Pareto
 * tail c(t) = (1 + t/2)⁻², as BoTorch's fatminimum has a Pareto tail. Its slope at t = 0 is
 * −½, so the derivative in a is ½ on both sides of a = b: the kink of min is gone, and the value
 * moves by at most τ ln 2. (A Cauchy tail 1/(1 + t²), tried first, has zero slope at 0 and left
 * the kink: slope 1 just below the tie, 5e-6 just above; final review.)
 */
export function fatMin(a: number, b: number, tau = TAU_MAX): number {
  if (b === Infinity) return a;
  const u = 1 + Math.abs(a - b) / (2 * tau);
  return Math.min(a, b) - tau * Math.log1p(1 / (u * u));
}

export interface Cells {
  /** Lower and upper corners (u_i may be ∞), one row per cell. */
  lo: number[][];
  hi: number[][];
}

/**
 * A box decomposition of the part of {y ≥ ref} that no point of `front` dominates (maximisation),
 * by slices along the last objective: in the slice between consecutive front values of it, the
 * points above dominate, and the rest is the (m − 1)-dimensional region they leave, recursively;
 * in one dimension it is [max of the points, ∞). F + 1 cells in 2-D, O(F²) in 3-D. Points that
 * do not strictly dominate the reference bound nothing inside the box and are dropped.
 */
export function nondominatedCells(front: readonly (readonly number[])[], ref: readonly number[]): Cells {
  const m = ref.length;
  const pts = front.filter((p) => p.every((v, i) => v > ref[i]));
  const out: Cells = { lo: [], hi: [] };
  const rec = (p: readonly (readonly number[])[], dims: number, lo: number[], hi: number[]): void => {
    const last = dims - 1;
    if (last === 0) {
      out.lo.push([p.reduce((a, q) => Math.max(a, q[0]), ref[0]), ...lo]);
      out.hi.push([Infinity, ...hi]);
      return;
    }
    const sorted = [...p].sort((a, b) => b[last] - a[last]);
    for (let k = 0; k <= sorted.length; k++) {
      const top = k === 0 ? Infinity : sorted[k - 1][last];
      const bottom = k < sorted.length ? sorted[k][last] : ref[last];
      if (!(top > bottom)) continue;
      const above = sorted.slice(0, k);
      // Only the points not dominated in the remaining dimensions shape the slice.
      const keep = above.filter((a, i) => !above.some((b, j) => j !== i && dominatesIn(b, a, last) && (!dominatesIn(a, b, last) || j < i)));
      rec(keep, last, [bottom, ...lo], [top, ...hi]);
    }
  };
  rec(pts, m, [], []);
  return out;
}

/** b ≥ a in the first `dims` objectives. */
function dominatesIn(b: readonly number[], a: readonly number[], dims: number): boolean {
  for (let i = 0; i < dims; i++) if (b[i] < a[i]) return false;
  return true;
}

/** Exact HVI of y from cells (the unsmoothed sum; the reference the smoothing is checked against). */
export function cellsHvi(cells: Cells, y: readonly number[]): number {
  let total = 0;
  cells.lo.forEach((l, c) => {
    let v = 1;
    for (let i = 0; i < l.length; i++) v *= Math.max(0, Math.min(y[i], cells.hi[c][i]) - l[i]);
    total += v;
  });
  return total;
}

/** ln of the smoothed HVI of y: logsumexp over cells of Σ_i ln fatplus(fatmin(y_i, u_i) − l_i). */
export function logSmoothedHvi(cells: Cells, y: readonly number[], tauRelu = TAU_RELU, tauMax = TAU_MAX): number {
  const terms = cells.lo.map((l, c) => l.reduce((s, li, i) => s + logFatplus(fatMin(y[i], cells.hi[c][i], tauMax) - li, tauRelu), 0));
  return logSumExp(terms);
}

export function logSumExp(v: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] > max) max = v[i];
  if (!Number.isFinite(max)) return max;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.exp(v[i] - max);
  return max + Math.log(s);
}

/**
 * ln Φ(z), accurate in the lower tail (Φ itself underflows below z ≈ −38, and its relative error
 * grows before that): the asymptotic series Φ(z) = φ(z)/|z| · (1 − 1/z² + 3/z⁴ − 15/z⁶) below −6.
 */
export function logNormCdf(z: number): number {
  if (z > -6) return Math.log(normCdf(z));
  const w = 1 / (z * z);
  return -0.5 * z * z - 0.5 * Math.log(2 * Math.PI) - Math.log(-z) + Math.log(1 - w * (1 - w * (3 - 15 * w)));
}

/**
 * The cells of one sample compiled for fast evaluation: per objective the distinct (l, u)
 * pairs, each cell an index into them, so a candidate costs one ln fatplus per distinct pair and
 * one exp per cell (3-D cells repeat their bounds across slices).
 */
export interface CompiledCells {
  m: number;
  pairLo: Float64Array[];
  pairHi: Float64Array[];
  /** cell × m indices into the pairs. */
  index: Int32Array;
  n: number;
}

export function compileCells(cells: Cells, m: number): CompiledCells {
  const maps = Array.from({ length: m }, () => new Map<string, number>());
  const lo: number[][] = Array.from({ length: m }, () => []);
  const hi: number[][] = Array.from({ length: m }, () => []);
  const index = new Int32Array(cells.lo.length * m);
  cells.lo.forEach((l, c) => {
    for (let i = 0; i < m; i++) {
      const key = `${l[i]},${cells.hi[c][i]}`;
      let j = maps[i].get(key);
      if (j === undefined) {
        j = lo[i].length;
        maps[i].set(key, j);
        lo[i].push(l[i]);
        hi[i].push(cells.hi[c][i]);
      }
      index[c * m + i] = j;
    }
  });
  return { m, pairLo: lo.map((v) => Float64Array.from(v)), pairHi: hi.map((v) => Float64Array.from(v)), index, n: cells.lo.length };
}

/** logSmoothedHvi on compiled cells (same value, fewer logarithms). */
export function logSmoothedHviCompiled(cc: CompiledCells, y: readonly number[], scratch: Float64Array[] = []): number {
  const { m } = cc;
  const t: Float64Array[] = [];
  for (let i = 0; i < m; i++) {
    const n = cc.pairLo[i].length;
    const a = scratch[i] && scratch[i].length >= n ? scratch[i] : new Float64Array(n);
    for (let j = 0; j < n; j++) a[j] = logFatplus(fatMin(y[i], cc.pairHi[i][j]) - cc.pairLo[i][j]);
    t.push(a);
  }
  let max = -Infinity;
  const sums = new Float64Array(cc.n);
  for (let c = 0; c < cc.n; c++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += t[i][cc.index[c * m + i]];
    sums[c] = s;
    if (s > max) max = s;
  }
  if (!Number.isFinite(max)) return max;
  let s = 0;
  for (let c = 0; c < cc.n; c++) s += Math.exp(sums[c] - max);
  return max + Math.log(s);
}
