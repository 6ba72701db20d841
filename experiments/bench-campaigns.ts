/**
 * `npm run bench -- campaigns [--seeds 20] [--budget 30] [--tasks gdl,...] [--strategies ...]
 *   [--pool-draws 5] [--campaign-seeds 3] [--campaign-task gdl] [--campaign-set key=value]… [--campaign-rig-only] [--seed-base 1000]
 *   [--mf '{"discrepancyVar":1}'] [--out campaigns] [--build-truth] [--quick]`
 *
 * Issue #13 — does the twin save rig runs? Hidden-truth tasks (experiments/campaign-tasks.ts):
 * one per twin (fibre GDL, grain electrode, SOFC anode) and a MISLEADING one (a GDL whose rigs
 * reverse the twin's PTFE trend). Each task's truth is the realisation mean at a larger volume
 * (cached lattice, bicubic interpolant) × a parameter-dependent bias, and every rig result adds
 * 2 % relative noise per measured property. f* = max of the noise-free true reward over a dense
 * 201 × 201 lattice of the interpolant.
 *
 * Strategies, `budget` rig runs each, 2 per round, ≥ 20 seeds (the seed sets the rig noise and
 * the strategies' own random choices):
 *   - twin-mf: the pool-based twin loop of issue #13. The P-model (twin + physics at campaign
 *     size, one realisation per recipe, as a campaign scores one today) is simulated on a pool of
 *     256 Sobol recipes — cheap; draw 0 is cached with the truth, `--pool-draws` − 1 more draws
 *     (other realisation seeds) are simulated here, and seed i uses draw i mod n. A multi-fidelity model
 *     (src/predict/multifidelity.ts: co-kriging of simulations → rig results) estimates the real
 *     reward; each round the 2 candidates of highest expected improvement of the REAL reward
 *     (Kriging believer) among 1024 Sobol recipes (the pool and the points between, whose
 *     simulation-level estimate is the simulations' GP) go to the rigs.
 *   - twin-raw: the same pool, candidates ranked by the simulations' GP alone, never corrected
 *     (what "trust the twin" does; an ablation: shows what the correction is worth).
 *   - rig-gp-bo: no twin; the gp-bo agent with its defaults (the best agent of issue #12) on the
 *     rig results alone, in the continuous space.
 *   - random: uniform recipes.
 * Metric: for each rig run in order, the TRUE (noise-free) reward of its recipe; "rig runs to
 * 2 %" = the first n with max(true reward of runs 1..n) ≥ f* − 0.02·|f*| (censored: "> budget").
 *
 * `--campaign-seeds n` also runs n seeds of the REAL campaign path (runCampaign: embedded MQTT
 * broker, simulated rigs whose truth is the same cached truth + bias + noise, the P-model
 * simulated per candidate, gp-bo agent on the multi-fidelity estimate, selection by real EI) on
 * `--campaign-task`, to show the harness behaves like a campaign (as bench-agents-campaign.ts
 * does for #12). `--campaign-rig-only` runs every such seed a second time without the twin
 * (experiments/configs/campaigns-gdl-rig-only.yaml: gp-bo on the rig measurements alone), so the
 * campaign path's saving is measured side by side in one run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { agentRegistry } from '../agents/index.js';
import { sobolDirections, sobolPoint } from '../agents/sobol.js';
import { startEmbeddedBroker } from '../robots/broker.js';
import { createSimulatedLab } from '../robots/sim/index.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import type { Observation, Parameters } from '../src/core/protocols.js';
import { createRng, hash32, type Rng } from '../src/core/rng.js';
import { Ledger } from '../src/ledger/ledger.js';
import { MultiFidelityModel, SimulationLevel, selectByExpectedImprovement, type FidelityPoint, type MultiFidelityOptions } from '../src/predict/multifidelity.js';
import { buildTruth, pModelPool, runsWithin, TASKS, taskModel, type Task, type TaskModel } from './campaign-tasks.js';
import { commitHash } from './provenance.js';

const RESULTS = new URL('results/', import.meta.url).pathname;
const CAMPAIGN_CONFIG = new URL('configs/campaigns-gdl.yaml', import.meta.url).pathname;
const CAMPAIGN_CONFIG_RIG_ONLY = new URL('configs/campaigns-gdl-rig-only.yaml', import.meta.url).pathname;
const STRATEGIES = ['twin-mf', 'twin-raw', 'rig-gp-bo', 'random'] as const;
type Strategy = (typeof STRATEGIES)[number];
const BATCH = 2;
const CANDIDATES = 1024;
/** Simulated rigs answer in ~5 ms: the campaign path's wall time is the loop's, not the lab's. */
const LATENCY = { dist: 'lognormal' as const, mean: 5, sd: 1 };

