import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { Voxels } from '../../core/protocols.js';
import type { GanCondition } from '../../reconstruct/gan.js';
import { labelsPresent, phaseFractions } from '../../voxel/voxels.js';
import type { CommandContext } from '../context.js';
import { commandHandler, parseCubeSize, type GlobalArgs, type Output } from '../common.js';
import { checkTransport, printMatchReport, reportFlags } from './reconstruct-report.js';

/**
 * `poreloop reconstruct gan train|generate` (issue #19): a SliceGAN-style generator
 * (src/reconstruct/gan.ts; Kench & Cooper, Nature Machine Intelligence 3 (2021) 299) trained on
 * 2D slices of a segmented volume (or windows of one 2D micrograph), conditioned on the
 * porosity of the training cubes, saved as a model folder that `generate` and the campaign
 * twin `gan` (twin: { name: gan, model: <folder> }) use. Both report the match as `sam` and
 * `mps` do: phase fractions, S2 / lineal-path error per axis and τ per axis.
 */

/** The generator (TF.js) and the volume readers and writers: loaded when gan train or generate runs. */
const loadGanModules = () => Promise.all([import('../../reconstruct/gan.js'), import('../../voxel/io.js')]);

interface ReportArgs {
  rmax: number;
  transport: string | string[];
  tau: boolean;
}

interface TrainArgs extends GlobalArgs, ReportArgs {
  volume: string;
  outdir: string;
  epochs: number;
  iters: number;
  critic: number;
  size: number;
  batch: number;
  seed: number;
  condition: string;
  conditionLabel: number;
  reportSize: number;
  voxel?: number;
}

interface GenerateArgs extends GlobalArgs, ReportArgs {
  model: string;
  output: string;
  size: string;
  condition?: number;
  seed: number;
  compare?: string;
}

const reportOptions = {
  rmax: { type: 'number', default: 16, describe: 'longest lag of the S2 / lineal-path report, voxels' },
  transport: { type: 'string', default: '0', describe: 'labels that carry transport for τ, comma-separated (e.g. 0,2 for pore + carbon-binder)' },
  tau: { type: 'boolean', default: true, describe: 'compute τ per axis (--no-tau to skip)' },
} as const;

function positiveInt(v: number, flag: string, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new BadInputError(`expected an integer ≥ ${min}, got ${v}`, flag);
  return v;
}

/**
 * The τ labels against the volume the report is made against: called before generating (and
 * training), not inside report() — review 2026-12-07: `generate --compare` refused them only
 * after generating and writing the volume.
 */
function checkReportTransport(reference: Voxels, args: ReportArgs, source: string): void {
  if (args.tau && !reference.shape.some((n) => n === 1)) checkTransport(reportFlags(args).transport, labelsPresent(reference), source);
}

/** The match report of `generated` against `reference`, whose τ labels checkReportTransport has checked. */
async function report(out: Output, generated: Voxels, reference: Voxels, args: ReportArgs, label: string) {
  const { rmax, transport } = reportFlags(args);
  const phases = labelsPresent(reference);
  const is2d = reference.shape.some((n) => n === 1);
  const [{ measureDescriptors }, { matchReport }] = await Promise.all([import('../../reconstruct/correlation.js'), import('../../reconstruct/report.js')]);
  const target = measureDescriptors(reference, phases, rmax);
  const r = await matchReport(generated, { target, volume: reference }, { transport: args.tau && !is2d ? transport : undefined });
  printMatchReport(out, r, phases, transport, label);
  return r;
}

