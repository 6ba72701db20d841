import { BadInputError } from '../core/errors.js';
import type { Agent, LinearConstraint, Observation, Parameters, ParameterSpace, ParameterSpec, Shape3, Twin, Voxels } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { simulate } from '../physics/index.js';
import { labelsPresent } from '../voxel/voxels.js';
import { AXIS_NAMES, compareDescriptors, measureDescriptors, type Descriptors } from './correlation.js';
import { tauPerAxis } from './report.js';

/**
 * Twin calibration (issue #19): find the hidden parameters of a manufacturing twin (particle
 * size distribution, CBD amount, calendering, fibre diameters …) for which its structures
 * match a real volume's descriptors. The optimiser is any Agent (CMA-ES by default, chosen by
 * the CLI through src/compose: this file imports no plugin), run in ask/tell rounds on
 *
 *   loss = mean over terms of (error / tolerance)²,
 *
 * so a term at its tolerance contributes 1 and loss ≤ 1 means every term is within tolerance
 * on average. Terms (each optional by group, `props`):
 *
 * - `fraction`: the volume fraction of every label (porosity = label 0), absolute, tol 0.01;
 * - `ssa`: each label's interface area per volume, relative, tol 10 %;
 * - `psd`: each label's volume-weighted mean local thickness (the pore-size distribution's
 *   mean for the pore, the particle size for a solid; Hildebrand & Rüegsegger 1997), relative,
 *   tol 10 %;
 * - `s2`: relative RMS of S2 over lags 1…rmax and labels per axis (correlation.ts), tol 5 %;
 * - `tau`: τ per axis of each transporting label set (src/physics, τ = ε·D0/D_eff), relative,
 *   tol 10 %.
 *
 * The tolerances are the issue's targets (porosity within 0.01, S2 within 5 %, τ within 10 %);
 * SSA and PSD get 10 % as well. The agent maximises reward = −ln(1 + loss): monotone, so a
 * rank-based agent (CMA-ES) sees the same ordering, while a GP sees a less skewed surface.
 * Every evaluation uses the same twin seed (common random numbers: the optimiser compares
 * parameters, not seeds); `validate` then reports the match on seeds never used in the fit.
 */

export const CALIBRATION_PROPS = ['fraction', 'ssa', 'psd', 's2', 'tau'] as const;
export type CalibrationProp = (typeof CALIBRATION_PROPS)[number];

export const CALIBRATION_TOLERANCE: Record<CalibrationProp, number> = { fraction: 0.01, ssa: 0.1, psd: 0.1, s2: 0.05, tau: 0.1 };

export interface CalibrationDescriptors {
  /** label → volume fraction. */
  fractions: Record<number, number>;
  /** label → interface area per volume, 1/µm. */
  ssa: Record<number, number>;
  /** label → volume-weighted mean local thickness, µm. */
  thickness: Record<number, number>;
  /** "0+2" → { x, y, z } τ of those labels merged. */
  tau: Record<string, Record<string, number>>;
  /** Only when `s2` is among the props (the other groups do not need a lag range). */
  s2?: Descriptors;
}

export interface MeasureOptions {
  labels: number[];
  transport: number[][];
  rmax: number;
  props: readonly CalibrationProp[];
}

const setKey = (labels: number[]) => labels.join('+');

/** The descriptors calibration compares; only the groups in `props` are computed (τ and PSD are the slow ones). */
export async function measureCalibrationDescriptors(v: Voxels, o: MeasureOptions): Promise<CalibrationDescriptors> {
  const out: CalibrationDescriptors = { fractions: {}, ssa: {}, thickness: {}, tau: {}, ...(o.props.includes('s2') ? { s2: measureDescriptors(v, o.labels, o.rmax) } : {}) };
  const counts = new Float64Array(256);
  for (let i = 0; i < v.data.length; i++) counts[v.data[i]]++;
  for (const l of o.labels) out.fractions[l] = counts[l] / v.data.length;
  const morph = [...(o.props.includes('ssa') ? ['ssa'] : []), ...(o.props.includes('psd') ? ['poreDiameterMean'] : [])];
  if (morph.length > 0) {
    for (const l of o.labels) {
      if (counts[l] === 0) {
        out.ssa[l] = 0;
        out.thickness[l] = 0;
        continue;
      }
      const r = await simulate(v, { phase: l, properties: morph });
      if (!r.ok) throw new BadInputError(`label ${l}: ${r.error.message}`, 'descriptors');
      // physics reports SI (1/m, m); calibration reports per µm and µm, the voxel size's unit.
      if (r.value.properties.ssa !== undefined) out.ssa[l] = r.value.properties.ssa * 1e-6;
      if (r.value.properties.poreDiameterMean !== undefined) out.thickness[l] = r.value.properties.poreDiameterMean * 1e6;
    }
  }
  if (o.props.includes('tau')) for (const set of o.transport) out.tau[setKey(set)] = await tauPerAxis(v, set);
  return out;
}

