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
  /** Why a result is infeasible, where the truth knows (a property with no finite value). */
  reason?: string;
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
 * twins or physics — each property distorted by its relative `bias` (a constant, or a
 * parameter-dependent `LinearBias`, see biasFactor). Earlier stages measure
 * nothing. Without `sample` (a twin-less formulation study) the analytic stand-in above is the
 * truth, biased alike. So the rigs disagree with the P-model the way real rigs do; the lab adds
 * measurement noise per job on top (index.ts).
 */
export function simulatedTruth(spec: {
  infeasibleAbove: Readonly<Record<string, number>>;
  bias: Readonly<Record<string, Bias>>;
  measuringStage: string;
  sample?: (params: Parameters) => Promise<Record<string, number>>;
}): (params: Parameters, capability: string) => Promise<TruthOutput> {
  return async (params, capability) => {
    const biased = (m: Record<string, number>) => applyBias(spec.bias, m, params);
    for (const [name, limit] of Object.entries(spec.infeasibleAbove)) {
      if (typeof params[name] === 'number' && params[name] > limit) return { measurements: {}, feasible: false };
    }
    if (!spec.sample) {
      const out = await analyticTruth(params, capability, {});
      return finiteOrInfeasible({ feasible: out.feasible, measurements: biased(out.measurements) });
    }
    if (capability !== spec.measuringStage) return { measurements: {}, feasible: true };
    return finiteOrInfeasible({ measurements: biased(await spec.sample(params)), feasible: true });
  };
}

/**
 * A result whose physics gives a property no finite value is an infeasible result with the
 * reason, never a measurement of ±∞ or NaN: the rig protocol carries finite numbers only (the
 * SDK refuses the rest and the run was abandoned — sofc-device review 2026-12-07: an anode whose
 * Ni or YSZ does not percolate has an infinite loss, 2 of its 6 rig runs lost). A real device
 * with no finite loss does not work, which is what an infeasible result says of a recipe.
 */
function finiteOrInfeasible(out: TruthOutput): TruthOutput {
  const bad = Object.entries(out.measurements).filter(([, v]) => !Number.isFinite(v));
  if (!out.feasible || bad.length === 0) return out;
  const said = bad.map(([k, v]) => `${k} = ${v}`).join(', ');
  const why = bad.every(([, v]) => Number.isNaN(v)) ? 'not computable for this sample' : 'no finite value for this sample (the device does not work)';
  return { measurements: {}, feasible: false, reason: `${said}: ${why}` };
}

/**
 * A systematic error of the P-model that depends on the recipe (issue #13: "a
 * parameter-dependent systematic bias"): the relative bias is `base + Σ slope[p]·params[p]`,
 * so a measured value is the sample's value × (1 + base + Σ slope[p]·params[p]). A constant
 * relative bias is the number `base` alone. Slopes may reverse a trend of the P-model — the
 * "misleading twin" of the hidden-truth benchmark (experiments/bench-campaigns.ts).
 */
export interface LinearBias {
  base: number;
  slope?: Readonly<Record<string, number>>;
}
export type Bias = number | LinearBias;

/** The factor 1 + relative bias at `params` (parameters the bias names but the recipe lacks count as 0). */
export function biasFactor(bias: Bias | undefined, params: Parameters): number {
  if (bias === undefined) return 1;
  if (typeof bias === 'number') return 1 + bias;
  let b = bias.base;
  for (const [name, s] of Object.entries(bias.slope ?? {})) b += s * (typeof params[name] === 'number' ? (params[name] as number) : 0);
  return 1 + b;
}

/** Each measured property times its bias factor at `params`; properties without a bias unchanged. */
export function applyBias(bias: Readonly<Record<string, Bias>>, measured: Record<string, number>, params: Parameters): Record<string, number> {
  return Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, v * biasFactor(bias[k], params)]));
}
