import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createActor, fromPromise, toPromise, type Snapshot } from 'xstate';
import { generateCredentials, startEmbeddedBroker, type BrokerCredentials } from '../../robots/broker.js';
import { createDispatcher } from '../../robots/dispatcher.js';
import { PROTOCOL_VERSION } from '../../robots/protocol/topics.js';
import { rigKeysFromEnv } from './rigs.js';
import { createSimulatedLab, type SimulatedLab } from '../../robots/sim/index.js';
import { simulatedTruth } from '../../robots/sim/truth.js';
import { connectMqtt, redact } from '../../robots/transport/mqtt.js';
import { BadInputError, PoreloopError } from '../core/errors.js';
import { systemClock, type Clock, type Parameters, type Predictor, type Shape3, type SimulationReport, type Voxels } from '../core/protocols.js';
import { createRng, hash32 } from '../core/rng.js';
import { paramKey } from '../core/space.js';
import { campaignProperties, checkWritableDir, inConfigFile, loadCampaignFile, resolveCampaign, type Overrides, type ResolvedCampaign } from '../config/load.js';
import { OPERATOR_STOP, summariseCampaign as summariseLedger, type CampaignSummary as LedgerSummary } from '../ledger/export.js';
import { campaignFinished, isBusy, Ledger, LedgerBusyError } from '../ledger/ledger.js';
import { CampaignLease, LEASE_RENEW_MS, LEASE_TTL_MS } from '../ledger/lease.js';
import { offThread } from './off-thread-agent.js';

