import { describe, expect, it } from 'vitest';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, StageEnvironment, StageEpisode, StageState } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { createStagePpo } from './ppo-stages.js';

/**
 * A two-stage toy process written against the core interface: stage 0 asks x ∈ [0, 1] and
 * gets y = x + 0.2·N(0, 1); stage 1 sets z ∈ [0, 1]; the reward is −(y + z − target)². The
 * best fixed (x, z) loses E[(y − x)²] = 0.04; a policy that sees y sets z = target − y and
 * loses nothing (while target − y stays in [0, 1]).
 */
function toy(): StageEnvironment & { assimilated: number } {
  const sx = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
  const sz = { parameters: [{ kind: 'continuous' as const, name: 'z', min: 0, max: 1 }] };
  return {
    assimilated: 0,
    stages: [
      { name: 'make', space: sx, descriptors: ['y'] },
      { name: 'finish', space: sz, descriptors: ['out'] },
    ],
    targets: { parameters: [{ kind: 'continuous', name: 'target', min: 0.9, max: 1.1 }] },
    initial: () => ({ stage: 0, realised: {}, descriptors: {}, feasible: true }),
    step(s: StageState, a: Parameters, rng): StageState {
      if (s.stage === 0) {
        const y = (a.x as number) + 0.2 * rng.normal();
        return { stage: 1, realised: { y }, descriptors: { y }, feasible: true };
      }
      const out = s.realised.y + (a.z as number);
      return { stage: 2, realised: { ...s.realised, out }, descriptors: { ...s.descriptors, out }, feasible: true };
    },
    observe: (s, t) => [s.stage === 0 ? 1 : 0, s.stage === 1 ? 1 : 0, ((t.target as number) - 0.9) / 0.2, s.descriptors.y ?? 0, s.stage > 0 ? 1 : 0],
    reward: (s, t) => -((s.realised.out - (t.target as number)) ** 2),
    assimilate(episodes: readonly StageEpisode[]) {
      this.assimilated += episodes.length;
      return { kind: 'toy', samples: episodes.length, state: null };
    },
  };
}

function expectedReward(env: StageEnvironment, act: (s: StageState) => Parameters, target: Parameters, n = 400): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const rng = createRng(1000 + i);
    let s = env.initial();
    while (s.stage < env.stages.length) s = env.step(s, act(s), rng);
    sum += env.reward(s, target);
  }
  return sum / n;
}

describe('ppo-stages (issue #17)', () => {
  // A learning benchmark (200 PPO iterations): slow tier (tests/tiers.ts).
  it('learns to compensate what the first stage produced: beats every fixed recipe', { tags: ['slow'] }, async () => {
    const env = toy();
    const p = createStagePpo({ seed: 3, iterations: 200 });
    await p.train(env);
    const target = { target: 1 };
    const s1 = (y: number): StageState => ({ stage: 1, realised: { y }, descriptors: { y }, feasible: true });
    const z = (y: number) => p.act(env, s1(y), target).z as number;
    // The second stage's setting falls as the first stage's outcome rises (ideal slope −1).
    const slope = (z(0.6) - z(0.4)) / 0.2;
    expect(slope).toBeLessThan(-0.6);
    expect(slope).toBeGreaterThan(-1.4);
    // Best fixed recipe loses 0.04 in expectation; the adaptive policy much less.
    expect(expectedReward(env, (s) => p.act(env, s, target), target)).toBeGreaterThan(-0.015);
    expect(p.version).toBe(1);
  });

  it('is deterministic for a seed; snapshot/restore reproduces its actions', async () => {
    const env = toy();
    const a = createStagePpo({ seed: 5, iterations: 3, episodes: 16 });
    const b = createStagePpo({ seed: 5, iterations: 3, episodes: 16 });
    await a.train(env);
    await b.train(env);
    const s = env.initial();
    expect(a.act(env, s, { target: 1 })).toEqual(b.act(env, s, { target: 1 }));
    const c = createStagePpo({ seed: 9 });
    c.restore(a.snapshot());
    expect(c.act(env, s, { target: 1 })).toEqual(a.act(env, s, { target: 1 }));
    expect(c.version).toBe(1);
  });

  it('a policy restored from a snapshot learns exactly as the one that wrote it (a resumed campaign)', async () => {
    const env = toy();
    const ep: StageEpisode = { target: { target: 1 }, actions: [{ x: 0.5 }, { z: 0.5 }], states: [], measured: {}, reward: -0.01 };
    const a = createStagePpo({ seed: 5, iterations: 2, learnIterations: 2, episodes: 8 });
    await a.train(env);
    const saved = a.snapshot();
    await a.learn(env, [ep]);
    // A fresh process: the same options, the snapshot restored (rollout count included).
    const b = createStagePpo({ seed: 5, iterations: 2, learnIterations: 2, episodes: 8 });
    b.restore(saved);
    await b.learn(env, [ep]);
    expect(b.snapshot()).toEqual(a.snapshot());
  });

  it('each rollout draws fresh process noise; the same seed replays the same noise', async () => {
    /** The stage-0 noise y − x of every simulated episode, in order. */
    const noises = async (seed: number): Promise<number[]> => {
      const env = toy();
      const out: number[] = [];
      const step = env.step.bind(env);
      env.step = (s, a, rng) => {
        const next = step(s, a, rng);
        if (s.stage === 0) out.push(next.realised.y - (a.x as number));
        return next;
      };
      const p = createStagePpo({ seed, iterations: 2, learnIterations: 1, episodes: 4 });
      await p.train(env);
      await p.learn(env, [{ target: { target: 1 }, actions: [], states: [], measured: {}, reward: 0 }]);
      return out;
    };
    const a = await noises(7);
    expect(a).toHaveLength(12);
    // Iteration 1, iteration 2 and the learn() pass: no episode's noise repeats an earlier one's.
    expect(new Set(a.map((x) => x.toFixed(12))).size).toBe(12);
    expect(await noises(7)).toEqual(a);
  });

  it('learn() hands the real episodes to the environment and fine-tunes (a new version)', async () => {
    const env = toy();
    const p = createStagePpo({ seed: 5, iterations: 2, learnIterations: 2, episodes: 8 });
    await p.train(env);
    const s0 = env.initial();
    const before = p.act(env, s0, { target: 1 });
    const ep: StageEpisode = { target: { target: 1 }, actions: [{ x: 0.5 }, { z: 0.5 }], states: [], measured: {}, reward: -0.01 };
    await p.learn(env, [ep, ep]);
    expect(env.assimilated).toBe(2);
    expect(p.version).toBe(2);
    expect(p.act(env, s0, { target: 1 })).not.toEqual(before);
  });

  it('refuses bad options and a state past the last stage', () => {
    expect(() => createStagePpo({ iterations: 'many' })).toThrow(BadInputError);
    expect(() => createStagePpo({ episodes: 0 })).toThrow(/agent.ppo-stages.episodes/);
    expect(() => createStagePpo({ nope: 1 })).toThrow(/unknown option 'nope'/);
    const env = toy();
    expect(() => createStagePpo().act(env, { stage: 2, realised: {}, descriptors: {}, feasible: true }, { target: 1 })).toThrow(/no stage 2/);
  });
});
