/**
 * What every agent shares: option parsing, the unit-cube ↔ feasible-parameters step
 * (decode → repair → isFeasible, so no agent ever proposes an infeasible point) and pool
 * bookkeeping (a pool point already proposed or observed is never proposed again).
 */
import { learningSet } from '../src/core/learning-set.js';
import { BadInputError } from '../src/core/errors.js';
import type { AgentContext, Observation, Parameters, ParameterSpace } from '../src/core/protocols.js';
import { minusInfinityStandIn } from '../src/core/reward-stand-in.js';
import type { Rng } from '../src/core/rng.js';
import { decode, dimension, encode, isFeasible, paramKey, repair } from '../src/core/space.js';
import { basisKind, GaussianProcess, type BasisKind, type GpHyper } from '../src/surrogate/gp.js';
import { fitWarpedGp, kumaraswamy, type KumaraswamyParams } from '../src/surrogate/input-warp.js';

/** Keys the campaign config may pass to any agent (handled by the orchestrator, not us). */
const PASS_THROUGH = new Set(['name', 'batchSize']);

/**
 * The values a numeric option allows (review 2026-12-07: only the type was checked, so ppo's
 * `episodes: 0` crashed TF.js mid-campaign and `clip: -1` after the rig runs were spent).
 * `above` is a strict lower bound (a step size > 0), `min` an inclusive one.
 */
export interface OptionRange {
  integer?: boolean;
  min?: number;
  above?: number;
  max?: number;
}

/** 'an integer ≥ 1', 'a number in (0, 1]', … */
export function describeRange(r: OptionRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const lo = r.above !== undefined ? `(${r.above}` : r.min !== undefined ? `[${r.min}` : undefined;
  if (lo !== undefined && r.max !== undefined) return `${kind} in ${lo}, ${r.max}]`;
  if (r.above !== undefined) return `${kind} > ${r.above}`;
  if (r.min !== undefined) return `${kind} ≥ ${r.min}`;
  return r.max !== undefined ? `${kind} ≤ ${r.max}` : kind;
}

/**
 * Merges `options` over `defaults`, checking that every key is known and has the default's
 * type (numbers must be finite) and, for the keys of `ranges`, the allowed range and
 * integer-ness. Throws BadInputError naming the key and what is allowed. An agent without
 * options says so rather than listing none.
 */
export function readOptions<T extends Record<string, unknown>>(agent: string, defaults: T, options: Record<string, unknown>, ranges: { readonly [K in keyof T]?: OptionRange } = {}): T {
  const out: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (PASS_THROUGH.has(key)) continue;
    if (!(key in defaults)) {
      const allowed = Object.keys(defaults);
      throw new BadInputError(`unknown option '${key}'; ${allowed.length ? `allowed: ${allowed.join(', ')}` : `${agent} takes no options`}`, `agent.${agent}`);
    }
    const want = defaults[key];
    if (want !== undefined && want !== null && typeof want !== typeof value) {
      throw new BadInputError(`must be a ${typeof want} (got ${JSON.stringify(value)})`, `agent.${agent}.${key}`);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) throw new BadInputError('must be a finite number', `agent.${agent}.${key}`);
    const r = ranges[key as keyof T];
    if (r && typeof value === 'number') {
      const ok = (!r.integer || Number.isInteger(value)) && (r.min === undefined || value >= r.min) && (r.above === undefined || value > r.above) && (r.max === undefined || value <= r.max);
      if (!ok) throw new BadInputError(`must be ${describeRange(r)} (got ${value})`, `agent.${agent}.${key}`);
    }
    out[key] = value;
  }
  return Object.freeze(out) as T;
}

/** A point of the cube made feasible (decode, repair), or null when repair cannot. */
export function feasibleFromCube(space: ParameterSpace, u: readonly number[]): Parameters | null {
  const p = space.constraints?.length ? repair(space, decode(space, u)) : decode(space, u);
  return isFeasible({ ...space, pool: undefined }, p).ok ? p : null;
}

/** The fidelity rule (src/core/learning-set.ts), re-exported where agents have always found it. */
export { learningSet };