export type { TrialSummary } from '../ledger/export.js';
import { campaignMachine, type CampaignInput } from '../orchestrator/campaign.machine.js';
import { CampaignRuntime, guardCallback, warnProcess, type ProgressEvent } from '../orchestrator/runtime.js';
import { checkContext, PROPERTIES, simulate } from '../physics/index.js';
import { createPhysicsPool, simulateInPool } from '../physics/pool.js';
import type { TaskExecutor } from '../exec/executor.js';
import { MqttExecutor } from '../exec/mqtt-executor.js';
import { brokerSetting } from '../config/schema.js';
import { connectComputeExecutor, twinVolumes, WorkerTrainedSurrogate } from './compute-worker.js';
import type { SimulationError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { generateTwinAsync } from '../../twins/async.js';
import { createPredictor } from '../predict/predictor.js';
import { DeepEnsemble, type EnsembleOptions } from '../surrogate/ensemble.js';
import { createRealityCorrection } from '../predict/correction.js';
import { createRealityModel } from '../predict/multifidelity.js';
import { rewardStd, simulationEvidence } from '../predict/uncertainty.js';
import { campaignAgentOptions, campaignObjectives, campaignReward, targetScope } from '../reward/scope.js';
import { frontSelection } from './front-selection.js';
import { importWarmStart, readWarmStart } from './warm-start.js';
import { checkDurability, durabilityEstimator } from './durability.js';
import { paretoOf, type ParetoReport } from './pareto.js';
import { registries } from './registries.js';
import { packageVersion } from '../core/version.js';
import { campaignStages, STAGE_AGENT, stagedTruth, stageSetup } from './stage-rigs.js';

/**
 * What runCampaign and resumeCampaign return: the ledger's summary and, for a campaign with two
 * or more objectives, its Pareto report (issue #16: fronts, reference, hypervolume by round,
 * picks — the result of such a campaign, for library users as for `status --json`); else null.
 */
export interface CampaignSummary extends LedgerSummary {
  pareto: ParetoReport | null;
}

function summariseCampaign(ledger: Ledger, campaignId: string, wallTimeS?: number): CampaignSummary {
  return { ...summariseLedger(ledger, campaignId, wallTimeS), pareto: paretoOf(ledger, campaignId) };
}

/**
 * The composition root (DESIGN.md): config + registries → a running campaign. With the other
 * modules of src/compose, the only place in src/ that imports agents/, twins/ and robots/.
 * Everything the machine does is supplied here as named actors (`campaignMachine.provide({ actors })`).
 */

export { registries };

/** Names and parameter specs, as the config loader needs them (it may not import plugins). */
export function configRegistries() {
  return {
    twins: Object.fromEntries(Object.entries(registries.twins).map(([k, f]) => { const t = f(); return [k, { parameters: t.parameters, trainedModel: t.trainedModel, checkInput: t.checkInput, finished: t.process ? { stage: t.process.stages.at(-1)!.name, descriptors: t.process.stages.at(-1)!.descriptors.map((d) => d.name) } : undefined }]; })),
    // ppo-stages is not an Agent of the registry: a stage policy composed with `stages` (issue #17).
    agents: [...Object.keys(registries.agents), STAGE_AGENT],
    // The physics catalogue: predict.properties and predict.context are checked against it (review 2026-12-07).
    properties: PROPERTIES,
    // predict.surrogate is checked at load by the ensemble's own constructor (no weights, no backend).
    surrogate: (options: Readonly<Record<string, unknown>>) => void new DeepEnsemble(options as EnsembleOptions),
  };
}

/** Loads and fully validates a campaign file: the agent is built once so bad options exit 2 before anything starts. */
export function loadCampaign(path: string, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env): ResolvedCampaign {
  const resolved = loadCampaignFile(path, configRegistries(), overrides, env);
  // The agent's options, the twin's size and the durability model are the file's settings: their
  // errors name it, as the loader's own checks do (review 2026-12-07).
  inConfigFile(resolve(path), () => {
    createAgent(resolved);
    checkMemory(resolved);
    checkDurability(resolved);
    // predict.context was checked only inside simulate(), per simulation, and the predictor
    // takes a failed simulation for a trial without physics data: temperature: -10 loaded and
    // ran with none, silently (review 2026-12-07). The loader may not import physics (DESIGN.md);
    // composition runs physics' own check, naming the key.
    for (const [key, value] of Object.entries(resolved.config.predict?.context ?? {})) {
      try {
        checkContext({ [key]: value });
      } catch (e) {
        throw new BadInputError((e as Error).message, `predict.context.${key}`, { cause: e });
      }
    }
  });
  return resolved;
}

/** A ledger another process kept locked past the tries: a bare statement's SQLITE_BUSY (busy_timeout spent), a transaction's LedgerBusyError. */
const ledgerLocked = (e: unknown): boolean => isBusy(e) || e instanceof LedgerBusyError;

/**
 * Review 2026-12-07 (follow-up of 6dbca97): the composition root's own ledger writes outside the
 * machine's steps — the record of rejected messages, the snapshot observer, the 250 ms poll —
 * run in callbacks and timers, where a throw is uncaught and ends the process. A ledger locked
 * past its tries is no reason to: `run` keeps the work the lock refused and `retry` (each poll
 * tick) does it again, in order. While work waits, new work queues behind it untried: each try
 * of a locked ledger blocks the event loop for the ledger's busy_timeout.
 */
export class LockedLedgerWork {
  private readonly work = new Map<string, () => void>();
  private since: string | null = null;
  /** Set by `close`: work that comes after it is tried once, never queued for a poll that no longer runs. */
  private closed = false;

  /** `drop`: errors that end a work for good, unrecorded (the lease guard's, after a takeover). */
  constructor(
    private readonly log: (line: string) => void,
    private readonly drop: (e: unknown) => boolean = () => false,
  ) {}

  /** Does `work` now — or, when the lock refuses it or earlier work waits, at a later `retry`. A work of the key that waits is replaced (the newest state is the one to save). */
  run(key: string, work: () => void): void {
    if (this.closed) return this.once(key, work);
    const idle = this.work.size === 0;
    this.work.delete(key);
    this.work.set(key, work);
    if (idle) this.retry();
  }

  /** Does the waiting work in order, up to the first the lock still refuses; true when none waits. */
  retry(): boolean {
    for (const [key, work] of this.work) {
      try {
        work();
      } catch (e) {
        if (ledgerLocked(e)) {
          this.note(e);
          return false;
        }
        if (!this.drop(e)) throw e;
      }
      this.work.delete(key);
    }
    if (this.since !== null) this.log(`the ledger is writable again (locked since ${this.since}); what waited is recorded`);
    this.since = null;
    return true;
  }

  /** How many works wait, by kind: a key's part before its ':' ('MessageRejected:3' → MessageRejected). */
  pending(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const kind of [...this.work.keys()].map((key) => key.split(':')[0]!)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    return counts;
  }

  /**
   * At shutdown: one more try of the waiting work, which only the poll retried; what the lock
   * still refuses is logged by kind (review of 0e10d79, issue #7: nothing silently dropped —
   * the closer used to clear the poll and lose it without a word). Never throws: the other
   * closers must still run.
   */
  close(): void {
    this.closed = true;
    try {
      if (this.retry()) return;
    } catch (e) {
      this.log(`shutdown: waiting ledger work failed: ${(e as Error).message}`);
    }
    const counts = [...this.pending()].map(([kind, n]) => `${n} ${kind}`).join(', ');
    if (counts) this.log(`shutdown: not written to the ledger${this.since ? ` (locked by another process since ${this.since})` : ''}: ${counts}`);
  }

  /**
   * Work after `close` (closers that run later — runtime.close, dispatcher.stop, a rejected
   * message before invalid$ is unsubscribed — can still record): queued, it would wait for a
   * retry that never comes, dropped without a word (review of 80dedbb; docs/reliability.md). It is
   * tried once; what the lock refuses is logged as `close` logs what still waits.
   */
  private once(key: string, work: () => void): void {
    try {
      work();
    } catch (e) {
      if (ledgerLocked(e)) return this.log(`shutdown: not written to the ledger (locked by another process: ${(e as Error).message}): 1 ${key.split(':')[0]}`);
      if (!this.drop(e)) throw e;
    }
  }

  /** Says once per spell that the ledger is locked, and that its work waits. */
  note(e: unknown): void {
    if (this.since !== null) return;
    this.since = new Date().toISOString();
    this.log(`the ledger is locked by another process (${(e as Error).message}); its writes wait and are tried again at the next poll`);
  }
}

/**
 * The closer of the lease guard (issue #14), run by shutDown after every other closer: waiting
 * work tried at shutdown after the guard was gone could write into a campaign another process
 * had taken over (review of 80dedbb). Its last try runs here, while the guard still refuses such
 * writes; then the guard goes.
 */
export function closeUnderGuard(waiting: LockedLedgerWork, unguard: () => void): () => void {
  return () => {
    waiting.close();
    unguard();
  };
}

/**
 * A campaign's shutdown: its closers in reverse order of registration, each failure logged, and
 * then `last` (the lease guard's closer). The guard was the first closer to run, so the closers
 * after it — the dispatcher's stop, the runtime's close, the embedded lab's stop — could record
 * a late rig event into a campaign another process had taken over (closing note of the fifth
 * session); now every closer runs while the guard still refuses such writes.
 */
export async function shutDown(closers: ReadonlyArray<() => Promise<void> | void>, log: (line: string) => void, last?: () => void): Promise<void> {
  const report = (e: unknown) => log(`shutdown: ${(e as Error).message}`);
  for (const c of [...closers].reverse()) {
    try {
      await c();
    } catch (e) {
      report(e);
    }
  }
  try {
    last?.();
  } catch (e) {
    report(e);
  }
}

/**
 * The campaign's lease kept by the poll (every LEASE_RENEW_MS). A renewal the ledger's lock
 * refuses is tried again at the next tick; once none succeeded for half the lease's life, the
 * campaign must stop before another process may take it over (review 2026-12-07). The lease is
 * wall-clock state shared with other processes: real time, not the campaign's clock.
 */
export class LeaseRenewal {
  private renewedAt: number;

  constructor(
    private readonly lease: CampaignLease,
    private readonly now: () => number = Date.now,
  ) {
    this.renewedAt = now();
  }

  /** Whether a renewal is due: LEASE_RENEW_MS after the last that succeeded. */
  due(): boolean {
    return this.now() - this.renewedAt >= LEASE_RENEW_MS;
  }

  /** 'held' (renewed), 'lost' (another process took it), or the lock that refused it and whether the lease has gone unrenewed for half its life. */
  renew(): 'held' | 'lost' | { locked: Error; expiring: boolean } {
    try {
      if (!this.lease.renew()) return 'lost';
    } catch (e) {
      if (!ledgerLocked(e)) throw e;
      return { locked: e as Error, expiring: this.now() - this.renewedAt >= LEASE_TTL_MS / 2 };
    }
    this.renewedAt = this.now();
    return 'held';
  }
}

/**
 * Refuses a campaign whose volumes this machine cannot hold (issue #8: a clear error instead
 * of dying mid-campaign). Working memory per voxel, from the solvers' arrays: ~60 B for
 * morphology + multigrid-PCG (float64 vectors and the level hierarchy), ~350 B when LBM
 * permeability is asked for (two D3Q19 float64 distribution sets); two candidates are
 * simulated at a time.
 */
export function checkMemory(resolved: ResolvedCampaign, totalBytes = totalmem()): void {
  const twin = resolved.config.twin;
  if (!twin) return;
  const voxels = twin.size[0] * twin.size[1] * twin.size[2];
  const props = [...(resolved.config.predict?.properties ?? []), ...resolved.config.rigs.measure];
  const perVoxel = props.some((p) => p.startsWith('permeability') || p === 'pressureDrop') ? 350 : 60;
  const need = 2 * voxels * perVoxel;
  if (need > 0.6 * totalBytes) {
    const gib = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new BadInputError(
      `a ${twin.size.join('×')} volume needs about ${gib(need)} GiB to simulate (2 at a time), more than 60 % of this machine's ${gib(totalBytes)} GiB; use a smaller size or a coarser voxelSize`,
      'twin.size',
    );
  }
}

function createAgent(resolved: ResolvedCampaign) {
  const { agent } = resolved.config;
  if (resolved.config.stages || agent.name === STAGE_AGENT) return stagesOf(resolved);
  return registries.agents[agent.name](campaignAgentOptions(agent, resolved.config.objectives));
}

/** Issue #17: the stage-wise setup of a config with `stages` (checked against the twin's process model). */
function stagesOf(resolved: ResolvedCampaign) {
  const { config } = resolved;
  return stageSetup({
    stages: config.stages,
    agent: config.agent.name,
    agentOptions: config.agent.options,
    pipeline: config.rigs.pipeline,
    space: resolved.space,
    seed: config.seed,
    batchSize: config.agent.batchSize,
    loopMode: config.loop?.mode,
    rewardOf: campaignReward({ expression: resolved.reward, objectives: config.objectives, fixed: { ...config.twin?.fixed, ...targetScope(config.stages?.target) } }),
  });
}

export interface RunOptions {
  /** The SQLite ledger file (created if missing). */
  db: string;
  /** The callbacks' throws never end the campaign: the first is reported through `log` (runOptions). */
  onProgress?: (e: ProgressEvent) => void;
  /** Progress and warnings, one line each; a throw here is reported once as a process warning. */
  log?: (line: string) => void;
  clock?: Clock;
  /** Aborting stops the campaign cleanly (SIGINT/SIGTERM in the CLI). */
  signal?: AbortSignal;
  /** Called once the campaign id is known (before any work). */
  onStart?: (campaignId: string) => void;
}


/**
 * The caller's RunOptions, checked, with their callbacks guarded (guardCallback; library
 * review): a throw in onProgress, onStart or log is reported once — through log, or a process
 * warning when log itself threw — and the campaign goes on, instead of ending `failed`.
 */
function runOptions(options: RunOptions | undefined, call: string): RunOptions {
  if (typeof options !== 'object' || options === null || typeof options.db !== 'string' || options.db === '') {
    throw new BadInputError(`${call} needs options with 'db': the path of the SQLite ledger file, e.g. ${call}(…, { db: 'lab.db' })`, 'options.db');
  }
  for (const name of ['onProgress', 'log', 'onStart'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new BadInputError(`must be a function, or left out`, `options.${name}`);
  }
  const log = guardCallback('log', options.log, warnProcess);
  const report = (line: string) => (log ?? warnProcess)(line);
  return { ...options, log, onProgress: guardCallback('onProgress', options.onProgress, report), onStart: guardCallback('onStart', options.onStart, report) };
}

/**
 * A rig silent for this long is offline (three missed 5-s heartbeats of the rig SDK); a rig
 * declaring a longer `heartbeatMs` gets three of its own (the dispatcher's silenceLimit).
 */
const HEARTBEAT_TIMEOUT_MS = 15_000;
/** The fleet is recorded at least this often while a campaign runs (its heartbeat timeout). */
const FLEET_RECORD_MS = HEARTBEAT_TIMEOUT_MS;

function versions(): Record<string, string> {
  return { poreloop: packageVersion(), node: process.versions.node, protocol: PROTOCOL_VERSION };
}

function newCampaignId(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'campaign';
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  return `${slug}-${day}-${randomBytes(3).toString('hex')}`;
}

/** A machine state as text: a nested one (awaitingApproval.waiting) is an object, shown as JSON, not "[object Object]". */
function stateName(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Starts a new campaign from a resolved config and runs it to its end. */
export async function runCampaign(resolved: ResolvedCampaign, options: RunOptions): Promise<CampaignSummary> {
  options = runOptions(options, 'runCampaign');
  const ledger = Ledger.open(options.db);
  let lease: CampaignLease | undefined;
  try {
    const campaignId = newCampaignId(resolved.config.name);
    // Earlier measurements as real observations before the first round (issue #19). The CSV is
    // read and validated before anything is written, and the campaign's start and its imports
    // are one transaction: a bad CSV leaves no "running" campaign behind, and no campaign ever
    // exists without the warm start its config names (a resume would run without it).
    // Each feasible row is scored here and must get a finite reward (import review #1).
    const warm = resolved.warmStartCsv
      ? readWarmStart(resolved.warmStartCsv, resolved.space, {
          properties: campaignProperties(resolved.config),
          rewardOf: campaignReward({ expression: resolved.reward, objectives: resolved.config.objectives, fixed: { ...resolved.config.twin?.fixed, ...targetScope(resolved.config.stages?.target) } }),
        })
      : undefined;
    ledger.transaction(() => {
      ledger.append(campaignId, 'CampaignStarted', {
        name: resolved.config.name,
        config: resolved.config,
        configHash: resolved.hash,
        seed: resolved.config.seed,
        source: resolved.source,
        versions: versions(),
      }, 'start');
      if (warm) importWarmStart(ledger, campaignId, warm);
    });
    lease = CampaignLease.acquire(ledger, campaignId);
    options.onStart?.(campaignId);
    return await drive(ledger, campaignId, resolved, undefined, options, lease);
  } finally {
    lease?.release();
    ledger.close();
  }
}

/** Continues a campaign from its ledger: the persisted machine snapshot and the documents. */
export async function resumeCampaign(idOrPrefix: string, options: RunOptions): Promise<CampaignSummary> {
  options = runOptions(options, 'resumeCampaign');
  const ledger = Ledger.open(options.db);
  let lease: CampaignLease | undefined;
  try {
    const row = ledger.requireCampaign(idOrPrefix, options.db);
    if (campaignFinished(row)) {
      return summariseCampaign(ledger, row.id);
    }
    // The stored config is the resolved one: re-resolving it reproduces space, reward and hash.
    const resolved = resolveCampaign(row.config, configRegistries(), { storedConfig: true }, {}, row.source);
    if (resolved.hash !== row.configHash) throw new PoreloopError(`stored config of ${row.id} does not reproduce its hash; the ledger was edited by hand?`);
    for (const w of resolved.warnings) options.log?.(`warning: stored config of ${row.id}: ${w}`);
    const snap = row.snapshot as Snapshot<unknown> | null;
    const fromState = stateName(snap && typeof snap === 'object' && 'value' in snap ? (snap as { value: unknown }).value : 'start');
    // Refused (exit 2) while another live process runs it (issue #14).
    lease = CampaignLease.acquire(ledger, row.id);
    ledger.append(row.id, 'CampaignResumed', { pid: process.pid, fromState });
    options.onStart?.(row.id);
    // A campaign whose process died while paused (its snapshot says `paused`) would sit idle in
    // the new process: `resume` means go on, so it is told to (issue #18 review).
    if (fromState === 'paused') options.log?.(`campaign ${row.id} was paused (at the end of a round); resuming it`);
    return await drive(ledger, row.id, resolved, snap ?? undefined, options, lease, fromState === 'paused');
  } finally {
    lease?.release();
    ledger.close();
  }
}

async function drive(ledger: Ledger, campaignId: string, resolved: ResolvedCampaign, snapshot: Snapshot<unknown> | undefined, options: RunOptions, lease: CampaignLease, resumePaused = false): Promise<CampaignSummary> {
  const { config } = resolved;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => {});
  const started = clock.now();
  const artifacts = join(resolved.artifactsDir ?? checkWritableDir(join(dirname(resolve(options.db)), 'artifacts'), '--db'), campaignId);
  const closers: Array<() => Promise<void> | void> = [];
  // Set when another process has taken the campaign over: from then on this one writes nothing.
  let leaseLost: PoreloopError | undefined;
  // Ledger writes of callbacks and the poll that a lock refused, for the next tick; a write the
  // lease guard refused is dropped — the lease loss stops this process.
  const waiting = new LockedLedgerWork(log, (e) => e === leaseLost);
  let lockStopped = false;
  // Set below once the lease guard is in place; shutDown runs it after every other closer.
  let closeGuard: (() => void) | undefined;
  const close = () => shutDown(closers, log, closeGuard);

  try {
    mkdirSync(artifacts, { recursive: true });
    // ── P-model: twin + physics (+ optional surrogates) ───────────────────────────────────
    const twinCfg = config.twin;
    const twin = twinCfg ? registries.twins[twinCfg.name]() : undefined;
    // Without a twin the P-model is a surrogate learnt from the rigs' measurements (issue #2).
    const properties = [...(config.predict?.properties ?? config.rigs.measure)];
    const context = config.predict?.context;
    const fixed: Parameters = { ...(twinCfg?.fixed ?? {}) };
    // Twins of 128³ and more are generated in a worker thread (twins/async.ts), and physics
    // always runs on the worker pool: the orchestrator's event loop (MQTT keep-alives, rig
    // events, operator commands) never blocks on a solve (issue #4).
    const scoring = scoringFailures(log);
    const generate = twin && twinCfg
      ? scoring.generate((params: Parameters, seed: number) => volumes.generate({ twin: twinCfg.name, params, seed, size: twinCfg.size as Shape3, voxelSize: twinCfg.voxelSize }))
      : undefined;
    // exec: mqtt (issue #21) sends physics to `poreloop worker` processes on the broker (MQTT 5
    // shared subscription); local keeps it on this machine's worker threads.
    const broker = brokerSetting(config);
    const pool: TaskExecutor =
      config.exec === 'mqtt'
        ? await connectComputeExecutor(broker.url, config.lab, { producerId: `${campaignId}-${randomBytes(3).toString('hex')}`, log })
        : createPhysicsPool({ size: Math.max(1, Math.min(2, availableParallelism())) });
    closers.push(() => pool.close());
    // exec: mqtt with a `twin` worker online (issue #21): generation leaves this process too —
    // at many workers it is the producer's largest cost (docs/scale-out.md); with none, or when
    // the one it was sent to leaves, it is generated here. Same twin, same seed, same bytes.
    const volumes = twinVolumes(pool, log);
    if (twin && pool instanceof MqttExecutor) closers.push(() => log(`twin volumes: ${volumes.counts.workers} on workers, ${volumes.counts.here} here`));
    const simulateProps = (voxels: Voxels, props: string[]) => simulateInPool(pool, voxels, { properties: props, context });
    const rewardOf = campaignReward({ expression: resolved.reward, objectives: config.objectives, fixed: { ...config.twin?.fixed, ...targetScope(config.stages?.target) } });
    // Issue #17: stage-wise trials — the policy's plan proposes, each stage's settings follow the last measurement.
    const staged = config.stages ? await campaignStages(stagesOf(resolved), ledger, campaignId, log) : undefined;
    const agent = staged?.agent ?? registries.agents[config.agent.name](campaignAgentOptions(config.agent, config.objectives));
    // Proposals run on a worker thread where the agent allows it (issue #14: a long proposal
    // on this thread made heartbeating rigs look offline); see off-thread-agent.ts.
    const proposer = offThread(agent, { name: config.agent.name, options: campaignAgentOptions(config.agent, config.objectives) });
    closers.push(() => proposer.close());
    // Without a twin, the surrogate of the rig data is trained only when something reads it:
    // the config asks for it (it then ranks candidates and its predictions are recorded), or
    // the agent rolls out against it (ctx.model). Trained for nothing it was half of a
    // twin-less campaign's wall time per cycle (issue #12).
    const surrogate = config.predict?.surrogate ?? (!twin && agent.usesModel ? {} : undefined);
    // exec: mqtt (issue #21): fitted on a `surrogate` worker while one is online, loaded and
    // predicting here; the ledger's ModelTrained says which worker (and backend) made the weights.
    const workerSurrogate = surrogate && pool instanceof MqttExecutor ? new WorkerTrainedSurrogate(pool, surrogate as EnsembleOptions, log) : undefined;
    if (workerSurrogate) closers.push(() => log(`surrogate fits: ${workerSurrogate.counts.workers} on workers, ${workerSurrogate.counts.here} here`));
    const predictor = createPredictor({
      properties,
      space: resolved.space,
      generate,
      simulate: scoring.simulate(simulateProps),
      surrogate: (workerSurrogate ? () => workerSurrogate : surrogate) as never,
      physicsPerRound: config.predict?.physicsPerRound,
      acquisition: config.predict?.acquisition,
      retrainEvery: config.predict?.retrainEvery,
      // Issue #13: realisations per simulated candidate, adaptive for the top of the ranking (the rig batch).
      realisations: config.predict?.realisations,
      rveMaxCv: config.predict?.rveMaxCv,
      top: config.agent.batchSize,
      onWarning: log,
      rewardOf: (props, params) => rewardOf(props, params),
      artifactsDir: join(artifacts, 'models'),
      // Reproducibility review, item 1: rows become training data when the runtime has recorded their scores.
      commit: 'caller',
      onModelTrained: (info) => {
        ledger.append(campaignId, 'ModelTrained', { kind: info.surrogate, version: info.version, path: info.dir, dataHash: info.dataHash, samples: info.trainingRows, metrics: { loss: info.loss, epochs: info.epochs }, ...(workerSurrogate?.provenance ? { state: { trainedOn: workerSurrogate.provenance } } : {}) });
      },
    });
    if (surrogate) await predictor.resume();

    // ── the lab: broker, simulated rigs, dispatcher ───────────────────────────────────────
    let brokerUrl = broker.url;
    const signingKeys = rigKeysFromEnv();
    // The embedded broker is never open (issue #14): it listens on loopback, and only this run's
    // orchestrator and simulated rigs get in, with passwords made for this run, under the rig ACL.
    let credentials: BrokerCredentials | undefined;
    if (brokerUrl === 'embedded') {
      credentials = generateCredentials(config.rigs.simulate?.rigs.map((r) => r.id) ?? []);
      const broker = await startEmbeddedBroker({ port: 0, persistenceDir: join(artifacts, 'broker'), users: credentials.users });
      closers.push(() => broker.close());
      brokerUrl = broker.url;
      log(`embedded MQTT broker at ${broker.url}`);
    }
    if (config.rigs.simulate && !config.rigs.simulate.external) {
      const lab = await startCampaignLab(resolved, brokerUrl, join(artifacts, 'rigs'), undefined, simulateProps, { credentials: credentials?.of, signingKeys });
      // Stopped with this process, after the orchestrator's session closed: its rigs drop their
      // running jobs as a killed process would, so a resume re-dispatches the same attempt; a
      // `failed` would wait in the session and count as a failed attempt (determinism review 2026-12-07).
      closers.push(() => lab.stop({ abandon: 'silent' }));
    }
    // MQTT 5 where the broker speaks it (broker.protocol auto): session expiry, message expiry of
    // jobs with deadlines and user properties then travel too (docs/rig-protocol.md §11).
    const transport = await connectMqtt({ url: brokerUrl, clientId: `poreloop-${campaignId}`.slice(0, 64), clean: false, protocolVersion: broker.protocol, ...credentials?.of('orchestrator') });
    log(`orchestrator on ${redact(brokerUrl)} over MQTT ${transport.protocolVersion === 5 ? '5' : '3.1.1'}`);
    closers.push(() => transport.close());
    const dispatcher = createDispatcher({
      transport,
      lab: config.lab,
      campaignId,
      clock,
      rng: createRng(hash32(`dispatch:${config.seed}`)),
      keys: signingKeys,
      options: { timeoutMs: resolved.timeoutMs, maxAttempts: config.rigs.maxAttempts, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
    });
    // Every rejected inbound message is recorded with its reason (issue #7: nothing silently dropped).
    // Recorded through `waiting`: a ledger locked past its tries is no uncaught throw in the subscription.
    let rejected = 0;
    const invalid = dispatcher.invalid$.subscribe((r) => waiting.run(`MessageRejected:${rejected++}`, () => void ledger.append(campaignId, 'MessageRejected', { topic: r.topic, reason: r.reason, payload: r.excerpt })));
    closers.push(() => invalid.unsubscribe());
    await dispatcher.start();
    closers.push(() => dispatcher.stop());

    // ── the loop ──────────────────────────────────────────────────────────────────────────
    const reality = twin ? createRealityModel(resolved.space, config.seed) : undefined;
    // Issue #20: durability tests stopped after the early window, their EOL predicted (src/compose/durability.ts).
    const estimator = config.durability ? await durabilityEstimator(config.durability, resolved.durabilityModel!, log) : undefined;
    const runtime = new CampaignRuntime({
      ledger,
      campaignId,
      agent: proposer.agent,
      space: resolved.space,
      predictor: scoring.predictor(predictor),
      rewardOf,
      rewardStd,
      simulationEvidence,
      rig: dispatcher,
      pipeline: config.rigs.pipeline,
      candidatesPerRound: config.agent.candidates,
      screenCandidates: config.predict?.screen,
      batchSize: config.agent.batchSize,
      mode: config.loop?.mode ?? 'sync',
      warmup: config.loop?.warmup,
      timeoutMs: resolved.timeoutMs,
      maxAttempts: config.rigs.maxAttempts,
      seed: config.seed,
      clock,
      rng: createRng(config.seed),
      fixed,
      protocol: PROTOCOL_VERSION,
      correction: twin ? createRealityCorrection(resolved.space, config.rigs.measure.filter((m) => properties.includes(m)), config.seed) : undefined,
      // Twin campaigns (issue #13): a multi-fidelity model of the real reward (simulations →
      // rig results) chooses what goes to the rigs, and is what the agents optimise: their
      // ctx.model and the rewards of their simulated observations are its estimates, never the
      // raw P-model or its surrogate.
      reality,
      model: reality ? async (c: Parameters[]) => reality.estimate(c) : surrogate ? predictor.rewardModel(config.seed) : undefined,
      objectivesOf: campaignObjectives(config.objectives && { objectives: config.objectives, constraints: config.outcomeConstraints }, fixed),
      // Issue #16: with two or more objectives the front chooses the rigs' batch and judges progress.
      front: config.objectives && config.objectives.length >= 2 ? frontSelection({ objectives: config.objectives, constraints: config.outcomeConstraints }, fixed, config.seed) : undefined,
      observe: twin ? undefined : (rows) => predictor.observe(rows.map((r) => ({ params: r.params, properties: r.measured, fidelity: 'rig' as const }))),
      measure: config.rigs.measure,
      estimator,
      staged: staged?.execution,
      onProgress: options.onProgress,
      log,
    });
    runtime.start();
    closers.push(() => runtime.close());

    const machine = campaignMachine.provide({
      actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => (f as (i: unknown) => Promise<unknown>)(input))])) as never,
    });
    const input: CampaignInput = {
      campaignId,
      startedAt: started,
      mode: config.loop?.mode ?? 'sync',
      limits: {
        rigRuns: config.budget.rigRuns,
        rounds: config.budget.rounds,
        wallTimeMs: resolved.wallTimeMs,
        noImprovementRounds: config.stop.noImprovementRounds,
        targetReward: config.stop.targetReward,
        failures: config.budget.failures,
        approval: config.rigs.approval,
      },
    };
    const actor = createActor(machine, snapshot ? { snapshot: snapshot as never, input } : { input });
    let onLeaseLost: (e: PoreloopError) => void = () => {};
    const lost = new Promise<never>((_, reject) => (onLeaseLost = reject));
    // The resume point: every working state. Not the ending states — a stopped campaign is
    // resumed from where it was working when the stop came, re-running that step.
    // The campaign status follows the machine's `paused` state (issue #18 review): CampaignPaused
    // on entering it, CampaignUnpaused when it goes on in the same process — so `status`, the
    // dashboard and the export show "paused", and a killed paused campaign is recognisable.
    let lastState = snapshot ? stateName((snapshot as { value?: unknown }).value) : '';
    // A locked ledger: the newest state is recorded at a later poll tick (`waiting`); lastState
    // moves only once its CampaignPaused/Unpaused is written, so that a retry writes it.
    const recordState = (snap: ReturnType<typeof actor.getSnapshot>) => {
      const state = stateName(snap.value);
      if (!leaseLost && state !== lastState) {
        if (state === 'paused') ledger.append(campaignId, 'CampaignPaused', { round: snap.context.round }, `round:${snap.context.round}`);
        else if (lastState === 'paused' && ledger.campaign(campaignId)?.status === 'paused') ledger.append(campaignId, 'CampaignUnpaused', { round: snap.context.round });
      }
      lastState = state;
      if (!leaseLost && !['stopping', 'failed', 'done'].includes(String(snap.value))) ledger.saveSnapshot(campaignId, actor.getPersistedSnapshot());
    };
    actor.subscribe({
      next: (snap) => waiting.run('campaign state', () => recordState(snap)),
      error: (e) => log(`machine error: ${(e as Error).message}`),
    });
    const onAbort = () => actor.send({ type: 'campaign.stop', reason: OPERATOR_STOP.signal });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Operator commands written by other processes (`poreloop stop|pause|resume <id>`), and
    // the wall-time budget: the machine checks it between rounds, but a round that cannot
    // finish (a rig that never answers) must end at budget.wallTime too (issue #14).
    let wallTimeSent = false;
    const renewal = new LeaseRenewal(lease);
    let fleetKey = '';
    let fleetAt = 0;
    const poll = setInterval(() => {
      try {
        tick();
      } catch (e) {
        // Locked past the ledger's tries: the tick's work is done again at the next one. A write
        // the lease guard refused: loseLease, scheduled by the guard, stops the process.
        if (e === leaseLost) return;
        if (!ledgerLocked(e)) throw e;
        waiting.note(e);
      }
    }, 250);
    function tick(): void {
      // The rig fleet for the dashboard (issue #18): on every change of a rig's status or load,
      // and every FLEET_RECORD_MS so its last heartbeat stays current without a row per heartbeat.
      // Written only after the lease is renewed in the same tick: no write after a takeover.
      const rigs = dispatcher.rigs();
      // exec: mqtt (issue #21): the compute workers online, from their retained status.
      const workers = pool instanceof MqttExecutor ? pool.workers().map((w) => ({ workerId: w.workerId, kinds: [...w.kinds], concurrency: w.concurrency, host: w.host })) : undefined;
      const fleet = JSON.stringify([rigs.map((r) => [r.rigId, r.status, r.inflight]), workers?.map((w) => w.workerId)]);
      const recordFleet = fleet !== fleetKey || Date.now() - fleetAt >= FLEET_RECORD_MS;
      if (recordFleet || renewal.due()) {
        const r = renewal.renew();
        if (r === 'lost') return loseLease();
        if (r !== 'held') {
          // Review 2026-12-07: a renewal the lock keeps refusing stops the campaign before the lease
          // can expire — `stopped`, resumable, as the runtime does when a rig event cannot be recorded.
          if (r.expiring && !lockStopped) {
            lockStopped = true;
            runtime.stopUnrecorded(`renewal of the campaign's lease (refused for ${LEASE_TTL_MS / 2000} s, half the lease's life)`, r.locked);
            actor.send({ type: 'campaign.stop', reason: 'the ledger stayed locked' });
          }
          return waiting.note(r.locked);
        }
      }
      // Work a lock refused before goes first; while the ledger is still locked the rest waits too.
      if (!waiting.retry()) return;
      if (resolved.wallTimeMs !== undefined && !wallTimeSent && clock.now() - actor.getSnapshot().context.startedAt >= resolved.wallTimeMs) {
        wallTimeSent = true;
        // The budget's own end, as the machine's wall-time rule in `deciding`: completed, the trials in flight given up and cancelled (#21 review).
        actor.send({ type: 'campaign.budgetSpent', reason: `wall-time budget spent (in state ${stateName(actor.getSnapshot().value)})` });
      }
      for (const c of ledger.pendingCommands(campaignId)) {
        if (c.command === 'stop' || c.command === 'pause' || c.command === 'resume') {
          ledger.consumeCommand(c.seq);
          actor.send(c.command === 'stop' ? { type: 'campaign.stop', reason: OPERATOR_STOP.command } : { type: `campaign.${c.command}` as 'campaign.pause' });
        }
      }
      if (recordFleet) {
        ledger.append(campaignId, 'RigFleetObserved', {
          rigs: rigs.map((r) => ({ rigId: r.rigId, status: r.status, capabilities: r.capabilities, inflight: r.inflight ?? 0, lastSeenAt: r.lastSeenAt ? new Date(r.lastSeenAt).toISOString() : undefined })),
          ...(workers ? { workers } : {}),
        });
        // After the write: a fleet the lock refused is recorded at the next tick.
        fleetKey = fleet;
        fleetAt = Date.now();
      }
      // The approval gate is a waiting state: the decision (from any process) arrives as an event.
      const snap = actor.getSnapshot();
      const decided = snap.matches('awaitingApproval') ? runtime.decideApproval(snap.context.round) : null;
      if (decided) actor.send({ type: 'approval.decided', ...decided });
    }
    closers.push(() => clearInterval(poll));
    // One writer per campaign (issue #14): once another process has taken the campaign over, the
    // new owner's ledger must not get this process's snapshot, rig events or a CampaignStopped.
    // The renewal above notices within LEASE_RENEW_MS; every write checks the lease in its own
    // transaction meanwhile, so a rig event that arrives first is refused, not recorded.
    let stopped = false;
    const markLost = (): PoreloopError =>
      (leaseLost ??= new PoreloopError(`lease lost: another process took campaign ${campaignId} over; this process stopped without writing more`));
    function loseLease(): void {
      const e = markLost();
      if (stopped) return;
      stopped = true;
      clearInterval(poll);
      onLeaseLost(e);
      void runtime.close();
      actor.stop();
    }
    closeGuard = closeUnderGuard(
      waiting,
      ledger.guardWrites(campaignId, () => {
        if (!leaseLost && lease.holds()) return;
        const e = markLost();
        // Stopping from inside a write (an actor's or a rig event's callback) would re-enter them.
        setImmediate(loseLease);
        throw e;
      }),
    );
    actor.start();
    // Resumed at the approval gate: requestApproval does not run again, so say what waits (reproducibility review, item 4).
    if (snapshot && actor.getSnapshot().matches({ awaitingApproval: 'waiting' })) runtime.announceApproval(actor.getSnapshot().context.round);
    if (resumePaused) actor.send({ type: 'campaign.resume' });
    if (options.signal?.aborted) onAbort();
    await Promise.race([toPromise(actor), lost]);
    // Stopping the actor also settles toPromise: the lease loss is the outcome, whichever came first.
    if (leaseLost) throw leaseLost;
    options.signal?.removeEventListener('abort', onAbort);
  } catch (e) {
    // A campaign that cannot run (broker, artifacts folder, …) ends recorded with its cause,
    // instead of showing as running forever (issue #14).
    if (!leaseLost && ['running', 'paused'].includes(ledger.campaign(campaignId)?.status ?? '')) {
      ledger.append(campaignId, 'CampaignStopped', { status: 'failed', reason: `could not run: ${(e as Error).message}` });
    }
    throw e;
  } finally {
    await close();
  }
  return summariseCampaign(ledger, campaignId, (clock.now() - started) / 1000);
}

