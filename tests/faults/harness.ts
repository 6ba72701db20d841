import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { mosquittoBinary } from '../../robots/testing/services.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { tmp } from '../helpers.js';

/**
 * Fault-injection harness (issue #8): a Mosquitto of our own (so it can be restarted), the
 * campaign's simulated rigs in a process of their own (`poreloop lab`, so killing the
 * orchestrator does not kill the rigs, as in a real lab), and the orchestrator as a child
 * process that can be SIGKILLed and resumed. After each scenario the ledger is compared with
 * the rigs' own job log.
 */

export const FULL = process.env.PORELOOP_FAULTS_FULL === '1';
const BIN = new URL('../../bin/poreloop.js', import.meta.url).pathname;

/**
 * Every process the harness starts, so that a test cleans up after itself, pass, fail or time
 * out (issue #15: `poreloop resume` children were found alive an hour after a failed run).
 * Each runs in a process group of its own and `killSpawned` SIGKILLs the whole group, so that
 * whatever a child started goes too; call it from afterEach. A test that times out keeps
 * running in the background, so its `finally` blocks cannot be relied on for this.
 */
const spawned = new Set<ChildProcess>();

function track(cmd: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, { ...options, detached: true });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

export function killSpawned(): number {
  let n = 0;
  for (const child of spawned) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
      n++;
    } catch {
      // already gone
    }
  }
  spawned.clear();
  return n;
}
// Also when the test worker itself exits (a crash, or vitest tearing it down).
process.once('exit', killSpawned);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** No progress for this long means stuck: generous, because a loaded 2-core machine is slow. */
export const STALL_MS = 300_000;

/**
 * Waits until `done()` holds, failing only when `progress()` (e.g. the ledger's last document
 * number) has not moved for `stallMs`: a slow machine still makes progress, a stuck campaign
 * does not, so the wait does not depend on the machine's speed (issue #15).
 */
