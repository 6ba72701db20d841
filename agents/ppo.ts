/**
 * Model-based PPO agent (Schulman et al., "Proximal Policy Optimization Algorithms",
 * arXiv:1707.06347, 2017; GAE: Schulman et al., arXiv:1506.02438) — the deep-RL optimiser of
 * the loop (Niu et al., EES 2021, §4.4/§4.6). TensorFlow.js, dense layers only.
 *
 * Policy: a Gaussian over pre-squash actions a ∈ ℝ^d with mean from an MLP of the observation
 * and a state-independent learned log-std; the action that sets the encoded coordinates is
 * u = sigmoid(a) ∈ (0,1)^d, decoded and repaired into feasible parameters. The log-density of u
 * carries the change-of-variables term −Σ ln(u(1 − u)) (`squashedGaussianLogProb`); it is the
 * same for the old and new policy at a stored action, so it cancels in the PPO ratio.
 *
 * Episodes: with `stages` (the twin's process stages, e.g. mix → coat → dry → calender), an
 * episode has one step per stage and each step sets that stage's parameters; parameters no
 * stage names are set at the last step. The observation is [one-hot stage, encoded parameters
 * set so far (0 where unset), mask of set coordinates], followed by `describe(stage, partial)`
 * when the caller supplies descriptors of the intermediate structure. Without stages an
 * episode is one step. The reward comes at the last step; γ = 1 (finite, short episodes).
 *
 * Model-based: the policy never touches rigs while it learns. Each rollout batch is scored by
 * `ctx.model` (the Predictor's surrogate ensemble: params → {mean, std}), optimistically as
 * mean + κ·std (κ = `kappa`, default 1: UCB-style optimism, Srinivas et al. 2010; κ < 0 makes
 * it cautious). Without ctx.model, a GP fitted to the observations (src/surrogate/gp.ts,
 * Matérn-5/2 ARD) is the model. Either way the policy learns only once `initialPoints`
 * observations to learn from exist (agents/common.ts `learningSet`: measurements in a rig-only
 * campaign, never a surrogate's estimates); until then proposals are uniform random, the same
 * initial design as every model-based agent (issue #12: PPO used to skip it with ctx.model).
 * After training, the agent sends only its best *diverse* candidates: the top `shortlist`
 * (≥ 4k) distinct candidates by model score, then greedy max–min distance selection in the
 * encoded space starting from the best (also kept away from pending proposals).
 *
 * Trust region (TuRBO, Eriksson et al., NeurIPS 2019): the squash maps into a box of side L
 * around the best observed point, u = lo + (hi − lo)·sigmoid(a), instead of the whole cube.
 * Without it the policy exploits the model where the model is least trustworthy: maximising
 * mean + κ·std of a GP fitted to a few points in many dimensions drives every proposal to the
 * cube's corners (measured: worse than random on Levy-10). L starts at 0.8, doubles after 3
 * improving proposals in a row, halves after ⌈max(4, d)/k⌉ without improvement, and restarts
 * at 0.8 below 2⁻⁷ (TuRBO's constants). With no observation yet the box is the whole cube.
 *
 * Pools: every rollout is snapped to its nearest unused pool point, which is what gets scored
 * and proposed. Constraints: decode → repair → isFeasible; an infeasible rollout gets the
 * batch's worst standardised score − 1.
 *
 * Determinism and resume: weights are initialised and actions sampled from the campaign Rng
 * (no tf.random), Adam restarts at each proposal, and snapshot() holds the weights, so a
 * restored agent proposes exactly what the original would have on the same backend.
 */
import * as tf from '@tensorflow/tfjs';
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters, PropertyEstimate } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { decode, encode, paramKey } from '../src/core/space.js';
import { ensureBackend } from '../src/surrogate/backend.js';
import { feasibleFromCube, fitOrReuse, inInitialDesign, learningSet, nearestInPool, readOptions, squaredDistance, trainingData, unusedPool, type GpFitState, type PoolView } from './common.js';
import { createRandomAgent } from './random.js';

// ─── Pure kernels (tested against hand-computed cases) ─────────────────────────────────────

export const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** ln N(a; μ, σ) summed over coordinates where mask is 1 (mask omitted: all). */
export function gaussianLogProb(a: readonly number[], mu: readonly number[], logStd: readonly number[], mask?: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    if (mask && !mask[i]) continue;
    const z = (a[i] - mu[i]) / Math.exp(logStd[i]);
    s += -0.5 * z * z - logStd[i] - 0.5 * Math.log(2 * Math.PI);
  }
  return s;
}

