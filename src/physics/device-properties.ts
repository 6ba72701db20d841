import { SimulationError } from '../core/errors.js';
import type { Analysis } from './analysis.js';
import { dfnDischarge, ecker2015, ECKER_1C, type DfnParams } from './device/dfn.js';
import { cassieContactAngle, PEMFC_DEFAULTS, pemfcLimitingCurrent, pemfcPoint, type PemfcInput } from './device/pemfc.js';
import { agedAnode, nickelConductivity, SOFC_DEFAULTS, sofcAnodeLoss, yszConductivity, type SofcAnodeInput } from './device/sofc.js';
import { specificSurface } from './morphology.js';
import type { PropertyDef } from './properties.js';

/**
 * Device-model properties (issue 20): the PEMFC 1D cell with liquid water, the Li-ion DFN cell
 * and the SOFC anode with Ni coarsening, each fed by the pore-scale solves of an Analysis.
 * Through-plane is z. docs/physics.md lists the context keys and assumptions.
 */

const surface = (a: Analysis, l: number, m?: number) => specificSurface(a.voxels.data, a.voxels.shape, l, m) / a.voxelM;
const thick = (a: Analysis) => a.ctx('thickness', a.length('z'));

/** PEMFC inputs from a GDL volume: D_eff/D0 and ε from the solve, K by Kozeny, θ by Cassie. */
export function pemfcInputFromAnalysis(a: Analysis): PemfcInput {
  const eps = a.fraction();
  const s = surface(a, a.phase);
  const ptfe = a.ctx('ptfeLabel', 3);
  const ptfeShare = s > 0 && ptfe !== a.phase ? surface(a, a.phase, ptfe) / s : 0;
  return {
    ...PEMFC_DEFAULTS,
    dRel: a.diffusion('z').effective,
    porosity: eps,
    thickness: thick(a),
    // Kozeny: K = ε³/(k_K·S²), S the pore surface per volume, k_K = 5 (Carman 1937).
    permeability: a.ctx('gdlPermeability', s > 0 ? eps ** 3 / (5 * s * s) : 0),
    contactAngleDeg: a.ctx('contactAngle', cassieContactAngle(ptfeShare, a.ctx('thetaPtfe', 108), a.ctx('thetaCarbon', 80))),
    temperatureK: a.ctx('temperature', 353.15),
    pressurePa: a.ctx('pressure', 150_000),
    oxygenFraction: a.ctx('oxygenFraction', 0.21),
    rhCathode: a.ctx('rhCathode', PEMFC_DEFAULTS.rhCathode),
    rhAnode: a.ctx('rhAnode', PEMFC_DEFAULTS.rhAnode),
    membraneThickness: a.ctx('membraneThickness', PEMFC_DEFAULTS.membraneThickness),
    i0: a.ctx('orrExchangeCurrent', PEMFC_DEFAULTS.i0),
  };
}

/** The Ecker 2015 cell with its positive electrode replaced by the analysed volume. */
export function dfnParamsFromAnalysis(a: Analysis): { params: DfnParams; current1C: number } {
  const base = ecker2015();
  const am = a.ctx('activeLabel', 1);
  const epsAm = a.fraction(am);
  const sAm = surface(a, am);
  const L = a.ctx('electrodeThickness', thick(a));
  // Capacity ratio of the new positive to Ecker's: the negative is scaled to keep Ecker's N/P.
  const ratio = (epsAm * L) / (base.positive.activeFraction * base.positive.thickness);
  const params: DfnParams = {
    ...base,
    cutoffVoltage: a.ctx('cutoffVoltage', base.cutoffVoltage),
    negative: { ...base.negative, thickness: base.negative.thickness * ratio },
    positive: {
      ...base.positive,
      thickness: L,
      porosity: a.fraction(),
      activeFraction: epsAm,
      transportFactor: a.diffusion('z').effective,
      specificArea: surface(a, a.phase, am),
      particleRadius: sAm > 0 ? (3 * epsAm) / sAm : base.positive.particleRadius,
    },
  };
  return { params, current1C: ECKER_1C * ratio };
}

/** DFN capacities per Analysis and C-rate, so capacity and retention share their runs. */
const DFN_MEMO = new WeakMap<Analysis, Map<string, number>>();

