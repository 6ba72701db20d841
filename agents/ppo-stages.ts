/**
 * Stage-wise PPO (issue #17; docs/stages.md): a policy that sets each manufacturing stage's
 * settings after seeing what the earlier stages produced. Same algorithm and kernels as
 * agents/ppo.ts (Schulman et al. 2017, clipped surrogate; GAE, Schulman et al. 2015; γ = 1,
 * reward at the last step), but the episode is a real process episode:
 *
 *   observation_k = env.observe(state after k stages, target) — stage one-hot, the target
 *                   specification, the descriptors of the structure so far (+ their mask);
 *   action_k      = stage k's settings: a Gaussian over pre-squash a, u = sigmoid(a) ∈ (0,1)^d_k
 *                   decoded into the stage's bounds;
 *   transition    = env.step: the twin's process model, with its variability, so the state the
 *                   next action sees is a random variable around what was asked;
 *   reward        = env.reward of the finished structure (the corrected P-model reward).
 *
 * The policy is conditioned on the target (goal-conditioned RL, Schaul et al., ICML 2015,
 * "universal value function approximators"): training draws a target per episode from
 * env.targets, so one trained policy proposes for a new target without retraining
 * (amortisation). `learn(real episodes)` hands them to env.assimilate — reality correction of
 * the reward and the spreads the rigs revealed — and fine-tunes in the corrected environment.
 *
 * The agent knows nothing of twins or rigs: the environment is an interface from src/core,
 * composed in src/compose/stages.ts. Weights are initialised and actions sampled from the
 * seeded Rng (no tf.random), so training is deterministic for a seed on one backend.
 */
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, StageEnvironment, StageEpisode, StagePolicy, StageState } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { decode, dimension, sampleUniform } from '../src/core/space.js';
import { ensureBackend } from '../src/surrogate/backend.js';
import { readOptions } from './common.js';
import { actorCriticVariables, actorMean, criticValue, gae, gaussianLogProb, ppoLoss, sigmoid } from './ppo.js';

const DEFAULTS = {
  seed: 0,
  /** PPO iterations of `train` (pre-training in the twin). */
  iterations: 150,
  /** PPO iterations of each `learn` (fine-tuning after the reality correction). */
  learnIterations: 20,
  /** Episodes per iteration. */
  episodes: 64,
  /** Gradient epochs over each iteration's batch (full batch). */
  epochs: 4,
  /** Adam step size at the start of `train`, annealed linearly to a tenth over its iterations. */
  learningRate: 3e-3,
  /** Step size at the start of each `learn` (fine-tuning moves less than pre-training), annealed alike. */
  learnRate: 1e-3,
  clip: 0.2,
  lambda: 0.95,
  entropyCoef: 1e-3,
  valueCoef: 0.5,
  hidden: 32,
  /** Initial std of the pre-squash Gaussian. */
  initialStd: 1,
};
type Options = typeof DEFAULTS;

/** The allowed values (readOptions; as ppo's, review 2026-12-07). */
const RANGES = {
  seed: { integer: true },
  iterations: { integer: true, min: 0 },
  learnIterations: { integer: true, min: 0 },
  episodes: { integer: true, min: 1 },
  epochs: { integer: true, min: 1 },
  learningRate: { above: 0 },
  learnRate: { above: 0 },
  clip: { above: 0, max: 1 },
  lambda: { min: 0, max: 1 },
  entropyCoef: { min: 0 },
  valueCoef: { min: 0 },
  hidden: { integer: true, min: 1 },
  initialStd: { above: 0 },
};

interface Snapshot {
  version: number;
  /** Rollouts so far (absent in snapshots written before it: 0). */
  rollouts?: number;
  trainedIterations?: number;
  shapes: number[][];
  weights: number[][];
}

interface Batch {
  obs: number[][];
  act: number[][];
  mask: number[][];
  logp: number[];
  values: number[];
  rewards: number[];
  dones: boolean[];
  /** Final reward of each episode. */
  returns: number[];
}