export interface CalibrationTerm {
  name: string;
  group: CalibrationProp;
  generated: number;
  target: number;
  /** Absolute (fraction) or relative (the rest) error. */
  error: number;
  tolerance: number;
  within: boolean;
}

/** Every term of the loss, with generated and target values. */
export function compareCalibration(got: CalibrationDescriptors, ref: CalibrationDescriptors, o: MeasureOptions): CalibrationTerm[] {
  const terms: CalibrationTerm[] = [];
  const add = (name: string, group: CalibrationProp, g: number, t: number, relative: boolean) => {
    const error = relative ? Math.abs(g - t) / Math.abs(t) : Math.abs(g - t);
    const tolerance = CALIBRATION_TOLERANCE[group];
    terms.push({ name, group, generated: g, target: t, error, tolerance, within: error <= tolerance });
  };
  const has = (p: CalibrationProp) => o.props.includes(p);
  for (const l of o.labels) {
    if (has('fraction')) add(`fraction_${l}`, 'fraction', got.fractions[l], ref.fractions[l], false);
    if (has('ssa')) add(`ssa_${l}`, 'ssa', got.ssa[l], ref.ssa[l], true);
    if (has('psd')) add(`thickness_${l}`, 'psd', got.thickness[l], ref.thickness[l], true);
  }
  if (has('s2')) {
    const e = compareDescriptors(got.s2!, ref.s2!);
    AXIS_NAMES.forEach((a, i) => {
      if (Number.isFinite(e.s2Relative[i])) {
        const tolerance = CALIBRATION_TOLERANCE.s2;
        terms.push({ name: `s2_${a}`, group: 's2', generated: e.s2Relative[i], target: 0, error: e.s2Relative[i], tolerance, within: e.s2Relative[i] <= tolerance });
      }
    });
  }
  if (has('tau')) for (const set of o.transport) for (const a of AXIS_NAMES) add(`tau_${setKey(set)}_${a}`, 'tau', got.tau[setKey(set)][a], ref.tau[setKey(set)][a], true);
  return terms;
}

export function lossOf(terms: readonly CalibrationTerm[]): number {
  let s = 0;
  for (const t of terms) s += (t.error / t.tolerance) ** 2;
  return s / terms.length;
}

export interface CalibrateOptions {
  twin: Twin;
  /** The optimiser (any Agent; proposes in the twin's parameter units). */
  agent: Agent;
  /** The real, segmented volume; its labels must be the twin's. */
  target: Voxels;
  /** Parameters to fit (default: every continuous or integer parameter not in `fixed`). */
  fit?: string[];
  /** Parameters held at a value. */
  fixed?: Parameters;
  /** Twin evaluations (generate + measure). */
  budget: number;
  /** Proposals asked for per round (default: the agent's choice of 8). */
  batch?: number;
  /** Generated volume and voxel edge (µm; the target's voxel size is used for both). */
  size: Shape3;
  /** Twin seed of every evaluation in the fit (common random numbers). */
  twinSeed: number;
  /** Seed of the agent's random stream. */
  seed: number;
  /** Label sets whose τ is matched (e.g. [[0], [0, 2]]). */
  transport: number[][];
  props?: readonly CalibrationProp[];
  /** Longest S2 lag, voxels (only with `s2` in props); default: defaultRmax. */
  rmax?: number;
  onEvaluation?: (e: CalibrationEvaluation) => void;
}

export interface CalibrationEvaluation {
  index: number;
  params: Parameters;
  loss: number;
  /** Why the twin or a descriptor failed (NaN loss). */
  error?: string;
  terms?: CalibrationTerm[];
  ms: number;
}

