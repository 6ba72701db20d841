// @module-tag slow
import { describe } from 'vitest';
import { compareWithRandom } from './testing/compare-suite.js';
import { COMPARISONS } from './testing/comparisons.js';

/** GP-BO, CMA-ES and Sobol' against random search (slow tier; PPO: compare-ppo.slow.test.ts, so the two run in parallel). */
describe('agents versus random search', () => {
  compareWithRandom(COMPARISONS.filter((c) => c.agent !== 'ppo'));
});
