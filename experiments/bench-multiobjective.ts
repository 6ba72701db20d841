/**
 * `npm run bench -- multiobjective [--seeds 20] [--budget 40] [--batch 4] [--problems zdt1,…]
 *   [--agents qnehvi,parego,sobol,random[,qlognehvi,qnehvi-trend,qnehvi-auto,qnehvi-bayes,qnehvi-autobayes]] [--samples 32] [--mobo '{"candidates":512}'] [--first-seed 1] [--out NAME]`
 *   Only the run of record (none of these options) writes results/multiobjective.md by default;
 *   any other run (a part, development seeds, an ablation) needs --out NAME.
 * `npm run bench -- multiobjective --build-pool [gdl-twin|gdl-twin-mean]`: builds a GDL pool's cache;
 *   `--pool-noise`: the two pools' noise and fronts, side by side (markdown on stdout).
 * `npm run bench -- multiobjective --merge part1,part2,… --out NAME`: one table from the .json of
 *   runs split by problem or seed block (background processes on shared cores). Refused
 *   (experiments/merge.ts, shared with the scale bench): parts of different commits, budgets,
 *   batches, MC samples or --mobo options; a run in two parts; a problem without an agent that
 *   another problem has; any (problem, agent) that does not cover exactly the same consecutive
 *   seeds as every other.
 *
 * Multi-objective agents on test problems with known Pareto fronts (issue #16): dominated
 * hypervolume against evaluations, the same seeds for every agent, all in one run.
 * - ZDT1, ZDT2, ZDT3 (Zitzler, Deb & Thiele, Evol. Comput. 8 (2000) 173), d = 4, 2 objectives;
 * - DTLZ2 (Deb, Thiele, Laumanns & Zitzler 2002), 2 objectives d = 4 and 3 objectives d = 5;
 * - C2-DTLZ2 (Jain & Deb, IEEE TEC 18 (2014) 602), 2 objectives d = 4, r = 0.2: only the part
 *   of the front near the axes' ends and near the middle of the arc is feasible. Jain & Deb
 *   set r = 0.4 for 3 objectives and 0.5 for more; for 2 objectives r = 0.5 leaves the whole
 *   arc feasible (the three discs of radius 0.5 cover it), so 2-objective C2-DTLZ2 uses 0.2
 *   (pymoo's C2DTLZ2 and BoTorch's, the problem of Daulton et al.'s qNEHVI experiments).
 *   BoTorch subtracts r² once per objective in the centre term (an effective radius r√2,
 *   hence its max HV 0.3996 against 0.3823 here); this is Jain & Deb's eq. 10 as written.
 *   Issue #16 review: up to commit 56913e5 the bench used r = 0.1, which is no one's value.
 * - gdl-twin: the fibre-gdl twin (32×32×24 voxels, 2 µm) and the physics, limiting current
 *   (max) against through-plane conductivity sigma_eff_z (max) — open pores carry oxygen,
 *   solid carries current — over the 4-D space of configs/gdl-pareto.yaml. To keep the CPU
 *   low the twin is evaluated once on a cached pool of 128 scrambled-Sobol' points
 *   (`--build-pool` writes experiments/results/multiobjective-gdl-pool.json); the agents choose
 *   among the pool's unused points, and the "true front" is the pool's own front. Each row is
 *   one random microstructure, and three of the front's 16 rows are outliers of that noise;
 * - gdl-twin-mean: the same 128 recipes, twin, size and physics, each row the mean over 4
 *   microstructures (fresh seeds) with its standard error (`--build-pool gdl-twin-mean` writes
 *   experiments/results/multiobjective-gdl-pool-mean.json): the recipe's expected property,
 *   what a lab optimises. Added after gdl-twin's miss was diagnosed (results/multiobjective.md);
 *   k = 4 fixed before any agent ran on it;
 * all minimised, reference points as BoTorch's test problems (ZDT: 11 per objective; DTLZ2,
 * C2-DTLZ2: 1.1; the pools: each pool's worst value of each objective minus 10 % of its range).
 * The true hypervolume is exact (DTLZ2: r^m − the sphere's orthant) or from 20 000 points of
 * the analytic front (ZDT, C2-DTLZ2), or the pool's front (the GDL pools).
 *
 * Every agent starts from the same uniform random design of min(d + 1, 10) points (the random
 * agent's draws from the same seed), then proposes batches of `batch` points; the mobo agents
 * go on proposing uniform random points (the same draws as the random agent) until their own
 * initial design of min(2(d + 1), 20) observations is complete. The metric after
 * n evaluations is the gap HV(true front) − HV(feasible evaluations so far), reported as the
 * median and quartiles over seeds, at n = 10, 20, …, budget. The summary column compares at
 * the final budget: qNEHVI's median gap / ParEGO's (target ≤ 0.5) and whether qNEHVI's median
 * gap is below random's at every reported budget after mobo's initial design (within it the
 * two are the same points).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMoboAgent } from '../agents/mobo.js';
import { createRandomAgent } from '../agents/random.js';
import { createSobolAgent } from '../agents/sobol.js';
import { agreed, readPart, refuseDuplicates, sameSeeds } from './merge.js';
import { commitHash, machineLine } from './provenance.js';
import type { Agent, Observation, Parameters, ParameterSpace } from '../src/core/protocols.js';
import { createRng, hash32 } from '../src/core/rng.js';
import { paramKey } from '../src/core/space.js';
import { hvMax } from '../src/reward/hvi.js';
import { hypervolume, paretoFront } from '../src/reward/pareto.js';

export interface MoProblem {
  name: string;
  d: number;
  m: number;
  /** A finite pool of points (the cached twin task): the space and the objectives of each point. */
  pool?: { space: ParameterSpace; values: Map<string, number[]> };
  /** Minimised objectives of a point of [0, 1]^d. */
  f(x: number[]): number[];
  /** Constraint slacks, feasible when all ≥ 0 (absent: unconstrained). */
  c?(fx: number[]): number[];
  ref: number[];
  trueHv: number;
}

