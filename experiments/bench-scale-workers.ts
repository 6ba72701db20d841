/**
 * `npm run bench -- scale-workers` (issue #21): compute workers over MQTT 5 on a Mosquitto
 * started for the run.
 *
 * 1. Throughput of physics tasks (the demo campaign's properties on fibre-GDL volumes) with 1,
 *    2 and 4 `poreloop worker` processes (one task at a time each), against the local
 *    worker_threads pool with 1 and 2 threads on the same tasks in the same run.
 * 2. Message sizes: volume, gzip'd blob, task and result messages.
 * 3. Protocol ceiling: no-op tasks through the broker (in-process workers), tasks/s and the
 *    round trip of one task.
 * 4. A worker process killed (SIGKILL) mid-task: every task finishes once, elsewhere.
 * 5. A campaign with `exec: mqtt` whose worker is killed mid-task: the ledger has one
 *    TrialScored per proposed trial, and the campaign completes.
 * 6. Surrogate fits: one small deep ensemble fitted here (as `exec: local` does) and on a
 *    `poreloop worker --kinds surrogate` process (sent, fitted, loaded here), side by side.
 *    `--surrogate-only` runs just this part and writes scale-workers-surrogate.md (+ .json).
 *
 * Writes experiments/results/scale-workers.md (+ .json). `runWorkerBench(opts)` returns the
 * markdown section (the `scale` suite includes it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { startMosquitto, uniq, type MosquittoProcess } from '../robots/testing/brokers.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import type { Voxels } from '../src/core/protocols.js';
import type { TaskExecutor } from '../src/exec/executor.js';
import { MqttExecutor, type ExecutorStats } from '../src/exec/mqtt-executor.js';
import { computeTopics, encodeValue } from '../src/exec/mqtt-wire.js';
import { startMqttWorker } from '../src/exec/mqtt-worker.js';
import { createPhysicsPool, simulateInPool } from '../src/physics/pool.js';
import type { SimulateRequest } from '../src/physics/index.js';
import { twinRegistry } from '../twins/index.js';
import { WorkerTrainedSurrogate } from '../src/compose/compute-worker.js';
import type { Dataset } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { DeepEnsemble, type EnsembleOptions } from '../src/surrogate/ensemble.js';
import { Ledger } from '../src/ledger/ledger.js';
import { commitHash } from './provenance.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(root, 'experiments', 'results');

export interface WorkerBenchOptions {
  /** Physics tasks per repetition (default 12). */
  tasks?: number;
  /** Repetitions per configuration (default 5). */
  reps?: number;
  /** Worker process counts (default 1, 2, 4). */
  workers?: number[];
  /** No-op tasks for the protocol ceiling (default 2000). */
  noopTasks?: number;
  /** Skip the campaign part (5). */
  skipCampaign?: boolean;
  /** Run only the surrogate-fit part (6), written to scale-workers-surrogate.md/.json. */
  surrogateOnly?: boolean;
  /** Write experiments/results/scale-workers.md/.json (default true). */
  write?: boolean;
  log?: (line: string) => void;
}

const request: SimulateRequest = { properties: ['porosity', 'tau_z', 'limitingCurrent', 'sigma_eff_z'], context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 } };

function quantiles(xs: number[]): { p25: number; median: number; p75: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => {
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    return s[lo] + (s[Math.min(s.length - 1, lo + 1)] - s[lo]) * (i - lo);
  };
  return { p25: q(0.25), median: q(0.5), p75: q(0.75) };
}
const r2 = (x: number) => Math.round(x * 100) / 100;
const fmtQ = (q: { p25: number; median: number; p75: number }) => `${r2(q.median)} (${r2(q.p25)}–${r2(q.p75)})`;

const props = (r: unknown) => (r && typeof r === 'object' && 'properties' in r ? (r as { properties: unknown }).properties : r);

/** 48×48×32 voxels (96 × 96 × 64 µm): the campaign part's size; about a second of physics per task on one idle core. */
const SIZE: [number, number, number] = [48, 48, 32];

/** Generation time per volume (ms), measured while making them: what the producer spends per task when it generates locally. */
const generationMs: number[] = [];

