/**
 * A multi-fidelity model of the REAL reward (issue #13; docs/multifidelity.md): simulations and
 * rig measurements are two fidelities of one quantity, modelled jointly by autoregressive
 * co-kriging (Kennedy & O'Hagan, "Predicting the output from a complex computer code when fast
 * approximations are available", Biometrika 87 (2000) 1; in its recursive form, Le Gratiet &
 * Garnier, Int. J. Uncertainty Quantification 4 (2014) 365):
 *
 *   f_sim(x)  ~ GP(β_L, k_L)                          level 1, fitted to the simulations
 *   y_rig(x)  = β₀ + ρ · μ_sim(x) + δ(x) + ε,         level 2, fitted to the rig results
 *   δ ~ GP(0, k_δ),  ε ~ N(0, σ²)
 *
 * with μ_sim the level-1 posterior mean. Both levels are Matérn-5/2 ARD GPs on the encoded
 * parameters (the kernel and hyper-parameter priors of src/surrogate/gp.ts; hyper-parameters by
 * maximum a posteriori, Nelder–Mead from the prior median and seeded draws from the prior). The
 * coefficients (β₀, ρ) are not point estimates: they have a Gaussian prior — ρ ~ N(1, 1) ("the
 * twin is right" is the prior guess, with room for ρ ≤ 0), β₀ ~ N(0, 2²) in units of the
 * simulations' spread — and are integrated out (universal kriging with a Gaussian prior on the
 * basis coefficients, Rasmussen & Williams 2006, §2.7), so their uncertainty is in every
 * prediction and the marginal likelihood that picks k_δ. Each rig result therefore corrects the
 * estimate of every nearby candidate (through δ) and of all candidates (through β₀ and ρ); when the
 * twin's trend is wrong the posterior ρ goes to 0 or below and δ carries the rig data: the model
 * falls back to a GP on the rig results.
 *
 * Simulations may carry their own standard deviation (the P-model's realisation spread, issue
 * #13 part A): it enters level 1 as heteroscedastic noise. The level-1 uncertainty at the rig
 * points enters level 2 as extra noise ρ̄²·Var_sim(x), and at a candidate as ρ̄²·Var_sim(x*).
 *
 * Deterministic: the same data and seed give the same model (no warm starts; the hyper-parameter
 * draws come from the seed and the data sizes), so a resumed campaign refits it from the
 * ledger's evidence and gets the same numbers (like RealityCorrection.update).
 */
import type { Parameters, ParameterSpace, RealityModel } from '../core/protocols.js';
import { createRng, type Rng } from '../core/rng.js';
import { encode } from '../core/space.js';
import { backSolve, cholesky, forwardSolve, hyperPrior, logExpectedImprovement, matern52, type GpHyper } from '../surrogate/gp.js';

/** One evaluation at a fidelity: a simulation (with its σ when known) or a rig result. */
export interface FidelityPoint {
  params: Parameters;
  reward: number;
  /** Standard deviation of a simulated reward (0 or absent: only the fitted noise). */
  std?: number;
}

export interface MultiFidelityOptions {
  seed: number;
  /** Prior of ρ (default N(1, 1)). */
  rho?: { mean: number; sd: number };
  /** Prior sd of the offset β₀ in units of the simulations' standard deviation (default 2). */
  offsetSd?: number;
  /** Hyper-parameter draws from the prior besides the prior median (default 2). */
  restarts?: number;
  /** Prior median of the discrepancy's variance, relative to the simulations' (default 0.1). */
  discrepancyVar?: number;
  /**
   * Prior sd of ρ's slope per encoded parameter (default 1): ρ(x) = ρ₀ + Σ ρ_k (u_k − ½), the
   * input-dependent scale factor of Qian & Wu (Technometrics 50 (2008) 192), for a twin that is
   * right in one direction and wrong in another. 0: a constant ρ.
   */
  rhoSlopeSd?: number;
}

export interface MultiFidelityState {
  simulations: number;
  measurements: number;
  /** ρ at the centre of the space (ρ₀), and its slopes per encoded parameter. */
  rho: { mean: number; sd: number } | null;
  rhoSlopes: number[] | null;
  offset: { mean: number; sd: number } | null;
  hyper: { simulation: GpHyper | null; discrepancy: GpHyper | null };
}