interface Settings {
  seeds: number;
  budget: number;
  tasks: string[];
  strategies: Strategy[];
  campaignSeeds: number;
  campaignTask: string;
  out: string;
  buildTruth: boolean;
  /** Options of the multi-fidelity model (an ablation flag: `--mf '{"discrepancyVar":1}'`). */
  mf: Partial<MultiFidelityOptions>;
  /** Independent draws of the P-model pool; seed i uses draw i mod poolDraws (draw 0 is cached). */
  poolDraws: number;
  /** Extra `--set` overrides of the campaign path's config (e.g. agent.candidates=32). */
  campaignSet: string[];
  /** Also run each campaign seed without the twin (campaigns-gdl-rig-only.yaml): the side-by-side baseline. */
  campaignRigOnly: boolean;
  /** First seed (seeds are seedBase, seedBase+1, …): a confirmation run uses seeds no development run saw. */
  seedBase: number;
}

function parseArgs(args: string[]): Settings {
  const s: Settings = { seeds: 20, budget: 30, tasks: TASKS.map((t) => t.name), strategies: [...STRATEGIES], campaignSeeds: 0, campaignTask: 'gdl', out: 'campaigns', buildTruth: false, mf: {}, poolDraws: 5, campaignSet: [], campaignRigOnly: false, seedBase: 1000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') Object.assign(s, { seeds: 2, budget: 10, out: 'campaigns-quick' });
    else if (a === '--seeds') s.seeds = Number(next());
    else if (a === '--budget') s.budget = Number(next());
    else if (a === '--tasks') s.tasks = next().split(',');
    else if (a === '--campaign-seeds') s.campaignSeeds = Number(next());
    else if (a === '--campaign-task') s.campaignTask = next();
    else if (a === '--out') s.out = next();
    else if (a === '--build-truth') s.buildTruth = true;
    else if (a === '--pool-draws') s.poolDraws = Number(next());
    else if (a === '--campaign-set') s.campaignSet.push(next());
    else if (a === '--campaign-rig-only') s.campaignRigOnly = true;
    else if (a === '--seed-base') s.seedBase = Number(next());
    else if (a === '--mf') s.mf = JSON.parse(next()) as Partial<MultiFidelityOptions>;
    else if (a === '--strategies') {
      s.strategies = next().split(',') as Strategy[];
      for (const x of s.strategies) if (!STRATEGIES.includes(x)) throw new Error(`unknown strategy ${x}; allowed: ${STRATEGIES.join(', ')}`);
    } else throw new Error(`unknown flag ${a}; see the header of experiments/bench-campaigns.ts`);
  }
  for (const t of s.tasks) if (!TASKS.some((x) => x.name === t)) throw new Error(`unknown task ${t}; allowed: ${TASKS.map((x) => x.name).join(', ')}`);
  return s;
}

const log = (line: string) => process.stderr.write(`[campaigns] ${line}\n`);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  // Censored values are +∞: a quartile that touches one is "> budget".
  return lo === hi ? s[lo] : s[hi] === Infinity ? Infinity : s[lo] + (s[hi] - s[lo]) * (pos - lo);
};