function volumes(n: number): Voxels[] {
  const twin = twinRegistry['fibre-gdl']();
  return Array.from({ length: n }, (_, i) => {
    const t0 = performance.now();
    const v = twin.generate({ porosity: 0.6 + (0.3 * i) / Math.max(1, n - 1), binderFraction: 0.2, ptfeLoading: 10, compression: 0.1, fibreDiameter: 7, fibreDiameterCv: 0.1 }, { seed: 1000 + i, size: SIZE, voxelSize: 2 }).voxels;
    generationMs.push(performance.now() - t0);
    return v;
  });
}

/**
 * The ledger's single writer: documents appended one transaction each, as a campaign does
 * (TrialProposed + TrialScored per candidate, on a file ledger in WAL mode).
 */
function ledgerWriter(n: number): { docsPerS: number; candidatesPerS: number } {
  const dir = mkdtempSync(join(tmpdir(), 'poreloop-ledger-w-'));
  try {
    const l = Ledger.open(join(dir, 'l.db'));
    l.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    const props = { porosity: { mean: 0.7, std: 0.01 }, tau_z: { mean: 1.6, std: 0.05 }, limitingCurrent: { mean: 2.1e4, std: 500 }, sigma_eff_z: { mean: 300, std: 10 } };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const trialId = `c-r1-${i}`;
      l.append('c', 'TrialProposed', { trialId, round: 1, index: i, params: { porosity: 0.7, binderFraction: 0.2 }, agent: 'bench' }, trialId);
      l.append('c', 'TrialScored', { trialId, properties: props, fidelity: 'simulation', reward: 1 }, trialId);
    }
    const s = (performance.now() - t0) / 1000;
    l.close();
    return { docsPerS: (2 * n) / s, candidatesPerS: n / s };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds (user + system, all threads) of a process so far, from /proc (Linux). */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Children to kill should the bench itself die (no orphaned worker processes). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

interface WorkerProc {
  id: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

function startWorkerProcess(url: string, lab: string, id: string, kinds = 'physics'): WorkerProc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'experiments', 'scale-worker-process.ts'), 'worker', '--broker', url, '--lab', lab, '--kinds', kinds, '--concurrency', '1', '--id', id], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
  return {
    id,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; s: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, s: (performance.now() - t0) / 1000 };
}

/** Watches the replies of a lab; resolves with the first worker id (of `among`) that accepts a task. */
async function firstAcceptance(url: string, lab: string, among: string[]): Promise<{ workerId: Promise<string>; close(): Promise<void> }> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: uniq('watch') });
  let found!: (id: string) => void;
  const workerId = new Promise<string>((r) => (found = r));
  c.on('message', (_t, payload) => {
    try {
      const m = JSON.parse(payload.toString()) as { type: string; workerId: string };
      if (m.type === 'accepted' && among.includes(m.workerId)) found(m.workerId);
    } catch {
      /* not ours */
    }
  });
  await c.subscribeAsync(`${computeTopics(lab).root}/replies/+`, { qos: 1 });
  return { workerId, close: () => c.endAsync() };
}

/** A campaign-sized training set: `n` rows of 6 encoded parameters in [0, 1], 3 smooth properties, seeded. */
function fitData(n: number, seed: number): Dataset {
  const rng = createRng(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng.next()));
  const y = x.map((r) => [Math.sin(3 * r[0]) + r[1] * r[2], Math.exp(r[3] - r[4]), 1 + r[5] ** 2 + 0.5 * r[0]]);
  return { inputs: ['a', 'b', 'c', 'd', 'e', 'f'], outputs: ['p', 'q', 'r'], x, y };
}

/** The fit of part 6: the default MLP (64-64, head 16), 3 members, a fixed 100 epochs (patience = epochs), so each fit does the same work. */
const FIT_OPTIONS: EnsembleOptions = { members: 3, epochs: 100, patience: 100, log: () => {} };
const FIT_ROWS = 64;

