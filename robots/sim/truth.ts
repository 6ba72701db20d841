/**
 * A documented analytic stand-in for the hidden truth of standalone simulated rigs
 * (`poreloop rig simulate`). The CLI may not import twins or physics (DESIGN.md: plugins never
 * import each other), so a campaign's composition root passes its own twin + physics truth to
 * createSimulatedLab; rigs started from the command line use this instead:
 *
 * - fabricate:    feasible iff every numeric parameter is ≥ 0 (a negative loading cannot be
 *                 made); measures `mass` = 1 + Σ|xᵢ|.
 * - characterise: `score` = exp(−Σ (xᵢ − 0.5)²), a smooth bump with its optimum at 0.5 in every
 *                 numeric parameter, and `porosity` = 1 / (1 + exp(Σxᵢ − n/2)) ∈ (0, 1).
 * - durability:   `hours` = 1000 · score.
 * - anything else: `value` = Σ xᵢ.
 */
import type { Parameters } from '../../src/core/protocols.js';

export interface TruthOutput {
  measurements: Record<string, number>;
  feasible: boolean;
}
/** The hidden truth of a simulated lab: what a rig with `capability` would measure. */
export type Truth = (params: Parameters, capability: string, inputs: Record<string, number>) => TruthOutput | Promise<TruthOutput>;

export const analyticTruth: Truth = (params, capability): TruthOutput => {
  const xs = Object.values(params).filter((v): v is number => typeof v === 'number');
  const score = Math.exp(-xs.reduce((s, x) => s + (x - 0.5) ** 2, 0));
  switch (capability) {
    case 'fabricate':
      return { feasible: xs.every((x) => x >= 0), measurements: { mass: 1 + xs.reduce((s, x) => s + Math.abs(x), 0) } };
    case 'characterise':
      return { feasible: true, measurements: { score, porosity: 1 / (1 + Math.exp(xs.reduce((s, x) => s + x, 0) - xs.length / 2)) } };
    case 'durability':
      return { feasible: true, measurements: { hours: 1000 * score } };
    default:
      return { feasible: true, measurements: { value: xs.reduce((s, x) => s + x, 0) } };
  }
};

/**
 * The hidden truth of a campaign's simulated lab (`rigs.simulate`, issue #7): manufacture fails
 * when a parameter exceeds its `infeasibleAbove` limit; otherwise the measuring stage (the
 * pipeline's last capability) reports `sample(params)` — another sample of the same recipe,
 * measured by the physics, both supplied by the composition root since robots/ may not import
 * twins or physics — each property distorted by its relative `bias`. Earlier stages measure
 * nothing. Without `sample` (a twin-less formulation study) the analytic stand-in above is the
 * truth, biased alike. So the rigs disagree with the P-model the way real rigs do; the lab adds
 * measurement noise per job on top (index.ts).
 */
export function simulatedTruth(spec: {
  infeasibleAbove: Readonly<Record<string, number>>;
  bias: Readonly<Record<string, number>>;
  measuringStage: string;
  sample?: (params: Parameters) => Promise<Record<string, number>>;
}): (params: Parameters, capability: string) => Promise<TruthOutput> {
  const biased = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v * (1 + (spec.bias[k] ?? 0))]));
  return async (params, capability) => {
    for (const [name, limit] of Object.entries(spec.infeasibleAbove)) {
      if (typeof params[name] === 'number' && params[name] > limit) return { measurements: {}, feasible: false };
    }
    if (!spec.sample) {
      const out = await analyticTruth(params, capability, {});
      return { feasible: out.feasible, measurements: biased(out.measurements) };
    }
    if (capability !== spec.measuringStage) return { measurements: {}, feasible: true };
    return { measurements: biased(await spec.sample(params)), feasible: true };
  };
}
