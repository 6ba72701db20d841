import { BadInputError, SimulationError } from '../core/errors.js';
import type { PropertyInfo } from '../core/protocols.js';
import type { Analysis } from './analysis.js';
import {
  airViscosity,
  darcyPressureDrop,
  ionicTimeConstant,
  limitingCurrentDensity,
  oxygenDiffusivityInAir,
  transportLimitedCRate,
} from './device.js';
import { deviceProperties } from './device-properties.js';
import { AXES, type Axis } from './labelling.js';
import { chordLengths, connectivity, correlationLength, specificSurface, thicknessStats, triplePhaseBoundary } from './morphology.js';

/**
 * The property catalogue of the P-model: every name usable in a reward expression, its SI
 * unit, its definition, the simulator that provides it and how it is computed from an
 * Analysis. docs/physics.md is the long form of this table.
 */
export interface PropertyDef extends PropertyInfo {
  simulator: string;
  /** Relative cost, to let callers leave out slow properties (1 = ms, 2 = a solve, 3 = LBM). */
  cost: 1 | 2 | 3;
  /** Key of the solver diagnostics (Analysis.diagnostics) behind the value, if any. */
  solve?: string;
  /**
   * The context keys (SimulateOptions.context) `compute` reads; `sigma_<label>` stands for every
   * sigma_0, sigma_1, …. The loader refuses a predict.context key no chosen property reads
   * (review 2026-12-07: `agingHour: 5000` ran with the 1000 h default, silently); a test checks
   * it against the keys compute really reads (properties.test.ts).
   */
  context?: readonly string[];
  compute(a: Analysis): number;
}

/** Operating-condition defaults of the device models (keys of SimulateOptions.context). */
export const CONTEXT_DEFAULTS = {
  temperature: 353.15,
  pressure: 150_000,
  oxygenFraction: 0.21,
  gasVelocity: 0.01,
  kappaElectrolyte: 1.0,
  electrolyteDiffusivity: 3e-10,
  solidConductivity: 100,
} as const;

const THROUGH: Axis = 'z';

/** What a context value must be: a test and the words that say what is allowed. */
type ContextRule = readonly [(v: number) => boolean, string];
const positive = (unit: string): ContextRule => [(v) => v > 0, `> 0 ${unit}`];
const nonNegative = (unit: string): ContextRule => [(v) => v >= 0, `≥ 0 ${unit}`];
const fraction: ContextRule = [(v) => v >= 0 && v <= 1, 'from 0 to 1'];
const angle: ContextRule = [(v) => v >= 0 && v <= 180, 'from 0 to 180 degrees'];
const label: ContextRule = [(v) => Number.isInteger(v) && v >= 0 && v <= 255, 'an integer label 0..255'];

/**
 * The allowed values of the context keys the models read (review 2026-12-07: temperature = −10
 * and thickness = 0 went into the models unchecked and came out as NaN, printed "Infinity").
 * Keys not listed are not read by any model and are not checked.
 */
