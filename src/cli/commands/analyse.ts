import { availableParallelism, totalmem } from 'node:os';
import cliProgress from 'cli-progress';
import { BadInputError, SimulationError } from '../../core/errors.js';
import type { SimulationReport, Voxels } from '../../core/protocols.js';
import { checkContext, PROPERTIES, simulate, type SimulateProgress } from '../../physics/index.js';
import { createPhysicsPool, simulateInPool } from '../../physics/pool.js';
import { readVolume } from '../../voxel/io.js';
import { labelsPresent } from '../../voxel/voxels.js';
import { listFlag, parseSetFlags, type GlobalArgs, type Output } from '../common.js';

/**
 * `poreloop analyse <volume>` (issue 4): the P-model physics on any segmented volume — a
 * twin's output or a user's X-ray CT / FIB-SEM image. `--props` takes property names
 * (docs/physics.md) or groups; per-axis groups expand over `--axis`. With several axes the
 * solves run in parallel on the physics worker pool.
 *
 * JSON: one document; each property has value, unit, and — when a solver produced it — the
 * solver's iterations, residual and wall time. A non-finite value (τ of a phase that does not
 * percolate, MacMullin number …) is written as `"value": null, "infinite": true`, because
 * JSON has no Infinity.
 *
 * The command's yargs definition is in analyse-command.ts, which imports this module (and with
 * it the physics) only when the command runs.
 */

const AXIS_GROUPS: Record<string, (axis: string) => string[]> = {
  tortuosity: (a) => [`tau_${a}`, `deff_${a}`],
  conductivity: (a) => [`sigma_eff_${a}`],
  permeability: (a) => [`permeability_${a}`],
  connectivity: (a) => [`percolating_${a}`, `deadEnd_${a}`, `isolated_${a}`],
  chords: (a) => [`chordMean_${a}`],
};
const GROUPS: Record<string, string[]> = {
  psd: ['poreDiameterMean', 'poreDiameterD50'],
  s2: ['correlationLength'],
  tpb: ['tpbDensity', 'tpbActiveDensity'],
  pemfc: ['limitingCurrent', 'oxygenDiffusivityEff'],
  liion: ['sigma_ionic', 'sigma_electronic', 'macMullin', 'ionicTimeConstant', 'rateIndicator'],
};

/** Bytes per voxel of the largest solver a property needs (transport ≈ 60–90, LBM ≈ 230 per fluid node + setup). */
const BYTES_PER_VOXEL = { 1: 40, 2: 90, 3: 300 } as const;

export function expandProps(list: string, axes: string[]): string[] {
  const out: string[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (AXIS_GROUPS[raw]) for (const a of axes) out.push(...AXIS_GROUPS[raw](a));
    else if (GROUPS[raw]) out.push(...GROUPS[raw]);
    else if (raw in PROPERTIES) out.push(raw);
    else {
      throw new BadInputError(
        `unknown property or group "${raw}"; groups: ${[...Object.keys(AXIS_GROUPS), ...Object.keys(GROUPS)].join(', ')}; properties: ${Object.keys(PROPERTIES).join(', ')}`,
        '--props',
      );
    }
  }
  return [...new Set(out)];
}

export function parseAxes(value: string | string[] | undefined): Array<'x' | 'y' | 'z'> {
  const out: Array<'x' | 'y' | 'z'> = [];
  for (const a of listFlag(value)) {
    if (a === 'all') out.push('x', 'y', 'z');
    else if (a === 'x' || a === 'y' || a === 'z') out.push(a);
    else throw new BadInputError(`expected x, y, z or all, got "${a}"`, '--axis');
  }
  if (out.length === 0) throw new BadInputError('no axis given; expected x, y, z or all', '--axis');
  return [...new Set(out)];
}

