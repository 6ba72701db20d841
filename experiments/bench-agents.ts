/**
 * `npm run bench -- agents [--seeds 20] [--cap 250] [--ppo-seeds 20] [--ppo-cap 250]
 *   [--agents random,sobol,cmaes,gp-bo,ppo] [--datasets fullerenes,suzuki,…] [--seed-from 1] [--out agents]
 *   [--agent-options '{"gp-bo":{"model":"forest"}}'] [--no-cost | --cost-only]`
 *
 * Pool replay on the five Olympus datasets of ../shared/benchmarks (README there): the space is
 * the set of unique input rows (objective = mean over repeated rows); 2 random initial points,
 * then one point per cycle chosen by the agent, never one twice. Target set: the best
 * ⌈5% N⌉ unique points. Metrics (Rohr et al., Chem. Sci. 2020; Liang et al., npj Comput.
 * Mater. 2021): Top%(i), EF(i) = Top%(i)/(i/N), cycles to Top% ≥ 0.8 and AF(0.8) = 0.8·N/cycles.
 * A run stops at Top% ≥ 0.8 or after `cap` measurements (random always runs to 0.8); a run
 * that hits the cap is censored (reported as "> cap"). Curves are carried forward after a run
 * stops at 0.8 (Top% never decreases, so this is a lower bound).
 *
 * Writes experiments/results/<out>.md, .json, <out>-ef.csv (median/quartile curves) and
 * <out>-raw.json (every run). `--merge a,b` rebuilds <out>.* from the raw files of earlier
 * runs (e.g. baselines and PPO run as separate processes, or seeds split with --seed-from),
 * without running anything; runs of the same agent and dataset are pooled by seed (and cut to
 * the smallest cap among the parts). Every invocation also measures the cost of one gp-bo
 * proposal (2 000-point pool, 6-D, 300 observations; issue #12), with gp-bo's --agent-options,
 * unless `--no-cost` (`--cost-only`: that and nothing else), and the tables put gp-bo beside the reference GP-ARD / random-forest numbers of the README.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { agentRegistry } from '../agents/index.js';
import type { Observation, Parameters, ParameterSpace } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { paramKey, parsePoolCsv } from '../src/core/space.js';
import { hartmann6 } from '../agents/testing/functions.js';
import { runLoop } from '../agents/testing/harness.js';

export interface Dataset {
  name: string;
  file: string;
  goal: 'max' | 'min';
}

const ALL_AGENTS = ['random', 'sobol', 'cmaes', 'gp-bo', 'ppo'];

export const DATASETS: Dataset[] = [
  { name: 'fullerenes', file: 'fullerenes.csv', goal: 'max' },
  { name: 'suzuki', file: 'suzuki.csv', goal: 'max' },
  { name: 'photo_pce10', file: 'photo_pce10.csv', goal: 'min' },
  { name: 'hplc', file: 'hplc.csv', goal: 'max' },
  { name: 'oer_plate_3496', file: 'oer_plate_3496.csv', goal: 'min' },
];

/**
 * Agent options for the protocol: model-based agents start modelling after the 2 random points.
 * PPO runs with a smaller per-proposal compute budget than its defaults (docs/agents.md, "PPO
 * cost"): 4 PPO iterations of 128 episodes and 4 epochs per proposal instead of 12 × 64 × 6,
 * i.e. 16 instead of 72 gradient steps. The defaults cost ≈ 0.3 s per cycle here, too much for
 * 20 seeds × 5 datasets × up to 250 cycles on two shared cores.
 */
const AGENT_OPTIONS: Record<string, Record<string, unknown>> = {
  'gp-bo': { initialPoints: 2 },
  ppo: { initialPoints: 2, episodes: 128, iterations: 15, iterationsWarm: 4, epochs: 4 },
};

export interface Problem {
  name: string;
  space: ParameterSpace;
  value: Map<string, number>;
  reward: (p: Parameters) => number;
  targets: Set<string>;
  n: number;
}

