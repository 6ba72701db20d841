/**
 * CMA-ES, the (μ/μ_w, λ) evolution strategy with covariance matrix adaptation, following
 * N. Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016), Table 1 and
 * Fig. 6 defaults, with IPOP restarts (Auger & Hansen, CEC 2005: on stagnation restart from a
 * random mean with the population doubled).
 *
 * Search happens in the encoded unit cube. Bounds and constraints: every sample is decoded,
 * repaired (clamp + projection onto linear/sum constraints) or snapped to the nearest unused
 * pool point, and the strategy is updated with the point actually evaluated — "injecting
 * external solutions", Hansen 2011 (arXiv:1110.4181): the step y = (x − m)/σ is clipped to a
 * Mahalanobis length of √d + 2d/(d + 2) so a far repair cannot blow up the path or C.
 *
 * Ask/tell over an asynchronous loop: `propose` first matches the observations to learn from
 * (agents/common.ts `learningSet`: measurements in a rig-only campaign, simulations in a twin
 * campaign, never a surrogate's estimates — issue #12) to the members of the current
 * generation by paramKey (NaN reward ranks last), updates once λ members are observed, then
 * hands out members (sampling more if asked for more than λ). Observations of points this
 * agent did not propose (a Sobol' start in a sequence, the initial design) only set the
 * initial mean (the best observed point) when the first generation is sampled.
 *
 * Initial design: with `initialPoints` > 0, uniform random proposals until that many
 * observations to learn from exist, exactly as gp-bo and ppo do (agents/common.ts
 * `inInitialDesign`), and the first generation is centred on the best of them. The default 0
 * means none: CMA-ES's first generation, around the cube's centre, is its own space-filling
 * start (Hansen 2016), and a random start of d + 1 points measurably cost it on Levy-10 at
 * 60 evaluations (cmaes.test.ts).
 */
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { dimension, encode, paramKey } from '../src/core/space.js';
import { feasibleFromCube, inInitialDesign, learningSet, nearestInPool, readOptions, unusedPool } from './common.js';
import { createRandomAgent } from './random.js';