/** Refuses volumes the analysis cannot use, with a message that says why. */
export function checkVolume(v: Voxels, phase: number, props: string[], path: string, memoryBytes = totalmem()): void {
  const labels = labelsPresent(v);
  if (!labels.includes(phase)) {
    throw new BadInputError(`label ${phase} (--phase) is not in the volume; labels present: ${labels.join(', ')} — the volume is all solid for this phase`, path);
  }
  if (labels.length === 1) {
    throw new BadInputError(`the volume holds only label ${phase}: there is no microstructure to analyse (empty volume)`, path);
  }
  const cost = Math.max(...props.map((p) => PROPERTIES[p].cost)) as 1 | 2 | 3;
  const need = v.data.length * BYTES_PER_VOXEL[cost];
  if (need > 0.8 * memoryBytes) {
    throw new BadInputError(
      `a ${v.shape.join('×')} volume needs about ${(need / 2 ** 30).toFixed(1)} GiB for ${props.filter((p) => PROPERTIES[p].cost === cost).join(', ')}, more than 80% of this machine's ${(memoryBytes / 2 ** 30).toFixed(1)} GiB; crop or downsample it`,
      path,
    );
  }
}

/** Simulation errors the user can fix (bad input, too large) exit with 2, others with 1. */
function raise(e: SimulationError): never {
  if (e.reason === 'bad-input' || e.reason === 'too-large') throw new BadInputError(e.message);
  throw e;
}

export interface AnalyseArgs extends GlobalArgs {
  volume: string;
  phase: number;
  axis: string | string[];
  props: string | string[];
  voxel?: number;
  set?: string[];
  workers?: number;
  device: 'cpu' | 'auto' | 'gpu';
}

function merge(reports: SimulationReport[]): SimulationReport {
  const out: SimulationReport = { properties: {}, units: {}, diagnostics: {} };
  for (const r of reports) {
    Object.assign(out.properties, r.properties);
    Object.assign(out.units, r.units);
    const { propertyMs, ...rest } = (r.diagnostics ?? {}) as Record<string, unknown>;
    Object.assign(out.diagnostics!, rest);
    out.diagnostics!.propertyMs = { ...((out.diagnostics!.propertyMs as object) ?? {}), ...((propertyMs as object) ?? {}) };
  }
  return out;
}

/**
 * A property value in the --json document. JSON has no NaN or ±Infinity: null plus what it
 * stands for; a NaN is not infinite (review 2026-12-07: every non-finite value was reported
 * as "infinite").
 */
export function valueEntry(value: number, unit: string): Record<string, unknown> {
  if (Number.isFinite(value)) return { value, unit };
  if (Number.isNaN(value)) return { value: null, nan: true, unit };
  return { value: null, infinite: true, ...(value < 0 ? { negative: true } : {}), unit };
}

