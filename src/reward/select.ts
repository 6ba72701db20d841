/**
 * Which of a round's candidates go to the rigs in a multi-objective campaign (issue #16): by
 * the expected hypervolume improvement of their PREDICTED objectives over the MEASURED front,
 * weighted by the probability of meeting every threshold and outcome constraint, the batch by
 * sequential greedy selection (Daulton, Balandat & Bakshy, NeurIPS 2020, qEHVI; the
 * probability of feasibility as in Gardner et al., ICML 2014).
 *
 * The P-model gives each candidate marginal Gaussians (mean, σ per property), so the Monte-
 * Carlo samples are independent across candidates and objectives. With fixed base samples
 * (common random numbers, seeded) each sample s draws every candidate's objectives y_sc and a
 * feasibility u_sc < p_c; a candidate's value is the average over samples of its hypervolume
 * improvement over that sample's front, counted only where it is feasible. The chosen
 * candidate joins every sample's front where it was feasible (its sampled values, a fantasy),
 * so the next one counts only what it adds — a batch spread along the front rather than k
 * near-copies of the best point. Ranking by the per-trial scalar (Σ goal·ln v) instead would
 * send the rigs whatever scores best on that one trade-off.
 */
import type { Rng } from '../core/rng.js';
import { hypervolumeImprovement } from './hvi.js';
import { paretoFront } from './pareto.js';

export interface PredictedObjectives {
  /** Goal-signed means (larger is better) and their standard deviations (0: known exactly). */
  mean: readonly number[];
  std: readonly number[];
  /** Probability that every threshold and outcome constraint holds. */
  feasibility: number;
}

/**
 * Greedy qEHVI order of all candidates (first = chosen first): index and the expected
 * hypervolume improvement it added when chosen (goal-signed units of the objectives, scaled by
 * the front's range). Candidates that add nothing keep their incoming order at the end, so the
 * caller's order (the scalar reward) breaks ties.
 */
export function ehviOrder(candidates: readonly PredictedObjectives[], measured: readonly (readonly number[])[], reference: readonly number[], rng: Rng, samples = 128): { index: number; value: number }[] {
  const m = reference.length;
  if (candidates.length === 0) return [];
  // Scale each objective by the spread of the data at hand so that units do not set the
  // Monte-Carlo noise (the ranking itself does not depend on a per-objective scale).
  const span = Array.from({ length: m }, (_, i) => {
    const vals = [...measured.map((y) => y[i]), ...candidates.map((c) => c.mean[i]), reference[i]];
    const s = Math.max(...vals) - Math.min(...vals);
    return s > 0 ? s : 1;
  });
  const scale = (y: readonly number[]) => y.map((v, i) => v / span[i]);
  const ref = scale(reference);
  const base = paretoFront(measured, new Array(m).fill('max')).map((i) => scale(measured[i]));
  const fronts = Array.from({ length: samples }, () => base.map((p) => [...p]));
  const draws = candidates.map((c) =>
    Array.from({ length: samples }, () => {
      const y = scale(c.mean.map((mu, i) => mu + (c.std[i] > 0 ? c.std[i] * rng.normal() : 0)));
      return rng.next() < c.feasibility ? y : null;
    }),
  );
  const left = new Set(candidates.map((_, i) => i));
  const order: { index: number; value: number }[] = [];
  while (left.size > 0) {
    let best = -1;
    let bestV = 0;
    for (const c of left) {
      let total = 0;
      for (let s = 0; s < samples; s++) {
        const y = draws[c][s];
        if (y) total += hypervolumeImprovement(fronts[s], y, ref);
      }
      if (total / samples > bestV) [best, bestV] = [c, total / samples];
    }
    if (best < 0) break;
    order.push({ index: best, value: bestV });
    left.delete(best);
    draws[best].forEach((y, s) => {
      if (y) fronts[s].push(y);
    });
  }
  return [...order, ...[...left].map((index) => ({ index, value: 0 }))];
}