const zdtG = (x: number[]) => 1 + (9 * x.slice(1).reduce((a, b) => a + b, 0)) / (x.length - 1);
const zdt1 = (x: number[]) => {
  const g = zdtG(x);
  return [x[0], g * (1 - Math.sqrt(x[0] / g))];
};
const zdt2 = (x: number[]) => {
  const g = zdtG(x);
  return [x[0], g * (1 - (x[0] / g) ** 2)];
};
const zdt3 = (x: number[]) => {
  const g = zdtG(x);
  const r = x[0] / g;
  return [x[0], g * (1 - Math.sqrt(r) - r * Math.sin(10 * Math.PI * x[0]))];
};
/** DTLZ2 with m objectives: position variables x_1..x_{m−1}, distance g = Σ (x_i − ½)² over the rest. */
const dtlz2 = (m: number) => (x: number[]) => {
  const g = x.slice(m - 1).reduce((a, v) => a + (v - 0.5) ** 2, 0);
  return Array.from({ length: m }, (_, i) => {
    let v = 1 + g;
    for (let j = 0; j < m - 1 - i; j++) v *= Math.cos((x[j] * Math.PI) / 2);
    if (i > 0) v *= Math.sin((x[m - 1 - i] * Math.PI) / 2);
    return v;
  });
};
/** C2-DTLZ2 (Jain & Deb 2014, eq. 10): feasible near one axis end or near the arc's centre. */
const c2 = (r: number) => (f: number[]): number[] => {
  const m = f.length;
  const s2 = f.reduce((a, v) => a + v * v, 0);
  const nearAxis = Math.min(...f.map((fi) => (fi - 1) ** 2 + s2 - fi * fi - r * r));
  const nearCentre = f.reduce((a, v) => a + (v - 1 / Math.sqrt(m)) ** 2, 0) - r * r;
  return [-Math.min(nearAxis, nearCentre)];
};

/** HV of a dense sample of a 2-objective analytic front f2 = h(f1), f1 ∈ [0, 1]. */
function frontHv(h: (f1: number) => number, ref: number[], keep: (f: number[]) => boolean = () => true): number {
  const pts: number[][] = [];
  for (let i = 0; i <= 20_000; i++) {
    const t = i / 20_000;
    const f = [t, h(t)];
    if (keep(f)) pts.push(f);
  }
  // The sweep of src/reward/hvi.ts (maximisation, O(n log n)); hypervolume()'s dominance filter is O(n²).
  return hvMax(pts.filter((f) => f[0] < ref[0] && f[1] < ref[1]).map((f) => f.map((v) => -v)), ref.map((r) => -r));
}

const circle = (t: number) => Math.sqrt(Math.max(0, 1 - t * t));
export const PROBLEMS: MoProblem[] = [
  { name: 'zdt1', d: 4, m: 2, f: zdt1, ref: [11, 11], trueHv: frontHv((t) => 1 - Math.sqrt(t), [11, 11]) },
  { name: 'zdt2', d: 4, m: 2, f: zdt2, ref: [11, 11], trueHv: frontHv((t) => 1 - t * t, [11, 11]) },
  { name: 'zdt3', d: 4, m: 2, f: zdt3, ref: [11, 11], trueHv: frontHv((t) => 1 - Math.sqrt(t) - t * Math.sin(10 * Math.PI * t), [11, 11]) },
  { name: 'dtlz2-2', d: 4, m: 2, f: dtlz2(2), ref: [1.1, 1.1], trueHv: 1.1 ** 2 - Math.PI / 4 },
  { name: 'dtlz2-3', d: 5, m: 3, f: dtlz2(3), ref: [1.1, 1.1, 1.1], trueHv: 1.1 ** 3 - Math.PI / 6 },
  {
    name: 'c2-dtlz2',
    d: 4,
    m: 2,
    f: dtlz2(2),
    c: c2(0.2),
    ref: [1.1, 1.1],
    trueHv: frontHv(circle, [1.1, 1.1], (f) => c2(0.2)(f)[0] >= 0),
  },
];