const LOG_BOUNDS = { length: [Math.log(0.01), Math.log(100)], signal: [Math.log(0.01), Math.log(100)], noise: [Math.log(1e-4), Math.log(1)] } as const;

/**
 * A GP with an explicit mean basis h(x) whose coefficients have a Gaussian prior N(b, diag(B))
 * and are integrated out (R&W §2.7, eqs. 2.41–2.42), and per-point extra noise. Targets in the
 * units the caller chose (the model standardises by the simulations).
 */
class BasisGp {
  private readonly chol: Float64Array;
  /** C⁻¹(y − H β̄). */
  private readonly alpha: Float64Array;
  /** L⁻¹ H, column by column (n × q, column-major). */
  private readonly lh: Float64Array[];
  /** (B⁻¹ + Hᵀ C⁻¹ H)⁻¹ (q × q). */
  readonly betaCov: number[][];
  readonly beta: number[];
  private readonly invL2: Float64Array;

  constructor(
    readonly x: number[][],
    readonly y: number[],
    readonly h: number[][],
    readonly prior: { mean: number[]; variance: number[] },
    readonly extraNoise: number[],
    readonly hyper: GpHyper,
  ) {
    const n = x.length;
    const q = prior.mean.length;
    this.invL2 = Float64Array.from(hyper.logLengthscales, (v) => Math.exp(-2 * v));
    const c = covariance(x, hyper, this.invL2, extraNoise);
    const l = cholesky(c, n);
    if (!l) throw new Error('multi-fidelity GP: covariance not positive definite');
    this.chol = l;
    this.lh = Array.from({ length: q }, (_, j) => forwardSolve(l, n, Float64Array.from(h, (r) => r[j])));
    const ly = forwardSolve(l, n, Float64Array.from(y));
    // A = B⁻¹ + (L⁻¹H)ᵀ(L⁻¹H), rhs = (L⁻¹H)ᵀ(L⁻¹y) + B⁻¹b.
    const a = Array.from({ length: q }, (_, i) => Array.from({ length: q }, (_, j) => (i === j ? 1 / prior.variance[i] : 0) + dot(this.lh[i], this.lh[j])));
    const rhs = Array.from({ length: q }, (_, i) => dot(this.lh[i], ly) + prior.mean[i] / prior.variance[i]);
    this.betaCov = invertSmall(a);
    this.beta = this.betaCov.map((row) => row.reduce((s, v, j) => s + v * rhs[j], 0));
    const r = Float64Array.from(y, (v, i) => v - h[i].reduce((s, hv, j) => s + hv * this.beta[j], 0));
    this.alpha = backSolve(l, n, forwardSolve(l, n, r));
  }

  /** Posterior mean and latent variance (coefficient uncertainty included, noise excluded). */
  predict(xs: readonly number[][], hs: readonly number[][]): { mean: number[]; variance: number[] } {
    const n = this.x.length;
    const s2 = Math.exp(this.hyper.logSignalVar);
    const mean: number[] = [];
    const variance: number[] = [];
    xs.forEach((q, t) => {
      const k = new Float64Array(n);
      for (let i = 0; i < n; i++) k[i] = s2 * matern52(q, this.x[i], this.invL2);
      let m = hs[t].reduce((s, hv, j) => s + hv * this.beta[j], 0);
      for (let i = 0; i < n; i++) m += k[i] * this.alpha[i];
      const v = forwardSolve(this.chol, n, k);
      let var0 = s2 - dot(v, v);
      // R = h − Hᵀ C⁻¹ k = h − (L⁻¹H)ᵀ (L⁻¹k): the coefficients' share of the variance.
      const r = hs[t].map((hv, j) => hv - dot(this.lh[j], v));
      for (let i = 0; i < r.length; i++) for (let j = 0; j < r.length; j++) var0 += r[i] * this.betaCov[i][j] * r[j];
      mean.push(m);
      variance.push(Math.max(var0, 1e-12 * s2));
    });
    return { mean, variance };
  }

