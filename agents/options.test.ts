import { describe, expect, it } from 'vitest';
import { BadInputError } from '../src/core/errors.js';
import { describeRange } from './common.js';
import { agentRegistry } from './index.js';

/**
 * Review 2026-12-07: agent options were checked for type, not range (agents/common.ts
 * readOptions). ppo `episodes: 0` crashed TF.js mid-campaign and `clip: -1` in round 2, after
 * the rig runs were spent; the others below were accepted. Every one is now refused when the
 * agent is built (at config load), naming the key and the allowed range.
 */
const refused: Array<[agent: string, options: Record<string, unknown>, message: RegExp]> = [
  ['ppo', { episodes: 0 }, /^agent\.ppo\.episodes: must be an integer ≥ 1 \(got 0\)$/],
  ['ppo', { episodes: 1.5 }, /^agent\.ppo\.episodes: must be an integer ≥ 1 \(got 1\.5\)$/],
  ['ppo', { clip: -1 }, /^agent\.ppo\.clip: must be a number in \(0, 1\] \(got -1\)$/],
  ['ppo', { finalSamples: 0 }, /^agent\.ppo\.finalSamples: must be an integer ≥ 1/],
  ['ppo', { hidden: 0 }, /^agent\.ppo\.hidden: must be an integer ≥ 1/],
  ['ppo', { iterations: -1 }, /^agent\.ppo\.iterations: must be an integer ≥ 1/],
  ['ppo', { learningRate: -1 }, /^agent\.ppo\.learningRate: must be a number > 0/],
  ['ppo', { gamma: 5 }, /^agent\.ppo\.gamma: must be a number in \[0, 1\] \(got 5\)$/],
  ['cmaes', { sigma0: 0 }, /^agent\.cmaes\.sigma0: must be a number > 0 \(got 0\)$/],
  ['cmaes', { sigma0: -1 }, /^agent\.cmaes\.sigma0: must be a number > 0/],
  ['cmaes', { populationSize: -3 }, /^agent\.cmaes\.populationSize: must be an integer ≥ 0/],
  ['cmaes', { populationSize: 2.5 }, /^agent\.cmaes\.populationSize: must be an integer ≥ 0/],
  ['cmaes', { populationSize: 1 }, /^agent\.cmaes\.populationSize: must be 0 \(4 \+ ⌊3 ln d⌋\) or an integer ≥ 2/],
  ['gp-bo', { kappa: -5 }, /^agent\.gp-bo\.kappa: must be a number ≥ 0 \(got -5\)$/],
  ['gp-bo', { xi: -1 }, /^agent\.gp-bo\.xi: must be a number ≥ 0/],
  ['gp-bo', { refitFraction: -1 }, /^agent\.gp-bo\.refitFraction: must be a number ≥ 0/],
  ['gp-bo', { candidates: 0 }, /^agent\.gp-bo\.candidates: must be an integer ≥ 1/],
  ['gp-bo', { maxFitPoints: 1 }, /^agent\.gp-bo\.maxFitPoints: must be an integer ≥ 2/],
  ['mobo', { candidates: 0 }, /^agent\.mobo\.candidates: must be an integer ≥ 1/],
  ['mobo', { rho: -1 }, /^agent\.mobo\.rho: must be a number ≥ 0/],
  ['mobo', { starts: 0 }, /^agent\.mobo\.starts: must be an integer ≥ 1/],
  ['mobo', { trustRegion: true, trustRegionLength: 2 }, /^agent\.mobo\.trustRegionLength: must be a number in \(0, 1\.6\] \(got 2\)$/],
  ['random', { foo: 1 }, /^agent\.random: unknown option 'foo'; random takes no options$/],
];

describe('agent options: ranges and integer-ness (readOptions)', () => {
  it.each(refused)('%s %j is refused naming the key and the allowed range', (agent, options, message) => {
    const build = () => agentRegistry[agent](options);
    expect(build).toThrow(BadInputError);
    expect(build).toThrow(message);
  });

  it('accepts values inside the ranges, and ppo a negative kappa (cautious, docs/agents.md)', () => {
    expect(() => agentRegistry.ppo({ kappa: -1, episodes: 1, clip: 1, gamma: 0 })).not.toThrow();
    expect(() => agentRegistry.cmaes({ sigma0: 0.1, populationSize: 2 })).not.toThrow();
    expect(() => agentRegistry['gp-bo']({ kappa: 0, xi: 0, candidates: 1 })).not.toThrow();
  });

  it('describes a range', () => {
    expect(describeRange({ integer: true, min: 1 })).toBe('an integer ≥ 1');
    expect(describeRange({ above: 0, max: 1 })).toBe('a number in (0, 1]');
    expect(describeRange({ min: 0, max: 1 })).toBe('a number in [0, 1]');
    expect(describeRange({ above: 0 })).toBe('a number > 0');
    expect(describeRange({ integer: true })).toBe('an integer');
  });
});

describe('sequence steps (review 2026-12-07)', () => {
  const sequence = (steps: unknown[]) => () => agentRegistry.sequence({ steps });
  it('refuses a misspelt step key instead of ignoring it', () => {
    expect(sequence([{ agent: 'sobol', trials: 4 }, { agent: 'gp-bo', option: { kappa: 3 } }])).toThrow(
      /^agent\.sequence\.steps\[1\]: unknown key 'option' of a step; allowed: agent, trials, options$/,
    );
    expect(sequence([{ agent: 'gp-bo', options: [1] }])).toThrow(/^agent\.sequence\.steps\[0\]: 'options' must be a mapping/);
  });

  it("names the step's options in the errors of the step's agent", () => {
    expect(sequence([{ agent: 'sobol', trials: 4, options: { scramble: 1 } }, { agent: 'gp-bo' }])).toThrow(/^agent\.sequence\.steps\[0\]\.options\.scramble: must be a boolean \(got 1\)$/);
    expect(sequence([{ agent: 'sobol', trials: 4, options: { bogus: 1 } }, { agent: 'gp-bo' }])).toThrow(/^agent\.sequence\.steps\[0\]\.options: unknown option 'bogus'; allowed: scramble$/);
    expect(sequence([{ agent: 'sobol', trials: 4 }, { agent: 'ppo', options: { episodes: 0 } }])).toThrow(/^agent\.sequence\.steps\[1\]\.options\.episodes: must be an integer ≥ 1 \(got 0\)$/);
  });
});
