import { BadInputError } from '../core/errors.js';
import type { Voxels } from '../core/protocols.js';
import { simulate } from '../physics/index.js';
import { createVoxels } from '../voxel/voxels.js';
import { AXIS_NAMES, compareDescriptors, measureDescriptors, type Descriptors } from './correlation.js';

/**
 * How well a generated volume matches what it was made to match (issue #19, "report how well
 * the result matches"): phase fractions, S2 and lineal-path error per axis against the target
 * functions and, when the real volume is known, against the real volume's own functions, and
 * τ per axis of a transporting phase set (src/physics) for both.
 */
export interface MatchReport {
  fractions: { generated: Record<number, number>; reference: Record<number, number> };
  /** Per axis x, y, z: relative RMS over lags of S2 (and the stricter variance-normalised one), of L. */
  s2Error: Record<string, number>;
  s2ErrorOfVariance: Record<string, number>;
  lpError: Record<string, number>;
  /** τ per axis of `transport` labels merged into one phase, generated and reference. */
  tau?: { labels: number[]; generated: Record<string, number>; reference?: Record<string, number>; relativeError?: Record<string, number> };
}

/** Labels `set` become 0, everything else 1: the transporting phase for physics. */
export function mergeLabels(v: Voxels, set: number[]): Voxels {
  const inSet = new Uint8Array(256);
  for (const l of set) inSet[l] = 1;
  const data = new Uint8Array(v.data.length);
  for (let i = 0; i < data.length; i++) data[i] = inSet[v.data[i]] ? 0 : 1;
  return createVoxels(v.shape, v.voxelSize, { 0: `labels ${set.join('+')}`, 1: 'rest' }, data);
}

export async function tauPerAxis(v: Voxels, labels: number[]): Promise<Record<string, number>> {
  const merged = mergeLabels(v, labels);
  const r = await simulate(merged, { phase: 0, properties: ['tau_x', 'tau_y', 'tau_z'] });
  if (!r.ok) throw new BadInputError(`τ could not be computed: ${r.error.message}`, 'tau');
  return { x: r.value.properties.tau_x, y: r.value.properties.tau_y, z: r.value.properties.tau_z };
}

export async function matchReport(
  generated: Voxels,
  reference: { target: Descriptors; volume?: Voxels },
  options: { transport?: number[]; periodicGenerated?: boolean } = {},
): Promise<MatchReport> {
  const { phases, rmax } = reference.target;
  const got = measureDescriptors(generated, phases, rmax, options.periodicGenerated ?? false);
  const ref = reference.volume ? measureDescriptors(reference.volume, phases, rmax) : reference.target;
  const err = compareDescriptors(got, ref);
  const perAxis = (xs: number[]) => Object.fromEntries(AXIS_NAMES.map((a, i) => [a, xs[i]]));
  const report: MatchReport = {
    fractions: {
      generated: Object.fromEntries(phases.map((p, k) => [p, got.fractions[k]])),
      reference: Object.fromEntries(phases.map((p, k) => [p, ref.fractions[k]])),
    },
    s2Error: perAxis(err.s2Relative),
    s2ErrorOfVariance: perAxis(err.s2OfVariance),
    lpError: perAxis(err.lpRelative),
  };
  if (options.transport) {
    const g = await tauPerAxis(generated, options.transport);
    report.tau = { labels: options.transport, generated: g };
    if (reference.volume) {
      const r = await tauPerAxis(reference.volume, options.transport);
      report.tau.reference = r;
      report.tau.relativeError = Object.fromEntries(Object.keys(g).map((a) => [a, Math.abs(g[a] - r[a]) / r[a]]));
    }
  }
  return report;
}