/** What the benchmark needs of a task: the truth, f*, the pool's simulations (per draw) and the candidates. */
async function prepare(task: Task, poolDraws: number) {
  const m = taskModel(task);
  const [a, b] = m.spec.space;
  let fStar = -Infinity;
  let argmax: Parameters = {};
  const N = 201;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const p = { [a.name]: a.min + ((a.max - a.min) * i) / (N - 1), [b.name]: b.min + ((b.max - b.min) * j) / (N - 1) };
      const r = m.trueReward(p);
      if (r > fStar) {
        fStar = r;
        argmax = p;
      }
    }
  }
  const dirs = sobolDirections(2);
  const candidates: Parameters[] = Array.from({ length: CANDIDATES }, (_, n) => {
    const u = sobolPoint(dirs, n + 1);
    return { [a.name]: a.min + (a.max - a.min) * u[0], [b.name]: b.min + (b.max - b.min) * u[1] };
  });
  const draws: Array<{ level: SimulationLevel; rawEstimate: number[] }> = [];
  for (let d = 0; d < poolDraws; d++) {
    const t0 = performance.now();
    const pool = d === 0 ? m.file.pool : await pModelPool(m.spec, d);
    const simulations: FidelityPoint[] = pool.map((q) => ({ params: q.params, reward: m.rewardOf(q.properties, q.params) }));
    const level = SimulationLevel.fit(m.space, simulations, { seed: hash32(`level:${task.name}:${d}`) });
    draws.push({ level, rawEstimate: MultiFidelityModel.fit(m.space, level, [], { seed: 0 }).predict(candidates).mean });
    log(`${task.name}: P-model draw ${d} ${d === 0 ? 'cached' : 'simulated'} and fitted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  log(`${task.name}: f* = ${fStar.toFixed(3)} at ${JSON.stringify(argmax)}`);
  return { task, m, fStar, argmax, candidates, draws };
}
type Prepared = Awaited<ReturnType<typeof prepare>>;

/** One rig run: the truth with the task's bias and 2 % relative noise per property. */
function measure(m: TaskModel, task: Task, p: Parameters, noise: Rng): number {
  const t = m.trueProperties(p);
  return m.rewardOf(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v * (1 + task.noise * noise.normal())])), p);
}

interface Run {
  strategy: Strategy;
  task: string;
  seed: number;
  /** Which draw of the P-model pool (twin strategies). */
  draw: number;
  runs: Parameters[];
  trueRewards: number[];
  runsTo2: number | null;
  bestTrue: number;
  bestTrueAt10: number;
  /** twin-mf: the fitted ρ after the last round. */
  rho?: { mean: number; sd: number } | null;
  wallS: number;
}

async function runStrategy(prep: Prepared, strategy: Strategy, seed: number, draw: number, budget: number, mf: Partial<MultiFidelityOptions>): Promise<Run> {
  const { task, m } = prep;
  const { level, rawEstimate } = prep.draws[draw];
  const rng = createRng(hash32(`${task.name}:${strategy}:${seed}`));
  const noise = rng.fork('noise');
  const t0 = performance.now();
  const runs: Parameters[] = [];
  const measured: FidelityPoint[] = [];
  let rho: Run['rho'];
  const agent = strategy === 'rig-gp-bo' ? agentRegistry['gp-bo']({}) : null;
  const history: Observation[] = [];
  const used = new Set<number>();
  for (let round = 0; runs.length < budget; round++) {
    const k = Math.min(BATCH, budget - runs.length);
    let batch: Parameters[];
    if (strategy === 'twin-mf') {
      const model = MultiFidelityModel.fit(m.space, level, measured, { ...mf, seed: hash32(`mf:${seed}`) });
      const open = prep.candidates.map((_, i) => i).filter((i) => !used.has(i));
      const best = measured.length ? Math.max(...measured.map((x) => x.reward)) : -Infinity;
      const picks = selectByExpectedImprovement(model, open.map((i) => prep.candidates[i]), k, best).map((p) => open[p.index]);
      picks.forEach((i) => used.add(i));
      batch = picks.map((i) => prep.candidates[i]);
      rho = model.state().rho;
    } else if (strategy === 'twin-raw') {
      const order = prep.candidates.map((_, i) => i).filter((i) => !used.has(i)).sort((x, y) => rawEstimate[y] - rawEstimate[x] || x - y);
      batch = order.slice(0, k).map((i) => {
        used.add(i);
        return prep.candidates[i];
      });
    } else if (agent) {
      batch = await agent.propose({ space: m.space, history, proposed: [...runs], rng: rng.fork(`propose:${round}`) }, k);
    } else {
      batch = Array.from({ length: k }, () => Object.fromEntries(m.spec.space.map((p) => [p.name, rng.uniform(p.min, p.max)])));
    }
    const obs: Observation[] = [];
    for (const p of batch) {
      const y = measure(m, task, p, noise);
      runs.push(p);
      measured.push({ params: p, reward: y });
      obs.push({ params: p, reward: y, fidelity: 'rig', feasible: true });
    }
    history.push(...obs);
    await agent?.learn(obs);
  }
  const trueRewards = runs.map((p) => m.trueReward(p));
  const runsTo2 = runsWithin(trueRewards, prep.fStar, 0.02);
  return {
    strategy,
    task: task.name,
    seed,
    draw,
    runs,
    trueRewards,
    runsTo2,
    bestTrue: Math.max(...trueRewards),
    bestTrueAt10: Math.max(...trueRewards.slice(0, 10)),
    rho,
    wallS: (performance.now() - t0) / 1000,
  };
}

interface Row {
  task: string;
  strategy: Strategy;
  seeds: number;
  runsTo2: { q1: number; median: number; q3: number };
  reached: number;
  bestTrue: { q1: number; median: number; q3: number };
  bestTrueAt10: { q1: number; median: number; q3: number };
  rho?: { q1: number; median: number; q3: number };
  wallSMedian: number;
}

const q3 = (xs: number[]) => ({ q1: quantile(xs, 0.25), median: quantile(xs, 0.5), q3: quantile(xs, 0.75) });

function summarise(runs: Run[], task: string, strategy: Strategy): Row {
  const rs = runs.filter((r) => r.task === task && r.strategy === strategy);
  const rhos = rs.map((r) => r.rho?.mean).filter((x): x is number => x !== undefined);
  return {
    task,
    strategy,
    seeds: rs.length,
    runsTo2: q3(rs.map((r) => r.runsTo2 ?? Infinity)),
    reached: rs.filter((r) => r.runsTo2 !== null).length,
    bestTrue: q3(rs.map((r) => r.bestTrue)),
    bestTrueAt10: q3(rs.map((r) => r.bestTrueAt10)),
    rho: rhos.length ? q3(rhos) : undefined,
    wallSMedian: quantile(rs.map((r) => r.wallS), 0.5),
  };
}

// ── the real campaign path ─────────────────────────────────────────────────────────────────

interface CampaignRun {
  /** twin: campaigns-gdl.yaml (+ --campaign-set); rig-only: campaigns-gdl-rig-only.yaml as it is. */
  mode: 'twin' | 'rig-only';
  seed: number;
  runs: Parameters[];
  trueRewards: number[];
  runsTo2: number | null;
  bestTrue: number;
  status: string;
  stopReason: string | null;
  wallS: number;
  rho: unknown;
}

/** A whole twin campaign (runCampaign) against simulated rigs whose truth is the task's cached truth. */
async function campaignPath(prep: Prepared, mode: CampaignRun['mode'], seed: number, budget: number, set: string[]): Promise<CampaignRun> {
  const { task, m } = prep;
  const dir = mkdtempSync(join(os.tmpdir(), 'poreloop-bench-campaigns-'));
  const broker = await startEmbeddedBroker({ port: 0 });
  const searched = m.names;
  const lab = await createSimulatedLab({
    brokerUrl: broker.url,
    lab: 'bench',
    seed: hash32(`lab:${task.name}:${seed}`),
    stateDir: join(dir, 'lab'),
    rigs: [
      { id: 'fab-1', capabilities: ['fabricate'], latencyMs: LATENCY },
      { id: 'char-1', capabilities: ['characterise'], latencyMs: LATENCY, noise: task.noise },
    ],
    // The rigs receive fixed ∪ searched parameters; the truth reads the searched ones.
    truth: (params, capability) =>
      capability === 'characterise' ? { feasible: true, measurements: m.trueProperties(Object.fromEntries(searched.map((n) => [n, params[n]]))) } : { feasible: true, measurements: {} },
    onProblem: (rig, msg) => log(`rig ${rig}: ${msg}`),
  });
  const db = join(dir, 'ledger.db');
  const t0 = performance.now();
  try {
    const resolved = loadCampaign(mode === 'twin' ? CAMPAIGN_CONFIG : CAMPAIGN_CONFIG_RIG_ONLY, { seed, broker: broker.url, set: [`budget.rigRuns=${budget}`, ...set] });
    let campaignId = '';
    const summary = await runCampaign(resolved, { db, onStart: (id) => (campaignId = id), log: () => {} });
    const ledger = Ledger.open(db, { readonly: true });
    try {
      const sel = ledger
        .trials(campaignId)
        .filter((t) => t.status === 'completed')
        .sort((a, b) => a.round - b.round || a.selectedRank! - b.selectedRank!);
      const runs = sel.map((t) => Object.fromEntries(searched.map((n) => [n, t.params[n]])));
      const trueRewards = runs.map((p) => m.trueReward(p));
      const runsTo2 = runsWithin(trueRewards, prep.fStar, 0.02);
      const mf = ledger.documents(campaignId, 'ModelTrained').filter((d) => d.body.kind === 'multi-fidelity').pop();
      return { mode, seed, runs, trueRewards, runsTo2, bestTrue: Math.max(...trueRewards), status: summary.status, stopReason: summary.stopReason, wallS: (performance.now() - t0) / 1000, rho: (mf?.body as { state?: { rho?: unknown } } | undefined)?.state?.rho ?? null };
    } finally {
      ledger.close();
    }
  } finally {
    await lab.stop();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── report ─────────────────────────────────────────────────────────────────────────────────

const fmt = (x: number, d = 1) => (x === Infinity ? '> budget' : Number.isFinite(x) ? x.toFixed(d) : String(x));

function render(doc: Doc): string {
  const { settings } = doc;
  const md: string[] = [];
  const B = settings.budget;
  const runsTxt = (r: Row['runsTo2']) => `${fmt(r.median).replace('> budget', `> ${B}`)} (${fmt(r.q1).replace('> budget', `> ${B}`)}–${fmt(r.q3).replace('> budget', `> ${B}`)})`;
  const qTxt = (r: { q1: number; median: number; q3: number }, d = 3) => `${r.median.toFixed(d)} (${r.q1.toFixed(d)}–${r.q3.toFixed(d)})`;
  md.push('# Does the twin save rig runs? Hidden-truth tasks (issue #13)', '');
  md.push(`${doc.date} · commit ${doc.commit} · ${doc.machine.cpu} · ${doc.machine.cores} cores · node ${doc.machine.node} · \`${doc.command}\` (${doc.wallSeconds.toFixed(0)} s).`, '');
  md.push(
    `${settings.seeds} seeds per strategy and task (${settings.seedList[0]}…${settings.seedList[settings.seedList.length - 1]}), budget ${B} rig runs, ${BATCH} per round. ` +
      'Truth: realisation mean at a larger volume (cached lattice, experiments/truth/, bicubic interpolant) × a parameter-dependent bias, + 2 % rig noise per property. ' +
      `The twin strategies' P-model (one realisation per recipe at campaign size, 256 Sobol recipes) comes in ${settings.poolDraws} independent draws (other realisation seeds); seed i uses draw i mod ${settings.poolDraws}. ` +
      'f* by a dense 201 × 201 search of the noise-free truth. "Rig runs to 2 %": the first run after which the best TRUE reward so far is within 2 % of f* (median, quartiles; "> budget" = not within the budget). See docs/multifidelity.md for the model and the strategies.',
    '',
  );
  md.push('| task | f* (at) | strategy | rig runs to 2 % of f*: median (q1–q3) | reached within budget | best true reward at budget: median (q1–q3) | at 10 runs | ρ after the last round: median (q1–q3) |');
  md.push('|---|---|---|---|---|---|---|---|');
  for (const t of doc.tasks) {
    for (const r of doc.summary.filter((x) => x.task === t.name)) {
      md.push(`| ${t.name}${t.misleading ? ' (misleading)' : ''} | ${t.fStar.toFixed(3)} (${Object.entries(t.argmax).map(([k, v]) => `${k} ${(v as number).toFixed(3)}`).join(', ')}) | ${r.strategy} | ${runsTxt(r.runsTo2)} | ${r.reached}/${r.seeds} | ${qTxt(r.bestTrue)} | ${qTxt(r.bestTrueAt10)} | ${r.rho ? qTxt(r.rho, 2) : '—'} |`);
    }
  }
  md.push('', '### twin-mf by draw of the P-model', '', 'Rig runs to 2 % of f* per seed, grouped by the draw of the P-model pool the seed used ("–" = not within the budget):', '');
  for (const t of doc.tasks) {
    const rs = doc.runs.filter((r) => r.task === t.name && r.strategy === 'twin-mf');
    const byDraw = [...new Set(rs.map((r) => r.draw))].sort((a, b) => a - b).map((d) => `draw ${d}: ${rs.filter((r) => r.draw === d).map((r) => r.runsTo2 ?? '–').join(', ')}`);
    md.push(`- ${t.name}: ${byDraw.join('; ')}`);
  }
  md.push('', '## Targets', '');
  for (const v of doc.verdict) md.push(`- ${v}`);
  if (doc.campaign.length) {
    const c = doc.campaign;
    const h = doc.summary.find((r) => r.task === settings.campaignTask && r.strategy === 'twin-mf');
    md.push('', `## The real campaign path on ${settings.campaignTask} (${new Set(c.map((r) => r.seed)).size} seeds)`, '');
    md.push(
      'runCampaign with an embedded MQTT broker and simulated rigs (fabricate → characterise) whose truth is the same cached truth + bias + 2 % noise; the P-model (twin + physics at campaign size) simulates each proposed candidate; ' +
        'the gp-bo agent learns from the multi-fidelity estimates; the rigs get the candidates of highest real-quantity EI (experiments/configs/campaigns-gdl.yaml). rig-only: the same campaign without twin or P-model (experiments/configs/campaigns-gdl-rig-only.yaml). The same seed gives both the same rig noise stream.',
      '',
    );
    md.push('| seed | mode | rig runs to 2 % | best true reward | ρ at the end | status | wall s |', '|---|---|---|---|---|---|---|');
    for (const r of c) md.push(`| ${r.seed} | ${r.mode} | ${r.runsTo2 ?? `> ${B}`} | ${r.bestTrue.toFixed(3)} | ${r.rho === null ? '—' : JSON.stringify(r.rho)} | ${r.status}: ${r.stopReason} | ${r.wallS.toFixed(0)} |`);
    md.push('');
    const medians: Partial<Record<CampaignRun['mode'], number>> = {};
    for (const mode of ['twin', 'rig-only'] as const) {
      const rs = c.filter((r) => r.mode === mode);
      if (!rs.length) continue;
      const runs = rs.map((r) => r.runsTo2 ?? Infinity);
      medians[mode] = quantile(runs, 0.5);
      md.push(`- ${mode}: median rig runs to 2 % ${fmt(quantile(runs, 0.5))} (${fmt(quantile(runs, 0.25))}–${fmt(quantile(runs, 0.75))}) over ${rs.length} seeds; reached ${rs.filter((r) => r.runsTo2 !== null).length}/${rs.length}; median wall ${quantile(rs.map((r) => r.wallS), 0.5).toFixed(0)} s.`);
    }
    if (h) md.push(`- harness twin-mf on ${settings.campaignTask}: median ${fmt(h.runsTo2.median)} over ${h.seeds} seeds; reached ${h.reached}/${h.seeds}.`);
    if (medians.twin !== undefined && medians['rig-only'] !== undefined) {
      const ratio = medians['rig-only'] / medians.twin;
      const ratioTxt = Number.isNaN(ratio) ? 'neither reaches 2 % in the median' : `${fmt(medians['rig-only'])} / ${fmt(medians.twin)} = ${ratio === Infinity ? '∞' : ratio.toFixed(2)}×`;
      md.push(`- Campaign path: rig-only / twin = ${ratioTxt} (target ≥ 3× on a non-misleading task): **${ratio >= 3 ? 'met' : 'NOT met'}**.`);
    }
  }
  return `${md.join('\n')}\n`;
}

