/**
 * Multi-objective Bayesian optimisation (issue #16): proposals that extend the Pareto front of
 * Observation.objectives (goal-signed: larger is better in every objective, the campaign
 * negates `min` objectives) subject to outcome constraints (Observation.constraints: slacks,
 * feasible when all ≥ 0).
 *
 * Model: independent GPs, one per objective and one per constraint (src/surrogate/gp.ts,
 * Matérn-5/2 ARD, MAP hyper-parameters), the standard choice of BoTorch's ModelListGP. They
 * learn from `learningSet` (agents/common.ts): simulations in a twin campaign, rig
 * measurements otherwise, never a surrogate's estimate. A failed evaluation (no finite
 * objectives) is imputed with the worst value seen in each objective and constraint, as gp-bo
 * does, so the models steer away from where manufacture failed.
 *
 * Acquisition (`acquisition`):
 * - `qnehvi` (default): Monte-Carlo noisy expected hypervolume improvement (agents/ehvi.ts)
 *   on objectives normalised to [0, 1] by the observed range, reference point inferred from
 *   the data (nadir of the observed front − 10 % of its range, BoTorch's default), batches by
 *   sequential greedy selection with the chosen and pending points in the baseline;
 * - `parego`: ParEGO (Knowles, IEEE TEC 10 (2006) 50), the cheap option: per batch point a
 *   fresh weight vector on the simplex, the augmented Chebyshev scalarisation of the
 *   normalised objectives (src/reward/pareto.ts), one GP on it, log expected improvement;
 *   earlier points of the batch and pending points enter as Kriging-believer fantasies.
 * Both multiply by the probability of feasibility Π_j Φ(μ_j/σ_j) of the constraint GPs
 * (Gardner et al., ICML 2014; Gelbart, Snoek & Adams, UAI 2014). qNEHVI-only options (issue
 * #16): `trend: auto`, the default (a fitted quadratic prior mean or a constant one per
 * objective, by leave-one-out predictive density at each fit, prefersTrend), `trend: quadratic`
 * (always the quadratic prior mean, quadraticTrend), `trend: bayes-quadratic` (the quadratic
 * basis in the kernel with Gaussian coefficients, their variances by MAP; src/surrogate/gp.ts
 * quadraticBasis), `trend: auto-bayes` (that GP or the constant-mean one per objective, by
 * leave-one-out predictive density at each fit, prefersBasis), `trend: bayes-second-order` (as
 * bayes-quadratic with linear features beside the quadratic ones; secondOrderBasis), `trend: none`
 * (constant prior mean) and `trustRegion` (MORBO's trust regions, agents/mo-trust-region.ts; off by default).
 *
 * Optimisation of the acquisition (BoTorch's optimize_acqf): the exact argmax over every unused
 * point of a pool; in continuous spaces `candidates` raw uniform samples plus Gaussian
 * perturbations of the observed front, the best `starts` of them refined by a bounded
 * finite-difference ascent (`ascend`) that can land on the bounds. Until the initial design is
 * done (2(d + 1) observations with objectives by default, see `initialPoints`), proposals are
 * uniform random. Every random choice comes from ctx.rng.
 */
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { minusInfinityStandIn } from '../src/core/reward-stand-in.js';
import { dimension, encode, paramKey } from '../src/core/space.js';
import { inferReference, normaliser } from '../src/reward/objectives.js';
import { augmentedChebyshev, paretoFront, randomSimplexWeights } from '../src/reward/pareto.js';
import { backSolve, basisActive, cholesky, forwardSolve, GaussianProcess, logExpectedImprovement, looLogDensity, normCdf, type BasisKind } from '../src/surrogate/gp.js';
import { fitYeoJohnsonLambda, yeoJohnson } from '../src/surrogate/output-transform.js';
import { feasibleFromCube, fitOrReuse, initialDesignSize, learningSet, readOptions, unusedPool, type GpFitState } from './common.js';
import { JointPosterior, logNormCdf, NehviSampler } from './ehvi.js';
import { byContribution, designLength, inBox, moTrustRegions, runningHypervolume, type Box } from './mo-trust-region.js';
import { createRandomAgent } from './random.js';

const ACQUISITIONS = ['qnehvi', 'parego'] as const;
const WARPS = ['none', 'yeo-johnson'] as const;
const SMOOTHINGS = ['log', 'none'] as const;
const TRENDS = ['none', 'quadratic', 'auto', 'bayes-quadratic', 'auto-bayes', 'bayes-second-order'] as const;
/** The trends that put a basis term in every objective's kernel, and its kind (src/surrogate/gp.ts). */
const BAYES_TRENDS: Partial<Record<string, BasisKind>> = { 'bayes-quadratic': 'quadratic', 'bayes-second-order': 'second-order' };

