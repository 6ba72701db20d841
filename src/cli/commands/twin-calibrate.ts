import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { CalibrationProp, CalibrationTerm } from '../../reconstruct/calibrate.js';
import type { CommandContext } from '../context.js';
import { commandHandler, listFlag, parseSetFlags, type GlobalArgs } from '../common.js';
import { parseSize } from './twin.js';

/**
 * `poreloop twin calibrate <twin> --to real.tif` (issue #19): fit a twin's hidden parameters
 * so that its structures match a real volume's descriptors (src/reconstruct/calibrate.ts),
 * report the match per descriptor on the fit seed and on fresh seeds, and save a twin config
 * that `poreloop twin generate --config` reads.
 */

/**
 * The registries of twins and agents (src/compose/registries.ts, not the composition root) and
 * the calibration: loaded when `twin calibrate` runs or shows its help, whose options name them.
 */
const load = () => Promise.all([import('../../compose/registries.js'), import('../../reconstruct/calibrate.js')]);

interface CalibrateArgs extends GlobalArgs {
  twin: string;
  to: string;
  voxel?: number;
  props: string | string[];
  transport: string | string[];
  fit?: string | string[];
  set?: string[];
  budget: number;
  batch: number;
  agent: string;
  size?: string;
  seed: number;
  twinSeed: number;
  validate: number;
  rmax?: number;
  out?: string;
}

