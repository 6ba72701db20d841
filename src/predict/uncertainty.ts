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
import type { FidelityObservation, Parameters, PropertyEstimate } from '../core/protocols.js';
import { withMinusInfinityStandIn } from '../core/reward-stand-in.js';
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

/**
 * Per-property estimates from the realisations' simulated properties, each with its values per
 * realisation (`samples`, in realisation order, NaN where a realisation did not produce the
 * property): sample k of every property comes from the same volume, which is what lets
 * `rewardStd` see how the properties vary together.
 */
export function combine(samples: ReadonlyArray<Record<string, number>>, properties: readonly string[]): Record<string, PropertyEstimate> {
  return Object.fromEntries(
    properties.map((p) => {
      const values = samples.map((s) => s[p] ?? NaN);
      return [p, { ...summarise(values), samples: values }];
    }),
  );
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

/** A number read back from the ledger: JSON has no NaN or ±∞ and stores them as null (unknown). */
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/**
 * The realisations' deviations from the mean, scaled to the mean's standard error: for each
 * realisation k in which every property of `names` has a finite value, (x_pk − x̄_p)/√n_p per
 * property (x̄_p over those realisations, n_p = the realisations the property's mean averages).
 * Summed over k, their outer products /(m − 1) are the sample covariance of the means, Σ/n.
 * Null when the properties' samples are not aligned (different counts) or fewer than 2
 * realisations are complete.
 */
function realisationDeviations(estimates: Record<string, PropertyEstimate>, names: readonly string[]): Array<Record<string, number>> | null {
  const samples = names.map((p) => (estimates[p].samples ?? []).map(num));
  if (samples.some((s) => s.length !== samples[0].length)) return null;
  const complete = samples[0].map((_, k) => k).filter((k) => samples.every((s) => Number.isFinite(s[k])));
  if (complete.length < 2) return null;
  const centre = samples.map((s) => complete.reduce((a, k) => a + s[k], 0) / complete.length);
  const counts = samples.map((s) => s.filter((v) => !Number.isNaN(v)).length);
  return complete.map((k) => Object.fromEntries(names.map((p, j) => [p, (samples[j][k] - centre[j]) / Math.sqrt(counts[j])])));
}

/**
 * Standard deviation of reward(properties) when the properties are estimated with errors `std`.
 *
 * All properties of one twin realisation come from the same volume and move together (a
 * realisation with more solid conducts better AND diffuses worse), so where the estimates carry
 * their realisations (`samples`, from `combine`) the error of the reward is taken from them:
 * σ_R² = gᵀ(Σ/n)g with Σ the sample covariance of the properties over realisations and g the
 * reward's gradient — evaluated without derivatives, as the mean square over realisations k of
 * the central difference (R(m + d_k) − R(m − d_k)) / 2 along the realisation's own deviation
 * d_k = (x_k − x̄)/√n (divided by m − 1). It is exact for a reward linear in the properties (the
 * standard error of R over realisations) and 0 for one the co-variation leaves unchanged
 * (R = b/a with b = 10a in every realisation). The step is one standard error, so a realisation
 * that does not conduct at all moves the reward's argument by its share of the mean's error and
 * never to log(0): its reward alone would be −∞, but the mean it contributes to is not.
 *
 * Properties without aligned realisations (surrogate and prior estimates; one realisation)
 * keep the first-order delta method with properties taken as independent,
 * σ_R² += Σ_p ((R(m + σ_p) − R(m − σ_p)) / 2)²; so does the part of a property's σ that its
 * realisations do not explain (the reality correction's discrepancy σ, added to the realisations
 * it scales: `unexplainedStd`). A step of one
 * σ rather than an infinitesimal one keeps both meaningful at the kinks of max()/min()
 * penalties. Where one side leaves the reward's domain (log of a negative conductivity), the
 * one-sided difference |R(m ± step) − R(m)| is used.
 *
 * Returns 0 when every σ is 0, NaN when a σ the reward depends on is unknown (one realisation),
 * and ∞ when one is infinite (the prior before any data) or both sides of a step leave the
 * domain. Properties with an infinite mean (τ of a pore space that never percolates) are held
 * at it. Values read back from the ledger as null count as unknown (NaN).
 */
export function rewardStd(estimates: Record<string, PropertyEstimate>, rewardOf: (means: Record<string, number>) => number): number {
  const means = Object.fromEntries(Object.entries(estimates).map(([k, e]) => [k, num(e.mean)]));
  const r0 = rewardOf(means);
  if (!Number.isFinite(r0)) return NaN;
  const at = (step: Record<string, number>, sign: 1 | -1) => rewardOf({ ...means, ...Object.fromEntries(Object.entries(step).map(([p, d]) => [p, means[p] + sign * d])) });
  /** The central difference along `step` (one-sided at the domain's edge); ∞ when both sides leave it. */
  const difference = (step: Record<string, number>): number => {
    const up = at(step, 1);
    const down = at(step, -1);
    if (Number.isFinite(up) && Number.isFinite(down)) return (up - down) / 2;
    if (Number.isFinite(up)) return up - r0;
    if (Number.isFinite(down)) return r0 - down;
    return Infinity;
  };
  // An unknown or unbounded σ matters only for a property the reward reads.
  const reads = (p: string) => [means[p] * 0.5, means[p] * 1.5, means[p] - 1, means[p] + 1].some((v) => rewardOf({ ...means, [p]: v }) !== r0);
  const varying = Object.keys(estimates).filter((p) => Number.isFinite(means[p]) && num(estimates[p].std) !== 0 && reads(p));
  const aligned = varying.filter((p) => estimates[p].samples !== undefined);
  const deviations = aligned.length > 0 ? realisationDeviations(estimates, aligned) : null;
  let variance = 0;
  if (deviations) {
    let sum = 0;
    for (const d of deviations) sum += difference(d) ** 2;
    variance += sum / (deviations.length - 1);
  }
  // Independent terms: the properties without realisations, and the part of a realisation-
  // carrying property's σ that its realisations do not explain.
  for (const p of varying) {
    const std = deviations && aligned.includes(p) ? unexplainedStd(estimates[p]) : num(estimates[p].std);
    if (std === 0) continue;
    if (!Number.isFinite(std)) return Number.isNaN(std) ? NaN : Infinity;
    variance += difference({ [p]: std }) ** 2;
  }
  return Math.sqrt(variance);
}

/**
 * The part of an estimate's σ beyond the standard error of its realisations (sd/√n of the
 * finite samples), √(σ² − se²): 0 for a simulated estimate (σ is that standard error), the
 * discrepancy model's σ for one the reality correction moved (src/predict/correction.ts keeps
 * the realisations, scaled, and adds its own uncertainty). Independent of the realisations.
 */
function unexplainedStd(e: PropertyEstimate): number {
  const v = (e.samples ?? []).map(num).filter(Number.isFinite);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const se = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) / Math.sqrt(v.length);
  const std = num(e.std);
  // Rounding aside (σ was computed from these samples), nothing is left.
  return std > se * (1 + 1e-9) ? Math.sqrt(std * std - se * se) : Number.isNaN(std) ? NaN : 0;
}

