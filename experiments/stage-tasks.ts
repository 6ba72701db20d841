/**
 * Hidden-truth tasks for stage-wise decisions (issue #17; docs/stages.md states the same).
 *
 * Each task has a reward of the final structure's properties for a target specification (the
 * campaign's reward, known to every method), a P-model (the twin's process model and cheap
 * property estimates, twins/*-process.ts) and a hidden truth (what the rigs would make and
 * measure), which differs from the P-model in four ways:
 *
 * 1. the process scatters more than the config says (the spreads the rigs reveal),
 * 2. a process law is different (the truth's `step`; the P-model's law is the twin's),
 * 3. the property models are biased (the discrepancy the reality correction learns), and
 * 4. rigs read the intermediate structure with measurement noise (`read`, σ in NOISE).
 *
 * grain-electrode (cast → dry → calender), target: final porosity ε* ∈ [0.25, 0.40]
 *   reward  = (1 − w)·(1 − exp(−e/0.01)) − 0.01·d/µm − 5·crack − 0.05·((ε − ε*)/0.02)²
 *             (w CBD share of the solid = 1 − activeFraction/(1 − ε), e electronicTransport,
 *              d particle diameter, crack crackedFraction): capacity × electronic wiring, a
 *              small-particle rate bonus, cracking, and the porosity specification ±0.02.
 *   truth   = cast porosity spread 0.04 (config 0.03);
 *             calendering: the coating springs back, only κ = 0.85 of the calender strain c
 *             stays: ε = 1 − (1 − ε_cast)/(1 − κ·c) (the P-model: κ = 1, incompressible solid
 *             and no spring-back);
 *             e = ((w − 0.3 µm/d)⁺·(1 − ε))^1.5 — part of the CBD coats particle surfaces
 *             (∝ 1/d) and does not wire (the P-model: (w(1 − ε))^1.5);
 *             crack = (c − (0.45 − 0.015·d))⁺ — particles crack at 0.1 less strain;
 *   readings = porosity ± 0.01 and thickness ± 1 µm after every stage (1 σ, Gaussian).
 *
 * sofc-anode (pack → sinter), target: final porosity ε* ∈ [0.25, 0.40]
 *   reward  = ln(max(λ, 10⁻³)) + ln(0.02 + 0.98·conn) − 0.1·((ε − ε*)/0.03)²
 *             (λ tpbDensity, conn niConnectivity)
 *   truth   = green-porosity spread 0.035 (config 0.025), Ni coarsening spread 0.2 (config 0.15);
 *             sintering: Herring exponent 1 (the P-model 0.75): g_eff = g·(1 µm/d̄)^1, and
 *             densification ε = ε_green^((1 + g_eff)^3.5) (the P-model's Boolean-model
 *             exponent is 3: the real body shrinks more than grains growing at fixed centres);
 *             λ = 9·s²·x(1 − x)·ε^0.3/d̄² (P-model 12·s²·x(1 − x)·ε^0.5/d̄²);
 *             conn = clamp((x·s − 0.2)/0.1, 0, 1) (P-model threshold 0.16);
 *   readings = porosity ± 0.01 and Ni diameter × exp(±0.05) after every stage (1 σ); TPB
 *             density is not read between stages (it needs FIB-SEM tomography).
 *
 * The truth acts on the realised states the truth's process produced (`step`); the states a
 * policy sees are rebuilt from the noisy readings (StagedProcess.fromMeasurements), as on real
 * rigs. The final properties (`truth`) are measured without noise.
 */
import type { ParameterSpace, Parameters, StagedProcess, StageState } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { twinRegistry } from '../twins/index.js';
import type { StageReward } from '../src/compose/stages.js';

export interface StageTask {
  twin: string;
  targets: ParameterSpace;
  reward: StageReward;
  infeasibleReward: number;
  /** Spreads of the truth's process (the config says the twin's defaults). */
  truthSpread: Record<string, number>;
  /** What the rigs measure of a finished (feasible) state. */
  truth(state: StageState): Record<string, number>;
  /** The truth's process: the state a rig's run of the next stage makes (truthSpread; its own laws). */
  step(state: StageState, action: Parameters, rng: Rng): StageState;
  /** A rig's noisy readings of the structure in `state` (the stage just done). */
  read(state: StageState, rng: Rng): Record<string, number>;
  /** Measurement noise of the readings (1 σ; `relative`: a factor exp(σ·N)), for the report. */
  noise: Record<string, { std: number; relative?: boolean }>;
  /** Grids of the truth-known search (per stage but the last, per parameter: points; the last stage is searched by golden section). */
  grid: number[][];
}

const porosityTarget: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'porosity', min: 0.25, max: 0.4 }] };
const sq = (x: number) => x * x;
const pos = (x: number) => Math.max(0, x);

const grain: StagedProcess = twinRegistry['grain-electrode']().process!;
const sofc: StagedProcess = twinRegistry['sofc-anode']().process!;
/** The calender strain that stays after spring-back in the truth (the P-model: 1). */
const SPRING_BACK = 0.85;
/** The truth's sintering: Herring exponent and densification exponent (the P-model: 0.75 and 3). */
const HERRING = 1;
const DENSIFICATION = 3.5;