export function load(dir: string, d: Dataset): Problem {
  const rows = parsePoolCsv(readFileSync(join(dir, d.file), 'utf8'), d.file);
  const cols = Object.keys(rows[0]);
  const inputs = cols.slice(0, -1);
  const objective = cols[cols.length - 1];
  const groups = new Map<string, { params: Parameters; sum: number; count: number }>();
  for (const r of rows) {
    const params = Object.fromEntries(inputs.map((c) => [c, r[c]]));
    const k = paramKey(params);
    const g = groups.get(k) ?? { params, sum: 0, count: 0 };
    g.sum += Number(r[objective]);
    g.count++;
    groups.set(k, g);
  }
  const pool = [...groups.values()].map((g) => g.params);
  const value = new Map([...groups.entries()].map(([k, g]) => [k, g.sum / g.count]));
  const sign = d.goal === 'max' ? 1 : -1;
  const space: ParameterSpace = {
    parameters: inputs.map((name) => {
      const v = pool.map((p) => p[name] as number);
      return { name, kind: 'continuous' as const, min: Math.min(...v), max: Math.max(...v) };
    }),
    pool,
  };
  const ranked = [...value.entries()].sort((a, b) => sign * (b[1] - a[1]));
  const targets = new Set(ranked.slice(0, Math.ceil(0.05 * pool.length)).map(([k]) => k));
  return { name: d.name, space, value, reward: (p) => sign * value.get(paramKey(p))!, targets, n: pool.length };
}

/** Top%(i) for i = 1..len of one run. */
function topCurve(p: Problem, h: readonly Observation[]): number[] {
  let found = 0;
  return h.map((o) => {
    if (p.targets.has(paramKey(o.params))) found++;
    return found / p.targets.size;
  });
}

interface RunResult {
  seed: number;
  top: number[];
  /** Measurements to reach Top% ≥ 0.8, or null if the run was stopped by the cap. */
  cycles: number | null;
  seconds: number;
}

async function replay(p: Problem, agent: string, seed: number, cap: number, extra: Record<string, unknown> = {}): Promise<RunResult> {
  const rng = createRng(seed).fork(`init-${p.name}`);
  const idx = new Set<number>();
  while (idx.size < 2) idx.add(rng.int(p.space.pool!.length));
  const initial = [...idx].map((i) => ({ params: p.space.pool![i], reward: p.reward(p.space.pool![i]), fidelity: 'rig' as const }));
  const t0 = performance.now();
  // Counted incrementally: the history only grows, and re-scanning it every cycle made the
  // random baseline on the 2 000-point pool quadratic in its ~1 700 cycles.
  let scanned = 0;
  let found = 0;
  const reached = (h: readonly Observation[]) => {
    for (; scanned < h.length; scanned++) if (p.targets.has(paramKey(h[scanned].params))) found++;
    return found >= 0.8 * p.targets.size;
  };
  const h = await runLoop(agentRegistry[agent]({ ...AGENT_OPTIONS[agent], ...extra }), p.space, p.reward, { budget: cap, seed, initial, stop: reached });
  const top = topCurve(p, h);
  const hit = top.findIndex((t) => t >= 0.8);
  return { seed, top, cycles: hit >= 0 ? hit + 1 : null, seconds: (performance.now() - t0) / 1000 };
}

/** A run as if it had been stopped at `cap` measurements. */
const truncate = (r: RunResult, cap: number): RunResult => ({ ...r, top: r.top.slice(0, cap), cycles: r.cycles !== null && r.cycles <= cap ? r.cycles : null });

export const quantile = (v: readonly number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
};

/** Quantile of cycles with censored runs (null) counted as +∞; returns null when the quantile is censored. */
export const censoredQuantile = (v: readonly (number | null)[], q: number): number | null => {
  const x = quantile(v.map((c) => c ?? Infinity), q);
  return Number.isFinite(x) ? x : null;
};

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

/**
 * Cost of one proposal (issue #12: ≤ 1 s for one proposal from a 2 000-point pool in 6-D with
 * 300 observations, on one core): a fresh agent (so the whole model fit is counted), a pool of
 * 2 000 uniform points in [0, 1]^6, 300 of them observed with Hartmann-6 rewards. Reported as
 * CPU time of this (single-threaded) process, which a loaded machine inflates less than wall
 * time, and wall time; median of `repeats` proposals on different seeds.
 */
