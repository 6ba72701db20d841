/**
 * The hidden-truth tasks of `npm run bench -- campaigns` (issue #13), and their cached truth.
 *
 * A task: a twin at campaign size (the P-model the loop may simulate), two searched
 * parameters, a reward over the properties the rigs measure, and a hidden truth:
 *   truth(x) = interpolant of the property means over `realisations` DIFFERENT twin
 *              realisations at a LARGER volume (truthSize) on a grid × grid lattice of x,
 *   measured(x) = truth(x) × biasFactor(bias, x) × (1 + noise · N(0, 1))   (robots/sim/truth.ts).
 * The lattice is expensive (twin + physics at the larger volume), so it is computed once by
 * `npm run bench -- campaigns --build-truth` and kept in experiments/truth/<truth>.json with its
 * provenance; so is the P-model (one realisation at campaign size, as a campaign scores a
 * candidate today) on a fixed pool of Sobol points, the candidates of the pool-based twin loop.
 *
 * Between lattice points the truth is a bicubic Catmull–Rom interpolant (C¹, exact at the
 * lattice points, no oscillation beyond the neighbouring values' range except a small overshoot
 * clipped at 0 for these non-negative properties) of each property's realisation mean. It is a
 * smooth stand-in for the truth at the volumes a lab would test, which the twin cannot give
 * point by point at benchmark cost (documented in docs/multifidelity.md).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { sobolDirections, sobolPoint } from '../agents/sobol.js';
import { applyBias, type Bias } from '../robots/sim/truth.js';
import type { Parameters, ParameterSpace, Shape3 } from '../src/core/protocols.js';
import { hash32 } from '../src/core/rng.js';
import { simulate } from '../src/physics/index.js';
import { compileReward, type RewardExpression } from '../src/reward/expression.js';
import { twinRegistry } from '../twins/index.js';
import { commitHash } from './provenance.js';

export interface TruthSpec {
  /** File name under experiments/truth/. */
  key: string;
  twin: string;
  voxelSize: number;
  /** Campaign-size volume: the P-model. */
  size: Shape3;
  /** The truth's larger volume. */
  truthSize: Shape3;
  realisations: number;
  grid: number;
  poolSize: number;
  fixed: Parameters;
  space: Array<{ name: string; min: number; max: number }>;
  properties: string[];
  context: Record<string, number>;
}

export interface Task {
  name: string;
  truth: TruthSpec;
  reward: string;
  bias: Record<string, Bias>;
  /** Relative rig noise per measured property (as the simulated rigs, robots/sim). */
  noise: number;
  misleading: boolean;
  description: string;
}

const GDL: TruthSpec = {
  key: 'fibre-gdl',
  twin: 'fibre-gdl',
  voxelSize: 2,
  size: [24, 24, 16],
  // Same thickness (limitingCurrent scales as 1/thickness: a thicker truth would be another
  // quantity, not a larger sample of the same one), 4× the in-plane area.
  truthSize: [48, 48, 16],
  realisations: 4,
  grid: 12,
  poolSize: 256,
  fixed: { fibreDiameter: 7.0, fibreDiameterCv: 0.1, binderFraction: 0.2, compression: 0 },
  space: [
    { name: 'porosity', min: 0.6, max: 0.85 },
    { name: 'ptfeLoading', min: 0, max: 30 },
  ],
  properties: ['limitingCurrent', 'sigma_eff_z'],
  context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 },
};

const ELECTRODE: TruthSpec = {
  key: 'grain-electrode',
  twin: 'grain-electrode',
  voxelSize: 1,
  size: [24, 24, 16],
  truthSize: [48, 48, 32],
  realisations: 4,
  grid: 12,
  poolSize: 256,
  fixed: { particleDiameter: 8, particleDiameterCv: 0.25, castPorosity: 0.55 },
  space: [
    { name: 'porosity', min: 0.2, max: 0.5 },
    { name: 'cbdFraction', min: 0.02, max: 0.2 },
  ],
  properties: ['sigma_ionic', 'sigma_electronic'],
  // S/m: NMC active material, carbon-binder domain.
  context: { sigma_1: 1, sigma_2: 100 },
};