/** Part 6: seconds per fit here vs on a surrogate worker process, alternating, one seed per repetition. */
async function surrogateFits(m: MosquittoProcess, reps: number, log: (l: string) => void): Promise<{ lines: string[]; json: unknown }> {
  const lab = uniq('fit');
  const proc = startWorkerProcess(m.url, lab, 's-0', 'surrogate');
  const ex = await MqttExecutor.connect({ url: m.url, lab, log });
  try {
    await ex.waitForCapacity('surrogate', 1, 120_000);
    const probe = fitData(16, 999).x;
    // Warm-up on both sides: the backend (wasm) and the worker's fit thread start once.
    await new DeepEnsemble(FIT_OPTIONS).fit(fitData(FIT_ROWS, 0), { seed: 0 });
    await new WorkerTrainedSurrogate(ex, FIT_OPTIONS, log).fit(fitData(FIT_ROWS, 0), { seed: 0 });
    const here: number[] = [];
    const worker: number[] = [];
    const perFitBytes: number[] = [];
    const loadBefore = loadavg();
    let identical = true;
    let onWorker = 0;
    for (let r = 1; r <= reps; r++) {
      const data = fitData(FIT_ROWS, r);
      const local = new DeepEnsemble(FIT_OPTIONS);
      const remote = new WorkerTrainedSurrogate(ex, FIT_OPTIONS, log);
      const bytes0 = ex.stats.bytesOut + ex.stats.bytesIn;
      // Alternate which goes first: the machine is shared and its load drifts.
      const runs = [async () => here.push((await timed(() => local.fit(data, { seed: r }))).s), async () => worker.push((await timed(() => remote.fit(data, { seed: r }))).s)];
      for (const f of r % 2 ? runs : runs.reverse()) await f();
      perFitBytes.push(ex.stats.bytesOut + ex.stats.bytesIn - bytes0);
      if (remote.provenance?.on === 'worker') onWorker++;
      identical &&= JSON.stringify(await remote.predict(probe)) === JSON.stringify(await local.predict(probe)) && remote.provenance?.probeMaxDiff === 0;
      log(`surrogate fit ${r}/${reps}: here ${r2(here.at(-1)!)} s, worker ${r2(worker.at(-1)!)} s (${remote.provenance?.on} ${remote.provenance?.workerId ?? ''} ${remote.provenance?.backend})`);
    }
    const lines = [
      '### Surrogate fits on a worker (`--kinds surrogate`)',
      '',
      `Deep ensemble of the default MLP (64-64, head 16), ${FIT_OPTIONS.members} members, ${FIT_OPTIONS.epochs} epochs (no early stop), ${FIT_ROWS} rows × 6 features → 3 properties; ${reps} repetitions, seeds 1–${reps} (a warm-up fit first on each side), here and on one \`poreloop worker --kinds surrogate\` process in turn (alternating which goes first). "Here" is what \`exec: local\` does (the campaign's own thread); "worker" is the whole round trip: dataset out, fit on the worker's thread, weights back, loaded here. Seconds per fit, median (quartiles).`,
      '',
      '| where | s per fit | fits done on the worker | predictions identical to the fit here (16 rows) | bytes on the wire per fit |',
      '| --- | --- | --- | --- | --- |',
      `| here (main thread) | ${fmtQ(quantiles(here))} | – | – | 0 |`,
      `| worker process, loaded here | ${fmtQ(quantiles(worker))} | ${onWorker}/${reps} | ${identical ? 'yes' : '**no**'} | ${Math.round(quantiles(perFitBytes).median)} |`,
      '',
      `Load average ${loadBefore.map(r2).join(' / ')} before the fits, ${loadavg().map(r2).join(' / ')} after, on ${availableParallelism()} cores shared with other jobs: the worker process and this one compete for the same cores, so this shows the round trip's overhead, not a speed-up from a second machine.`,
      '',
    ];
    return { lines, json: { loadavgBefore: loadBefore, loadavgAfter: loadavg(), options: FIT_OPTIONS, rows: FIT_ROWS, reps, hereSeconds: here, workerSeconds: worker, onWorker, identical, bytesPerFit: perFitBytes } };
  } finally {
    await ex.close();
    await proc.stop();
  }
}