  /** Same hyper-parameters, one more observation (Kriging believer, Ginsbourger et al. 2010). */
  withPoint(x: number[], y: number, h: number[], extraNoise: number): BasisGp {
    return new BasisGp([...this.x, x], [...this.y, y], [...this.h, h], this.prior, [...this.extraNoise, extraNoise], this.hyper);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function covariance(x: readonly number[][], hyper: GpHyper, invL2: Float64Array, extraNoise: readonly number[]): Float64Array {
  const n = x.length;
  const s2 = Math.exp(hyper.logSignalVar);
  const noise = Math.exp(hyper.logNoiseVar);
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = s2 * matern52(x[i], x[j], invL2);
      c[i * n + j] = v;
      c[j * n + i] = v;
    }
    c[i * n + i] += noise + extraNoise[i] + 1e-10 * s2;
  }
  return c;
}

/** Inverse of a small symmetric positive-definite matrix (Gauss–Jordan). */
function invertSmall(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let k = 0; k < 2 * n; k++) m[c][k] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let k = 0; k < 2 * n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((r) => r.slice(n));
}

/**
 * Log marginal likelihood of y ~ N(H b, C + H diag(B) Hᵀ) plus the log prior of the
 * hyper-parameters (gp.ts hyperPrior); −∞ where the covariance is not positive definite.
 */
function logPosterior(x: number[][], y: number[], h: number[][], prior: { mean: number[]; variance: number[] }, extraNoise: number[], hyper: GpHyper, p: HyperPrior): number {
  const n = x.length;
  const d = hyper.logLengthscales.length;
  const c = covariance(x, hyper, Float64Array.from(hyper.logLengthscales, (v) => Math.exp(-2 * v)), extraNoise);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[i * n + j] += h[i].reduce((s, hv, k) => s + hv * prior.variance[k] * h[j][k], 0);
  const l = cholesky(c, n);
  if (!l) return -Infinity;
  const r = Float64Array.from(y, (v, i) => v - h[i].reduce((s, hv, k) => s + hv * prior.mean[k], 0));
  const z = forwardSolve(l, n, r);
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += Math.log(l[i * n + i]);
  let value = -0.5 * dot(z, z) - logDet - 0.5 * n * Math.log(2 * Math.PI);
  const theta = [...hyper.logLengthscales, hyper.logSignalVar, hyper.logNoiseVar];
  theta.forEach((t, i) => (value -= 0.5 * ((t - p.mean[i]) / p.sd[i]) ** 2));
  return value;
}

type HyperPrior = { mean: number[]; sd: number[] };

/** Simulations the level-1 hyper-parameters are fitted on, at most (a long campaign has hundreds). */
const MAX_FIT_POINTS = 300;

/**
 * The discrepancy's hyper-parameter prior: gp.ts's, except the signal variance, whose prior
 * median is `variance` (in units of the simulations' variance) instead of 1 — a twin is built
 * to be roughly right, so δ is a priori smaller than the signal; the data can still make it as
 * large as it needs (sd 1 in ln s², and β₀, ρ absorb global errors).
 */
function discrepancyPrior(d: number, variance: number): HyperPrior {
  const p = hyperPrior(d);
  p.mean[d] = Math.log(variance);
  return p;
}

const toHyper = (v: readonly number[], d: number): GpHyper => ({ logLengthscales: v.slice(0, d), logSignalVar: v[d], logNoiseVar: v[d + 1] });

function clip(v: number[], d: number): number[] {
  return v.map((t, i) => {
    const [lo, hi] = i < d ? LOG_BOUNDS.length : i === d ? LOG_BOUNDS.signal : LOG_BOUNDS.noise;
    return Math.min(hi, Math.max(lo, t));
  });
}