/** Log-density of u = sigmoid(a) when a ~ N(μ, σ): ln N(a) − Σ ln(u(1 − u)). */
export function squashedGaussianLogProb(a: readonly number[], mu: readonly number[], logStd: readonly number[], mask?: readonly number[]): number {
  let s = gaussianLogProb(a, mu, logStd, mask);
  for (let i = 0; i < a.length; i++) {
    if (mask && !mask[i]) continue;
    const u = sigmoid(a[i]);
    s -= Math.log(u * (1 - u));
  }
  return s;
}

/**
 * Generalised advantage estimation over concatenated episodes (Schulman et al. 2015, eq. 16):
 * δ_t = r_t + γ(1 − done_t)V_{t+1} − V_t,  A_t = δ_t + γλ(1 − done_t)A_{t+1}; returns A + V.
 * `values[t+1]` is the next step's value within an episode (ignored where done).
 */
export function gae(rewards: readonly number[], values: readonly number[], dones: readonly boolean[], gamma: number, lambda: number): { advantages: number[]; returns: number[] } {
  const n = rewards.length;
  const advantages = new Array<number>(n).fill(0);
  let next = 0;
  for (let t = n - 1; t >= 0; t--) {
    const notDone = dones[t] ? 0 : 1;
    const vNext = notDone ? values[t + 1] : 0;
    const delta = rewards[t] + gamma * vNext - values[t];
    next = delta + gamma * lambda * notDone * next;
    advantages[t] = next;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]) };
}

/** PPO's clipped surrogate objective (to maximise): mean_t min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t). */
export function clippedSurrogate(ratios: readonly number[], advantages: readonly number[], epsilon: number): number {
  let s = 0;
  for (let t = 0; t < ratios.length; t++) {
    const clipped = Math.min(Math.max(ratios[t], 1 - epsilon), 1 + epsilon);
    s += Math.min(ratios[t] * advantages[t], clipped * advantages[t]);
  }
  return s / ratios.length;
}

/** Greedy max–min diverse subset (Gonzalez 1985): starts from index 0 (the best), then farthest-first. */
export function diverseSelect(points: readonly number[][], k: number, avoid: readonly number[][] = []): number[] {
  if (points.length === 0 || k <= 0) return [];
  const chosen = [0];
  const minD = points.map((p) => Math.min(squaredDistance(p, points[0]), ...avoid.map((q) => squaredDistance(p, q))));
  while (chosen.length < Math.min(k, points.length)) {
    let best = -1;
    for (let i = 0; i < points.length; i++) if (!chosen.includes(i) && (best < 0 || minD[i] > minD[best])) best = i;
    chosen.push(best);
    for (let i = 0; i < points.length; i++) minD[i] = Math.min(minD[i], squaredDistance(points[i], points[best]));
  }
  return chosen;
}

// ─── Actor-critic network (shared with agents/ppo-stages.ts) ───────────────────────────────

function glorot(rng: Rng, fanIn: number, fanOut: number, scale = 1): tf.Variable {
  const lim = scale * Math.sqrt(6 / (fanIn + fanOut));
  return tf.variable(tf.tensor2d(Array.from({ length: fanIn * fanOut }, () => rng.uniform(-lim, lim)), [fanIn, fanOut]));
}

/**
 * The variables of the actor-critic, Glorot-uniform from `rng`: policy obs → h → h → μ (small
 * last layer: start near μ = 0, i.e. the cube's centre) and a state-independent log-std
 * (index 6); value obs → h → 1.
 */
export function actorCriticVariables(rng: Rng, obsDim: number, d: number, h: number, initialStd: number): tf.Variable[] {
  // tidy frees the initial-value tensors; the variables themselves survive it.
  return tf.tidy(() => [
    glorot(rng, obsDim, h), tf.variable(tf.zeros([h])), glorot(rng, h, h), tf.variable(tf.zeros([h])), glorot(rng, h, d, 0.01), tf.variable(tf.zeros([d])),
    tf.variable(tf.fill([d], Math.log(initialStd))),
    glorot(rng, obsDim, h), tf.variable(tf.zeros([h])), glorot(rng, h, 1), tf.variable(tf.zeros([1])),
  ]);
}

