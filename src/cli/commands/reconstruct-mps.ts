import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { labelsPresent } from '../../voxel/voxels.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';
import { checkTransport, printMatchReport, reportFlags } from './reconstruct-report.js';

/**
 * `poreloop reconstruct mps <training> <output>` (issue #19): multiple-point statistics by
 * direct sampling (src/reconstruct/mps.ts) from a segmented training image — a 3D volume
 * (3D realisations) or a 2D image (2D realisations). Reports the same match as `sam`: phase
 * fractions, S2 and lineal-path error per axis and, for 3D, τ per axis against the training image.
 */
interface MpsArgs extends GlobalArgs {
  training: string;
  output: string;
  size: string;
  neighbours: number;
  threshold: number;
  scan: number;
  radius: number;
  rmax: number;
  seed: number;
  transport: string | string[];
  tau: boolean;
  voxel?: number;
}

export const mpsCommand = (ctx: CommandContext): CommandModule<GlobalArgs, MpsArgs> => ({
  command: 'mps <training> <output>',
  describe: 'multiple-point statistics (direct sampling, Mariethoz 2010) from a 2D or 3D training image',
  builder: (y) =>
    y
      .positional('training', { type: 'string', demandOption: true, describe: 'segmented training image: a volume, or one slice (2D realisations)' })
      .positional('output', { type: 'string', demandOption: true })
      .option('size', { type: 'string', default: '64', describe: 'realisation: n or nx,ny,nz voxels (a 2D image: the flat side 1)' })
      .option('neighbours', { type: 'number', default: 24, describe: 'conditioning nodes per data event' })
      .option('threshold', { type: 'number', default: 0.05, describe: 'largest accepted fraction of mismatching neighbours' })
      .option('scan', { type: 'number', default: 0.1, describe: 'largest fraction of the training image scanned per node' })
      .option('radius', { type: 'number', default: 10, describe: 'search radius, voxels' })
      .option('rmax', { type: 'number', default: 16, describe: 'longest lag of the S2 / lineal-path report, voxels' })
      .option('seed', { type: 'number', default: 1 })
      .option('transport', { type: 'string', default: '0', describe: 'labels that carry transport for τ, comma-separated' })
      .option('tau', { type: 'boolean', default: true, describe: 'compute τ per axis of 3D results (--no-tau to skip)' })
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const [{ measureDescriptors }, { reconstructMps }, { matchReport }, { checkOutputPath, readVolume, writeVolume }] = await Promise.all([
      import('../../reconstruct/correlation.js'),
      import('../../reconstruct/mps.js'),
      import('../../reconstruct/report.js'),
      import('../../voxel/io.js'),
    ]);
    checkOutputPath(args.output);
    const training = readVolume(args.training, { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) });
    const is2d = training.shape.some((n) => n === 1);
    const sizes = String(args.size).split(/[,x×]/).map((s) => Number(s.trim()));
    const shape = sizes.length === 1 ? training.shape.map((t) => (t === 1 ? 1 : sizes[0])) : sizes;
    if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) throw new BadInputError(`expected n or nx,ny,nz, got "${args.size}"`, '--size');
    const { transport } = reportFlags(args);
    const phases = labelsPresent(training);
    if (args.tau && !is2d) checkTransport(transport, phases, args.training);
    out.info(`${args.training}: ${training.shape.join('×')} training image (${is2d ? '2D' : '3D'}), phases ${phases.join(', ')}`);
    const r = reconstructMps({
      training,
      shape: shape as [number, number, number],
      rng: createRng(args.seed),
      neighbours: args.neighbours,
      threshold: args.threshold,
      scanFraction: args.scan,
      radius: args.radius,
      onProgress: (f) => {
        if (!out.json && Math.round(100 * f) % 25 === 0) out.log(`mps: ${(100 * f).toFixed(0)} %`);
      },
    });
    writeVolume(args.output, r.voxels);
    const target = measureDescriptors(training, phases, args.rmax);
    const report = await matchReport(r.voxels, { target, volume: training }, { transport: args.tau && !is2d ? transport : undefined });
    out.info(`${args.output}: ${r.voxels.shape.join('×')} in ${(r.wallMs / 1000).toFixed(1)} s; ${(100 * r.acceptedShare).toFixed(1)} % of nodes within the threshold, ${r.meanScanned.toFixed(0)} training nodes scanned per node`);
    printMatchReport(out, report, phases, transport, 'training image');
    out.result({ file: args.output, shape: r.voxels.shape, voxelSize: r.voxels.voxelSize, seed: args.seed, wallMs: r.wallMs, acceptedShare: r.acceptedShare, meanScanned: r.meanScanned, meanDistance: r.meanDistance, report });
  }),
});