const DEFAULTS = {
  /** 'qnehvi' (expected hypervolume improvement) or 'parego' (random Chebyshev scalarisations). */
  acquisition: 'qnehvi' as string,
  /**
   * Random proposals until this many observations with objectives exist; 0 = min(2(d + 1), 20),
   * the initial design of Daulton, Balandat & Bakshy's qNEHVI/qEHVI experiments (NeurIPS 2020,
   * 2021). Not the d + 1 of gp-bo: one GP per objective fitted to d + 1 points sent the first
   * batches away from the front (issue #16 diagnosis, docs/multiobjective.md).
   */
  initialPoints: 0,
  /** Monte-Carlo samples of qNEHVI (BoTorch uses 128; 32 keeps a proposal well under a second). */
  samples: 32,
  /** Raw samples per batch point in continuous spaces (uniform; BoTorch's raw_samples). */
  candidates: 512,
  /** Best raw samples refined by local ascent (BoTorch's num_restarts). */
  starts: 8,
  /** Most ascent iterations per start. */
  ascentSteps: 30,
  /** Most baseline points kept for qNEHVI (those most often on the sampled fronts). */
  maxBaseline: 24,
  /** Refit GP hyper-parameters once the data grew by this fraction (0 = at every new point). */
  refitFraction: 0,
  restarts: 1,
  maxFitPoints: 120,
  /**
   * qNEHVI's reference point, goal-signed (larger is better; a `min` objective's reference is
   * negated), one value per objective or null to infer it; empty: inferred from the data.
   * Campaigns pass their objectives' reference/threshold here (src/compose/campaign.ts).
   */
  reference: [] as (number | null)[],
  /**
   * Output warp of each objective's GP for qNEHVI: 'yeo-johnson' (default) or 'none' (see
   * objectiveWarp). Chosen on development seeds 101–110 of the multi-objective bench: the GDL
   * pool's median gap at 40 evaluations 7.7e7 → 2.7e7, ZDT3 2.6 → 1.0, ZDT1, DTLZ2 and
   * C2-DTLZ2 unchanged (experiments/results/multiobjective-dev.md).
   */
  outputTransform: 'yeo-johnson' as string,
  /**
   * qNEHVI's form: 'none' (default) is the exact MC improvement times P(feasible); 'log' is
   * qLogNEHVI — the log of the fat-tailed smoothed improvement (agents/ehvi.ts; Ament et al.,
   * NeurIPS 2023), never flat where the exact improvement is 0, plus ln P(feasible). Not the
   * default: on development seeds 101–110 of the multi-objective bench it lowered the gap on
   * DTLZ2 only (0.0705 → 0.0681) and raised it elsewhere (C2-DTLZ2 0.086 → 0.095, DTLZ2-3
   * 0.452 → 0.504, ZDT3 1.01 → 2.92)
   * and cost 2× (2 objectives) to 8× (3) the proposal time (issue #16, multiobjective-dev.md).
   */
  smoothing: 'none' as string,
  /**
   * qNEHVI's candidates only in MORBO's trust regions (agents/mo-trust-region.ts; Daulton et
   * al., UAI 2022): cubes around the `trustRegions` Pareto points of largest hypervolume
   * contribution, side by TuRBO's rule with success = a higher hypervolume. Off by default: on
   * development seeds 101–110 it lowered DTLZ2's gap a little (0.0705 → 0.0652) and raised
   * ZDT3's (1.01 → 2.35) and C2-DTLZ2's (0.086 → 0.097) (issue #16, multiobjective-dev.md).
   */
  trustRegion: false,
  /** How many trust regions (centres) at most (needs `trustRegion`). */
  trustRegions: 4,
  /** Side of the trust regions at the start and after a restart, in unit-cube units (TuRBO and MORBO: 0.8; needs `trustRegion`). */
  trustRegionLength: 0.8,
  /**
   * Prior mean of qNEHVI's GPs: 'none' (constant, the GP standardises), 'quadratic' (see
   * quadraticTrend) or 'auto' (default; per objective, at every fit, the one of the two with the
   * higher leave-one-out predictive log density of the data; see prefersTrend). Default 'auto'
   * (issue #16, the lead's decision): the bar for a change of default is the default it replaces.
   * On development seeds 101–110 (multiobjective-dev.md, seventh pass) 'auto' against 'none',
   * qNEHVI/ParEGO median gap at 40 evaluations: equal on ZDT1–3, better on DTLZ2 (0.46 vs 0.62),
   * DTLZ2-3 (0.88 vs 0.92) and C2-DTLZ2 (0.48 vs 0.62), slightly worse on the GDL pool (0.92 vs
   * 0.87, quartiles overlapping). 'quadratic' alone cut the gap on the DTLZ2 family but raised it
   * on ZDT1–3 and the pool. ParEGO, the baseline kept as published, fits no trend: the default
   * applies to qNEHVI only, and an explicit trend other than 'none' with ParEGO is refused.
   * `trendRidge` needs a trend ('quadratic' or 'auto') and qNEHVI.
   * 'bayes-quadratic' (issue #16, eighth pass): no plug-in trend; the separable quadratic basis
   * h_k(u) ∝ (u_k − ½)² − 1/12 enters the kernel with Gaussian coefficients, their prior
   * variances b_k fitted with the other hyper-parameters (R&W §2.7, eq. 2.39), so the evidence
   * sets the curvature per objective and fit, and the coefficients' uncertainty is in the
   * posterior variance (src/surrogate/gp.ts quadraticBasis). Not the default: on development
   * seeds 101–120 it cut the median gap at 40 to 0.34–0.51 of the default's on DTLZ2, DTLZ2-3 (0.42 → 0.15) and
   * C2-DTLZ2, but raised it on ZDT3 (1.04 → 3.46), the GDL pool (+19 %) and ZDT1 (+5 %), beyond
   * the 5 % the gate allowed (multiobjective-dev.md, eighth pass).
   * 'auto-bayes' (issue #16, ninth pass): per objective and fit, the 'bayes-quadratic' GP or the
   * constant-mean one, by leave-one-out density (see prefersBasis). Not the default: on
   * development seeds 161–200 it cut the median gap at 40 on DTLZ2-3 (0.412 → 0.158), C2-DTLZ2
   * and DTLZ2 and kept ZDT1, ZDT2 and the GDL pools within 5 %, but raised ZDT3's (1.37 → 3.47,
   * 30 of 40 seeds worse). Against 'bayes-quadratic' on those seeds: smaller losses on ZDT1 (27 of
   * 40 seeds better) and ZDT3's median, smaller gains on the DTLZ2 family (multiobjective-dev.md).
   * 'bayes-second-order' (issue #16, tenth pass): as 'bayes-quadratic' with a linear feature
   * √12 (u_k − ½) per input beside the quadratic one, each with its own variance
   * (src/surrogate/gp.ts secondOrderBasis): the fitted curvature's centre is free, and ZDT's
   * linear distance variables, whose front is on their bound, get a slope that extrapolates. Not
   * the default: on development seeds 201–240 it cut the median gap at 40 on DTLZ2-3 (0.426 →
   * 0.147), DTLZ2 and C2-DTLZ2 and removed bayes-quadratic's ZDT1 loss, but raised ZDT3's median
   * (2.26 → 3.66) and the GDL mean pool's (1.25×) beyond the gate's 5 % (multiobjective-dev.md,
   * tenth pass).
   */
  trend: 'auto' as string,
  /** Ridge penalty on the quadratic trend's curvatures (standardised targets, unit cube). */
  trendRidge: 0.01,
  /** ParEGO's augmented-Chebyshev ρ (Knowles 2006). */
  rho: 0.05,
};

