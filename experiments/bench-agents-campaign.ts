/**
 * `npm run bench -- agents-campaign [--seeds 20] [--seed-from 1] [--cap 250]
 *   [--datasets fullerenes,suzuki] [--agent gp-bo] [--data DIR] [--out agents-campaign]`
 *
 * The campaign path of issue #12's benchmark: does a whole campaign — config with
 * `space.pool`, the CampaignRuntime and its ledger, a rig over MQTT on the embedded broker —
 * lose anything against the in-process pool-replay harness (agents/testing/harness.ts, used by
 * `npm run bench -- agents`)? For each pool and seed:
 * - campaign: `poreloop run` of a generated config (the pool's unique input rows as
 *   `space.pool`, agent `gp-bo` with `initialPoints: 2`, one candidate and batch 1 per round,
 *   seed = the seed) against a simulated rig on the embedded broker whose hidden truth is the
 *   pool's recorded objective (mean over repeated rows), answering after 1 ms. The first two
 *   rounds are the agent's own random initial design; the campaign is stopped once Top% ≥ 0.8.
 * - harness: the same agent and options on the same space (the campaign's resolved space),
 *   starting from the campaign's two initial points, with the same seed, stopped at Top% ≥ 0.8.
 * Paired by seed and initial design, the two differ only in the path: MQTT, the ledger, the
 * runtime's history and the Rng streams (the harness forks `round-<n>`, a campaign
 * `propose:<round>`). Metric as in bench-agents.ts: rig runs (measurements, counting the two
 * initial points) until Top% ≥ 0.8, Top% = share of the best ⌈5 % N⌉ unique points found;
 * runs that reach `cap` are censored ("> cap").
 *
 * Writes experiments/results/<out>.md and <out>-raw.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { agentRegistry } from '../agents/index.js';
import { runLoop } from '../agents/testing/harness.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import { createSimulatedLab, startEmbeddedBroker } from '../src/compose/rigs.js';
import type { Observation, Parameters } from '../src/core/protocols.js';
import { paramKey } from '../src/core/space.js';
import { Ledger } from '../src/ledger/ledger.js';
import { censoredQuantile, DATASETS, load, type Problem } from './bench-agents.js';
import { commitHash } from './provenance.js';

interface PathResult {
  /** Rig runs until Top% ≥ 0.8, or null when the cap came first. */
  cycles: number | null;
  runs: number;
  seconds: number;
}

interface SeedResult {
  seed: number;
  initial: Parameters[];
  campaign: PathResult;
  harness: PathResult;
}

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

/** Measurements until Top% ≥ 0.8 (1-based), or null. */
function cyclesTo08(p: Problem, measured: readonly Parameters[]): number | null {
  let found = 0;
  for (let i = 0; i < measured.length; i++) {
    if (p.targets.has(paramKey(measured[i]))) found++;
    if (found >= 0.8 * p.targets.size) return i + 1;
  }
  return null;
}