function dfnCapacity(a: Analysis, cRate: number): number {
  const key = `dfn:${cRate}`;
  const memo = DFN_MEMO.get(a) ?? new Map<string, number>();
  DFN_MEMO.set(a, memo);
  if (!memo.has(key)) {
    const { params, current1C } = dfnParamsFromAnalysis(a);
    if (!(params.positive.activeFraction > 0) || !(params.positive.transportFactor! > 0)) memo.set(key, 0);
    else {
      const t = performance.now();
      const r = dfnDischarge(params, current1C * cRate, (1.5 * 3600) / cRate);
      const vEnd = r.voltage[r.voltage.length - 1];
      a.diagnostics[`dfn_${cRate}C`] = { solver: 'dfn-mol-newton', steps: r.time.length, residualEvaluations: r.residualEvaluations, reachedCutoff: r.reachedCutoff, endVoltage: vEnd, ...r.surfaceStoichiometry, ms: Math.round(performance.now() - t) };
      // Time steps can collapse on the knee at the end of discharge: where an electrode's
      // surface is exhausted (positive c_s,surf → c_max, negative → 0), i0 ∝ √(c_max − c_s) → 0
      // and Newton fails before the cut-off is crossed. The capacity to the last converged step
      // is then the discharge capacity to within the knee. A failure with both surfaces away
      // from their limits is an error, not a capacity.
      const { negativeMin, positiveMax } = r.surfaceStoichiometry;
      if (!r.reachedCutoff && positiveMax < 0.999 && negativeMin > 0.001) {
        throw new SimulationError(
          `dfnCapacity: DFN time stepping failed at ${vEnd.toFixed(3)} V, above the ${params.cutoffVoltage} V cut-off, with no electrode surface exhausted (positive max ${positiveMax.toFixed(4)}, negative min ${negativeMin.toFixed(4)})`,
          'not-converged',
        );
      }
      memo.set(key, r.capacityToCutoff);
    }
  }
  return memo.get(key)!;
}

/** SOFC anode inputs: active TPB from the volume, phase conductivities from two conduction solves. */
export function sofcInputFromAnalysis(a: Analysis, tpbActive: number): SofcAnodeInput {
  const T = a.ctx('temperature', SOFC_DEFAULTS.temperature);
  const ni = a.ctx('niLabel', 1);
  const ysz = a.ctx('yszLabel', 2);
  const sIon = new Float64Array(256);
  sIon[ysz] = yszConductivity(T);
  const sEl = new Float64Array(256);
  sEl[ni] = nickelConductivity(T);
  return {
    tpbDensity: tpbActive,
    sigmaIonic: a.conduction('z', sIon, 'ionicYsz').effective,
    sigmaElectronic: a.conduction('z', sEl, 'electronicNi').effective,
    thickness: thick(a),
    temperatureK: T,
    i0Tpb: a.ctx('i0Tpb', SOFC_DEFAULTS.i0Tpb),
    alphaA: SOFC_DEFAULTS.alphaA,
    alphaC: SOFC_DEFAULTS.alphaC,
  };
}

function niShare(a: Analysis): number {
  const ni = a.fraction(a.ctx('niLabel', 1));
  const ysz = a.fraction(a.ctx('yszLabel', 2));
  return ni + ysz > 0 ? ni / (ni + ysz) : 0;
}