/** Noisy readings of `names` in a state's descriptors (absolute σ, or relative: × exp(σ·N)). */
function noisy(noise: StageTask['noise'], s: StageState, rng: Rng): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of Object.entries(noise)) {
    const v = s.descriptors[name];
    if (v === undefined) continue;
    out[name] = n.relative ? v * Math.exp(n.std * rng.normal()) : v + n.std * rng.normal();
  }
  return out;
}
/** A reading kept within physical limits (a porosimeter does not report a porosity below 0 or above 1). */
const limitPorosity = (r: Record<string, number>) => ('porosity' in r ? { ...r, porosity: Math.min(1, Math.max(0, r.porosity)) } : r);

const GRAIN_SPREAD = { castPorosity: 0.04 };
const SOFC_SPREAD = { greenPorosity: 0.035, niDiameter: 0.2 };
const GRAIN_NOISE = { porosity: { std: 0.01 }, thickness: { std: 1 } };
const SOFC_NOISE = { porosity: { std: 0.01 }, niDiameter: { std: 0.05, relative: true } };

export const STAGE_TASKS: Record<string, StageTask> = {
  'grain-electrode': {
    twin: 'grain-electrode',
    targets: porosityTarget,
    infeasibleReward: -2,
    reward: (p, t) => {
      const eps = p.porosity;
      const w = 1 - p.activeFraction / (1 - eps);
      return (1 - w) * (1 - Math.exp(-p.electronicTransport / 0.01)) - 0.01 * p.particleDiameter - 5 * p.crackedFraction - 0.05 * sq((eps - (t.porosity as number)) / 0.02);
    },
    truthSpread: GRAIN_SPREAD,
    truth: (s) => {
      const est = grain.estimate(s);
      const { cbdFraction: w, particleDiameter: d, compression: c, porosity: eps } = s.realised;
      return { ...est, electronicTransport: (pos(w - 0.3 / d) * (1 - eps)) ** 1.5, crackedFraction: pos(c - (0.45 - 0.015 * d)) };
    },
    grid: [[12, 5], [8], [0]],
    step: (s, a, rng) => {
      if (s.stage !== 2) return grain.step(s, a, rng, GRAIN_SPREAD);
      // The truth's calendering law: the state is the twin's with the truth's porosity.
      const c = (a.compression ?? 0.2) as number;
      const eps = 1 - (1 - s.realised.castPorosity) / (1 - SPRING_BACK * c);
      return { ...grain.fromMeasurements(3, s, a, { porosity: Math.max(0, eps) }), measured: s.measured };
    },
    noise: GRAIN_NOISE,
    read: (s, rng) => limitPorosity(noisy(GRAIN_NOISE, s, rng)),
  },
  'sofc-anode': {
    twin: 'sofc-anode',
    targets: porosityTarget,
    infeasibleReward: -6,
    reward: (p, t) => Math.log(Math.max(p.tpbDensity, 1e-3)) + Math.log(0.02 + 0.98 * p.niConnectivity) - 0.1 * sq((p.porosity - (t.porosity as number)) / 0.03),
    truthSpread: SOFC_SPREAD,
    truth: (s) => {
      const est = sofc.estimate(s);
      const { niFraction: x, porosity: eps, niDiameterSintered: dNi, sinterGrowth: g } = s.realised;
      const dMean = x * dNi + (1 - x) * 0.8 * (1 + g);
      const solid = 1 - eps;
      return { ...est, tpbDensity: (9 * solid * solid * x * (1 - x) * eps ** 0.3) / (dMean * dMean), niConnectivity: Math.min(1, pos((x * solid - 0.2) / 0.1)) };
    },
    grid: [[7, 9, 5], [0]],
    step: (s, a, rng) => {
      if (s.stage !== 1) return sofc.step(s, a, rng, SOFC_SPREAD);
      // The truth's sintering law: the twin's state with the truth's porosity, Ni diameter and growth.
      const g = (a.sinterGrowth ?? 0.1) as number;
      const { greenPorosity: eg, niDiameter: dNi, niFraction: x } = s.realised;
      const gEff = g * (1 / (x * dNi + (1 - x) * 0.8)) ** HERRING;
      const eps = eg ** ((1 + gEff) ** DENSIFICATION);
      const t = sofc.fromMeasurements(2, s, a, { porosity: eps, niDiameter: dNi * (1 + gEff) });
      return { ...t, realised: { ...t.realised, sinterGrowth: gEff }, measured: s.measured };
    },
    noise: SOFC_NOISE,
    read: (s, rng) => limitPorosity(noisy(SOFC_NOISE, s, rng)),
  },
};

/** The true reward of a finished truth state for a target. */
export function trueReward(task: StageTask, s: StageState, target: Parameters): number {
  if (!s.feasible) return task.infeasibleReward;
  const r = task.reward(task.truth(s), target, s);
  return Number.isFinite(r) ? r : task.infeasibleReward;
}
