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
