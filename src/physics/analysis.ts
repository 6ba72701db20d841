import type { Voxels } from '../core/protocols.js';
import { AXIS_INDEX, labelComponents, type Axis, type Components } from './labelling.js';
import { periodicAlong, permeability, type PermeabilityResult } from './lbm.js';
import { countLabel, localThickness, phaseMask, twoPointCorrelation, type LocalThickness } from './morphology.js';
import { solveTransport, type TransportResult } from './transport.js';

/**
 * A solve's progress (diff review 2026-12-07, item 4): its start, every few solver iterations
 * (CG iterations of ./transport.ts, convergence checks of the LBM) and its end, keyed like the
 * diagnostics (`diffusion_z`, `permeability_x`, `localThickness`).
 */
export interface SolveEvent {
  event: 'start' | 'iteration' | 'end';
  solve: string;
  axis?: Axis;
  /** Solver iterations (LBM: steps) so far, or in all at the end. */
  iterations?: number;
  /** Relative residual (LBM: relative change of U). */
  residual?: number;
}

/**
 * One volume under analysis: memoises the expensive intermediate results (components,
 * transport solves, local thickness, LBM runs) so that properties sharing them (tau_z,
 * deff_z, limitingCurrent, macMullin…) compute them once, and records solver diagnostics.
 */
export class Analysis {
  private readonly memo = new Map<string, unknown>();
  /** Per-solve diagnostics (iterations, residual, wall time), keyed like `diffusion_z`. */
  readonly diagnostics: Record<string, Record<string, number | boolean | string>> = {};
  /** Told when a solve starts, progresses and ends (simulate()'s onProgress); results do not depend on it. */
  onSolve?: (e: SolveEvent) => void;

  constructor(
    readonly voxels: Voxels,
    /** Label of the transporting (pore) phase. */
    readonly phase: number,
    readonly context: Readonly<Record<string, number>> = {},
  ) {}

  private cached<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }

  /** Runs a solve between its start and end events; `iterate` is what the solver calls every few iterations. */
  private solving<T>(solve: string, axis: Axis | undefined, run: (iterate?: (iterations: number, residual: number) => void) => T): T {
    const tell = this.onSolve;
    if (!tell) return run();
    tell({ event: 'start', solve, axis });
    const r = run((iterations, residual) => tell({ event: 'iteration', solve, axis, iterations, residual }));
    const d = this.diagnostics[solve];
    const n = (v: unknown) => (typeof v === 'number' ? v : undefined);
    tell({ event: 'end', solve, axis, iterations: n(d?.iterations), residual: n(d?.residual) });
    return r;
  }

  /** Voxel edge in metres. */
  get voxelM(): number {
    return this.voxels.voxelSize * 1e-6;
  }

  /** Sample length along an axis, m. */
  length(axis: Axis): number {
    return this.voxels.shape[AXIS_INDEX[axis]] * this.voxelM;
  }

  /** Context value or default. */
  ctx(name: string, fallback: number): number {
    const v = this.context[name];
    return v === undefined ? fallback : v;
  }

  fraction(label = this.phase): number {
    return this.cached(`frac:${label}`, () => countLabel(this.voxels.data, label) / this.voxels.data.length);
  }

  mask(label = this.phase): Uint8Array {
    return this.cached(`mask:${label}`, () => phaseMask(this.voxels.data, label));
  }

  components(label = this.phase): Components {
    return this.cached(`comp:${label}`, () => labelComponents(this.mask(label), this.voxels.shape));
  }

  /** D_eff/D0 of the transporting phase along an axis (TauFactor convention). */
  diffusion(axis: Axis): TransportResult {
    return this.cached(`diff:${axis}`, () => {
      const conductivity = new Float64Array(256);
      conductivity[this.phase] = 1;
      const components = this.components();
      return this.solving(`diffusion_${axis}`, axis, (onIteration) => {
        const r = solveTransport(this.voxels.data, this.voxels.shape, { axis, conductivity, components, onIteration });
        this.record(`diffusion_${axis}`, r);
        return r;
      });
    });
  }

  /** Effective conductivity (S/m) along an axis with a conductivity per label (S/m). */
  conduction(axis: Axis, conductivity: Float64Array, key: string): TransportResult {
    return this.cached(`cond:${key}:${axis}`, () => {
      return this.solving(`${key}_${axis}`, axis, (onIteration) => {
        const r = solveTransport(this.voxels.data, this.voxels.shape, { axis, conductivity, onIteration });
        this.record(`${key}_${axis}`, r);
        return r;
      });
    });
  }

  /**
   * A diffusion solve done elsewhere — on the tensor (GPU) path, issue #20 — used by every
   * property derived from it as if diffusion(axis) had computed it.
   */
  setDiffusion(axis: Axis, r: Omit<TransportResult, 'kernels' | 'precision'>, solver: string, extra: Record<string, string> = {}): void {
    this.memo.set(`diff:${axis}`, r);
    this.record(`diffusion_${axis}`, r, solver);
    Object.assign(this.diagnostics[`diffusion_${axis}`], extra);
  }

  private record(key: string, r: Omit<TransportResult, 'kernels' | 'precision'>, solver = 'pcg-multigrid'): void {
    this.diagnostics[key] = {
      solver,
      iterations: r.iterations,
      residual: r.relResidual,
      fluxImbalance: r.fluxImbalance,
      converged: r.converged,
      wallMs: Math.round(r.wallMs * 10) / 10,
    };
  }

  localThickness(): LocalThickness {
    return this.cached('lt', () => {
      const mask = this.mask();
      return this.solving('localThickness', undefined, () => {
        const t = performance.now();
        const lt = localThickness(mask, this.voxels.shape);
        this.diagnostics.localThickness = { wallMs: Math.round(performance.now() - t), bins: lt.diameters.length };
        return lt;
      });
    });
  }

  s2(): Float64Array {
    return this.cached('s2', () => twoPointCorrelation(this.mask(), this.voxels.shape));
  }

  /** LBM permeability (m²) of the transporting phase along an axis. */
  permeability(axis: Axis): PermeabilityResult {
    return this.cached(`perm:${axis}`, () => {
      // Open buffer layers only for samples that are not periodic along the flow axis, as
      // docs/physics.md says (review 2026-12-07: they were always added, which cost a slit
      // 11–33 % of its permeability); context lbmBuffer overrides.
      const mask = this.mask();
      const buffer = this.ctx('lbmBuffer', periodicAlong(mask, this.voxels.shape, axis) ? 0 : 4);
      return this.solving(`permeability_${axis}`, axis, (onCheck) => {
        const r = permeability(mask, this.voxels.shape, { axis, buffer, onCheck });
        this.diagnostics[`permeability_${axis}`] = {
          solver: 'lbm-d3q19-trt',
          buffer,
          iterations: r.steps,
          residual: r.change,
          converged: r.converged,
          maxMach: r.maxMach,
          wallMs: Math.round(r.wallMs),
        };
        return r;
      });
    });
  }
}