export interface CalibrationResult {
  best: CalibrationEvaluation;
  /** The full parameter set of the best evaluation (fitted + fixed + defaults). */
  params: Parameters;
  /** The fitted parameters whose range the twin's checks narrowed on the generated grid (calibrationSpace). */
  narrowed: NarrowedRange[];
  evaluations: CalibrationEvaluation[];
  target: CalibrationDescriptors;
  measure: MeasureOptions;
  wallMs: number;
}

/** The grid calibration generates on: the twin's checks of parameters depend on it. */
export interface CalibrationGrid {
  size: Shape3;
  /** µm. */
  voxelSize: number;
  /** Parameters held at a value (the rest of the unfitted ones are at the twin's defaults). */
  fixed?: Parameters;
}

/** A fitted parameter whose range the grid made narrower than the twin's spec (see calibrationSpace). */
export interface NarrowedRange {
  name: string;
  unit: string;
  /** The twin's spec range. */
  spec: [number, number];
  /** The range searched: what the twin accepts on the grid. */
  searched: [number, number];
  /** The twin's refusal at the spec's bound that is outside. */
  reason: string;
}

/**
 * The agent's space: the fitted parameters, and castPorosity ≥ porosity style orderings the
 * twin requires. With `grid`, each fitted parameter's range is narrowed to the values the
 * twin's own checks (Twin.checkInput) accept on that grid (review 2026-12-07, after 163874f: a
 * particle diameter may be at most half the domain's in-plane extent, so grain-electrode's
 * spec range 1…30 µm on a 12 µm crop made every CMA-ES proposal a refusal and the calibration
 * failed; a calibration searches what the twin can generate for that domain).
 *
 * A range is found with the other parameters at their fixed values, or at their defaults moved
 * into their own accepted ranges (particleDiameter's default of 10 µm does not fit that crop
 * either, and porosity would be refused at every value beside it): pass after pass until no
 * such value moves. The checks are monotone in each parameter (the config loader relies on it
 * too, src/config/load.ts checkTwinInput), so a refused bound is moved by bisection to the last
 * accepted value. Combinations of several fitted parameters the twin refuses remain failed
 * evaluations.
 */
export function calibrationSpace(twin: Twin, fit: string[], grid?: CalibrationGrid): { space: ParameterSpace; narrowed: NarrowedRange[] } {
  const byName = new Map(twin.parameters.map((p) => [p.name, p]));
  const specs = fit.map((n) => {
    const p = byName.get(n);
    if (!p) throw new BadInputError(`twin ${twin.name} has no parameter "${n}"; allowed: ${twin.parameters.map((q) => q.name).join(', ')}`, '--fit');
    if (p.kind === 'categorical') throw new BadInputError(`"${n}" is categorical; calibration fits continuous and integer parameters only`, '--fit');
    return p;
  });
  const narrowed: NarrowedRange[] = [];
  const parameters: ParameterSpec[] = [...specs];
  if (grid && twin.checkInput) {
    const base: Parameters = { ...grid.fixed };
    const ranges = new Map<string, AcceptedRange>();
    for (let pass = 0; pass <= specs.length; pass++) {
      let moved = false;
      for (const p of specs) {
        const r = acceptedRange(twin, p, grid, base);
        if (!r) {
          // A range found on an earlier pass is gone once another parameter moved the base: kept,
          // the refusal below never fired and the space held values the twin refuses (review of 5865d33).
          ranges.delete(p.name);
          continue;
        }
        ranges.set(p.name, r);
        const at = Math.min(r.max, Math.max(r.min, p.default ?? r.min));
        if (base[p.name] !== at) (base[p.name] = at), (moved = true);
      }
      if (!moved) break;
    }
    specs.forEach((p, i) => {
      const r = ranges.get(p.name);
      if (!r) {
        const why = refusalOf(twin, grid, { ...base, [p.name]: p.default ?? p.max });
        throw new BadInputError(`twin ${twin.name} takes no ${p.name} in ${p.min} … ${p.max} on ${grid.size.join('×')} voxels of ${grid.voxelSize} µm: ${why}`, '--fit');
      }
      if (r.min === p.min && r.max === p.max) return;
      narrowed.push({ name: p.name, unit: p.unit ?? '', spec: [p.min, p.max], searched: [r.min, r.max], reason: r.reason });
      parameters[i] = { ...p, min: r.min, max: r.max, default: p.default === undefined ? undefined : Math.min(r.max, Math.max(r.min, p.default)) };
    });
  }
  // grain-electrode refuses castPorosity < porosity (calendering only densifies): the agents
  // repair onto this constraint instead of spending evaluations on refusals.
  const constraints: LinearConstraint[] = fit.includes('castPorosity') && fit.includes('porosity') ? [{ coefficients: { castPorosity: 1, porosity: -1 }, op: '>=', rhs: 0 }] : [];
  return { space: { parameters, constraints }, narrowed };
}

