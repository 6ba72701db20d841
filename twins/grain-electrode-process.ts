import type { ContinuousParameter, Parameters, StagedProcess, StageState, StageVariability } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { continuous as P } from './params.js';
import { asMeasured, bruggeman, initialState, nextState, realise, requireFinished, requirePrevious, rigValue, stageSettings } from './process.js';

/**
 * grain-electrode's stage-by-stage process model (issue #17, docs/stages.md): cast → dry →
 * calender, with the settings a coating line has.
 *
 * - cast: the slurry is coated at a fixed solid loading L = 60 µm of solid per unit area
 *   (mass loading ÷ solid density); the dried coating's porosity is asked for (castPorosity)
 *   but comes out as asked + σ·N(0, 1) (σ = 0.03 by default: drying-rate and slurry-rheology
 *   scatter), so its thickness L/(1 − ε_cast) varies with it.
 * - dry: solvent leaves, the carbon-binder domain (CBD) stays: `cbdFraction` is its share of the
 *   solid (deterministic here).
 * - calender: the plant sets the strain c (thickness reduction), not the porosity; the solid is
 *   incompressible, so ε = 1 − (1 − ε_cast)/(1 − c). A line that calenders to a fixed strain
 *   therefore passes the cast scatter on, amplified by 1/(1 − c); a policy that has measured the
 *   cast porosity can choose c to land on the target. Below ε = 0.15 (the voxel twin's floor:
 *   the densest calendered packing) the step is infeasible.
 *
 * Descriptors after each stage: porosity, thickness, solid fraction, Bruggeman transport
 * estimates (ionic through the pore, electronic through the CBD). The voxel twin builds the
 * realised structure from `recipe` (its porosity and castPorosity are the realised ones).
 */
const LOADING_UM = 60;
const POROSITY_FLOOR = 0.15;
const CRACK_STRAIN = 0.55;
const CRACK_SLOPE = 0.015;

const CAST: ContinuousParameter[] = [
  P({ name: 'castPorosity', unit: '', min: 0.35, max: 0.7, default: 0.5, description: 'porosity asked of the dried, uncalendered coating' }),
  P({ name: 'particleDiameter', unit: 'µm', min: 4, max: 16, default: 10, description: 'mean active-material particle diameter' }),
];
const DRY: ContinuousParameter[] = [P({ name: 'cbdFraction', unit: '', min: 0.02, max: 0.2, default: 0.1, description: 'carbon-binder domain share of the solid volume' })];
const CALENDER: ContinuousParameter[] = [P({ name: 'compression', unit: '', min: 0, max: 0.5, default: 0.2, description: 'calender strain: 1 − calendered / cast thickness' })];

const CAST_VARIABILITY: StageVariability = { quantity: 'castPorosity', kind: 'absolute', std: 0.03, description: 'the dried coating porosity scatters around the asked value run to run' };

const D = (name: string, unit: string, min: number, max: number, description: string) => ({ name, unit, min, max, description });
const DESCRIPTORS = {
  porosity: D('porosity', '', 0.1, 0.8, 'pore volume fraction of the structure so far'),
  thickness: D('thickness', 'µm', 60, 250, 'layer thickness'),
  solidFraction: D('solidFraction', '', 0.2, 0.9, 'solid (active + CBD) volume fraction'),
  ionicTransport: D('ionicTransport', '', 0, 0.7, 'relative effective ionic conductivity of the electrolyte-filled pore, Bruggeman ε^1.5'),
  particleDiameter: D('particleDiameter', 'µm', 4, 16, 'mean active particle diameter'),
  electronicTransport: D('electronicTransport', '', 0, 0.05, 'relative effective conductivity of the CBD network, Bruggeman φ_cbd^1.5'),
};

function structure(eps: number, thickness: number, w?: number): Record<string, number> {
  const out: Record<string, number> = { porosity: eps, thickness, solidFraction: 1 - eps, ionicTransport: bruggeman(eps) };
  if (w !== undefined) out.electronicTransport = bruggeman(w * (1 - eps));
  return out;
}

/**
 * Stage `k` with the realised quantities given: a draw (clamped to what the line can coat), or
 * the rig's readings `rig` (kept as read): the cast porosity after cast or dry, the calendered
 * porosity after calender.
 */
