/**
 * Gaussian-process Bayesian optimisation (Jones, Schonlau & Welch 1998; Snoek, Larochelle &
 * Adams 2012): an exact GP with a Matérn-5/2 ARD kernel on the encoded unit cube
 * (src/surrogate/gp.ts), hyper-parameters fitted by maximising the log marginal likelihood
 * from several starts, and expected improvement (EI) as the acquisition.
 *
 * - Start: until `initialPoints` finite observations exist, proposals are uniform random
 *   (a sequence config can put Sobol' first instead).
 * - Failed evaluations (NaN reward) are imputed with the worst observed reward, so the model
 *   steers away from where manufacture failed instead of proposing it again.
 * - Hyper-parameters are refitted when the data grew by `refitFraction` since the last fit
 *   (warm-started from it), else reused: the fit is O(n³) per iteration.
 * - Batches and in-flight points: Kriging believer (Ginsbourger, Le Riche & Carraro 2010):
 *   each chosen point (and every pending point in ctx.proposed not yet observed) is added to
 *   the GP with its posterior mean as a fantasy observation, then EI is recomputed. Simple,
 *   deterministic and good for the small batches a rig pool takes.
 * - Maximising EI: pools are scored exhaustively (every unused point); continuous spaces by
 *   scoring `candidates` uniform points plus Gaussian perturbations of the best observed
 *   points, then refining the best few by a shrinking random local search. Every candidate
 *   is decoded, repaired and checked first, so EI is maximised over feasible points only.
 */
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';
import { dimension, encode, paramKey } from '../src/core/space.js';
import { GaussianProcess, expectedImprovement } from '../src/surrogate/gp.js';
import { feasibleFromCube, fitOrReuse, readOptions, trainingData, unusedPool, type GpFitState } from './common.js';
import { createRandomAgent } from './random.js';

const DEFAULTS = {
  /** Random proposals until this many finite observations exist; 0 = min(d + 1, 10). */
  initialPoints: 0,
  /** EI margin, in units of the standard deviation of the observed rewards. */
  xi: 0.01,
  /** Uniform candidates scored per proposal in continuous spaces. */
  candidates: 2000,
  /** Refit hyper-parameters once the data grew by this fraction (≥ 1 point). */
  refitFraction: 0.1,
  /** Random restarts of the likelihood maximisation (besides warm start and default). */
  restarts: 2,
  /** Hyper-parameter fit on at most this many points (a random subset beyond). */
  maxFitPoints: 150,
};

type GpBoState = GpFitState;

/** A point of the cube made feasible, as its encoding and parameters. */
function feasibleCandidate(ctx: AgentContext, u: number[]): { x: number[]; params: Parameters } | null {
  const p = feasibleFromCube(ctx.space, u);
  return p ? { x: encode(ctx.space, p), params: p } : null;
}

/**
 * Index of the first point of maximal EI, computed exactly but without the O(n²) variance of
 * every point: EI grows with σ (∂EI/∂σ = φ(z) > 0) and σ² never exceeds the prior variance,
 * so EI(μ, σ_prior) bounds each point's EI. Points are visited in decreasing bound and the scan
 * stops once the bound falls below the best exact EI (branch and bound; same answer as a full
 * scan, ties to the lowest index, at a fraction of the cost on large pools).
 */
export function argmaxEiPool(gp: GaussianProcess, xs: number[][], best: number, xi: number): number {
  const means = gp.predictMean(xs);
  const prior = gp.priorVariance;
  const bound = means.map((m) => expectedImprovement(m, prior, best, xi));
  const order = bound.map((_, i) => i).sort((a, b) => bound[b] - bound[a] || a - b);
  let bestEi = -Infinity;
  let bestIdx = -1;
  for (const i of order) {
    if (bound[i] < bestEi) break;
    const p = gp.predict([xs[i]]);
    const ei = expectedImprovement(p.mean[0], p.variance[0], best, xi);
    if (ei > bestEi || (ei === bestEi && i < bestIdx)) {
      bestEi = ei;
      bestIdx = i;
    }
  }
  return bestIdx;
}

