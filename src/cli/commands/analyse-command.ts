import type { CommandModule } from 'yargs';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';
import type { AnalyseArgs } from './analyse.js';

/**
 * The yargs definition of `poreloop analyse` (issue 4). The analysis is in analyse.ts, imported
 * when the command runs: the physics it loads stay out of every other command's start
 * (experiments/results/cli-start.md).
 */
const DEFAULT_PROPS = 'porosity,ssa,tortuosity';

export const analyseCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, AnalyseArgs> => ({
  command: 'analyse <volume>',
  aliases: ['analyze'],
  describe: 'compute P-model properties of a segmented volume (.npy, .tif, .raw, .vti)',
  builder: (y) =>
    y
      .positional('volume', { type: 'string', demandOption: true, describe: 'volume file: .npy, .tif/.tiff, .raw (+ .json sidecar), .vti' })
      .option('phase', { type: 'number', default: 0, describe: 'label of the transporting (pore) phase' })
      .option('axis', { type: 'string', default: 'all', describe: 'axis of per-axis properties: x, y, z or all; repeat or comma-separate for several (--axis x --axis y)' })
      .option('props', { type: 'string', default: DEFAULT_PROPS, describe: 'comma-separated property names or groups (tortuosity, conductivity, permeability, psd, connectivity, chords, s2, tpb, pemfc, liion); may be repeated' })
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file)' })
      .option('set', { type: 'string', array: true, describe: 'model context name=value, e.g. temperature=353 or sigma_1=100 (S/m of label 1)' })
      .option('workers', { type: 'number', describe: 'worker threads for multi-axis runs (default: one per axis up to the core count for volumes ≥ 96³, else 0 = in-process)' })
      .option('device', {
        type: 'string',
        choices: ['cpu', 'auto', 'gpu'],
        default: 'cpu',
        describe: "where τ/D_eff solves run: cpu (multigrid); auto = the GPU (TensorFlow.js on @tensorflow/tfjs-node-gpu) when one is there, else cpu; gpu = the GPU or exit 2 (issue #20, docs/physics.md)",
      }) as never,
  handler: commandHandler(ctx, async (args, out) => (await import('./analyse.js')).analyse(args, out)),
});