/** Nelder–Mead maximisation inside the box (Lagarias et al. 1998 coefficients), fixed budget. */
function nelderMead(f: (v: number[]) => number, start: number[], d: number, maxEvals: number): { x: number[]; value: number } {
  const m = start.length;
  const simplex = [clip(start, d), ...start.map((_, i) => clip(start.map((v, j) => (j === i ? v + 0.5 : v)), d))].map((x) => ({ x, value: f(x) }));
  let evals = simplex.length;
  while (evals < maxEvals) {
    simplex.sort((a, b) => b.value - a.value);
    if (Math.abs(simplex[0].value - simplex[m].value) < 1e-6) break;
    const centroid = start.map((_, j) => simplex.slice(0, m).reduce((s, p) => s + p.x[j], 0) / m);
    const worst = simplex[m];
    const at = (t: number) => clip(centroid.map((c, j) => c + t * (worst.x[j] - c)), d);
    const xr = at(-1);
    const fr = f(xr);
    evals++;
    if (fr > simplex[0].value) {
      const xe = at(-2);
      const fe = f(xe);
      evals++;
      simplex[m] = fe > fr ? { x: xe, value: fe } : { x: xr, value: fr };
    } else if (fr > simplex[m - 1].value) {
      simplex[m] = { x: xr, value: fr };
    } else {
      const xc = fr > worst.value ? at(-0.5) : at(0.5);
      const fc = f(xc);
      evals++;
      if (fc > Math.max(fr, worst.value)) simplex[m] = { x: xc, value: fc };
      else {
        for (let i = 1; i <= m; i++) {
          const x = clip(simplex[i].x.map((v, j) => simplex[0].x[j] + 0.5 * (v - simplex[0].x[j])), d);
          simplex[i] = { x, value: f(x) };
          evals++;
        }
      }
    }
  }
  simplex.sort((a, b) => b.value - a.value);
  return simplex[0];
}

/** MAP hyper-parameters: Nelder–Mead from the prior median and `restarts` draws from the prior. */
function fitHyper(x: number[][], y: number[], h: number[][], prior: { mean: number[]; variance: number[] }, extraNoise: number[], rng: Rng, restarts: number, p: HyperPrior): GpHyper {
  const d = x[0].length;
  // Fewer than 3 points cannot inform length-scales: the prior median.
  if (x.length < 3) return toHyper(p.mean, d);
  const starts = [p.mean, ...Array.from({ length: restarts }, () => p.mean.map((m, i) => m + p.sd[i] * rng.normal()))];
  let best = { x: p.mean, value: -Infinity };
  for (const s of starts) {
    const r = nelderMead((v) => logPosterior(x, y, h, prior, extraNoise, toHyper(v, d), p), s, d, 60 * (d + 2));
    if (r.value > best.value) best = r;
  }
  return toHyper(best.x, d);
}

/**
 * Level 1 alone: the GP on the simulations. Fitted once and reused while the simulations do not
 * change (a round's new rig results refit level 2 only; the benchmark's fixed pool fits it once).
 */
export class SimulationLevel {
  private constructor(
    readonly gp: BasisGp | null,
    readonly scale: { mean: number; std: number },
  ) {}

  static fit(space: ParameterSpace, simulations: readonly FidelityPoint[], options: MultiFidelityOptions): SimulationLevel {
    const sims = simulations.filter((s) => Number.isFinite(s.reward));
    if (sims.length < 2) return new SimulationLevel(null, { mean: 0, std: 1 });
    const m = sims.reduce((s, p) => s + p.reward, 0) / sims.length;
    const sd = Math.sqrt(sims.reduce((s, p) => s + (p.reward - m) ** 2, 0) / sims.length);
    const scale = { mean: m, std: sd > 1e-12 ? sd : 1 };
    const x = sims.map((s) => encode(space, s.params));
    const y = sims.map((s) => (s.reward - scale.mean) / scale.std);
    const h = sims.map(() => [1]);
    // A vague prior on the simulations' mean level (they are standardised: N(0, 10²)).
    const prior = { mean: [0], variance: [100] };
    const extra = sims.map((s) => ((s.std ?? 0) / scale.std) ** 2);
    const rng = createRng(options.seed).fork(`simulation:${sims.length}`);
    // Hyper-parameters from a seeded subset of at most MAX_FIT_POINTS (each likelihood is
    // O(n³)); the model then conditions on every simulation (as gp.ts maxFitPoints).
    let fit = x.map((_, i) => i);
    if (fit.length > MAX_FIT_POINTS) {
      for (let i = fit.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [fit[i], fit[j]] = [fit[j], fit[i]];
      }
      fit = fit.slice(0, MAX_FIT_POINTS).sort((a, b) => a - b);
    }
    const pick = <T>(a: T[]) => fit.map((i) => a[i]);
    const hyper = fitHyper(pick(x), pick(y), pick(h), prior, pick(extra), rng, options.restarts ?? 2, hyperPrior(x[0].length));
    return new SimulationLevel(new BasisGp(x, y, h, prior, extra, hyper), scale);
  }
}