/** The policy's mean μ(obs) of the actor-critic's variables. */
export function actorMean(vars: readonly tf.Variable[], obs: tf.Tensor2D): tf.Tensor2D {
  const [w1, b1, w2, b2, w3, b3] = vars;
  const h1 = tf.tanh(tf.add(tf.matMul(obs, w1 as tf.Tensor2D), b1));
  const h2 = tf.tanh(tf.add(tf.matMul(h1, w2 as tf.Tensor2D), b2));
  return tf.add(tf.matMul(h2, w3 as tf.Tensor2D), b3) as tf.Tensor2D;
}

/** The value V(obs) of the actor-critic's variables. */
export function criticValue(vars: readonly tf.Variable[], obs: tf.Tensor2D): tf.Tensor1D {
  const [, , , , , , , v1, c1, v2, c2] = vars;
  const h = tf.tanh(tf.add(tf.matMul(obs, v1 as tf.Tensor2D), c1));
  return tf.reshape(tf.add(tf.matMul(h, v2 as tf.Tensor2D), c2), [-1]) as tf.Tensor1D;
}

// ─── Options ─────────────────────────────────────────────────────────────────────────────

const DEFAULTS = {
  /** Optimism: rollouts are scored by mean + kappa·std of the model. */
  kappa: 1,
  /** Episodes per PPO iteration. */
  episodes: 64,
  /** PPO iterations at the first proposal (policy from scratch) and at later ones (warm). */
  iterations: 30,
  iterationsWarm: 12,
  /** Gradient epochs over each iteration's batch (full batch). */
  epochs: 6,
  learningRate: 3e-3,
  clip: 0.2,
  gamma: 1,
  lambda: 0.95,
  entropyCoef: 1e-3,
  valueCoef: 0.5,
  hidden: 64,
  /** Initial std of the pre-squash Gaussian (1.6 makes sigmoid(a) close to uniform). */
  initialStd: 1.6,
  /** Candidates drawn from the trained policy for the final selection. */
  finalSamples: 256,
  /** Shortlist size for the diverse selection: max(shortlist, 4k). */
  shortlist: 16,
  /** Uniform random proposals until this many finite observations to learn from (0 = min(d + 1, 10)). */
  initialPoints: 0,
  /** Process stages: [{ name, parameters: [...] }]; empty = one-step episodes. */
  stages: [] as unknown,
  /** Act inside a TuRBO trust region around the best observed point (see above). */
  trustRegion: true,
};

/**
 * Review 2026-12-07: episodes 0 crashed TF.js mid-campaign, clip −1 in round 2 after the rig
 * runs were spent; finalSamples 0, hidden 0, iterations −1, episodes 1.5, learningRate −1 and
 * gamma 5 were accepted. kappa has no bound: κ < 0 makes the agent cautious (docs/agents.md).
 */
const RANGES = {
  episodes: { integer: true, min: 1 },
  iterations: { integer: true, min: 1 },
  iterationsWarm: { integer: true, min: 0 },
  epochs: { integer: true, min: 1 },
  learningRate: { above: 0 },
  clip: { above: 0, max: 1 },
  gamma: { min: 0, max: 1 },
  lambda: { min: 0, max: 1 },
  entropyCoef: { min: 0 },
  valueCoef: { min: 0 },
  hidden: { integer: true, min: 1 },
  initialStd: { above: 0 },
  finalSamples: { integer: true, min: 1 },
  shortlist: { integer: true, min: 1 },
  initialPoints: { integer: true, min: 0 },
};

interface TrustRegion {
  length: number;
  successes: number;
  failures: number;
  /** Best reward when the region was last updated. */
  best: number | null;
  /** History size when the region was last updated. */
  seen: number;
}

/** Rollouts may land on the same pool point: nothing is excluded while training. */
const NONE: ReadonlySet<number> = new Set();

const TR_INIT = 0.8;
const TR_MIN = 2 ** -7;
const TR_MAX = 1.6;