/** `poreloop analyse <volume>`: reads the volume, checks it, runs the physics, prints the properties. */
export async function analyse(args: AnalyseArgs, out: Output): Promise<void> {
  const t0 = performance.now();
  if (!Number.isInteger(args.phase) || args.phase < 0 || args.phase > 255) throw new BadInputError(`expected a label 0..255, got ${args.phase}`, '--phase');
  if (args.voxel !== undefined && !(args.voxel > 0)) throw new BadInputError(`voxel size must be > 0 µm, got ${args.voxel}`, '--voxel');
  const axes = parseAxes(args.axis);
  const props = expandProps(listFlag(args.props).join(','), axes);
  if (props.length === 0) throw new BadInputError('no properties requested', '--props');
  const context: Record<string, number> = {};
  for (const [k, v] of Object.entries(parseSetFlags(args.set))) {
    if (typeof v !== 'number') throw new BadInputError(`context value of ${k} must be a number, got "${v}"`, '--set');
    context[k] = v;
  }
  // Before the volume is read: temperature = −10 or thickness = 0 made NaN (review 2026-12-07).
  try {
    checkContext(context);
  } catch (e) {
    throw new BadInputError((e as Error).message, '--set');
  }
  // Checked before the volume is read (issue #14: --workers 1e9 started 1 639 threads):
  // more threads than cores never makes a solve faster.
  if (args.workers !== undefined && !(Number.isInteger(args.workers) && args.workers >= 0 && args.workers <= availableParallelism())) {
    throw new BadInputError(`expected an integer from 0 (in-process) to ${availableParallelism()} (this machine's cores), got ${args.workers}`, '--workers');
  }
  const voxels = readVolume(args.volume, { voxelSize: args.voxel, onWarning: (w) => out.log(`poreloop: warning: ${w}`) });
  checkVolume(voxels, args.phase, props, args.volume);

  // One group per axis (solves of different axes are independent) plus the rest; a
  // property joins the group of the solve it derives from (limitingCurrent → z).
  const groups = new Map<string, string[]>();
  for (const p of props) {
    const key = /_([xyz])$/.exec(p)?.[1] ?? /_([xyz])$/.exec(PROPERTIES[p].solve ?? '')?.[1] ?? '-';
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const solveGroups = [...groups.values()].filter((g) => g.some((p) => PROPERTIES[p].cost >= 2));
  // Starting workers costs ~0.1–1 s (more under tsx), so the pool only pays off for
  // volumes whose solves take longer than that.
  // The GPU path runs in-process: one GPU, not one tfjs-node-gpu per worker thread.
  const device = args.device ?? 'cpu';
  if (device !== 'cpu' && args.workers) throw new BadInputError(`--device ${device} runs the solves in-process (one GPU, not one per worker thread); leave out --workers or use --device cpu`, '--workers');
  const workers = device !== 'cpu' ? 0 : (args.workers ?? (voxels.data.length >= 96 ** 3 ? Math.min(solveGroups.length, availableParallelism()) : 0));
  let report: SimulationReport;
  const request = { phase: args.phase, context, device };
  // Progress per solve group (analyse review 4: a 500³ --axis x run was silent for 69 s): a
  // line as each group starts and ends in-process, from simulate()'s onProgress; on the pool a
  // line as each group ends (progress does not cross the worker boundary).
  const entries = [...groups.entries()];
  const pooled = workers > 0 && solveGroups.length > 1;
  const runs: Array<[string, string[]]> = solveGroups.length > 1 ? entries : [['*', props]];
  const progress = solveGroups.length > 0 ? createAnalyseProgress(out, voxels.shape, runs) : undefined;
  try {
    if (pooled) {
      const pool = createPhysicsPool({ size: workers });
      progress?.note(`${entries.length} groups on ${workers} worker${workers === 1 ? '' : 's'}`);
      try {
        const results = await Promise.all(
          entries.map(async ([key, g]) => {
            const t = performance.now();
            const r = await simulateInPool(pool, voxels, { ...request, properties: g });
            if (r.ok) progress?.done(key, performance.now() - t, r.value);
            return r;
          }),
        );
        const failed = results.find((r) => !r.ok);
        if (failed && !failed.ok) raise(failed.error);
        report = merge(results.map((r) => (r.ok ? r.value : (undefined as never))));
      } finally {
        await pool.close();
      }
    } else {
      // In-process: one simulate() call (diff review 2026-12-07, item 4: one call per group
      // redid the phase mask and the pore labelling per axis, +10 % at 200³ on three axes),
      // the properties in group order so that each group's start and end come from onProgress.
      const groupOf = new Map(runs.flatMap(([key, g]) => g.map((p) => [p, key] as const)));
      const first = new Set(runs.map(([, g]) => g[0]));
      const last = new Set(runs.map(([, g]) => g[g.length - 1]));
      const solved: Record<string, Record<string, unknown>> = {};
      let t = performance.now();
      const onProgress = (e: SimulateProgress): void => {
        const key = groupOf.get(e.property)!;
        if (e.event === 'property-start' && first.has(e.property)) {
          t = performance.now();
          progress!.start(key);
        } else if (e.event === 'solve-iteration') progress!.iteration(key, e);
        else if (e.event === 'solve-end') solved[e.solve!] = { iterations: e.iterations, residual: e.residual };
        else if (e.event === 'property-end' && last.has(e.property)) progress!.done(key, performance.now() - t, { diagnostics: solved });
      };
      const r = await simulate(voxels, { ...request, properties: runs.flatMap(([, g]) => g), onProgress: progress ? onProgress : undefined });
      if (!r.ok) raise(r.error);
      report = r.value;
    }
  } finally {
    progress?.stop();
  }
  const diag = (report.diagnostics ?? {}) as Record<string, Record<string, unknown>>;
  const timings = (diag.propertyMs ?? {}) as unknown as Record<string, number>;
  const properties: Record<string, Record<string, unknown>> = {};
  out.info(`${args.volume}: ${voxels.shape.join('×')} voxels of ${voxels.voxelSize} µm, transporting phase ${args.phase} (${voxels.phases[args.phase] ?? '?'})`);
  for (const name of props) {
    const value = report.properties[name];
    const def = PROPERTIES[name];
    const solve = def.solve ? diag[def.solve] : undefined;
    const entry = valueEntry(value, def.unit);
    if (solve) Object.assign(entry, { solver: solve.solver, iterations: solve.iterations, residual: solve.residual, wallMs: solve.wallMs }, solve.device ? { device: solve.device, backend: solve.backend } : {});
    else entry.wallMs = timings[name];
    properties[name] = entry;
    const shown = Number.isFinite(value) ? value.toPrecision(5) : String(value); // NaN, Infinity, -Infinity
    const extra = solve?.iterations !== undefined ? `  (${solve.iterations} it, residual ${Number(solve.residual).toExponential(1)}, ${solve.wallMs} ms)` : '';
    out.info(`  ${name.padEnd(22)} ${shown.padStart(12)} ${def.unit.padEnd(6)}${extra}`);
  }
  out.result({
    file: args.volume,
    shape: voxels.shape,
    voxelSize: voxels.voxelSize,
    phase: args.phase,
    phases: voxels.phases,
    context,
    properties,
    wallMs: Math.round(performance.now() - t0),
  });
}

/**
 * Solve-group progress on stderr, the convention of src/cli/progress.ts for campaigns: a live
 * bar with the elapsed time on a TTY (it ticks while the main thread is free: pool runs), plain
 * log lines otherwise (CI, pipes, --json — stdout keeps only the JSON document).
 */
export function createAnalyseProgress(
  out: Output,
  shape: readonly number[],
  groups: Array<[string, string[]]>,
  stream: NodeJS.WriteStream = process.stderr,
): {
  note(line: string): void;
  start(key: string): void;
  /** A solve's iteration count and residual so far: shown on the bar, not logged (one line per group start and end). */
  iteration(key: string, e: Pick<SimulateProgress, 'solve' | 'iterations' | 'residual'>): void;
  done(key: string, ms: number, r: Partial<SimulationReport>): void;
  stop(): void;
} {
  const total = groups.length;
  const names = new Map<string, string[]>(groups);
  const label = (key: string) => (key === '*' ? names.get('*')!.join(', ') : `${key === '-' ? 'other' : `axis ${key}`} (${names.get(key)!.join(', ')})`);
  const solves = (r: Partial<SimulationReport>, key: string) => {
    const diag = (r.diagnostics ?? {}) as Record<string, Record<string, unknown>>;
    // Iterative solves only (localThickness has no iterations: it printed "undefined it, residual NaN").
    const used = new Set(names.get(key)!.map((p) => PROPERTIES[p].solve).filter((k): k is string => !!k && diag[k]?.iterations !== undefined));
    return [...used].map((k) => `${k}: ${String(diag[k].iterations)} it, residual ${Number(diag[k].residual).toExponential(1)}`).join('; ');
  };
  let finished = 0;
  const head = `analyse: ${shape.join('×')} voxels`;
  if (stream.isTTY && !out.json) {
    const bar = new cliProgress.SingleBar(
      { format: ' analyse | {message} [{bar}] {value}/{total} | {duration_formatted}', hideCursor: true, clearOnComplete: false, stream },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { message: head });
    return {
      note: (line) => bar.update(finished, { message: line }),
      start: (key) => bar.update(finished, { message: `solving ${label(key)}` }),
      iteration: (key, e) => bar.update(finished, { message: `solving ${label(key)}: ${e.solve} ${e.iterations} it, residual ${Number(e.residual).toExponential(1)}` }),
      done: (key) => {
        finished++;
        bar.update(finished, { message: `done ${label(key)}` });
      },
      stop: () => bar.stop(),
    };
  }
  out.log(`${head}; ${total === 1 ? 'solving' : `${total} groups`}: ${groups.map(([k]) => label(k)).join('; ')}`);
  return {
    note: (line) => out.log(`analyse: ${line}`),
    start: (key) => {
      if (total > 1) out.log(`analyse: [${finished + 1}/${total}] solving ${label(key)} …`);
    },
    iteration: () => {},
    done: (key, ms, r) => {
      finished++;
      const s = solves(r, key);
      out.log(`analyse: [${finished}/${total}] done ${label(key)} in ${(ms / 1000).toFixed(1)} s${s ? ` (${s})` : ''}`);
    },
    stop: () => {},
  };
}