interface MoboState {
  objectives: GpFitState[];
  /** The objectives' GPs around the quadratic trend, when `trend: auto` fits both models. */
  trended?: GpFitState[];
  /** The objectives' GPs with the quadratic basis in the kernel, when `trend: auto-bayes` fits both models. */
  withBasis?: GpFitState[];
  constraints: GpFitState[];
}

/**
 * Observations the models learn from, with objectives and constraints imputed for failures.
 * An objective of −∞ (goal-signed: a `max` objective's −∞ or a `min` objective's +∞, e.g. a
 * log of a conductivity of 0) is computable and terrible, not a failure: it is learnt as that
 * objective's stand-in below its worst finite value (src/core/reward-stand-in.ts), the row's
 * other objectives as they are, as trainingData learns a reward of −∞ (review 2026-12-07: it
 * was taken for a failure, every objective the worst seen). A row with NaN or a goal-signed +∞
 * is a failure: every objective the worst finite value seen. Such rows are not `fine`.
 */
export function dataOf(history: readonly Observation[], space: AgentContext['space']): { x: number[][]; y: number[][]; c: number[][]; fine: boolean[]; finite: number; m: number; q: number } | null {
  const set = learningSet(history);
  const withObj = set.filter((o) => o.objectives && o.objectives.length > 0);
  if (withObj.length === 0) return null;
  const m = withObj[0].objectives!.length;
  const q = withObj.find((o) => o.constraints)?.constraints?.length ?? 0;
  const ok = (o: Observation) => o.objectives!.length === m && o.objectives!.every(Number.isFinite);
  const good = withObj.filter(ok);
  if (good.length === 0) return { x: [], y: [], c: [], fine: [], finite: 0, m, q };
  const columns = Array.from({ length: m }, (_, i) => good.map((o) => o.objectives![i]));
  const worstY = columns.map((v) => Math.min(...v));
  const standInY = columns.map(minusInfinityStandIn);
  const terrible = (o: Observation) => o.objectives?.length === m && o.objectives.every((v) => Number.isFinite(v) || v === -Infinity);
  const cVals = (o: Observation) => Array.from({ length: q }, (_, j) => o.constraints?.[j] ?? Number.NaN);
  const finiteC = (j: number) => set.map((o) => cVals(o)[j]).filter(Number.isFinite);
  const worstC = Array.from({ length: q }, (_, j) => Math.min(-1, ...finiteC(j)));
  const x: number[][] = [];
  const y: number[][] = [];
  const c: number[][] = [];
  /** Whether each row has finite objectives (false: a failure, imputed). */
  const fineRows: boolean[] = [];
  for (const o of set) {
    const fine = o.objectives !== undefined && ok(o);
    fineRows.push(fine);
    x.push(encode(space, o.params));
    y.push(fine ? [...o.objectives!] : terrible(o) ? o.objectives!.map((v, i) => (v === -Infinity ? standInY[i] : v)) : worstY);
    c.push(cVals(o).map((v, j) => (Number.isFinite(v) ? v : worstC[j])));
  }
  return { x, y, c, fine: fineRows, finite: good.length, m, q };
}