/**
 * The simulated trials as data for the reality model (src/predict/multifidelity.ts), whose
 * level 1 takes each simulation's σ as heteroscedastic noise: the reward of the raw property
 * means and its `rewardStd`. A σ of 0 there means "exact but for the fitted nugget", so a σ
 * that is not known must not become 0 (issue #13 review):
 * - unknown (NaN: one successful realisation, so no spread) → the typical σ of the others: the
 *   median over the simulations with a known σ of σ_i·√n_i (the reward's realisation-to-
 *   realisation spread), divided by √n of this one. One realisation is as informative as any
 *   other realisation of this twin — neither exact nor worthless. When no simulation has a
 *   known σ (`predict.realisations.min: 1`), all are alike and 0 leaves their scatter to the
 *   fitted homoscedastic noise, as before issue #13;
 * - unbounded (±∞: no finite error bar, e.g. both sides of a step leave the reward's domain) →
 *   the spread (sample standard deviation) of all the simulation rewards: the point then says
 *   little more than that a simulation there gave a finite reward, and pulls the model toward it
 *   weakly (standardised noise ≈ 1) instead of not at all.
 * A simulation whose reward is −∞ (computable and terrible: log10 of a conductivity of exactly 0,
 * the reduced GDL demo's porosity-0.9 papers; review 2026-12-07) is data: it gets the stand-in
 * below the worst finite simulated reward (src/core/reward-stand-in.ts, as the agents' training
 * data) with the typical σ — left out, it let the model extrapolate a high reward there. Those
 * whose reward is NaN (not computable) or +∞ are left out, as before. Deterministic.
 */
