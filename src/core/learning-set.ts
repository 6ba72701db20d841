import type { Observation } from './protocols.js';

/**
 * The observations an agent learns from — one kind of number, never two fidelities mixed as
 * if they were the same quantity (issue #12: "a prediction is not an observation"; issue #13).
 * - `prior` and `surrogate` scores are estimates: never data.
 * - A twin campaign (the P-model simulates): the `simulation` observations. Their rewards are
 *   NOT the raw simulations: the orchestrator (src/orchestrator/runtime.ts `history`) replaces
 *   each with the multi-fidelity model's current estimate of the REAL reward at that recipe
 *   (src/predict/multifidelity.ts: co-kriging of simulations → rig results, refitted after
 *   every round), so every agent optimises the corrected model. They are estimates, and an
 *   agent treats them as its model's targets, not as measurements: the rig results they
 *   already contain are not added beside them (ctx.model, the same model's estimate, is there
 *   for agents that query a reward model).
 * - Otherwise (a rig-only campaign, the pool-replay harness) the rig measurements alone: a
 *   rig-only agent learns from measurements only.
 * - Fantasies (Observation.fantasy: a pending trial's constant-liar reward, issue #21) never:
 *   a lie learned as data would be saved in the agent's state (CMA-ES scored a running member
 *   with it and moved its covariance) and counted toward the initial design.
 * In src/core so that agents (agents/common.ts) and the runtime's AgentLearned record
 * (reproducibility review 2026-12-07, item 2) use the one rule.
 */
export function learningSet(history: readonly Observation[]): Observation[] {
  const simulations = history.filter((o) => o.fidelity === 'simulation' && !o.fantasy);
  return simulations.length > 0 ? simulations : history.filter((o) => o.fidelity === 'rig' && !o.fantasy);
}
