/**
 * Honest uncertainty of the P-model (issue #13; docs/uncertainty.md): pure functions that turn
 * several twin realisations of one recipe into an estimate with a standard error and a
 * realisation spread, decide which candidates need more realisations, check whether the
 * domain is a representative volume for each property, and carry property uncertainties
 * through the reward.
 *
 * Why realisations: a twin is stochastic — one recipe gives a different microstructure per
 * seed — and at campaign sizes the property of one realisation can be far from the recipe's
 * (issue #13: through-plane conductivity 44–478 S/m over seeds at 32×32×24). The spread over
 * seeds is the statistical RVE criterion of Kanit et al., Int. J. Solids Struct. 40 (2003)
 * 3647: n realisations of a volume estimate the effective property to a relative error
 * ε = z·CV/√n, where CV = D/Z is the coefficient of variation over realisations.
 */
import type { PropertyEstimate } from '../core/protocols.js';
import { hash32 } from '../core/rng.js';

export interface RealisationOptions {
  /** Realisations every simulated candidate gets (≥ 1; with 1 the spread is unknown: std NaN). */
  min: number;
  /** Most realisations a candidate gets while its place in the ranking is uncertain. */
  max: number;
}

/** Defaults of `predict.realisations` (docs/configuration.md). */
export const DEFAULT_REALISATIONS: Readonly<RealisationOptions> = Object.freeze({ min: 2, max: 4 });
/**
 * Default `predict.rveMaxCv`: a property whose CV over realisations exceeds 0.2 is estimated by
 * one sample of the domain to no better than ±40 % (95 %, Kanit et al. 2003 with n = 1): the
 * domain is too small for it. Measured by `npm run bench -- uncertainty`.
 */
export const DEFAULT_RVE_MAX_CV = 0.2;
/** Two-sided 95 % normal quantile: the width of the reward intervals the adaptive rule compares. */
export const INTERVAL_Z = 1.96;

/** Checks `predict.realisations`; throws a message naming the field. */
export function realisationProblem(r: RealisationOptions): string | null {
  if (!Number.isInteger(r.min) || r.min < 1) return `predict.realisations.min must be an integer >= 1 (got ${r.min})`;
  if (!Number.isInteger(r.max) || r.max < r.min) return `predict.realisations.max must be an integer >= min (${r.min}) (got ${r.max})`;
  return null;
}

/**
 * Twin seed of realisation `k` of a candidate whose own seed is `seed`: realisation 0 is the
 * candidate's seed itself (one realisation reproduces the single-seed scores of before), the
 * others are hashed from it — so a resumed campaign rescoring a trial makes the same volumes.
 */
export function realisationSeed(seed: number, k: number): number {
  return k === 0 ? seed : hash32(`${seed}:realisation:${k}`);
}

/**
 * Mean over realisations, its standard error (`std` = spread/√n) and the realisation spread
 * (sample standard deviation, n − 1). NaN values (a property a simulation did not produce)
 * are left out. Infinite values (τ of a pore space that does not percolate) make the mean
 * infinite and, mixed with finite ones, the spread infinite: no finite error bar describes a
 * recipe that percolates in some samples and not in others.
 */