/**
 * A per-objective output warp for qNEHVI's GPs: `apply` maps observed values into the space the
 * GP models, `inverse` maps posterior samples back, so the hypervolume is always measured in
 * the objective's own units (a warped GP; Snelson, Rasmussen & Ghahramani, NeurIPS 2003).
 * - `none`: the identity (BoTorch's default, Standardize only; the GP standardises itself).
 * - `yeo-johnson`: the Yeo–Johnson power transform of the standardised values, λ by maximum
 *   likelihood (src/surrogate/output-transform.ts, gp-bo's default); λ = 1 is the identity,
 *   chosen when the data look Gaussian. Issue #16: on the GDL pool the conductivity is zero
 *   below the percolation threshold and heavy-tailed above it; an unwarped GP spreads its
 *   samples around the zeros and misses the tail.
 * The inverse of a compressing transform (λ < 1 above zero, λ > 1 below) has a bounded domain;
 * a sample beyond it, and any sample more than 3 standard deviations of the data beyond the
 * observed range, is clamped there: the model is not trusted to extrapolate further.
 */
export function objectiveWarp(y: readonly number[], name: string): { apply: (v: number) => number; inverse: (t: number) => number } {
  if (name === 'none' || y.length < 3) return { apply: (v) => v, inverse: (t) => t };
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
  if (!(sd > 0)) return { apply: (v) => v, inverse: (t) => t };
  const z = y.map((v) => (v - mean) / sd);
  const lambda = fitYeoJohnsonLambda(z);
  const [zlo, zhi] = [Math.min(...z) - 3, Math.max(...z) + 3];
  // Yeo & Johnson (2000), eq. 2.1 solved for z on each branch (t ≥ 0 ⇔ z ≥ 0).
  const unwarp = (t: number): number => {
    if (t >= 0) {
      if (Math.abs(lambda) < 1e-8) return Math.expm1(t);
      const base = 1 + lambda * t;
      return base > 0 ? base ** (1 / lambda) - 1 : Infinity;
    }
    if (Math.abs(lambda - 2) < 1e-8) return -Math.expm1(-t);
    const base = 1 - (2 - lambda) * t;
    return base > 0 ? 1 - base ** (1 / (2 - lambda)) : -Infinity;
  };
  return { apply: (v) => yeoJohnson((v - mean) / sd, lambda), inverse: (t) => mean + sd * Math.min(zhi, Math.max(zlo, unwarp(t))) };
}

/**
 * A separable quadratic prior mean t(u) = a + Σ_k c_k (u_k − ½)², fitted to the targets by ridge
 * regression (penalty `ridge` on the c_k, targets standardised), for the GP to model t's
 * residuals (universal kriging with plug-in coefficients). Issue #16: with a constant prior
 * mean and the long length-scales 12–24 points give, a GP extrapolates DTLZ2's bowl
 * g = Σ (x_i − ½)² as a slope and its variance and slope make the corners look like
 * improvement; a fitted curvature lets the data say that the middle of such a variable is
 * better. (u_k − ½)² is symmetric, so a linear trend stays the GP's to model.
 */
export function quadraticTrend(x: readonly (readonly number[])[], t: readonly number[], ridge: number): (u: readonly number[]) => number {
  const n = t.length;
  const d = x[0]?.length ?? 0;
  const mean = t.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n)) || 1;
  const phi = (u: readonly number[]) => [1, ...u.map((v) => (v - 0.5) ** 2)];
  const p = d + 1;
  const a = new Float64Array(p * p);
  const rhs = new Float64Array(p);
  x.forEach((u, i) => {
    const f = phi(u);
    const z = (t[i] - mean) / sd;
    for (let r = 0; r < p; r++) {
      rhs[r] += f[r] * z;
      for (let c = 0; c < p; c++) a[r * p + c] += f[r] * f[c];
    }
  });
  // The intercept is not penalised; a tiny ridge on it keeps the system definite for n = 0.
  for (let r = 0; r < p; r++) a[r * p + r] += r === 0 ? 1e-9 : ridge;
  const l = cholesky(a, p);
  if (!l) return () => mean;
  const beta = backSolve(l, p, forwardSolve(l, p, rhs));
  return (u) => {
    const f = phi(u);
    let s = 0;
    for (let r = 0; r < p; r++) s += f[r] * beta[r];
    return mean + sd * s;
  };
}

/**
 * Whether `trend: auto` (or `auto-bayes`) may consider the quadratic trend on these points: at
 * least d + 3 of them, so that the trend's d + 1 coefficients, refitted without each point in
 * turn, leave at least two points of residual for the GP (issue #16). `auto-bayes` reuses the
 * same threshold so that both choices start at the same number of points; it is not a count of
 * the basis GP's parameters (2d + 2), which mobo's initial design of 2(d + 1) points covers.
 */
export function trendAdmissible(x: readonly (readonly number[])[]): boolean {
  return x.length >= (x[0]?.length ?? 0) + 3;
}