interface Doc {
  suite: string;
  date: string;
  commit: string;
  command: string;
  machine: { cpu: string; cores: number; node: string };
  settings: Settings & { seedList: number[]; batch: number; candidates: number };
  tasks: Array<{ name: string; description: string; misleading: boolean; reward: string; bias: unknown; fStar: number; argmax: Parameters; truth: unknown }>;
  summary: Row[];
  verdict: string[];
  runs: Run[];
  campaign: CampaignRun[];
  wallSeconds: number;
}

function verdict(doc: Doc): string[] {
  const out: string[] = [];
  for (const t of doc.tasks) {
    const mf = doc.summary.find((r) => r.task === t.name && r.strategy === 'twin-mf');
    const rig = doc.summary.find((r) => r.task === t.name && r.strategy === 'rig-gp-bo');
    if (!mf || !rig) continue;
    const a = mf.runsTo2.median;
    const b = rig.runsTo2.median;
    const ratio = a === Infinity ? (b === Infinity ? Number.NaN : 0) : b === Infinity ? Infinity : b / a;
    const target = t.misleading ? 'twin-mf ≤ 1.1× the rig-only runs' : 'rig-only ≥ 3× the twin-mf runs';
    const met = t.misleading ? a <= 1.1 * b : ratio >= 3;
    const ratioTxt = Number.isNaN(ratio) ? 'neither reaches 2 % in the median' : ratio === Infinity ? `rig-only does not reach 2 % in the median (${rig.reached}/${rig.seeds} seeds do), twin-mf in ${fmt(a)}` : `rig-only / twin-mf = ${fmt(b)} / ${fmt(a)} = ${ratio.toFixed(2)}×`;
    out.push(`${t.name}${t.misleading ? ' (misleading)' : ''}: target ${target}; ${ratioTxt} — **${met ? 'met' : 'NOT met'}** (reached: twin-mf ${mf.reached}/${mf.seeds}, rig-only ${rig.reached}/${rig.seeds}).`);
  }
  return out;
}