/** TuRBO's trust-region update from the observations since the last proposal. */
export function updateTrustRegion(tr: TrustRegion, history: readonly Observation[], d: number, k: number): TrustRegion {
  const finite = history.filter((o) => Number.isFinite(o.reward));
  if (finite.length === 0 || history.length === tr.seen) return tr;
  const best = Math.max(...finite.map((o) => o.reward));
  const next = { ...tr, seen: history.length, best };
  if (tr.best === null) return next;
  if (best > tr.best + 1e-3 * Math.abs(tr.best)) {
    next.successes = tr.successes + 1;
    next.failures = 0;
  } else {
    next.successes = 0;
    next.failures = tr.failures + 1;
  }
  if (next.successes >= 3) {
    next.length = Math.min(2 * next.length, TR_MAX);
    next.successes = 0;
  } else if (next.failures >= Math.ceil(Math.max(4, d) / Math.max(1, k))) {
    next.length /= 2;
    next.failures = 0;
  }
  if (next.length < TR_MIN) next.length = TR_INIT;
  return next;
}

interface StageSpec {
  name: string;
  parameters: string[];
}

interface PpoSnapshot {
  shapes: number[][];
  weights: number[][];
  gp: GpFitState;
  calls: number;
  trust: TrustRegion;
}

type Describe = (stage: number, partial: Parameters) => number[];

interface Episode {
  obs: number[][];
  actions: number[][];
  masks: number[][];
  logp: number[];
  values: number[];
  /** Final encoded point (cube), its feasible parameters and encoding, or null when infeasible. */
  params: Parameters | null;
  x: number[] | null;
  /** Index of the snapped point in the unused pool (pool spaces), else -1. */
  poolIndex: number;
}

