/**
 * Multi-objective Bayesian optimisation (issue #16): proposals that extend the Pareto front of
 * Observation.objectives (goal-signed: larger is better in every objective, the campaign
 * negates `min` objectives) subject to outcome constraints (Observation.constraints: slacks,
 * feasible when all ≥ 0).
 *
 * Model: independent GPs, one per objective and one per constraint (src/surrogate/gp.ts,
 * Matérn-5/2 ARD, MAP hyper-parameters), the standard choice of BoTorch's ModelListGP. They
 * learn from `learningSet` (agents/common.ts): simulations in a twin campaign, rig
 * measurements otherwise, never a surrogate's estimate. A failed evaluation (no finite
 * objectives) is imputed with the worst value seen in each objective and constraint, as gp-bo
 * does, so the models steer away from where manufacture failed.
 *
 * Acquisition (`acquisition`):
 * - `qnehvi` (default): Monte-Carlo noisy expected hypervolume improvement (agents/ehvi.ts)
 *   on objectives normalised to [0, 1] by the observed range, reference point inferred from
 *   the data (nadir of the observed front − 10 % of its range, BoTorch's default), batches by
 *   sequential greedy selection with the chosen and pending points in the baseline;
 * - `parego`: ParEGO (Knowles, IEEE TEC 10 (2006) 50), the cheap option: per batch point a
 *   fresh weight vector on the simplex, the augmented Chebyshev scalarisation of the
 *   normalised objectives (src/reward/pareto.ts), one GP on it, log expected improvement;
 *   earlier points of the batch and pending points enter as Kriging-believer fantasies.
 * Both multiply by the probability of feasibility Π_j Φ(μ_j/σ_j) of the constraint GPs
 * (Gardner et al., ICML 2014; Gelbart, Snoek & Adams, UAI 2014).
 *
 * Candidates: every unused point of a pool; in continuous spaces `candidates` uniform points
 * plus Gaussian perturbations of the observed front, then a shrinking local search from the
 * best three (as gp-bo). Until the initial design is done (2(d + 1) observations with
 * objectives by default, see `initialPoints`), proposals are uniform random. Every random
 * choice comes from ctx.rng.
 */
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { dimension, encode, paramKey } from '../src/core/space.js';
import { inferReference, normaliser } from '../src/reward/objectives.js';
import { augmentedChebyshev, paretoFront, randomSimplexWeights } from '../src/reward/pareto.js';
import { GaussianProcess, logExpectedImprovement, normCdf } from '../src/surrogate/gp.js';
import { feasibleFromCube, fitOrReuse, initialDesignSize, learningSet, readOptions, unusedPool, type GpFitState } from './common.js';
import { JointPosterior, NehviSampler } from './ehvi.js';
import { createRandomAgent } from './random.js';

const ACQUISITIONS = ['qnehvi', 'parego'] as const;

const DEFAULTS = {
  /** 'qnehvi' (expected hypervolume improvement) or 'parego' (random Chebyshev scalarisations). */
  acquisition: 'qnehvi' as string,
  /**
   * Random proposals until this many observations with objectives exist; 0 = min(2(d + 1), 20),
   * the initial design of Daulton, Balandat & Bakshy's qNEHVI/qEHVI experiments (NeurIPS 2020,
   * 2021). Not the d + 1 of gp-bo: one GP per objective fitted to d + 1 points sent the first
   * batches away from the front (issue #16 diagnosis, docs/multiobjective.md).
   */
  initialPoints: 0,
  /** Monte-Carlo samples of qNEHVI (BoTorch uses 128; 32 keeps a proposal well under a second). */
  samples: 32,
  /** Uniform candidates per batch point in continuous spaces. */
  candidates: 256,
  /** Most baseline points kept for qNEHVI (those most often on the sampled fronts). */
  maxBaseline: 24,
  /** Refit GP hyper-parameters once the data grew by this fraction (0 = at every new point). */
  refitFraction: 0,
  restarts: 1,
  maxFitPoints: 120,
  /**
   * qNEHVI's reference point, goal-signed (larger is better; a `min` objective's reference is
   * negated), one value per objective or null to infer it; empty: inferred from the data.
   * Campaigns pass their objectives' reference/threshold here (src/compose/campaign.ts).
   */
  reference: [] as (number | null)[],
  /** ParEGO's augmented-Chebyshev ρ (Knowles 2006). */
  rho: 0.05,
};

