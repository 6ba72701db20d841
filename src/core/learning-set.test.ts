import { describe, expect, it } from 'vitest';
import type { Observation } from './protocols.js';
import { learningSet } from './learning-set.js';

const obs = (fidelity: Observation['fidelity'], n: number, extra: Partial<Observation> = {}): Observation[] =>
  Array.from({ length: n }, (_, i) => ({ params: { x: i / 10 }, reward: i, fidelity, ...extra }));

// Reproducibility review, item 2: AgentLearned's `observations` is what the agent learns from
// (src/core/learning-set.ts, which agents/common.ts re-exports), not every observation it was shown.
describe('learningSet: what agents learn from, and the size AgentLearned records', () => {
  it('a round of 4 simulations and 4 estimates: 4, not 8', () => {
    expect(learningSet([...obs('simulation', 4), ...obs('prior', 2), ...obs('surrogate', 2)])).toHaveLength(4);
  });
  it('without simulations the rig measurements, never fantasies, estimates or priors', () => {
    expect(learningSet([...obs('rig', 3), ...obs('rig', 2, { fantasy: true }), ...obs('early-life', 1)])).toHaveLength(3);
    expect(learningSet([...obs('surrogate', 8), ...obs('prior', 2)])).toHaveLength(0);
    expect(learningSet([...obs('simulation', 1, { fantasy: true }), ...obs('rig', 2)])).toHaveLength(2);
  });
});