function advance(s: StageState, action: Parameters, realisedCast: ((asked: number) => number) | null, rig?: number): StageState {
  const k = s.stage;
  if (k === 0) {
    const a = stageSettings('grain-electrode', 'cast', CAST, action);
    const eps = rig ?? Math.min(0.75, Math.max(0.3, realisedCast ? realisedCast(a.castPorosity) : a.castPorosity));
    return nextState(s, { castPorosity: eps, particleDiameter: a.particleDiameter }, { ...structure(eps, LOADING_UM / (1 - eps)), particleDiameter: a.particleDiameter });
  }
  if (k === 1) {
    const a = stageSettings('grain-electrode', 'dry', DRY, action);
    // Drying leaves the solid and the pore volume (the model's drying is deterministic), so a
    // porosity or thickness read after drying is the cast layer's.
    const eps = rig ?? s.realised.castPorosity;
    return nextState(s, { cbdFraction: a.cbdFraction, castPorosity: eps }, structure(eps, rig === undefined ? s.descriptors.thickness : LOADING_UM / (1 - eps), a.cbdFraction));
  }
  if (k === 2) {
    const a = stageSettings('grain-electrode', 'calender', CALENDER, action);
    const eps = rig ?? 1 - (1 - s.realised.castPorosity) / (1 - a.compression);
    const bad = eps < POROSITY_FLOOR ? `calendering to strain ${a.compression.toFixed(3)} would need porosity ${eps.toFixed(3)} < ${POROSITY_FLOOR}: the particles crush` : undefined;
    const thickness = rig === undefined ? (LOADING_UM / (1 - s.realised.castPorosity)) * (1 - a.compression) : LOADING_UM / (1 - eps);
    return nextState(s, { compression: a.compression, porosity: eps }, structure(Math.max(eps, 0), thickness, s.realised.cbdFraction), bad);
  }
  throw new RangeError(`grain-electrode has 3 stages; state.stage = ${k}`);
}

const STAGES: StagedProcess['stages'] = [
  { name: 'cast', parameters: CAST, descriptors: [DESCRIPTORS.porosity, DESCRIPTORS.thickness, DESCRIPTORS.solidFraction, DESCRIPTORS.ionicTransport, DESCRIPTORS.particleDiameter], variability: [CAST_VARIABILITY] },
  { name: 'dry', parameters: DRY, descriptors: [DESCRIPTORS.porosity, DESCRIPTORS.thickness, DESCRIPTORS.solidFraction, DESCRIPTORS.ionicTransport, DESCRIPTORS.electronicTransport], variability: [] },
  { name: 'calender', parameters: CALENDER, descriptors: [DESCRIPTORS.porosity, DESCRIPTORS.thickness, DESCRIPTORS.solidFraction, DESCRIPTORS.ionicTransport, DESCRIPTORS.electronicTransport], variability: [] },
];

export function grainElectrodeProcess(): StagedProcess {
  return {
    stages: STAGES,
    properties: {
      porosity: { unit: '', definition: 'final pore volume fraction' },
      ionicTransport: { unit: '', definition: 'Bruggeman ε^1.5 of the calendered electrode' },
      cbdVolumeFraction: { unit: '', definition: 'CBD volume fraction of the calendered electrode' },
      activeFraction: { unit: '', definition: 'active-material volume fraction' },
      particleDiameter: { unit: 'µm', definition: 'mean active particle diameter' },
      compression: { unit: '', definition: 'calender strain' },
      thickness: { unit: 'µm', definition: 'calendered thickness' },
      electronicTransport: { unit: '', definition: 'relative effective conductivity of the CBD network, Bruggeman φ_cbd^1.5' },
      crackedFraction: { unit: '', definition: 'strain beyond the particles\' cracking strain 0.55 − 0.015·d/µm (heuristic: larger secondary particles crack first)' },
    },
    initial: initialState,
    step: (s: StageState, action: Parameters, rng: Rng, spread?: Readonly<Record<string, number>>) =>
      advance(s, action, (asked) => realise(CAST_VARIABILITY, asked, rng, spread)),
    fromMeasurements: (stage, prev, action, measured) => {
      requirePrevious(stage, prev);
      // The layer's porosity as read: directly, or from the thickness through the loading
      // (the solid per area is fixed, ε = 1 − L/thickness). Absent: the asked/modelled value.
      const t = rigValue(measured, 'thickness', LOADING_UM, Infinity);
      const eps = rigValue(measured, 'porosity', 0, 1) ?? (t !== undefined ? 1 - LOADING_UM / t : undefined);
      const quantity = stage === 3 ? 'porosity' : 'castPorosity';
      const next = advance(prev, action, null, eps);
      return asMeasured(prev, next, STAGES[stage - 1].descriptors, measured, eps === undefined ? [] : [quantity]);
    },
    estimate: (s: StageState) => {
      requireFinished('grain-electrode', s, 3);
      const eps = s.realised.porosity;
      const w = s.realised.cbdFraction;
      return {
        porosity: eps,
        ionicTransport: bruggeman(eps),
        cbdVolumeFraction: w * (1 - eps),
        activeFraction: (1 - w) * (1 - eps),
        particleDiameter: s.realised.particleDiameter,
        compression: s.realised.compression,
        thickness: s.descriptors.thickness,
        electronicTransport: bruggeman(w * (1 - eps)),
        crackedFraction: Math.max(0, s.realised.compression - (CRACK_STRAIN - CRACK_SLOPE * s.realised.particleDiameter)),
      };
    },
    recipe: (s: StageState) => {
      const eps = Math.max(POROSITY_FLOOR, s.realised.porosity ?? s.realised.castPorosity);
      const w = s.realised.cbdFraction ?? 0.1;
      return { particleDiameter: s.realised.particleDiameter, castPorosity: Math.max(eps, s.realised.castPorosity), porosity: eps, cbdFraction: Math.min(0.3, w * (1 - eps)) };
    },
  };
}