async function main(args: string[]): Promise<void> {
  const s = parseArgs(args);
  // The commit whose code this process loaded: read at the start, since a run takes hours and
  // the checkout may move on meanwhile.
  const commit = commitHash();
  if (s.buildTruth) {
    const specs = [...new Map(TASKS.filter((t) => s.tasks.includes(t.name)).map((t) => [t.truth.key, t.truth])).values()];
    for (const spec of specs) await buildTruth(spec, log);
    return;
  }
  const t0 = performance.now();
  const seeds = Array.from({ length: s.seeds }, (_, i) => s.seedBase + i);
  const runs: Run[] = [];
  const tasks: Doc['tasks'] = [];
  const preps = new Map<string, Prepared>();
  for (const name of s.tasks) {
    const task = TASKS.find((t) => t.name === name)!;
    const prep = await prepare(task, s.poolDraws);
    preps.set(name, prep);
    tasks.push({ name, description: task.description, misleading: task.misleading, reward: task.reward, bias: task.bias, fStar: prep.fStar, argmax: prep.argmax, truth: prep.m.file.provenance });
    for (const strategy of s.strategies) {
      for (const [i, seed] of seeds.entries()) runs.push(await runStrategy(prep, strategy, seed, i % s.poolDraws, s.budget, s.mf));
      const r = summarise(runs, name, strategy);
      log(`${name} ${strategy}: runs to 2 % median ${fmt(r.runsTo2.median)} (${r.reached}/${r.seeds} reached), best true ${r.bestTrue.median.toFixed(3)}`);
    }
  }
  const campaign: CampaignRun[] = [];
  // Written after the harness and again after every campaign-path seed: a long run stopped
  // early still leaves the seeds it finished (the table says how many).
  const emit = () => {
    const doc: Doc = {
      suite: 'campaigns',
      date: new Date().toISOString(),
      commit,
      command: `npm run bench -- campaigns ${args.join(' ')}`.trim(),
      machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.versions.node },
      settings: { ...s, seedList: seeds, batch: BATCH, candidates: CANDIDATES },
      tasks,
      summary: s.tasks.flatMap((t) => s.strategies.map((st) => summarise(runs, t, st))),
      verdict: [],
      runs,
      campaign,
      wallSeconds: (performance.now() - t0) / 1000,
    };
    doc.verdict = verdict(doc);
    mkdirSync(RESULTS, { recursive: true });
    // Compact (every seed's recipes make it large); ±∞ as strings, which JSON cannot hold.
    writeFileSync(join(RESULTS, `${s.out}.json`), `${JSON.stringify(doc, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`);
    writeFileSync(join(RESULTS, `${s.out}.md`), render(doc));
    log(`wrote experiments/results/${s.out}.{md,json}`);
  };
  emit();
  if (s.campaignSeeds > 0) {
    const prep = preps.get(s.campaignTask) ?? (await prepare(TASKS.find((t) => t.name === s.campaignTask)!, 1));
    for (const seed of seeds.slice(0, s.campaignSeeds)) {
      for (const mode of s.campaignRigOnly ? (['twin', 'rig-only'] as const) : (['twin'] as const)) {
        campaign.push(await campaignPath(prep, mode, seed, s.budget, mode === 'twin' ? s.campaignSet : []));
        log(`campaign path (${mode}) seed ${seed}: runs to 2 % ${campaign[campaign.length - 1].runsTo2 ?? '> budget'}`);
      }
      emit();
    }
  }
}

export const run = main;
