/**
 * `npm run bench -- durability --campaign [--seeds N] [--runs N] [--train N]` (issue #20): what
 * stopping durability tests early saves a campaign, and what its estimates cost in accuracy.
 *
 * Per seed s (default 20 seeds, 1 … 20): the same twin-less campaign (two recipe parameters in
 * [0, 1], reward `eol / 1000`, agent `random`, `runs` rig runs in batches of 4, pipeline
 * [durability], the simulated cycler of robots/sim/durability.ts over the embedded broker, a
 * SQLite ledger) run twice side by side in this process: with `durability.earlyStop: true` (every
 * test stops after the early-life model's window, 200 of 2000 cycles) and with `false` (tests
 * run to end of life or their planned 2000 cycles; a test cut there gets a `censored` estimate).
 * Same seed: the same recipes go to the same simulated cells in both.
 *
 * One early-life model for all seeds, trained first on `train` simulated cells of a seed no
 * campaign uses (robots/sim/durability.ts simulatedEolDataset: right-censored cells dropped, as
 * the model bench's default) — what a lab has from earlier full-length tests.
 *
 * Per seed: rig cycles of each campaign (the sum of `cycles` over its durability results — the
 * rig time, since a simulated test's duration is proportional to its cycles) and the saving
 * 1 − early/full; the early campaign's estimates against the hidden end of life of each tested
 * cell (robots/sim durabilityCell — what only a simulation knows): median absolute percentage
 * error (MdAPE) and the share within ±σ and ±2σ. For comparison, the full campaign's measured
 * EOLs against the same hidden EOLs (the measurement's own error: reports every 10 cycles).
 * Writes experiments/results/durability-campaign.md (+ .json).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { durabilityCell, simulatedEolDataset } from '../robots/sim/index.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import { Ledger } from '../src/ledger/ledger.js';
import { EolSurrogate } from '../src/surrogate/eol.js';
import { commitHash, machineLine } from './provenance.js';

const quantile = (v: readonly number[], q: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
};

interface CampaignOutcome {
  cycles: number;
  wallS: number;
  /** Attempts that ended without a result and were retried (e.g. a job that never reached the rig: timed out). */
  retried: number;
  /** Per tested cell: hidden EOL, what the campaign has for it (measured or estimated) and σ. */
  cells: Array<{ truth: number; value: number; std: number; estimated: boolean }>;
}

async function runOne(dir: string, seed: number, earlyStop: boolean, runs: number): Promise<CampaignOutcome> {
  const name = `dur-${earlyStop ? 'early' : 'full'}-${seed}`;
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    YAML.stringify({
      name,
      seed,
      space: { x0: { min: 0, max: 1 }, x1: { min: 0, max: 1 } },
      reward: 'eol / 1000',
      agent: { name: 'random', candidates: 4, batchSize: 4 },
      rigs: {
        pipeline: ['durability'],
        measure: ['eol'],
        timeout: '10s',
        simulate: { rigs: [{ id: 'cycler1', capabilities: ['durability'], latencyMs: 600, concurrency: 4 }], noise: 0, durability: {} },
      },
      budget: { rigRuns: runs },
      durability: { model: 'eol-model', earlyStop },
    }),
  );
  const db = join(dir, `${name}.db`);
  const t0 = Date.now();
  const summary = await runCampaign(loadCampaign(path), { db });
  const wallS = (Date.now() - t0) / 1000;
  if (summary.status !== 'completed') throw new Error(`${name}: campaign ${summary.status}`);
  const l = Ledger.open(db, { readonly: true });
  try {
    const id = summary.campaignId;
    const jobs = new Map(l.documents(id, 'JobDispatched').map((d) => [d.body.trialId, d.body]));
    const estimates = new Map(l.documents(id, 'EstimateRecorded').map((d) => [d.body.trialId, d.body.estimates.eol]));
    let cycles = 0;
    const cells: CampaignOutcome['cells'] = [];
    for (const m of l.measurements(id)) {
      cycles += m.measurements.cycles;
      const job = jobs.get(m.trialId)!;
      const truth = durabilityCell(seed, { jobId: job.jobId, campaignId: id, params: job.params }).eol;
      const est = estimates.get(m.trialId);
      if (est) cells.push({ truth, value: est.mean, std: est.std, estimated: true });
      else if (m.measurements.eolReached === 1) cells.push({ truth, value: m.measurements.eol, std: 0, estimated: false });
      else throw new Error(`${name}: trial ${m.trialId} has neither a measured EOL nor an estimate`);
    }
    const retried = l.documents(id, 'RigEventReceived').filter((d) => d.body.final === false).length;
    return { cycles, wallS, retried, cells };
  } finally {
    l.close();
  }
}

