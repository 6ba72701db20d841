/**
 * Issue #20: a campaign stops its durability tests early and uses the early-life estimate
 * (docs/configuration.md `durability`, docs/rig-protocol.md §12). Built from the config's
 * `durability` section into the runtime's StageEstimator:
 *
 * - every job of the durability stage carries `inputs.stopAtCycle` = the last cycle of the
 *   early window the model reads (earlyStop, the default): the rig stops the test there by
 *   itself and reports the window's series. The stop is in the job, so the ledger's
 *   JobDispatched holds it and a resumed campaign re-sends the same job.
 * - a result that did not reach end of life (stopped early, or cut at its planned length) gets
 *   its EOL predicted by the early-life model (src/predict/early-life.ts over
 *   src/surrogate/eol.ts), with σ and the model's provenance; the runtime records it as
 *   EstimateRecorded (fidelity `early-life`), never as a measurement. A result that reached
 *   EOL is measured and needs no estimate.
 *
 * The model is loaded from a directory saved by EolSurrogate.save (train one on earlier
 * durability tests: experiments/bench-durability.ts shows how on simulated cells); the
 * campaign does not train it, because the cells it would learn from are the ones it stops.
 */
import { DEFAULT_DURABILITY, earlyWindow } from '../../robots/sim/durability.js';
import type { ResolvedCampaign } from '../config/load.js';
import { BadInputError } from '../core/errors.js';
import type { CampaignConfig } from '../config/schema.js';
import type { StageEstimator } from '../orchestrator/runtime.js';
import { durabilityEstimates } from '../predict/early-life.js';
import { EolSurrogate, readEolMetadata } from '../surrogate/eol.js';

export type DurabilityConfig = NonNullable<CampaignConfig['durability']>;

/**
 * At load (#20 review): `durability.model` must be a saved early-life model, and a simulated lab
 * must report every cycle of the model's early window — its results carry the series up to 10 %
 * of the planned test, every `reportEvery` cycles (robots/sim/durability.ts). Otherwise every
 * test's estimate would fail at run time. Real rigs' settings are not known here; a result they
 * send without the window ends its trial with the reason (runtime completeTrial).
 */
export function checkDurability(resolved: ResolvedCampaign): void {
  if (!resolved.config.durability) return;
  let cycles: number[];
  try {
    ({ cycles } = readEolMetadata(resolved.durabilityModel!));
  } catch (e) {
    throw new BadInputError(`cannot read an early-life model (a folder saved by EolSurrogate.save): ${(e as Error).message}`, 'durability.model');
  }
  const sim = resolved.config.rigs.simulate;
  if (!sim) return;
  const spec = { ...DEFAULT_DURABILITY, ...sim.durability };
  const reported = earlyWindow(spec);
  const unread = cycles.filter((c) => c > reported || c % spec.reportEvery !== 0);
  if (unread.length > 0) {
    throw new BadInputError(
      `the early-life model reads cycles ${cycles[0]}…${cycles.at(-1)}, but the simulated lab (cycles ${spec.cycles}, reportEvery ${spec.reportEvery}) reports its series every ${spec.reportEvery} cycles up to cycle ${reported} (10 % of the test), so it never sends cycle ${unread[0]}; plan longer tests (rigs.simulate.durability.cycles ≥ ${10 * cycles.at(-1)!}) or use a model trained on this lab's window`,
      'rigs.simulate.durability',
    );
  }
}

export async function durabilityEstimator(config: DurabilityConfig, modelDir: string, log?: (line: string) => void): Promise<StageEstimator> {
  const model = new EolSurrogate({ log });
  try {
    await model.load(modelDir);
  } catch (e) {
    // Errors of the metadata read name the folder already; the net's loader does not.
    const msg = (e as Error).message;
    throw new BadInputError(`cannot load an early-life model (a folder saved by EolSurrogate.save): ${msg.startsWith(modelDir) ? msg : `${modelDir}: ${msg}`}`, 'durability.model');
  }
  const window = model.cycles.at(-1)!;
  const id = `${model.name}@${model.dataHash.slice(0, 12)}`;
  log?.(`durability: early-life model ${id} reads cycles ${model.cycles[0]}…${window}${config.earlyStop ? `; tests stop after cycle ${window}` : '; tests run to EOL or their planned length'}`);
  return {
    stage: config.stage,
    inputs: config.earlyStop ? { stopAtCycle: window } : {},
    async estimate(measurements) {
      const [e] = await durabilityEstimates([measurements], model);
      if (e.fidelity === 'rig' || e.basis === 'measured') return null;
      // `eol`: the name a durability rig reports when the test reaches end of life (rig-protocol.md §12).
      return { estimates: { eol: e.eol }, basis: e.basis, model: { id, dataHash: model.dataHash, path: modelDir } };
    },
  };
}
