/**
 * What a campaign takes from a durability test (issue #20): the end of life, *measured* when
 * the test reached it, *predicted* from the early window when the test was stopped early (a
 * `stop` admin command or the job's `stopAtCycle`; docs/rig-protocol.md "Intermediate
 * measurements and early stop") or ended at its planned length before the cell died.
 *
 * A prediction is not a measurement: the estimate then has fidelity `early-life` and its σ
 * from the early-life model (src/surrogate/eol.ts); a campaign records it as EstimateRecorded
 * and its agents see it at that fidelity, never as `rig` (src/compose/durability.ts, the
 * runtime's StageEstimator; docs/configuration.md `durability`). A test censored at its planned
 * length keeps what it did measure: the predicted EOL is never below the cycles the cell
 * survived.
 */
import { BadInputError } from '../core/errors.js';
import type { Fidelity, Prediction, PropertyEstimate } from '../core/protocols.js';

/** The early-life model as this module needs it (EolSurrogate.predictFrom). */
export interface EarlyLifeModel {
  predictFrom(measurements: ReadonlyArray<Readonly<Record<string, number>>>): Promise<Prediction>;
}

export interface DurabilityEstimate {
  /** End of life in cycles: mean and σ (σ 0 for a measured EOL). */
  eol: PropertyEstimate;
  fidelity: Extract<Fidelity, 'rig' | 'early-life'>;
  /** How the estimate came about. */
  basis: 'measured' | 'stopped-early' | 'censored';
  /** Cycles the test ran. */
  cycles: number;
}

/**
 * The EOL of each durability result (the `measurements` of a durability stage's `result`
 * event, robots/sim/durability.ts runDurabilityTest). Results that reached EOL need no model;
 * the others are predicted in one batch.
 */
export async function durabilityEstimates(results: ReadonlyArray<Readonly<Record<string, number>>>, model?: EarlyLifeModel): Promise<DurabilityEstimate[]> {
  const out: Array<DurabilityEstimate | undefined> = results.map((m, i) => {
    if (typeof m.cycles !== 'number' || typeof m.eolReached !== 'number') throw new BadInputError('not a durability result: needs cycles and eolReached', `results[${i}]`);
    if (m.eolReached === 1) {
      if (typeof m.eol !== 'number') throw new BadInputError('eolReached = 1 needs eol', `results[${i}]`);
      return { eol: { mean: m.eol, std: 0 }, fidelity: 'rig', basis: 'measured', cycles: m.cycles };
    }
    return undefined;
  });
  const pending = out.flatMap((e, i) => (e ? [] : [i]));
  if (pending.length > 0) {
    if (!model) throw new BadInputError(`${pending.length} durability result(s) did not reach end of life and no early-life model was given`, 'model');
    const pred = await model.predictFrom(pending.map((i) => results[i]));
    pending.forEach((i, k) => {
      const m = results[i];
      const censored = m.stoppedEarly !== 1;
      // The cell survived `cycles`: an EOL below it is impossible, so the estimate is floored there.
      const mean = Math.max(pred.mean[k][0], m.cycles);
      out[i] = { eol: { mean, std: pred.std[k][0] }, fidelity: 'early-life', basis: censored ? 'censored' : 'stopped-early', cycles: m.cycles };
    });
  }
  return out as DurabilityEstimate[];
}
