/**
 * `npm run bench -- stages [--seeds N] [--budget B] [--twins a,b] [--iterations I] [--mc M]`:
 * stage-adaptive PPO against the best one-shot optimiser on hidden-truth stage tasks
 * (issue #17; tasks and truth: experiments/stage-tasks.ts; method: docs/stages.md).
 *
 * Per twin and seed (1…N, default 20): a target porosity ε* drawn uniformly from [0.27, 0.38];
 * a rig budget of B runs (default 16), each a full manufacture of the hidden truth (its own
 * process laws and spreads, drawn from the same stream for every method: common random
 * numbers), read after every stage with measurement noise (stage-tasks.ts).
 *
 * - adaptive: ppo-stages pre-trained in the twin (I iterations, default 300, over targets drawn
 *   from [0.25, 0.40]; no rig run), then B real episodes in which it picks each stage's settings
 *   after seeing the noisy readings of the intermediate structure; `learn` after every 4
 *   (reality correction of the reward and of the process laws + revealed spreads, then 20 PPO
 *   iterations in the corrected twin).
 * - gp-bo: the project's default optimiser over all settings at once (a fixed recipe per run),
 *   B runs on the truth; its recommendation is the measured recipe of best GP posterior mean
 *   (the best observed recipe is reported beside it).
 * - twin recipe: the best fixed recipe under the twin's expected reward (no rig run), and the
 *   same corrected by the B rig runs (blocks of `learn-every` runs assimilated as ppo-stages'
 *   learn does, the recipe re-optimised in the corrected twin): the one-shot method that uses the
 *   twin as the policy does (twinRecipe).
 * - best fixed recipe with the truth known: grid + compass search on the truth's expected reward
 *   (bestRecipe; no budget) — a reference, not a proven floor of one-shot regret.
 * - oracle: the best stage-adaptive decision rule with the truth known (same search, the later
 *   stages re-optimised for each realised intermediate state, seen without noise): J*.
 *
 * Regret = J* − J, J the expected TRUE final reward of the method's final recommendation (the
 * policy, or the fixed recipe) over M (default 400) episodes of the truth's variability, the
 * same episodes for every method. Amortisation: on seeds 1–5, the target-conditioned policy at
 * held-out targets ε* = 0.33 (inside the training range) and 0.45 (outside it) against a policy
 * pre-trained for that target alone (same iterations), both without rig data, in the twin. Cost: wall time of one `act` (a
 * proposal for one stage) and of one `learn`, one core.
 * Writes experiments/results/stages.md and stages.json. Without --twins, each twin runs in a
 * process of its own, side by side (stages-<twin>.md/.json), and `--merge a,b` joins them into
 * one table (the time reported is the longest part's).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { agentRegistry } from '../agents/index.js';
import { createStagePpo } from '../agents/ppo-stages.js';
import type { Observation, Parameters, StagedProcess, StageEpisode, StagePolicy, StageState } from '../src/core/protocols.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { createStageEnvironment, type TwinStageEnvironment } from '../src/compose/stages.js';
import { GaussianProcess } from '../src/surrogate/gp.js';
import { trainingData } from '../agents/common.js';
import { twinRegistry } from '../twins/index.js';
import { STAGE_TASKS, trueReward, type StageTask } from './stage-tasks.js';
import { commitHash } from './provenance.js';

type Act = (s: StageState) => Parameters;

/**
 * The commit checked out when this process started: the code it loaded. Read once — the report
 * is written after every seed, and a HEAD read then names commits made while the bench ran
 * (the 2026-12-06 run's parts named 5957edc and later for code loaded at 92760da).
 */
const STARTED_AT_COMMIT = commitHash();

interface Report {
  args: Args;
  rows: Array<Record<string, number | string>>;
  amortisation: Array<Record<string, number | string>>;
  cost: Record<string, { act: number[]; learn: number[]; train: number[] }>;
  seconds: number;
  commit: string;
}

interface Args {
  seeds: number;
  budget: number;
  twins: string[];
  iterations: number;
  mc: number;
  learnEvery: number;
  learnIterations: number;
  correction: 'linear' | 'offset' | 'none';
  firstSeed: number;
  amortise: number;
  out: string;
}