const ANODE: TruthSpec = {
  key: 'sofc-anode',
  twin: 'sofc-anode',
  voxelSize: 0.1,
  size: [24, 24, 16],
  truthSize: [48, 48, 32],
  realisations: 4,
  grid: 12,
  poolSize: 256,
  fixed: {},
  space: [
    { name: 'porosity', min: 0.25, max: 0.5 },
    { name: 'niFraction', min: 0.3, max: 0.7 },
  ],
  properties: ['tpbActiveDensity', 'sigma_eff_z'],
  // S/m: Ni electronic conduction only (YSZ carries ions, not electrons).
  context: { sigma_1: 1e5, sigma_2: 0 },
};

const GDL_REWARD = 'limitingCurrent / 1e5 + 2 * log10(1 + sigma_eff_z) - 0.3 * max(0, 10 - ptfeLoading)';

export const TASKS: Task[] = [
  {
    name: 'gdl',
    truth: GDL,
    reward: GDL_REWARD,
    // Rigs see from 2 % more (porosity 0.6) to 18 % less (0.85) limiting current — water
    // retention in porous papers the twin lacks — and 30 % less conductivity (contact resistance).
    bias: { limitingCurrent: { base: 0.5, slope: { porosity: -0.8 } }, sigma_eff_z: -0.3 },
    noise: 0.02,
    misleading: false,
    description: 'fibre GDL: limiting current vs through-plane conductivity, PTFE penalty below 10 wt%',
  },
  {
    name: 'gdl-misleading',
    truth: GDL,
    reward: GDL_REWARD,
    // The misleading twin: in the twin the limiting current rises with porosity (more open
    // pores), so it points at the most porous papers; on these rigs (run humidified) the porous
    // papers flood and the limiting current FALLS with porosity, ×1.5 at 0.6 → ×0.35 at 0.85,
    // which moves the true optimum to the other end of the porosity range.
    bias: { limitingCurrent: { base: 3.26, slope: { porosity: -4.6 } }, sigma_eff_z: -0.3 },
    noise: 0.02,
    misleading: true,
    description: 'fibre GDL on flooding rigs: the limiting current falls with porosity (the twin says it rises)',
  },
  {
    name: 'electrode',
    truth: ELECTRODE,
    // Usable capacity, % of the theoretical: the active-material volume fraction, derated by
    // the ionic and the electronic transport (each a saturating factor σ/(σ + σ½); σ½ = 0.03 S/m
    // ionic, 0.3 S/m electronic). Positive, with an interior optimum: porosity and binder cost
    // active material but buy transport.
    reward: '100 * (1 - porosity - cbdFraction) * sigma_ionic / (sigma_ionic + 0.03) * sigma_electronic / (sigma_electronic + 0.3)',
    // Electronic conductivity measured 45–63 % below the twin's (particle contact resistance,
    // less at higher binder content); ionic 15 % below.
    bias: { sigma_electronic: { base: -0.65, slope: { cbdFraction: 1.0 } }, sigma_ionic: -0.15 },
    noise: 0.02,
    misleading: false,
    description: 'Li-ion cathode: active fraction vs ionic and electronic conductivity',
  },
  {
    name: 'anode',
    truth: ANODE,
    reward: 'log10(1 + tpbActiveDensity / 1e10) + 0.5 * log10(1 + sigma_eff_z)',
    // Active TPB 20–40 % below the twin's, more so at high Ni (Ni coarsening the twin lacks).
    bias: { tpbActiveDensity: { base: -0.05, slope: { niFraction: -0.5 } }, sigma_eff_z: -0.2 },
    noise: 0.02,
    misleading: false,
    description: 'SOFC Ni/YSZ anode: active TPB density vs electronic conductivity',
  },
];

export const TRUTH_DIR = new URL('truth/', import.meta.url).pathname;