const trainCommand = (ctx: CommandContext): CommandModule<GlobalArgs, TrainArgs> => ({
  command: 'train <volume> <outdir>',
  describe: 'train a generator on 2D slices of a segmented volume (or windows of a 2D image) and save it to a folder',
  builder: (y) =>
    y
      .positional('volume', { type: 'string', demandOption: true, describe: 'segmented training volume (3D; slices along x, y, z, one critic per axis) or 2D micrograph (one side 1: isotropic)' })
      .positional('outdir', { type: 'string', demandOption: true, describe: 'model folder to write (model.json, weights.bin, metadata.json)' })
      .option('epochs', { type: 'number', default: 20, describe: 'epochs of --iters generator steps' })
      .option('iters', { type: 'number', default: 25, describe: 'generator steps per epoch' })
      .option('critic', { type: 'number', default: 5, describe: 'critic steps per generator step (SliceGAN: 5)' })
      .option('size', { type: 'number', default: 32, describe: 'side of the training cubes and slices, voxels (a multiple of 8)' })
      .option('batch', { type: 'number', default: 2, describe: 'generated volumes per step' })
      .option('seed', { type: 'number', default: 1 })
      .option('condition', { type: 'string', default: 'porosity', describe: 'conditioning parameter: porosity (the fraction of --condition-label in each training cube) or none' })
      .option('condition-label', { type: 'number', default: 0, describe: 'the label whose fraction is the condition (0: pore)' })
      .option('report-size', { type: 'number', default: 64, describe: 'after training, generate a volume of this side at the training porosity and report the match (0: skip)' })
      .options(reportOptions)
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const epochs = positiveInt(args.epochs, '--epochs');
    const itersPerEpoch = positiveInt(args.iters, '--iters');
    const criticIters = positiveInt(args.critic, '--critic');
    const batch = positiveInt(args.batch, '--batch');
    if (!Number.isInteger(args.size) || args.size < 16 || args.size % 8) throw new BadInputError(`expected a multiple of 8 ≥ 16, got ${args.size}`, '--size');
    positiveInt(args.reportSize, '--report-size', 0);
    reportFlags(args);
    let condition: GanCondition;
    if (args.condition === 'none') condition = { mode: 'none' };
    else if (args.condition === 'porosity') condition = { mode: 'fraction', name: args.conditionLabel === 0 ? 'porosity' : `fraction_${args.conditionLabel}`, label: positiveInt(args.conditionLabel, '--condition-label', 0) };
    else throw new BadInputError(`expected porosity or none, got "${args.condition}" (a value given per training volume is an API option: GanTrainOptions.condition)`, '--condition');
    const [{ generateGan, loadGan, useGanBackend }, { readVolume }] = await loadGanModules();
    const { trainGanInWorker } = await import('../../reconstruct/gan-train.js');
    const volume = readVolume(args.volume, { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) });
    const is2d = volume.shape.some((n) => n === 1);
    // A line or a single voxel has no 2D windows to learn from (issue #19 review: it crashed in the sampler).
    if (volume.shape.filter((n) => n === 1).length >= 2) throw new BadInputError(`${volume.shape.join('×')} has two or more sides of 1: train on a 3D volume or a 2D image (one side 1)`, 'volume');
    // A condition on the fraction of a label the volume lacks is 0 in every cube: a range
    // [0, 0] the generator cannot learn from (issue #19 review: it trained silently).
    if (condition.mode === 'fraction' && !labelsPresent(volume).includes(condition.label)) {
      throw new BadInputError(`label ${condition.label} does not occur in ${args.volume} (labels ${labelsPresent(volume).join(', ')}): name one of them, or --condition none`, '--condition-label');
    }
    if (is2d && condition.mode !== 'none') throw new BadInputError('a 2D training image has no training cubes to measure the porosity of: add --condition none', '--condition');
    // The report after training measures τ on the training volume: its labels checked before the training, not after.
    if (args.reportSize > 0) checkReportTransport(volume, args, args.volume);
    out.info(`${args.volume}: ${volume.shape.join('×')} ${is2d ? '2D image (isotropic: one critic for all axes)' : 'volume (one critic per axis)'}; phases ${labelsPresent(volume).join(', ')}; ${epochs} × ${itersPerEpoch} generator steps, ${criticIters} critic steps each`);
    const r = await trainGanInWorker([volume], args.outdir, {
      side: args.size,
      epochs,
      itersPerEpoch,
      criticIters,
      batch,
      seed: args.seed,
      condition,
      source: args.volume,
      log: (m) => out.log(m),
      onProgress: (p) => out.log(`gan: epoch ${p.epoch}/${p.epochs}  W ${p.wasserstein.toFixed(3)}  critic ${p.lossD.toFixed(3)}  generator ${p.lossG.toFixed(3)}  fractions ${p.fractions.map((f) => f.toFixed(3)).join(' / ')}  ${(p.elapsedMs / 1000).toFixed(0)} s`),
    });
    const m = r.metadata;
    out.info(`${args.outdir}: trained in ${(m.training.wallMs / 1000).toFixed(1)} s on ${m.training.backend}${m.condition ? `; ${m.condition.name} range ${m.condition.min.toFixed(4)} … ${m.condition.max.toFixed(4)}` : ''}`);
    let matched;
    if (args.reportSize > 0) {
      await useGanBackend();
      const model = loadGan(args.outdir);
      const porosity = m.condition ? Math.min(m.condition.max, Math.max(m.condition.min, phaseFractions(volume)[m.condition.label ?? 0] ?? 0)) : undefined;
      const n = args.reportSize;
      // A 3D volume of n³ in either case: a model trained on a 2D image generates 3D too.
      const generated = generateGan(model, { shape: [n, n, n], seed: args.seed, condition: porosity });
      out.info(`a ${n}³ volume generated${porosity !== undefined ? ` at ${m.condition!.name} ${porosity.toFixed(4)}` : ''}, against the training ${is2d ? 'image' : 'volume'}:`);
      matched = await report(out, generated, volume, args, 'training');
    }
    out.result({ model: args.outdir, metadata: m, history: r.history, report: matched });
  }),
});