function parse(args: string[]): Args {
  const a: Args = { seeds: 20, budget: 16, twins: Object.keys(STAGE_TASKS), iterations: 300, mc: 400, learnEvery: 4, learnIterations: 20, correction: 'linear', firstSeed: 1, amortise: 5, out: 'stages' };
  for (let i = 0; i < args.length; i += 2) {
    const [k, v] = [args[i], args[i + 1]];
    if (k === '--twins') a.twins = v.split(',');
    else if (k === '--correction') a.correction = v as Args['correction'];
    else if (k === '--out') a.out = v;
    else if (k === '--amortise') a.amortise = Number(v);
    else if (k === '--learn-iterations' || k === '--first-seed') a[k === '--first-seed' ? 'firstSeed' : 'learnIterations'] = Number(v);
    else if (k === '--seeds' || k === '--budget' || k === '--iterations' || k === '--mc' || k === '--learn-every') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
      a[k === '--learn-every' ? 'learnEvery' : (k.slice(2) as 'seeds')] = n;
    } else throw new Error(`unknown flag ${k}; allowed --seeds --budget --twins --iterations --mc --learn-every --learn-iterations --correction --first-seed --amortise --out`);
  }
  for (const t of a.twins) if (!STAGE_TASKS[t]) throw new Error(`no stage task for twin ${t}; allowed: ${Object.keys(STAGE_TASKS).join(', ')}`);
  return a;
}

/**
 * One episode of the truth: the truth's process makes each stage (its spreads and laws), a rig
 * reads the structure with measurement noise, and the state the actor sees next is rebuilt from
 * those readings (`sees: 'readings'`, as on real rigs) — or is the true state (`'truth'`: the
 * oracle's perfect information). Process draws and reading noise come from two forks of `rng`,
 * so every method meets the same process scatter (common random numbers).
 */
function episode(process: StagedProcess, task: StageTask, act: Act, rng: Rng, sees: 'readings' | 'truth' = 'readings'): { states: StageState[]; actions: Parameters[]; truth: StageState } {
  const make = rng.fork('make');
  const read = rng.fork('read');
  let t = process.initial();
  let o = t;
  const states: StageState[] = [];
  const actions: Parameters[] = [];
  while (t.stage < process.stages.length && t.feasible) {
    const a = act(sees === 'truth' ? t : o);
    t = task.step(t, a, make);
    o = t.feasible ? process.fromMeasurements(t.stage, o, a, task.read(t, read)) : t;
    states.push(o);
    actions.push(a);
  }
  return { states, actions, truth: t };
}

/** Expected true reward of an actor over `n` episodes (fixed streams `mc-i`: common random numbers). */
function expected(process: StagedProcess, task: StageTask, act: Act, target: Parameters, n: number, seed: number, sees: 'readings' | 'truth' = 'readings'): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += trueReward(task, episode(process, task, act, createRng(seed).fork(`mc-${i}`), sees).truth, target);
  return sum / n;
}

/** A fixed recipe as an actor (the settings of each stage taken from it). */
const recipeActor = (process: StagedProcess, recipe: Parameters): Act => (s) => Object.fromEntries(process.stages[s.stage].parameters.map((p) => [p.name, recipe[p.name]]));

// ─── Oracle and one-shot optimum (truth known) ───────────────────────────────────────────

function gridActions(process: StagedProcess, stage: number, counts: number[]): Parameters[] {
  const specs = process.stages[stage].parameters;
  let out: Parameters[] = [{}];
  specs.forEach((p, j) => {
    const n = counts[j];
    const values = Array.from({ length: n }, (_, i) => (n === 1 ? p.default ?? (p.min + p.max) / 2 : p.min + ((p.max - p.min) * i) / (n - 1)));
    out = out.flatMap((a) => values.map((v) => ({ ...a, [p.name]: v })));
  });
  return out;
}