/**
 * `trend: auto`'s choice for one objective (issue #16): the quadratic prior mean when the GP
 * fitted around it (`trended`, to t − quadraticTrend(x, t)) has a strictly higher
 * leave-one-out predictive log density of the targets t than the constant-mean GP (`plain`,
 * fitted to t); ties keep the constant mean. Both densities are of the same t in the same
 * units, so they compare directly (R&W §5.4.2: LOO as a model-selection criterion).
 */
export function prefersTrend(plain: GaussianProcess, trended: GaussianProcess, t: readonly number[], ridge: number): boolean {
  const x = plain.x;
  const without = (k: number) => quadraticTrend(x.filter((_, j) => j !== k), t.filter((_, j) => j !== k), ridge);
  return looLogDensity(trended, t, without) > looLogDensity(plain, t);
}

/**
 * `trend: auto-bayes`'s choice for one objective (issue #16, ninth pass): the GP with the
 * quadratic basis in its kernel (`withBasis`, src/surrogate/gp.ts quadraticBasis) when its
 * leave-one-out predictive log density of the targets t is strictly higher than the plain GP's;
 * ties keep the plain one. Both GPs model t itself and the basis's coefficients are integrated
 * out, so each density is exact and closed form with the hyper-parameters fixed (R&W eq.
 * 5.10–5.12) — no plug-in coefficients to refit without each point, the weakness of
 * prefersTrend (multiobjective-dev.md, seventh pass). A basis fit with every b_k at its floor
 * (basisActive false) is the plain model fitted a second time: the two densities then differ
 * only by where two runs of the optimiser stopped, so it counts as a tie.
 */
export function prefersBasis(plain: GaussianProcess, withBasis: GaussianProcess, t: readonly number[]): boolean {
  return basisActive(withBasis.hyper) && looLogDensity(withBasis, t) > looLogDensity(plain, t);
}

const reflect = (v: number): number => {
  const t = ((v % 2) + 2) % 2;
  return t > 1 ? 2 - t : t;
};

/**
 * Bounded local ascent of the acquisition from `start` (in place of BoTorch's L-BFGS-B, which
 * needs autograd): central finite-difference gradient, a step along its direction projected
 * onto [0, 1]^d, doubled after a gain and halved after a loss (backtracking), until the step
 * or the gradient vanishes. With common random numbers the MC acquisition is a deterministic,
 * piecewise-smooth function of x, so finite differences are meaningful. The projection lands
 * exactly on the bounds, where fronts often lie (ZDT's x₁…x_{d−1} = 0; issue #16: the earlier
 * random-walk refinement, reflected at the bounds, stopped short of them).
 */
export function ascend<C extends { u: number[]; s: number }>(start: C, at: (u: number[]) => C | null, steps: number, box?: Box): C {
  const h = 1e-4;
  // Projection onto the box (a trust region) or the unit cube.
  const clamp = (v: number, k: number) => Math.min(box ? box.hi[k] : 1, Math.max(box ? box.lo[k] : 0, v));
  const val = (u: number[]) => at(u)?.s ?? -Infinity;
  let cur = start;
  let step = 0.05;
  for (let it = 0; it < steps && step > 1e-4; it++) {
    const g = cur.u.map((v, k) => {
      const [lo, hi] = [clamp(v - h, k), clamp(v + h, k)];
      const [a, b] = [val(cur.u.map((w, j) => (j === k ? lo : w))), val(cur.u.map((w, j) => (j === k ? hi : w)))];
      if (!Number.isFinite(a) || !Number.isFinite(b)) return 0;
      return (b - a) / (hi - lo);
    });
    const norm = Math.hypot(...g);
    if (!(norm > 0)) break;
    let moved = false;
    while (step > 1e-4 && !moved) {
      const next = at(cur.u.map((v, k) => clamp(v + (step * g[k]) / norm, k)));
      if (next && next.s > cur.s) {
        cur = next;
        step = Math.min(0.5, 2 * step);
        moved = true;
      } else step /= 2;
    }
  }
  return cur;
}

/** The allowed values (readOptions). Review 2026-12-07: candidates 0, rho −1 and starts 0 were accepted. */
const RANGES = {
  initialPoints: { integer: true, min: 0 },
  samples: { integer: true, min: 1 },
  candidates: { integer: true, min: 1 },
  starts: { integer: true, min: 1 },
  ascentSteps: { integer: true, min: 0 },
  maxBaseline: { integer: true, min: 0 },
  refitFraction: { min: 0 },
  restarts: { integer: true, min: 0 },
  maxFitPoints: { integer: true, min: 2 },
  trustRegions: { integer: true, min: 1 },
  trustRegionLength: { above: 0, max: 1.6 },
  trendRidge: { min: 0 },
  rho: { min: 0 },
};

