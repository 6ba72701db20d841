/**
 * Hidden-truth tasks for stage-wise decisions (issue #17; docs/stages.md states the same).
 *
 * Each task has a reward of the final structure's properties for a target specification (the
 * campaign's reward, known to every method), a P-model (the twin's process model and cheap
 * property estimates, twins/*-process.ts) and a hidden truth (what the rigs would measure),
 * which differs from the P-model in two ways:
 *
 * 1. the process scatters more than the config says (the spreads the rigs reveal), and
 * 2. the property models are biased (the discrepancy the reality correction learns).
 *
 * grain-electrode (cast → dry → calender), target: final porosity ε* ∈ [0.25, 0.40]
 *   reward  = (1 − w)·(1 − exp(−e/0.01)) − 0.01·d/µm − 5·crack − 0.05·((ε − ε*)/0.02)²
 *             (w CBD share of the solid = 1 − activeFraction/(1 − ε), e electronicTransport,
 *              d particle diameter, crack crackedFraction): capacity × electronic wiring, a
 *              small-particle rate bonus, cracking, and the porosity specification ±0.02.
 *   truth   = cast porosity spread 0.04 (config 0.03);
 *             e = ((w − 0.3 µm/d)⁺·(1 − ε))^1.5 — part of the CBD coats particle surfaces
 *             (∝ 1/d) and does not wire (the P-model: (w(1 − ε))^1.5);
 *             crack = (c − (0.45 − 0.015·d))⁺ — particles crack at 0.1 less strain.
 *
 * sofc-anode (pack → sinter), target: final porosity ε* ∈ [0.25, 0.40]
 *   reward  = ln(max(λ, 10⁻³)) + ln(0.02 + 0.98·conn) − 0.1·((ε − ε*)/0.03)²
 *             (λ tpbDensity, conn niConnectivity)
 *   truth   = green-porosity spread 0.035 (config 0.025), Ni coarsening spread 0.2 (config 0.15);
 *             λ = 9·s²·x(1 − x)·ε^0.3/d̄² (P-model 12·s²·x(1 − x)·ε^0.5/d̄²);
 *             conn = clamp((x·s − 0.2)/0.1, 0, 1) (P-model threshold 0.16).
 *
 * The truth acts on the realised final state (StageState) the truth's process produced; a rig
 * measures the descriptors after every stage exactly (no measurement noise on descriptors).
 */
import type { ParameterSpace, Parameters, StageState } from '../src/core/protocols.js';
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
  /** Grids of the truth-known search (per stage but the last, per parameter: points; the last stage is searched by golden section). */
  grid: number[][];
}

const porosityTarget: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'porosity', min: 0.25, max: 0.4 }] };
const sq = (x: number) => x * x;
const pos = (x: number) => Math.max(0, x);

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
    truthSpread: { castPorosity: 0.04 },
    truth: (s) => {
      const est = twinRegistry['grain-electrode']().process!.estimate(s);
      const { cbdFraction: w, particleDiameter: d, compression: c, porosity: eps } = s.realised;
      return { ...est, electronicTransport: (pos(w - 0.3 / d) * (1 - eps)) ** 1.5, crackedFraction: pos(c - (0.45 - 0.015 * d)) };
    },
    grid: [[12, 5], [8], [0]],
  },
  'sofc-anode': {
    twin: 'sofc-anode',
    targets: porosityTarget,
    infeasibleReward: -6,
    reward: (p, t) => Math.log(Math.max(p.tpbDensity, 1e-3)) + Math.log(0.02 + 0.98 * p.niConnectivity) - 0.1 * sq((p.porosity - (t.porosity as number)) / 0.03),
    truthSpread: { greenPorosity: 0.035, niDiameter: 0.2 },
    truth: (s) => {
      const est = twinRegistry['sofc-anode']().process!.estimate(s);
      const { niFraction: x, porosity: eps, niDiameterSintered: dNi, sinterGrowth: g } = s.realised;
      const dMean = x * dNi + (1 - x) * 0.8 * (1 + g);
      const solid = 1 - eps;
      return { ...est, tpbDensity: (9 * solid * solid * x * (1 - x) * eps ** 0.3) / (dMean * dMean), niConnectivity: Math.min(1, pos((x * solid - 0.2) / 0.1)) };
    },
    grid: [[7, 9, 5], [0]],
  },
};

/** The true reward of a finished truth state for a target. */
export function trueReward(task: StageTask, s: StageState, target: Parameters): number {
  if (!s.feasible) return task.infeasibleReward;
  const r = task.reward(task.truth(s), target, s);
  return Number.isFinite(r) ? r : task.infeasibleReward;
}
