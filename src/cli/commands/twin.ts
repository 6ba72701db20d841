import type { CommandModule } from 'yargs';
import type { twins as TwinRegistry } from '../../compose/twins.js';
import { BadInputError } from '../../core/errors.js';
import type { Parameters, ParameterSpec, Shape3, Twin } from '../../core/protocols.js';
import type { TwinFile } from '../../config/twin-file.js';
import type { CommandContext } from '../context.js';
import { commandHandler, parseSetFlags, type GlobalArgs } from '../common.js';
import { twinCalibrateCommand } from './twin-calibrate.js';

/**
 * `poreloop twin list` and `poreloop twin generate` (issue 3): the generative twins from the
 * command line. A twin config file (configs/twins/*.yaml: twin, params, size, voxelSize,
 * seed) may supply everything; flags override it.
 */

/** The twins (twins/) and the volume writers (utif2, pngjs): loaded when a twin command runs, or when `twin generate --help` lists the twins. */
const loadTwins = () => import('../../compose/twins.js');
const loadVolumeIo = () => import('../../voxel/io.js');

function twinNamed(twinRegistry: typeof TwinRegistry, name: string): Twin {
  const make = twinRegistry[name];
  if (!make) throw new BadInputError(`unknown twin "${name}"; available: ${Object.keys(twinRegistry).join(', ')}`, 'twin');
  return make();
}

function describeSpec(p: ParameterSpec) {
  return p.kind === 'categorical'
    ? { name: p.name, kind: p.kind, unit: p.unit ?? '', values: p.values, default: p.default, description: p.description ?? '' }
    : { name: p.name, kind: p.kind, unit: p.unit ?? '', min: p.min, max: p.max, default: p.default, description: p.description ?? '' };
}