const CONTEXT_RULES: Readonly<Record<string, ContextRule>> = {
  temperature: positive('K'),
  pressure: positive('Pa'),
  oxygenFraction: fraction,
  thickness: positive('m'),
  electrodeThickness: positive('m'),
  membraneThickness: positive('m'),
  gasVelocity: nonNegative('m/s'),
  kappaElectrolyte: nonNegative('S/m'),
  electrolyteDiffusivity: positive('m²/s'),
  gdlPermeability: nonNegative('m²'),
  contactAngle: angle,
  thetaPtfe: angle,
  thetaCarbon: angle,
  // Relative humidity: above 1 is supersaturated feed, which the PEMFC model takes.
  rhCathode: nonNegative(''),
  rhAnode: nonNegative(''),
  orrExchangeCurrent: positive('A/m²'),
  i0Tpb: positive('A/m'),
  currentDensity: nonNegative('A/m²'),
  cutoffVoltage: positive('V'),
  cRate: positive('1/h'),
  agingHours: nonNegative('h'),
  niGrowthAt1000h: [(v) => v >= 1, '≥ 1 (Ni diameter ratio after 1000 h: coarsening only grows)'],
  ptfeLabel: label,
  activeLabel: label,
  niLabel: label,
  yszLabel: label,
  lbmBuffer: [(v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0 (voxels)'],
};

/**
 * Throws BadInputError naming the first context value that is not allowed, with the value and
 * what is allowed. Every value must be a finite number; sigma_<label> (S/m) must be ≥ 0.
 */
export function checkContext(context: Readonly<Record<string, number>>): void {
  for (const [key, v] of Object.entries(context)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(`context ${key} = ${v}: must be a finite number`);
    if (/^sigma_\d+$/.test(key)) {
      if (v < 0) throw new BadInputError(`context ${key} = ${v}: negative conductivities are refused; must be ≥ 0 S/m`);
      continue;
    }
    const rule = CONTEXT_RULES[key];
    if (rule && !rule[0](v)) throw new BadInputError(`context ${key} = ${v}: must be ${rule[1].trim()}`);
  }
}

function thickness(a: Analysis): number {
  return a.ctx('thickness', a.length(THROUGH));
}

function dRel(a: Analysis, axis: Axis): number {
  return a.diffusion(axis).effective;
}

/** Per-label conductivity (S/m) from context keys sigma_<label>, else defaults. */
function solidConductivities(a: Analysis): Float64Array {
  const s = new Float64Array(256);
  for (const l of Object.keys(a.voxels.phases).map(Number)) {
    if (l === a.phase) continue;
    s[l] = a.ctx(`sigma_${l}`, CONTEXT_DEFAULTS.solidConductivity);
  }
  return s;
}

function threeLabels(a: Analysis): [number, number, number] {
  const present: number[] = [];
  const seen = new Uint8Array(256);
  for (const v of a.voxels.data) seen[v] = 1;
  for (let l = 0; l < 256; l++) if (seen[l]) present.push(l);
  if (present.length !== 3 || !present.includes(a.phase)) {
    throw new SimulationError(
      `triple-phase boundary needs a volume with exactly three labels including the pore label ${a.phase}; found labels ${present.join(', ')}`,
      'bad-input',
    );
  }
  return present as [number, number, number];
}

function tpbDensity(a: Analysis, active: boolean): number {
  const r = triplePhaseBoundary(a.voxels.data, a.voxels.shape, threeLabels(a), THROUGH);
  // Edge count × voxel edge × 2/3 (the isotropic correction of a staircase length, as for
  // the face count of ./morphology.ts) per total volume.
  const edges = active ? r.activeEdges : r.edges;
  return ((2 / 3) * edges * a.voxelM) / (a.voxels.data.length * a.voxelM ** 3);
}

const defs: Record<string, PropertyDef> = {
  porosity: {
    unit: '1',
    definition: 'Volume fraction of the transporting phase (label `phase`, default 0 = pore), isolated pores included.',
    simulator: 'morphology',
    cost: 1,
    compute: (a) => a.fraction(),
  },
  ssa: {
    unit: 'm^-1',
    definition:
      'Specific surface area: area of the interface between the transporting phase and all other phases per total volume; voxel face count × 2/3 (Cauchy projection correction).',
    simulator: 'morphology',
    cost: 1,
    compute: (a) => specificSurface(a.voxels.data, a.voxels.shape, a.phase) / a.voxelM,
  },
  poreDiameterMean: {
    unit: 'm',
    definition: 'Volume-weighted mean local thickness (largest inscribed sphere diameter) of the transporting phase.',
    solve: 'localThickness',
    simulator: 'morphology',
    cost: 2,
    compute: (a) => thicknessStats(a.localThickness()).mean * a.voxelM,
  },
  poreDiameterD50: {
    unit: 'm',
    definition: 'Median of the volume-weighted local-thickness distribution: half the phase volume lies in pores at least this wide.',
    solve: 'localThickness',
    simulator: 'morphology',
    cost: 2,
    compute: (a) => thicknessStats(a.localThickness()).d50 * a.voxelM,
  },
  correlationLength: {
    unit: 'm',
    definition: 'Distance at which the two-point correlation S2(r) − φ² of the phase falls to 1/e of φ − φ² (axis-averaged).',
    simulator: 'morphology',
    cost: 2,
    compute: (a) => correlationLength(a.s2()) * a.voxelM,
  },
  tpbDensity: {
    unit: 'm^-2',
    definition:
      'Triple-phase-boundary length per total volume (three-label volumes only): voxel edges where all three phases meet × edge length × 2/3.',
    simulator: 'morphology',
    cost: 1,
    compute: (a) => tpbDensity(a, false),
  },
  tpbActiveDensity: {
    unit: 'm^-2',
    definition:
      'Active TPB length per total volume: TPB edges whose three adjacent phases all belong to clusters percolating through-plane (z) — gas, ion and electron paths all connected.',
    simulator: 'sofc',
    cost: 1,
    compute: (a) => tpbDensity(a, true),
  },
  limitingCurrent: {
    unit: 'A/m^2',
    definition:
      'PEMFC O2 limiting current density set by the GDL: 4F·(D_eff/D0)_z·D_O2,air(T,p)·x_O2·p/(RT)/L (context: temperature K, pressure Pa, oxygenFraction, thickness m = sample z length). Divide by 1e4 for A/cm².',
    solve: 'diffusion_z',
    context: ['temperature', 'pressure', 'oxygenFraction', 'thickness'],
    simulator: 'pemfc',
    cost: 2,
    compute: (a) =>
      limitingCurrentDensity({
        dRel: dRel(a, THROUGH),
        thickness: thickness(a),
        temperatureK: a.ctx('temperature', CONTEXT_DEFAULTS.temperature),
        pressurePa: a.ctx('pressure', CONTEXT_DEFAULTS.pressure),
        oxygenFraction: a.ctx('oxygenFraction', CONTEXT_DEFAULTS.oxygenFraction),
      }),
  },
  oxygenDiffusivityEff: {
    unit: 'm^2/s',
    definition: 'Through-plane effective O2 diffusivity of the GDL: (D_eff/D0)_z · D_O2,air(T, p) (Fuller correlation).',
    solve: 'diffusion_z',
    context: ['temperature', 'pressure'],
    simulator: 'pemfc',
    cost: 2,
    compute: (a) =>
      dRel(a, THROUGH) *
      oxygenDiffusivityInAir(a.ctx('temperature', CONTEXT_DEFAULTS.temperature), a.ctx('pressure', CONTEXT_DEFAULTS.pressure)),
  },
  pressureDrop: {
    unit: 'Pa',
    definition:
      'Through-plane Darcy pressure drop μ_air(T)·u·L/k_z at superficial gas velocity u (context gasVelocity m/s, default 0.01) across thickness L; needs the LBM permeability_z.',
    solve: 'permeability_z',
    context: ['temperature', 'gasVelocity', 'thickness', 'lbmBuffer'],
    simulator: 'pemfc',
    cost: 3,
    compute: (a) =>
      darcyPressureDrop(
        a.permeability(THROUGH).kLattice * a.voxelM ** 2,
        airViscosity(a.ctx('temperature', CONTEXT_DEFAULTS.temperature)),
        a.ctx('gasVelocity', CONTEXT_DEFAULTS.gasVelocity),
        thickness(a),
      ),
  },
  sigma_ionic: {
    unit: 'S/m',
    definition: 'Li-ion electrode through-plane effective ionic conductivity κ·(D_eff/D0)_z (context kappaElectrolyte S/m, default 1.0).',
    solve: 'diffusion_z',
    context: ['kappaElectrolyte'],
    simulator: 'liion',
    cost: 2,
    compute: (a) => a.ctx('kappaElectrolyte', CONTEXT_DEFAULTS.kappaElectrolyte) * dRel(a, THROUGH),
  },
  sigma_electronic: {
    unit: 'S/m',
    definition:
      'Through-plane effective electronic conductivity of all non-pore phases, each with conductivity sigma_<label> S/m (context; default 100), harmonic-mean face conductances.',
    solve: 'electronic_z',
    context: ['sigma_<label>'],
    simulator: 'liion',
    cost: 2,
    compute: (a) => a.conduction(THROUGH, solidConductivities(a), 'electronic').effective,
  },
  macMullin: {
    unit: '1',
    definition: 'MacMullin number N_M = κ/κ_eff = τ_z/ε = 1/(D_eff/D0)_z; Infinity when the pore does not percolate through-plane.',
    solve: 'diffusion_z',
    simulator: 'liion',
    cost: 2,
    compute: (a) => {
      const d = dRel(a, THROUGH);
      return d > 0 ? 1 / d : Infinity;
    },
  },
  ionicTimeConstant: {
    unit: 's',
    definition: 'Electrolyte transport time constant L²·τ_z/D_e (context electrolyteDiffusivity m²/s, default 3e-10; thickness m).',
    solve: 'diffusion_z',
    context: ['thickness', 'electrolyteDiffusivity'],
    simulator: 'liion',
    cost: 2,
    compute: (a) => {
      const d = dRel(a, THROUGH);
      const tau = d > 0 ? a.fraction() / d : Infinity;
      return ionicTimeConstant(thickness(a), tau, a.ctx('electrolyteDiffusivity', CONTEXT_DEFAULTS.electrolyteDiffusivity));
    },
  },
  rateIndicator: {
    unit: '1/h',
    definition: 'Transport-limited C-rate 3600 s / ionicTimeConstant: discharge rates above it are electrolyte-transport limited (a ranking figure).',
    solve: 'diffusion_z',
    context: ['thickness', 'electrolyteDiffusivity'],
    simulator: 'liion',
    cost: 2,
    compute: (a) => transportLimitedCRate(defs.ionicTimeConstant.compute(a)),
  },
};

for (const axis of AXES) {
  defs[`tau_${axis}`] = {
    unit: '1',
    definition: `Tortuosity factor along ${axis}: τ = ε/(D_eff/D0), ε the total phase fraction (TauFactor convention); Infinity if the phase does not span ${axis}.`,
    simulator: 'diffusion',
    solve: `diffusion_${axis}`,
    cost: 2,
    compute: (a) => {
      const d = dRel(a, axis);
      return d > 0 ? a.fraction() / d : Infinity;
    },
  };
  defs[`deff_${axis}`] = {
    unit: '1',
    definition: `Relative effective diffusivity D_eff/D0 along ${axis}: current through the sample × N/(A·Δc) with unit diffusivity in the phase, Dirichlet outer faces, no-flux sides.`,
    simulator: 'diffusion',
    solve: `diffusion_${axis}`,
    cost: 2,
    compute: (a) => dRel(a, axis),
  };
  defs[`sigma_eff_${axis}`] = {
    unit: 'S/m',
    definition: `Effective conductivity along ${axis} with conductivity sigma_<label> S/m per label from the context (labels not given: 0), harmonic-mean face conductances.`,
    context: ['sigma_<label>'],
    simulator: 'conduction',
    solve: `conduction_${axis}`,
    cost: 2,
    compute: (a) => {
      const s = new Float64Array(256);
      let any = false;
      for (let l = 0; l < 256; l++) {
        const v = a.context[`sigma_${l}`];
        if (v !== undefined) {
          s[l] = v;
          any ||= v > 0;
        }
      }
      if (!any) throw new SimulationError('sigma_eff needs context sigma_<label> (S/m) for at least one label', 'bad-input');
      return a.conduction(axis, s, 'conduction').effective;
    },
  };
  defs[`permeability_${axis}`] = {
    unit: 'm^2',
    definition: `Absolute permeability along ${axis} by LBM (D3Q19 TRT, body force, Darcy k = νU/g) × voxel size²; 0 if no path.`,
    simulator: 'permeability',
    context: ['lbmBuffer'],
    solve: `permeability_${axis}`,
    cost: 3,
    compute: (a) => a.permeability(axis).kLattice * a.voxelM ** 2,
  };
  defs[`chordMean_${axis}`] = {
    unit: 'm',
    definition: `Mean chord length of the phase along ${axis} (runs of phase voxels not cut by the box).`,
    simulator: 'morphology',
    cost: 1,
    compute: (a) => {
      const c = chordLengths(a.mask(), a.voxels.shape, axis);
      return c.length ? (c.reduce((s, v) => s + v, 0) / c.length) * a.voxelM : 0;
    },
  };
  for (const [kind, text] of [
    ['percolating', 'in 6-connected clusters touching both faces normal to'],
    ['deadEnd', 'in clusters touching exactly one face normal to'],
    ['isolated', 'in clusters touching neither face normal to'],
  ] as const) {
    defs[`${kind}_${axis}`] = {
      unit: '1',
      definition: `Fraction of the phase volume ${text} ${axis}.`,
      simulator: 'morphology',
      cost: 1,
      compute: (a) => connectivity(a.components())[axis][kind],
    };
  }
}

// Interface area between two labels, for the labels of poreloop's twins (0 pore, 1–3 solids).
for (let a = 0; a < 4; a++)
  for (let b = a + 1; b < 4; b++) {
    defs[`ssa_${a}_${b}`] = {
      unit: 'm^-1',
      definition: `Area of the interface between labels ${a} and ${b} per total volume (voxel face count × 2/3).`,
      simulator: 'morphology',
      cost: 1,
      compute: (an) => specificSurface(an.voxels.data, an.voxels.shape, a, b) / an.voxelM,
    };
  }

// Issue 20: the 1D/P2D device models fed by the solves above (./device-properties.ts).
Object.assign(defs, deviceProperties((a) => tpbDensity(a, true)));

export const PROPERTIES: Readonly<Record<string, PropertyDef>> = defs;

/** The axis a property name refers to, if any (`tau_z` → 'z'). */
export function propertyAxis(name: string): Axis | undefined {
  const m = /_([xyz])$/.exec(name);
  return m ? (m[1] as Axis) : undefined;
}