interface AcceptedRange {
  min: number;
  max: number;
  /** The refusal at the spec bound that is outside ('' when none is). */
  reason: string;
}

/** Why twin.checkInput refuses `params` on `grid`, or undefined when it accepts them. */
function refusalOf(twin: Twin, grid: CalibrationGrid, params: Parameters): string | undefined {
  try {
    twin.checkInput!(params, { size: grid.size, voxelSize: grid.voxelSize });
    return undefined;
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    return e.message;
  }
}

/** The range of `p` that twin.checkInput accepts on `grid` with the others at `base`; undefined when it accepts none of min, default, max. */
function acceptedRange(twin: Twin, p: Extract<ParameterSpec, { min: number }>, grid: CalibrationGrid, base: Parameters): AcceptedRange | undefined {
  const refusal = (v: number) => refusalOf(twin, grid, { ...base, [p.name]: v });
  const atMin = refusal(p.min);
  const atMax = refusal(p.max);
  if (atMin === undefined && atMax === undefined) return { min: p.min, max: p.max, reason: '' };
  const anchor = [p.default, p.min, p.max].find((v) => v !== undefined && refusal(v) === undefined);
  if (anchor === undefined) return undefined;
  // Bisection between an accepted value and a refused bound; returns the last accepted value,
  // as a short decimal where that is accepted too (6, not 5.999999999999999).
  const edge = (ok: number, refused: number): number => {
    for (;;) {
      const mid = p.kind === 'integer' ? Math.trunc((ok + refused) / 2) : (ok + refused) / 2;
      if (mid === ok || mid === refused) break;
      if (refusal(mid) === undefined) ok = mid;
      else refused = mid;
    }
    const short = +ok.toPrecision(6);
    return short !== ok && short >= p.min && short <= p.max && refusal(short) === undefined ? short : ok;
  };
  return {
    min: atMin === undefined ? p.min : edge(anchor, p.min),
    max: atMax === undefined ? p.max : edge(anchor, p.max),
    reason: (atMax ?? atMin)!,
  };
}

export async function calibrateTwin(o: CalibrateOptions): Promise<CalibrationResult> {
  const t0 = performance.now();
  const fixed = o.fixed ?? {};
  const fit = o.fit ?? o.twin.parameters.filter((p) => p.kind !== 'categorical' && !(p.name in fixed)).map((p) => p.name);
  if (fit.length === 0) throw new BadInputError('nothing to fit: every parameter is fixed', '--fit');
  for (const n of fit) if (n in fixed) throw new BadInputError(`"${n}" is both fitted and fixed`, '--fit');
  if (!Number.isInteger(o.budget) || o.budget < 2) throw new BadInputError(`budget must be an integer ≥ 2 evaluations, got ${o.budget}`, '--budget');
  const { space, narrowed } = calibrationSpace(o.twin, fit, { size: o.size, voxelSize: o.target.voxelSize, fixed });
  const labels = labelsPresent(o.target);
  const twinLabels = Object.keys(o.twin.phases).map(Number);
  const foreign = labels.filter((l) => !twinLabels.includes(l));
  if (foreign.length > 0) {
    throw new BadInputError(`the target has labels ${foreign.join(', ')} that twin ${o.twin.name} does not make (its labels: ${Object.entries(o.twin.phases).map(([k, v]) => `${k} ${v}`).join(', ')}); relabel the volume first`, '--to');
  }
  const props = o.props ?? CALIBRATION_PROPS;
  const measure: MeasureOptions = { labels, transport: o.transport, rmax: o.rmax ?? defaultRmax(o.size, o.target.shape), props };
  if (props.includes('s2')) checkRmax(measure.rmax, o.size, o.target.shape);
  const target = await measureCalibrationDescriptors(o.target, measure);
  for (const [key, tau] of Object.entries(target.tau)) {
    for (const a of AXIS_NAMES) {
      if (!Number.isFinite(tau[a])) throw new BadInputError(`labels ${key} of the target do not percolate along ${a} (τ infinite): nothing to match; choose other --transport labels or a larger crop`, '--transport');
    }
  }
  const rng = createRng(o.seed).fork('calibrate-agent');
  const history: Observation[] = [];
  const evaluations: CalibrationEvaluation[] = [];
  while (evaluations.length < o.budget) {
    const k = Math.min(o.batch ?? 8, o.budget - evaluations.length);
    const proposals = await o.agent.propose({ space, history, rng }, k);
    const round: Observation[] = [];
    for (const p of proposals.slice(0, k)) {
      const e = await evaluateParams(o, { ...fixed, ...p }, measure, target, o.twinSeed, evaluations.length);
      evaluations.push(e);
      o.onEvaluation?.(e);
      const ob: Observation = { params: p, reward: Number.isFinite(e.loss) ? -Math.log1p(e.loss) : NaN, fidelity: 'simulation' };
      history.push(ob);
      round.push(ob);
    }
    await o.agent.learn(round);
  }
  const finite = evaluations.filter((e) => Number.isFinite(e.loss));
  if (finite.length === 0) throw new BadInputError(`every one of ${evaluations.length} evaluations failed; first: ${evaluations[0].error}`, 'calibrate');
  const best = finite.reduce((a, b) => (b.loss < a.loss ? b : a));
  return { best, params: { ...best.params }, narrowed, evaluations, target, measure, wallMs: performance.now() - t0 };
}