/**
 * How many observations to learn from (finite rewards of `learningSet`) a model-based agent
 * waits for before its model proposes: `initialPoints`, or min(d + 1, 10) when it is 0, and
 * never fewer than 2. Until then it proposes uniformly at random (the random agent's
 * proposals, same Rng), whether or not a reward model (ctx.model) is at hand: one initial
 * design for every agent (issue #12).
 */
export function initialDesignSize(space: ParameterSpace, initialPoints: number): number {
  return Math.max(2, initialPoints > 0 ? initialPoints : Math.min(dimension(space) + 1, 10));
}

/** Whether the initial design is still running (see initialDesignSize). */
export function inInitialDesign(ctx: AgentContext, initialPoints: number): boolean {
  const finite = learningSet(ctx.history).filter((o) => Number.isFinite(o.reward)).length;
  return finite < initialDesignSize(ctx.space, initialPoints);
}

/**
 * Training data for a reward model: encoded inputs and rewards of `learningSet(history)`, with
 * failed evaluations (NaN reward: not computable, e.g. a failed manufacture) imputed as the worst
 * finite reward so that the model steers away from where manufacture failed, and a reward of −∞
 * (computable and terrible: log10 of a conductivity of 0) as a finite stand-in below it
 * (src/core/reward-stand-in.ts; review 2026-12-07: such a rig result is data, worse than any
 * finite one). `finite` counts the real (non-imputed) rewards.
 */
export function trainingData(space: ParameterSpace, history: readonly Observation[]): { x: number[][]; y: number[]; finite: number } {
  const x: number[][] = [];
  const y: number[] = [];
  const failed: number[][] = [];
  const terrible: number[][] = [];
  for (const o of learningSet(history)) {
    if (Number.isFinite(o.reward)) {
      x.push(encode(space, o.params));
      y.push(o.reward);
    } else (o.reward === -Infinity ? terrible : failed).push(encode(space, o.params));
  }
  const finite = y.length;
  if (finite > 0) {
    const worst = Math.min(...y);
    const standIn = minusInfinityStandIn(y);
    for (const u of failed) {
      x.push(u);
      y.push(worst);
    }
    for (const u of terrible) {
      x.push(u);
      y.push(standIn);
    }
  }
  return { x, y, finite };
}

/** Hyper-parameters of the last fit and the data size then (part of an agent's snapshot). */
export interface GpFitState {
  hyper: GpHyper | null;
  lastFitN: number;
  /** The Kumaraswamy input warp fitted with `hyper` (gp-bo `inputWarp: 'kumaraswamy'`). */
  warp?: KumaraswamyParams;
}

/**
 * A GP on (x, y): hyper-parameters refitted once the data grew by `refitFraction` since the
 * last fit (0: at every new point), else reused — the fit is O(n³) per iteration. Every refit
 * starts from the previous fit, the prior median and `restarts` fresh draws from the prior
 * (issue #12: restarts only at the first fit left later fits stuck in an early basin).
 * With `kumaraswamy` (the columns to warp), a Kumaraswamy input warp of those columns is fitted
 * with the hyper-parameters (src/surrogate/input-warp.ts): the GP is then conditioned on the
 * warped x, and `warp` maps a point of the cube to the GP's inputs. A stored warp of other
 * columns (another space) is neither reused nor a warm start. With `basis`, the kernel has that
 * basis term (src/surrogate/gp.ts quadraticBasis, secondOrderBasis; its variances are part of `hyper`).
 */