export function createStagePpo(options: Record<string, unknown> = {}): StagePolicy {
  const opts: Options = readOptions('ppo-stages', DEFAULTS, options, RANGES);
  const rng = createRng(opts.seed);
  let vars: tf.Variable[] | null = null;
  let shapes: number[][] = [];
  let version = 0;
  let trainedIterations = 0;
  /**
   * Rollouts so far: each rollout's episodes fork their process noise with it in the label, so
   * successive PPO iterations (and every learn()) see fresh draws — rng.fork depends only on
   * the seed and the label, so a label without it would replay the same noise every iteration.
   */
  let rollouts = 0;

  /** Offsets of each stage's coordinates in the concatenated action vector. */
  function layout(env: StageEnvironment): { offsets: number[]; dims: number[]; total: number } {
    const dims = env.stages.map((s) => dimension(s.space));
    const offsets = dims.map((_, i) => dims.slice(0, i).reduce((a, b) => a + b, 0));
    return { offsets, dims, total: dims.reduce((a, b) => a + b, 0) };
  }

  function ensureNet(obsDim: number, d: number): void {
    if (vars && shapes[0][0] === obsDim && shapes[4][1] === d) return;
    if (vars) throw new BadInputError(`the policy was built for observations of ${shapes[0][0]} and actions of ${shapes[4][1]}; this environment has ${obsDim} and ${d}`, 'env');
    vars = actorCriticVariables(rng, obsDim, d, opts.hidden, opts.initialStd);
    shapes = vars.map((v) => v.shape as number[]);
  }

  const policyMean = (obs: tf.Tensor2D): tf.Tensor2D => actorMean(vars!, obs);
  const valueOf = (obs: tf.Tensor2D): tf.Tensor1D => criticValue(vars!, obs);

  function forward(obs: number[][]): { mu: number[][]; v: number[] } {
    const [tMu, tV] = tf.tidy(() => {
      const o = tf.tensor2d(obs);
      return [policyMean(o), valueOf(o)];
    });
    const out = { mu: tMu.arraySync(), v: tV.arraySync() };
    tf.dispose([tMu, tV]);
    return out;
  }

  const stageAction = (env: StageEnvironment, k: number, a: readonly number[], off: number, dim: number): Parameters =>
    decode(env.stages[k].space, Array.from({ length: dim }, (_, j) => sigmoid(a[off + j])));

  /** `n` episodes of the stochastic policy in the environment, batched stage by stage. */
  function rollout(env: StageEnvironment, n: number, fixedTarget?: Parameters): Batch {
    const { offsets, dims, total } = layout(env);
    const S = env.stages.length;
    const logStd = Array.from(vars![6].dataSync());
    const r0 = rollouts++;
    // Targets and exploration noise from a fork per rollout too: what a rollout draws depends on
    // the seed, its number and the weights only, so a policy restored from a snapshot (which
    // carries the count) learns exactly as the one that wrote it would (a resumed campaign).
    const draws = rng.fork(`rollout-${r0}`);
    const targets = Array.from({ length: n }, () => fixedTarget ?? sampleUniform(env.targets, draws));
    const envRngs = Array.from({ length: n }, (_, i) => rng.fork(`episode-${r0}-${i}`));
    let states: StageState[] = targets.map(() => env.initial());
    const per = Array.from({ length: n }, () => ({ obs: [] as number[][], act: [] as number[][], mask: [] as number[][], logp: [] as number[], values: [] as number[] }));
    for (let k = 0; k < S; k++) {
      const obs = states.map((s, i) => env.observe(s, targets[i]));
      const { mu, v } = forward(obs);
      const mask = Array.from({ length: total }, (_, j) => (j >= offsets[k] && j < offsets[k] + dims[k] ? 1 : 0));
      states = states.map((s, i) => {
        const a = mu[i].map((m, j) => (mask[j] ? m + Math.exp(logStd[j]) * draws.normal() : 0));
        per[i].obs.push(obs[i]);
        per[i].act.push(a);
        per[i].mask.push(mask);
        per[i].logp.push(gaussianLogProb(a, mu[i], logStd, mask));
        per[i].values.push(v[i]);
        return s.feasible ? env.step(s, stageAction(env, k, a, offsets[k], dims[k]), envRngs[i]) : { ...s, stage: s.stage + 1 };
      });
    }
    const batch: Batch = { obs: [], act: [], mask: [], logp: [], values: [], rewards: [], dones: [], returns: [] };
    states.forEach((s, i) => {
      const r = env.reward(s, targets[i]);
      batch.returns.push(r);
      const e = per[i];
      e.obs.forEach((o, t) => {
        batch.obs.push(o);
        batch.act.push(e.act[t]);
        batch.mask.push(e.mask[t]);
        batch.logp.push(e.logp[t]);
        batch.values.push(e.values[t]);
        batch.rewards.push(t === S - 1 ? r : 0);
        batch.dones.push(t === S - 1);
      });
    });
    return batch;
  }

  /** One PPO update (full batch, `epochs` Adam steps). Rewards are standardised by the batch's spread. */
  function update(b: Batch, optimizer: tf.Optimizer): void {
    const finite = b.returns.filter(Number.isFinite);
    const m = finite.reduce((a, x) => a + x, 0) / Math.max(1, finite.length);
    const sd = Math.sqrt(finite.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, finite.length)) || 1;
    const rewards = b.rewards.map((r, t) => (b.dones[t] ? (r - m) / sd : 0));
    const { advantages, returns } = gae(rewards, b.values, b.dones, 1, opts.lambda);
    const am = advantages.reduce((a, x) => a + x, 0) / advantages.length;
    const as = Math.sqrt(advantages.reduce((a, x) => a + (x - am) ** 2, 0) / advantages.length) || 1;
    const t = {
      obs: tf.tensor2d(b.obs),
      act: tf.tensor2d(b.act),
      mask: tf.tensor2d(b.mask),
      logp: tf.tensor1d(b.logp),
      adv: tf.tensor1d(advantages.map((a) => (a - am) / as)),
      ret: tf.tensor1d(returns),
    };
    try {
      for (let e = 0; e < opts.epochs; e++) {
        optimizer.minimize(() => ppoLoss(policyMean(t.obs), vars![6] as tf.Tensor1D, valueOf(t.obs), t.act, t.mask, t.logp, t.adv, t.ret, opts), false, vars!);
      }
    } finally {
      tf.dispose(Object.values(t));
    }
  }

  async function runPpo(env: StageEnvironment, iterations: number, rate: number, target?: Parameters): Promise<{ iterations: number; meanReward: number }> {
    await ensureBackend('dense');
    const { total } = layout(env);
    ensureNet(env.observe(env.initial(), target ?? sampleUniform(env.targets, createRng(0))).length, total);
    const optimizer = tf.train.adam(rate);
    let meanReward = NaN;
    try {
      for (let it = 0; it < iterations; it++) {
        // Linear annealing of the step size (as in Schulman et al. 2017's Atari runs): the
        // policy the campaign uses is the last iterate, so it must not be a noisy one.
        (optimizer as unknown as { learningRate: number }).learningRate = rate * (1 - (0.9 * it) / Math.max(1, iterations));
        const b = rollout(env, opts.episodes, target);
        meanReward = b.returns.reduce((a, x) => a + x, 0) / b.returns.length;
        update(b, optimizer);
        // Yield to I/O between iterations (a campaign's rigs keep heartbeating; issue #14).
        if (it % 10 === 9) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      optimizer.dispose();
    }
    trainedIterations += iterations;
    version++;
    return { iterations: trainedIterations, meanReward };
  }

  return {
    name: 'ppo-stages',
    get version() {
      return version;
    },
    train: (env, o = {}) => runPpo(env, o.iterations ?? opts.iterations, opts.learningRate, o.target),
    act(env: StageEnvironment, state: StageState, target: Parameters): Parameters {
      const k = state.stage;
      if (!Number.isInteger(k) || k < 0 || k >= env.stages.length) throw new BadInputError(`no stage ${k} to act on (the environment has ${env.stages.length})`, 'state.stage');
      const { offsets, dims, total } = layout(env);
      const obs = env.observe(state, target);
      ensureNet(obs.length, total);
      const { mu } = forward([obs]);
      return stageAction(env, k, mu[0], offsets[k], dims[k]);
    },
    async learn(env: StageEnvironment, episodes: readonly StageEpisode[], o: { target?: Parameters } = {}): Promise<void> {
      if (episodes.length === 0) return;
      env.assimilate?.(episodes);
      await runPpo(env, opts.learnIterations, opts.learnRate, o.target);
    },
    snapshot: (): Snapshot => ({ version, rollouts, trainedIterations, shapes, weights: vars ? vars.map((v) => Array.from(v.dataSync())) : [] }),
    restore(s: unknown): void {
      const snap = s as Snapshot;
      if (!snap || !Array.isArray(snap.weights) || !Array.isArray(snap.shapes)) throw new BadInputError('not a ppo-stages snapshot', 'snapshot');
      vars?.forEach((v) => v.dispose());
      vars = snap.weights.length ? tf.tidy(() => snap.weights.map((w, i) => tf.variable(tf.tensor(w, snap.shapes[i])))) : null;
      shapes = snap.shapes;
      version = snap.version;
      rollouts = snap.rollouts ?? 0;
      trainedIterations = snap.trainedIterations ?? 0;
    },
  };
}
