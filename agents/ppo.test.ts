import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../src/core/rng.js';
import { paramKey } from '../src/core/space.js';
import { ensureBackend } from '../src/surrogate/backend.js';
import { clippedSurrogate, createPpoAgent, diverseSelect, gae, gaussianLogProb, ppoLoss, sigmoid, squashedGaussianLogProb, updateTrustRegion } from './ppo.js';
import { branin } from './testing/functions.js';
import { runLoop } from './testing/harness.js';

import { FAST } from './testing/ppo-fast.js';

describe('PPO kernels (hand-computed cases)', () => {
  it('GAE(γ, λ) over concatenated episodes', () => {
    // Episode 1: one step, r = 2, V = 1 → A = 1. Episode 2: r = (0, 1), V = (0.5, 0.8), γ = 0.9, λ = 0.8:
    // δ₁ = 1 − 0.8 = 0.2; δ₀ = 0 + 0.9·0.8 − 0.5 = 0.22; A₀ = 0.22 + 0.9·0.8·0.2 = 0.364.
    const { advantages, returns } = gae([2, 0, 1], [1, 0.5, 0.8], [true, false, true], 0.9, 0.8);
    expect(advantages[0]).toBeCloseTo(1, 12);
    expect(advantages[1]).toBeCloseTo(0.364, 12);
    expect(advantages[2]).toBeCloseTo(0.2, 12);
    expect(returns).toEqual([expect.closeTo(2, 12), expect.closeTo(0.864, 12), expect.closeTo(1, 12)]);
  });

  it('clipped surrogate', () => {
    // min(1.5·1, 1.2·1) = 1.2; min(0.5, 0.8)·1 → 0.5; ρ = 1.1, A = −2 → −2.2; ρ = 0.7, A = −1 → min(−0.7, −0.8) = −0.8.
    expect(clippedSurrogate([1.5, 0.5, 1.1, 0.7], [1, 1, -2, -1], 0.2)).toBeCloseTo((1.2 + 0.5 - 2.2 - 0.8) / 4, 12);
  });

  it('log-density of the sigmoid-squashed Gaussian', () => {
    // a = 0, μ = 0, σ = 1: ln N = −½ ln 2π; u = ½ so −ln(u(1 − u)) = ln 4.
    expect(squashedGaussianLogProb([0], [0], [0])).toBeCloseTo(-0.5 * Math.log(2 * Math.PI) + Math.log(4), 12);
    // It is a density on (0,1): integrates to 1 (midpoint rule in u, a = logit u).
    const mu = 0.7;
    const logStd = Math.log(0.8);
    let total = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = (i + 0.5) / n;
      total += Math.exp(squashedGaussianLogProb([Math.log(u / (1 - u))], [mu], [logStd])) / n;
    }
    expect(total).toBeCloseTo(1, 4);
    expect(sigmoid(0)).toBe(0.5);
  });

  it('the TensorFlow loss equals the hand formula', async () => {
    await ensureBackend('dense');
    const mu = [[0.1, -0.2], [0.3, 0.0]];
    const logStd = [Math.log(0.5), Math.log(1.5)];
    const act = [[0.4, 0.0], [0.0, 1.0]];
    const mask = [[1, 0], [0, 1]];
    const logpOld = [-0.3, -1.6];
    const adv = [1.0, -0.5];
    const v = [0.2, -0.1];
    const ret = [0.5, 0.3];
    const c = { clip: 0.2, valueCoef: 0.5, entropyCoef: 0.01 };
    const ratios = mu.map((m, t) => Math.exp(gaussianLogProb(act[t], m, logStd, mask[t]) - logpOld[t]));
    const entropy = mask.reduce((s, m) => s + m.reduce((a, on, j) => a + on * (logStd[j] + 0.5 * Math.log(2 * Math.PI * Math.E)), 0), 0) / 2;
    const vLoss = ((v[0] - ret[0]) ** 2 + (v[1] - ret[1]) ** 2) / 2;
    const want = -clippedSurrogate(ratios, adv, 0.2) + 0.5 * vLoss - 0.01 * entropy;
    const got = tf.tidy(() =>
      ppoLoss(tf.tensor2d(mu), tf.tensor1d(logStd), tf.tensor1d(v), tf.tensor2d(act), tf.tensor2d(mask), tf.tensor1d(logpOld), tf.tensor1d(adv), tf.tensor1d(ret), c).arraySync(),
    );
    expect(got).toBeCloseTo(want, 5);
  });

  it('diverse selection starts at the best and goes farthest-first', () => {
    expect(diverseSelect([[0, 0], [0.1, 0], [1, 1], [0.5, 0.5]], 3)).toEqual([0, 2, 3]);
    expect(diverseSelect([[0, 0], [0.1, 0], [1, 1]], 2, [[1, 1]])).toEqual([0, 1]); // [1,1] is pending already
  });

  it('trust region grows on success, shrinks on failure (TuRBO)', () => {
    const obs = (r: number[]) => r.map((reward) => ({ params: {}, reward, fidelity: 'rig' as const }));
    let tr = { length: 0.8, successes: 0, failures: 0, best: null as number | null, seen: 0 };
    tr = updateTrustRegion(tr, obs([1]), 2, 1);
    for (let i = 2; i <= 4; i++) tr = updateTrustRegion(tr, obs(Array.from({ length: i }, (_, j) => j + 1)), 2, 1);
    expect(tr.length).toBeCloseTo(1.6, 12);
    for (let i = 5; i <= 8; i++) tr = updateTrustRegion(tr, obs(Array.from({ length: i }, () => 0)), 2, 1);
    expect(tr.length).toBeCloseTo(0.8, 12); // 4 = max(4, d)/k failures halve it
  });
});

