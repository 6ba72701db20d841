import { describe, expect, it } from 'vitest';
import type { Observation } from '../core/protocols.js';
import { learnedFrom } from './runtime.js';

const obs = (fidelity: Observation['fidelity'], n: number, extra: Partial<Observation> = {}): Observation[] =>
  Array.from({ length: n }, (_, i) => ({ params: { x: i / 10 }, reward: i, fidelity, ...extra }));

// Reproducibility review, item 2: AgentLearned's `observations` is what the agent learns from
// (agents/common.ts learningSet), not every observation it was shown.
describe('learnedFrom: the size of the learning set AgentLearned records', () => {
  it('a round of 4 simulations and 4 estimates: 4, not 8', () => {
    expect(learnedFrom([...obs('simulation', 4), ...obs('prior', 2), ...obs('surrogate', 2)])).toBe(4);
  });
  it('without simulations the rig measurements, never fantasies, estimates or priors', () => {
    expect(learnedFrom([...obs('rig', 3), ...obs('rig', 2, { fantasy: true }), ...obs('early-life', 1)])).toBe(3);
    expect(learnedFrom([...obs('surrogate', 8), ...obs('prior', 2)])).toBe(0);
    expect(learnedFrom([...obs('simulation', 1, { fantasy: true }), ...obs('rig', 2)])).toBe(2);
  });
});
