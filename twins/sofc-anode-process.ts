import type { ContinuousParameter, Parameters, StagedProcess, StageState, StageVariability } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { continuous as P } from './params.js';
import { asMeasured, bruggeman, initialState, nextState, realise, requireFinished, requirePrevious, rigValue, stageSettings } from './process.js';

/**
 * sofc-anode's stage-by-stage process model (issue #17, docs/stages.md): pack → sinter.
 *
 * - pack: Ni(O) and YSZ powders are pressed/cast into a green body. Its porosity is asked for
 *   but scatters (absolute σ = 0.025), and the Ni particles coarsen during NiO reduction by a
 *   lot-dependent amount: the realised Ni diameter is the asked one × exp(σ·N(0, 1)), σ = 0.15
 *   ("variable coarsening"). Both are measurable after packing (porosimetry, SEM).
 * - sinter: the furnace schedule is set as the radius growth g it gives 1-µm particles. Smaller
 *   particles sinter faster (Herring's scaling law, J. Appl. Phys. 21 (1950) 301: the time to a
 *   given neck size grows as a power of the particle size); here g_eff = g·(1 µm/d̄)^0.75 with
 *   d̄ the solid's volume-mean diameter — the exponent is our choice, not a fitted one. Grains
 *   grow at fixed centres (the voxel twin's sintering model); for overlapping spheres (the
 *   Boolean model, Torquato 2002 ch. 3) the porosity goes as ε = ε_green^((1 + g_eff)³).
 *   Below ε = 0.2 (the twin's floor: closed porosity) the step is infeasible.
 *
 * Descriptors: porosity, solid fraction, Ni diameter, Bruggeman gas transport ε^1.5, and after
 * sintering a TPB-density estimate λ ≈ K·s²·x(1 − x)·√ε / d̄² (s solid fraction, x Ni share of
 * the solid, K = 12): TPB length per volume of random sphere packings scales as 1/d² at fixed
 * composition (e.g. Janardhanan et al., J. Power Sources 178 (2008) 296); the composition factor
 * is a heuristic with its maximum at x = ½ — the voxel twin's measured TPB is the reference.
 */
const YSZ_DIAMETER = 0.8;
const POROSITY_FLOOR = 0.2;
const TPB_K = 12;

const PACK: ContinuousParameter[] = [
  P({ name: 'niFraction', unit: '', min: 0.3, max: 0.7, default: 0.45, description: 'Ni volume share of the solid' }),
  P({ name: 'greenPorosity', unit: '', min: 0.35, max: 0.6, default: 0.45, description: 'porosity asked of the green body' }),
  P({ name: 'niDiameter', unit: 'µm', min: 0.5, max: 2, default: 1, description: 'mean Ni particle diameter asked (powder)' }),
];
const SINTER: ContinuousParameter[] = [P({ name: 'sinterGrowth', unit: '', min: 0, max: 0.3, default: 0.1, description: 'furnace schedule, as the radius growth it gives 1-µm particles' })];

const GREEN_VARIABILITY: StageVariability = { quantity: 'greenPorosity', kind: 'absolute', std: 0.025, description: 'green-body porosity scatters around the asked value' };
const COARSENING: StageVariability = { quantity: 'niDiameter', kind: 'relative', std: 0.15, description: 'Ni coarsening during NiO reduction varies by powder lot' };

const D = (name: string, unit: string, min: number, max: number, description: string) => ({ name, unit, min, max, description });
const DESCRIPTORS = [
  D('porosity', '', 0.15, 0.65, 'pore volume fraction'),
  D('solidFraction', '', 0.35, 0.85, 'Ni + YSZ volume fraction'),
  D('niDiameter', 'µm', 0.4, 3, 'mean Ni particle diameter'),
  D('gasTransport', '', 0, 0.5, 'relative effective gas diffusivity, Bruggeman ε^1.5'),
];
const TPB = D('tpbDensity', 'µm⁻²', 0, 4, 'triple-phase-boundary length per volume (estimate)');

const meanDiameter = (x: number, dNi: number, dYsz: number) => x * dNi + (1 - x) * dYsz;

/**
 * Stage `s.stage` with the realised quantities given: draws (clamped to what can be packed), or
 * a rig's readings `rig` (kept as read) — after packing greenPorosity and niDiameter, after
 * sintering porosity, niDiameterSintered and tpbDensity; what the rig did not read is modelled.
 */
