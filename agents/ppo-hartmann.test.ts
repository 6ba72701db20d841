import { describe, expect, it } from 'vitest';
import { createPpoAgent } from './ppo.js';
import { FAST } from './testing/ppo-fast.js';
import { hartmann6 } from './testing/functions.js';
import { versusRandom } from './testing/compare.js';

describe('PPO agent in 6-D', () => {
  it('beats random search on Hartmann-6', async () => {
    const r = await versusRandom(() => createPpoAgent(FAST), hartmann6, 30, [1, 2, 3]);
    expect(r.agent).toBeLessThan(r.random);
  });
});