export async function runCampaigns(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const seeds = opt('seeds', 20);
  const runs = opt('runs', 8);
  const nTrain = opt('train', 800);
  if (!(seeds >= 1 && runs >= 1 && nTrain >= 50)) throw new Error('--seeds ≥ 1, --runs ≥ 1 and --train ≥ 50 expected');
  const started = Date.now();
  // The code this run loaded: HEAD when it starts (others may commit while it runs).
  const commit = commitHash();
  const dir = mkdtempSync(join(tmpdir(), 'poreloop-bench-durability-'));
  try {
    // Training cells from a seed no campaign uses (campaign seeds are 1 … seeds; the lab draws its cells from them).
    const TRAIN_SEED = 424242;
    const model = new EolSurrogate({ log: () => undefined });
    const t0 = Date.now();
    const fit = await model.fit(simulatedEolDataset(TRAIN_SEED, nTrain), { seed: TRAIN_SEED });
    await model.save(join(dir, 'eol-model'));
    const trainS = (Date.now() - t0) / 1000;
    const modelId = `${model.name}@${model.dataHash.slice(0, 12)}`;
    model.dispose();
    process.stderr.write(`model ${modelId}: ${fit.epochs} epochs, ${trainS.toFixed(0)} s\n`);

    const rows: Array<{ seed: number; early: number; full: number; saving: number; mdape: number; within1: number; within2: number; measuredMdape: number; censoredMdape: number | null; earlyWallS: number; fullWallS: number; retried: number; estimates: CampaignOutcome['cells'] }> = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const early = await runOne(dir, seed, true, runs);
      const full = await runOne(dir, seed, false, runs);
      const ape = (c: CampaignOutcome['cells'][number]) => Math.abs(c.value - c.truth) / c.truth;
      const est = early.cells.filter((c) => c.estimated);
      const measured = full.cells.filter((c) => !c.estimated);
      const censored = full.cells.filter((c) => c.estimated);
      const row = {
        seed,
        early: early.cycles,
        full: full.cycles,
        saving: 1 - early.cycles / full.cycles,
        mdape: est.length ? quantile(est.map(ape), 0.5) : Number.NaN,
        within1: est.filter((c) => Math.abs(c.value - c.truth) <= c.std).length / Math.max(1, est.length),
        within2: est.filter((c) => Math.abs(c.value - c.truth) <= 2 * c.std).length / Math.max(1, est.length),
        measuredMdape: measured.length ? quantile(measured.map(ape), 0.5) : Number.NaN,
        censoredMdape: censored.length ? quantile(censored.map(ape), 0.5) : null,
        earlyWallS: early.wallS,
        fullWallS: full.wallS,
        retried: early.retried + full.retried,
        estimates: est,
      };
      rows.push(row);
      process.stderr.write(`seed ${seed}: cycles ${row.early} vs ${row.full} (saving ${(100 * row.saving).toFixed(1)} %) · estimate MdAPE ${(100 * row.mdape).toFixed(1)} % · ±σ ${(100 * row.within1).toFixed(0)} % · ${row.earlyWallS.toFixed(1)} s / ${row.fullWallS.toFixed(1)} s\n`);
    }
    const total = (Date.now() - started) / 1000;
    const machine = `${machineLine()} · load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`;
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    const stat = (k: 'early' | 'full' | 'saving' | 'mdape' | 'within1' | 'within2' | 'measuredMdape' | 'earlyWallS' | 'fullWallS') => {
      const v = rows.map((r) => r[k]).filter((x) => Number.isFinite(x));
      return { median: quantile(v, 0.5), p25: quantile(v, 0.25), p75: quantile(v, 0.75) };
    };
    const line = (label: string, k: Parameters<typeof stat>[0], fmt: (x: number) => string) => {
      const s = stat(k);
      return `| ${label} | ${fmt(s.median)} | ${fmt(s.p25)} – ${fmt(s.p75)} |`;
    };
    const cyc = (x: number) => x.toFixed(0);
    const sec = (x: number) => `${x.toFixed(1)} s`;
    const censoredAll = rows.map((r) => r.censoredMdape).filter((x): x is number => x !== null);
    // Pooled over every early-stop estimate of every seed (a seed has only `runs` cells, so its own MdAPE is coarse).
    const pooled = rows.flatMap((r) => r.estimates);
    const pooledApe = pooled.map((c) => Math.abs(c.value - c.truth) / c.truth);
    const pooledWithin = (k: number) => pooled.filter((c) => Math.abs(c.value - c.truth) <= k * c.std).length / pooled.length;
    const outDir = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'durability-campaign.json'), JSON.stringify({ date: new Date().toISOString(), commit, machine, seeds, runs, nTrain, model: modelId, trainEpochs: fit.epochs, trainS, rows }, null, 2) + '\n');
    const md = [
      '# Durability: a campaign that stops its tests early (issue #20)',
      '',
      `${new Date().toISOString()} · commit ${commit} · ${machine} · \`npm run bench -- durability --campaign${args.length ? ' ' + args.join(' ') : ''}\` · ${total.toFixed(0)} s`,
      '',
      `${seeds} seeds (campaign seeds 1 … ${seeds}); per seed the same twin-less campaign twice, side by side in one process: ${runs} rig runs (agent \`random\`, batches of 4),`,
      'pipeline [durability] on the simulated cycler (robots/sim/durability.ts: 2000-cycle planned test, a report every 10 cycles) over the embedded broker, SQLite ledger;',
      '`durability.earlyStop: true` (every test stops at cycle 200, the early-life model\'s window; EOL estimated) against `false` (tests run to EOL or 2000 cycles;',
      `a test cut at 2000 gets a censored estimate). One early-life model for all seeds (${modelId}), trained on ${nTrain} simulated cells of seed 424242`,
      `(right-censored cells dropped; ${fit.epochs} epochs, ${trainS.toFixed(0)} s). Truth: each tested cell's hidden end of life (noise-free, robots/sim durabilityCell).`,
      '',
      '| per seed | median | quartiles over seeds |',
      '| --- | ---: | --- |',
      line('rig cycles, early stop', 'early', cyc),
      line('rig cycles, tests to the end', 'full', cyc),
      line('rig time saved (1 − early/full)', 'saving', pct),
      line('early-stop EOL estimate: MdAPE vs hidden EOL', 'mdape', pct),
      line('estimates within ±σ of hidden EOL', 'within1', pct),
      line('estimates within ±2σ of hidden EOL', 'within2', pct),
      line('measured EOL (full tests): MdAPE vs hidden EOL', 'measuredMdape', pct),
      line('campaign wall time, early stop', 'earlyWallS', sec),
      line('campaign wall time, tests to the end', 'fullWallS', sec),
      '',
      `Pooled over all ${pooled.length} early-stop estimates: MdAPE ${pct(quantile(pooledApe, 0.5))} (quartiles ${pct(quantile(pooledApe, 0.25))} – ${pct(quantile(pooledApe, 0.75))}, 90th percentile ${pct(quantile(pooledApe, 0.9))});`,
      `μ ± σ covers ${pct(pooledWithin(1))} of hidden EOLs (nominal 68 %), μ ± 2σ ${pct(pooledWithin(2))} (nominal 95 %).`,
      `Attempts retried (no result in time, then sent again; each costs \`rigs.timeout\` = 10 s of wall time, no rig cycles): ${rows.reduce((s, r) => s + r.retried, 0)} over ${2 * seeds} campaigns.`,
      `Censored estimates of the full campaigns (tests cut at 2000 cycles): ${censoredAll.length} seeds had any; median of their per-seed MdAPE ${censoredAll.length ? pct(quantile(censoredAll, 0.5)) : '—'}.`,
      'Wall time includes the embedded broker, the model load and the simulated lab time (600 ms per full planned test); it is not the point — rig cycles are.',
      '',
      '| seed | cycles early | cycles full | saved | MdAPE | ±σ | ±2σ | measured MdAPE (full) |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => `| ${r.seed} | ${r.early} | ${r.full} | ${pct(r.saving)} | ${pct(r.mdape)} | ${pct(r.within1)} | ${pct(r.within2)} | ${pct(r.measuredMdape)} |`),
      '',
    ];
    writeFileSync(join(outDir, 'durability-campaign.md'), md.join('\n'));
    process.stdout.write(md.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