export function createPpoAgent(options: Record<string, unknown> = {}): Agent {
  const { describe, ...rest } = options as { describe?: unknown };
  if (describe !== undefined && typeof describe !== 'function') throw new BadInputError('must be a function (stage, partial params) → number[]', 'agent.ppo.describe');
  const opts = readOptions('ppo', DEFAULTS, rest, RANGES);
  const stages = parseStages(opts.stages);
  const random = createRandomAgent();

  let vars: tf.Variable[] | null = null;
  let shapes: number[][] = [];
  let gpState: GpFitState = { hyper: null, lastFitN: 0 };
  let calls = 0;
  let trust: TrustRegion = { length: TR_INIT, successes: 0, failures: 0, best: null, seen: 0 };
  let pendingRestore: PpoSnapshot | null = null;

  /** Stage index of each encoded coordinate. */
  function coordinateStages(ctx: AgentContext): number[] {
    const out: number[] = [];
    const s = Math.max(1, stages.length);
    for (const p of ctx.space.parameters) {
      const idx = stages.findIndex((st) => st.parameters.includes(p.name));
      const width = p.kind === 'categorical' ? p.values.length : 1;
      for (let i = 0; i < width; i++) out.push(idx >= 0 ? idx : s - 1);
    }
    return out;
  }

  function build(rng: Rng, obsDim: number, d: number): void {
    vars = actorCriticVariables(rng, obsDim, d, opts.hidden, opts.initialStd);
    shapes = vars.map((v) => v.shape as number[]);
  }

  function restoreVars(s: PpoSnapshot): void {
    vars?.forEach((v) => v.dispose());
    vars = tf.tidy(() => s.weights.map((w, i) => tf.variable(tf.tensor(w, s.shapes[i]))));
    shapes = s.shapes;
  }

  const policyMean = (obs: tf.Tensor2D): tf.Tensor2D => actorMean(vars!, obs);
  const value = (obs: tf.Tensor2D): tf.Tensor1D => criticValue(vars!, obs);

  /** Observation of stage s given the coordinates set so far. */
  function observe(ctx: AgentContext, s: number, u: number[], set: number[]): number[] {
    const S = Math.max(1, stages.length);
    const o = [...Array.from({ length: S }, (_, i) => (i === s ? 1 : 0)), ...u.map((v, i) => (set[i] ? v : 0)), ...set];
    if (typeof describe === 'function') {
      const full = decode(ctx.space, u.map((v, i) => (set[i] ? v : 0.5)));
      const names = new Set<string>();
      let j = 0;
      for (const p of ctx.space.parameters) {
        if (set[j]) names.add(p.name);
        j += p.kind === 'categorical' ? p.values.length : 1;
      }
      const partial = Object.fromEntries(Object.entries(full).filter(([k]) => names.has(k)));
      o.push(...(describe as Describe)(s, partial));
    }
    return o;
  }

  /** Runs `n` episodes of the current policy (batched across episodes, stage by stage). */
  function rollout(ctx: AgentContext, rng: Rng, n: number, stageOf: number[], view: PoolView | null, box: { lo: number[]; hi: number[] }): Episode[] {
    const d = stageOf.length;
    const S = Math.max(1, stages.length);
    const logStd = Array.from(vars![6].dataSync());
    const eps: Episode[] = Array.from({ length: n }, () => ({ obs: [], actions: [], masks: [], logp: [], values: [], params: null, x: null, poolIndex: -1 }));
    const u = Array.from({ length: n }, () => new Array<number>(d).fill(0));
    const set = Array.from({ length: n }, () => new Array<number>(d).fill(0));
    for (let s = 0; s < S; s++) {
      const mask = stageOf.map((t) => (t === s ? 1 : 0));
      const obs = eps.map((_, i) => observe(ctx, s, u[i], set[i]));
      const [tMu, tV] = tf.tidy(() => {
        const o = tf.tensor2d(obs);
        return [policyMean(o), value(o)];
      });
      const mu = tMu.arraySync();
      const v = tV.arraySync();
      tf.dispose([tMu, tV]);
      eps.forEach((e, i) => {
        const a = mu[i].map((m, j) => (mask[j] ? m + Math.exp(logStd[j]) * rng.normal() : 0));
        for (let j = 0; j < d; j++) if (mask[j]) {
          u[i][j] = box.lo[j] + (box.hi[j] - box.lo[j]) * sigmoid(a[j]);
          set[i][j] = 1;
        }
        e.obs.push(obs[i]);
        e.actions.push(a);
        e.masks.push(mask);
        e.logp.push(gaussianLogProb(a, mu[i], logStd, mask));
        e.values.push(v[i]);
      });
    }
    eps.forEach((e, i) => {
      if (view) {
        const j = nearestInPool(view, u[i], NONE);
        if (j >= 0) {
          e.params = view.points[j];
          e.x = view.encoded[j];
          e.poolIndex = j;
        }
      } else {
        const p = feasibleFromCube(ctx.space, u[i]);
        if (p) {
          e.params = p;
          e.x = encode(ctx.space, p);
        }
      }
    });
    return eps;
  }

  /** One PPO update on a batch of scored episodes (full-batch Adam, `epochs` steps). */
  function update(eps: Episode[], scores: number[], optimizer: tf.Optimizer): void {
    // Standardise the terminal reward within the batch; infeasible → worst − 1.
    const finite = scores.filter(Number.isFinite);
    const m = finite.reduce((a, b) => a + b, 0) / Math.max(1, finite.length);
    const sd = Math.sqrt(finite.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, finite.length)) || 1;
    const worst = finite.length ? Math.min(...finite.map((v) => (v - m) / sd)) : 0;
    const obs: number[][] = [];
    const act: number[][] = [];
    const mask: number[][] = [];
    const logpOld: number[] = [];
    const rewards: number[] = [];
    const values: number[] = [];
    const dones: boolean[] = [];
    eps.forEach((e, i) => {
      const r = Number.isFinite(scores[i]) ? (scores[i] - m) / sd : worst - 1;
      e.obs.forEach((o, t) => {
        obs.push(o);
        act.push(e.actions[t]);
        mask.push(e.masks[t]);
        logpOld.push(e.logp[t]);
        values.push(e.values[t]);
        const last = t === e.obs.length - 1;
        rewards.push(last ? r : 0);
        dones.push(last);
      });
    });
    const { advantages, returns } = gae(rewards, values, dones, opts.gamma, opts.lambda);
    const am = advantages.reduce((a, b) => a + b, 0) / advantages.length;
    const as = Math.sqrt(advantages.reduce((a, b) => a + (b - am) ** 2, 0) / advantages.length) || 1;
    const tObs = tf.tensor2d(obs);
    const tAct = tf.tensor2d(act);
    const tMask = tf.tensor2d(mask);
    const tLogpOld = tf.tensor1d(logpOld);
    const tAdv = tf.tensor1d(advantages.map((a) => (a - am) / as));
    const tRet = tf.tensor1d(returns);
    try {
      for (let epoch = 0; epoch < opts.epochs; epoch++) {
        optimizer.minimize(() => ppoLoss(policyMean(tObs), vars![6] as tf.Tensor1D, value(tObs), tAct, tMask, tLogpOld, tAdv, tRet, opts), false, vars!);
      }
    } finally {
      tf.dispose([tObs, tAct, tMask, tLogpOld, tAdv, tRet]);
    }
  }

  /**
   * Model scores (mean + κ·std) of the episodes' final points. `cache` holds the scores of pool
   * points already scored during this proposal: the model does not change within a proposal,
   * and once the policy concentrates most rollouts snap to the same few pool points, so each
   * pool point is scored at most once per proposal (same scores, far fewer model calls).
   */
  async function scoreWith(model: (ps: Parameters[]) => Promise<PropertyEstimate[]>, eps: Episode[], cache: Map<number, number>): Promise<number[]> {
    const todo = new Map<number | Episode, Parameters>();
    for (const e of eps) if (e.params && !(e.poolIndex >= 0 && cache.has(e.poolIndex))) todo.set(e.poolIndex >= 0 ? e.poolIndex : e, e.params);
    const keys = [...todo.keys()];
    const est = keys.length ? await model([...todo.values()]) : [];
    const fresh = new Map<number | Episode, number>();
    keys.forEach((key, j) => {
      const score = est[j].mean + opts.kappa * est[j].std;
      fresh.set(key, score);
      if (typeof key === 'number') cache.set(key, score);
    });
    return eps.map((e) => (!e.params ? NaN : e.poolIndex >= 0 ? cache.get(e.poolIndex)! : fresh.get(e)!));
  }

  /** The reward model without ctx.model: a GP on the observations (after the initial design). */
  function historyModel(ctx: AgentContext): (ps: Parameters[]) => Promise<PropertyEstimate[]> {
    const { x, y } = trainingData(ctx.space, ctx.history);
    const r = fitOrReuse(gpState, x, y, ctx.rng, { refitFraction: 0.1, restarts: 2, maxFitPoints: 200 });
    gpState = r.state;
    const gp = r.gp;
    return async (ps) => {
      const p = gp.predict(ps.map((q) => encode(ctx.space, q)));
      return p.mean.map((mean, i) => ({ mean, std: Math.sqrt(p.variance[i]) }));
    };
  }

  return {
    name: 'ppo',
    usesModel: true,
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      if (inInitialDesign(ctx, opts.initialPoints)) return random.propose(ctx, k);
      const model = ctx.model ?? historyModel(ctx);
      const data = learningSet(ctx.history);
      await ensureBackend('dense');
      const stageOf = coordinateStages(ctx);
      const d = stageOf.length;
      const rng = ctx.rng;
      const view = unusedPool(ctx);
      if (view && view.points.length === 0) return [];
      const probeObs = observe(ctx, 0, new Array(d).fill(0), new Array(d).fill(0));
      if (pendingRestore) {
        restoreVars(pendingRestore);
        pendingRestore = null;
      }
      if (!vars || shapes[0][0] !== probeObs.length || shapes[4][1] !== d) {
        vars?.forEach((v) => v.dispose());
        build(rng, probeObs.length, d);
      }
      trust = updateTrustRegion(trust, data, d, k);
      const box = { lo: new Array<number>(d).fill(0), hi: new Array<number>(d).fill(1) };
      let bestObs: Observation | null = null;
      for (const o of data) if (Number.isFinite(o.reward) && (!bestObs || o.reward > bestObs.reward)) bestObs = o;
      if (opts.trustRegion && bestObs) {
        const c = encode(ctx.space, bestObs.params);
        for (let j = 0; j < d; j++) {
          box.lo[j] = Math.max(0, c[j] - trust.length / 2);
          box.hi[j] = Math.min(1, c[j] + trust.length / 2);
        }
      }
      const optimizer = tf.train.adam(opts.learningRate);
      const scored = new Map<number, number>();
      const archive = new Map<string, { params: Parameters; x: number[]; score: number }>();
      const remember = (eps: Episode[], scores: number[]): void =>
        eps.forEach((e, i) => {
          if (e.params && Number.isFinite(scores[i])) archive.set(paramKey(e.params), { params: e.params, x: e.x!, score: scores[i] });
        });
      try {
        const iterations = calls === 0 ? opts.iterations : opts.iterationsWarm;
        for (let it = 0; it < iterations; it++) {
          const eps = rollout(ctx, rng, opts.episodes, stageOf, view, box);
          const scores = await scoreWith(model, eps, scored);
          remember(eps, scores);
          update(eps, scores, optimizer);
          // ppo trains against the reward model that lives on the orchestrator's thread, so it
          // cannot move to a worker like the other agents; it gives the event loop a turn after
          // every iteration instead (issue #14: a long proposal made a heartbeating rig look
          // offline). Awaiting the model alone yields to microtasks only, not to I/O or timers.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const final = rollout(ctx, rng, opts.finalSamples, stageOf, view, box);
        remember(final, await scoreWith(model, final, scored));
      } finally {
        optimizer.dispose();
      }
      calls++;
      const ranked = [...archive.values()].sort((a, b) => b.score - a.score).slice(0, Math.max(opts.shortlist, 4 * k));
      const observed = new Set(ctx.history.map((o) => paramKey(o.params)));
      const pending = (ctx.proposed ?? []).filter((p) => !observed.has(paramKey(p))).map((p) => encode(ctx.space, p));
      const picked = diverseSelect(ranked.map((r) => r.x), k, pending).map((i) => ranked[i].params);
      if (picked.length < k && (!view || view.points.length > picked.length)) {
        picked.push(...(await random.propose({ ...ctx, proposed: [...(ctx.proposed ?? []), ...picked] }, k - picked.length)));
      }
      return picked;
    },
    async learn(_experience: readonly Observation[]): Promise<void> {
      // Model-based: what is learnt from observations enters through the model (ctx.model or
      // the GP on ctx.history) at the next proposal; the policy itself trains on the model.
    },
    snapshot: (): PpoSnapshot | null => {
      const src = pendingRestore;
      if (src) return src;
      const t = { ...trust };
      const gp = JSON.parse(JSON.stringify(gpState)) as GpFitState;
      if (!vars) return { shapes: [], weights: [], gp, calls, trust: t };
      return { shapes, weights: vars.map((v) => Array.from(v.dataSync())), gp, calls, trust: t };
    },
    restore: (s: unknown) => {
      const snap = s as PpoSnapshot | null;
      if (!snap) return;
      gpState = JSON.parse(JSON.stringify(snap.gp)) as GpFitState;
      calls = snap.calls;
      trust = { ...snap.trust };
      // Weights are rebuilt at the next proposal, once the backend is initialised.
      pendingRestore = snap.weights.length ? snap : null;
    },
  };
}