/** The device property definitions; `tpbActive` is the active-TPB property of ./properties.ts. */
export function deviceProperties(tpbActive: (a: Analysis) => number): Record<string, PropertyDef> {
  const current = (a: Analysis, fallback: number) => a.ctx('currentDensity', fallback);
  // The context keys each model reads (PropertyDef.context): pemfcInputFromAnalysis, dfnParamsFromAnalysis, sofcAt.
  const pemfc = ['ptfeLabel', 'gdlPermeability', 'contactAngle', 'thetaPtfe', 'thetaCarbon', 'temperature', 'pressure', 'oxygenFraction', 'rhCathode', 'rhAnode', 'membraneThickness', 'orrExchangeCurrent', 'thickness'];
  const dfn = ['activeLabel', 'electrodeThickness', 'thickness', 'cutoffVoltage', 'cRate'];
  const sofc = ['temperature', 'niLabel', 'yszLabel', 'thickness', 'i0Tpb', 'currentDensity'];
  const sofcAt = (a: Analysis, hours: number) => {
    const p = sofcInputFromAnalysis(a, tpbActive(a));
    const aged = hours > 0 ? agedAnode(p, hours, niShare(a), a.ctx('niGrowthAt1000h', 1.3)) : p;
    return sofcAnodeLoss(aged, current(a, SOFC_DEFAULTS.currentDensity)).loss;
  };
  return {
    pemfcVoltage: {
      unit: 'V',
      definition:
        'PEMFC cell voltage at context currentDensity A/m² [15000 = 1.5 A/cm²] from the 1D model: Nernst − Butler–Volmer ORR at the catalyst-layer O2 pressure − i·(Springer membrane + CL/3 + contact); O2 through the GDL with liquid water (Leverett J, contact angle by Cassie from the PTFE share of the pore surface, k_rl = s³, D ∝ (1 − s)²). 0 above the limiting current.',
      solve: 'diffusion_z',
      context: [...pemfc, 'currentDensity'],
      simulator: 'pemfc',
      cost: 2,
      compute: (a) => pemfcPoint(pemfcInputFromAnalysis(a), current(a, 15000)).voltage,
    },
    pemfcLimitingCurrentWet: {
      unit: 'A/m^2',
      definition: 'PEMFC O2 limiting current with flooding: current at which O2 at the catalyst layer reaches zero, the GDL saturation profile depending on the current (1D model of pemfcVoltage).',
      solve: 'diffusion_z',
      context: pemfc,
      simulator: 'pemfc',
      cost: 2,
      compute: (a) => pemfcLimitingCurrent(pemfcInputFromAnalysis(a)),
    },
    pemfcSaturation: {
      unit: '1',
      definition: 'Liquid-water saturation of the GDL at the catalyst-layer face at context currentDensity [15000 A/m²] (1D model of pemfcVoltage).',
      solve: 'diffusion_z',
      context: [...pemfc, 'currentDensity'],
      simulator: 'pemfc',
      cost: 2,
      compute: (a) => pemfcPoint(pemfcInputFromAnalysis(a), current(a, 15000)).sCl,
    },
    dfnCapacity: {
      unit: 'A*h/m^2',
      definition:
        'Li-ion DFN discharge capacity to the cut-off (context cutoffVoltage [2.5 V]) at context cRate [1] of the Ecker 2015 cell whose positive electrode is the volume: its porosity, active fraction (label activeLabel [1]), ε/τ = (D_eff/D0)_z, pore–active area and particle radius 3ε_am/S_am; negative scaled to keep the N/P ratio.',
      solve: 'diffusion_z',
      context: dfn,
      simulator: 'liion',
      cost: 3,
      compute: (a) => dfnCapacity(a, a.ctx('cRate', 1)),
    },
    dfnCapacityRetention: {
      unit: '1',
      definition: 'dfnCapacity at context cRate [1] divided by dfnCapacity at C/10: the rate capability of the DFN cell.',
      solve: 'diffusion_z',
      context: dfn,
      simulator: 'liion',
      cost: 3,
      compute: (a) => {
        const low = dfnCapacity(a, 0.1);
        return low > 0 ? dfnCapacity(a, a.ctx('cRate', 1)) / low : 0;
      },
    },
    sofcAnodeLoss: {
      unit: 'V',
      definition:
        'SOFC anode voltage loss (activation + ionic + electronic) at context currentDensity A/m² [5000] and temperature [1073.15 K]: 1D Butler–Volmer per active TPB length (context i0Tpb A/m [1e-3]) with YSZ/Ni effective conductivities from conduction solves (labels yszLabel [2], niLabel [1]).',
      solve: 'conduction_z',
      context: sofc,
      simulator: 'sofc',
      cost: 2,
      compute: (a) => sofcAt(a, 0),
    },
    sofcAnodeLossAged: {
      unit: 'V',
      definition:
        'sofcAnodeLoss after context agingHours [1000] of Ni coarsening (d⁴ − d0⁴ ∝ t, context niGrowthAt1000h [1.3]): TPB ∝ 1/d_Ni, Ni conductivity × the change of its coordination-number percolation probability.',
      solve: 'conduction_z',
      context: [...sofc, 'agingHours', 'niGrowthAt1000h'],
      simulator: 'sofc',
      cost: 2,
      compute: (a) => sofcAt(a, a.ctx('agingHours', SOFC_DEFAULTS.agingHours)),
    },
  };
}
