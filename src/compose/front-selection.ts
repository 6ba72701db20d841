/**
 * The front's say in a multi-objective campaign's loop (issue #16), handed to the runtime as
 * `CampaignRuntimeDeps.front`:
 * - `rank`: the round's candidates for the rigs, by greedy expected hypervolume improvement of
 *   their predicted objectives (the P-model's means and σ; parameters exactly) over the
 *   MEASURED front, times the probability of meeting every threshold and outcome constraint
 *   (src/reward/select.ts). So `agent.candidates > batchSize` down-selects by the front, not by
 *   the per-trial scalar.
 * - `gained`: whether a round added dominated hypervolume to the measured front, for
 *   `stop.noImprovementRounds` (src/reward/front.ts `roundGainedHypervolume`).
 */
import type { Parameters } from '../core/protocols.js';
import { hash32, createRng } from '../core/rng.js';
import type { TrialRow } from '../ledger/ledger.js';
import { frontTrials, measuredRows, roundGainedHypervolume } from '../reward/front.js';
import { configuredReference, inferReference, objectiveVector, type ObjectiveSet } from '../reward/objectives.js';
import { rewardScope } from '../reward/scope.js';
import { ehviOrder, type PredictedObjectives } from '../reward/select.js';
import { normCdf } from '../surrogate/gp.js';

/** Monte-Carlo samples of the selection (BoTorch's default for qEHVI is 128 as well). */
const SAMPLES = 128;

type Estimates = Record<string, { mean: number; std: number }>;

/**
 * P(lo ≤ v ≤ hi) for v ~ N(mean, std²); a value known exactly (std 0) is in or out. A value
 * the P-model does not predict (a property only the rigs measure) counts as unknown: 1, so
 * that it does not decide the choice — its measurement decides feasibility afterwards.
 */
function inRange(mean: number, std: number, lo = -Infinity, hi = Infinity): number {
  if (!Number.isFinite(mean)) return 1;
  if (!(std > 0)) return mean >= lo && mean <= hi ? 1 : 0;
  return Math.max(0, normCdf((hi - mean) / std) - normCdf((lo - mean) / std));
}

/** A candidate's goal-signed objective means and σ, and its probability of feasibility. */
export function predictedObjectives(estimates: Estimates, params: Parameters, set: ObjectiveSet, fixed: Parameters = {}): PredictedObjectives {
  const scope = rewardScope(Object.fromEntries(Object.entries(estimates).map(([k, v]) => [k, v.mean])), params, fixed);
  // Properties win the plain name in the reward's scope (src/reward/scope.ts); parameters are exact.
  const std = (name: string) => (estimates[name] && Number.isFinite(estimates[name].std) ? estimates[name].std : 0);
  let feasibility = 1;
  for (const o of set.objectives) {
    if (o.threshold !== undefined) feasibility *= o.goal === 'max' ? inRange(scope[o.name] ?? Number.NaN, std(o.name), o.threshold) : inRange(scope[o.name] ?? Number.NaN, std(o.name), -Infinity, o.threshold);
  }
  for (const c of set.constraints ?? []) feasibility *= inRange(scope[c.name] ?? Number.NaN, std(c.name), c.min, c.max);
  return { mean: objectiveVector(scope, set.objectives), std: set.objectives.map((o) => std(o.name)), feasibility };
}

export function frontSelection(set: ObjectiveSet, fixed: Parameters, seed: number): { rank: (candidates: readonly TrialRow[], trials: readonly TrialRow[], round: number) => { index: number; value: number }[]; gained: (trials: readonly TrialRow[], round: number) => boolean } {
  const withFixed = (rows: readonly TrialRow[]) => rows.map((t) => ({ ...t, params: { ...t.params, ...fixed } }));
  return {
    rank: (candidates, trials, round) => {
      const measured = measuredRows(frontTrials(withFixed(trials)), set).map((r) => r.y);
      const predicted = candidates.map((t) => predictedObjectives(t.prediction ?? {}, t.params, set, fixed));
      // A candidate without finite predicted objectives (no estimate yet) adds nothing and keeps its place.
      const usable = predicted.map((p) => (p.mean.every(Number.isFinite) ? p : { ...p, feasibility: 0 }));
      const reference = inferReference(measured.length ? measured : usable.filter((p) => p.feasibility > 0).map((p) => [...p.mean]), configuredReference(set.objectives));
      return ehviOrder(usable, measured, reference, createRng(hash32(`front-select:${seed}:${round}`)), SAMPLES);
    },
    gained: (trials, round) => roundGainedHypervolume(frontTrials(withFixed(trials)), set, round),
  };
}