/**
 * The simulated lab of a campaign config (`rigs.simulate`), started in-process by the campaign
 * or on its own by `poreloop lab <config>`. Its hidden truth is robots/sim/truth.ts
 * `simulatedTruth`; this wires in the twin and physics that make its other sample of a recipe.
 * The lab adds measurement noise per job (seeded by the job's place in its campaign and its
 * attempt, robots/sim, so the same config and seed measure the same values under a fresh
 * campaign id, issue #13).
 */
/**
 * The P-model's failures to score a candidate, one log line per scoring call (a round, or a
 * rescore) with their count and the first reason (config review, item 1): the predictor scores a
 * candidate whose twin refused it (BadInputError: "cannot reach porosity …") or whose physics
 * failed NaN, without a word, and the ledger's TrialScored holds only the null mean. Each
 * `score` call collects its own failures (AsyncLocalStorage: scoring calls that overlap in an
 * async loop keep theirs apart); the lab's physics, outside a score call, records nothing.
 */
export function scoringFailures(log: (line: string) => void) {
  const store = new AsyncLocalStorage<string[]>();
  return {
    generate<A extends unknown[], R>(g: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
      return async (...a) => {
        try {
          return await g(...a);
        } catch (e) {
          if (e instanceof BadInputError) store.getStore()?.push(`the twin cannot make it: ${e.message}`);
          throw e;
        }
      };
    },
    simulate<A extends unknown[], T, E extends Error>(s: (...a: A) => Promise<Result<T, E>>): (...a: A) => Promise<Result<T, E>> {
      return async (...a) => {
        const r = await s(...a);
        if (!r.ok) store.getStore()?.push(`physics failed: ${r.error.message}`);
        return r;
      };
    },
    predictor<P extends Predictor>(p: P): P {
      const score: Predictor['score'] = async (candidates, options) => {
        const failed: string[] = [];
        const scores = await store.run(failed, () => p.score(candidates, options));
        if (failed.length > 0) {
          const unscored = scores.filter((sc) => Object.values(sc.properties).length > 0 && Object.values(sc.properties).every((e) => Number.isNaN(e.mean))).length;
          log(`P-model: ${failed.length} twin/physics run${failed.length === 1 ? '' : 's'} failed scoring ${candidates.length} candidates${unscored ? `, ${unscored} left without a prediction (reward NaN)` : ''}; first: ${failed[0]}`);
        }
        return scores;
      };
      return new Proxy(p, { get: (target, key) => (key === 'score' ? score : Reflect.get(target, key)) });
    },
  };
}

