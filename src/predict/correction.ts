import type { ParameterSpace, PropertyEstimate, RealityCorrection } from '../core/protocols.js';
import { DiscrepancyModel, FeasibilityModel, penalise } from './discrepancy.js';

/**
 * The reward update from the physical world (issue #6): a GP discrepancy model on
 * ln(measured) − ln(predicted) for every property the rigs measure and the P-model predicts
 * (Kennedy & O'Hagan 2001, in log space: rigs and models disagree by factors — a conductivity
 * 30 % low across a tenfold range — and a correction in absolute units would drive positive
 * properties negative), and a logistic feasibility model from failed manufactures whose
 * P(feasible) mixes the reward toward the worst measured one (discrepancy.ts).
 * Pairs where either value is ≤ 0 (a sample that does not conduct) carry no ratio and are
 * skipped for that property; such predictions are left uncorrected.
 *
 * `properties`: the names both measured by the rigs and predicted by the P-model.
 * Every `update` refits from scratch (no warm start from the previous round), so the models
 * are a function of the evidence and the seed alone: a resumed campaign refits the same ones.
 */
export function createRealityCorrection(space: ParameterSpace, properties: readonly string[], seed: number): RealityCorrection {
  const props = [...properties];
  const logs = (v: Record<string, number>) => Object.fromEntries(Object.entries(v).filter(([k, x]) => props.includes(k) && x > 0 && Number.isFinite(x)).map(([k, x]) => [k, Math.log(x)]));
  let discrepancy = new DiscrepancyModel(space, props, seed);
  let feasibility = new FeasibilityModel(space);
  return {
    update(evidence) {
      discrepancy = new DiscrepancyModel(space, props, seed);
      feasibility = new FeasibilityModel(space);
      for (const e of evidence) {
        if (e.feasible) discrepancy.observe(e.params, logs(e.predicted), logs(e.measured));
        feasibility.observe(e.params, e.feasible);
      }
      discrepancy.fit();
      feasibility.fit();
      // Fitted parameters only; the pairs and outcomes they were fitted to are the evidence.
      return [
        { kind: 'discrepancy', samples: evidence.filter((e) => e.feasible).length, state: { hyper: discrepancy.toJSON().hyper } },
        { kind: 'feasibility', samples: evidence.length, state: { weights: feasibility.toJSON().weights } },
      ];
    },
    apply(candidates, predicted, rewardOf, worst) {
      // To log space (delta method: σ_ln ≈ σ/m), correct, and back (m·e^δ, σ scaled alike).
      const inLog = predicted.map((p) => Object.fromEntries(Object.entries(p).filter(([k, e]) => props.includes(k) && e.mean > 0 && Number.isFinite(e.mean)).map(([k, e]) => [k, { mean: Math.log(e.mean), std: e.std / e.mean }])));
      const corrected = discrepancy.correct(candidates, inLog);
      const p = feasibility.probability(candidates);
      return predicted.map((raw, i) => {
        const out: Record<string, PropertyEstimate> = { ...raw };
        // The realisations (issue #13) are scaled by the same factor, so the reward's σ keeps
        // their co-variation; the discrepancy's own σ is the rest of `std` (uncertainty.ts rewardStd).
        // `n` (how many realisations the mean averages) is unchanged, and `spread` (their sample
        // std) is the std of the scaled realisations: factor · spread, factor > 0 (e^δ·m / m).
        // Both were dropped before, leaving pred_<p>_spread/_n empty in every corrected campaign
        // (config review, item 2; docs/uncertainty.md "Where it is recorded").
        for (const [k, e] of Object.entries(corrected[i])) {
          const factor = Math.exp(e.mean) / raw[k].mean;
          out[k] = {
            mean: Math.exp(e.mean),
            std: Math.exp(e.mean) * e.std,
            ...(raw[k].spread !== undefined ? { spread: raw[k].spread! * factor } : {}),
            ...(raw[k].n !== undefined ? { n: raw[k].n } : {}),
            ...(raw[k].samples ? { samples: raw[k].samples!.map((v) => v * factor) } : {}),
          };
        }
        const r = rewardOf(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.mean])), candidates[i]);
        return { properties: out, reward: Number.isFinite(worst) && Number.isFinite(r) ? penalise(r, p[i], worst) : r };
      });
    },
  };
}
