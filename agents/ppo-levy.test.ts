import { describe, expect, it } from 'vitest';
import { createPpoAgent } from './ppo.js';
import { FAST } from './testing/ppo-fast.js';
import { levy } from './testing/functions.js';
import { versusRandom } from './testing/compare.js';

describe('PPO agent in 10-D', () => {
  it('beats random search on Levy-10', async () => {
    const r = await versusRandom(() => createPpoAgent(FAST), levy(10), 40, [1, 2, 3]);
    expect(r.agent).toBeLessThan(r.random);
  });
});