/** Symmetric eigendecomposition by cyclic Jacobi rotations: C = B diag(w) Bᵀ (B columns). */
export function symmetricEigen(c: readonly number[][]): { values: number[]; vectors: number[][] } {
  const n = c.length;
  const a = c.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = cs * akp - sn * akq;
          a[k][q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = cs * apk - sn * aqk;
          a[q][k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = cs * vkp - sn * vkq;
          v[k][q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  return { values: a.map((r, i) => r[i]), vectors: v };
}

interface Member {
  /** Encoded point actually proposed (after repair or snapping). */
  x: number[];
  key: string;
  asked: boolean;
  reward?: number;
  /** Pool point or repaired parameters to hand out. */
  params: Parameters;
}

interface CmaState {
  d: number;
  lambda: number;
  mean: number[];
  sigma: number;
  c: number[][];
  pc: number[];
  ps: number[];
  generation: number;
  restarts: number;
  members: Member[];
  bestSinceRestart: number;
  stallGenerations: number;
  /** Seed for restart means (drawn from the campaign Rng at start). */
  seed: number;
}

const DEFAULTS = {
  /** Initial step size in the unit cube (Hansen: about a quarter to a third of the range). */
  sigma0: 0.3,
  /** Population size; 0 = Hansen's default 4 + ⌊3 ln d⌋. */
  populationSize: 0,
  /** IPOP restarts on stagnation (false: keep going with the collapsed distribution). */
  restarts: true,
  /** Uniform random proposals until this many finite observations to learn from (0 = none, see above). */
  initialPoints: 0,
};

/** Review 2026-12-07: sigma0 0 or −1 and populationSize −3 or 2.5 were accepted. */
const RANGES = { sigma0: { above: 0 }, populationSize: { integer: true, min: 0 }, initialPoints: { integer: true, min: 0 } };

export function createCmaesAgent(options: Record<string, unknown> = {}): Agent {
  const opts = readOptions('cmaes', DEFAULTS, options, RANGES);
  // (μ/μ_w, λ) needs λ ≥ 2 parents-and-offspring: μ = ⌊λ/2⌋ would be 0.
  if (opts.populationSize === 1) throw new BadInputError('must be 0 (4 + ⌊3 ln d⌋) or an integer ≥ 2 (got 1)', 'agent.cmaes.populationSize');
  let st: CmaState | null = null;
  const random = createRandomAgent();

  function fresh(d: number, lambda: number, mean: number[], restarts: number, seed: number): CmaState {
    return {
      seed,
      d,
      lambda,
      mean,
      sigma: opts.sigma0,
      c: Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))),
      pc: new Array(d).fill(0),
      ps: new Array(d).fill(0),
      generation: 0,
      restarts,
      members: [],
      bestSinceRestart: -Infinity,
      stallGenerations: 0,
    };
  }

  function init(ctx: AgentContext): CmaState {
    const d = dimension(ctx.space);
    const lambda = opts.populationSize > 0 ? Math.round(opts.populationSize) : 4 + Math.floor(3 * Math.log(d));
    let mean = new Array(d).fill(0.5);
    let best = -Infinity;
    for (const o of learningSet(ctx.history)) {
      if (Number.isFinite(o.reward) && o.reward > best) {
        best = o.reward;
        mean = encode(ctx.space, o.params).map((u) => Math.min(1, Math.max(0, u)));
      }
    }
    return fresh(d, lambda, mean, 0, ctx.rng.int(4294967296));
  }

  /** Draws one member: x = m + σ B D z, then made feasible (or snapped into the pool). */
  function sample(s: CmaState, ctx: AgentContext, rng: Rng, pendingKeys: Set<string>): Member | null {
    const { values, vectors } = symmetricEigen(s.c);
    const view = unusedPool(ctx);
    for (let tries = 0; tries < 100; tries++) {
      const z = Array.from({ length: s.d }, () => rng.normal());
      const y = vectors.map((row) => row.reduce((acc, b, j) => acc + b * Math.sqrt(Math.max(values[j], 0)) * z[j], 0));
      const u = s.mean.map((m, i) => m + s.sigma * y[i]);
      if (view) {
        const taken = new Set<number>();
        view.points.forEach((p, i) => pendingKeys.has(paramKey(p)) && taken.add(i));
        const i = nearestInPool(view, u, taken);
        if (i < 0) return null;
        return { x: view.encoded[i], key: paramKey(view.points[i]), asked: false, params: view.points[i] };
      }
      const p = feasibleFromCube(ctx.space, u);
      if (p) return { x: encode(ctx.space, p), key: paramKey(p), asked: false, params: p };
    }
    return null;
  }

  /** One CMA-ES update from the observed members (Hansen 2016, Table 1 / eqs. 39–47). */
  function update(s: CmaState, rng: Rng): CmaState {
    const observed = s.members.filter((m) => m.reward !== undefined);
    const sorted = [...observed].sort((a, b) => (b.reward ?? -Infinity) - (a.reward ?? -Infinity));
    const d = s.d;
    const mu = Math.max(1, Math.floor(sorted.length / 2));
    const raw = Array.from({ length: mu }, (_, i) => Math.log((sorted.length + 1) / 2) - Math.log(i + 1));
    const wsum = raw.reduce((a, b) => a + b, 0);
    const w = raw.map((v) => v / wsum);
    const mueff = 1 / w.reduce((a, b) => a + b * b, 0);
    const cs = (mueff + 2) / (d + mueff + 5);
    const ds = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (d + 1)) - 1) + cs;
    const cc = (4 + mueff / d) / (d + 4 + (2 * mueff) / d);
    const c1 = 2 / ((d + 1.3) ** 2 + mueff);
    const cmu = Math.min(1 - c1, (2 * (mueff - 2 + 1 / mueff)) / ((d + 2) ** 2 + mueff));
    const chiN = Math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d));

    const { values, vectors } = symmetricEigen(s.c);
    const invSqrt = (v: number[]): number[] => {
      // C^{-1/2} v = B D^{-1} Bᵀ v
      const bt = vectors[0].map((_, j) => vectors.reduce((acc, row, i) => acc + row[j] * v[i], 0) / Math.sqrt(Math.max(values[j], 1e-300)));
      return vectors.map((row) => row.reduce((acc, b, j) => acc + b * bt[j], 0));
    };
    const clipLen = Math.sqrt(d) + (2 * d) / (d + 2);
    const ys = sorted.slice(0, mu).map((m) => {
      const y = m.x.map((xi, i) => (xi - s.mean[i]) / s.sigma);
      const len = Math.hypot(...invSqrt(y));
      return len > clipLen ? y.map((v) => (v * clipLen) / len) : y;
    });
    const yw = new Array(d).fill(0);
    ys.forEach((y, k) => y.forEach((v, i) => (yw[i] += w[k] * v)));
    const mean = s.mean.map((m, i) => m + s.sigma * yw[i]);
    const cInvYw = invSqrt(yw);
    const ps = s.ps.map((p, i) => (1 - cs) * p + Math.sqrt(cs * (2 - cs) * mueff) * cInvYw[i]);
    const psNorm = Math.hypot(...ps);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * (s.generation + 1))) < (1.4 + 2 / (d + 1)) * chiN ? 1 : 0;
    const pc = s.pc.map((p, i) => (1 - cc) * p + hsig * Math.sqrt(cc * (2 - cc) * mueff) * yw[i]);
    const c = s.c.map((row, i) =>
      row.map((cij, j) => {
        let rankMu = 0;
        ys.forEach((y, k) => (rankMu += w[k] * y[i] * y[j]));
        return (1 - c1 - cmu + (1 - hsig) * c1 * cc * (2 - cc)) * cij + c1 * pc[i] * pc[j] + cmu * rankMu;
      }),
    );
    const sigma = s.sigma * Math.exp(Math.min(1, (cs / ds) * (psNorm / chiN - 1)));
    const genBest = sorted[0]?.reward ?? -Infinity;
    const improved = genBest > s.bestSinceRestart + 1e-12 * Math.abs(s.bestSinceRestart);
    const next: CmaState = {
      ...s,
      mean,
      sigma,
      c,
      pc,
      ps,
      generation: s.generation + 1,
      members: [],
      bestSinceRestart: Math.max(s.bestSinceRestart, genBest),
      stallGenerations: improved ? 0 : s.stallGenerations + 1,
    };
    // Stopping criteria (Hansen 2016, App. B): TolX, condition number, stagnation.
    const ev = symmetricEigen(c).values;
    const maxStd = sigma * Math.sqrt(Math.max(...ev));
    const cond = Math.max(...ev) / Math.max(Math.min(...ev), 1e-300);
    const stagnation = next.stallGenerations > 10 + Math.ceil((30 * d) / s.lambda);
    if (opts.restarts && (maxStd < 1e-6 || cond > 1e14 || stagnation || !Number.isFinite(sigma))) {
      return fresh(d, s.lambda * 2, Array.from({ length: d }, () => rng.next()), s.restarts + 1, s.seed);
    }
    return next;
  }

  /** Rewards of observed members; the update once λ members are observed. */
  function tell(history: readonly Observation[]): void {
    if (!st) return;
    const reward = new Map<string, number>();
    for (const o of learningSet(history)) if (!reward.has(paramKey(o.params))) reward.set(paramKey(o.params), o.reward);
    for (const m of st.members) {
      const r = reward.get(m.key);
      if (m.reward === undefined && r !== undefined) m.reward = Number.isFinite(r) ? r : -Infinity;
    }
    if (st.members.filter((m) => m.reward !== undefined).length >= st.lambda) {
      // Seeded from the state so that a restored agent updates identically.
      st = update(st, forkRng(st));
    }
  }

  return {
    name: 'cmaes',
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      if (!st && opts.initialPoints > 0 && inInitialDesign(ctx, opts.initialPoints)) return random.propose(ctx, k);
      if (!st || st.d !== dimension(ctx.space)) st = init(ctx);
      tell(ctx.history);
      const out: Parameters[] = [];
      const handed = new Set<string>();
      while (out.length < k) {
        let m = st.members.find((x) => !x.asked && !handed.has(x.key));
        if (!m) {
          const pending = new Set([...st.members.map((x) => x.key), ...handed]);
          const drawn = sample(st, ctx, ctx.rng, pending);
          if (!drawn) break; // pool exhausted
          st.members.push(drawn);
          m = drawn;
        }
        m.asked = true;
        handed.add(m.key);
        out.push(m.params);
      }
      return out;
    },
    async learn(_experience: readonly Observation[]): Promise<void> {
      // Told at the next proposal from ctx.history, where the fidelity rule sees everything.
    },
    snapshot: () => (st ? JSON.parse(JSON.stringify(st, (_k, v) => (v === -Infinity ? '-Infinity' : v))) : null),
    restore: (s: unknown) => {
      st = s ? (JSON.parse(JSON.stringify(s), (_k, v) => (v === '-Infinity' ? -Infinity : v)) as CmaState) : null;
    },
  };
}

/** The Rng for a restart mean: from the seed drawn at start and the strategy's counters. */
function forkRng(s: CmaState): Rng {
  return createRng(s.seed).fork(`restart-${s.restarts}-${s.generation}`);
}