const GDL_SPACE: ParameterSpace = {
  parameters: [
    { name: 'porosity', kind: 'continuous', min: 0.6, max: 0.9 },
    { name: 'binderFraction', kind: 'continuous', min: 0.05, max: 0.3 },
    { name: 'ptfeLoading', kind: 'continuous', min: 0, max: 30 },
    { name: 'compression', kind: 'continuous', min: 0, max: 0.3 },
  ],
};

type GdlProps = { limitingCurrent: number; sigma_eff_z: number };
/** A pool row: a recipe and its properties; in a mean pool the mean over k microstructures and its standard error. */
export interface PoolRow extends GdlProps {
  params: Parameters;
  se?: GdlProps;
}

/**
 * The cached twin tasks: the same 128 recipes, `k` microstructure realisations per recipe.
 * gdl-twin (k = 1) is the task of the run of record, one microstructure per row, built and kept
 * as it was. gdl-twin-mean (issue #16, added after the GDL pool's miss was diagnosed as the
 * microstructure noise of single draws): each row is the mean over k = 4 realisations — an
 * estimate of the recipe's expected property, which is what a lab optimises. k was fixed before
 * any agent ran on the task and is not tuned.
 */
export const GDL_POOLS: Record<string, { file: string; k: number }> = {
  'gdl-twin': { file: 'multiobjective-gdl-pool.json', k: 1 },
  'gdl-twin-mean': { file: 'multiobjective-gdl-pool-mean.json', k: 4 },
};

/**
 * The microstructure seed of realisation r of row i: the single-draw pool keeps its seeds; the
 * mean pool draws fresh ones, so its means are independent of the draws that put gdl-twin's
 * outlier rows on its front.
 */
export const poolSeed = (k: number, i: number, r: number): number => hash32(k === 1 ? `gdl-pool:${i}` : `gdl-pool:${i}:${r}`);

/**
 * The pool's rows from `evaluate` (one microstructure of a recipe, null when the physics fails):
 * k = 1, the draw itself; k > 1, the mean of k draws and its standard error (sample standard
 * deviation / √k). A row with a failed realisation is left out, as a failed row always was: a
 * mean over fewer draws would carry another noise.
 */
export async function poolRows(points: Parameters[], k: number, evaluate: (params: Parameters, seed: number) => Promise<GdlProps | null>): Promise<PoolRow[]> {
  const rows: PoolRow[] = [];
  for (const [i, params] of points.entries()) {
    const draws: GdlProps[] = [];
    for (let r = 0; r < k; r++) {
      const v = await evaluate(params, poolSeed(k, i, r));
      if (!v) break;
      draws.push(v);
    }
    if (draws.length < k) continue;
    if (k === 1) {
      rows.push({ params, ...draws[0] });
      continue;
    }
    const stats = (key: keyof GdlProps) => {
      const mean = draws.reduce((a, d) => a + d[key], 0) / k;
      const variance = draws.reduce((a, d) => a + (d[key] - mean) ** 2, 0) / (k - 1);
      return { mean, se: Math.sqrt(variance / k) };
    };
    const lc = stats('limitingCurrent');
    const sz = stats('sigma_eff_z');
    rows.push({ params, limitingCurrent: lc.mean, sigma_eff_z: sz.mean, se: { limitingCurrent: lc.se, sigma_eff_z: sz.se } });
  }
  return rows;
}

const poolUrl = (name: string) => new URL(`results/${GDL_POOLS[name].file}`, import.meta.url);

/** Evaluates the fibre-gdl twin + physics on 128 scrambled-Sobol' points (k microstructures each) and caches the result. */
async function buildPool(name: string, n = 128): Promise<void> {
  const pool = GDL_POOLS[name];
  if (!pool) throw new Error(`--build-pool: unknown pool "${name}"; known: ${Object.keys(GDL_POOLS).join(', ')}`);
  const { twinRegistry } = await import('../twins/index.js');
  const { simulate } = await import('../src/physics/index.js');
  const { sobolDirections, sobolPoint } = await import('../agents/sobol.js');
  const { decode } = await import('../src/core/space.js');
  const twin = twinRegistry['fibre-gdl']();
  const dirs = sobolDirections(GDL_SPACE.parameters.length);
  const seeds = [0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f];
  const points = Array.from({ length: n }, (_, i) => decode(GDL_SPACE, sobolPoint(dirs, i, seeds)));
  let done = 0;
  const rows = await poolRows(points, pool.k, async (params, seed) => {
    const out = twin.generate({ ...params, fibreDiameter: 7.0, fibreDiameterCv: 0.1 }, { seed, size: [32, 32, 24], voxelSize: 2.0 });
    const r = await simulate(out.voxels, { properties: ['limitingCurrent', 'sigma_eff_z'], context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 } });
    process.stderr.write(`pool ${name} ${++done}/${n * pool.k}\n`);
    return r.ok ? { limitingCurrent: r.value.properties.limitingCurrent, sigma_eff_z: r.value.properties.sigma_eff_z } : null;
  });
  // gdl-twin's file keeps its fields as they were; the mean pool records k and how its seeds are made.
  const realisations = pool.k === 1 ? {} : { realisations: pool.k, seeds: 'hash32(`gdl-pool:${row}:${r}`), r = 0..k-1', se: 'standard error of the mean over the realisations' };
  writeFileSync(poolUrl(name), JSON.stringify({ twin: 'fibre-gdl', size: [32, 32, 24], voxelSize: 2.0, fixed: { fibreDiameter: 7.0, fibreDiameterCv: 0.1 }, context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 }, ...realisations, rows }) + '\n');
}

