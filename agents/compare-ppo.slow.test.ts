// @module-tag slow
import { describe } from 'vitest';
import { compareWithRandom } from './testing/compare-suite.js';
import { COMPARISONS } from './testing/comparisons.js';

/** PPO against random search on Branin, Hartmann-6 and Levy-10 (slow tier, issue #15). */
describe('PPO versus random search', () => {
  compareWithRandom(COMPARISONS.filter((c) => c.agent === 'ppo'));
});