export interface TruthFile {
  provenance: {
    spec: TruthSpec;
    commit: string;
    date: string;
    wallSeconds: number;
    seeds: string;
    command: string;
  };
  /** Lattice coordinates per searched parameter. */
  axes: number[][];
  /** Per property: [i][j] realisation mean and sd at (axes[0][i], axes[1][j]). */
  mean: Record<string, number[][]>;
  sd: Record<string, number[][]>;
  /** The P-model at campaign size on the pool: one realisation each. */
  pool: Array<{ params: Parameters; seed: number; properties: Record<string, number> }>;
}

export function spaceOf(spec: TruthSpec): ParameterSpace {
  return { parameters: spec.space.map((p) => ({ name: p.name, kind: 'continuous' as const, min: p.min, max: p.max })) };
}

async function properties(spec: TruthSpec, params: Parameters, seed: number, size: Shape3): Promise<Record<string, number>> {
  const out = twinRegistry[spec.twin]().generate({ ...spec.fixed, ...params }, { seed, size, voxelSize: spec.voxelSize });
  const r = await simulate(out.voxels, { properties: spec.properties, context: spec.context });
  if (!r.ok) throw new Error(`${spec.twin} at ${JSON.stringify(params)}: ${r.error.message}`);
  // A non-spanning phase gives 0 (conductivity) — a real outcome, kept.
  return Object.fromEntries(spec.properties.map((p) => [p, Number.isFinite(r.value.properties[p]) ? r.value.properties[p] : 0]));
}