/** A pool task from its cached file: both objectives maximised, the front the pool's own. */
export function loadPoolProblem(name: string, file: URL | string): MoProblem {
  const { rows } = JSON.parse(readFileSync(file, 'utf8')) as { rows: PoolRow[] };
  const ok = rows.filter((r) => Number.isFinite(r.limitingCurrent) && Number.isFinite(r.sigma_eff_z));
  // Minimised internally: both objectives are maximised, so negate.
  const f = ok.map((r) => [-r.limitingCurrent, -r.sigma_eff_z]);
  const ref = [0, 1].map((i) => {
    const v = f.map((y) => y[i]);
    return Math.max(...v) + 0.1 * (Math.max(...v) - Math.min(...v));
  });
  const values = new Map(ok.map((r, i) => [paramKey(r.params), f[i]]));
  return {
    name,
    d: 4,
    m: 2,
    pool: { space: { ...GDL_SPACE, pool: ok.map((r) => r.params) }, values },
    f: () => {
      throw new Error(`${name} is a pool problem`);
    },
    ref,
    trueHv: hypervolume(f, ['min', 'min'], ref),
  };
}

/** The cached twin task (gdl-twin by default), or null when its pool has not been built. */
export function gdlProblem(name = 'gdl-twin'): MoProblem | null {
  return existsSync(poolUrl(name)) ? loadPoolProblem(name, poolUrl(name)) : null;
}

/**
 * `--pool-noise`: the noise of gdl-twin against gdl-twin-mean (issue #16), printed as markdown.
 * Per property: the median between-realisation CV (the mean pool's standard error × √k over its
 * mean, rows with a positive mean) and the noise's share of the pool's variance across rows —
 * one draw's (the mean pool's realisation variance over the variance of gdl-twin's rows) and
 * the mean's (its squared standard error over the variance of the means). Then the seventh-pass
 * diagnosis on each pool (results/multiobjective-dev.md): a GP on all 128 rows, qNEHVI's
 * Yeo–Johnson warp, 3 restarts — its fitted noise variance (standardised) and each front row's
 * leave-one-out z (held-out row against the GP of the other 127 with the same hyper-parameters,
 * noise included) of every row on either pool's front, and which front each is on.
 */