/** The sides S2 is measured along: every side of the generated volume, and the target's beyond 1 (a 2D image has no z lags). */
const s2Sides = (size: Shape3, target: Shape3) => [...size, ...target.filter((n) => n > 1)];

/**
 * The S2 lag range when none is given: 16 voxels, or half the smallest side of the generated
 * volume and the target when that is less. Review 2026-12-07 (item 3): a fixed 16 refused the
 * 32×24×16 NMC crop by default, blaming --size, which was not given; half a side keeps every
 * lag on at least half of each line's voxel pairs.
 */
export function defaultRmax(size: Shape3, target: Shape3): number {
  return Math.max(1, Math.min(16, Math.floor(Math.min(...s2Sides(size, target)) / 2)));
}

/** An S2 lag range every compared axis holds: a side ≤ rmax would drop its axis from the match (correlation.ts). */
function checkRmax(rmax: number, size: Shape3, target: Shape3): void {
  if (s2Sides(size, target).every((n) => n > rmax)) return;
  throw new BadInputError(
    `S2 lags up to ${rmax} voxels need every side to exceed ${rmax}: the generated volume is ${size.join('×')}, the target ${target.join('×')}; give a smaller --rmax (${defaultRmax(size, target)}, half the smallest side, when omitted), a larger --size, or leave s2 out of --props`,
    '--rmax',
  );
}

/** One twin evaluation: generate at `seed`, measure, compare. Failures (refused parameters, no percolation) give NaN loss. */
export async function evaluateParams(
  o: Pick<CalibrateOptions, 'twin' | 'size' | 'target'>,
  params: Parameters,
  measure: MeasureOptions,
  target: CalibrationDescriptors,
  seed: number,
  index = 0,
): Promise<CalibrationEvaluation> {
  const t = performance.now();
  try {
    const out = o.twin.generate(params, { seed, size: o.size, voxelSize: o.target.voxelSize });
    const got = await measureCalibrationDescriptors(out.voxels, measure);
    const terms = compareCalibration(got, target, measure);
    const bad = terms.find((x) => !Number.isFinite(x.error));
    // A generated phase that does not percolate has τ = ∞: a failed structure, not a number to rank.
    if (bad) return { index, params, loss: NaN, error: `${bad.name} = ${bad.generated} (target ${bad.target})`, terms, ms: performance.now() - t };
    return { index, params, loss: lossOf(terms), terms, ms: performance.now() - t };
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    return { index, params, loss: NaN, error: e.message, ms: performance.now() - t };
  }
}

/** The best parameters' match on seeds the fit never used (the spread a user will see). */
export async function validateCalibration(
  o: Pick<CalibrateOptions, 'twin' | 'size' | 'target'>,
  params: Parameters,
  measure: MeasureOptions,
  target: CalibrationDescriptors,
  seeds: number[],
): Promise<CalibrationEvaluation[]> {
  const out: CalibrationEvaluation[] = [];
  for (const s of seeds) out.push(await evaluateParams(o, params, measure, target, s, s));
  return out;
}