export function fitOrReuse(state: GpFitState, x: number[][], y: number[], rng: Rng, o: { refitFraction: number; restarts: number; maxFitPoints: number; kumaraswamy?: readonly number[]; basis?: BasisKind }): { gp: GaussianProcess; state: GpFitState; warp?: (u: readonly number[]) => number[] } {
  const n = y.length;
  const reuse = state.hyper !== null && n < state.lastFitN + Math.max(1, Math.ceil(o.refitFraction * state.lastFitN));
  if (o.kumaraswamy) {
    const stored = state.hyper && state.warp?.columns?.join() === o.kumaraswamy.join() ? { hyper: state.hyper, warp: state.warp } : undefined;
    if (reuse && stored) {
      const warp = kumaraswamy(stored.warp);
      return { gp: new GaussianProcess(x.map(warp), y, stored.hyper), state, warp };
    }
    const r = fitWarpedGp(x, y, { columns: o.kumaraswamy, rng, init: stored, restarts: o.restarts, maxFitPoints: o.maxFitPoints });
    return { gp: r.gp, state: { hyper: r.gp.hyper, lastFitN: n, warp: r.params }, warp: r.warp };
  }
  // Stored hyper-parameters are reused only for the same kernel: with the basis term of the kind
  // asked for, none when none is (a snapshot from another trend setting must not keep, drop or
  // change it silently).
  if (reuse && basisKind(state.hyper!) === o.basis) return { gp: new GaussianProcess(x, y, state.hyper!), state };
  const gp = GaussianProcess.fit(x, y, { rng, init: state.hyper ?? undefined, restarts: o.restarts, maxFitPoints: o.maxFitPoints, basis: o.basis });
  return { gp, state: { hyper: gp.hyper, lastFitN: n } };
}

/** The pool points still allowed (not in ctx.proposed nor in ctx.history), with encodings. */
export interface PoolView {
  points: Parameters[];
  encoded: number[][];
}

/** Keys and encodings of a pool's distinct points, computed once per (pool, parameters). */
const poolCache = new WeakMap<readonly Parameters[], { parameters: ParameterSpace['parameters']; points: Parameters[]; keys: string[]; encoded: number[][]; warp?: InputWarp; moves?: boolean }>();

function poolIndex(space: ParameterSpace & { pool: Parameters[] }) {
  let c = poolCache.get(space.pool);
  if (!c || c.parameters !== space.parameters) {
    // A pool listing the same point twice must still yield it once; a pool row outside the
    // bounds or constraints is never proposed.
    const seen = new Set<string>();
    const points: Parameters[] = [];
    const keys: string[] = [];
    const unpooled = { ...space, pool: undefined };
    for (const p of space.pool) {
      const k = paramKey(p);
      if (seen.has(k) || !isFeasible(unpooled, p).ok) continue;
      seen.add(k);
      points.push(p);
      keys.push(k);
    }
    c = { parameters: space.parameters, points, keys, encoded: points.map((p) => encode(space, p)) };
    poolCache.set(space.pool, c);
  }
  return c;
}

/**
 * The pool-marginal input warp (gp-bo `inputWarp: 'pool-cdf'`, issue #12): each encoded column
 * mapped through the empirical CDF of the pool's distinct points, so that a stationary kernel
 * works on a quantile scale where the pool is clustered or skewed (compositions with most
 * loadings at 0, say). A pool value maps to its mid-rank (ties share the mean of their ranks,
 * 0-based) scaled so the pool's smallest value maps to 0 and its largest to 1; between two pool
 * values the map is linear, outside them it is clamped — monotone (non-decreasing), continuous
 * and fixed by the pool alone (no data, no fit). A column with two distinct values maps them to
 * 0 and 1 (a one-hot column stays as it is); a column with one maps it to 0.
 */
export type InputWarp = (u: readonly number[]) => number[];

/** Distinct sorted values of each column and their scaled mid-ranks. */
export function poolCdfTables(encoded: readonly (readonly number[])[]): { values: number[]; ranks: number[] }[] {
  const n = encoded.length;
  const d = n ? encoded[0].length : 0;
  return Array.from({ length: d }, (_, k) => {
    const col = encoded.map((u) => u[k]).sort((a, b) => a - b);
    const values: number[] = [];
    const mid: number[] = [];
    for (let s = 0; s < n; ) {
      let e = s;
      while (e + 1 < n && col[e + 1] === col[s]) e++;
      values.push(col[s]);
      mid.push((s + e) / 2);
      s = e + 1;
    }
    const lo = mid[0];
    const span = mid[mid.length - 1] - lo;
    return { values, ranks: mid.map((r) => (span > 0 ? (r - lo) / span : 0)) };
  });
}