export function simulationEvidence(
  sims: ReadonlyArray<{ params: Parameters; properties: Record<string, PropertyEstimate>; rewardOf: (means: Record<string, number>) => number }>,
): FidelityObservation[] {
  const scored = sims
    .map((s) => {
      const reward = s.rewardOf(Object.fromEntries(Object.entries(s.properties).map(([k, e]) => [k, num(e.mean)])));
      const counts = Object.values(s.properties).map((e) => num(e.n)).filter((n) => n >= 1);
      return { params: s.params, reward, std: rewardStd(s.properties, s.rewardOf), n: counts.length ? Math.min(...counts) : 1 };
    })
    .filter((s) => Number.isFinite(s.reward) || s.reward === -Infinity);
  const known = scored.filter((s) => Number.isFinite(s.std)).map((s) => s.std * Math.sqrt(s.n)).sort((a, b) => a - b);
  const typical = known.length ? known[Math.floor((known.length - 1) / 2)] : 0;
  const rewards = scored.map((s) => s.reward).filter(Number.isFinite);
  const mean = rewards.reduce((a, b) => a + b, 0) / Math.max(1, rewards.length);
  const spread = rewards.length > 1 ? Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / (rewards.length - 1)) : 0;
  const standIn = withMinusInfinityStandIn(scored.map((s) => s.reward));
  return scored
    .map((s, i) => ({
      params: s.params,
      reward: standIn[i],
      std: Number.isFinite(s.std) ? s.std : Number.isNaN(s.std) ? typical / Math.sqrt(s.n) : spread,
    }))
    .filter((s) => Number.isFinite(s.reward));
}

/** A value and the interval its uncertainty allows: what the adaptive rule compares. */
export interface RankInterval {
  /** NaN: unranked. */
  value: number;
  lower: number;
  upper: number;
}

/** The interval mean ± z·std of a P-model reward; an unknown σ (NaN: one realisation) is unbounded. */
export function rewardInterval(r: { mean: number; std: number }, z = INTERVAL_Z): RankInterval {
  const half = Number.isNaN(r.std) ? Infinity : z * r.std;
  return { value: r.mean, lower: r.mean - half, upper: r.mean + half };
}

/**
 * The next candidates to give one more realisation, by LUCB (Kalyanakrishnan et al., ICML
 * 2012, "PAC subset selection in stochastic multi-armed bandits"): take the candidate inside
 * the top `top` (by value) with the lowest lower bound and the one outside with the highest
 * upper bound — the pair at the boundary of the top. When that lower bound is above that upper
 * bound the top is settled: nothing more ([]). Otherwise those of the two that `canRefine`
 * (simulated, below the maximum of realisations) are returned; when neither can be refined the
 * uncertainty that matters cannot be reduced within the budget, and nothing is returned
 * either. NaN values are unranked. At most two realisations per step, so a round whose top is
 * clear costs nothing more and one whose top is not costs little more.
 *
 * The intervals are in the units of whatever ranks the candidates for the rigs: the P-model
 * reward ± z·σ (`rewardInterval`), or — in a twin campaign, whose batch the reality model
 * chooses — that reward carried through the reality model (ScoreOptions.ranking).
 */
export function lucbPicks(intervals: readonly RankInterval[], top: number, canRefine: (i: number) => boolean): number[] {
  const ranked = intervals
    .map((r, i) => ({ i, ...r }))
    .filter((r) => !Number.isNaN(r.value))
    .sort((a, b) => b.value - a.value || a.i - b.i);
  if (ranked.length <= top) return [];
  const weakestInside = ranked.slice(0, top).reduce((a, b) => (b.lower < a.lower ? b : a));
  const strongestOutside = ranked.slice(top).reduce((a, b) => (b.upper > a.upper ? b : a));
  if (weakestInside.lower > strongestOutside.upper) return [];
  return [weakestInside.i, strongestOutside.i].filter(canRefine);
}
