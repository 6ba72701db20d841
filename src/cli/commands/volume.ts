import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { Shape3, Voxels } from '../../core/protocols.js';
import type { ReadVolumeOptions } from '../../voxel/io.js';
import { sampleRange, toLabels } from '../../voxel/samples.js';
import { segment, type Denoise } from '../../voxel/segment.js';
import { cropVolume, downsampleVolume } from '../../voxel/transform.js';
import { createVoxels, phaseFractions } from '../../voxel/voxels.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs, type Output } from '../common.js';

/**
 * `poreloop volume info|crop|downsample|convert|segment` (issue #19): a real scan on its way
 * into poreloop — look at it, cut it to a region, coarsen it, change its format, and turn a
 * grey-scale stack into phase labels. Every reader warning (no voxel size in the file …)
 * goes to stderr; `--voxel` sets the voxel size where the file has none or a wrong one.
 */

/** The readers and writers of volume files (utif2, pngjs): loaded when a volume command runs. */
const loadIo = () => import('../../voxel/io.js');

interface VolArgs extends GlobalArgs {
  input: string;
  voxel?: number;
}

function readOptions(args: VolArgs, out: Output): ReadVolumeOptions {
  if (args.voxel !== undefined && !(typeof args.voxel === 'number' && args.voxel > 0)) throw new BadInputError(`voxel size must be a number > 0 µm, got ${String(args.voxel)}`, '--voxel');
  return { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) };
}

function triple(value: unknown, flag: string): number[] {
  const parts = String(value ?? '').split(/[,x×]/).map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n))) throw new BadInputError(`expected three integers x,y,z, got "${String(value)}"`, flag);
  return parts;
}

function summary(v: Voxels) {
  const fr = phaseFractions(v);
  return { shape: v.shape, voxelSize: v.voxelSize, phases: v.phases, fractions: fr };
}

function printFractions(out: Output, v: Voxels): void {
  for (const [l, f] of Object.entries(phaseFractions(v))) out.info(`  label ${l.padStart(3)} ${(v.phases[Number(l)] ?? '').padEnd(14)} ${(100 * f).toFixed(2).padStart(6)} %`);
}

/** Read a label volume, change it, write it, report it: the body of crop, downsample and convert. */
function rewrite<A extends VolArgs & { output: string }>(ctx: CommandContext, change: (v: Voxels, args: A) => { volume: Voxels; note: string; extra?: Record<string, unknown> }) {
  return commandHandler<A>(ctx, async (args, out) => {
    const { checkOutputPath, readVolume, writeVolume } = await loadIo();
    checkOutputPath(args.output);
    const { volume: v, note, extra } = change(readVolume(args.input, readOptions(args, out)), args);
    writeVolume(args.output, v);
    out.info(`${args.output}: ${v.shape.join('×')} voxels of ${v.voxelSize} µm${note}`);
    printFractions(out, v);
    out.result({ file: args.output, ...extra, ...summary(v) });
  });
}

const withVoxel = <T>(y: T): T =>
  (y as never as { option: (n: string, o: object) => T }).option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file)' });

/** `<input> <output>` positionals and --voxel: what every volume-to-volume command takes. */
const inOut = <T extends { positional: (n: string, o: object) => T }>(y: T): T =>
  withVoxel(y.positional('input', { type: 'string', demandOption: true }).positional('output', { type: 'string', demandOption: true }));

const infoCommand = (ctx: CommandContext): CommandModule<GlobalArgs, VolArgs> => ({
  command: 'info <input>',
  describe: 'shape, sample type, voxel size and phase fractions of a volume file',
  builder: (y) => withVoxel(y.positional('input', { type: 'string', demandOption: true })) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const { defaultPhases, readSamples } = await loadIo();
    const g = readSamples(args.input, readOptions(args, out));
    const range = sampleRange(g.values);
    const isLabels = range.integral && range.nonFinite === 0 && range.min >= 0 && range.max <= 255;
    const doc: Record<string, unknown> = {
      file: args.input,
      shape: g.shape,
      sampleType: g.values.constructor.name.replace('Array', ''),
      voxelSize: g.voxelSize,
      range: { min: range.min, max: range.max },
      kind: isLabels ? 'labels' : 'grey',
    };
    out.info(`${args.input}: ${g.shape.join('×')} voxels (x×y×z), ${doc.sampleType as string}, voxel ${g.voxelSize} µm, values ${range.min}…${range.max}`);
    if (isLabels) {
      const data = toLabels(g.values, args.input);
      const v = createVoxels(g.shape, g.voxelSize, g.phases ?? defaultPhases(data), data);
      Object.assign(doc, { phases: v.phases, fractions: phaseFractions(v) });
      printFractions(out, v);
    } else out.info('  grey-scale: segment it with `poreloop volume segment`');
    out.result(doc);
  }),
});