const generateCommand = (ctx: CommandContext): CommandModule<GlobalArgs, GenerateArgs> => ({
  command: 'generate <model> <output>',
  describe: 'generate a volume of any size from a trained model folder',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'model folder from `reconstruct gan train`' })
      .positional('output', { type: 'string', demandOption: true })
      .option('size', { type: 'string', default: '64', describe: 'n or nx,ny,nz voxels' })
      .option('condition', { type: 'number', describe: "value of the model's conditioning parameter (default: the middle of its training range)" })
      .option('seed', { type: 'number', default: 1 })
      .option('compare', { type: 'string', describe: 'a segmented volume to report the match against (e.g. the training volume)' })
      .options(reportOptions) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const shape = parseCubeSize(args.size);
    if (!existsSync(args.model)) throw new BadInputError('no such model folder', args.model);
    reportFlags(args);
    const [{ generateGan, loadGan, useGanBackend }, { checkOutputPath, readVolume, writeVolume }] = await loadGanModules();
    checkOutputPath(args.output);
    // The reference and its τ labels before generating and writing (review 2026-12-07).
    const reference = args.compare ? readVolume(args.compare, { onWarning: (w) => out.log(`poreloop: warning: ${w}`) }) : undefined;
    if (reference) checkReportTransport(reference, args, args.compare!);
    const model = loadGan(args.model);
    await useGanBackend();
    const t0 = performance.now();
    const v = generateGan(model, { shape, seed: args.seed, condition: args.condition });
    const ms = performance.now() - t0;
    writeVolume(args.output, v);
    const fr = phaseFractions(v);
    out.info(`${args.output}: ${v.shape.join('×')} in ${(ms / 1000).toFixed(1)} s; fractions ${model.metadata.labels.map((l) => `${l}: ${(fr[l] ?? 0).toFixed(4)}`).join(', ')}`);
    const matched = reference ? await report(out, v, reference, args, 'reference') : undefined;
    out.result({ file: args.output, shape: v.shape, voxelSize: v.voxelSize, seed: args.seed, condition: args.condition ?? null, wallMs: ms, fractions: fr, report: matched });
  }),
});

export const ganCommand = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'gan <action>',
  describe: 'SliceGAN-style learned generation (Kench & Cooper 2021): train, generate',
  builder: (y) => y.command(trainCommand(ctx) as never).command(generateCommand(ctx) as never).demandCommand(1, 'name an action: train or generate') as never,
  handler: () => {},
});