/** The warp of `poolCdfTables`: binary search, then linear interpolation between pool values. */
export function poolCdfWarp(tables: readonly { values: number[]; ranks: number[] }[]): InputWarp {
  return (u) =>
    u.map((v, k) => {
      const { values, ranks } = tables[k];
      if (v <= values[0]) return ranks[0];
      const last = values.length - 1;
      if (v >= values[last]) return ranks[last];
      let lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (values[mid] <= v) lo = mid;
        else hi = mid;
      }
      return ranks[lo] + ((ranks[hi] - ranks[lo]) * (v - values[lo])) / (values[hi] - values[lo]);
    });
}

/** The pool-CDF warp of a pool space (its distinct feasible points, as the agents see them), or null without a pool. */
export function poolInputWarp(space: ParameterSpace): InputWarp | null {
  if (!space.pool) return null;
  const c = poolIndex(space as ParameterSpace & { pool: Parameters[] });
  c.warp ??= poolCdfWarp(poolCdfTables(c.encoded));
  return c.warp;
}

/**
 * Whether the pool-CDF warp of a pool space moves any of its distinct points by more than 1e-9
 * in any column. It does not on a full factorial with equally spaced levels and equal counts
 * (fullerenes: 6 × 6 × 6), where each level's mid-rank is its own position up to rounding; gp-bo's
 * `inputWarp: 'auto'` then has one model to fit, not two (issue #12, round 5). False without a pool.
 */
export function poolWarpMoves(space: ParameterSpace): boolean {
  const warp = poolInputWarp(space);
  if (!warp) return false;
  const c = poolIndex(space as ParameterSpace & { pool: Parameters[] });
  c.moves ??= c.encoded.some((u) => warp(u).some((v, k) => Math.abs(v - u[k]) > 1e-9));
  return c.moves;
}

/** paramKey memoised per object: proposals and observations are never mutated once made. */
const keyCache = new WeakMap<Parameters, string>();
function keyOf(p: Parameters): string {
  let k = keyCache.get(p);
  if (k === undefined) {
    k = paramKey(p);
    keyCache.set(p, k);
  }
  return k;
}

export function unusedPool(ctx: AgentContext): PoolView | null {
  if (!ctx.space.pool) return null;
  const c = poolIndex(ctx.space as ParameterSpace & { pool: Parameters[] });
  const used = new Set<string>();
  for (const p of ctx.proposed ?? []) used.add(keyOf(p));
  for (const o of ctx.history) used.add(keyOf(o.params));
  const points: Parameters[] = [];
  const encoded: number[][] = [];
  c.keys.forEach((k, i) => {
    if (used.has(k)) return;
    points.push(c.points[i]);
    encoded.push(c.encoded[i]);
  });
  return { points, encoded };
}

export function squaredDistance(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/** Index of the pool point nearest to u (encoded space) that is not in `taken`, or -1. */
export function nearestInPool(view: PoolView, u: readonly number[], taken: ReadonlySet<number>): number {
  let best = -1;
  let bestD = Infinity;
  for (let i = 0; i < view.encoded.length; i++) {
    if (taken.has(i)) continue;
    const d = squaredDistance(view.encoded[i], u);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/**
 * Turns a stream of cube points into k proposals: snapped to distinct unused pool points for
 * pool spaces, else made feasible (infeasible ones skipped). `next` may be called many times;
 * gives up after `maxTries` draws (a space whose constraints repair cannot meet).
 */
export function proposeFromStream(ctx: AgentContext, k: number, next: () => number[], maxTries = 1000 * Math.max(1, k)): Parameters[] {
  const view = unusedPool(ctx);
  const out: Parameters[] = [];
  if (view) {
    const taken = new Set<number>();
    while (out.length < k && taken.size < view.points.length) {
      const i = nearestInPool(view, next(), taken);
      taken.add(i);
      out.push(view.points[i]);
    }
    return out;
  }
  for (let t = 0; out.length < k && t < maxTries; t++) {
    const p = feasibleFromCube(ctx.space, next());
    if (p) out.push(p);
  }
  if (out.length < k) {
    throw new BadInputError(`could not find ${k} feasible points in ${maxTries} draws; check that the constraints can be met within the bounds`, 'space.constraints');
  }
  return out;
}