/** RFC 4180 cell of a number (full precision, so the config loader reads back the same value). */
const csvCell = (v: number | string): string => (typeof v === 'number' ? String(v) : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

async function campaignRun(p: Problem, goal: 'max' | 'min', agent: string, options: Record<string, unknown>, seed: number, cap: number, brokerUrl: string, work: string) {
  const dir = mkdtempSync(join(work, `${p.name}-${seed}-`));
  const columns = p.space.parameters.map((q) => q.name);
  writeFileSync(join(dir, 'pool.csv'), [columns.join(','), ...p.space.pool!.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n');
  const lab = `bench${p.name.replace(/[^a-z0-9]/gi, '')}${seed}`;
  const config = {
    name: `bench-${p.name}`,
    seed,
    lab,
    space: { pool: 'pool.csv' },
    // The rig reports the objective; the reward is it signed by the goal, like p.reward.
    reward: goal === 'max' ? 'objective' : '-objective',
    agent: { name: agent, candidates: 1, batchSize: 1, options },
    rigs: { pipeline: ['measure'], measure: ['objective'], timeout: '60s' },
    budget: { rigRuns: cap },
    stop: {},
    broker: brokerUrl,
  };
  const path = join(dir, 'campaign.yaml');
  writeFileSync(path, YAML.stringify(config));
  const resolved = loadCampaign(path, {}, {});
  let found = 0;
  const rig = await createSimulatedLab({
    brokerUrl,
    lab,
    seed,
    rigs: [{ id: 'replay', capabilities: ['measure'], latencyMs: { dist: 'fixed', mean: 1 } }],
    truth: async (params) => {
      const key = paramKey(Object.fromEntries(columns.map((c) => [c, params[c]])));
      const v = p.value.get(key);
      if (v === undefined) throw new Error(`not a pool row: ${key}`);
      if (p.targets.has(key)) found++;
      return { measurements: { objective: v }, feasible: true };
    },
  });
  const stop = new AbortController();
  const db = join(dir, 'ledger.db');
  const t0 = performance.now();
  let summary;
  try {
    summary = await runCampaign(resolved, {
      db,
      signal: stop.signal,
      // After a round's result is recorded: stop once the target share is found (the ledger, not
      // this counter, decides the reported number of runs).
      onProgress: (e) => e.phase === 'assimilate' && found >= 0.8 * p.targets.size && stop.abort(),
    });
  } finally {
    await rig.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const ledger = Ledger.open(db, { readonly: true });
  const measured = ledger
    .trials(summary.campaignId)
    .filter((t) => t.status === 'completed')
    .sort((a, b) => a.round - b.round || a.index - b.index)
    .map((t) => t.params);
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
  return { space: resolved.space, measured, result: { cycles: cyclesTo08(p, measured), runs: measured.length, seconds } satisfies PathResult };
}

async function harnessRun(p: Problem, space: Problem['space'], agent: string, options: Record<string, unknown>, seed: number, cap: number, initial: Parameters[]): Promise<PathResult> {
  const obs: Observation[] = initial.map((params) => ({ params, reward: p.reward(params), fidelity: 'rig' }));
  const reached = (h: readonly Observation[]) => h.filter((o) => p.targets.has(paramKey(o.params))).length >= 0.8 * p.targets.size;
  const t0 = performance.now();
  const h = await runLoop(agentRegistry[agent](options), space, p.reward, { budget: cap, seed, initial: obs, stop: reached });
  return { cycles: cyclesTo08(p, h.map((o) => o.params)), runs: h.length, seconds: (performance.now() - t0) / 1000 };
}

export async function run(args: string[]): Promise<void> {
  const seeds = Number(arg(args, 'seeds', '20'));
  const seedFrom = Number(arg(args, 'seed-from', '1'));
  const cap = Number(arg(args, 'cap', '250'));
  const agent = arg(args, 'agent', 'gp-bo');
  const names = arg(args, 'datasets', 'fullerenes,suzuki').split(',');
  const out = arg(args, 'out', 'agents-campaign');
  const dataDir = arg(args, 'data', new URL('../../shared/benchmarks/olympus/', import.meta.url).pathname);
  const resultsDir = new URL('results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  // The protocol's 2 random initial points are the agent's own initial design here.
  const options = { initialPoints: 2 };
  const work = mkdtempSync(join(tmpdir(), 'poreloop-bench-campaign-'));
  const broker = await startEmbeddedBroker({ port: 0, persistenceDir: join(work, 'broker') });
  const results: Record<string, { n: number; targets: number; runs: SeedResult[] }> = {};
  const started = Date.now();
  const commit = commitHash();
  try {
    for (const name of names) {
      const d = DATASETS.find((x) => x.name === name);
      if (!d) throw new Error(`unknown dataset ${name}; known: ${DATASETS.map((x) => x.name).join(', ')}`);
      const p = load(dataDir, d);
      results[name] = { n: p.n, targets: p.targets.size, runs: [] };
      for (let seed = seedFrom; seed < seedFrom + seeds; seed++) {
        const c = await campaignRun(p, d.goal, agent, options, seed, cap, broker.url, work);
        const initial = c.measured.slice(0, 2);
        const h = await harnessRun(p, c.space, agent, options, seed, cap, initial);
        results[name].runs.push({ seed, initial, campaign: c.result, harness: h });
        process.stderr.write(`${name} seed ${seed}: campaign ${c.result.cycles ?? `> ${cap}`} (${c.result.seconds.toFixed(1)} s), harness ${h.cycles ?? `> ${cap}`} (${h.seconds.toFixed(1)} s)\n`);
        // After every seed, so that a run stopped early keeps the seeds it finished.
        writeOutputs(resultsDir, out, results, { agent, options, seeds, seedFrom, cap, started, commit });
      }
    }
  } finally {
    await broker.close();
    rmSync(work, { recursive: true, force: true });
  }
}

interface Meta {
  agent: string;
  options: Record<string, unknown>;
  seeds: number;
  seedFrom: number;
  cap: number;
  started: number;
  commit: string;
}

function writeOutputs(dir: string, out: string, results: Record<string, { n: number; targets: number; runs: SeedResult[] }>, meta: Meta): void {
  writeFileSync(join(dir, `${out}-raw.json`), JSON.stringify({ meta, results }, null, 1));
  const fmt = (v: number | null) => (v === null ? `> ${meta.cap}` : Number.isInteger(v) ? String(v) : v.toFixed(1));
  const lines = [
    `# ${meta.agent}: campaign path vs in-process harness (issue #12)`,
    '',
    `Olympus pools (../shared/benchmarks), protocol of \`npm run bench -- agents\`: 2 random initial points (the agent's own initial design, \`initialPoints: 2\`), batch 1, ` +
      `target = best ⌈5 % N⌉ unique points, rig runs (measurements, counting the initial points) until Top% ≥ 0.8, cap ${meta.cap}. ` +
      'Campaign = `runCampaign` of a config with `space.pool`, one candidate per round, a simulated rig on the embedded MQTT broker answering each row with its recorded objective; ' +
      "harness = agents/testing/harness.ts `runLoop` on the campaign's resolved space from the campaign's two initial points. Same seeds, paired.",
    '',
    '| pool (N) | seeds | reached 0.8: campaign / harness | rig runs to 0.8, campaign: median [q25, q75] | harness: median [q25, q75] | paired campaign − harness: median [min, max] | campaign fewer / equal / more | s / run: campaign / harness |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, r] of Object.entries(results)) {
    const c = r.runs.map((x) => x.campaign.cycles);
    const h = r.runs.map((x) => x.harness.cycles);
    const q = (v: (number | null)[], at: number) => fmt(censoredQuantile(v, at));
    const diffs = r.runs.filter((x) => x.campaign.cycles !== null && x.harness.cycles !== null).map((x) => x.campaign.cycles! - x.harness.cycles!);
    const sorted = [...diffs].sort((a, b) => a - b);
    const med = sorted.length ? (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2 : null;
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / Math.max(1, v.length);
    lines.push(
      `| ${name} (${r.n}) | ${r.runs.length} | ${c.filter((x) => x !== null).length} / ${h.filter((x) => x !== null).length} | ${q(c, 0.5)} [${q(c, 0.25)}, ${q(c, 0.75)}] | ${q(h, 0.5)} [${q(h, 0.25)}, ${q(h, 0.75)}] | ` +
        `${med === null ? '–' : `${fmt(med)} [${sorted[0]}, ${sorted[sorted.length - 1]}]`} | ${diffs.filter((x) => x < 0).length} / ${diffs.filter((x) => x === 0).length} / ${diffs.filter((x) => x > 0).length} | ` +
        `${mean(r.runs.map((x) => x.campaign.seconds)).toFixed(1)} / ${mean(r.runs.map((x) => x.harness.seconds)).toFixed(1)} |`,
    );
  }
  lines.push('', 'Per seed (rig runs to Top% 0.8, campaign / harness):', '');
  for (const [name, r] of Object.entries(results)) lines.push(`- ${name}: ${r.runs.map((x) => `${x.seed}: ${fmt(x.campaign.cycles)}/${fmt(x.harness.cycles)}`).join(', ')}`);
  lines.push('', `Raw runs: \`${out}-raw.json\`. Run on ${new Date(meta.started).toISOString().slice(0, 10)} at commit ${meta.commit}, ${meta.seeds} seeds from ${meta.seedFrom}.`);
  writeFileSync(join(dir, `${out}.md`), lines.join('\n') + '\n');
}