/** What a simulated rig of this campaign measures: the hidden truth (see startCampaignLab). */
export type CampaignTruth = (params: Parameters, capability: string) => Promise<{ measurements: Record<string, number>; feasible: boolean; reason?: string }>;

/** The twin's refusal of a recipe (BadInputError on a parameter: "cannot reach porosity …, packing jammed"). */
class RecipeRefused extends Error {}

export function campaignTruth(
  resolved: ResolvedCampaign,
  physics: (voxels: Voxels, properties: string[]) => Promise<Result<SimulationReport, SimulationError>> = (v, properties) => simulate(v, { properties, context: resolved.config.predict?.context }),
): CampaignTruth {
  const { config } = resolved;
  const sim = config.rigs.simulate;
  if (!sim) throw new BadInputError('this config has no simulated rigs (rigs.simulate)', 'rigs.simulate');
  const twinCfg = config.twin;
  const truth = simulatedTruth({
    infeasibleAbove: sim.infeasibleAbove,
    bias: sim.bias,
    measuringStage: config.rigs.pipeline[config.rigs.pipeline.length - 1],
    // Another sample of the recipe: the twin with a seed hashed from the recipe, not the trial.
    sample: twinCfg
      ? async (params) => {
          const sample = await generateTwinAsync(twinCfg.name, params, { seed: hash32(`sample:${config.seed}:${paramKey(params)}`), size: twinCfg.size as Shape3, voxelSize: twinCfg.voxelSize }).catch((e: unknown) => {
            if (e instanceof BadInputError && e.path?.startsWith('params')) throw new RecipeRefused(`the twin cannot make this recipe: ${e.message}`, { cause: e });
            throw e;
          });
          const r = await physics(sample.voxels, config.rigs.measure);
          if (!r.ok) throw new Error(`rig could not measure: ${r.error.message}`);
          return Object.fromEntries(config.rigs.measure.map((name) => [name, r.value.properties[name]]));
        }
      : undefined,
  });
  // A recipe the twin cannot make (sofc-anode: "cannot reach porosity 0.26 … packing jammed at
  // 0.352") cannot be manufactured in this lab: an infeasible result with the twin's reason, as
  // an infinite loss is (robots/sim/truth.ts finiteOrInfeasible). It was a handler failure,
  // retried 3× though the twin refuses it every time, and the trial abandoned (config review,
  // item 1). Only the twin's refusal of a parameter (BadInputError at params.*): any other
  // error — a worker that died, a physics failure — still fails the job and is retried.
  // The reason stops at the lab for now: the rig protocol's result carries none (robots/sdk HandlerResult).
  return async (params, capability) => {
    try {
      return await truth(params, capability);
    } catch (e) {
      if (e instanceof RecipeRefused) return { measurements: {}, feasible: false, reason: e.message };
      throw e;
    }
  };
}