export function createGpBoAgent(options: Record<string, unknown> = {}): Agent {
  const opts = readOptions('gp-bo', DEFAULTS, options);
  let state: GpBoState = { hyper: null, lastFitN: 0 };
  const random = createRandomAgent();

  function model(ctx: AgentContext): GaussianProcess | null {
    const { x, y, finite } = trainingData(ctx.space, ctx.history);
    const init = opts.initialPoints > 0 ? opts.initialPoints : Math.min(dimension(ctx.space) + 1, 10);
    if (finite < Math.max(2, init)) return null;
    const r = fitOrReuse(state, x, y, ctx.rng, opts);
    state = r.state;
    return r.gp;
  }

  function eiOf(gp: GaussianProcess, xs: number[][], best: number, xi: number): number[] {
    const p = gp.predict(xs);
    return p.mean.map((m, i) => expectedImprovement(m, p.variance[i], best, xi));
  }

  /** Continuous spaces: the feasible point of highest EI found by sampling + local search. */
  function maximiseEi(ctx: AgentContext, gp: GaussianProcess, best: number, xi: number, rng: Rng): { x: number[]; params: Parameters } | null {
    const d = dimension(ctx.space);
    const cands: { x: number[]; params: Parameters }[] = [];
    for (let i = 0; i < opts.candidates; i++) {
      const c = feasibleCandidate(ctx, Array.from({ length: d }, () => rng.next()));
      if (c) cands.push(c);
    }
    const order = gp.y.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 5);
    for (const [, i] of order) {
      for (const scale of [0.1, 0.02]) {
        for (let j = 0; j < 50; j++) {
          const c = feasibleCandidate(ctx, gp.x[i].map((v) => v + scale * rng.normal()));
          if (c) cands.push(c);
        }
      }
    }
    if (cands.length === 0) return null;
    const ei = eiOf(gp, cands.map((c) => c.x), best, xi);
    const top = ei.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
    let winner = { ...cands[top[0][1]], ei: top[0][0] };
    for (const [v0, i0] of top) {
      let cur = { ...cands[i0], ei: v0 };
      for (let step = 0.05; step > 1e-3; step *= 0.7) {
        const local: { x: number[]; params: Parameters }[] = [];
        for (let j = 0; j < 8; j++) {
          const c = feasibleCandidate(ctx, cur.x.map((v) => v + step * rng.normal()));
          if (c) local.push(c);
        }
        if (local.length === 0) continue;
        const e = eiOf(gp, local.map((c) => c.x), best, xi);
        const j = e.indexOf(Math.max(...e));
        if (e[j] > cur.ei) cur = { ...local[j], ei: e[j] };
      }
      if (cur.ei > winner.ei) winner = cur;
    }
    return winner;
  }

  return {
    name: 'gp-bo',
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      let gp = model(ctx);
      if (!gp) return random.propose(ctx, k);
      const observed = new Set(ctx.history.map((o) => paramKey(o.params)));
      for (const p of ctx.proposed ?? []) {
        if (observed.has(paramKey(p))) continue;
        const u = encode(ctx.space, p);
        gp = gp.withPoint(u, gp.predict([u]).mean[0]);
      }
      const xi = opts.xi * gp.targetScale.std;
      const view = unusedPool(ctx);
      const out: Parameters[] = [];
      const taken = new Set<number>();
      for (let b = 0; b < k; b++) {
        const best = Math.max(...gp.y);
        let chosen: { x: number[]; params: Parameters } | null = null;
        if (view) {
          const idx = view.encoded.map((_, i) => i).filter((i) => !taken.has(i));
          if (idx.length === 0) break;
          const j = argmaxEiPool(gp, idx.map((i) => view.encoded[i]), best, xi);
          taken.add(idx[j]);
          chosen = { x: view.encoded[idx[j]], params: view.points[idx[j]] };
        } else {
          chosen = maximiseEi(ctx, gp, best, xi, ctx.rng);
          if (!chosen) return [...out, ...(await random.propose(ctx, k - out.length))];
        }
        out.push(chosen.params);
        if (b + 1 < k) gp = gp.withPoint(chosen.x, gp.predict([chosen.x]).mean[0]);
      }
      return out;
    },
    async learn(_experience: readonly Observation[]): Promise<void> {
      // The model is rebuilt from ctx.history at each proposal; nothing to accumulate.
    },
    snapshot: (): GpBoState => JSON.parse(JSON.stringify(state)),
    restore: (s: unknown) => {
      state = JSON.parse(JSON.stringify(s)) as GpBoState;
    },
  };
}
