import type { Parameters } from '../core/protocols.js';
import type { RewardExpression } from './expression.js';
import { configuredReference, constraintSlacks, objectiveVector, objectivesReward, type ObjectiveSet, type ObjectiveSpec } from './objectives.js';

/**
 * A campaign's reward: the names it may read and how a set of properties and parameters
 * becomes one number. The config loader checks expressions and objectives against
 * `rewardNames`; the composition root builds the function with `campaignReward`. Both live
 * here so that the scope the loader accepts is the scope the reward is evaluated in (issue #15:
 * it was decided in config/load.ts and rebuilt by hand in compose).
 *
 * Scope: every property, every numeric parameter (searched or fixed by `twin.fixed`) under its
 * own name and as `param_<name>`. A twin parameter may share a name with a property
 * (fibre-gdl's `porosity` target vs the simulated `porosity`): the property wins the plain
 * name, the parameter stays reachable as `param_porosity`.
 */
export function rewardNames(properties: readonly string[], parameters: readonly string[]): string[] {
  return [...new Set([...properties, ...parameters, ...parameters.map((n) => `param_${n}`)])];
}

/**
 * A stage-wise campaign's target specification in the reward's scope (issue #17): `target_<name>`
 * (e.g. `target_porosity`), so that the specification the reward scores and the one the stage
 * policy is conditioned on are the same config value (stages.target).
 */
export function targetScope(target: Readonly<Record<string, number>> | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(target ?? {}).map(([k, v]) => [`target_${k}`, v]));
}

/** The values of `rewardNames` for one candidate. */
export function rewardScope(properties: Record<string, number>, params: Parameters, fixed: Parameters = {}): Record<string, number> {
  const entries = Object.entries({ ...params, ...fixed }).filter((e): e is [string, number] => typeof e[1] === 'number');
  return { ...Object.fromEntries(entries), ...Object.fromEntries(entries.map(([k, v]) => [`param_${k}`, v])), ...properties };
}

/**
 * The scalar reward of a campaign: the expression when there is one; for objectives alone
 * Σ goal·ln(value) (or goal·value/scale), never the raw sum (issue #16: the raw sum let one
 * objective's unit decide; src/reward/objectives.ts explains the choice, and the Pareto front,
 * not this number, is a multi-objective campaign's result). `fixed` joins the parameters
 * because the reward is also evaluated on the agent's own proposals (a model-based agent's
 * reward model), which carry only the searched ones.
 */
export function campaignReward(spec: { expression?: RewardExpression; objectives?: readonly ObjectiveSpec[]; fixed?: Parameters }): (properties: Record<string, number>, params: Parameters) => number {
  const { expression, objectives = [], fixed = {} } = spec;
  if (expression) return (props, params) => expression.evaluate(rewardScope(props, params, fixed));
  return (props, params) => objectivesReward(rewardScope(props, params, fixed), objectives);
}

/**
 * A multi-objective campaign's objective vector (goal-signed) and constraint slacks of a set
 * of properties and parameters, over the reward's scope (issue #16); undefined for fewer than
 * two objectives (one objective is a single-objective campaign with a log reward).
 */
export function campaignObjectives(set: ObjectiveSet | undefined, fixed: Parameters = {}): ((properties: Record<string, number>, params: Parameters) => { objectives: number[]; constraints: number[] }) | undefined {
  if (!set || set.objectives.length < 2) return undefined;
  return (props, params) => {
    const scope = rewardScope(props, params, fixed);
    return { objectives: objectiveVector(scope, set.objectives), constraints: constraintSlacks(scope, set) };
  };
}

/**
 * Options for the agent of a campaign: the config's, and for the mobo agent the objectives'
 * reference points (goal-signed; `reference`, else `threshold`) unless the options set one.
 */
export function campaignAgentOptions(agent: { name: string; options: Record<string, unknown> }, objectives: readonly ObjectiveSpec[] | undefined): Record<string, unknown> {
  const options = { ...agent.options };
  if (agent.name === 'mobo' && objectives && options.reference === undefined && objectives.some((o) => o.reference !== undefined || o.threshold !== undefined)) {
    options.reference = configuredReference(objectives).map((v) => v ?? null);
  }
  return options;
}