export async function startCampaignLab(
  resolved: ResolvedCampaign,
  brokerUrl: string,
  stateDir: string,
  onProblem?: (rigId: string, message: string) => void,
  physics?: (voxels: Voxels, properties: string[]) => Promise<Result<SimulationReport, SimulationError>>,
  access: {
    /** Per-rig broker login (the campaign's embedded broker). */
    credentials?: (rigId: string) => { username: string; password: string };
    /** Per-rig signing keys (default: $PORELOOP_RIG_KEYS_FILE, so `poreloop lab` signs too). */
    signingKeys?: ReadonlyMap<string, Uint8Array>;
  } = {},
): Promise<SimulatedLab> {
  const { config } = resolved;
  const truth = config.stages ? stagedTruth(config.stages, config.seed) : campaignTruth(resolved, physics);
  const sim = config.rigs.simulate!;
  return createSimulatedLab({
    brokerUrl,
    lab: config.lab,
    seed: config.seed,
    stateDir,
    onProblem,
    credentials: access.credentials,
    signingKeys: access.signingKeys ?? rigKeysFromEnv(),
    rigs: sim.rigs.map((r) => ({
      id: r.id,
      capabilities: r.capabilities,
      concurrency: r.concurrency,
      latencyMs: { dist: 'lognormal' as const, mean: r.latencyMs, sd: r.latencyMs * 0.3 },
      noise: sim.noise,
      faults: r.faults,
    })),
    truth,
    durability: sim.durability,
  });
}