function runHeader(command: string, started: number, commit: string): string[] {
  return [
    `Command: \`${command}\` · commit ${commit} · ${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB · Mosquitto started for the run (\`mosquitto -c <generated>\`, loopback) · ${r2((Date.now() - started) / 1000)} s.`,
    '',
  ];
}

/** Part 6 alone (`--surrogate-only`), written to scale-workers-surrogate.md/.json. */
async function runSurrogateOnly(reps: number, log: (l: string) => void): Promise<string> {
  const started = Date.now();
  // The code this run loaded: the commit checked out at its start, not at the end.
  const commit = commitHash();
  const m = await startMosquitto({ extra: ['set_tcp_nodelay true'] });
  let part: Awaited<ReturnType<typeof surrogateFits>>;
  try {
    part = await surrogateFits(m, reps, log);
  } finally {
    await m.close();
  }
  const header = runHeader('npm run bench -- scale-workers --surrogate-only', started, commit);
  const md = ['## Surrogate fits on compute workers (issue #21)', '', ...header, ...part.lines].join('\n');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'scale-workers-surrogate.md'), md + '\n');
  writeFileSync(join(resultsDir, 'scale-workers-surrogate.json'), JSON.stringify({ commit, node: process.version, cores: availableParallelism(), ...(part.json as object) }, null, 2) + '\n');
  return md;
}

