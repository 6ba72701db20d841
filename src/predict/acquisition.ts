/**
 * Acquisition functions of the Predictor's active learning (issue #5; DESIGN.md, "The loop",
 * step 3): which candidates are worth a physics simulation. Pure functions over predicted
 * means and standard deviations.
 *
 * - `uncertainty`: u = max over properties of σ_p / s_p, where s_p is the standard deviation of
 *   property p over the training data: the share of the data's spread that the model is unsure
 *   about. Worth physics when u > `minRelativeStd` (default 0.05): below that, a simulation
 *   would teach the model little (uncertainty sampling, Settles 2009, §3.1).
 * - `ei`: expected improvement of the reward over the best reward seen at physics or rig
 *   fidelity (Jones, Schonlau & Welch 1998, eq. 15), with a margin ξ = 0.01·(reward spread).
 *   Worth physics when EI > 0 after the margin.
 * - `ucb`: μ + κσ of the reward with κ = 2 (Srinivas et al. 2010). Worth physics when the
 *   upper bound exceeds the best reward seen, i.e. when the candidate could be the new best.
 *
 * The reward's mean and σ under the surrogate come from Monte Carlo: properties are drawn
 * independently from N(mean_p, σ_p) and pushed through the reward function.
 */
import type { PropertyEstimate } from '../core/protocols.js';
import type { Rng } from '../core/rng.js';

export type AcquisitionName = 'uncertainty' | 'ei' | 'ucb';

/** Standard normal density and distribution function (Abramowitz & Stegun 7.1.26 for erf). */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** EI for maximisation: (μ − best − ξ)Φ(z) + σφ(z), z = (μ − best − ξ)/σ. */
export function expectedImprovement(mean: number, std: number, best: number, xi = 0): number {
  const d = mean - best - xi;
  if (!(std > 0)) return Math.max(0, d);
  const z = d / std;
  return d * normalCdf(z) + std * normalPdf(z);
}

/** Mean and σ of reward(properties) when each property is N(mean, σ), by Monte Carlo. */
export function rewardEstimate(
  estimate: Record<string, PropertyEstimate>,
  rewardOf: (props: Record<string, number>) => number,
  rng: Rng,
  samples = 64,
): PropertyEstimate {
  const names = Object.keys(estimate);
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for (let s = 0; s < samples; s++) {
    const props: Record<string, number> = {};
    for (const name of names) {
      const { mean, std } = estimate[name];
      props[name] = std > 0 && Number.isFinite(std) ? mean + std * rng.normal() : mean;
    }
    const r = rewardOf(props);
    if (!Number.isFinite(r)) continue;
    n++;
    sum += r;
    sum2 += r * r;
  }
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

export interface AcquisitionContext {
  /** σ of each property over the training data (for `uncertainty`). */
  spread: Record<string, number>;
  /** Best reward seen at physics or rig fidelity (for `ei`, `ucb`); -∞ when none. */
  best: number;
  /** σ of the rewards seen (sets the EI margin ξ). */
  rewardSpread: number;
  minRelativeStd: number;
  kappa: number;
}

/**
 * Acquisition value and whether a simulation is worth it (see the file comment). `reward` is
 * required for `ei` and `ucb`.
 */
export function acquire(
  name: AcquisitionName,
  estimate: Record<string, PropertyEstimate>,
  reward: PropertyEstimate | undefined,
  ctx: AcquisitionContext,
): { value: number; worth: boolean } {
  if (name === 'uncertainty' || reward === undefined || !Number.isFinite(ctx.best)) {
    let u = 0;
    for (const [p, { std }] of Object.entries(estimate)) {
      const s = ctx.spread[p];
      const rel = s > 0 ? std / s : std > 0 ? Infinity : 0;
      // NaN σ (no prediction) counts as maximally uncertain.
      u = Math.max(u, Number.isNaN(rel) ? Infinity : rel);
    }
    return { value: u, worth: u > ctx.minRelativeStd };
  }
  if (!Number.isFinite(reward.mean)) return { value: Infinity, worth: true };
  if (name === 'ei') {
    const v = expectedImprovement(reward.mean, reward.std, ctx.best, 0.01 * ctx.rewardSpread);
    return { value: v, worth: v > 0 };
  }
  const v = reward.mean + ctx.kappa * reward.std;
  return { value: v, worth: v > ctx.best };
}

/**
 * Farthest-point selection (Gonzalez 1985) of k rows of `points` away from `anchors` and from
 * each other: the choice of uncertainty sampling under a stationary prior, used before any
 * surrogate is trained. Features are scaled by their range over all rows. Ties → lowest index;
 * points that duplicate an anchor or a chosen point are never chosen (so fewer than k may be).
 */
export function farthestPoints(points: readonly number[][], anchors: readonly number[][], k: number): number[] {
  const all = [...points, ...anchors];
  if (points.length === 0 || k <= 0) return [];
  const d = points[0].length;
  const scale: number[] = [];
  for (let j = 0; j < d; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const r of all) {
      if (Number.isFinite(r[j])) {
        lo = Math.min(lo, r[j]);
        hi = Math.max(hi, r[j]);
      }
    }
    scale.push(hi > lo ? 1 / (hi - lo) : 0);
  }
  const dist2 = (a: readonly number[], b: readonly number[]): number => {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = (a[j] - b[j]) * scale[j];
      if (Number.isFinite(t)) s += t * t;
    }
    return s;
  };
  const nearest = points.map((p) => anchors.reduce((m, a) => Math.min(m, dist2(p, a)), Infinity));
  const chosen: number[] = [];
  const take = (c: number) => {
    chosen.push(c);
    for (let i = 0; i < points.length; i++) nearest[i] = Math.min(nearest[i], dist2(points[i], points[c]));
  };
  if (anchors.length === 0) {
    // Start from the point farthest from the centroid (an extreme point), so that the
    // choice does not depend on the order of the candidates.
    const centroid = Array.from({ length: d }, (_, j) => points.reduce((s, p) => s + (Number.isFinite(p[j]) ? p[j] : 0), 0) / points.length);
    let first = 0;
    for (let i = 1; i < points.length; i++) if (dist2(points[i], centroid) > dist2(points[first], centroid)) first = i;
    take(first);
  }
  while (chosen.length < Math.min(k, points.length)) {
    let best = -1;
    for (let i = 0; i < points.length; i++) {
      if (chosen.includes(i)) continue;
      if (best < 0 || nearest[i] > nearest[best]) best = i;
    }
    // A point identical to one simulated or chosen would teach nothing new.
    if (!(nearest[best] > 0)) break;
    take(best);
  }
  return chosen;
}