async function poolNoise(): Promise<void> {
  const { objectiveWarp } = await import('../agents/mobo.js');
  const { GaussianProcess, standardise } = await import('../src/surrogate/gp.js');
  const { encode } = await import('../src/core/space.js');
  const load = (name: string) => (JSON.parse(readFileSync(poolUrl(name), 'utf8')) as { rows: PoolRow[] }).rows;
  const single = load('gdl-twin');
  const mean = load('gdl-twin-mean');
  // Rows are compared by index: both pools must hold the same recipes in the same order (a row
  // dropped for a failed realisation would shift every later one; review of 0a9efb5).
  if (single.length !== mean.length || single.some((r, i) => JSON.stringify(r.params) !== JSON.stringify(mean[i].params))) {
    throw new Error('bench multiobjective --pool-noise: gdl-twin and gdl-twin-mean do not hold the same recipes row by row');
  }
  const k = GDL_POOLS['gdl-twin-mean'].k;
  const keys = ['limitingCurrent', 'sigma_eff_z'] as const;
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const varOf = (v: number[]) => {
    const m = avg(v);
    return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1);
  };
  const out = ['| property | median CV of one draw | noise share, one draw (gdl-twin) | noise share, mean of ' + k + ' (gdl-twin-mean) | GP noise variance gdl-twin | GP noise variance gdl-twin-mean |', '| --- | --- | --- | --- | --- | --- |'];
  const z: Record<string, number[]> = {};
  for (const key of keys) {
    const cv = mean.filter((r) => r[key] > 0).map((r) => (r.se![key] * Math.sqrt(k)) / r[key]);
    const fitted = [single, mean].map((rows, p) => {
      const x = rows.map((r) => encode(GDL_SPACE, r.params));
      const warp = objectiveWarp(rows.map((r) => r[key]), 'yeo-johnson');
      const t = rows.map((r) => warp.apply(r[key]));
      const gp = GaussianProcess.fit(x, t, { rng: createRng(16), restarts: 3 });
      const noise = Math.exp(gp.hyper.logNoiseVar);
      z[`${p}:${key}`] = rows.map((_, i) => {
        const rest = (v: readonly number[][] | readonly number[]) => v.filter((_, j) => j !== i);
        const ti = rest(t) as number[];
        const pred = new GaussianProcess(rest(x) as number[][], ti, gp.hyper).predict([x[i]]);
        return (t[i] - pred.mean[0]) / Math.sqrt(pred.variance[0] + noise * standardise(ti).std ** 2);
      });
      return noise;
    });
    const median = quantile(cv, 0.5);
    out.push(`| ${key} | ${median.toFixed(3)} (${cv.length} rows) | ${(avg(mean.map((r) => k * r.se![key] ** 2)) / varOf(single.map((r) => r[key]))).toFixed(3)} | ${(avg(mean.map((r) => r.se![key] ** 2)) / varOf(mean.map((r) => r[key]))).toFixed(3)} | ${fitted[0].toFixed(3)} | ${fitted[1].toFixed(3)} |`);
  }
  const front = (rows: PoolRow[]) => paretoFront(rows.map((r) => [r.limitingCurrent, r.sigma_eff_z]), ['max', 'max']);
  const [f1, fm] = [front(single), front(mean)];
  const row = (r: PoolRow) => `${(r.limitingCurrent / 1e3).toFixed(0)}k / ${r.sigma_eff_z.toFixed(0)}`;
  out.push('', `Front rows: gdl-twin ${f1.length}, gdl-twin-mean ${fm.length}; gdl-twin's front rows on gdl-twin-mean's: ${f1.filter((i) => fm.includes(i)).length}.`, '');
  out.push('| row | gdl-twin (A/m² / S/m) | gdl-twin-mean ± se of σ | on the front of | LOO z of σ, gdl-twin | LOO z of σ, gdl-twin-mean |', '| --- | --- | --- | --- | --- | --- |');
  for (const i of [...new Set([...f1, ...fm])].sort((a, b) => a - b)) {
    const on = [f1.includes(i) ? 'gdl-twin' : '', fm.includes(i) ? 'gdl-twin-mean' : ''].filter(Boolean).join(', ');
    out.push(`| ${i} | ${row(single[i])} | ${row(mean[i])} ± ${mean[i].se!.sigma_eff_z.toFixed(0)} | ${on} | ${z[`0:sigma_eff_z`][i].toFixed(2)} | ${z[`1:sigma_eff_z`][i].toFixed(2)} |`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

// `mobo`: extra options of both mobo agents (--mobo, for ablations; the reported table uses none).
const AGENTS: Record<string, (samples: number, reference: number[], mobo: Record<string, unknown>) => Agent> = {
  // The problem's reference point, goal-signed, as BoTorch's qNEHVI is given it.
  qnehvi: (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', samples, reference, ...mobo }),
  // qLogNEHVI (Ament et al., NeurIPS 2023): the same agent with the log of the smoothed improvement (issue #16).
  qlognehvi: (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', smoothing: 'log', samples, reference, ...mobo }),
  // qNEHVI on GPs around a fitted quadratic prior mean (agents/mobo.ts quadraticTrend; issue #16, sixth pass).
  'qnehvi-trend': (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', trend: 'quadratic', samples, reference, ...mobo }),
  // qNEHVI with that trend or a constant prior mean per objective by leave-one-out density (agents/mobo.ts prefersTrend; issue #16).
  // mobo's default since issue #16's default switch, so the same as qnehvi; kept so that the
  // ablation of record (multiobjective-auto.md, run before the switch) can be rerun as it was.
  'qnehvi-auto': (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', trend: 'auto', samples, reference, ...mobo }),
  // qNEHVI with the quadratic basis in the kernel, its variances by MAP (src/surrogate/gp.ts quadraticBasis; issue #16, eighth pass).
  'qnehvi-bayes': (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', trend: 'bayes-quadratic', samples, reference, ...mobo }),
  // qNEHVI with that GP or the plain one per objective by leave-one-out density (agents/mobo.ts prefersBasis; issue #16, ninth pass).
  'qnehvi-autobayes': (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', trend: 'auto-bayes', samples, reference, ...mobo }),
  // qNEHVI with the separable second-order basis (linear and quadratic features) in the kernel (src/surrogate/gp.ts secondOrderBasis; issue #16, tenth pass).
  'qnehvi-so': (samples, reference, mobo) => createMoboAgent({ acquisition: 'qnehvi', trend: 'bayes-second-order', samples, reference, ...mobo }),
  // ParEGO fits no trend (agents/mobo.ts refuses one): --mobo's trend options are qNEHVI's.
  parego: (_s, _r, { trend: _t, trendRidge: _r2, ...mobo }) => createMoboAgent({ acquisition: 'parego', ...mobo }),
  sobol: () => createSobolAgent(),
  random: () => createRandomAgent(),
};

// The qNEHVI variants other than the default, ablations (qnehvi-auto: the default named
// explicitly): run only when named in --agents, each with its own summary row.
const ABLATIONS = ['qlognehvi', 'qnehvi-trend', 'qnehvi-auto', 'qnehvi-bayes', 'qnehvi-autobayes', 'qnehvi-so'];

function cubeSpace(d: number): ParameterSpace {
  return { parameters: Array.from({ length: d }, (_, i) => ({ name: `x${i}`, kind: 'continuous' as const, min: 0, max: 1 })) };
}

/** One run: HV of the feasible evaluations after each evaluation (index n − 1 = after n). */
export async function runOne(problem: MoProblem, agentName: string, seed: number, budget: number, batch: number, samples: number, mobo: Record<string, unknown> = {}): Promise<{ hv: number[]; proposeMs: number[] }> {
  const space = problem.pool?.space ?? cubeSpace(problem.d);
  const agent = AGENTS[agentName](samples, problem.ref.map((r) => -r), mobo);
  const init = Math.min(problem.d + 1, 10);
  const rng = createRng(hash32(`mo:${problem.name}:${seed}`));
  const history: Observation[] = [];
  const evaluate = (p: Parameters): Observation => {
    const f = problem.pool ? problem.pool.values.get(paramKey(p))! : problem.f(space.parameters.map((s) => p[s.name] as number));
    const c = problem.c?.(f);
    // Goal-signed (minimised objectives negated), as the campaign hands them to agents.
    return { params: p, reward: 0, fidelity: 'rig', objectives: f.map((v) => -v), constraints: c };
  };
  // The common initial design: the random agent's first `init` draws (same for every agent).
  const first = await createRandomAgent().propose({ space, history, rng: rng.fork('init') }, init);
  history.push(...first.map(evaluate));
  const proposeMs: number[] = [];
  for (let round = 0; history.length < budget; round++) {
    const k = Math.min(batch, budget - history.length);
    const t0 = performance.now();
    const ps = await agent.propose({ space, history, rng: rng.fork(`round:${round}`) }, k);
    proposeMs.push(performance.now() - t0);
    history.push(...ps.slice(0, k).map(evaluate));
    await agent.learn(history.slice(-k));
  }
  const hv: number[] = [];
  const pts: number[][] = [];
  for (const o of history) {
    if (!o.constraints || o.constraints.every((s) => s >= 0)) pts.push(o.objectives!.map((v) => -v));
    hv.push(hypervolume(pts, new Array(problem.m).fill('min'), problem.ref));
  }
  return { hv, proposeMs };
}

const quantile = (v: number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
};
const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  // A flag without its value is an error, not the default (`--out` alone wrote the default file).
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`bench multiobjective: --${name} needs a value`);
  return v;
}

/** The --mobo options with sorted keys, so that parts given the same options in another order merge. */
function canonical(mobo: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(mobo).sort().map((k) => [k, mobo[k]]));
}

type Raw = Record<string, Record<string, { seed: number; hv: number[]; proposeMs: number[] }[]>>;
interface Meta {
  budget: number;
  batch: number;
  samples: number;
  /** The --mobo options of every mobo agent (keys sorted); absent in runs before the #16 review. */
  mobo?: Record<string, unknown>;
  commit: string;
  started: string;
  wallS: number;
}

/**
 * Reads the parts' .json (raw per seed) into one run; parts that are not of one commit and one
 * setting, or that do not cover the same seeds for every problem and agent, are errors
 * (experiments/merge.ts; issue #16 review).
 */
function merge(names: string[], dir: string): { raw: Raw; meta: Meta; agents: string[]; header: string[] } {
  const bench = 'bench multiobjective --merge';
  const parts = names.map((name) => {
    const file = join(dir, `${name}.json`);
    const j = readPart<{ raw?: Raw; meta?: Meta; command?: string }>(file, bench);
    if (!j.raw || !j.meta) throw new Error(`${bench}: ${file} has no raw runs (written before --merge existed)`);
    // Runs before Meta.mobo were recorded only in the command; without --mobo they used mobo's defaults.
    if (!j.meta.mobo && j.command?.includes('--mobo')) throw new Error(`${bench}: ${file} ran with --mobo but does not record its options (written before the issue #16 review)`);
    return { name, raw: j.raw, command: j.command, meta: { ...j.meta, mobo: j.meta.mobo ?? {} } };
  });
  const meta: Meta = {
    ...parts[0].meta,
    commit: agreed(parts, 'commit', (p) => p.meta.commit, bench),
    budget: agreed(parts, 'budget', (p) => p.meta.budget, bench),
    batch: agreed(parts, 'batch', (p) => p.meta.batch, bench),
    samples: agreed(parts, 'MC samples', (p) => p.meta.samples, bench),
    mobo: agreed(parts, '--mobo options', (p) => canonical(p.meta.mobo), bench),
    // Parts ran side by side: the wall time is the longest part's.
    wallS: Math.max(...parts.map((p) => p.meta.wallS)),
  };
  refuseDuplicates(parts.flatMap((p) => Object.entries(p.raw).flatMap(([pr, agents]) => Object.entries(agents).flatMap(([a, runs]) => runs.map((r) => `${pr}/${a} seed ${r.seed}`)))), bench);
  const raw: Raw = {};
  for (const part of parts) {
    for (const [p, agents] of Object.entries(part.raw)) {
      raw[p] ??= {};
      for (const [a, runs] of Object.entries(agents)) (raw[p][a] ??= []).push(...runs);
    }
  }
  // Every problem has every agent (a missing one covers no seed), each over the same seeds.
  const problems = Object.keys(raw);
  if (problems.length === 0) throw new Error(`${bench}: the parts hold no runs`);
  const agents = [...new Set(problems.flatMap((p) => Object.keys(raw[p])))];
  sameSeeds(problems.flatMap((p) => agents.map((a) => ({ name: `${p}/${a}`, seeds: (raw[p][a] ?? []).map((r) => r.seed) }))), 'the merge', bench);
  for (const p of problems) for (const a of agents) raw[p][a].sort((x, y) => x.seed - y.seed);
  const header = parts.map((p) => `${p.name}: ${p.command} (commit ${p.meta.commit}, started ${p.meta.started}, wall ${p.meta.wallS} s)`);
  return { raw, meta, agents, header };
}

export async function run(args: string[]): Promise<void> {
  const b = args.indexOf('--build-pool');
  // `--build-pool` alone builds gdl-twin's pool, as it always did; `--build-pool gdl-twin-mean` the mean pool.
  if (b >= 0) return buildPool(args[b + 1] && !args[b + 1].startsWith('--') ? args[b + 1] : 'gdl-twin');
  if (args.includes('--pool-noise')) return poolNoise();
  const dir = join(new URL('.', import.meta.url).pathname, 'results');
  const all = [...PROBLEMS, ...Object.keys(GDL_POOLS).flatMap((n) => gdlProblem(n) ?? [])];
  const mergeArg = arg(args, 'merge', '');
  // A part, a merge or any run other than the run of record could overwrite results/multiobjective.*
  // (issue #16 review): only the run of record may use the default name.
  const chosen = ['merge', 'problems', 'agents', 'seeds', 'first-seed', 'budget', 'batch', 'samples', 'mobo'].filter((n) => args.includes(`--${n}`));
  if (chosen.length && !args.includes('--out')) throw new Error(`bench multiobjective: --${chosen.join(', --')} needs --out NAME (results/multiobjective.md is the run of record's)`);
  const out = arg(args, 'out', 'multiobjective');
  if (mergeArg) {
    const { raw, meta, agents, header } = merge(mergeArg.split(','), dir);
    const problems = Object.keys(raw).map((n) => {
      const p = all.find((q) => q.name === n);
      if (!p) throw new Error(`--merge: unknown problem "${n}"`);
      return p;
    });
    return render(raw, meta, problems, agents, `\`npm run bench -- multiobjective ${args.join(' ')}\` of ${header.length} parts run side by side`, header, out, dir);
  }
  const seeds = Number(arg(args, 'seeds', '20'));
  // Development runs use another seed block (e.g. --first-seed 101) than the reported table (1…20).
  const firstSeed = Number(arg(args, 'first-seed', '1'));
  const budget = Number(arg(args, 'budget', '40'));
  const batch = Number(arg(args, 'batch', '4'));
  const samples = Number(arg(args, 'samples', '32'));
  const mobo = canonical(JSON.parse(arg(args, 'mobo', '{}')) as Record<string, unknown>);
  const problems = arg(args, 'problems', all.map((p) => p.name).join(',')).split(',').map((n) => {
    const p = all.find((q) => q.name === n);
    if (!p) throw new Error(`--problems: unknown problem "${n}"; known: ${all.map((q) => q.name).join(', ')} (a pool task needs --build-pool NAME first)`);
    return p;
  });
  const agents = arg(args, 'agents', Object.keys(AGENTS).filter((a) => !ABLATIONS.includes(a)).join(',')).split(',');
  for (const a of agents) if (!AGENTS[a]) throw new Error(`--agents: unknown agent "${a}"; known: ${Object.keys(AGENTS).join(', ')}`);
  const started = Date.now();
  // The commit read when the run starts: the code this process loaded.
  const commit = commitHash();
  const raw: Raw = {};
  for (const p of problems) {
    raw[p.name] = {};
    for (const a of agents) {
      raw[p.name][a] = [];
      for (let s = firstSeed; s < firstSeed + seeds; s++) {
        const r = await runOne(p, a, s, budget, batch, samples, mobo);
        raw[p.name][a].push({ seed: s, hv: r.hv, proposeMs: r.proposeMs });
      }
      const ms = raw[p.name][a].flatMap((r) => r.proposeMs);
      process.stderr.write(`${p.name} ${a}: ${seeds} seeds, median proposal ${ms.length ? quantile(ms, 0.5).toFixed(0) : 0} ms (${((Date.now() - started) / 1000).toFixed(0)} s so far)\n`);
    }
  }
  const meta: Meta = { budget, batch, samples, mobo, commit, started: new Date(started).toISOString(), wallS: Math.round((Date.now() - started) / 1000) };
  return render(raw, meta, problems, agents, `\`npm run bench -- multiobjective ${args.join(' ')}\``, [], out, dir);
}

function render(raw: Raw, meta: Meta, problems: MoProblem[], agents: string[], command: string, parts: string[], out: string, dir: string): void {
  const { budget, batch, samples } = meta;
  const seedList = raw[problems[0].name][agents[0]].map((r) => r.seed);
  const seeds = seedList.length;
  const checkpoints = Array.from({ length: Math.floor(budget / 10) }, (_, i) => (i + 1) * 10).filter((n) => n <= budget);
  const lines: string[] = [];
  lines.push('# Multi-objective agents on test problems (issue #16)', '');
  lines.push(`${command} · ${seeds} seeds (${seedList[0]}…${seedList[seeds - 1]}) · budget ${budget} evaluations · batches of ${batch} (sequential greedy for qNEHVI, one weight vector per point for ParEGO) · ${samples} MC samples · common random initial design of min(d + 1, 10) points, random up to min(2(d + 1), 20) for the mobo agents · ${meta.mobo && Object.keys(meta.mobo).length ? `mobo options ${JSON.stringify(meta.mobo)} for every mobo agent, defaults otherwise` : "mobo's defaults otherwise"} (agents/mobo.ts) · commit ${meta.commit} · ${machineLine()} · ${meta.started} · wall ${meta.wallS} s`, '');
  if (parts.length) lines.push('Parts:', '', ...parts.map((p) => `- ${p}`), '');
  lines.push('Hypervolume gap to the true front, HV(true) − HV(feasible evaluations so far): median [lower quartile, upper quartile] over seeds (smaller is better).', '');
  const summary: string[] = ['| problem | qNEHVI gap / ParEGO gap at ' + budget + ' (target ≤ 0.5) | qNEHVI median gap < random at every budget after mobo’s initial design of min(2(d + 1), 20) |', '| --- | --- | --- |'];
  const json: Record<string, unknown> = { seeds, budget, batch, samples, command, meta, raw, problems: {} };
  for (const p of problems) {
    lines.push(`## ${p.name} (d = ${p.d}, m = ${p.m}${p.c ? ', constrained' : ''}; reference ${JSON.stringify(p.ref)}; true HV ${p.trueHv.toPrecision(6)})`, '');
    lines.push(`| agent | ${checkpoints.map((n) => `n = ${n}`).join(' | ')} | median proposal (ms) |`);
    lines.push(`| --- | ${checkpoints.map(() => '---').join(' | ')} | --- |`);
    const med: Record<string, number[]> = {};
    (json.problems as Record<string, unknown>)[p.name] = {};
    for (const a of agents) {
      const gaps = checkpoints.map((n) => raw[p.name][a].map((r) => p.trueHv - r.hv[n - 1]));
      med[a] = gaps.map((g) => quantile(g, 0.5));
      const ms = raw[p.name][a].flatMap((r) => r.proposeMs);
      lines.push(`| ${a} | ${gaps.map((g) => `${fmt(quantile(g, 0.5))} [${fmt(quantile(g, 0.25))}, ${fmt(quantile(g, 0.75))}]`).join(' | ')} | ${ms.length ? quantile(ms, 0.5).toFixed(0) : '—'} |`);
      ((json.problems as Record<string, Record<string, unknown>>)[p.name])[a] = { checkpoints, median: med[a], q1: gaps.map((g) => quantile(g, 0.25)), q3: gaps.map((g) => quantile(g, 0.75)), hv: raw[p.name][a].map((r) => r.hv) };
    }
    lines.push('');
    for (const a of ['qnehvi', ...ABLATIONS]) {
      if (!(med[a] && med.parego && med.random)) continue;
      const ratio = med[a][med[a].length - 1] / med.parego[med.parego.length - 1];
      const init = Math.min(2 * (p.d + 1), 20);
      const below = checkpoints.every((n, i) => n <= init || med[a][i] < med.random[i]);
      summary.push(`| ${p.name}${a === 'qnehvi' ? '' : ` (${a})`} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : String(ratio)} ${ratio <= 0.5 ? '✓' : '✗'} | ${below ? '✓' : '✗'} |`);
    }
  }
  lines.splice(lines.indexOf('Hypervolume gap to the true front, HV(true) − HV(feasible evaluations so far): median [lower quartile, upper quartile] over seeds (smaller is better).') + 2, 0, '## Summary', '', ...summary, '');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${out}.md`), lines.join('\n') + '\n');
  writeFileSync(join(dir, `${out}.json`), JSON.stringify(json) + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}