/** The model (see the file comment). Build with `MultiFidelityModel.fit`. */
export class MultiFidelityModel {
  private constructor(
    private readonly space: ParameterSpace,
    /** Standardisation of rewards (by the simulations; by the rig results when there are none). */
    private readonly scale: { mean: number; std: number },
    private readonly low: BasisGp | null,
    private readonly high: BasisGp | null,
    /** Posterior means of [ρ₀, slopes…] (the prior's when there is no rig result). */
    private readonly rhoCoef: number[],
    private readonly options: Required<MultiFidelityOptions>,
  ) {}

  /** Level-2 basis at encoded u with simulation-level mean m: [1, m, m·(u_k − ½)…], or [1] without simulations. */
  private static basis(o: Required<MultiFidelityOptions>, hasLow: boolean, m: number, u: readonly number[]): number[] {
    if (!hasLow) return [1];
    return o.rhoSlopeSd > 0 ? [1, m, ...u.map((v) => m * (v - 0.5))] : [1, m];
  }

  private static levelPrior(o: Required<MultiFidelityOptions>, hasLow: boolean, d: number): { mean: number[]; variance: number[] } {
    if (!hasLow) return { mean: [0], variance: [o.offsetSd ** 2] };
    const slopes = o.rhoSlopeSd > 0 ? d : 0;
    return { mean: [0, o.rho.mean, ...new Array<number>(slopes).fill(0)], variance: [o.offsetSd ** 2, o.rho.sd ** 2, ...new Array<number>(slopes).fill(o.rhoSlopeSd ** 2)] };
  }

  private static rhoAt(coef: readonly number[], u: readonly number[]): number {
    return coef.length === 0 ? 0 : coef[0] + u.reduce((s, v, k) => s + (coef[k + 1] ?? 0) * (v - 0.5), 0);
  }

  /**
   * Fits both levels. `simulations`: P-model rewards (finite ones are used); `measurements`:
   * rig rewards (finite ones). Either may be empty: no simulations → a GP on the rig results
   * alone; no measurements → the simulations' GP under the prior ρ ~ N(1, 1), β₀ ~ N(0, 2²).
   */
  static fit(space: ParameterSpace, simulations: readonly FidelityPoint[] | SimulationLevel, measurements: readonly FidelityPoint[], options: MultiFidelityOptions): MultiFidelityModel {
    const o: Required<MultiFidelityOptions> = { rho: { mean: 1, sd: 0.5 }, offsetSd: 1, restarts: 2, discrepancyVar: 0.3, rhoSlopeSd: 0, ...options };
    const level = simulations instanceof SimulationLevel ? simulations : SimulationLevel.fit(space, simulations, options);
    const rigs = measurements.filter((s) => Number.isFinite(s.reward));
    const low = level.gp;
    // Standardised by the simulations (so ρ = 1 means "the twin is right"); by the rig results
    // when there are fewer than 2 simulations.
    let scale = level.scale;
    if (!low) {
      const m = rigs.length ? rigs.reduce((s, p) => s + p.reward, 0) / rigs.length : 0;
      const sd = rigs.length >= 2 ? Math.sqrt(rigs.reduce((s, p) => s + (p.reward - m) ** 2, 0) / rigs.length) : 0;
      scale = { mean: m, std: sd > 1e-12 ? sd : 1 };
    }
    const z = (v: number) => (v - scale.mean) / scale.std;
    const rng = createRng(o.seed).fork(`multifidelity:${low?.x.length ?? 0}:${rigs.length}`);
    const d = space.parameters.length;
    let rhoCoef = low ? MultiFidelityModel.levelPrior(o, true, d).mean.slice(1) : [];
    let high: BasisGp | null = null;
    if (rigs.length > 0) {
      const x = rigs.map((s) => encode(space, s.params));
      const y = rigs.map((s) => z(s.reward));
      const lowAt = low ? low.predict(x, x.map(() => [1])) : null;
      const h = x.map((u, i) => MultiFidelityModel.basis(o, !!lowAt, lowAt?.mean[i] ?? 0, u));
      const prior = MultiFidelityModel.levelPrior(o, !!lowAt, d);
      // Two passes: the simulation model's uncertainty at the rig points counts as noise
      // scaled by ρ(x)², first with the prior's E[ρ₀²], then with the fitted ρ̄(x)².
      let rho2 = x.map(() => o.rho.mean ** 2 + o.rho.sd ** 2);
      for (let pass = 0; pass < (lowAt ? 2 : 1); pass++) {
        const extra = x.map((_, i) => (lowAt ? rho2[i] * lowAt.variance[i] : 0));
        high = new BasisGp(x, y, h, prior, extra, fitHyper(x, y, h, prior, extra, rng.fork(`discrepancy:${pass}`), o.restarts, discrepancyPrior(x[0].length, o.discrepancyVar)));
        if (lowAt) {
          rhoCoef = high.beta.slice(1);
          rho2 = x.map((u) => MultiFidelityModel.rhoAt(rhoCoef, u) ** 2 + high!.betaCov[1][1]);
        }
      }
    }
    return new MultiFidelityModel(space, scale, low, high, rhoCoef, o);
  }

