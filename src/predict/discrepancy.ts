/**
 * The reward update from the physical world (DESIGN.md, "The loop", step 7; issue #6).
 *
 * DiscrepancyModel — what the P-model gets wrong, learnt from (params, prediction, measurement):
 * per property, a GP on the encoded parameters (src/surrogate/gp.ts, Matérn-5/2 ARD, fitted
 * hyper-parameters) regresses the residual δ = measured − predicted (Kennedy & O'Hagan,
 * "Bayesian calibration of computer models", JRSS B 63 (2001) 425: reality = model + δ(x)).
 * The corrected estimate is mean + E[δ(x)], with σ² + Var[δ(x)] + noise. With one or two pairs
 * a GP is not identifiable; then δ is the mean residual (a constant bias), with the spread of
 * the residuals (or |δ| for one pair) as its uncertainty. No pairs: the prediction unchanged.
 *
 * FeasibilityModel — where manufacture fails, learnt from rig outcomes: L2-regularised logistic
 * regression on [1, encoded params] fitted by Newton's method (IRLS), i.e. the MAP estimate
 * under a N(0, 1/λ) prior on the weights; P(feasible) is the logistic of the linear score.
 * With outcomes of only one class it returns the Laplace-smoothed rate (k + 1)/(n + 2).
 *
 * penalise(reward, p, worst) = p·reward + (1 − p)·worst: the expected reward when a failure is
 * worth the worst reward observed (cf. constrained EI, Gardner et al., ICML 2014, which
 * multiplies EI by P(feasible); the mixture form also works for rewards that can be negative).
 *
 * Both serialise to plain JSON (toJSON/fromJSON) for the ledger's ModelTrained documents.
 */
import type { Parameters, ParameterSpace, PropertyEstimate } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { encode } from '../core/space.js';
import { GaussianProcess, type GpHyper } from '../surrogate/gp.js';

interface Pair {
  params: Parameters;
  residual: Record<string, number>;
}

export interface DiscrepancyJSON {
  kind: 'gp-discrepancy';
  space: ParameterSpace;
  properties: string[];
  pairs: Pair[];
  /** Fitted hyper-parameters per property (absent until fitted with ≥ 3 pairs). */
  hyper: Record<string, GpHyper>;
  seed: number;
}

/** The GP needs this many residuals for a property before it replaces the constant bias. */
const MIN_GP_PAIRS = 3;

export class DiscrepancyModel {
  private readonly pairs: Pair[] = [];
  private hyper: Record<string, GpHyper> = {};
  private gps: Record<string, GaussianProcess> = {};

  constructor(
    readonly space: ParameterSpace,
    readonly properties: readonly string[],
    private readonly seed = 0,
  ) {}

  /** Records one (prediction, measurement) pair; properties missing from either are skipped. */
  observe(params: Parameters, predicted: Record<string, number>, measured: Record<string, number>): void {
    const residual: Record<string, number> = {};
    for (const p of this.properties) {
      const a = measured[p];
      const b = predicted[p];
      if (Number.isFinite(a) && Number.isFinite(b)) residual[p] = a - b;
    }
    if (Object.keys(residual).length) this.pairs.push({ params: { ...params }, residual });
  }

  get size(): number {
    return this.pairs.length;
  }

  /** Refits the residual GPs (deterministic for the model's seed and data). */
  fit(): void {
    this.gps = {};
    for (const p of this.properties) {
      const rows = this.pairs.filter((q) => q.residual[p] !== undefined);
      if (rows.length < MIN_GP_PAIRS) continue;
      const gp = GaussianProcess.fit(
        rows.map((q) => encode(this.space, q.params)),
        rows.map((q) => q.residual[p]),
        { rng: createRng(this.seed).fork(`discrepancy-${p}-${rows.length}`), init: this.hyper[p] },
      );
      this.hyper[p] = gp.hyper;
      this.gps[p] = gp;
    }
  }

  /** E[δ] and Var[δ] of one property at each candidate. */
  residual(property: string, candidates: readonly Parameters[]): { mean: number[]; variance: number[] } {
    const rows = this.pairs.filter((q) => q.residual[property] !== undefined).map((q) => q.residual[property]);
    if (rows.length === 0) return { mean: candidates.map(() => 0), variance: candidates.map(() => 0) };
    const gp = this.gps[property] ?? (rows.length >= MIN_GP_PAIRS && this.hyper[property] ? this.rebuild(property) : undefined);
    if (gp) {
      const p = gp.predict(candidates.map((c) => encode(this.space, c)));
      const noise = Math.exp(gp.hyper.logNoiseVar) * gp.targetScale.std ** 2;
      return { mean: p.mean, variance: p.variance.map((v) => v + noise) };
    }
    const m = rows.reduce((a, b) => a + b, 0) / rows.length;
    const v = rows.length > 1 ? rows.reduce((a, b) => a + (b - m) ** 2, 0) / (rows.length - 1) : m * m;
    return { mean: candidates.map(() => m), variance: candidates.map(() => v) };
  }

