/**
 * `npm run bench -- front [--ledger file.db] [--sizes 2500,5000] [--runs 3]` (scale review, 2026-12-07):
 * the Pareto report of a two-objective campaign against its size — what `status`, the export,
 * the report and the dashboard compute (src/reward/front.ts `campaignFront`, its hypervolume
 * history by round) — and `exportCampaign` (its jobs per trial).
 *
 * With --ledger: every campaign of that ledger with two objectives or more (opened read-only).
 * Without: for each size a fresh ledger in the OS temp dir, written through Ledger.append as the
 * reviewer's generator did: rounds of 4, objectives a = 10x + u, b = 10(1 − x) + u' (a noisy
 * trade-off), one trial in 40 abandoned. Each timing is the median of --runs runs after a warm-up.
 * Prints the table and writes it to experiments/results/<--out, default front>.md, as every
 * suite does (experiments/bench.ts); docs/multiobjective.md quotes it.
 */
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { paretoOf, withParetoExport } from '../src/compose/pareto.js';
import { exportCampaign } from '../src/ledger/export.js';
import { Ledger } from '../src/ledger/ledger.js';
import { campaignFront, frontTrials, objectiveSetOf } from '../src/reward/front.js';

function write(path: string, n: number): void {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const l = Ledger.open(path, { now: () => new Date((t += 1000)) });
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const id = 'big-multi';
  const config = { objectives: [{ name: 'a', goal: 'max' }, { name: 'b', goal: 'max' }], budget: { rigRuns: n }, agent: { name: 'mobo' }, space: { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } } };
  l.transaction(() => {
    l.append(id, 'CampaignStarted', { name: id, config, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0.1.0' } }, 'start');
    for (let k = 0, r = 1; k < n; r++) {
      l.append(id, 'RoundStarted', { round: r }, `round:${r}`);
      for (let i = 0; i < 4 && k < n; i++, k++) {
        const trialId = `${id}-r${r}-${i}`;
        const jobId = `${trialId}-s0`;
        const x = rnd();
        const y = rnd();
        const a = x * 10 + rnd();
        const b = (1 - x) * 10 + rnd();
        l.append(id, 'TrialProposed', { trialId, round: r, index: i, params: { x, y }, agent: 'mobo' }, trialId);
        l.append(id, 'TrialScored', { trialId, properties: { a: { mean: a, std: 0.1 }, b: { mean: b, std: 0.1 } }, fidelity: 'simulation', reward: a, rewardStd: 0.1 }, trialId);
        l.append(id, 'TrialSelected', { trialId, round: r, rank: i, predictedReward: a }, trialId);
        l.append(id, 'JobDispatched', { jobId, trialId, stage: 0, capability: 'make', attempt: 1, params: { x, y }, deadline: '2030-01-01T00:00:00Z' }, jobId);
        if (k % 40 === 39) {
          l.append(id, 'TrialAbandoned', { trialId, reason: 'rig timeout' }, trialId);
          continue;
        }
        l.append(id, 'MeasurementRecorded', { jobId, trialId, stage: 0, capability: 'make', rigId: `rig-${k % 5}`, measurements: { a, b }, feasible: true }, jobId);
        l.append(id, 'TrialCompleted', { trialId, measured: { a, b }, reward: a, feasible: true }, trialId);
      }
    }
    l.append(id, 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
  });
  l.close();
}

let runs = 3;
let table = '';
const emit = (line: string) => {
  table += line;
  process.stdout.write(line);
};

/** Median of `runs` timings after a warm-up (one timing, no warm-up, with --runs 1: the code before the fix took minutes). */
function median(f: () => unknown): number {
  if (runs > 1) f();
  const ms = Array.from({ length: runs }, () => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  });
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function bench(path: string): void {
  const l = Ledger.open(path, { readonly: true });
  for (const c of l.campaigns()) {
    const set = objectiveSetOf(c.config);
    if (!set) continue;
    const rows = l.trials(c.id);
    const front = campaignFront(frontTrials(rows), set);
    const cf = median(() => campaignFront(frontTrials(rows), set));
    const ex = median(() => exportCampaign(l, c.id));
    const full = median(() => withParetoExport(exportCampaign(l, c.id), paretoOf(l, c.id)));
    emit(
      `| ${path.split('/').pop()} ${c.id} | ${rows.length} | ${front.hypervolume.length} | ${front.measured.length} | ${cf.toFixed(1)} | ${ex.toFixed(1)} | ${full.toFixed(1)} |\n`,
    );
  }
  l.close();
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  runs = Number(opt('--runs') ?? 3);
  const out = new URL(`results/${opt('--out') ?? 'front'}.md`, import.meta.url);
  const started = new Date();
  const finish = () => {
    let commit = 'unknown';
    try {
      commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      // not a git checkout: say so rather than fail the bench
    }
    const head = `# Pareto report and export against campaign size (scale review 2026-12-07)\n\n\`npm run bench -- front ${args.join(' ')}\` · commit ${commit} · ${os.cpus()[0]?.model ?? 'cpu'} · ${os.cpus().length} cores · node ${process.version} · ${started.toISOString()} · median of ${runs} runs after a warm-up; milliseconds on a shared machine, compare within a run\n\n`;
    writeFileSync(out, head + table);
  };
  emit('| ledger, campaign | trials | rounds | measured front | campaignFront ms | exportCampaign ms | export + Pareto report ms |\n|---|---|---|---|---|---|---|\n');
  const ledger = opt('--ledger');
  if (ledger) {
    bench(ledger);
    return finish();
  }
  const dir = mkdtempSync(join(os.tmpdir(), 'poreloop-bench-front-'));
  try {
    for (const n of (opt('--sizes') ?? '2500').split(',').map(Number)) {
      const path = join(dir, `l${n}.db`);
      write(path, n);
      bench(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  finish();
}