export const twinListCommand = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'list',
  describe: 'list the twins with their parameters and stages',
  handler: commandHandler(ctx, async (_args, out) => {
    const { twins: twinRegistry } = await loadTwins();
    const twins = Object.keys(twinRegistry).map((name) => {
      const t = twinNamed(twinRegistry, name);
      return { name, description: t.description, phases: t.phases, stages: t.stages, parameters: t.parameters.map(describeSpec) };
    });
    for (const t of twins) {
      out.info(`${t.name} — ${t.description}`);
      out.info(`  phases: ${Object.entries(t.phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      out.info(`  stages: ${t.stages.map((s) => s.name).join(' → ')}`);
      for (const p of t.parameters) {
        const range = 'min' in p ? `${p.min} … ${p.max}` : (p.values ?? []).join('|');
        out.info(`    ${p.name.padEnd(20)} ${String(p.default ?? '').padStart(6)} ${(p.unit || '-').padEnd(6)} [${range}]  ${p.description}`);
      }
      out.info('');
    }
    out.result({ twins });
  }),
});

interface GenerateArgs extends GlobalArgs {
  twin?: string;
  config?: string;
  set?: string[];
  size?: string;
  voxel?: number;
  seed?: number;
  until?: string;
  out: string;
  preview?: string;
  previewAxis?: string;
}

/** Reads a twin config (YAML): { twin, params, size, voxelSize, seed }; anything else is an error (src/config/twin-file.ts, shared with campaign configs' twin.config). */
export async function loadTwinFile(path: string): Promise<TwinFile> {
  return (await import('../../config/twin-file.js')).readTwinFile(path);
}

/**
 * `N` (a cube) or `nx,ny,nz`; `where` is what gave it (review 2026-12-07: a twin config's
 * `size: [32, 32]` was blamed on --size): the flag, or the config file's `size` key.
 */
export function parseSize(s: string | number | number[], where = '--size'): Shape3 {
  const parts = Array.isArray(s) ? s : typeof s === 'number' ? [s] : s.split(/[,x×]/).map((t) => Number(t.trim()));
  const dims = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (dims.length !== 3 || dims.some((n) => !Number.isInteger(n) || n < 4 || n > 1024)) {
    const expected = where === '--size' ? 'N or nx,ny,nz' : 'N or [nx, ny, nz]';
    throw new BadInputError(`expected ${expected} with integers in 4 … 1024, got ${JSON.stringify(s)}`, where);
  }
  return [dims[0], dims[1], dims[2]];
}

/** Default voxel: five voxels across the twin's smallest default diameter (µm). */
function defaultVoxel(t: Twin): number {
  const ds = t.parameters.filter((p) => p.kind === 'continuous' && p.unit === 'µm' && /diameter/i.test(p.name)).map((p) => Number(p.default));
  const d = ds.length > 0 ? Math.min(...ds) : 5;
  return Number((d / 5).toPrecision(2));
}

export const twinGenerateCommand = (ctx: CommandContext): CommandModule<GlobalArgs, GenerateArgs> => ({
  command: 'generate [twin]',
  describe: 'generate a microstructure and write it to a volume file',
  builder: async (y) => {
    const [{ twins: twinRegistry }, { VOLUME_FORMATS }] = await Promise.all([loadTwins(), loadVolumeIo()]);
    return y
      .positional('twin', { type: 'string', describe: `twin name (${Object.keys(twinRegistry).join(', ')}); or give --config` })
      .option('config', { type: 'string', describe: 'twin config YAML (twin, params, size, voxelSize, seed), e.g. configs/twins/toray-tgp-h.yaml' })
      .option('set', { type: 'string', array: true, describe: 'parameter value: name=value (repeatable)' })
      .option('size', { type: 'string', describe: 'domain in voxels: N or nx,ny,nz (default 64)' })
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (default: 1/5 of the smallest mean diameter)' })
      .option('seed', { type: 'number', describe: 'random seed (default 1)' })
      .option('until', { type: 'string', describe: 'stop after this stage (intermediate structure)' })
      .option('out', { type: 'string', demandOption: true, describe: `output volume: ${VOLUME_FORMATS.join(', ')}` })
      .option('preview', { type: 'string', describe: 'write a PNG of the middle slice (upscaled, with scale bar and phase legend)' })
      .option('preview-axis', { type: 'string', choices: ['x', 'y', 'z'], default: 'z', describe: 'axis normal to the preview slice' }) as never;
  },
  handler: commandHandler(ctx, async (args, out) => {
    const [{ generateTwin, twins: twinRegistry }, { checkOutputPath, writeVolume }] = await Promise.all([loadTwins(), loadVolumeIo()]);
    const file = args.config ? await loadTwinFile(args.config) : {};
    const name = args.twin ?? file.twin;
    if (!name) throw new BadInputError(`name a twin (${Object.keys(twinRegistry).join(', ')}) or give --config`, 'twin');
    if (args.twin && file.twin && args.twin !== file.twin) throw new BadInputError(`twin "${args.twin}" differs from the config's "${file.twin}"`, 'twin');
    const twin = twinNamed(twinRegistry, name);
    const params: Parameters = { ...(file.params ?? {}), ...parseSetFlags(args.set) };
    const size = args.size !== undefined ? parseSize(args.size) : file.size !== undefined ? parseSize(file.size, `${args.config}: size`) : parseSize(64);
    const voxelSize = args.voxel ?? file.voxelSize ?? defaultVoxel(twin);
    const seed = args.seed ?? file.seed ?? 1;
    // The extension and the folder before generating, as volume and reconstruct do (review
    // 2026-12-07: a missing folder was found only by writeVolume, after the twin had run).
    checkOutputPath(args.out);
    const t0 = performance.now();
    // Progress lines only for volumes that take long enough to watch (≥ 128³).
    const chatty = !out.json && size[0] * size[1] * size[2] >= 128 ** 3;
    let last = -1;
    const result = await generateTwin(name, params, {
      seed,
      size,
      voxelSize,
      untilStage: args.until,
      onProgress: (f, stage) => {
        const pct = Math.floor(f * 10);
        if (chatty && pct > last) {
          last = pct;
          out.log(`  ${stage} ${(100 * f).toFixed(0)}%`);
        }
      },
    });
    const ms = performance.now() - t0;
    writeVolume(args.out, result.voxels);
    if (args.preview) (await import('../../voxel/preview.js')).writeSlicePreview(args.preview, result.voxels, { axis: (args.previewAxis ?? 'z') as 'x' | 'y' | 'z' });
    const shape = result.voxels.shape;
    out.info(`${name}: ${shape.join('×')} voxels of ${voxelSize} µm (${shape.map((n) => +(n * voxelSize).toPrecision(4)).join(' × ')} µm), seed ${seed}, ${(ms / 1000).toFixed(2)} s`);
    out.info(`stages: ${result.stages.join(' → ')}`);
    out.info('');
    // Name columns as wide as the longest name + 2 (review 2026-12-07: a 24-character statistic
    // was glued to its value).
    const nameWidth = (names: string[], least: number) => Math.max(least, ...names.map((k) => k.length + 2));
    const pw = nameWidth(Object.keys(result.requested), 22);
    out.info(`${'parameter'.padEnd(pw)}${'requested'.padStart(12)}${'achieved'.padStart(20)}`);
    // An achieved statistic measures a parameter when it has its name;
    // "<name>Paper" is the value at the stage the parameter refers to (fibre-gdl porosity).
    const shown = new Set<string>();
    for (const [k, v] of Object.entries(result.requested)) {
      const key = [`${k}Paper`, k].find((c) => result.achieved[c] !== undefined);
      if (key) shown.add(key);
      const a = key === undefined ? '' : `${result.achieved[key]}${key === `${k}Paper` ? ' (paper)' : ''}`;
      out.info(`${k.padEnd(pw)}${String(v).padStart(12)}${a.padStart(20)}`);
    }
    out.info('');
    out.info('achieved:');
    const rest = Object.entries(result.achieved).filter(([k]) => !shown.has(k));
    const aw = nameWidth(rest.map(([k]) => k), 24);
    for (const [k, v] of rest) out.info(`  ${k.padEnd(aw)}${v}`);
    out.info('');
    out.info(`wrote ${args.out}${args.preview ? ` and ${args.preview}` : ''}`);
    out.result({
      twin: name,
      seed,
      size: shape,
      voxelSize,
      phases: result.voxels.phases,
      stages: result.stages,
      requested: result.requested,
      achieved: result.achieved,
      out: args.out,
      preview: args.preview ?? null,
      elapsedMs: Math.round(ms),
    });
  }),
});

export const twinCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'twin <command>',
  describe: 'generative manufacturing twins: list them, generate microstructures, calibrate them to a real volume',
  builder: (y) =>
    y.command(twinListCommand(ctx) as never).command(twinGenerateCommand(ctx) as never).command(twinCalibrateCommand(ctx) as never).demandCommand(1, 'name a twin command: list, generate or calibrate') as never,
  handler: () => {},
});
