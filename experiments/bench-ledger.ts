/**
 * `npm run bench -- ledger [--sizes 100,1000,10000] [--rounds 8]` (issue #15): the
 * per-round orchestration overhead of the campaign runtime — its ledger reads and writes for
 * one round (propose, score, select, dispatch, rig events, assimilate) — against the number of
 * trials already in the ledger. The physics is not measured: the agent, predictor and rig are
 * the in-process fakes of tests/fakes (the fake rig answers after a 1 ms timer).
 *
 * For each size N a fresh ledger (in the OS temp dir, WAL, synchronous=FULL as in production)
 * is prefilled with N trials written through the ledger's own append (so every projection and
 * index is as a campaign leaves it): rounds of 20 candidates, and 40 trials selected, dispatched,
 * measured and completed over the first rounds — the same rig budget at every size, since the
 * number of rig runs is bounded by the budget while candidates are cheap. Then `--rounds` more rounds of 20 candidates run through the real
 * CampaignRuntime actors, each timed (wall and process CPU). Reported: the median per round,
 * and its ratio to the 100-trial case of the same run. One warm-up campaign runs first so that
 * JIT compilation does not land on the smallest size.
 *
 * Writes experiments/results/ledger.md and ledger.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { Ledger } from '../src/ledger/ledger.js';
import { CampaignRuntime } from '../src/orchestrator/runtime.js';
import { fakeAgent, fakePredictor, fakeRig } from '../tests/fakes/index.js';

const CANDIDATES = 20;
const BATCH = 4;
/** Rig runs already spent in the prefilled rounds: the same at every size (a campaign's rig budget does not grow with its candidates). */
const RIG_RUNS = 40;
const C = 'bench';

function prefill(ledger: Ledger, trials: number): number {
  ledger.append(C, 'CampaignStarted', { name: C, config: {}, configHash: 'h', seed: 1, source: 'bench', versions: {} }, 'start');
  const rounds = Math.ceil(trials / CANDIDATES);
  const perRound = Math.min(CANDIDATES, Math.ceil(RIG_RUNS / rounds));
  let spent = 0;
  for (let r = 1; r <= rounds; r++) {
    ledger.transaction(() => {
      ledger.append(C, 'RoundStarted', { round: r }, `round:${r}`);
      for (let i = 0; i < CANDIDATES && (r - 1) * CANDIDATES + i < trials; i++) {
        const trialId = `${C}-r${r}-${i}`;
        const x = ((r * 7919 + i * 104729) % 1000) / 1000;
        const y = 1 - (x - 0.7) ** 2;
        ledger.append(C, 'TrialProposed', { trialId, round: r, index: i, params: { x }, agent: 'fake' }, trialId);
        ledger.append(C, 'TrialScored', { trialId, properties: { y: { mean: y, std: 0.01 } }, fidelity: 'simulation', reward: y }, trialId);
        if (i < perRound && spent < RIG_RUNS) {
          spent++;
          const jobId = `${trialId}-s0`;
          ledger.append(C, 'TrialSelected', { trialId, round: r, rank: i, predictedReward: y }, trialId);
          ledger.append(C, 'JobDispatched', { jobId, trialId, stage: 0, capability: 'measure', attempt: 1, params: { x }, deadline: new Date(0).toISOString() }, jobId);
          ledger.append(C, 'MeasurementRecorded', { jobId, trialId, stage: 0, capability: 'measure', rigId: 'rig-1', measurements: { y: 0.9 * y }, feasible: true }, `${trialId}:0`);
          ledger.append(C, 'TrialCompleted', { trialId, measured: { y: 0.9 * y }, reward: 0.9 * y, feasible: true }, trialId);
        }
      }
      ledger.append(C, 'AgentLearned', { round: r, observations: CANDIDATES, fidelity: 'simulation' }, `digital:${r}`);
      ledger.append(C, 'AgentLearned', { round: r, observations: Math.min(perRound, CANDIDATES), fidelity: 'rig' }, `rig:${r}`);
    });
  }
  return rounds;
}