  /** Estimate of the real reward at each candidate: posterior mean and sd (latent, rig noise excluded). */
  predict(candidates: readonly Parameters[]): { mean: number[]; std: number[] } {
    return this.predictEncoded(candidates.map((c) => encode(this.space, c)));
  }

  private predictEncoded(xs: number[][]): { mean: number[]; std: number[] } {
    const o = this.options;
    const lowAt = this.low ? this.low.predict(xs, xs.map(() => [1])) : null;
    let mean: number[];
    let variance: number[];
    if (this.high) {
      const p = this.high.predict(xs, xs.map((u, i) => MultiFidelityModel.basis(o, !!lowAt, lowAt?.mean[i] ?? 0, u)));
      mean = p.mean;
      variance = p.variance.map((v, i) => v + (lowAt ? MultiFidelityModel.rhoAt(this.rhoCoef, xs[i]) ** 2 * lowAt.variance[i] : 0));
    } else if (lowAt) {
      // No rig result yet: the prior of level 2 around the simulations' GP.
      const prior = MultiFidelityModel.levelPrior(o, true, xs[0]?.length ?? 0);
      mean = lowAt.mean.map((m) => o.rho.mean * m);
      variance = lowAt.mean.map((m, i) => {
        const h = MultiFidelityModel.basis(o, true, m, xs[i]);
        return h.reduce((s, hv, k) => s + prior.variance[k] * hv * hv, 0) + (o.rho.mean ** 2 + o.rho.sd ** 2) * lowAt.variance[i];
      });
    } else {
      mean = xs.map(() => 0);
      variance = xs.map(() => o.offsetSd ** 2);
    }
    return { mean: mean.map((m) => this.scale.mean + this.scale.std * m), std: variance.map((v) => Math.sqrt(v) * this.scale.std) };
  }

  /**
   * The model with one more (believed) rig result at `params`: hyper-parameters and ρ̄ kept,
   * conditioned on the extra point (the Kriging believer of batch selection).
   */
  believe(params: Parameters, reward: number): MultiFidelityModel {
    const x = encode(this.space, params);
    const o = this.options;
    const lowAt = this.low ? this.low.predict([x], [[1]]) : null;
    const h = MultiFidelityModel.basis(o, !!lowAt, lowAt?.mean[0] ?? 0, x);
    const extra = lowAt ? MultiFidelityModel.rhoAt(this.rhoCoef, x) ** 2 * lowAt.variance[0] : 0;
    const y = (reward - this.scale.mean) / this.scale.std;
    const high = this.high
      ? this.high.withPoint(x, y, h, extra)
      : new BasisGp([x], [y], [h], MultiFidelityModel.levelPrior(o, !!lowAt, x.length), [extra], toHyper(discrepancyPrior(x.length, o.discrepancyVar).mean, x.length));
    return new MultiFidelityModel(this.space, this.scale, this.low, high, this.rhoCoef, o);
  }

