import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { labelsPresent } from '../../voxel/voxels.js';
import type { CommandContext } from '../context.js';
import { commandHandler, parseCubeSize, type GlobalArgs } from '../common.js';
import { ganCommand } from './reconstruct-gan.js';
import { mpsCommand } from './reconstruct-mps.js';
import { checkTransport, printMatchReport, reportFlags } from './reconstruct-report.js';

/**
 * `poreloop reconstruct sam <target> <output>` (issue #19): a 3D volume whose two-point and
 * lineal-path functions match a segmented target — a 2D micrograph (one slice; the third
 * direction is taken as statistically like the other two) or 2D sections of a 3D volume
 * (`--slices`). Reports phase fractions, S2 / L error per axis and τ per axis (src/physics),
 * against the target volume itself when it is 3D.
 */
interface SamArgs extends GlobalArgs {
  target: string;
  output: string;
  size: string;
  sweeps: number;
  rmax: number;
  seed: number;
  slices: string;
  transport: string | string[];
  tau: boolean;
  voxel?: number;
}

const samCommand = (ctx: CommandContext): CommandModule<GlobalArgs, SamArgs> => ({
  command: 'sam <target> <output>',
  describe: 'simulated annealing (Yeong–Torquato) to the S2 and lineal-path functions of a 2D image or of 2D sections of a volume',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'segmented image (2D: one slice) or volume' })
      .positional('output', { type: 'string', demandOption: true })
      .option('size', { type: 'string', default: '64', describe: 'generated volume: n or nx,ny,nz voxels (every side > 2·rmax)' })
      .option('sweeps', { type: 'number', default: 40, describe: 'attempted swaps per voxel' })
      .option('rmax', { type: 'number', default: 16, describe: 'longest lag matched, voxels' })
      .option('seed', { type: 'number', default: 1 })
      .option('slices', { type: 'string', default: 'all', describe: 'for a 3D target: sections per orientation the targets come from (all or a count; 1 = the central ones)' })
      .option('transport', { type: 'string', default: '0', describe: 'labels that carry transport for τ, comma-separated (e.g. 0,2 for pore + carbon-binder)' })
      .option('tau', { type: 'boolean', default: true, describe: 'compute τ per axis (--no-tau to skip)' })
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const shape = parseCubeSize(args.size);
    const slices = args.slices === 'all' ? Infinity : Number(args.slices);
    if (!(slices >= 1)) throw new BadInputError(`expected all or a count ≥ 1, got "${args.slices}"`, '--slices');
    const { transport } = reportFlags(args);
    const [{ descriptorsFromSlices, measureDescriptors }, { matchReport }, { reconstructSam }, { checkOutputPath, readVolume, writeVolume }] = await Promise.all([
      import('../../reconstruct/correlation.js'),
      import('../../reconstruct/report.js'),
      import('../../reconstruct/sam.js'),
      import('../../voxel/io.js'),
    ]);
    checkOutputPath(args.output);
    const target = readVolume(args.target, { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) });
    const phases = labelsPresent(target);
    if (phases.length < 2) throw new BadInputError(`the target holds only label ${phases[0]}: nothing to reconstruct`, args.target);
    if (args.tau) checkTransport(transport, phases, args.target);
    const is2d = target.shape.some((n) => n === 1);
    const desc = is2d ? measureDescriptors(target, phases, args.rmax) : descriptorsFromSlices(target, phases, args.rmax, slices);
    out.info(`${args.target}: ${target.shape.join('×')} ${is2d ? '2D image' : `volume, targets from ${args.slices} sections per orientation`}; phases ${phases.join(', ')}; lags 1…${args.rmax}`);
    const r = reconstructSam({
      shape,
      target: desc,
      rng: createRng(args.seed),
      sweeps: args.sweeps,
      voxelSize: target.voxelSize,
      phaseNames: target.phases,
      onStage: (s) => {
        if (s.stage % 20 === 0 || s.stage === s.stages - 1) out.log(`sam: stage ${s.stage + 1}/${s.stages}  T ${s.temperature.toExponential(2)}  E ${s.energy.toExponential(3)}  acceptance ${s.acceptance.toFixed(3)}`);
      },
    });
    writeVolume(args.output, r.voxels);
    const report = await matchReport(r.voxels, { target: desc, volume: is2d ? undefined : target }, { transport: args.tau ? transport : undefined });
    out.info(`${args.output}: ${r.voxels.shape.join('×')} in ${(r.wallMs / 1000).toFixed(1)} s, energy ${r.energy0.toExponential(2)} → ${r.energy.toExponential(2)}`);
    printMatchReport(out, report, phases, transport, 'target');
    out.result({ file: args.output, shape: r.voxels.shape, voxelSize: r.voxels.voxelSize, seed: args.seed, wallMs: r.wallMs, energy: r.energy, energy0: r.energy0, acceptance: r.accepted / r.swaps, report });
  }),
});

export const reconstructCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'reconstruct <method>',
  describe: 'reconstruction of a microstructure from an image: sam, mps (statistical), gan (learned)',
  builder: (y) => y.command(samCommand(ctx) as never).command(mpsCommand(ctx) as never).command(ganCommand(ctx) as never).demandCommand(1, 'name a reconstruction method: sam, mps or gan') as never,
  handler: () => {},
});