/**
 * PPO loss (to minimise): −clipped surrogate + c_v·MSE(V, R) − c_e·entropy, with the
 * Gaussian log-density over the masked (this stage's) coordinates. Entropy is that of the
 * pre-squash Gaussian (the squashed one has no closed form), Σ_masked (ln σ + ½ ln 2πe).
 */
export function ppoLoss(
  mu: tf.Tensor2D,
  logStd: tf.Tensor1D,
  v: tf.Tensor1D,
  act: tf.Tensor2D,
  mask: tf.Tensor2D,
  logpOld: tf.Tensor1D,
  adv: tf.Tensor1D,
  ret: tf.Tensor1D,
  c: { clip: number; valueCoef: number; entropyCoef: number },
): tf.Scalar {
  return tf.tidy(() => {
    const z = tf.div(tf.sub(act, mu), tf.exp(logStd));
    const perDim = tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), logStd), 0.5 * Math.log(2 * Math.PI));
    const logp = tf.sum(tf.mul(perDim, mask), 1);
    const ratio = tf.exp(tf.sub(logp, logpOld));
    const surr = tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - c.clip, 1 + c.clip), adv));
    const entropy = tf.mean(tf.sum(tf.mul(tf.add(logStd, 0.5 * Math.log(2 * Math.PI * Math.E)), mask), 1));
    const vLoss = tf.mean(tf.square(tf.sub(v, ret)));
    return tf.sub(tf.add(tf.neg(tf.mean(surr)), tf.mul(c.valueCoef, vLoss)), tf.mul(c.entropyCoef, entropy)) as tf.Scalar;
  });
}

function parseStages(raw: unknown): StageSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new BadInputError('must be a list of { name, parameters: [names] }', 'agent.ppo.stages');
  return raw.map((s, i) => {
    const st = s as StageSpec;
    if (typeof st?.name !== 'string' || !Array.isArray(st.parameters) || st.parameters.some((p) => typeof p !== 'string')) {
      throw new BadInputError('each stage needs a name and parameters: a list of parameter names', `agent.ppo.stages[${i}]`);
    }
    return { name: st.name, parameters: [...st.parameters] };
  });
}