  /**
   * The model with `points` among the simulations: level 1 conditioned on them with their σ as
   * noise, hyper-parameters, standardisation, level 2 and ρ̄ kept (as `believe` keeps them at
   * level 2) — what a round's simulations would make of the real estimates before they join the
   * data and the model is refitted (the adaptive realisations, issue #13). Null without a
   * simulation level (fewer than 2 simulations so far): there are no hyper-parameters to keep.
   */
  withSimulations(points: readonly FidelityPoint[]): MultiFidelityModel | null {
    const low = this.low;
    if (!low) return null;
    const pts = points.filter((p) => Number.isFinite(p.reward));
    const xs = pts.map((p) => encode(this.space, p.params));
    const y = pts.map((p) => (p.reward - this.scale.mean) / this.scale.std);
    const extra = pts.map((p) => (Number.isFinite(p.std) ? (p.std! / this.scale.std) ** 2 : 0));
    const conditioned = new BasisGp([...low.x, ...xs], [...low.y, ...y], [...low.h, ...xs.map(() => [1])], low.prior, [...low.extraNoise, ...extra], low.hyper);
    return new MultiFidelityModel(this.space, this.scale, conditioned, this.high, this.rhoCoef, this.options);
  }

  /**
   * How far the real estimate at each candidate moves per unit of a new simulated reward there
   * with standard deviation `stds[i]`: |ρ(x)| (the prior mean of ρ before any rig result) times
   * the simulation level's weight on that observation, v/(v + σ²_noise + σ²) with v the level's
   * variance at x (the one-point GP update: exact for one new simulation, an upper bound when
   * others land near it). 0 without a simulation level.
   */
  simulationSensitivity(candidates: readonly Parameters[], stds: readonly number[]): number[] {
    const low = this.low;
    if (!low) return candidates.map(() => 0);
    const xs = candidates.map((c) => encode(this.space, c));
    const v = low.predict(xs, xs.map(() => [1])).variance;
    const nugget = Math.exp(low.hyper.logNoiseVar);
    return xs.map((u, i) => {
      const rho = this.high ? MultiFidelityModel.rhoAt(this.rhoCoef, u) : this.options.rho.mean;
      const s2 = Number.isFinite(stds[i]) ? (stds[i] / this.scale.std) ** 2 : 0;
      return (Math.abs(rho) * v[i]) / (v[i] + nugget + s2);
    });
  }

  /** What the model learnt (recorded in the ledger; the data is the evidence already there). */
  state(): MultiFidelityState {
    const hasRho = this.high !== null && this.low !== null;
    return {
      simulations: this.low?.x.length ?? 0,
      measurements: this.high?.x.length ?? 0,
      rho: hasRho ? { mean: this.high!.beta[1], sd: Math.sqrt(this.high!.betaCov[1][1]) } : null,
      rhoSlopes: hasRho && this.high!.beta.length > 2 ? this.high!.beta.slice(2) : null,
      offset: this.high ? { mean: this.high.beta[0] * this.scale.std, sd: Math.sqrt(this.high.betaCov[0][0]) * this.scale.std } : null,
      hyper: { simulation: this.low?.hyper ?? null, discrepancy: this.high?.hyper ?? null },
    };
  }
}

/**
 * ln EI of the real reward over `best` (the best rig result so far), for maximisation (Jones,
 * Schonlau & Welch 1998; in log form, Ament et al. NeurIPS 2023, so that candidates far below
 * the incumbent still rank instead of all underflowing to EI = 0). Before any rig result
 * (best = −∞) every candidate improves without bound: the ranking is then by the mean.
 */
export function realExpectedImprovement(mean: number, std: number, best: number): number {
  return Number.isFinite(best) ? logExpectedImprovement(mean, std * std, best) : mean;
}

/**
 * Batch selection by the expected improvement of the real reward (Kriging believer, Ginsbourger,
 * Le Riche & Carraro 2010): take the candidate of highest EI, believe its estimate as if
 * measured, recompute EI, repeat k times. Returns indices into `candidates` with each choice's
 * acquisition value (ln EI, or the mean before any rig result), mean and sd at the time it was chosen. Ties go to the lower index.
 */