interface MoboState {
  objectives: GpFitState[];
  constraints: GpFitState[];
}

/** Observations the models learn from, with objectives and constraints imputed for failures. */
function dataOf(history: readonly Observation[], space: AgentContext['space']): { x: number[][]; y: number[][]; c: number[][]; finite: number; m: number; q: number } | null {
  const set = learningSet(history);
  const withObj = set.filter((o) => o.objectives && o.objectives.length > 0);
  if (withObj.length === 0) return null;
  const m = withObj[0].objectives!.length;
  const q = withObj.find((o) => o.constraints)?.constraints?.length ?? 0;
  const ok = (o: Observation) => o.objectives!.length === m && o.objectives!.every(Number.isFinite);
  const good = withObj.filter(ok);
  if (good.length === 0) return { x: [], y: [], c: [], finite: 0, m, q };
  const worstY = Array.from({ length: m }, (_, i) => Math.min(...good.map((o) => o.objectives![i])));
  const cVals = (o: Observation) => Array.from({ length: q }, (_, j) => o.constraints?.[j] ?? Number.NaN);
  const finiteC = (j: number) => set.map((o) => cVals(o)[j]).filter(Number.isFinite);
  const worstC = Array.from({ length: q }, (_, j) => Math.min(-1, ...finiteC(j)));
  const x: number[][] = [];
  const y: number[][] = [];
  const c: number[][] = [];
  for (const o of set) {
    const fine = o.objectives !== undefined && ok(o);
    x.push(encode(space, o.params));
    y.push(fine ? [...o.objectives!] : worstY);
    c.push(cVals(o).map((v, j) => (Number.isFinite(v) ? v : worstC[j])));
  }
  return { x, y, c, finite: good.length, m, q };
}

const reflect = (v: number): number => {
  const t = ((v % 2) + 2) % 2;
  return t > 1 ? 2 - t : t;
};