export const twinCalibrateCommand = (ctx: CommandContext): CommandModule<GlobalArgs, CalibrateArgs> => ({
  command: 'calibrate <twin>',
  describe: "fit a twin's hidden parameters to a real segmented volume's porosity, SSA, PSD, S2 and τ",
  builder: async (y) => {
    const [{ registries }, { CALIBRATION_PROPS }] = await load();
    return y
      .positional('twin', { type: 'string', demandOption: true, describe: `twin name (${Object.keys(registries.twins).join(', ')})` })
      .option('to', { type: 'string', demandOption: true, describe: 'the real, segmented volume (labels as the twin: 0 pore, …)' })
      .option('voxel', { type: 'number', describe: 'voxel edge in µm (overrides the file; the twin is generated at the same voxel)' })
      .option('props', { type: 'string', default: CALIBRATION_PROPS.join(','), describe: `descriptor groups matched: ${CALIBRATION_PROPS.join(', ')}` })
      .option('transport', { type: 'string', default: '0', describe: 'labels whose τ per axis is matched, comma-separated; repeat for several sets (--transport 0 --transport 0,2)' })
      .option('fit', { type: 'string', describe: 'parameters to fit, comma-separated (default: every parameter not --set)' })
      .option('set', { type: 'string', array: true, describe: 'hold a parameter: name=value (repeatable)' })
      .option('budget', { type: 'number', default: 60, describe: 'twin evaluations in the fit' })
      .option('batch', { type: 'number', default: 8, describe: 'proposals per round' })
      .option('agent', { type: 'string', default: 'cmaes', describe: `optimiser (${Object.keys(registries.agents).join(', ')})` })
      .option('size', { type: 'string', describe: 'generated volume: N or nx,ny,nz (default: the target’s shape)' })
      .option('seed', { type: 'number', default: 1, describe: "the optimiser's seed" })
      .option('twin-seed', { type: 'number', default: 1, describe: 'twin seed of every fit evaluation' })
      .option('validate', { type: 'number', default: 3, describe: 'fresh twin seeds the best parameters are checked on (0: none)' })
      .option('rmax', { type: 'number', describe: 'longest S2 lag compared, voxels (default: 16, or half the smallest side of the target and the generated volume when less; only with s2 in --props)' })
      .option('out', { type: 'string', describe: 'write the calibrated twin config (YAML: twin, params, size, voxelSize, seed)' }) as never;
  },
  handler: commandHandler(ctx, async (args, out) => {
    const [{ registries }, { CALIBRATION_PROPS, calibrateTwin, validateCalibration }] = await load();
    const { readVolume } = await import('../../voxel/io.js');
    const make = registries.twins[args.twin];
    if (!make) throw new BadInputError(`unknown twin "${args.twin}"; available: ${Object.keys(registries.twins).join(', ')}`, 'twin');
    const makeAgent = registries.agents[args.agent];
    if (!makeAgent) throw new BadInputError(`unknown agent "${args.agent}"; available: ${Object.keys(registries.agents).join(', ')}`, '--agent');
    const props = listFlag(args.props) as CalibrationProp[];
    for (const p of props) if (!CALIBRATION_PROPS.includes(p)) throw new BadInputError(`unknown descriptor group "${p}"; allowed: ${CALIBRATION_PROPS.join(', ')}`, '--props');
    const transport = (Array.isArray(args.transport) ? args.transport : [args.transport]).map((s) => {
      const set = String(s).split(',').map((t) => Number(t.trim()));
      if (set.some((l) => !Number.isInteger(l) || l < 0 || l > 255)) throw new BadInputError(`expected labels 0…255, comma-separated, got "${s}"`, '--transport');
      return set;
    });
    if (!(Number.isInteger(args.validate) && args.validate >= 0)) throw new BadInputError(`expected a count ≥ 0, got ${args.validate}`, '--validate');
    if (!(Number.isInteger(args.batch) && args.batch >= 1)) throw new BadInputError(`expected an integer ≥ 1, got ${args.batch}`, '--batch');
    if (args.rmax !== undefined && !(Number.isInteger(args.rmax) && args.rmax >= 1)) throw new BadInputError(`expected an integer ≥ 1, got ${args.rmax}`, '--rmax');
    const target = readVolume(args.to, { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) });
    const twin = make();
    const fixed = parseSetFlags(args.set);
    const fit = args.fit === undefined ? undefined : listFlag(args.fit);
    const size = args.size ? parseSize(args.size) : target.shape;
    const common = { twin, target, size };
    out.info(`${args.to}: ${target.shape.join('×')} voxels of ${target.voxelSize} µm; ${twin.name} at ${size.join('×')}, ${args.budget} evaluations by ${args.agent}`);
    const r = await calibrateTwin({
      ...common,
      agent: makeAgent({}),
      fixed,
      fit,
      budget: args.budget,
      batch: args.batch,
      twinSeed: args.twinSeed,
      seed: args.seed,
      transport,
      props,
      rmax: args.rmax,
      onEvaluation: (e) => out.log(`calibrate: ${String(e.index + 1).padStart(4)}/${args.budget}  loss ${Number.isFinite(e.loss) ? e.loss.toFixed(3) : `failed (${e.error})`}  ${(e.ms / 1000).toFixed(1)} s`),
    });
    const seeds = Array.from({ length: args.validate }, (_, i) => args.twinSeed + 1000 + i);
    const validation = await validateCalibration(common, r.params, r.measure, r.target, seeds);
    const show = (t: CalibrationTerm) => (t.group === 's2' ? `${(100 * t.error).toFixed(1)} %` : `${t.generated.toPrecision(4)} vs ${t.target.toPrecision(4)} (${t.group === 'fraction' ? `±${t.error.toFixed(4)}` : `${(100 * t.error).toFixed(1)} %`})`);
    out.info(`best of ${r.evaluations.length} (evaluation ${r.best.index + 1}), loss ${r.best.loss.toFixed(3)}, ${(r.wallMs / 1000).toFixed(0)} s:`);
    for (const [k, v] of Object.entries(r.params)) out.info(`  ${k.padEnd(22)}${String(+Number(v).toPrecision(5))}`);
    // A fit pinned at a bound the domain set is a reason to generate a larger volume (review 2026-12-07).
    for (const n of r.narrowed) {
      const unit = n.unit ? ` ${n.unit}` : '';
      out.info(`  (${n.name} searched in ${n.searched.join(' … ')}${unit}, not ${n.spec.join(' … ')}${unit}: what twin ${twin.name} takes on ${size.join('×')} voxels of ${target.voxelSize} µm; --size generates a larger volume)`);
    }
    out.info(`${'descriptor'.padEnd(16)}${'fit seed'.padEnd(34)}${seeds.map((s) => `seed ${s}`.padEnd(34)).join('')}`);
    for (const [i, t] of r.best.terms!.entries()) {
      const v = validation.map((e) => (e.terms ? `${show(e.terms[i])}${e.terms[i].within ? '' : ' ✗'}` : 'failed').padEnd(34)).join('');
      out.info(`${t.name.padEnd(16)}${`${show(t)}${t.within ? '' : ' ✗'}`.padEnd(34)}${v}`);
    }
    const config = { twin: twin.name, params: r.params, size: [...size], voxelSize: target.voxelSize, seed: args.twinSeed };
    if (args.out) {
      const header = `# poreloop twin calibrate ${twin.name} --to ${args.to}: loss ${r.best.loss.toFixed(4)} after ${r.evaluations.length} evaluations (${args.agent}, seed ${args.seed})\n`;
      const { stringify } = await import('yaml');
      writeFileSync(args.out, header + stringify(config));
      out.info(`wrote ${args.out}`);
    }
    out.result({ config, best: r.best, narrowed: r.narrowed, validation, target: r.target, evaluations: r.evaluations.map((e) => ({ index: e.index, params: e.params, loss: e.loss, error: e.error, ms: e.ms })), wallMs: r.wallMs });
  }),
});