interface CropArgs extends VolArgs {
  output: string;
  origin: string;
  size: string;
}
const cropCommand = (ctx: CommandContext): CommandModule<GlobalArgs, CropArgs> => ({
  command: 'crop <input> <output>',
  describe: 'cut a region of interest: --origin x,y,z --size nx,ny,nz',
  builder: (y) =>
    inOut(y)
      .option('origin', { type: 'string', default: '0,0,0', describe: 'first voxel x,y,z' })
      .option('size', { type: 'string', demandOption: true, describe: 'voxels per axis nx,ny,nz' }) as never,
  handler: rewrite<CropArgs>(ctx, (v, args) => {
    const origin = triple(args.origin, '--origin');
    return { volume: cropVolume(v, origin, triple(args.size, '--size')), note: ` from ${origin.join(',')}`, extra: { origin } };
  }),
});

interface DownArgs extends VolArgs {
  output: string;
  factor: number;
}
const downsampleCommand = (ctx: CommandContext): CommandModule<GlobalArgs, DownArgs> => ({
  command: 'downsample <input> <output>',
  describe: 'coarsen by an integer factor (majority label of each block; voxel size × factor)',
  builder: (y) =>
    inOut(y).option('factor', { type: 'number', default: 2, describe: 'integer factor ≥ 1' }) as never,
  handler: rewrite<DownArgs>(ctx, (v, args) => ({ volume: downsampleVolume(v, args.factor), note: '', extra: { factor: args.factor } })),
});

interface ConvertArgs extends VolArgs {
  output: string;
}
const convertCommand = (ctx: CommandContext): CommandModule<GlobalArgs, ConvertArgs> => ({
  command: 'convert <input> <output>',
  describe: 'change format (.tif/.vti/.npy/.raw), keeping voxel size and phase names',
  builder: (y) => inOut(y) as never,
  handler: rewrite<ConvertArgs>(ctx, (v) => ({ volume: v, note: '' })),
});

interface SegmentArgs extends VolArgs {
  output: string;
  classes: number;
  denoise: string;
  names?: string;
}
const segmentCommand = (ctx: CommandContext): CommandModule<GlobalArgs, SegmentArgs> => ({
  command: 'segment <input> <output>',
  describe: 'grey-scale → phase labels: Otsu / multi-level Otsu, optional median or non-local-means denoising',
  builder: (y) =>
    inOut(y)
      .option('classes', { type: 'number', default: 2, describe: 'phases (2 = Otsu, ≥ 3 = multi-level Otsu); labels by intensity, darkest = 0' })
      .option('denoise', { type: 'string', default: 'none', describe: 'none, median (3×3×3) or nlm (non-local means)' })
      .option('names', { type: 'string', describe: 'phase names by label, comma-separated (default pore,phase1,…)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    // Checked before the read and the (expensive) denoising, not after (issue #19 review).
    const names = args.names ? String(args.names).split(',').map((n) => n.trim()) : [];
    if (names.length > 0 && names.length !== args.classes) throw new BadInputError(`${names.length} names for ${args.classes} classes`, '--names');
    const { checkOutputPath, readSamples, writeVolume } = await loadIo();
    checkOutputPath(args.output);
    const g = readSamples(args.input, readOptions(args, out));
    const t0 = performance.now();
    const s = segment(g.values, g.shape as Shape3, { classes: args.classes, denoise: args.denoise as Denoise });
    const phases = Object.fromEntries(Array.from({ length: args.classes }, (_, c) => [c, names[c] ?? (c === 0 ? 'pore' : `phase${c}`)]));
    const v = createVoxels(g.shape, g.voxelSize, phases, s.labels);
    writeVolume(args.output, v);
    out.info(`${args.output}: ${args.classes} phases, thresholds ${s.thresholds.map((t) => t.toPrecision(5)).join(', ')}, noise σ ≈ ${s.noiseSigma.toPrecision(3)} (${args.denoise})`);
    printFractions(out, v);
    out.result({ file: args.output, thresholds: s.thresholds, noiseSigma: s.noiseSigma, denoise: args.denoise, wallMs: Math.round(performance.now() - t0), ...summary(v) });
  }),
});

export const volumeCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'volume <command>',
  describe: 'real volumes in: info, crop, downsample, convert, segment',
  builder: (y) =>
    y
      .command(infoCommand(ctx) as never)
      .command(cropCommand(ctx) as never)
      .command(downsampleCommand(ctx) as never)
      .command(convertCommand(ctx) as never)
      .command(segmentCommand(ctx) as never)
      .demandCommand(1, 'name a volume command: info, crop, downsample, convert or segment') as never,
  handler: () => {},
});