export function createMoboAgent(options: Record<string, unknown> = {}): Agent {
  const opts = readOptions('mobo', DEFAULTS, options);
  if (!(ACQUISITIONS as readonly string[]).includes(opts.acquisition)) {
    throw new BadInputError(`must be one of ${ACQUISITIONS.join(', ')} (got '${opts.acquisition}')`, 'agent.mobo.acquisition');
  }
  for (const key of ['initialPoints', 'samples', 'candidates', 'maxBaseline', 'restarts', 'maxFitPoints'] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 0) throw new BadInputError(`must be a non-negative integer (got ${opts[key]})`, `agent.mobo.${key}`);
  }
  if (!Array.isArray(opts.reference) || !opts.reference.every((v) => v === null || (typeof v === 'number' && Number.isFinite(v)))) {
    throw new BadInputError('must be a list of finite numbers or nulls (one per objective, goal-signed)', 'agent.mobo.reference');
  }
  if (opts.samples < 1) throw new BadInputError('must be at least 1', 'agent.mobo.samples');
  if (opts.maxFitPoints < 2) throw new BadInputError('must be at least 2', 'agent.mobo.maxFitPoints');
  let state: MoboState = { objectives: [], constraints: [] };
  const random = createRandomAgent();

  const fit = (states: GpFitState[], i: number, x: number[][], y: number[], rng: Rng): GaussianProcess => {
    const r = fitOrReuse(states[i] ?? { hyper: null, lastFitN: 0 }, x, y, rng, opts);
    states[i] = r.state;
    return r.gp;
  };

  /** Probability that every constraint holds at x (1 without constraints). */
  const feasibility = (gps: readonly GaussianProcess[], x: readonly number[]): number => {
    let p = 1;
    for (const gp of gps) {
      const r = gp.predict([x]);
      p *= normCdf(r.mean[0] / Math.sqrt(Math.max(r.variance[0], 1e-18)));
    }
    return p;
  };

  /** The feasible point of highest score: pool points, or sampling + local search in the cube. */
  function maximise(ctx: AgentContext, score: (x: number[]) => number, seeds: number[][], exclude: Set<string>, taken: Set<number>, rng: Rng): { x: number[]; params: Parameters; poolIndex?: number } | null {
    const view = unusedPool(ctx);
    if (view) {
      let best = -1;
      let bestV = -Infinity;
      view.encoded.forEach((u, i) => {
        if (taken.has(i)) return;
        const v = score(u);
        if (best < 0 || v > bestV) [best, bestV] = [i, v];
      });
      return best < 0 ? null : { x: view.encoded[best], params: view.points[best], poolIndex: best };
    }
    const d = dimension(ctx.space);
    const cands: { x: number[]; params: Parameters; s: number }[] = [];
    const add = (u: number[], to = cands): void => {
      const p = feasibleFromCube(ctx.space, u);
      if (!p || exclude.has(paramKey(p))) return;
      const x = encode(ctx.space, p);
      to.push({ x, params: p, s: score(x) });
    };
    for (let i = 0; i < opts.candidates; i++) add(Array.from({ length: d }, () => rng.next()));
    for (const x0 of seeds) for (const step of [0.1, 0.02]) for (let j = 0; j < 10; j++) add(x0.map((v) => reflect(v + step * rng.normal())));
    if (cands.length === 0) return null;
    const top = [...cands].sort((a, b) => b.s - a.s).slice(0, 3);
    let winner = top[0];
    for (const start of top) {
      let cur = start;
      for (let step = 0.05; step > 2e-3; step *= 0.6) {
        const local: typeof cands = [];
        for (let j = 0; j < 6; j++) add(cur.x.map((v) => reflect(v + step * rng.normal())), local);
        for (const c of local) if (c.s > cur.s) cur = c;
      }
      if (cur.s > winner.s) winner = cur;
    }
    return winner;
  }

  return {
    name: 'mobo',
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      const data = dataOf(ctx.history, ctx.space);
      if (!data || data.finite < initialDesignSize(ctx.space, opts.initialPoints || Math.min(2 * (dimension(ctx.space) + 1), 20))) return random.propose(ctx, k);
      const { x, y, c, m, q } = data;
      const objStates = [...state.objectives];
      const conStates = [...state.constraints];
      const cons = Array.from({ length: q }, (_, j) => fit(conStates, j, x, c.map((r) => r[j]), ctx.rng));
      const feasibleObs = c.map((r) => r.every((v) => v >= 0));
      const norm = normaliser(y.filter((_, i) => feasibleObs[i]).length ? y.filter((_, i) => feasibleObs[i]) : y, m);
      const yn = y.map((r) => norm.apply(r));
      const frontIdx = paretoFront(yn.map((r, i) => (feasibleObs[i] ? r : r.map(() => Number.NaN))), new Array(m).fill('max'));
      const seeds = frontIdx.slice(0, 8).map((i) => x[i]);
      const exclude = new Set(ctx.history.map((o) => paramKey(o.params)));
      const pending = (ctx.proposed ?? []).filter((p) => !exclude.has(paramKey(p))).map((p) => encode(ctx.space, p));
      for (const p of ctx.proposed ?? []) exclude.add(paramKey(p));
      const out: Parameters[] = [];
      const taken = new Set<number>();

      if (opts.acquisition === 'qnehvi') {
        const gps = Array.from({ length: m }, (_, i) => fit(objStates, i, x, y.map((r) => r[i]), ctx.rng));
        const posts = gps.map((gp) => new JointPosterior(gp));
        // A configured reference (raw goal-signed units) is normalised like the data; missing entries are inferred.
        const configured = norm.apply(Array.from({ length: m }, (_, i) => opts.reference[i] ?? Number.NaN)).map((v) => (Number.isFinite(v) ? v : undefined));
        const reference = inferReference(yn.filter((_, i) => feasibleObs[i]).length ? yn.filter((_, i) => feasibleObs[i]) : yn, configured);
        // Baseline: observed points that are Pareto-optimal in some posterior sample (BoTorch's
        // prune_baseline), at most maxBaseline of them, plus the pending points.
        const pruneRng = ctx.rng.fork('prune');
        const count = new Array<number>(x.length).fill(0);
        const feasibleX = x.filter((_, i) => feasibleObs[i]);
        const feasibleIdx = x.map((_, i) => i).filter((i) => feasibleObs[i]);
        if (feasibleX.length > 0) {
          const joint = new NehviSampler(posts, feasibleX, { samples: opts.samples, rng: pruneRng, normalise: norm.apply, reference });
          joint.frontMembership().forEach((n, j) => (count[feasibleIdx[j]] = n));
        }
        const baseline = x.map((_, i) => i).filter((i) => count[i] > 0).sort((a, b) => count[b] - count[a] || a - b).slice(0, opts.maxBaseline).map((i) => x[i]);
        const sampler = new NehviSampler(posts, [...baseline, ...pending], { samples: opts.samples, rng: ctx.rng.fork('nehvi'), normalise: norm.apply, reference });
        for (let b = 0; b < k; b++) {
          const chosen = maximise(ctx, (u) => sampler.value(u) * feasibility(cons, u), seeds, exclude, taken, ctx.rng);
          if (!chosen) break;
          out.push(chosen.params);
          exclude.add(paramKey(chosen.params));
          if (chosen.poolIndex !== undefined) taken.add(chosen.poolIndex);
          if (b + 1 < k) sampler.add(chosen.x);
        }
      } else {
        // ParEGO: fresh weights per batch point; scalarised values of the data (normalised as
        // minimisation), with earlier choices and pending points as Kriging-believer fantasies.
        const scal = (w: number[]) => yn.map((r) => -augmentedChebyshev(r.map((v) => 1 - v), w, opts.rho));
        const fantasies = [...pending];
        for (let b = 0; b < k; b++) {
          const w = randomSimplexWeights(m, ctx.rng);
          // Hyper-parameters are refitted for every weight vector (the scalarised target changes).
          let gp = GaussianProcess.fit(x, scal(w), { rng: ctx.rng, restarts: opts.restarts, maxFitPoints: opts.maxFitPoints });
          for (const f of fantasies) gp = gp.withPoint(f, gp.predictMean([f])[0]);
          const best = Math.max(...gp.y);
          const chosen = maximise(ctx, (u) => {
            const p = gp.predict([u]);
            return logExpectedImprovement(p.mean[0], p.variance[0], best, 0) + Math.log(Math.max(feasibility(cons, u), 1e-300));
          }, seeds, exclude, taken, ctx.rng);
          if (!chosen) break;
          out.push(chosen.params);
          exclude.add(paramKey(chosen.params));
          if (chosen.poolIndex !== undefined) taken.add(chosen.poolIndex);
          fantasies.push(chosen.x);
        }
      }
      state = { objectives: objStates, constraints: conStates };
      if (out.length < k && !unusedPool(ctx)) return [...out, ...(await random.propose({ ...ctx, proposed: [...(ctx.proposed ?? []), ...out] }, k - out.length))];
      return out;
    },
    async learn(_experience: readonly Observation[]): Promise<void> {
      // The models are rebuilt from ctx.history at each proposal; nothing to accumulate.
    },
    snapshot: (): MoboState => JSON.parse(JSON.stringify(state)),
    restore: (s: unknown) => {
      state = JSON.parse(JSON.stringify(s)) as MoboState;
    },
  };
}