  /** Predicted properties corrected toward reality: mean + E[δ], σ² + Var[δ]. */
  correct(candidates: readonly Parameters[], predicted: readonly Record<string, PropertyEstimate>[]): Record<string, PropertyEstimate>[] {
    const out = predicted.map((p) => ({ ...p }));
    for (const prop of this.properties) {
      const r = this.residual(prop, candidates);
      out.forEach((p, i) => {
        const e = p[prop];
        if (e) p[prop] = { mean: e.mean + r.mean[i], std: Math.sqrt(e.std * e.std + r.variance[i]) };
      });
    }
    return out;
  }

  private rebuild(property: string): GaussianProcess {
    const rows = this.pairs.filter((q) => q.residual[property] !== undefined);
    const gp = new GaussianProcess(rows.map((q) => encode(this.space, q.params)), rows.map((q) => q.residual[property]), this.hyper[property]);
    this.gps[property] = gp;
    return gp;
  }

  toJSON(): DiscrepancyJSON {
    return { kind: 'gp-discrepancy', space: this.space, properties: [...this.properties], pairs: this.pairs.map((p) => ({ params: { ...p.params }, residual: { ...p.residual } })), hyper: { ...this.hyper }, seed: this.seed };
  }

  /** Restores data and fitted hyper-parameters; predictions equal the saved model's. */
  static fromJSON(j: DiscrepancyJSON): DiscrepancyModel {
    const m = new DiscrepancyModel(j.space, j.properties, j.seed);
    m.pairs.push(...j.pairs.map((p) => ({ params: { ...p.params }, residual: { ...p.residual } })));
    m.hyper = { ...j.hyper };
    return m;
  }
}

export interface FeasibilityJSON {
  kind: 'logistic-feasibility';
  space: ParameterSpace;
  l2: number;
  outcomes: { params: Parameters; feasible: boolean }[];
  weights: number[] | null;
}

const logistic = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A x = b for a small symmetric positive-definite A (Gaussian elimination, partial pivoting). */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

export class FeasibilityModel {
  private readonly outcomes: { params: Parameters; feasible: boolean }[] = [];
  private weights: number[] | null = null;

  /** `l2`: prior precision λ on the weights (default 1; inputs are in [0, 1]). */
  constructor(
    readonly space: ParameterSpace,
    readonly l2 = 1,
  ) {}

  observe(params: Parameters, feasible: boolean): void {
    this.outcomes.push({ params: { ...params }, feasible });
  }

  /** MAP logistic regression by Newton–IRLS (the penalised log-likelihood is strictly concave). */
  fit(): void {
    const pos = this.outcomes.filter((o) => o.feasible).length;
    if (pos === 0 || pos === this.outcomes.length) {
      this.weights = null;
      return;
    }
    const x = this.outcomes.map((o) => [1, ...encode(this.space, o.params)]);
    const y = this.outcomes.map((o) => (o.feasible ? 1 : 0));
    const d = x[0].length;
    let w = new Array<number>(d).fill(0);
    for (let it = 0; it < 50; it++) {
      const p = x.map((r) => logistic(r.reduce((s, v, j) => s + v * w[j], 0)));
      // Gradient and Hessian of −log posterior (intercept unpenalised).
      const g = w.map((wj, j) => (j === 0 ? 0 : this.l2 * wj) - x.reduce((s, r, i) => s + (y[i] - p[i]) * r[j], 0));
      const h = Array.from({ length: d }, (_, a) =>
        Array.from({ length: d }, (_, b) => (a === b ? (a === 0 ? 1e-8 : this.l2) : 0) + x.reduce((s, r, i) => s + p[i] * (1 - p[i]) * r[a] * r[b], 0)),
      );
      const step = solve(h, g);
      w = w.map((v, j) => v - step[j]);
      if (Math.max(...step.map(Math.abs)) < 1e-10) break;
    }
    this.weights = w;
  }

  /** P(feasible) at each candidate. */
  probability(candidates: readonly Parameters[]): number[] {
    if (!this.weights) {
      const k = this.outcomes.filter((o) => o.feasible).length;
      return candidates.map(() => (k + 1) / (this.outcomes.length + 2));
    }
    const w = this.weights;
    return candidates.map((c) => logistic([1, ...encode(this.space, c)].reduce((s, v, j) => s + v * w[j], 0)));
  }

  toJSON(): FeasibilityJSON {
    return { kind: 'logistic-feasibility', space: this.space, l2: this.l2, outcomes: this.outcomes.map((o) => ({ params: { ...o.params }, feasible: o.feasible })), weights: this.weights ? [...this.weights] : null };
  }

  static fromJSON(j: FeasibilityJSON): FeasibilityModel {
    const m = new FeasibilityModel(j.space, j.l2);
    m.outcomes.push(...j.outcomes.map((o) => ({ params: { ...o.params }, feasible: o.feasible })));
    m.weights = j.weights ? [...j.weights] : null;
    return m;
  }
}

/** Expected reward when a failed manufacture is worth `worst`: p·reward + (1 − p)·worst. */
export function penalise(reward: number, pFeasible: number, worst: number): number {
  return pFeasible * reward + (1 - pFeasible) * worst;
}