function advance(s: StageState, action: Parameters, realised: ((q: StageVariability, asked: number) => number) | null, rig: Readonly<Record<string, number | undefined>> = {}): StageState {
  if (s.stage === 0) {
    const a = stageSettings('sofc-anode', 'pack', PACK, action);
    const eps = rig.greenPorosity ?? Math.min(0.65, Math.max(0.3, realised ? realised(GREEN_VARIABILITY, a.greenPorosity) : a.greenPorosity));
    const d = rig.niDiameter ?? Math.min(4, Math.max(0.3, realised ? realised(COARSENING, a.niDiameter) : a.niDiameter));
    return nextState(s, { greenPorosity: eps, niDiameter: d, niFraction: a.niFraction }, { porosity: eps, solidFraction: 1 - eps, niDiameter: d, gasTransport: bruggeman(eps) });
  }
  if (s.stage === 1) {
    const a = stageSettings('sofc-anode', 'sinter', SINTER, action);
    const { greenPorosity: eg, niDiameter: dNi, niFraction: x } = s.realised;
    const gEff = a.sinterGrowth * (1 / meanDiameter(x, dNi, YSZ_DIAMETER)) ** 0.75;
    const eps = rig.porosity ?? eg ** ((1 + gEff) ** 3);
    const dNiF = rig.niDiameterSintered ?? dNi * (1 + gEff);
    const dMean = meanDiameter(x, dNiF, YSZ_DIAMETER * (1 + gEff));
    const tpb = rig.tpbDensity ?? (TPB_K * (1 - eps) ** 2 * x * (1 - x) * Math.sqrt(eps)) / dMean ** 2;
    const bad = eps < POROSITY_FLOOR ? `sintering growth ${gEff.toFixed(3)} closes the porosity to ${eps.toFixed(3)} < ${POROSITY_FLOOR}` : undefined;
    return nextState(s, { sinterGrowth: gEff, porosity: eps, niDiameterSintered: dNiF, tpbDensity: tpb }, { porosity: eps, solidFraction: 1 - eps, niDiameter: dNiF, gasTransport: bruggeman(eps), tpbDensity: tpb }, bad);
  }
  throw new RangeError(`sofc-anode has 2 stages; state.stage = ${s.stage}`);
}

const STAGES: StagedProcess['stages'] = [
  { name: 'pack', parameters: PACK, descriptors: DESCRIPTORS, variability: [GREEN_VARIABILITY, COARSENING] },
  { name: 'sinter', parameters: SINTER, descriptors: [...DESCRIPTORS, TPB], variability: [] },
];

export function sofcAnodeProcess(): StagedProcess {
  return {
    stages: STAGES,
    properties: {
      porosity: { unit: '', definition: 'final pore volume fraction' },
      gasTransport: { unit: '', definition: 'Bruggeman ε^1.5' },
      tpbDensity: { unit: 'µm⁻²', definition: 'TPB length per volume (estimate, see header)' },
      niNetwork: { unit: '', definition: 'Ni volume fraction of the electrode (percolation needs ≳ 0.2)' },
      niDiameter: { unit: 'µm', definition: 'sintered Ni diameter' },
      niConnectivity: { unit: '', definition: 'share of the Ni network connected, clamp((niNetwork − 0.16)/0.1, 0, 1): random-sphere percolation near a 0.16 volume fraction (Scher & Zallen 1970)' },
    },
    initial: initialState,
    step: (s: StageState, action: Parameters, rng: Rng, spread?: Readonly<Record<string, number>>) =>
      advance(s, action, (q, asked) => realise(q, asked, rng, spread)),
    fromMeasurements: (stage, prev, action, measured) => {
      requirePrevious(stage, prev);
      const eps = rigValue(measured, 'porosity', 0, 1);
      const d = rigValue(measured, 'niDiameter', Number.MIN_VALUE, Infinity);
      const rig = stage === 1 ? { greenPorosity: eps, niDiameter: d } : { porosity: eps, niDiameterSintered: d, tpbDensity: rigValue(measured, 'tpbDensity', 0, Infinity) };
      const fromRig = Object.keys(rig).filter((k) => rig[k as keyof typeof rig] !== undefined);
      return asMeasured(prev, advance(prev, action, null, rig), STAGES[stage - 1].descriptors, measured, fromRig);
    },
    estimate: (s: StageState) => {
      requireFinished('sofc-anode', s, 2);
      const eps = s.realised.porosity;
      return { porosity: eps, gasTransport: bruggeman(eps), tpbDensity: s.realised.tpbDensity, niNetwork: s.realised.niFraction * (1 - eps), niDiameter: s.realised.niDiameterSintered, niConnectivity: Math.min(1, Math.max(0, (s.realised.niFraction * (1 - eps) - 0.16) / 0.1)) };
    },
    recipe: (s: StageState) => {
      const eps = Math.max(POROSITY_FLOOR, s.realised.porosity ?? s.realised.greenPorosity);
      return {
        porosity: Math.min(0.6, eps),
        niFraction: s.realised.niFraction,
        niDiameter: Math.min(5, s.realised.niDiameter),
        yszDiameter: YSZ_DIAMETER,
        sinterGrowth: Math.min(0.3, s.realised.sinterGrowth ?? 0),
      };
    },
  };
}