export function createMoboAgent(options: Record<string, unknown> = {}): Agent {
  const opts = readOptions('mobo', DEFAULTS, options, RANGES);
  if (!(ACQUISITIONS as readonly string[]).includes(opts.acquisition)) {
    throw new BadInputError(`must be one of ${ACQUISITIONS.join(', ')} (got '${opts.acquisition}')`, 'agent.mobo.acquisition');
  }
  if (!(WARPS as readonly string[]).includes(opts.outputTransform)) {
    throw new BadInputError(`must be one of ${WARPS.join(', ')} (got '${opts.outputTransform}')`, 'agent.mobo.outputTransform');
  }
  if (!(TRENDS as readonly string[]).includes(opts.trend)) {
    throw new BadInputError(`must be one of ${TRENDS.join(', ')} (got '${opts.trend}')`, 'agent.mobo.trend');
  }
  if (!(SMOOTHINGS as readonly string[]).includes(opts.smoothing)) {
    throw new BadInputError(`must be one of ${SMOOTHINGS.join(', ')} (got '${opts.smoothing}')`, 'agent.mobo.smoothing');
  }
  // ParEGO scores with log-EI of one scalarisation already; the option would be silently ignored.
  if (opts.smoothing !== 'none' && opts.acquisition !== 'qnehvi') {
    throw new BadInputError(`applies to acquisition qnehvi only (got acquisition '${opts.acquisition}' with smoothing '${opts.smoothing}')`, 'agent.mobo.smoothing');
  }
  // ParEGO is the baseline, kept as published (issue #16): qNEHVI's model and candidate options
  // would be silently ignored. ParEGO fits no trend, so the default trend ('auto') is qNEHVI's
  // only and ParEGO's trend is 'none'; an explicit other one is refused.
  const trend = opts.acquisition === 'qnehvi' ? opts.trend : 'none';
  const refused = [
    ['trend', options.trend !== undefined && opts.trend !== 'none'],
    ['trustRegion', opts.trustRegion !== DEFAULTS.trustRegion],
  ] as const;
  for (const [key, set] of refused) {
    if (opts.acquisition !== 'qnehvi' && set) {
      throw new BadInputError(`applies to acquisition qnehvi only (got acquisition '${opts.acquisition}' with ${key} ${JSON.stringify(opts[key])})`, `agent.mobo.${key}`);
    }
  }
  // Options that only tune another option would be silently ignored without it (issue #16 review).
  const needs = [
    ['trendRidge', trend === 'quadratic' || trend === 'auto', "trend: 'quadratic' or 'auto' (qNEHVI)"],
    ['trustRegions', opts.trustRegion, 'trustRegion: true'],
    ['trustRegionLength', opts.trustRegion, 'trustRegion: true'],
  ] as const;
  for (const [key, enabled, what] of needs) {
    if (options[key] !== undefined && !enabled) throw new BadInputError(`has no effect without ${what}`, `agent.mobo.${key}`);
  }
  if (!Array.isArray(opts.reference) || !opts.reference.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) {
    throw new BadInputError('must be a list of finite numbers or nulls (one per objective, goal-signed)', 'agent.mobo.reference');
  }
  let state: MoboState = { objectives: [], trended: [], withBasis: [], constraints: [] };
  const random = createRandomAgent();

  const fit = (states: GpFitState[], i: number, x: number[][], y: number[], rng: Rng, basis?: BasisKind): GaussianProcess => {
    const r = fitOrReuse(states[i] ?? { hyper: null, lastFitN: 0 }, x, y, rng, { ...opts, basis });
    states[i] = r.state;
    return r.gp;
  };

  /** Probability that every constraint holds at x (1 without constraints). */
  const feasibility = (gps: readonly GaussianProcess[], x: readonly number[]): number => {
    let p = 1;
    for (const gp of gps) {
      const r = gp.predict([x]);
      p *= normCdf(r.mean[0] / Math.sqrt(Math.max(r.variance[0], 1e-18)));
    }
    return p;
  };
  /** ln of `feasibility`, exact in the tails where the product underflows (qLogNEHVI's constraint term). */
  const logFeasibility = (gps: readonly GaussianProcess[], x: readonly number[]): number => {
    let lp = 0;
    for (const gp of gps) {
      const r = gp.predict([x]);
      lp += logNormCdf(r.mean[0] / Math.sqrt(Math.max(r.variance[0], 1e-18)));
    }
    return lp;
  };

  /**
   * The feasible point of highest score: the exact argmax over the unused pool points, or in
   * continuous spaces BoTorch's optimize_acqf scheme — `candidates` raw samples (uniform, plus
   * Gaussian perturbations of the observed front), the best `starts` of them refined by a
   * bounded local ascent (see `ascend`). With `regions` (qNEHVI's trust regions, their
   * centres in `seeds`) every candidate lies in one of the boxes: in a pool, the unused points
   * inside any box (all of them when none is); in continuous spaces, uniform raw samples
   * spread over the boxes in turn, perturbations of each centre kept in its box, and the
   * ascent projected onto the start's box.
   */
  function maximise(ctx: AgentContext, score: (x: number[]) => number, seeds: number[][], exclude: Set<string>, taken: Set<number>, rng: Rng, regions?: Box[]): { x: number[]; params: Parameters; poolIndex?: number } | null {
    const view = unusedPool(ctx);
    if (view) {
      const inside = regions && view.encoded.some((u, i) => !taken.has(i) && regions.some((b) => inBox(b, u)));
      let best = -1;
      let bestV = -Infinity;
      view.encoded.forEach((u, i) => {
        if (taken.has(i) || (inside && !regions.some((b) => inBox(b, u)))) return;
        const v = score(u);
        if (best < 0 || v > bestV) [best, bestV] = [i, v];
      });
      return best < 0 ? null : { x: view.encoded[best], params: view.points[best], poolIndex: best };
    }
    const d = dimension(ctx.space);
    type Cand = { u: number[]; x: number[]; params: Parameters; s: number; box?: Box };
    // Score of a cube point: the acquisition at its feasible repair; -∞ when infeasible or already used.
    const at = (u: number[], box?: Box): Cand | null => {
      const p = feasibleFromCube(ctx.space, u);
      if (!p || exclude.has(paramKey(p))) return null;
      const x = encode(ctx.space, p);
      return { u, x, params: p, s: score(x), box };
    };
    const cands: Cand[] = [];
    const push = (u: number[], box?: Box) => {
      const c = at(u, box);
      if (c) cands.push(c);
    };
    if (regions) {
      for (let i = 0; i < opts.candidates; i++) {
        const b = regions[i % regions.length];
        push(b.lo.map((lo, k) => lo + (b.hi[k] - lo) * rng.next()), b);
      }
      regions.forEach((b, r) => {
        for (const step of [0.1, 0.02]) for (let j = 0; j < 10; j++) push(seeds[r].map((v, k) => Math.min(b.hi[k], Math.max(b.lo[k], v + step * rng.normal()))), b);
      });
    } else {
      for (let i = 0; i < opts.candidates; i++) push(Array.from({ length: d }, () => rng.next()));
      for (const x0 of seeds) for (const step of [0.1, 0.02]) for (let j = 0; j < 10; j++) push(x0.map((v) => reflect(v + step * rng.normal())));
    }
    if (cands.length === 0) return null;
    const top = cands.sort((a, b) => b.s - a.s).slice(0, Math.max(1, opts.starts));
    let winner = top[0];
    for (const start of top) {
      const c = ascend(start, (u) => at(u, start.box), opts.ascentSteps, start.box);
      if (c.s > winner.s) winner = c;
    }
    return winner;
  }


  return {
    name: 'mobo',
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      const data = dataOf(ctx.history, ctx.space);
      const designSize = initialDesignSize(ctx.space, opts.initialPoints || Math.min(2 * (dimension(ctx.space) + 1), 20));
      if (!data || data.finite < designSize) return random.propose(ctx, k);
      const { x, y, c, fine, m, q } = data;
      const objStates = [...state.objectives];
      const trendStates = [...(state.trended ?? [])];
      const basisStates = [...(state.withBasis ?? [])];
      const conStates = [...state.constraints];
      const cons = Array.from({ length: q }, (_, j) => fit(conStates, j, x, c.map((r) => r[j]), ctx.rng));
      const feasibleObs = c.map((r) => r.every((v) => v >= 0));
      const norm = normaliser(y.filter((_, i) => feasibleObs[i]).length ? y.filter((_, i) => feasibleObs[i]) : y, m);
      const yn = y.map((r) => norm.apply(r));
      const frontIdx = paretoFront(yn.map((r, i) => (feasibleObs[i] ? r : r.map(() => Number.NaN))), new Array(m).fill('max'));
      const seeds = frontIdx.slice(0, 8).map((i) => x[i]);
      const exclude = new Set(ctx.history.map((o) => paramKey(o.params)));
      const pending = (ctx.proposed ?? []).filter((p) => !exclude.has(paramKey(p))).map((p) => encode(ctx.space, p));
      for (const p of ctx.proposed ?? []) exclude.add(paramKey(p));
      const out: Parameters[] = [];
      const taken = new Set<number>();

      if (opts.acquisition === 'qnehvi') {
        const warps = Array.from({ length: m }, (_, i) => objectiveWarp(y.map((r) => r[i]), opts.outputTransform));
        const targets = Array.from({ length: m }, (_, i) => y.map((r) => warps[i].apply(r[i])));
        const posts = targets.map((t, i) => {
          if (trend === 'none') return new JointPosterior(fit(objStates, i, x, t, ctx.rng));
          const kind = BAYES_TRENDS[trend];
          if (kind) return new JointPosterior(fit(objStates, i, x, t, ctx.rng, kind));
          if (trend === 'auto-bayes') {
            // As 'auto': the plain GP from ctx.rng as with 'none', the alternative from a forked
            // stream, so that where the basis is never kept the proposals are those of 'none'.
            const plain = fit(objStates, i, x, t, ctx.rng);
            if (!trendAdmissible(x)) return new JointPosterior(plain);
            const withBasis = fit(basisStates, i, x, t, ctx.rng.fork(`basis:${i}`), 'quadratic');
            return new JointPosterior(prefersBasis(plain, withBasis, t) ? withBasis : plain);
          }
          const mean = quadraticTrend(x, t, opts.trendRidge);
          const residuals = t.map((v, j) => v - mean(x[j]));
          if (trend === 'quadratic') return new JointPosterior(fit(objStates, i, x, residuals, ctx.rng), mean);
          // 'auto': the constant-mean GP is fitted exactly as with 'none' (same draws of ctx.rng),
          // the trended one from a forked stream, so that where the trend is never kept the
          // proposals are those of 'none' bit for bit.
          const plain = fit(objStates, i, x, t, ctx.rng);
          if (!trendAdmissible(x)) return new JointPosterior(plain);
          const trended = fit(trendStates, i, x, residuals, ctx.rng.fork(`trend:${i}`));
          return prefersTrend(plain, trended, t, opts.trendRidge) ? new JointPosterior(trended, mean) : new JointPosterior(plain);
        });
        const normalise = (t: readonly number[]) => norm.apply(t.map((v, i) => warps[i].inverse(v)));
        // A configured reference (raw goal-signed units) is normalised like the data; missing entries are inferred.
        const configured = norm.apply(Array.from({ length: m }, (_, i) => opts.reference[i] ?? Number.NaN)).map((v) => (Number.isFinite(v) ? v : undefined));
        const reference = inferReference(yn.filter((_, i) => feasibleObs[i]).length ? yn.filter((_, i) => feasibleObs[i]) : yn, configured);
        // Baseline: observed points that are Pareto-optimal in some posterior sample (BoTorch's
        // prune_baseline), at most maxBaseline of them, plus the pending points.
        const pruneRng = ctx.rng.fork('prune');
        const count = new Array<number>(x.length).fill(0);
        const feasibleX = x.filter((_, i) => feasibleObs[i]);
        const feasibleIdx = x.map((_, i) => i).filter((i) => feasibleObs[i]);
        if (feasibleX.length > 0) {
          const joint = new NehviSampler(posts, feasibleX, { samples: opts.samples, rng: pruneRng, normalise, reference });
          joint.frontMembership().forEach((n, j) => (count[feasibleIdx[j]] = n));
        }
        const baseline = x.map((_, i) => i).filter((i) => count[i] > 0).sort((a, b) => count[b] - count[a] || a - b).slice(0, opts.maxBaseline).map((i) => x[i]);
        const sampler = new NehviSampler(posts, [...baseline, ...pending], { samples: opts.samples, rng: ctx.rng.fork('nehvi'), normalise, reference });
        // MORBO's trust regions: centred on the feasible Pareto points of largest hypervolume
        // contribution, side from the running hypervolume of the observations in order.
        let centres = seeds;
        let regions: Box[] | undefined;
        if (opts.trustRegion && frontIdx.length > 0) {
          centres = byContribution(yn, frontIdx, reference).slice(0, opts.trustRegions).map((i) => x[i]);
          regions = moTrustRegions(centres, runningHypervolume(yn, feasibleObs, reference), designLength(fine, designSize), opts.trustRegionLength).boxes;
        }
        for (let b = 0; b < k; b++) {
          const score = opts.smoothing === 'log' ? (u: number[]) => sampler.logValue(u) + logFeasibility(cons, u) : (u: number[]) => sampler.value(u) * feasibility(cons, u);
          const chosen = maximise(ctx, score, centres, exclude, taken, ctx.rng, regions);
          if (!chosen) break;
          out.push(chosen.params);
          exclude.add(paramKey(chosen.params));
          if (chosen.poolIndex !== undefined) taken.add(chosen.poolIndex);
          if (b + 1 < k) sampler.add(chosen.x);
        }
      } else {
        // ParEGO: fresh weights per batch point; scalarised values of the data (normalised as
        // minimisation), with earlier choices and pending points as Kriging-believer fantasies.
        const scal = (w: number[]) => yn.map((r) => -augmentedChebyshev(r.map((v) => 1 - v), w, opts.rho));
        const fantasies = [...pending];
        for (let b = 0; b < k; b++) {
          const w = randomSimplexWeights(m, ctx.rng);
          // Hyper-parameters are refitted for every weight vector (the scalarised target changes).
          let gp = GaussianProcess.fit(x, scal(w), { rng: ctx.rng, restarts: opts.restarts, maxFitPoints: opts.maxFitPoints });
          for (const f of fantasies) gp = gp.withPoint(f, gp.predictMean([f])[0]);
          const best = Math.max(...gp.y);
          const chosen = maximise(ctx, (u) => {
            const p = gp.predict([u]);
            return logExpectedImprovement(p.mean[0], p.variance[0], best, 0) + Math.log(Math.max(feasibility(cons, u), 1e-300));
          }, seeds, exclude, taken, ctx.rng);
          if (!chosen) break;
          out.push(chosen.params);
          exclude.add(paramKey(chosen.params));
          if (chosen.poolIndex !== undefined) taken.add(chosen.poolIndex);
          fantasies.push(chosen.x);
        }
      }
      state = { objectives: objStates, trended: trendStates, withBasis: basisStates, constraints: conStates };
      if (out.length < k && !unusedPool(ctx)) return [...out, ...(await random.propose({ ...ctx, proposed: [...(ctx.proposed ?? []), ...out] }, k - out.length))];
      return out;
    },
    async learn(_experience: readonly Observation[]): Promise<void> {
      // The models are rebuilt from ctx.history at each proposal; nothing to accumulate.
    },
    snapshot: (): MoboState => JSON.parse(JSON.stringify(state)),
    restore: (s: unknown) => {
      state = JSON.parse(JSON.stringify(s)) as MoboState;
    },
  };
}