export async function runWorkerBench(opts: WorkerBenchOptions = {}): Promise<string> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const nTasks = opts.tasks ?? 12;
  const reps = opts.reps ?? 5;
  if (opts.surrogateOnly) return runSurrogateOnly(reps, log);
  const counts = opts.workers ?? [1, 2, 4];
  const started = Date.now();
  // The code this run loaded: the commit checked out at its start, not at the end.
  const commit = commitHash();
  // TCP_NODELAY on the broker's sockets: without it each small message waits on Nagle + delayed ACK (~40 ms).
  const m: MosquittoProcess = await startMosquitto({ extra: ['set_tcp_nodelay true'] });
  const json: Record<string, unknown> = {};
  const lines: string[] = [];
  try {
    log(`mosquitto at ${m.url}; generating ${nTasks} volumes`);
    const vols = volumes(nTasks);
    // Properties only: the diagnostics carry wall times.
    const sameResults = (a: unknown[], b: unknown[]) => JSON.stringify(a.map(props)) === JSON.stringify(b.map(props));

    // ── 1. throughput ────────────────────────────────────────────────────────────────────
    // Every configuration is up at once (idle workers cost nothing) and each repetition runs
    // them in turn, rotating the order: the machine is shared, and a load that drifts during
    // the run then weighs on every configuration alike.
    const reference: unknown[] = [];
    const loadavgBefore = loadavg();
    const configs: Array<{ label: string; threads?: number; workers?: number; exec: TaskExecutor; procs: WorkerProc[]; s: number[]; cpu: number[]; identical: boolean; stats?: ExecutorStats }> = [];
    try {
      for (const threads of [1, 2]) configs.push({ label: `local pool, ${threads} thread(s)`, threads, exec: createPhysicsPool({ size: threads }), procs: [], s: [], cpu: [], identical: true });
      for (const n of counts) {
        const lab = uniq(`thr${n}`);
        const procs = Array.from({ length: n }, (_, i) => startWorkerProcess(m.url, lab, `w${n}-${i}`));
        configs.push({ label: `MQTT, ${n} worker process(es)`, workers: n, exec: await MqttExecutor.connect({ url: m.url, lab }), procs, s: [], cpu: [], identical: true });
      }
      for (const c of configs) if (c.exec instanceof MqttExecutor) await c.exec.waitForCapacity('physics', c.workers!, 120_000);
      const first = await Promise.all(vols.map((v) => simulateInPool(configs[0].exec, v, request)));
      reference.push(...first.map((x) => (x.ok ? x.value : x.error.message)));
      // Warm-up: every worker compiles its kernels once.
      for (const c of configs) await Promise.all(Array.from({ length: c.workers ?? c.threads! }, () => simulateInPool(c.exec, vols[0], request)));
      for (const c of configs) if (c.exec instanceof MqttExecutor) c.stats = { ...c.exec.stats };
      for (let r = 0; r < reps; r++) {
        for (let k = 0; k < configs.length; k++) {
          const c = configs[(k + r) % configs.length];
          // CPU of every process involved: this one (producer or local pool), the broker, the workers.
          const cpu0 = selfCpu() + cpuOf(m.pid) + c.procs.reduce((n, p) => n + cpuOf(p.child.pid), 0);
          const t = await timed(() => Promise.all(vols.map((v) => simulateInPool(c.exec, v, request))));
          c.cpu.push(selfCpu() + cpuOf(m.pid) + c.procs.reduce((n, p) => n + cpuOf(p.child.pid), 0) - cpu0);
          c.s.push(t.s);
          c.identical &&= sameResults(t.value.map((x) => (x.ok ? x.value : x.error.message)), reference);
        }
        log(`repetition ${r + 1}/${reps}: ${configs.map((c) => `${c.label} ${r2(c.s.at(-1)!)} s`).join('; ')}`);
      }
    } finally {
      for (const c of configs) {
        if (c.exec instanceof MqttExecutor && c.stats) {
          const st = c.exec.stats;
          c.stats = { ...st, sent: st.sent - c.stats.sent, bounced: st.bounced - c.stats.bounced, redelivered: st.redelivered - c.stats.redelivered, bytesOut: st.bytesOut - c.stats.bytesOut, bytesIn: st.bytesIn - c.stats.bytesIn } as ExecutorStats;
        }
        await c.exec.close();
        await Promise.all(c.procs.map((p) => p.stop()));
      }
    }
    const local = configs.filter((c) => c.threads !== undefined);
    const remote = configs.filter((c) => c.workers !== undefined);
    const raw = vols[0].data.length;
    const enc0 = encodeValue({ voxels: vols[0], request });
    const sizes = { volumeBytes: raw, blobGzipBytes: [...enc0.blobs.values()][0].length, taskJsonBytes: enc0.json.length + 200, resultJsonBytes: encodeValue(reference[0]).json.length + 120 };
    const base1 = quantiles(remote[0].s).median;
    lines.push(
      `### Throughput of physics tasks`,
      '',
      `${nTasks} distinct tasks per repetition (fibre-GDL volumes ${SIZE.join('×')}, properties ${request.properties.join(', ')} — the demo campaign's), ${reps} repetitions, all configurations up at once and run in turn (rotating order) so that the shared machine's drifting load weighs on each alike; seconds per ${nTasks} tasks, median (quartiles). "Identical": the property values equal those of the local pool, bit for bit. Each \`poreloop worker\` process runs one task at a time; the local pool is the default \`exec: local\`.`,
      '',
      '| executor | s per batch | tasks/s | speed-up vs 1 worker process | CPU s per task (all processes) | results identical to local | busy bounces | redeliveries | bytes on the wire per task |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...local.map((l) => `| ${l.label} | ${fmtQ(quantiles(l.s))} | ${r2(nTasks / quantiles(l.s).median)} | ${r2(base1 / quantiles(l.s).median)}× | ${r2(quantiles(l.cpu).median / nTasks)} | ${l.identical ? 'yes' : '**no**'} | – | – | 0 |`),
      ...remote.map((x) => `| ${x.label} | ${fmtQ(quantiles(x.s))} | ${r2(nTasks / quantiles(x.s).median)} | ${r2(base1 / quantiles(x.s).median)}× | ${r2(quantiles(x.cpu).median / nTasks)} | ${x.identical ? 'yes' : '**no**'} | ${x.stats!.bounced} | ${x.stats!.redelivered} | ${Math.round((x.stats!.bytesOut + x.stats!.bytesIn) / (reps * nTasks))} |`),
      '',
      `This machine has ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), shared with the broker, the producer — and other engineers' jobs: load average ${loadavgBefore.map(r2).join(' / ')} before the throughput runs, ${loadavg().map(r2).join(' / ')} after. Beyond 2 processes there is nothing to gain on 2 cores; under a load far above 2 a configuration with more processes also gets a larger share of the CPU from the scheduler, so the speed-ups here are not scale-out figures. The CPU seconds per task (producer + broker + workers) do not depend on that share: they are the cost of the MQTT path against the local pool.`,
      '',
    );
    json.throughput = { tasks: nTasks, reps, loadavgBefore, loadavgAfter: loadavg(), configs: configs.map((c) => ({ label: c.label, seconds: c.s, cpuSeconds: c.cpu, identical: c.identical, stats: c.stats })) };

    // ── 2. message sizes ─────────────────────────────────────────────────────────────────
    lines.push(
      '### Message sizes',
      '',
      '| what | bytes |',
      '| --- | --- |',
      `| one ${SIZE.join('×')} volume (uint8 labels) | ${sizes.volumeBytes} |`,
      `| the same as a gzip'd blob (level 1), retained chunks of 256 KiB | ${sizes.blobGzipBytes} (${r2(sizes.volumeBytes / sizes.blobGzipBytes)}× smaller) |`,
      `| task message (JSON, blob by reference; ~200 B of MQTT 5 properties) | ≈ ${sizes.taskJsonBytes} |`,
      `| result message (4 properties with σ) | ≈ ${sizes.resultJsonBytes} |`,
      '',
      `Generating one such volume (fibre-GDL twin, in the producer's process): ${fmtQ(quantiles(generationMs))} ms, median (quartiles) over ${generationMs.length}.`,
      '',
      'Typed arrays up to 64 KiB travel inline (base64), at most 192 KiB inline per message (256 KiB of base64); larger ones, and those past that, as blobs in chunks of 256 KiB. Plain JSON in a message is not capped (under 1 KB in these tasks).',
      '',
    );
    json.sizes = { ...sizes, generationMs };

    // ── ledger: the single writer ─────────────────────────────────────────────────────────
    const lw = ledgerWriter(2000);
    lines.push('### The ledger\'s single writer', '', `2000 candidates, TrialProposed + TrialScored each (one transaction per document, file ledger, WAL): ${Math.round(lw.docsPerS)} documents/s = ${Math.round(lw.candidatesPerS)} scored candidates/s from one process.`, '');
    json.ledger = lw;

    // ── 3. protocol ceiling ──────────────────────────────────────────────────────────────
    {
      const lab = uniq('noop');
      const kinds = { noop: 'physics' as const };
      const workers = await Promise.all(Array.from({ length: 4 }, (_, i) => startMqttWorker({ url: m.url, lab, workerId: `noop-${i}`, kinds: ['physics'], concurrency: 16, handlers: { noop: (p: number) => p }, taskKinds: kinds })));
      const n = opts.noopTasks ?? 2000;
      const ex = await MqttExecutor.connect({ url: m.url, lab, kinds, maxQueue: n });
      await ex.waitForCapacity('physics', 64);
      const seq: number[] = [];
      for (let i = 0; i < 200; i++) seq.push((await timed(() => ex.run('noop', i))).s * 1000);
      const burst = await timed(() => Promise.all(Array.from({ length: n }, (_, i) => ex.run('noop', i))));
      const stats = { ...ex.stats };
      await ex.close();
      for (const w of workers) await w.stop();
      const q = quantiles(seq);
      // Each task is 4 messages through the broker (task, accepted, result; + PUBACKs), more when bounced.
      const msgs = stats.sent + 2 * stats.completed + stats.bounced;
      lines.push(
        '### Protocol ceiling (no-op tasks, in-process workers)',
        '',
        `| measure | value |`,
        '| --- | --- |',
        `| round trip of one task, ms, median (quartiles) over 200 | ${fmtQ(q)} |`,
        `| ${n} tasks at once, 4 workers × 16 slots: tasks/s | ${Math.round(n / burst.s)} |`,
        `| broker messages per second in that burst (task + accepted + result + bounces) | ${Math.round(msgs / burst.s)} |`,
        `| busy bounces in the burst | ${stats.bounced} (${r2(stats.bounced / n)} per task) |`,
        '',
      );
      json.ceiling = { roundTripMs: q, tasks: n, tasksPerS: n / burst.s, messagesPerS: msgs / burst.s, bounced: stats.bounced };
      log(`protocol ceiling: ${Math.round(n / burst.s)} tasks/s, round trip ${r2(q.median)} ms`);
    }

    // ── 4. a worker process killed mid-task ──────────────────────────────────────────────
    {
      const lab = uniq('kill');
      const procs = [startWorkerProcess(m.url, lab, 'k-0'), startWorkerProcess(m.url, lab, 'k-1')];
      const ex = await MqttExecutor.connect({ url: m.url, lab, leaseMs: 10_000 });
      await ex.waitForCapacity('physics', 2, 120_000);
      const watch = await firstAcceptance(m.url, lab, procs.map((p) => p.id));
      const tasks = vols.slice(0, 8);
      const settled = new Map<number, number>();
      const all = Promise.all(tasks.map((v, i) => simulateInPool(ex, v, request).then((r) => (settled.set(i, (settled.get(i) ?? 0) + 1), r))));
      const victim = await watch.workerId;
      const t0 = performance.now();
      procs.find((p) => p.id === victim)!.child.kill('SIGKILL');
      const results = await all;
      const recoverS = (performance.now() - t0) / 1000;
      await watch.close();
      const identical = sameResults(results.map((x) => (x.ok ? x.value : x.error.message)), reference.slice(0, 8));
      const kill = { tasks: tasks.length, completed: results.filter((r) => r.ok).length, settledOnce: [...settled.values()].every((c) => c === 1) && settled.size === tasks.length, identical, redelivered: ex.stats.redelivered, duplicates: ex.stats.duplicates, secondsAfterKill: recoverS };
      await ex.close();
      await Promise.all(procs.map((p) => p.stop()));
      lines.push(
        '### A worker process killed mid-task (SIGKILL)',
        '',
        `2 worker processes, 8 tasks; the first process to accept a task is killed at once. Its Last Will (status offline) reaches the producer, which sends its task again to the other worker.`,
        '',
        '| tasks | completed | each settled once | results identical to local | redelivered | duplicate results dropped | s from kill to last result |',
        '| --- | --- | --- | --- | --- | --- | --- |',
        `| ${kill.tasks} | ${kill.completed} | ${kill.settledOnce ? 'yes' : '**no**'} | ${kill.identical ? 'yes' : '**no**'} | ${kill.redelivered} | ${kill.duplicates} | ${r2(kill.secondsAfterKill)} |`,
        '',
      );
      json.kill = kill;
      log(`kill: ${JSON.stringify(kill)}`);
    }

    // ── 5. a campaign with exec: mqtt, its worker killed ─────────────────────────────────
    if (!opts.skipCampaign) {
      const lab = uniq('camp');
      const dir = mkdtempSync(join(tmpdir(), 'poreloop-scale-workers-'));
      const procs = [startWorkerProcess(m.url, lab, 'c-0', 'physics,twin'), startWorkerProcess(m.url, lab, 'c-1', 'physics,twin')];
      try {
        const cfg = join(dir, 'campaign.yaml');
        writeFileSync(
          cfg,
          [
            'name: workers-kill',
            'seed: 7',
            `lab: ${lab}`,
            'twin: { name: fibre-gdl, size: [48, 48, 32], voxelSize: 2.0, fixed: { fibreDiameter: 7.0, fibreDiameterCv: 0.1 } }',
            'space: { porosity: { min: 0.6, max: 0.9 }, binderFraction: { min: 0.05, max: 0.3 }, ptfeLoading: { min: 0, max: 30 }, compression: { min: 0, max: 0.3 } }',
            `predict: { properties: [porosity, tau_z, limitingCurrent, sigma_eff_z], physicsPerRound: 6, realisations: { min: 1, max: 1 }, context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 } }`,
            'reward: "limitingCurrent / 1e5 + 2 * log10(sigma_eff_z)"',
            'agent: { name: sobol, candidates: 6, batchSize: 2 }',
            'rigs: { pipeline: [characterise], measure: [porosity, tau_z], timeout: 120s, simulate: { rigs: [{ id: r1, capabilities: [characterise], latencyMs: 100 }, { id: r2, capabilities: [characterise], latencyMs: 100 }] } }',
            'budget: { rigRuns: 6 }',
            `broker: ${m.url}`,
            'exec: mqtt',
          ].join('\n') + '\n',
        );
        const resolved = loadCampaign(cfg);
        const watch = await firstAcceptance(m.url, lab, procs.map((p) => p.id));
        let victim = '';
        void watch.workerId.then((id) => {
          victim = id;
          procs.find((p) => p.id === id)!.child.kill('SIGKILL');
        });
        const logs: string[] = [];
        const db = join(dir, 'ledger.db');
        let campaignId = '';
        const t = await timed(() => runCampaign(resolved, { db, log: (l) => logs.push(l), onStart: (id) => (campaignId = id) }));
        await watch.close();
        const sql = new Database(db, { readonly: true });
        const count = (type: string) => (sql.prepare('SELECT count(*) AS n FROM documents WHERE campaign_id = ? AND type = ?').get(campaignId, type) as { n: number }).n;
        const perTrial = sql.prepare("SELECT json_extract(body, '$.trialId') AS t, count(*) AS n FROM documents WHERE campaign_id = ? AND type = 'TrialScored' GROUP BY t").all(campaignId) as Array<{ t: string; n: number }>;
        const status = (sql.prepare('SELECT status FROM campaigns WHERE id = ?').get(campaignId) as { status: string }).status;
        const fleetWorkers = (sql.prepare("SELECT max(json_array_length(body, '$.workers')) AS n FROM documents WHERE campaign_id = ? AND type = 'RigFleetObserved'").get(campaignId) as { n: number | null }).n ?? 0;
        const camp = {
          status, seconds: t.s, victim, proposed: count('TrialProposed'), scored: count('TrialScored'), scoredTwice: perTrial.filter((r) => r.n > 1).length,
          measurements: count('MeasurementRecorded'), fleetWorkers, redeliveryLogs: logs.filter((l) => /sending it again/.test(l)).length, mqtt5: logs.some((l) => /over MQTT 5/.test(l)),
        };
        sql.close();
        lines.push(
          '### A campaign with `exec: mqtt` whose worker is killed',
          '',
          `Twin campaign (fibre-GDL 48×48×32, sobol, 6 rig runs, 2 simulated rigs whose truth is also computed by the workers) on the same Mosquitto with \`exec: mqtt\` and 2 worker processes serving physics and twin (so the volumes are generated on the workers too); the first worker to accept a task is killed (SIGKILL).`,
          '',
          '| campaign status | s | orchestrator over MQTT 5 | trials proposed | TrialScored documents | trials scored twice | measurements recorded | tasks sent again | most workers in a fleet record (dashboard) |',
          '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
          `| ${camp.status} | ${r2(camp.seconds)} | ${camp.mqtt5 ? 'yes' : 'no'} | ${camp.proposed} | ${camp.scored} | ${camp.scoredTwice} | ${camp.measurements} | ${camp.redeliveryLogs} | ${camp.fleetWorkers} |`,
          '',
        );
        json.campaign = camp;
        log(`campaign: ${JSON.stringify(camp)}`);
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
        rmSync(dir, { recursive: true, force: true });
      }
    }

    // ── 6. surrogate fits ────────────────────────────────────────────────────────────────
    const fits = await surrogateFits(m, reps, log);
    lines.push(...fits.lines);
    json.surrogate = fits.json;
  } finally {
    await m.close();
  }
  const header = ['## Compute workers over MQTT 5 (issue #21)', '', ...runHeader('npm run bench -- scale-workers', started, commit)];
  const md = [...header, ...lines].join('\n');
  if (opts.write !== false) {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'scale-workers.md'), md + '\n');
    writeFileSync(join(resultsDir, 'scale-workers.json'), JSON.stringify({ commit, node: process.version, cores: availableParallelism(), ...json }, null, 2) + '\n');
  }
  return md;
}

export async function run(args: string[]): Promise<void> {
  const num = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  // Ctrl-C / SIGTERM: exit through process.exit so the worker processes are killed too.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  const md = await runWorkerBench({ tasks: num('--tasks'), reps: num('--reps'), noopTasks: num('--noop'), skipCampaign: args.includes('--no-campaign'), surrogateOnly: args.includes('--surrogate-only') });
  process.stdout.write(md + '\n');
}
