import { BadInputError } from '../src/core/errors.js';
import type { ContinuousParameter, Parameters, ParameterSpec, Shape3, TwinGenerateOptions, TwinStage } from '../src/core/protocols.js';

/**
 * What every twin does with its input before generating (issue 3): unknown names, values of
 * the wrong type and out-of-bounds values throw BadInputError naming the parameter and the
 * allowed range; missing parameters take their defaults.
 */
/** A continuous parameter spec, for the twins' parameter tables. */
export const continuous = (p: Omit<ContinuousParameter, 'kind'>): ContinuousParameter => ({ kind: 'continuous', ...p });

export function resolveParams(twin: string, specs: readonly ParameterSpec[], given: Parameters): Record<string, number> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      throw new BadInputError(`unknown parameter "${name}" for twin ${twin}; allowed: ${specs.map((s) => s.name).join(', ')}`, `params.${name}`);
    }
  }
  const out: Record<string, number> = {};
  for (const s of specs) {
    if (s.kind === 'categorical') throw new Error(`twin ${twin}: categorical parameters are not used by resolveParams`);
    const raw = given[s.name] ?? s.default;
    const unit = s.unit ? ` ${s.unit}` : '';
    const range = `allowed ${s.min} … ${s.max}${unit}`;
    if (raw === undefined) throw new BadInputError(`parameter "${s.name}" is required (${range})`, `params.${s.name}`);
    const v = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new BadInputError(`parameter "${s.name}" must be a number (${range}), got ${JSON.stringify(raw)}`, `params.${s.name}`);
    }
    if (s.kind === 'integer' && !Number.isInteger(v)) throw new BadInputError(`parameter "${s.name}" must be an integer (${range}), got ${v}`, `params.${s.name}`);
    if (v < s.min || v > s.max) throw new BadInputError(`parameter "${s.name}" = ${v}${unit} is out of bounds; ${range}`, `params.${s.name}`);
    out[s.name] = v;
  }
  return out;
}

/** Checks size and voxel size (what Twin.checkGrid checks beside the parameters); returns the shape. */
export function checkGrid(o: Pick<TwinGenerateOptions, 'size' | 'voxelSize'>, minSize = 4): Shape3 {
  if (!Array.isArray(o.size) || o.size.length !== 3 || o.size.some((n) => !Number.isInteger(n) || n < minSize || n > 1024)) {
    throw new BadInputError(`size must be three integers [nx, ny, nz] in ${minSize} … 1024, got ${JSON.stringify(o.size)}`, 'size');
  }
  if (o.size[0] * o.size[1] * o.size[2] > 1024 ** 3) throw new BadInputError('size exceeds 1024³ voxels', 'size');
  if (!(typeof o.voxelSize === 'number' && o.voxelSize > 0 && o.voxelSize <= 1000)) {
    throw new BadInputError(`voxelSize must be a number in (0, 1000] µm, got ${JSON.stringify(o.voxelSize)}`, 'voxelSize');
  }
  return [o.size[0], o.size[1], o.size[2]];
}

/** Checks size, voxel size, seed and untilStage; returns the index of the last stage to run. */
export function checkOptions(twin: string, stages: readonly TwinStage[], o: TwinGenerateOptions, minSize = 4): { shape: Shape3; lastStage: number } {
  const shape = checkGrid(o, minSize);
  if (!Number.isInteger(o.seed)) throw new BadInputError(`seed must be an integer, got ${String(o.seed)}`, 'seed');
  let lastStage = stages.length - 1;
  if (o.untilStage !== undefined) {
    lastStage = stages.findIndex((s) => s.name === o.untilStage);
    if (lastStage < 0) throw new BadInputError(`unknown stage "${o.untilStage}" of twin ${twin}; stages: ${stages.map((s) => s.name).join(', ')}`, 'untilStage');
  }
  return { shape, lastStage };
}

/**
 * How many mean diameters a particle or fibre must fit across the domain in plane (review
 * 2026-12-07): one of the order of the domain fills it — fibreDiameter 20 µm in 8³ voxels of
 * 1 µm came out at porosity 0 for 0.78 asked, silently. With at least two across, the domain
 * holds more than one and the volume fractions can be met; representative volumes need many
 * more (docs/twins.md), which is the user's choice, not a refusal.
 */
export const DIAMETERS_ACROSS = 2;

/**
 * For a packing that jammed: how many of the largest mean diameter the domain is across in plane.
 * A box only a few particles across jams sooner than a large one (review 2026-12-07: sofc-anode
 * with niDiameter 5 µm in 48³ voxels of 0.16 µm blamed only overlap and sinterGrowth).
 */
export function domainAcross(shape: Shape3, voxelSize: number, diameter: number): string {
  const extent = Math.min(shape[0], shape[1]) * voxelSize;
  return `the ${shape.join('×')}-voxel domain is ${+extent.toPrecision(6)} µm = ${(extent / diameter).toFixed(1)} mean diameters of ${diameter} µm across in plane, and boxes a few particles across jam sooner`;
}

/**
 * Refuses a mean diameter (µm) larger than the in-plane extent of the domain / DIAMETERS_ACROSS,
 * naming the domain and the largest diameter allowed; `where` is the parameter's key.
 */
export function checkFitsDomain(what: string, diameter: number, shape: Shape3, voxelSize: number, where: string): void {
  const extent = Math.min(shape[0], shape[1]) * voxelSize;
  const max = extent / DIAMETERS_ACROSS;
  if (diameter > max) {
    throw new BadInputError(
      `${what} ${diameter} µm does not fit the domain: ${shape.join('×')} voxels of ${voxelSize} µm is ${+extent.toPrecision(6)} µm across in plane, which holds mean diameters ≤ ${+max.toPrecision(6)} µm (${DIAMETERS_ACROSS} across); use a smaller diameter or a larger size or voxelSize`,
      where,
    );
  }
}

/** Log-normal sample with the given mean and coefficient of variation (cv = 0: the mean). */
export function lognormal(rng: { normal(): number }, mean: number, cv: number): number {
  if (cv <= 0) return mean;
  const s2 = Math.log(1 + cv * cv);
  return Math.exp(Math.log(mean) - s2 / 2 + Math.sqrt(s2) * rng.normal());
}

/** CDF of that log-normal distribution (for statistical tests and docs). */
export function lognormalCdf(x: number, mean: number, cv: number): number {
  const s2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - s2 / 2;
  return 0.5 * (1 + erf((Math.log(x) - mu) / Math.sqrt(2 * s2)));
}

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
export function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

/** Voxel counts of every label. */
export function countLabels(data: Uint8Array): Float64Array {
  const c = new Float64Array(256);
  for (let i = 0; i < data.length; i++) c[data[i]]++;
  return c;
}

/** Rounds statistics for reporting (6 significant digits keep JSON readable and stable). */
export function round6(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}