describe('PPO agent', () => {
  it('acts stage by stage and finds the optimum of a known model', async () => {
    const model = async (ps: Record<string, number | string>[]) => ps.map((p) => ({ mean: branin.reward(p), std: 0 }));
    const agent = createPpoAgent({ ...FAST, stages: [{ name: 'lay', parameters: ['x1'] }, { name: 'press', parameters: ['x2'] }] });
    // Past the initial design (d + 1 = 3 measurements): from here on the model is used.
    const history = [{ x1: 0, x2: 0 }, { x1: 5, x2: 5 }, { x1: 10, x2: 15 }].map((p) => ({ params: p, reward: branin.reward(p), fidelity: 'rig' as const }));
    const out = await agent.propose({ space: branin.space, history, rng: createRng(1), model }, 3);
    expect(out).toHaveLength(3);
    expect(branin.optimum - branin.reward(out[0])).toBeLessThan(0.5);
  });

  it('scores each pool point at most once per proposal, and proposes unused pool points', async () => {
    const rng = createRng(4);
    const pool = Array.from({ length: 60 }, () => ({ x1: rng.uniform(-5, 10), x2: rng.uniform(0, 15) }));
    const space = { ...branin.space, pool };
    const scored: string[] = [];
    const model = async (ps: Record<string, number | string>[]) => {
      scored.push(...ps.map(paramKey));
      return ps.map((p) => ({ mean: branin.reward(p), std: 0.1 }));
    };
    const agent = createPpoAgent(FAST);
    const history = pool.slice(0, 3).map((p) => ({ params: p, reward: branin.reward(p), fidelity: 'rig' as const }));
    const out = await agent.propose({ space, history, rng: createRng(5), model }, 2);
    // 15 iterations × 32 episodes + 256 final samples land on a 57-point pool: without the
    // per-proposal cache the model would score hundreds of repeats.
    expect(scored.length).toBe(new Set(scored).size);
    expect(scored.length).toBeLessThanOrEqual(57);
    const used = new Set(history.map((o) => paramKey(o.params)));
    expect(out).toHaveLength(2);
    for (const p of out) expect(used.has(paramKey(p))).toBe(false);
  });

  it('leaks no tensors across proposals', async () => {
    const agent = createPpoAgent(FAST);
    const h = await runLoop(agent, branin.space, branin.reward, { budget: 5, seed: 1 });
    await agent.propose({ space: branin.space, history: h, rng: createRng(2) }, 2);
    const before = tf.memory().numTensors;
    await agent.propose({ space: branin.space, history: h, rng: createRng(3) }, 2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes identically after snapshot/restore', async () => {
    const full = await runLoop(createPpoAgent(FAST), branin.space, branin.reward, { budget: 8, seed: 5 });
    const a = createPpoAgent(FAST);
    const half = await runLoop(a, branin.space, branin.reward, { budget: 5, seed: 5 });
    const b = createPpoAgent(FAST);
    b.restore!(JSON.parse(JSON.stringify(a.snapshot!())));
    const resumed = await runLoop(b, branin.space, branin.reward, { budget: 8, seed: 5, initial: half, learnInitial: false });
    expect(resumed.map((o) => o.params)).toEqual(full.map((o) => o.params));
  });

  // Learning benchmarks against random search (Branin, Hartmann-6, Levy-10): the slow tier,
  // agents/compare-ppo.slow.test.ts (issue #15).
});