export async function proposalCost(agent: string, options: Record<string, unknown>, repeats = 3): Promise<{ agent: string; options: Record<string, unknown>; cpuSeconds: number; wallSeconds: number }> {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const rng = createRng(900 + r);
    const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    const pool = Array.from({ length: 2000 }, () => Object.fromEntries(names.map((n) => [n, rng.next()])) as Parameters);
    const space: ParameterSpace = { parameters: names.map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 })), pool };
    const history: Observation[] = pool.slice(0, 300).map((params) => ({ params, reward: hartmann6.reward(params), fidelity: 'rig' as const }));
    const a = agentRegistry[agent](options);
    await a.learn(history);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await a.propose({ space, history, proposed: history.map((o) => o.params), rng: rng.fork('propose') }, 1);
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { agent, options, cpuSeconds: quantile(cpu, 0.5), wallSeconds: quantile(wall, 0.5) };
}

export async function run(args: string[]): Promise<void> {
  const seeds = Number(arg(args, 'seeds', '20'));
  const cap = Number(arg(args, 'cap', '250'));
  const ppoSeeds = Number(arg(args, 'ppo-seeds', '20'));
  const ppoCap = Number(arg(args, 'ppo-cap', '250'));
  const seedFrom = Number(arg(args, 'seed-from', '1'));
  // Options merged over the protocol's per agent, e.g. '{"gp-bo":{"model":"gp"}}' (variants; use another --out).
  const extraOptions = JSON.parse(arg(args, 'agent-options', '{}')) as Record<string, Record<string, unknown>>;
  const agents = arg(args, 'agents', ALL_AGENTS.join(',')).split(',');
  const names = arg(args, 'datasets', DATASETS.map((d) => d.name).join(',')).split(',');
  const out = arg(args, 'out', 'agents');
  const dir = arg(args, 'data', new URL('../../shared/benchmarks/olympus/', import.meta.url).pathname);
  const resultsDir = new URL('results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });

  const meta: Meta = { seeds, cap, ppoSeeds, ppoCap, ppoOptions: AGENT_OPTIONS.ppo, agentOptions: extraOptions, started: Date.now() };
  if (args.includes('--cost-only') && args.includes('--no-cost')) throw new Error('bench agents: --cost-only and --no-cost exclude each other');
  if (!args.includes('--no-cost')) {
    // The gp-bo the runs use: its --agent-options too (e.g. '{"gp-bo":{"inputWarp":"auto"}}').
    meta.cost = await proposalCost('gp-bo', extraOptions['gp-bo'] ?? {});
    process.stderr.write(`gp-bo ${JSON.stringify(meta.cost.options)} proposal cost (2000-point pool, 6-D, 300 observations): ${meta.cost.cpuSeconds.toFixed(2)} s CPU, ${meta.cost.wallSeconds.toFixed(2)} s wall\n`);
    if (args.includes('--cost-only')) return;
  }
  const merge = arg(args, 'merge', '');
  if (merge) {
    const results: Results = {};
    for (const part of merge.split(',')) {
      const raw = JSON.parse(readFileSync(join(resultsDir, `${part}-raw.json`), 'utf8')) as { meta: Meta; results: Results };
      Object.assign(meta, { seeds: Math.max(meta.seeds, raw.meta.seeds), cap: raw.meta.cap, ppoSeeds: raw.meta.ppoSeeds, ppoCap: raw.meta.ppoCap, ppoOptions: raw.meta.ppoOptions ?? meta.ppoOptions, started: Math.min(meta.started, raw.meta.started) });
      // Parts may hold different seeds of the same agent and dataset (--seed-from): runs are pooled by seed.
      for (const [ds, byAgent] of Object.entries(raw.results)) {
        results[ds] ??= {};
        for (const [agent, r] of Object.entries(byAgent)) {
          const prev = results[ds][agent];
          // Parts run with different caps are cut to the smaller one: exact, because an agent
          // never sees the cap (its first `cap` proposals are the same whatever the cap).
          const cap = Math.min(prev?.cap ?? Infinity, r.cap);
          const bySeed = new Map([...(prev?.runs ?? []), ...r.runs].map((x) => [x.seed, truncate(x, cap)]));
          results[ds][agent] = { ...r, cap, runs: [...bySeed.values()].sort((a, b) => a.seed - b.seed) };
        }
      }
    }
    // What the pooled PPO rows ran with (parts may differ): the fewest seeds and the largest cap.
    const ppo = Object.values(results).flatMap((b) => (b.ppo ? [b.ppo] : []));
    if (ppo.length) Object.assign(meta, { ppoSeeds: Math.min(...ppo.map((r) => r.runs.length)), ppoCap: Math.max(...ppo.map((r) => r.cap)) });
    // The same agent order in every table, the random baseline first.
    const order = (a: string) => (ALL_AGENTS.includes(a) ? ALL_AGENTS.indexOf(a) : ALL_AGENTS.length);
    for (const ds of Object.keys(results)) results[ds] = Object.fromEntries(Object.entries(results[ds]).sort(([a], [b]) => order(a) - order(b)));
    writeOutputs(resultsDir, out, results, meta);
    return;
  }
  const results: Results = {};
  const started = meta.started;
  for (const d of DATASETS.filter((x) => names.includes(x.name))) {
    const p = load(dir, d);
    results[p.name] = {};
    for (const agent of agents) {
      const isPpo = agent === 'ppo';
      const agentCap = agent === 'random' ? p.n : Math.min(p.n, isPpo ? ppoCap : cap);
      const n = isPpo ? ppoSeeds : seeds;
      const runs: RunResult[] = [];
      results[p.name][agent] = { n: p.n, targets: p.targets.size, cap: agentCap, runs };
      for (let s = seedFrom; s < seedFrom + n; s++) {
        runs.push(await replay(p, agent, s, agentCap, extraOptions[agent]));
        // After every seed, so that a run stopped early (a deadline) keeps the seeds it finished.
        writeFileSync(join(resultsDir, `${out}-raw.json`), JSON.stringify({ meta: { ...meta, started }, results }));
      }
      const cyc = runs.map((r) => r.cycles);
      process.stderr.write(`${p.name} ${agent}: median cycles ${censoredQuantile(cyc, 0.5) ?? `>${agentCap}`} (${n} seeds, ${runs.reduce((a, r) => a + r.seconds, 0).toFixed(0)} s)\n`);
    }
  }
  writeOutputs(resultsDir, out, results, meta);
}

function writeOutputs(resultsDir: string, out: string, results: Results, meta: Meta): void {
  writeFileSync(join(resultsDir, `${out}.json`), JSON.stringify(summaryJson(results, meta), null, 1));
  writeFileSync(join(resultsDir, `${out}-ef.csv`), efCsv(results));
  writeFileSync(join(resultsDir, `${out}.md`), markdown(results, meta));
}

/**
 * The numbers to beat (../shared/benchmarks/README.md, "Reference results"): median cycles to
 * Top% 0.8 of scikit-learn GP-ARD (Matérn-5/2 ARD + white noise, EI) and of a random forest
 * (100 trees, confidence bound λ = 1), same protocol, 50 seeds (20 where N > 1000); null = the
 * median run did not reach 0.8 within 300.
 */
const REFERENCE: Record<string, { gpArd: number | null; rf: number | null; random: number }> = {
  fullerenes: { gpArd: 56, rf: 69.5, random: 170 },
  suzuki: { gpArd: 37.5, rf: 26, random: 190 },
  hplc: { gpArd: 139.5, rf: 123.5, random: 795.5 },
  photo_pce10: { gpArd: 131, rf: null, random: 805.5 },
  oer_plate_3496: { gpArd: 212.5, rf: 156.5, random: 1681 },
};

/** gp-bo beside the reference optimisers: the table of the issue-12 target. */
function referenceTable(results: Results): string[] {
  const out = [
    '## gp-bo against the reference GP-ARD and random forest (issue #12)',
    '',
    'Target: fewer median cycles than the better of the two references on every pool, and at least 20 % fewer on average. ' +
      'Reference numbers from ../shared/benchmarks/README.md (scikit-learn, same protocol, 50 seeds or 20 where N > 1000); gp-bo and random measured here.',
    '',
    '| dataset | gp-bo: median [q25, q75] (seeds) | GP-ARD (ref.) | RF (ref.) | better ref. | gp-bo / better | random here (ref.) |',
    '| --- | --- | --: | --: | --: | --: | --- |',
  ];
  const ratios: number[] = [];
  for (const [ds, byAgent] of Object.entries(results)) {
    const ref = REFERENCE[ds];
    const r = byAgent['gp-bo'];
    if (!ref || !r) continue;
    const s = stats(r);
    const better = Math.min(ref.gpArd ?? Infinity, ref.rf ?? Infinity);
    const fmt = (v: number | null) => (v === null ? `> ${r.cap}` : String(v));
    const ratio = s.cyclesMedian === null ? null : s.cyclesMedian / better;
    if (ratio !== null) ratios.push(ratio);
    const rnd = byAgent.random ? stats(byAgent.random).cyclesMedian : null;
    out.push(
      `| ${ds} | ${fmt(s.cyclesMedian)} [${fmt(s.cyclesQ25)}, ${fmt(s.cyclesQ75)}] (${s.seeds}) | ${ref.gpArd ?? '> 300'} | ${ref.rf ?? '> 300'} | ${better} | ${ratio === null ? 'censored' : ratio.toFixed(2)} | ${rnd ?? '–'} (${ref.random}) |`,
    );
  }
  if (ratios.length) out.push('', `Mean of gp-bo / better reference over the ${ratios.length} pools with an uncensored median: ${(ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(2)}.`);
  return [...out, ''];
}

interface Meta {
  seeds: number;
  cap: number;
  ppoSeeds: number;
  ppoCap: number;
  ppoOptions?: Record<string, unknown>;
  agentOptions?: Record<string, Record<string, unknown>>;
  cost?: { agent: string; options: Record<string, unknown>; cpuSeconds: number; wallSeconds: number };
  started: number;
}

type Results = Record<string, Record<string, { n: number; targets: number; cap: number; runs: RunResult[] }>>;

function stats(r: { n: number; cap: number; runs: RunResult[] }) {
  const cyc = r.runs.map((x) => x.cycles);
  const med = censoredQuantile(cyc, 0.5);
  const topAt = (i: number) => r.runs.map((x) => x.top[Math.min(i, x.top.length) - 1] ?? 0);
  return {
    seeds: r.runs.length,
    reached: cyc.filter((c) => c !== null).length,
    cyclesMedian: med,
    cyclesQ25: censoredQuantile(cyc, 0.25),
    cyclesQ75: censoredQuantile(cyc, 0.75),
    af: med ? (0.8 * r.n) / med : null,
    topAtCapMedian: quantile(topAt(r.cap), 0.5),
    secondsPerRun: r.runs.reduce((a, x) => a + x.seconds, 0) / r.runs.length,
    /** EF at fixed budgets (median over seeds), for curves and for censored agents. */
    ef: [10, 25, 50, 100, 200].filter((i) => i <= r.cap).map((i) => ({ i, ef: quantile(topAt(i), 0.5) / (i / r.n), top: quantile(topAt(i), 0.5) })),
  };
}

function summaryJson(results: Results, meta: Meta) {
  return {
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version },
    date: new Date().toISOString(),
    protocol: { initial: 2, batch: 1, target: 'top 5% of unique points', threshold: 0.8, ...meta },
    results: Object.fromEntries(
      Object.entries(results).map(([ds, byAgent]) => [
        ds,
        Object.fromEntries(Object.entries(byAgent).map(([a, r]) => [a, { n: r.n, targets: r.targets, cap: r.cap, ...stats(r), cycles: r.runs.map((x) => x.cycles) }])),
      ]),
    ),
  };
}