/** Builds (or rebuilds) experiments/truth/<key>.json: the truth lattice and the P-model pool. */
export async function buildTruth(spec: TruthSpec, log: (l: string) => void): Promise<TruthFile> {
  const t0 = performance.now();
  const axes = spec.space.map((p) => Array.from({ length: spec.grid }, (_, i) => p.min + ((p.max - p.min) * i) / (spec.grid - 1)));
  const mean: Record<string, number[][]> = {};
  const sd: Record<string, number[][]> = {};
  for (const p of spec.properties) {
    mean[p] = axes[0].map(() => axes[1].map(() => 0));
    sd[p] = axes[0].map(() => axes[1].map(() => 0));
  }
  for (let i = 0; i < spec.grid; i++) {
    for (let j = 0; j < spec.grid; j++) {
      const params = { [spec.space[0].name]: axes[0][i], [spec.space[1].name]: axes[1][j] };
      const rs: Record<string, number>[] = [];
      for (let r = 0; r < spec.realisations; r++) rs.push(await properties(spec, params, hash32(`truth:${spec.key}:${i}:${j}:${r}`), spec.truthSize));
      for (const p of spec.properties) {
        const v = rs.map((x) => x[p]);
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        mean[p][i][j] = m;
        sd[p][i][j] = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, v.length - 1));
      }
    }
    log(`${spec.key}: truth row ${i + 1}/${spec.grid} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const pool = await pModelPool(spec, 0);
  const commit = commitHash();
  const file: TruthFile = {
    provenance: {
      spec,
      commit,
      date: new Date().toISOString(),
      wallSeconds: Math.round((performance.now() - t0) / 1000),
      seeds: 'truth: hash32(`truth:<key>:<i>:<j>:<r>`) at truthSize; P-model pool: hash32(`pmodel:<key>:<n>`) at size, Sobol points n = 1..poolSize (other draws: `pmodel:<key>:d<draw>:<n>`, computed by the bench)',
      command: 'npm run bench -- campaigns --build-truth',
    },
    axes,
    mean,
    sd,
    pool,
  };
  mkdirSync(TRUTH_DIR, { recursive: true });
  writeFileSync(`${TRUTH_DIR}${spec.key}.json`, `${JSON.stringify(file)}\n`);
  return file;
}

/**
 * The P-model on the pool: one twin realisation per Sobol recipe at campaign size. Draw 0 is
 * the one cached with the truth; draw d ≥ 1 is another set of realisations (other seeds) of the
 * same recipes, computed on demand — so a benchmark seed's twin is one of several independent
 * draws of the P-model, not always the same one.
 */
export async function pModelPool(spec: TruthSpec, draw: number): Promise<TruthFile['pool']> {
  const dirs = sobolDirections(2);
  const pool: TruthFile['pool'] = [];
  for (let n = 1; n <= spec.poolSize; n++) {
    const u = sobolPoint(dirs, n);
    const params = Object.fromEntries(spec.space.map((p, k) => [p.name, p.min + (p.max - p.min) * u[k]]));
    const seed = hash32(draw === 0 ? `pmodel:${spec.key}:${n}` : `pmodel:${spec.key}:d${draw}:${n}`);
    pool.push({ params, seed, properties: await properties(spec, params, seed, spec.size) });
  }
  return pool;
}

export function loadTruth(spec: TruthSpec): TruthFile {
  const path = `${TRUTH_DIR}${spec.key}.json`;
  if (!existsSync(path)) throw new Error(`no cached truth ${path}; run: npm run bench -- campaigns --build-truth`);
  return JSON.parse(readFileSync(path, 'utf8')) as TruthFile;
}

/** Catmull–Rom weights of the 4 lattice values around fractional position t ∈ [0, 1]. */
function cr(p0: number, p1: number, p2: number, p3: number, t: number): number {
  return 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t + (-p0 + 3 * p1 - 3 * p2 + p3) * t * t * t);
}

/** The bicubic Catmull–Rom interpolant of a lattice (end values repeated beyond the edges). */
export function interpolate(axes: number[][], values: number[][], x: number, y: number): number {
  const locate = (ax: number[], v: number) => {
    const n = ax.length;
    const f = Math.min(n - 1 - 1e-12, Math.max(0, ((v - ax[0]) / (ax[n - 1] - ax[0])) * (n - 1)));
    const i = Math.floor(f);
    return { i, t: f - i };
  };
  const a = locate(axes[0], x);
  const b = locate(axes[1], y);
  const at = (i: number, j: number) => values[Math.min(values.length - 1, Math.max(0, i))][Math.min(values[0].length - 1, Math.max(0, j))];
  const rows = [-1, 0, 1, 2].map((di) => cr(at(a.i + di, b.i - 1), at(a.i + di, b.i), at(a.i + di, b.i + 1), at(a.i + di, b.i + 2), b.t));
  return cr(rows[0], rows[1], rows[2], rows[3], a.t);
}

/** A task's hidden truth, P-model pool and reward, ready to measure. */
export function taskModel(task: Task) {
  const file = loadTruth(task.truth);
  const spec = task.truth;
  const space = spaceOf(spec);
  const names = spec.space.map((p) => p.name);
  const expression: RewardExpression = compileReward(task.reward, [...spec.properties, ...names, ...Object.keys(spec.fixed)], `${task.name}.reward`);
  const rewardOf = (props: Record<string, number>, p: Parameters) => expression.evaluate({ ...(spec.fixed as Record<string, number>), ...(p as Record<string, number>), ...props });
  /** The noise-free truth of the properties, bias included (what a perfect rig would measure). */
  const trueProperties = (p: Parameters): Record<string, number> => {
    const raw = Object.fromEntries(spec.properties.map((k) => [k, Math.max(0, interpolate(file.axes, file.mean[k], p[names[0]] as number, p[names[1]] as number))]));
    return applyBias(task.bias, raw, p);
  };
  const trueReward = (p: Parameters) => rewardOf(trueProperties(p), p);
  return { file, spec, space, names, rewardOf, trueProperties, trueReward };
}
export type TaskModel = ReturnType<typeof taskModel>;

/** Rig runs until the best true reward so far is within `tolerance`·|f*| of f* (null: never). */
export function runsWithin(trueRewards: readonly number[], fStar: number, tolerance: number): number | null {
  const target = fStar - tolerance * Math.abs(fStar);
  let best = -Infinity;
  for (const [i, r] of trueRewards.entries()) {
    best = Math.max(best, r);
    if (best >= target) return i + 1;
  }
  return null;
}
