import { BadInputError, SimulationError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { PropertyInfo, SimulateOptions, SimulationReport, Simulator, Voxels } from '../core/protocols.js';
import { Analysis, type SolveEvent } from './analysis.js';
import type { Axis } from './labelling.js';
import { checkContext, PROPERTIES, propertyAxis } from './properties.js';
import { solveTransportOnDevice } from './transport-tfjs.js';

/**
 * The P-model physics (issue 4): simulators behind the Simulator interface of
 * src/core/protocols.ts, a registry by name, and `simulate()`, which computes any set of
 * property names in one pass over a volume, sharing intermediate solves between properties.
 * Every property is in SI units (./properties.ts, docs/physics.md). A phase that does not
 * percolate gives τ = Infinity, D_eff = 0, permeability = 0 — values, not errors.
 */

export { PROPERTIES, CONTEXT_DEFAULTS, checkContext } from './properties.js';
export type { PropertyDef } from './properties.js';

/** Simulator names, each providing the properties of ./properties.ts tagged with it. */
export const SIMULATOR_NAMES = ['morphology', 'diffusion', 'conduction', 'permeability', 'pemfc', 'liion', 'sofc'] as const;
export type SimulatorName = (typeof SIMULATOR_NAMES)[number];

const DESCRIPTIONS: Record<SimulatorName, string> = {
  morphology: 'phase fractions, surface area, local-thickness PSD, S2, chords, connectivity, TPB',
  diffusion: 'tortuosity factor and D_eff/D0 per axis (finite volumes, multigrid-preconditioned CG)',
  conduction: 'multi-phase effective conductivity per axis',
  permeability: 'absolute permeability per axis (lattice Boltzmann D3Q19 TRT)',
  pemfc: 'PEMFC GDL O2 limiting current, Darcy pressure drop; 1D cell voltage with liquid water (issue 20)',
  liion: 'Li-ion electrode effective conductivities, MacMullin number, ionic time constant; DFN cell capacity (issue 20)',
  sofc: 'SOFC active triple-phase-boundary density; anode loss with Ni coarsening (issue 20)',
};

/** Checks the property names, the transporting phase and the context; returns the names in order. */
function plan(voxels: Voxels, names: readonly string[], phase: number, context: Readonly<Record<string, number>>): Result<string[], SimulationError> {
  const unknown = names.filter((n) => !(n in PROPERTIES));
  if (unknown.length > 0) {
    return err(
      new SimulationError(`unknown propert${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; known: ${Object.keys(PROPERTIES).join(', ')}`, 'bad-input'),
    );
  }
  if (!Number.isInteger(phase) || phase < 0 || phase > 255) {
    return err(new SimulationError(`phase must be a label 0..255, got ${phase}`, 'bad-input'));
  }
  if (voxels.data.length !== voxels.shape[0] * voxels.shape[1] * voxels.shape[2]) {
    return err(new SimulationError(`voxel data length ${voxels.data.length} does not match shape ${voxels.shape.join('×')}`, 'bad-input'));
  }
  try {
    checkContext(context);
  } catch (e) {
    return err(new SimulationError((e as Error).message, 'bad-input'));
  }
  return ok([...new Set(names)]);
}

async function run(
  voxels: Voxels,
  names: readonly string[],
  options: SimulateOptions & { onProgress?: (e: SimulateProgress) => void },
): Promise<Result<SimulationReport, SimulationError>> {
  const phase = options.phase ?? 0;
  const p = plan(voxels, names, phase, options.context ?? {});
  if (!p.ok) return p;
  const analysis = new Analysis(voxels, phase, options.context ?? {});
  const onProgress = options.onProgress;
  const total = p.value.length;
  let done = 0;
  let current = '';
  const tell = (e: SolveEvent) => onProgress?.({ ...e, event: `solve-${e.event}`, property: current, done, total });
  if (onProgress) analysis.onSolve = tell;
  // τ / D_eff solves on the device asked for (issue #20), used by every property derived from
  // them; the CPU default leaves them to the properties. Each runs just before the first
  // property that needs it (diff review 2026-12-07, item 4: so that progress follows the
  // properties; it was all of them first) — the same solves, on the same inputs.
  const device = options.device ?? 'cpu';
  const onDevice = async (name: string): Promise<SimulationError | undefined> => {
    const axis = /^diffusion_([xyz])$/.exec(PROPERTIES[name].solve ?? '')?.[1] as Axis | undefined;
    if (device === 'cpu' || axis === undefined || analysis.diagnostics[`diffusion_${axis}`]) return undefined;
    const conductivity = new Float64Array(256);
    conductivity[phase] = 1;
    try {
      const components = analysis.components();
      const solve = `diffusion_${axis}`;
      tell({ event: 'start', solve, axis });
      const r = await solveTransportOnDevice(voxels.data, voxels.shape, {
        axis,
        conductivity,
        components,
        device,
        onProgress: onProgress ? (q) => tell({ event: 'iteration', solve, axis, iterations: q.iteration, residual: q.relResidual }) : undefined,
      });
      analysis.setDiffusion(axis, r, r.device === 'gpu' ? 'tfjs-jacobi-pcg' : 'pcg-multigrid', { device: r.device, backend: r.backend });
      tell({ event: 'end', solve, axis, iterations: r.iterations, residual: r.relResidual });
      return undefined;
    } catch (e) {
      if (e instanceof BadInputError) return new SimulationError(e.message, 'bad-input');
      return new SimulationError(`diffusion_${axis} on device ${device}: ${e instanceof Error ? e.message : String(e)}`, 'internal');
    }
  };
  const properties: Record<string, number> = {};
  const units: Record<string, string> = {};
  const timings: Record<string, number> = {};
  for (const name of p.value) {
    const def = PROPERTIES[name];
    current = name;
    onProgress?.({ event: 'property-start', property: name, done, total });
    const failed = await onDevice(name);
    if (failed) return err(failed);
    const t = performance.now();
    try {
      properties[name] = def.compute(analysis);
    } catch (e) {
      if (e instanceof SimulationError) return err(e);
      if (e instanceof RangeError) return err(new SimulationError(`${name}: ${e.message}`, 'too-large'));
      return err(new SimulationError(`${name}: ${e instanceof Error ? e.message : String(e)}`, 'internal'));
    }
    units[name] = def.unit;
    timings[name] = Math.round((performance.now() - t) * 10) / 10;
    done++;
    onProgress?.({ event: 'property-end', property: name, done, total });
    // Yield between properties so that a caller on the main thread keeps its event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const notConverged = Object.entries(analysis.diagnostics).filter(([, d]) => d.converged === false);
  if (notConverged.length > 0) {
    return err(new SimulationError(`solver did not converge: ${notConverged.map(([k]) => k).join(', ')}`, 'not-converged'));
  }
  return ok({ properties, units, diagnostics: { ...analysis.diagnostics, propertyMs: timings, phase } });
}

class PhysicsSimulator implements Simulator {
  readonly provides: Record<string, PropertyInfo>;

  constructor(
    readonly name: SimulatorName,
    readonly description: string,
  ) {
    this.provides = Object.fromEntries(
      Object.entries(PROPERTIES)
        .filter(([, d]) => d.simulator === name)
        .map(([k, d]) => [k, { unit: d.unit, definition: d.definition }]),
    );
  }

  evaluate(voxels: Voxels, options: SimulateOptions = {}): Promise<Result<SimulationReport, SimulationError>> {
    let names = options.properties ?? Object.keys(this.provides);
    const foreign = names.filter((n) => !(n in this.provides));
    if (foreign.length > 0) {
      return Promise.resolve(err(new SimulationError(`simulator ${this.name} does not provide ${foreign.join(', ')}`, 'bad-input')));
    }
    if (!options.properties && options.axes) {
      const axes = options.axes;
      names = names.filter((n) => {
        const ax = propertyAxis(n);
        return ax === undefined || axes.includes(ax);
      });
    }
    return run(voxels, names, options);
  }
}

/** Simulators by name (configs refer to them by these names). */
export const simulatorRegistry: Record<string, () => Simulator> = Object.fromEntries(
  SIMULATOR_NAMES.map((n) => [n, () => new PhysicsSimulator(n, DESCRIPTIONS[n])]),
);

/**
 * Progress of a `simulate()` run (diff review 2026-12-07, item 4: `poreloop analyse` split its
 * runs per axis to report progress, redoing the phase mask and pore labelling per axis).
 * `property-start`/`property-end` bracket each property, in the order asked; `solve-start`,
 * `solve-iteration` (every 10 CG iterations, every LBM convergence check, the tensor solver's
 * checks) and `solve-end` come from the solves a property needs — each solve once, under the
 * first property that needs it.
 */
export interface SimulateProgress {
  event: 'property-start' | 'property-end' | 'solve-start' | 'solve-iteration' | 'solve-end';
  /** The property being computed. */
  property: string;
  /** Properties finished so far, and in all. */
  done: number;
  total: number;
  /** The solve, keyed like the diagnostics (`diffusion_z`, `permeability_x`, `localThickness`). */
  solve?: string;
  axis?: Axis;
  /** Solver iterations (LBM: steps) so far, or in all at `solve-end`; absent for non-iterative solves. */
  iterations?: number;
  /** Relative residual (LBM: relative change of the mean velocity). */
  residual?: number;
}

export interface SimulateRequest extends SimulateOptions {
  properties: string[];
  /**
   * Told of the run's progress on the calling thread; it only observes — the results are the
   * same with or without it. Not carried to a pool worker (functions do not cross a thread):
   * simulateInPool leaves it out.
   */
  onProgress?: (event: SimulateProgress) => void;
}

/**
 * Computes the named properties of a volume (any mix of simulators), e.g.
 * `simulate(v, { properties: ['porosity', 'tau_z', 'limitingCurrent'] })`. Properties with an
 * axis suffix are computed for that axis only; `axes` is not needed when names are given.
 */
export function simulate(voxels: Voxels, request: SimulateRequest): Promise<Result<SimulationReport, SimulationError>> {
  if (request.properties.length === 0) {
    return Promise.resolve(err(new SimulationError('no properties requested', 'bad-input')));
  }
  return run(voxels, request.properties, request);
}

/** Property names, units and definitions of every simulator. */
export function describeProperties(): Record<string, PropertyInfo & { simulator: string }> {
  return Object.fromEntries(Object.entries(PROPERTIES).map(([k, d]) => [k, { unit: d.unit, definition: d.definition, simulator: d.simulator }]));
}

export type { Axis } from './labelling.js';
export { tortuosity, solveTransport } from './transport.js';
// The GPU path of the τ solver (issue #20): TensorFlow.js on tfjs-node-gpu when a GPU is there.
export {
  GPU_INSTALL_HINT,
  probeGpu,
  solveTransportOnDevice,
  solveTransportTfjs,
  SOLVER_DEVICES,
  tortuosityOnDevice,
  type DeviceTransportOptions,
  type DeviceTransportResult,
  type GpuProbe,
  type SolverDevice,
} from './transport-tfjs.js';