/** Maximises f over the last stage's single parameter: a 15-point grid, then 12 golden-section steps around the best. */
function maxLast(process: StagedProcess, f: (a: Parameters) => number): { value: number; action: Parameters } {
  const specs = process.stages[process.stages.length - 1].parameters;
  if (specs.length !== 1) throw new Error('the oracle handles a last stage of one parameter');
  const p = specs[0];
  const at = (v: number) => ({ [p.name]: v });
  const n = 15;
  const h = (p.max - p.min) / (n - 1);
  let best = { v: p.min, f: -Infinity };
  for (let i = 0; i < n; i++) {
    const v = p.min + h * i;
    const y = f(at(v));
    if (y > best.f) best = { v, f: y };
  }
  let lo = Math.max(p.min, best.v - h);
  let hi = Math.min(p.max, best.v + h);
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = f(at(x1));
  let f2 = f(at(x2));
  for (let it = 0; it < 12; it++) {
    if (f1 > f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = f(at(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = f(at(x2));
    }
  }
  for (const [v, y] of [[x1, f1], [x2, f2]]) if (y > best.f) best = { v, f: y };
  return { value: best.f, action: at(best.v) };
}

/** Truth's reward after running `rest` (actions of stages s.stage…) deterministically from s (no variability after stage 0). */
function finish(process: StagedProcess, task: StageTask, s: StageState, rest: Parameters[], target: Parameters): number {
  const rng = createRng(0);
  let t = s;
  for (const a of rest) {
    if (!t.feasible) break;
    t = task.step(t, a, rng);
  }
  return trueReward(task, t, target);
}

/** The best later-stage actions for a realised state after stage 0 (grid over middle stages, golden section over the last). */
function bestRest(process: StagedProcess, task: StageTask, s: StageState, target: Parameters): { value: number; rest: Parameters[] } {
  const S = process.stages.length;
  const middles = task.grid.slice(s.stage, S - 1).map((c, i) => gridActions(process, s.stage + i, c));
  let combos: Parameters[][] = [[]];
  for (const m of middles) combos = combos.flatMap((c) => m.map((a) => [...c, a]));
  let best = { value: -Infinity, rest: [] as Parameters[] };
  for (const c of combos) {
    const r = maxLast(process, (a) => finish(process, task, s, [...c, a], target));
    if (r.value > best.value) best = { value: r.value, rest: [...c, r.action] };
  }
  return best;
}

/** The oracle's decision rule and the best fixed recipe, both chosen with M = 16 draws of stage 0's variability. */
function optimise(process: StagedProcess, task: StageTask, target: Parameters): { oracle: Act; recipe: Parameters } {
  const M = 16;
  const rngs = Array.from({ length: M }, (_, m) => createRng(99).fork(`oracle-${m}`));
  const first = gridActions(process, 0, task.grid[0]);
  let bestAdaptive = { value: -Infinity, a0: first[0] };
  let bestFixed = { value: -Infinity, recipe: {} as Parameters };
  const middles = task.grid.slice(1, -1).map((c, i) => gridActions(process, i + 1, c));
  let combos: Parameters[][] = [[]];
  for (const m of middles) combos = combos.flatMap((c) => m.map((a) => [...c, a]));
  for (const a0 of first) {
    const s1 = rngs.map((r) => task.step(process.initial(), a0, createRng(r.seed)));
    const adaptive = s1.reduce((acc, s) => acc + (s.feasible ? bestRest(process, task, s, target).value : task.infeasibleReward), 0) / M;
    if (adaptive > bestAdaptive.value) bestAdaptive = { value: adaptive, a0 };
    for (const c of combos) {
      const r = maxLast(process, (a) => s1.reduce((acc, s) => acc + (s.feasible ? finish(process, task, s, [...c, a], target) : task.infeasibleReward), 0) / M);
      if (r.value > bestFixed.value) bestFixed = { value: r.value, recipe: Object.assign({}, a0, ...c, r.action) as Parameters };
    }
  }
  const oracle: Act = (s) => (s.stage === 0 ? bestAdaptive.a0 : bestRest(process, task, s, target).rest[0]);
  return { oracle, recipe: bestFixed.recipe };
}

/**
 * The best fixed recipe for an expected reward `f` (issue #17 review: the grid's recipe was not a
 * floor — a coordinate search on the truth found recipes 0.026 better): compass search (Kolda,
 * Lewis & Torczon 2003, SIAM Rev. 45:385) over every continuous setting, from the given starts
 * and `random` uniform ones, each move ±h per coordinate, h halved when none improves, down to
 * range/512. `f` is evaluated with common random numbers, so it is a deterministic function.
 */
function bestRecipe(process: StagedProcess, f: (r: Parameters) => number, starts: Parameters[], random: number, rng: Rng): { recipe: Parameters; value: number } {
  const specs = process.stages.flatMap((s) => s.parameters).map((p) => {
    if (p.kind !== 'continuous') throw new Error(`the recipe search handles continuous settings only; ${p.name} is ${p.kind}`);
    return p;
  });
  const clamp = (x: number[]) => Object.fromEntries(specs.map((p, j) => [p.name, Math.min(p.max, Math.max(p.min, x[j]))]));
  const all = [...starts.map((r) => specs.map((p) => r[p.name] as number)), ...Array.from({ length: random }, () => specs.map((p) => p.min + (p.max - p.min) * rng.next()))];
  let best = { recipe: clamp(all[0]), value: -Infinity };
  for (const x0 of all) {
    let x = x0;
    let fx = f(clamp(x));
    let h = specs.map((p) => (p.max - p.min) / 8);
    while (h[0] > (specs[0].max - specs[0].min) / 512) {
      let moved = false;
      for (let j = 0; j < specs.length; j++) {
        for (const dir of [1, -1]) {
          const y = [...x];
          y[j] = Math.min(specs[j].max, Math.max(specs[j].min, y[j] + dir * h[j]));
          const fy = f(clamp(y));
          if (fy > fx) [x, fx, moved] = [y, fy, true];
        }
      }
      if (!moved) h = h.map((v) => v / 2);
    }
    if (fx > best.value) best = { recipe: clamp(x), value: fx };
  }
  return best;
}

/**
 * Expected TRUE reward of a fixed recipe on exactly the `n` evaluation episodes every method is
 * scored on (`expected`'s `mc-i` process streams; a fixed recipe ignores the readings): the
 * search maximises the very number reported, so a method scored on the same episodes beats the
 * recipe it finds only where the search missed the optimum (in-sample: if anything, optimistic
 * for the fixed recipe).
 */
const truthRecipeValue = (process: StagedProcess, task: StageTask, target: Parameters, seed: number, n: number) => (recipe: Parameters): number => {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const r = createRng(seed).fork(`mc-${i}`).fork('make');
    let t = process.initial();
    while (t.stage < process.stages.length && t.feasible) t = task.step(t, recipeActor(process, recipe)(t), r);
    sum += trueReward(task, t, target);
  }
  return sum / n;
};

/** Draws of the twin's variability a twin-recipe search averages over (fixed streams: common random numbers). */
const SEARCH_DRAWS = 200;

/** Expected reward of a fixed recipe in the twin environment (its P-model, corrected as far as it has assimilated rig episodes). */
const twinRecipeValue = (env: TwinStageEnvironment, target: Parameters, seed: number) => (recipe: Parameters): number => {
  let sum = 0;
  for (let i = 0; i < SEARCH_DRAWS; i++) {
    const r = createRng(seed).fork(`search-${i}`);
    let t = env.initial();
    while (t.stage < env.stages.length && t.feasible) t = env.step(t, recipeActor(env.process, recipe)(t), r);
    sum += env.reward(t, target);
  }
  return sum / SEARCH_DRAWS;
};

/**
 * The one-shot method that uses the twin as the policy does (issue #17 review: cold gp-bo is not
 * like-for-like with a policy pre-trained on the twin): the best fixed recipe under the twin's
 * expected reward, then B rig runs in blocks of `learnEvery` — each block runs the current recipe
 * on the truth (read after every stage, as the policy's runs are), the environment assimilates
 * all rig episodes so far exactly as ppo-stages' learn() does (reward and process-law
 * corrections, revealed spreads), and the recipe is re-optimised in the corrected twin, warm
 * from the previous one. Returns the uncorrected twin optimum and the corrected final recipe.
 */
function twinRecipe(task: StageTask, target: Parameters, seed: number, a: Args): { twinOnly: Parameters; corrected: Parameters } {
  const env = makeEnv(task, a.correction);
  const rng = createRng(seed).fork('twin-recipe');
  const starts = (env: TwinStageEnvironment) => [Object.fromEntries(env.process.stages.flatMap((s) => s.parameters.map((p) => [p.name, p.default ?? (p.min + p.max) / 2])))];
  const twinOnly = bestRecipe(env.process, twinRecipeValue(env, target, seed), starts(env), 8, rng).recipe;
  let recipe = twinOnly;
  const episodes: StageEpisode[] = [];
  for (let j = 0; j < a.budget; j++) {
    const e = episode(env.process, task, recipeActor(env.process, recipe), createRng(seed).fork(`rig-${j}`));
    episodes.push({ target, actions: e.actions, states: e.states, measured: e.truth.feasible ? task.truth(e.truth) : {}, reward: trueReward(task, e.truth, target) });
    if ((j + 1) % a.learnEvery === 0 || j === a.budget - 1) {
      if (!env.assimilate) throw new Error('the twin environment cannot assimilate rig episodes');
      env.assimilate(episodes);
      recipe = bestRecipe(env.process, twinRecipeValue(env, target, seed), [recipe, twinOnly], 2, rng).recipe;
    }
  }
  return { twinOnly, corrected: recipe };
}

const process_log = (m: string) => (globalThis as { process?: NodeJS.Process }).process?.stderr.write(`${m}\n`);

// ─── Methods ─────────────────────────────────────────────────────────────────────────────

/**
 * gp-bo over all settings at once, `budget` runs of the truth. Its recommendation (issue #17
 * review: the fair one-shot baseline) is the measured recipe with the best GP posterior mean —
 * a noisy arg-max of the observations would pick lucky draws; the best observed recipe is kept
 * for comparison.
 */
async function gpBo(process: StagedProcess, task: StageTask, target: Parameters, seed: number, budget: number): Promise<{ posterior: Parameters; observed: Parameters }> {
  const agent = agentRegistry['gp-bo']({});
  const space = { parameters: process.stages.flatMap((s) => s.parameters) };
  const history: Observation[] = [];
  const rng = createRng(seed).fork('gp-bo');
  for (let j = 0; j < budget; j++) {
    const [recipe] = await agent.propose({ space, history, proposed: history.map((o) => o.params), rng }, 1);
    const e = episode(process, task, recipeActor(process, recipe), createRng(seed).fork(`rig-${j}`));
    const r = trueReward(task, e.truth, target);
    history.push({ params: recipe, reward: r, fidelity: 'rig' });
    await agent.learn(history);
  }
  const { x, y } = trainingData(space, history);
  const mean = GaussianProcess.fit(x, y, { rng: createRng(seed).fork('gp-recommend'), restarts: 2 }).predictMean(x);
  // trainingData keeps the finite rewards first, in history order: index i ↔ the i-th finite run.
  const finite = history.filter((o) => Number.isFinite(o.reward));
  const best = mean.slice(0, finite.length).reduce((b, m, i) => (m > mean[b] ? i : b), 0);
  return { posterior: finite[best].params, observed: history.reduce((a, b) => (b.reward > a.reward ? b : a)).params };
}

/** Held-out amortisation targets: one inside the training range [0.25, 0.40], one outside it. */
const HELD_OUT: Parameters[] = [{ porosity: 0.33 }, { porosity: 0.45 }];

const policyActor = (p: StagePolicy, env: TwinStageEnvironment, target: Parameters): Act => (s) => p.act(env, s, target);

function makeEnv(task: StageTask, correction: Args['correction'] = 'linear'): TwinStageEnvironment {
  return createStageEnvironment(twinRegistry[task.twin](), { reward: task.reward, targets: task.targets, infeasibleReward: task.infeasibleReward, correction });
}

async function adaptive(task: StageTask, target: Parameters, seed: number, a: Args) {
  const env = makeEnv(task, a.correction);
  const process = env.process;
  const policy = createStagePpo({ seed, learnIterations: a.learnIterations });
  const t0 = performance.now();
  await policy.train(env, { iterations: a.iterations });
  const trainS = (performance.now() - t0) / 1000;
  const pretrained = policy.snapshot();
  const episodes: StageEpisode[] = [];
  const learnMs: number[] = [];
  const actMs: number[] = [];
  for (let j = 0; j < a.budget; j++) {
    const act: Act = (s) => {
      const t = performance.now();
      const out = policy.act(env, s, target);
      actMs.push(performance.now() - t);
      return out;
    };
    // The policy learns from what the rigs reported: the noisy intermediate readings (states)
    // and the final properties the truth's structure has.
    const e = episode(process, task, act, createRng(seed).fork(`rig-${j}`));
    episodes.push({ target, actions: e.actions, states: e.states, measured: e.truth.feasible ? task.truth(e.truth) : {}, reward: trueReward(task, e.truth, target) });
    if ((j + 1) % a.learnEvery === 0 || j === a.budget - 1) {
      const t = performance.now();
      await policy.learn(env, episodes);
      learnMs.push(performance.now() - t);
    }
  }
  return { env, policy, pretrained, trainS, learnMs, actMs, spreads: env.spreads(), rigMean: episodes.reduce((s, e) => s + e.reward, 0) / episodes.length };
}

// ─── Statistics and report ───────────────────────────────────────────────────────────────

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}
const f3 = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));
const mq = (xs: number[]) => `${f3(quantile(xs, 0.5))} [${f3(quantile(xs, 0.25))}, ${f3(quantile(xs, 0.75))}]`;