interface SizeResult {
  trials: number;
  rounds: number;
  wallMs: number[];
  cpuMs: number[];
  medianWallMs: number;
  medianCpuMs: number;
  documents: number;
  fileMB: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(trials: number, rounds: number): Promise<SizeResult> {
  const dir = mkdtempSync(join(os.tmpdir(), 'poreloop-bench-ledger-'));
  const ledger = Ledger.open(join(dir, 'l.db'));
  try {
    const first = prefill(ledger, trials) + 1;
    const runtime = new CampaignRuntime({
      ledger, campaignId: C, agent: fakeAgent(), space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
      predictor: fakePredictor(), rewardOf: (p) => p.y, rig: fakeRig(), pipeline: ['measure'], candidatesPerRound: CANDIDATES, batchSize: BATCH,
      timeoutMs: 60_000, maxAttempts: 1, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0',
    });
    runtime.start();
    const a = runtime.actors();
    const wallMs: number[] = [];
    const cpuMs: number[] = [];
    for (let round = first; round < first + rounds; round++) {
      const input = { campaignId: C, round };
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await a.propose(input);
      await a.score(input);
      await a.select({ ...input, remaining: 1e9 });
      await a.dispatch(input);
      await a.awaitRigs(input);
      await a.assimilate(input);
      wallMs.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      cpuMs.push((cpu.user + cpu.system) / 1000);
    }
    await runtime.close();
    const documents = ledger.documents(C).length;
    ledger.db.pragma('wal_checkpoint(TRUNCATE)');
    const fileMB = (ledger.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count * (ledger.db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size / 2 ** 20;
    return { trials, rounds, wallMs, cpuMs, medianWallMs: median(wallMs), medianCpuMs: median(cpuMs), documents, fileMB };
  } finally {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (opt('sizes') ?? '100,1000,10000').split(',').map(Number);
  const rounds = Number(opt('rounds') ?? 8);
  await measure(100, 3); // warm-up, not reported
  const results: SizeResult[] = [];
  for (const n of sizes) {
    const r = await measure(n, rounds);
    results.push(r);
    process.stderr.write(`${n} trials: median ${r.medianWallMs.toFixed(2)} ms wall, ${r.medianCpuMs.toFixed(2)} ms CPU per round\n`);
  }
  const base = results[0];
  const out = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  const meta = { date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg(), candidatesPerRound: CANDIDATES, batchSize: BATCH, roundsMeasured: rounds };
  writeFileSync(join(out, 'ledger.json'), JSON.stringify({ meta, results }, null, 2) + '\n');
  const rows = results.map((r) => `| ${r.trials} | ${r.medianWallMs.toFixed(2)} | ${(r.medianWallMs / base.medianWallMs).toFixed(2)} | ${r.medianCpuMs.toFixed(2)} | ${(r.medianCpuMs / base.medianCpuMs).toFixed(2)} | ${r.documents} | ${r.fileMB.toFixed(1)} |`);
  writeFileSync(
    join(out, 'ledger.md'),
    [
      '# Ledger: per-round orchestration overhead (issue #15)',
      '',
      `\`npm run bench -- ledger\` on ${meta.date.slice(0, 10)}, ${meta.cpus} × ${meta.cpu}, Node ${meta.node}, load average ${meta.loadavg.map((x) => x.toFixed(1)).join(' / ')} at the end.`,
      `One round = propose ${CANDIDATES} candidates, score, select ${BATCH}, dispatch, rig events, assimilate, through the real CampaignRuntime and ledger`,
      `(fake agent, predictor and rig: no physics). Median of ${rounds} rounds run on top of a ledger already holding N trials; ratios against the first size of the same run.`,
      '',
      '| trials in ledger | wall ms / round | × first | CPU ms / round | × first | documents after | file MiB |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'),
  );
}