export async function waitWhileProgressing(done: () => boolean, progress: () => number, what: string, stallMs = STALL_MS, describe: () => string = () => ''): Promise<void> {
  let last = progress();
  let since = Date.now();
  while (!done()) {
    const now = progress();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs) {
      throw new Error(`no progress for ${stallMs / 1000} s (still at ${now}) while waiting for ${what}${describe() ? `\n${describe()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Number of the ledger's last document (0 before the file exists). */
export const lastDocument = (db: string): number => readLedger(db, (l) => (l.db.prepare('SELECT max(seq) AS n FROM documents').get() as { n: number | null }).n ?? 0) ?? 0;

/** A Mosquitto with persistence on, so QoS 1 messages and sessions survive its restarts. */
export class Mosquitto {
  private proc: ChildProcess | null = null;
  readonly url: string;
  restarts = 0;
  private constructor(readonly port: number, private readonly conf: string) {
    this.url = `mqtt://127.0.0.1:${port}`;
  }

  static async start(dir: string): Promise<Mosquitto> {
    const port = await freePort();
    const data = join(dir, 'mosquitto');
    mkdirSync(data, { recursive: true });
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${data}/`, 'autosave_interval 1', 'max_queued_messages 10000', 'user root', ''].join('\n'));
    const m = new Mosquitto(port, conf);
    await m.up();
    return m;
  }

  private async up(): Promise<void> {
    const bin = mosquittoBinary();
    if (!bin) throw new Error('the mosquitto binary is not installed (apt-get install -y mosquitto)');
    this.proc = track(bin, ['-c', this.conf], { stdio: 'ignore' });
    await waitUntil(() => portOpen(this.port), 60_000, 'mosquitto to listen');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM'); // mosquitto saves its persistence file on SIGTERM
    await exited;
    this.proc = null;
  }

  async restart(downMs = 300): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.up();
    this.restarts++;
  }
}

/** The config of the reliability campaigns: small GDL volumes, two external rigs, short latencies. */
export function faultConfig(brokerUrl: string, lab: string, patch: { rigRuns?: number; faults?: Record<string, number>; timeout?: string; latencyMs?: number } = {}) {
  const faults = patch.faults;
  return {
    name: 'faults',
    seed: 7,
    lab,
    twin: { name: 'fibre-gdl', size: [24, 24, 16], voxelSize: 2, fixed: { fibreDiameter: 7 } },
    space: { porosity: { min: 0.6, max: 0.8 }, binderFraction: { min: 0.1, max: 0.3 }, ptfeLoading: { min: 0, max: 30 }, compression: { min: 0, max: 0.3 } },
    predict: { properties: ['porosity', 'tau_z', 'limitingCurrent'] },
    reward: 'limitingCurrent / 1e5 - 0.3 * max(0, 10 - ptfeLoading)',
    agent: { name: 'sobol', candidates: 3, batchSize: 2 },
    rigs: {
      pipeline: ['fabricate', 'characterise'],
      measure: ['porosity', 'tau_z', 'limitingCurrent'],
      timeout: patch.timeout ?? '20s',
      maxAttempts: 5,
      simulate: {
        external: true,
        noise: 0.02,
        rigs: [
          { id: 'fab-1', capabilities: ['fabricate'], latencyMs: patch.latencyMs ?? 150, ...(faults ? { faults } : {}) },
          { id: 'char-1', capabilities: ['characterise'], latencyMs: patch.latencyMs ?? 150, ...(faults ? { faults } : {}) },
          { id: 'char-2', capabilities: ['characterise'], latencyMs: patch.latencyMs ?? 150, ...(faults ? { faults } : {}) },
        ],
      },
    },
    budget: { rigRuns: patch.rigRuns ?? 8, failures: 50 },
    broker: brokerUrl,
  };
}

export interface Scenario {
  dir: string;
  config: string;
  db: string;
  rigLog: string;
  lab: ChildProcess;
}

export async function startScenario(broker: Mosquitto, doc: unknown): Promise<Scenario> {
  const dir = tmp('poreloop-faults-');
  const config = join(dir, 'campaign.yaml');
  writeFileSync(config, YAML.stringify(doc));
  const rigLog = join(dir, 'rig-log.jsonl');
  const lab = track(process.execPath, [BIN, 'lab', config, '--broker', broker.url, '--state', join(dir, 'rig-state'), '--log', rigLog], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  lab.stdout!.on('data', (d) => (err += d));
  lab.stderr!.on('data', (d) => (err += d));
  await waitUntil(() => /lab .*: fab-1/.test(err) || lab.exitCode !== null, 180_000, 'the lab process');
  if (lab.exitCode !== null) throw new Error(`lab process died: ${err}`);
  return { dir, config, db: join(dir, 'ledger.db'), rigLog, lab };
}

export async function stopScenario(s: Scenario): Promise<void> {
  if (s.lab.exitCode !== null) return;
  const exited = new Promise((r) => s.lab.once('exit', r));
  s.lab.kill('SIGTERM');
  await exited;
}

/** Spawns `poreloop run|resume`; resolves with the child. */
export function orchestrator(args: string[], cwd: string): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = track(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, exited, output: () => out };
}

export function readLedger<T>(db: string, fn: (l: Ledger) => T): T | undefined {
  if (!existsSync(db)) return undefined;
  let l: Ledger;
  try {
    l = Ledger.open(db, { readonly: true });
  } catch {
    return undefined;
  }
  try {
    return fn(l);
  } catch {
    return undefined;
  } finally {
    l.close();
  }
}

export interface RigLogEntry {
  rigId: string;
  jobId: string;
  attempt: number;
  trialId: string;
  capability: string;
  executed: boolean;
  outcome?: string;
  faults: string[];
}

export function readRigLog(path: string): RigLogEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/**
 * The invariants of issue #8, checked by comparing the ledger with the rigs' own log:
 * ledger integrity; every trial once; every selected trial completed or abandoned; no
 * (jobId, attempt) executed twice by the rigs, and no job executed in more attempts than the
 * ledger recorded; every result a rig produced for a job of this campaign is in the ledger.
 */
export function verify(db: string, rigLog: RigLogEntry[]): { campaignId: string; lost: number; duplicated: number; unrecordedRetries: number; trials: number; jobs: number; retries: number; problems: string[] } {
  const l = Ledger.open(db, { readonly: true });
  try {
    const problems: string[] = [];
    const c = l.campaigns()[0];
    const integrity = l.integrity();
    if (!integrity.ok) problems.push(`integrity: ${integrity.problems.join('; ')}`);
    if (c.status !== 'completed') problems.push(`campaign ${c.status}: ${c.stopReason}`);
    const trials = l.trials(c.id);
    if (new Set(trials.map((t) => t.id)).size !== trials.length) problems.push('a trial appears twice');
    const open = trials.filter((t) => t.selectedRank !== null && t.status !== 'completed' && t.status !== 'abandoned');
    if (open.length) problems.push(`${open.length} selected trials never finished`);
    const jobs = l.jobs(c.id);
    const byId = new Map(jobs.map((j) => [j.jobId, j]));
    const measured = new Set(l.measurements(c.id).map((m) => `${m.trialId}:${m.stage}`));
    const executed = rigLog.filter((e) => e.executed && byId.has(e.jobId));
    const perAttempt = new Map<string, number>();
    for (const e of executed) perAttempt.set(`${e.jobId}#${e.attempt}`, (perAttempt.get(`${e.jobId}#${e.attempt}`) ?? 0) + 1);
    const duplicated = [...perAttempt.values()].filter((n) => n > 1).length;
    if (duplicated) problems.push(`${duplicated} (jobId, attempt) executed twice by the rigs`);
    let unrecordedRetries = 0;
    for (const j of jobs) {
      const attempts = new Set(executed.filter((e) => e.jobId === j.jobId).map((e) => e.attempt));
      if ([...attempts].some((a) => a > j.attempt)) unrecordedRetries++;
    }
    if (unrecordedRetries) problems.push(`${unrecordedRetries} jobs ran in attempts the ledger does not record`);
    let lost = 0;
    for (const e of executed) {
      if (e.outcome !== 'result' && e.outcome !== 'infeasible') continue;
      const j = byId.get(e.jobId)!;
      if (!measured.has(`${j.trialId}:${j.stage}`)) lost++;
    }
    if (lost) problems.push(`${lost} rig results missing from the ledger`);
    return { campaignId: c.id, lost, duplicated, unrecordedRetries, trials: trials.length, jobs: jobs.length, retries: jobs.filter((j) => j.attempt > 1).length, problems };
  } finally {
    l.close();
  }
}

/** Rows of the reliability table of this run. */
export const outcomes: Array<Record<string, string | number>> = [];

/**
 * Where the table goes. Tests never write tracked files (issue #15): by default a temporary
 * folder shared by this run's workers (forked by the same vitest process, hence `ppid`);
 * experiments/results/ only when asked with PORELOOP_RECORD_RESULTS=1.
 */
export function resultsDir(): URL {
  if (process.env.PORELOOP_RECORD_RESULTS === '1') return new URL('../../experiments/results/', import.meta.url);
  const dir = join(tmpdir(), `poreloop-reliability-${process.ppid}`);
  mkdirSync(dir, { recursive: true });
  return pathToFileURL(dir + '/');
}

/**
 * Full runs only: stores this file's rows as a part (`reliability.<part>.json`) and rewrites
 * reliability.md in resultsDir() from every part present, so the fault and fuzz files
 * (separate vitest workers) fill one table.
 */
export function writeReliabilityTable(part: string): void {
  if (!FULL || outcomes.length === 0) return;
  const RESULTS = resultsDir();
  writeFileSync(new URL(`reliability.${part}.json`, RESULTS), JSON.stringify({ date: new Date().toISOString(), rows: outcomes }, null, 2) + '\n');
  const rows = ['faults', 'fuzz'].flatMap((p) => {
    const f = new URL(`reliability.${p}.json`, RESULTS);
    return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')).rows as Array<Record<string, string | number>>) : [];
  });
  const cols = ['fault', 'where', 'trials', 'jobs', 'retries', 'lost', 'duplicated', 'outcome'];
  const lines = [
    '# Reliability under faults and bad input (issue #8)',
    '',
    `Written by \`npm run test:faults\` (${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}). Setup: a Mosquitto`,
    "of the suite's own (persistence on, restartable), the campaign's simulated rigs in a separate",
    'process (`poreloop lab`), the orchestrator as a child process that is SIGKILLed and resumed.',
    '"lost" counts rig results missing from the ledger and "duplicated" counts (jobId, attempt) pairs',
    "a rig executed twice, both checked against the rigs' own job log; \"retries\" counts jobs whose",
    'ledger records more than one attempt. Fuzz rows count inputs; "—" where a column does not apply.',
    '',
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((o) => `| ${cols.map((c) => String(o[c] ?? '—')).join(' | ')} |`),
    '',
    'See docs/reliability.md for what poreloop does in each fault.',
    '',
  ];
  writeFileSync(new URL('reliability.md', RESULTS), lines.join('\n'));
  process.stderr.write(`reliability table written to ${new URL('reliability.md', RESULTS).pathname}${process.env.PORELOOP_RECORD_RESULTS === '1' ? '' : ' (PORELOOP_RECORD_RESULTS=1 writes it to experiments/results/)'}\n`);
}