export function summarise(values: readonly number[]): PropertyEstimate {
  const v = values.filter((x) => !Number.isNaN(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, std: NaN, spread: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: NaN, spread: NaN, n };
  let spread: number;
  if (v.every(Number.isFinite)) spread = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  else spread = v.every((x) => x === v[0]) ? 0 : Infinity;
  return { mean, std: spread / Math.sqrt(n), spread, n };
}

/** Per-property estimates from the realisations' simulated properties. */
export function combine(samples: ReadonlyArray<Record<string, number>>, properties: readonly string[]): Record<string, PropertyEstimate> {
  return Object.fromEntries(properties.map((p) => [p, summarise(samples.map((s) => s[p] ?? NaN))]));
}

/** Coefficient of variation over realisations (spread / |mean|); NaN when unknown (n < 2). */
export function realisationCv(e: PropertyEstimate): number {
  if (e.spread === undefined || Number.isNaN(e.spread) || Number.isNaN(e.mean)) return NaN;
  if (e.spread === 0) return 0;
  return e.spread / Math.abs(e.mean);
}

/**
 * The representative-volume check: the properties whose CV over realisations exceeds `maxCv`.
 * A non-conducting realisation next to a conducting one (mean > 0, spread comparable) is
 * caught like any other large spread; a property that is 0 in every realisation is not.
 */
export function rveWarnings(estimates: Record<string, PropertyEstimate>, maxCv: number): string[] {
  return Object.entries(estimates)
    .filter(([, e]) => realisationCv(e) > maxCv)
    .map(([p]) => p);
}

/**
 * Standard deviation of reward(properties) when each property is uncertain by its `std`, by
 * the first-order delta method, σ_R² = Σ_p (∂R/∂p · σ_p)² (properties taken as independent),
 * with each derivative·σ_p a central difference over ±1σ_p: (R(m+σ) − R(m−σ)) / 2. A step of
 * one σ rather than an infinitesimal one keeps the estimate meaningful at the kinks of
 * max()/min() penalties in reward expressions. Where one side leaves the reward's domain
 * (log of a negative conductivity), the one-sided difference |R(m±σ) − R(m)| is used.
 * Returns 0 when every σ is 0, NaN when a σ the reward depends on is unknown (NaN), and ∞
 * when one is infinite (the prior before any data).
 */
export function rewardStd(estimates: Record<string, PropertyEstimate>, rewardOf: (means: Record<string, number>) => number): number {
  const means = Object.fromEntries(Object.entries(estimates).map(([k, e]) => [k, e.mean]));
  const r0 = rewardOf(means);
  if (!Number.isFinite(r0)) return NaN;
  const at = (p: string, v: number) => rewardOf({ ...means, [p]: v });
  let variance = 0;
  for (const [p, e] of Object.entries(estimates)) {
    if (e.std === 0 || !Number.isFinite(e.mean)) continue;
    if (!Number.isFinite(e.std)) {
      // An unknown or unbounded σ matters only for a property the reward reads.
      const probes = [e.mean * 0.5, e.mean * 1.5, e.mean - 1, e.mean + 1];
      if (probes.every((v) => at(p, v) === r0)) continue;
      return Number.isNaN(e.std) ? NaN : Infinity;
    }
    const up = at(p, e.mean + e.std);
    const down = at(p, e.mean - e.std);
    let d: number;
    if (Number.isFinite(up) && Number.isFinite(down)) d = (up - down) / 2;
    else if (Number.isFinite(up)) d = up - r0;
    else if (Number.isFinite(down)) d = r0 - down;
    else return Infinity;
    variance += d * d;
  }
  return Math.sqrt(variance);
}

/**
 * The next candidates to give one more realisation, by LUCB (Kalyanakrishnan et al., ICML
 * 2012, "PAC subset selection in stochastic multi-armed bandits"): with intervals
 * mean ± z·std, take the candidate inside the top `top` (by mean) with the lowest lower bound
 * and the one outside with the highest upper bound — the pair whose order decides which
 * candidates go to the rigs. When that lower bound is above that upper bound the top is
 * settled: nothing more ([]). Otherwise those of the two that `canRefine` (simulated, below
 * the maximum of realisations) are returned; when neither can be refined the uncertainty that
 * matters cannot be reduced within the budget, and nothing is returned either. NaN means are
 * unranked; a NaN std counts as unbounded. At most two realisations per step, so a round
 * whose top is clear costs nothing more and one whose top is not costs little more.
 */
export function lucbPicks(rewards: ReadonlyArray<{ mean: number; std: number }>, top: number, canRefine: (i: number) => boolean, z = INTERVAL_Z): number[] {
  const ranked = rewards
    .map((r, i) => ({ i, mean: r.mean, half: Number.isNaN(r.std) ? Infinity : z * r.std }))
    .filter((r) => !Number.isNaN(r.mean))
    .sort((a, b) => b.mean - a.mean || a.i - b.i);
  if (ranked.length <= top) return [];
  const lower = (r: (typeof ranked)[number]) => r.mean - r.half;
  const upper = (r: (typeof ranked)[number]) => r.mean + r.half;
  const weakestInside = ranked.slice(0, top).reduce((a, b) => (lower(b) < lower(a) ? b : a));
  const strongestOutside = ranked.slice(top).reduce((a, b) => (upper(b) > upper(a) ? b : a));
  if (lower(weakestInside) > upper(strongestOutside)) return [];
  return [weakestInside.i, strongestOutside.i].filter(canRefine);
}