export function selectByExpectedImprovement(
  model: MultiFidelityModel,
  candidates: readonly Parameters[],
  k: number,
  best: number,
): Array<{ index: number; ei: number; mean: number; std: number }> {
  const out: Array<{ index: number; ei: number; mean: number; std: number }> = [];
  let m = model;
  let incumbent = best;
  const taken = new Set<number>();
  while (out.length < Math.min(k, candidates.length)) {
    const p = m.predict(candidates);
    let pick = -1;
    let pickEi = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      if (taken.has(i)) continue;
      const ei = realExpectedImprovement(p.mean[i], p.std[i], incumbent);
      if (ei > pickEi) {
        pick = i;
        pickEi = ei;
      }
    }
    taken.add(pick);
    out.push({ index: pick, ei: pickEi, mean: p.mean[pick], std: p.std[pick] });
    m = m.believe(candidates[pick], p.mean[pick]);
    incumbent = Math.max(incumbent, p.mean[pick]);
  }
  return out;
}

/**
 * The RealityModel of a twin campaign (src/core/protocols.ts): a MultiFidelityModel refitted
 * from the ledger's simulations and rig results at every update. The simulation level is
 * refitted only when the simulations changed (a new round), not for every new rig result.
 */
export function createRealityModel(space: ParameterSpace, seed: number): RealityModel {
  let level: { key: string; level: SimulationLevel } | null = null;
  let model = MultiFidelityModel.fit(space, [], [], { seed });
  return {
    update(simulations, measurements) {
      const key = JSON.stringify(simulations.map((s) => [s.params, s.reward, s.std ?? 0]));
      if (!level || level.key !== key) level = { key, level: SimulationLevel.fit(space, simulations, { seed }) };
      model = MultiFidelityModel.fit(space, level.level, measurements, { seed });
      return { kind: 'multi-fidelity', samples: measurements.length, state: model.state() };
    },
    estimate(candidates) {
      const p = model.predict(candidates);
      return p.mean.map((mean, i) => ({ mean, std: p.std[i] }));
    },
    rank(candidates, best) {
      return selectByExpectedImprovement(model, candidates, candidates.length, best).map((r) => ({ index: r.index, value: r.ei, mean: r.mean, std: r.std }));
    },
    rankingGiven(candidates, rewards, best, z) {
      return rankingGiven(model, candidates, rewards, best, z);
    },
  };
}

/**
 * RealityModel.rankingGiven (issue #13): the acquisition `rank` picks its first candidate by
 * (ln EI of the real reward over `best`; the real estimate before any rig result) with the
 * simulated candidates' P-model rewards among the simulations, and its interval while each
 * simulated reward lies in mean ± z·σ: the real estimate moves by its sensitivity to the
 * simulated value times z·σ (MultiFidelityModel.simulationSensitivity: |ρ(x)| times the
 * simulation level's weight on the new value — small where simulations already pin the level
 * down, near 1 where there are none) and the acquisition increases with it. An unknown or
 * infinite σ is unbounded; a candidate that was not simulated (a surrogate estimate the model does
 * not learn from) has no interval. Linear and one-step: the greedy batch (Kriging believer)
 * and the diversity rule of the selection can still reorder the candidates after the first.
 */
export function rankingGiven(
  model: MultiFidelityModel,
  candidates: readonly Parameters[],
  rewards: ReadonlyArray<{ mean: number; std: number; simulated: boolean }>,
  best: number,
  z: number,
): Array<{ value: number; lower: number; upper: number }> | null {
  const sims = candidates.map((params, i) => ({ params, reward: rewards[i].mean, std: rewards[i].std, simulated: rewards[i].simulated })).filter((s) => s.simulated && Number.isFinite(s.reward));
  const given = model.withSimulations(sims);
  if (!given) return null;
  const p = given.predict(candidates);
  const sensitivity = model.simulationSensitivity(candidates, rewards.map((r) => r.std));
  const acquisition = (mean: number, i: number) => (Number.isFinite(mean) ? realExpectedImprovement(mean, p.std[i], best) : mean);
  return candidates.map((_, i) => {
    const r = rewards[i];
    if (Number.isNaN(r.mean)) return { value: NaN, lower: NaN, upper: NaN };
    const half = !r.simulated ? 0 : Number.isFinite(r.std) ? sensitivity[i] * z * r.std : Infinity;
    return { value: acquisition(p.mean[i], i), lower: acquisition(p.mean[i] - half, i), upper: acquisition(p.mean[i] + half, i) };
  });
}