export async function run(argv: string[]): Promise<void> {
  const merge = argv.indexOf('--merge');
  if (merge >= 0) {
    // Parts run side by side (e.g. one process per twin: --twins X --out stages-X) into one table.
    const parts = argv[merge + 1].split(',').map((name) => JSON.parse(readFileSync(fileURLToPath(new URL(`./results/${name}.json`, import.meta.url)), 'utf8')) as Report);
    const a = parse(argv.filter((_, i) => i !== merge && i !== merge + 1));
    a.twins = parts.flatMap((p) => p.args.twins);
    const commits = [...new Set(parts.map((p) => p.commit))].join(', ');
    writeReport(a, parts.flatMap((p) => p.rows), parts.flatMap((p) => p.amortisation), Object.assign({}, ...parts.map((p) => p.cost)), Math.max(...parts.map((p) => p.seconds)), commits);
    return;
  }
  const a = parse(argv);
  if (a.twins.length > 1 && !argv.includes('--twins')) {
    // One process per twin, side by side (the two cores of the reference machine), then one table.
    const self = fileURLToPath(new URL('./bench.ts', import.meta.url));
    await Promise.all(
      a.twins.map(
        (t) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, [...process.execArgv, self, 'stages', ...argv, '--twins', t, '--out', `${a.out}-${t}`], { stdio: ['ignore', 'inherit', 'inherit'] });
            child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench stages --twins ${t} exited with ${code}`))));
          }),
      ),
    );
    return run([...argv, '--merge', a.twins.map((t) => `${a.out}-${t}`).join(',')]);
  }
  const started = Date.now();
  const rows: Array<Record<string, number | string>> = [];
  const amort: Array<Record<string, number | string>> = [];
  const cost: Record<string, { act: number[]; learn: number[]; train: number[] }> = {};
  for (const twin of a.twins) {
    const task = STAGE_TASKS[twin];
    cost[twin] = { act: [], learn: [], train: [] };
    for (let seed = a.firstSeed; seed < a.firstSeed + a.seeds; seed++) {
      const target: Parameters = { porosity: +(0.27 + 0.11 * createRng(seed).fork('target').next()).toFixed(4) };
      const proc = twinRegistry[twin]().process!;
      const J = (act: Act) => expected(proc, task, act, target, a.mc, seed);
      const times: number[] = [performance.now()];
      const opt = optimise(proc, task, target);
      const jStar = expected(proc, task, opt.oracle, target, a.mc, seed, 'truth');
      // The grid's best recipe refined on the truth's expected reward over the evaluation episodes.
      const fixed = bestRecipe(proc, truthRecipeValue(proc, task, target, seed, a.mc), [opt.recipe], 8, createRng(seed).fork('truth-recipe'));
      const jOneShot = J(recipeActor(proc, fixed.recipe));
      if (Math.abs(jOneShot - fixed.value) > 1e-9) throw new Error(`the truth-recipe search's value ${fixed.value} differs from its evaluation ${jOneShot}: the streams diverged`);
      times.push(performance.now());
      const gp = await gpBo(proc, task, target, seed, a.budget);
      const jGp = J(recipeActor(proc, gp.posterior));
      const jGpObserved = J(recipeActor(proc, gp.observed));
      const tw = twinRecipe(task, target, seed, a);
      const jTwin = J(recipeActor(proc, tw.twinOnly));
      const jTwinCorrected = J(recipeActor(proc, tw.corrected));
      times.push(performance.now());
      const ad = await adaptive(task, target, seed, a);
      const jPolicy = J(policyActor(ad.policy, ad.env, target));
      const pre = createStagePpo({ seed });
      pre.restore(ad.pretrained);
      const jPre = J(policyActor(pre, makeEnv(task), target));
      cost[twin].act.push(...ad.actMs);
      cost[twin].learn.push(...ad.learnMs);
      cost[twin].train.push(ad.trainS);
      const row = { twin, seed, target: target.porosity as number, jStar, jOneShot, jGp, jGpObserved, jTwin, jTwinCorrected, jPolicy, jPretrained: jPre, regretGp: jStar - jGp, regretGpObserved: jStar - jGpObserved, regretTwin: jStar - jTwin, regretTwinCorrected: jStar - jTwinCorrected, regretOneShot: jStar - jOneShot, regretPolicy: jStar - jPolicy, regretPretrained: jStar - jPre, rigMeanPolicy: ad.rigMean, ...Object.fromEntries(Object.entries(ad.spreads).map(([k, v]) => [`spread.${k}`, v])) };
      rows.push(row);
      process.stderr.write(`${twin} seed ${seed} ε*=${target.porosity}: regret gp-bo ${f3(row.regretGp)}, twin recipe ${f3(row.regretTwin)} (corrected by rigs ${f3(row.regretTwinCorrected)}), best fixed recipe with the truth known ${f3(row.regretOneShot)}, policy ${f3(row.regretPolicy)} (pre-trained only ${f3(row.regretPretrained)}) [oracle + truth recipe ${((times[1] - times[0]) / 1000).toFixed(0)} s, gp-bo + twin recipe ${((times[2] - times[1]) / 1000).toFixed(0)} s, ppo-stages ${((performance.now() - times[2]) / 1000).toFixed(0)} s; ${((Date.now() - started) / 1000).toFixed(0)} s]\n`);
      for (const held of seed < a.firstSeed + a.amortise ? HELD_OUT : []) {
        // Amortisation: the conditioned policy (pre-trained, no rig data) at a held-out target vs
        // one trained for it — inside the training range (interpolation) and outside it (extrapolation).
        const env = makeEnv(task);
        const conditioned = createStagePpo({ seed });
        conditioned.restore(ad.pretrained);
        const specific = createStagePpo({ seed });
        await specific.train(env, { iterations: a.iterations, target: held });
        const twinJ = (act: Act) => {
          let sum = 0;
          for (let i = 0; i < a.mc; i++) {
            const r = createRng(seed).fork(`mc-${i}`);
            let s = env.initial();
            while (s.stage < env.stages.length && s.feasible) s = env.step(s, act(s), r);
            sum += env.reward(s, held);
          }
          return sum / a.mc;
        };
        const defaults = Object.fromEntries(proc.stages.flatMap((st) => st.parameters.map((p) => [p.name, p.default!])));
        const jc = twinJ(policyActor(conditioned, env, held));
        const js = twinJ(policyActor(specific, env, held));
        const jd = twinJ(recipeActor(proc, defaults));
        amort.push({ twin, seed, held: held.porosity as number, conditioned: jc, specific: js, defaults: jd, shortfall: (js - jc) / Math.abs(js - jd) });
      }
      // Written after every seed, so a run cut short still leaves its table.
      writeReport(a, rows, amort, cost, (Date.now() - started) / 1000);
    }
  }
  writeReport(a, rows, amort, cost, (Date.now() - started) / 1000);
}