const EF_CSV_MAX = 300;

function efCsv(results: Results): string {
  const lines = ['dataset,agent,i,top_median,top_q25,top_q75,ef_median'];
  for (const [ds, byAgent] of Object.entries(results)) {
    for (const [agent, r] of Object.entries(byAgent)) {
      // Up to the largest cap (random runs to 0.8·N; beyond the caps its EF is ≈ 1 anyway).
      const maxLen = Math.min(EF_CSV_MAX, Math.max(...r.runs.map((x) => x.top.length)));
      for (let i = 1; i <= maxLen; i++) {
        const t = r.runs.map((x) => x.top[Math.min(i, x.top.length) - 1]);
        const m = quantile(t, 0.5);
        lines.push(`${ds},${agent},${i},${m.toFixed(4)},${quantile(t, 0.25).toFixed(4)},${quantile(t, 0.75).toFixed(4)},${(m / (i / r.n)).toFixed(3)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function markdown(results: Results, meta: Meta): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const fmt = (v: number | null, cap: number) => (v === null ? `> ${cap}` : v.toFixed(0));
  const out: string[] = [
    '# Agents: pool replay on the Olympus datasets',
    '',
    `Machine: ${cpu}, ${os.cpus().length} cores (shared with other work), Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}. ` +
      `Wall time from the first start to this table: ${((Date.now() - meta.started) / 60000).toFixed(0)} min (parts may have run in parallel and been merged with --merge); ` +
      'seconds per run were measured on a loaded machine and are only indicative.',
    '',
    `Protocol (../shared/benchmarks/README.md): unique input rows as a pool, 2 random initial points, batch 1, target = best 5% of unique points, ` +
      `threshold Top% ≥ 0.8. ${meta.seeds} seeds per agent and runs stop at 0.8 or at ${meta.cap} measurements (random: no cap); ` +
      `PPO ran with a reduced compute budget per proposal (${JSON.stringify(meta.ppoOptions ?? {})}; docs/agents.md, "Cost") and, where the seeds and cap columns say so, with a lower cap. ` +
      '"> cap" = the median run did not reach 0.8 within the cap (censored); final Top% is where runs stopped (≥ 0.8, or at the cap). ' +
      'AF(0.8) = 0.8·N / median cycles; random search needs 0.8·N on average (AF ≈ 1). Spread: quartiles of cycles over seeds.',
    '',
    '| dataset | N | agent | seeds | reached 0.8 | cycles to 0.8: median [q25, q75] | AF(0.8) | cap | final Top% (median) | Top% at 50 / 100 / 200 (median) | EF at 50 | s / run |',
    '| --- | --: | --- | --: | --: | --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const [ds, byAgent] of Object.entries(results)) {
    for (const [agent, r] of Object.entries(byAgent)) {
      const s = stats(r);
      const ef50 = s.ef.find((e) => e.i === 50);
      const ef100 = s.ef.find((e) => e.i === 100);
      const ef200 = s.ef.find((e) => e.i === 200);
      out.push(
        `| ${ds} | ${r.n} | ${agent} | ${s.seeds} | ${s.reached}/${s.seeds} | ${fmt(s.cyclesMedian, r.cap)} [${fmt(s.cyclesQ25, r.cap)}, ${fmt(s.cyclesQ75, r.cap)}] | ${s.af ? s.af.toFixed(2) : '–'} | ${r.cap} | ${s.topAtCapMedian.toFixed(2)} | ${[ef50, ef100, ef200].map((e) => (e ? e.top.toFixed(2) : '–')).join(' / ')} | ${ef50 ? ef50.ef.toFixed(2) : '–'} | ${s.secondsPerRun.toFixed(1)} |`,
      );
    }
  }
  if (meta.cost) {
    out.push('', `Cost of one gp-bo proposal (2 000-point pool in 6-D, 300 observations, a fresh agent so the whole fit counts; one core): ${meta.cost.cpuSeconds.toFixed(2)} s CPU, ${meta.cost.wallSeconds.toFixed(2)} s wall (median of 3).`);
  }
  out.push('', ...referenceTable(results));
  out.push('', '## Against random (ratio of median cycles to Top% 0.8; > 1 = fewer measurements than random)', '', '| dataset | ' + Object.keys(Object.values(results)[0] ?? {}).filter((a) => a !== 'random').join(' | ') + ' |');
  const agents = Object.keys(Object.values(results)[0] ?? {}).filter((a) => a !== 'random');
  out.push(`| --- | ${agents.map(() => '--:').join(' | ')} |`);
  for (const [ds, byAgent] of Object.entries(results)) {
    const rnd = byAgent.random ? stats(byAgent.random).cyclesMedian : null;
    out.push(
      `| ${ds} | ${agents
        .map((a) => {
          if (!byAgent[a] || !rnd) return '–';
          const m = stats(byAgent[a]).cyclesMedian;
          return m === null ? `< ${(rnd / byAgent[a].cap).toFixed(2)} (censored)` : (rnd / m).toFixed(2);
        })
        .join(' | ')} |`,
    );
  }
  out.push(
    '',
    'EF curves (median, quartiles of Top% per measurement for every dataset and agent): the `-ef.csv` file beside this one.',
    '',
    'The second benchmark of issue 6, twin tasks with a hidden truth (twin + PPO + reward update against rig-only GP-BO and random), is `npm run bench -- campaigns`: results in campaigns.md and campaigns-budget40.md beside this file.',
    '',
  );
  return out.join('\n');
}
