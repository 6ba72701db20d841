import { readFileSync } from 'node:fs';
import type { DfnResult } from './dfn.js';

/**
 * Published reference data of the device models (issue 20), read from ./reference/*.csv (each
 * file names its source in its header). For tests and benches run from the sources.
 */
export function readReference(name: string): number[][] {
  const text = readFileSync(new URL(`./reference/${name}.csv`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.split(',').map(Number));
}

/** PyBaMM's Ecker 2015 set: 0.101 × 0.085 m² electrode, 0.15625 Ah nominal; the measured cell 7.5 Ah. */
const ECKER_AREA = 0.101 * 0.085;
const ECKER_MODEL_AH = 0.15625;
const ECKER_CELL_AH = 7.5;

export interface DischargeComparison {
  /** Model minus measured voltage at each measured point inside the model's range, V. */
  errors: number[];
  rmse: number;
  /** Capacity to the cut-off over nominal: model and measured (last point). */
  modelCapacity: number;
  dataCapacity: number;
}

/** Compares a DFN discharge of the Ecker set with measured (Ah, V) points, both normalised by nominal capacity. */
export function compareEckerDischarge(r: DfnResult, data: readonly number[][]): DischargeComparison {
  const model = r.capacity.map((c) => (c * ECKER_AREA) / ECKER_MODEL_AH);
  const at = (x: number) => {
    for (let k = 1; k < model.length; k++)
      if (model[k] >= x) return r.voltage[k - 1] + ((r.voltage[k] - r.voltage[k - 1]) * (x - model[k - 1])) / (model[k] - model[k - 1]);
    return NaN;
  };
  const errors = data.map(([q, v]) => at(Math.max(q, 0) / ECKER_CELL_AH) - v).filter(Number.isFinite);
  return {
    errors,
    rmse: Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length),
    modelCapacity: model[model.length - 1],
    dataCapacity: data[data.length - 1][0] / ECKER_CELL_AH,
  };
}
