import { readFileSync } from 'node:fs';
import type { DfnResult } from './dfn.js';
import { PEMFC_DEFAULTS, pemfcPoint, type PemfcInput } from './pemfc.js';

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

export interface PolarisationComparison {
  /** Calibrated ORR exchange current (A/m² at 1 atm O2) and contact resistance (Ω·m²). */
  i0: number;
  contactResistance: number;
  /** RMSE (V) on the calibration points (i ≤ split) and on the predicted ones (i > split). */
  rmseCalibration: number;
  rmsePrediction: number;
  maxErrorPrediction: number;
  points: Array<{ current: number; measured: number; model: number; calibration: boolean }>;
}

/**
 * The PEMFC model against a measured polarisation curve: the two parameters the cell's data do
 * not give — ORR exchange current and contact resistance — are fitted on the points at or below
 * `split` A/m² (kinetic + ohmic region; the resistance by linear least squares for each i0 on a
 * log grid), and the rest of the curve is predicted with the transport model unchanged.
 */
export function comparePolarisation(base: PemfcInput, data: readonly number[][], split: number): PolarisationComparison {
  const pts = data.map(([i, v]) => ({ current: i * 1e4, measured: v }));
  const cal = pts.filter((p) => p.current <= split);
  let best = { err: Infinity, i0: 0, rc: 0 };
  for (let e = -2; e <= 2.001; e += 0.05) {
    const i0 = 10 ** e;
    const v0 = cal.map((p) => pemfcPoint({ ...base, i0, contactResistance: 0 }, p.current).voltage);
    let num = 0;
    let den = 0;
    cal.forEach((p, k) => {
      num += (v0[k] - p.measured) * p.current;
      den += p.current * p.current;
    });
    const rc = Math.max(num / den, 0);
    const err = cal.reduce((s, p, k) => s + (v0[k] - rc * p.current - p.measured) ** 2, 0);
    if (err < best.err) best = { err, i0, rc };
  }
  const fitted = { ...base, i0: best.i0, contactResistance: best.rc };
  const points = pts.map((p) => ({ ...p, model: pemfcPoint(fitted, p.current).voltage, calibration: p.current <= split }));
  const rms = (xs: typeof points) => Math.sqrt(xs.reduce((s, p) => s + (p.model - p.measured) ** 2, 0) / xs.length);
  const pred = points.filter((p) => !p.calibration);
  return {
    i0: best.i0,
    contactResistance: best.rc,
    rmseCalibration: rms(points.filter((p) => p.calibration)),
    rmsePrediction: rms(pred),
    maxErrorPrediction: Math.max(...pred.map((p) => Math.abs(p.model - p.measured))),
    points,
  };
}

/**
 * The EH-31 cell as far as its published conditions go (74 °C, 1.5 bar, RH 0.4/0.6), with the
 * structure AlphaPEM estimates for it (200 µm GDL of porosity 0.79, 15 µm membrane) and stated
 * assumptions: D_eff/D0 = ε^1.5 (Bruggeman), Kozeny permeability of 7 µm fibres, θ = 110°.
 */
export function eh31Input(): PemfcInput {
  const eps = 0.79;
  const s = (4 * (1 - eps)) / 7e-6;
  return {
    ...PEMFC_DEFAULTS,
    dRel: eps ** 1.5,
    porosity: eps,
    thickness: 200e-6,
    permeability: eps ** 3 / (5 * s * s),
    contactAngleDeg: 110,
    temperatureK: 347.15,
    pressurePa: 1.5e5,
    oxygenFraction: 0.21,
    rhCathode: 0.6,
    rhAnode: 0.4,
    membraneThickness: 15e-6,
  };
}