function writeReport(args: Args, rows: Array<Record<string, number | string>>, amort: Array<Record<string, number | string>>, cost: Record<string, { act: number[]; learn: number[]; train: number[] }>, seconds: number, ranAt?: string): void {
  let a = args;
  const out = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  const commit = ranAt ?? STARTED_AT_COMMIT;
  const col = (twin: string, k: string) => rows.filter((r) => r.twin === twin).map((r) => r[k] as number);
  // Only the twins with rows so far (the report is written after every seed).
  a = { ...a, twins: a.twins.filter((t) => rows.some((r) => r.twin === t)) };
  const lines = [
    '# Stage-adaptive RL vs one-shot optimisation (issue #17)',
    '',
    `Command: \`npm run bench -- stages --seeds ${a.seeds} --budget ${a.budget} --iterations ${a.iterations} --mc ${a.mc}\` · commit ${commit} · ${cpus().length} × ${cpus()[0]?.model ?? '?'} (load ${loadavg()[0].toFixed(1)}) · ${seconds.toFixed(0)} s.`,
    '',
    'Tasks and hidden truth: experiments/stage-tasks.ts (and docs/stages.md). Regret = J* − J: J the expected true final reward over',
    `${a.mc} episodes of the truth's variability (same episodes for every method), J* the truth-known stage-adaptive oracle. Budget: ${a.budget} rig runs per method.`,
    '',
    'Truth: its own process laws (calender spring-back; sintering exponents), larger spreads, biased property models; rigs read the intermediate',
    'structure with noise (grain-electrode: porosity ± 0.01, thickness ± 1 µm; sofc-anode: porosity ± 0.01, Ni diameter ± 5 %), and the policy',
    'acts on those readings; J* sees the true state (perfect information). gp-bo recommends the measured recipe of best GP posterior mean.',
    '',
    'One-shot methods at the same rig budget: gp-bo (cold, over all settings); the twin recipe (the best fixed recipe under the twin\'s expected',
    'reward, no rig run); the twin recipe corrected by the rig runs (blocks of the budget run on the truth, assimilated as ppo-stages\' learn()',
    'does, the recipe re-optimised in the corrected twin). The best fixed recipe found with the truth known (grid + compass search on the',
    'truth\'s expected reward, every setting refined, no budget) is a reference for what any fixed recipe can reach, not a proven floor.',
    '',
    `| twin | seeds | gp-bo (posterior mean) | gp-bo (best observed) | twin recipe (0 rig runs) | twin recipe corrected (${a.budget} rig runs) | ppo-stages | ppo-stages pre-trained only | best one-shot method at ${a.budget} runs (lowest median) | median regret: policy / best one-shot | best fixed recipe, truth known | policy / it |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const twin of a.twins) {
    const oneShots: Array<[string, number[]]> = [
      ['gp-bo (posterior mean)', col(twin, 'regretGp')],
      ['gp-bo (best observed)', col(twin, 'regretGpObserved')],
      ['twin recipe', col(twin, 'regretTwin')],
      ['twin recipe corrected', col(twin, 'regretTwinCorrected')],
    ];
    const [bestName, bestRegret] = oneShots.reduce((b, c) => (quantile(c[1], 0.5) < quantile(b[1], 0.5) ? c : b));
    const o = col(twin, 'regretOneShot');
    const p = col(twin, 'regretPolicy');
    const pre = col(twin, 'regretPretrained');
    lines.push(`| ${twin} | ${p.length} | ${oneShots.map(([, r]) => mq(r)).join(' | ')} | ${mq(p)} | ${mq(pre)} | ${bestName} | ${f3(quantile(p, 0.5) / quantile(bestRegret, 0.5))} | ${mq(o)} | ${f3(quantile(p, 0.5) / quantile(o, 0.5))} |`);
  }
  lines.push('', 'Median [quartiles] over seeds. Target: the policy\'s median regret ≤ 0.70 × the best one-shot method\'s at the same rig budget.', '');
  lines.push('## Revealed spreads (after the rig runs; config = twin default, truth in stage-tasks.ts)', '', '| twin | quantity | median revealed σ |', '|---|---|---|');
  for (const twin of a.twins) {
    const keys = Object.keys(rows.find((r) => r.twin === twin) ?? {}).filter((k) => k.startsWith('spread.'));
    for (const k of keys) lines.push(`| ${twin} | ${k.slice(7)} | ${f3(quantile(col(twin, k), 0.5))} |`);
  }
  lines.push('', `## Amortisation (held-out targets, in the twin, seeds ${a.firstSeed}–${a.firstSeed + a.amortise - 1}; training range ε* ∈ [0.25, 0.40])`, '');
  lines.push('Shortfall = (J_specific − J_conditioned) / |J_specific − J_defaults|: how much of what a policy trained for the target gains over the twin\'s default recipe the target-conditioned policy loses. Target ≤ 0.10.', '');
  lines.push('| twin | held-out ε* | J conditioned | J trained for ε* | J defaults | shortfall (median [quartiles]) |', '|---|---|---|---|---|---|');
  for (const twin of a.twins) {
    for (const held of HELD_OUT) {
      const r = amort.filter((x) => x.twin === twin && x.held === held.porosity);
      if (r.length === 0) continue;
      const c = (k: string) => r.map((x) => x[k] as number);
      const where = (held.porosity as number) > 0.4 ? 'outside the range' : 'inside the range';
      lines.push(`| ${twin} | ${held.porosity} (${where}) | ${mq(c('conditioned'))} | ${mq(c('specific'))} | ${mq(c('defaults'))} | ${mq(c('shortfall'))} |`);
    }
  }
  lines.push('', '## Cost (one core, this machine)', '', '| twin | one act (a stage\'s proposal), ms | one learn, s | pre-training, s |', '|---|---|---|---|');
  for (const twin of a.twins) {
    const c = cost[twin];
    lines.push(`| ${twin} | ${mq(c.act)} | ${mq(c.learn.map((x) => x / 1000))} | ${mq(c.train)} |`);
  }
  lines.push('', '## Per seed', '', '| twin | seed | ε* | J* | gp-bo (posterior mean) | gp-bo (best observed) | twin recipe | twin recipe corrected | best fixed recipe, truth known | ppo-stages | pre-trained |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) lines.push(`| ${r.twin} | ${r.seed} | ${r.target} | ${f3(r.jStar as number)} | ${f3(r.jGp as number)} | ${f3(r.jGpObserved as number)} | ${f3(r.jTwin as number)} | ${f3(r.jTwinCorrected as number)} | ${f3(r.jOneShot as number)} | ${f3(r.jPolicy as number)} | ${f3(r.jPretrained as number)} |`);
  writeFileSync(`${out}${a.out}.md`, `${lines.join('\n')}\n`);
  writeFileSync(`${out}${a.out}.json`, `${JSON.stringify({ args: a, commit, seconds, rows, amortisation: amort, cost }, null, 1)}\n`);
}
