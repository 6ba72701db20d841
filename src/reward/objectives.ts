/**
 * Objectives of a multi-objective campaign (issue #16): goal, optional reference point,
 * threshold and unit, and what the loop does with them.
 *
 * Orientation. Inside the loop every objective is *goal-signed*: a `min` objective is negated,
 * so larger is better everywhere (Observation.objectives, the agents' models, hypervolume).
 *
 * Normalisation from the data. Objectives are never summed raw (issue #16: with
 * [limitingCurrent max, sigma_eff_z max] a raw sum was 1 232 833 + 164 and conductivity counted
 * for 10⁻⁴ of the score). Fronts, hypervolumes and acquisition work on objectives scaled to
 * [0, 1] by the range of the data at hand (`normaliser`), with the reference point either the
 * configured one or inferred as BoTorch's `infer_reference_point` does: the nadir of the
 * Pareto front minus 10 % of the front's range.
 *
 * The scalar reward. The orchestrator still needs one number per trial (ranking before the
 * down-selection, the best-so-far of stop rules, gp-bo/PPO when a campaign uses them with
 * objectives). It must be comparable between trials scored in different rounds, so it cannot
 * depend on the data seen so far: it is Σ goal·ln(value) — the log of Derringer & Suich's
 * (J. Qual. Technol. 12 (1980) 214) geometric-mean desirability — under which a relative
 * change counts the same in every objective whatever its unit (doubling either term of the
 * issue's example adds ln 2). An objective with `scale` contributes goal·value/scale instead
 * (needed for quantities that can be zero or negative). The Pareto front, not this number,
 * is the result of a multi-objective campaign.
 *
 * Thresholds and outcome constraints. `threshold` ("at least 100 S/m" for a max objective) and
 * `outcomeConstraints` ({ name, min?, max? }) are constraints on outcomes: a trial that misses
 * one is not on the front, and agents weigh candidates by the probability of meeting them
 * (Observation.constraints carries the slacks, feasible when all ≥ 0). A threshold also serves
 * as the objective's reference point when no `reference` is given (as in Ax, where objective
 * thresholds are the reference point).
 */
import { type RequirementConstraint, type RequirementObjective, type RequirementSet } from '../core/requirements.js';
import { paretoFront } from './pareto.js';

// The constraint rule is src/core's, shared with the ledger's summary (review of 0e10d79).
export { constraintSlacks, meetsConstraints } from '../core/requirements.js';

export interface ObjectiveSpec extends RequirementObjective {
  /** Worst value that still counts, for the hypervolume (in the objective's unit). */
  reference?: number;
  /** Scale of the objective for the scalar reward (linear instead of logarithmic). */
  scale?: number;
}

export type OutcomeConstraintSpec = RequirementConstraint;

/** Objectives and outcome constraints: a RequirementSet whose objectives carry the reward's fields too. */
export type ObjectiveSet = RequirementSet<ObjectiveSpec>;

const sign = (o: ObjectiveSpec): number => (o.goal === 'max' ? 1 : -1);

/** Goal-signed objective vector (larger is better) of one candidate's values. */
export function objectiveVector(values: Record<string, number>, objectives: readonly ObjectiveSpec[]): number[] {
  return objectives.map((o) => {
    const v = values[o.name];
    return typeof v === 'number' ? sign(o) * v : Number.NaN;
  });
}

/** The per-trial scalar reward of an objectives-only campaign (see the header): Σ goal·ln v, or goal·v/scale. */
export function objectivesReward(values: Record<string, number>, objectives: readonly ObjectiveSpec[]): number {
  let r = 0;
  for (const o of objectives) {
    const v = values[o.name];
    if (typeof v !== 'number' || Number.isNaN(v)) return Number.NaN;
    if (o.scale !== undefined) r += (sign(o) * v) / o.scale;
    else r += v > 0 ? sign(o) * Math.log(v) : Number.NaN;
  }
  return r;
}

/** Affine map of goal-signed objectives to [0, 1] per objective (0 = worst seen, 1 = best). */
export interface Normaliser {
  lo: number[];
  hi: number[];
  apply(y: readonly number[]): number[];
}

/** Normalisation by the range of the finite rows of `ys` (a constant objective gets range 1). */
export function normaliser(ys: readonly (readonly number[])[], m: number): Normaliser {
  const ok = ys.filter((y) => y.length === m && y.every(Number.isFinite));
  const lo = Array.from({ length: m }, (_, i) => (ok.length ? Math.min(...ok.map((y) => y[i])) : 0));
  const hi = Array.from({ length: m }, (_, i) => (ok.length ? Math.max(...ok.map((y) => y[i])) : 1));
  const span = lo.map((l, i) => (hi[i] > l ? hi[i] - l : 1));
  return { lo, hi, apply: (y) => y.map((v, i) => (v - lo[i]) / span[i]) };
}

/**
 * Reference point (goal-signed, maximisation) for hypervolume: configured values where given,
 * else the nadir of the Pareto front of `ys` minus `margin` of the front's range (BoTorch's
 * infer_reference_point, scale 0.1). `configured[i]` is in goal-signed units or undefined.
 */
export function inferReference(ys: readonly (readonly number[])[], configured: readonly (number | undefined)[] = [], margin = 0.1): number[] {
  const m = ys[0]?.length ?? configured.length;
  const ok = ys.filter((y) => y.length === m && y.every(Number.isFinite));
  const front = paretoFront(ok, new Array(m).fill('max')).map((i) => ok[i]);
  return Array.from({ length: m }, (_, i) => {
    if (configured[i] !== undefined) return configured[i]!;
    if (front.length === 0) return 0;
    const nadir = Math.min(...front.map((y) => y[i]));
    const ideal = Math.max(...front.map((y) => y[i]));
    const range = ideal - nadir > 0 ? ideal - nadir : Math.max(Math.abs(nadir), 1);
    return nadir - margin * range;
  });
}

/** The configured reference point of each objective (its reference, else its threshold), goal-signed. */
export function configuredReference(objectives: readonly ObjectiveSpec[]): (number | undefined)[] {
  return objectives.map((o) => {
    const r = o.reference ?? o.threshold;
    return r === undefined ? undefined : sign(o) * r;
  });
}
