import { hostname } from 'node:os';
import { connectionFromEnv } from '../../robots/transport/mqtt.js';
import { generateTwinAsync, isBuiltInTwin } from '../../twins/async.js';
import { BadInputError } from '../core/errors.js';
import type { Dataset, Parameters, Prediction, Shape3, Surrogate, Voxels } from '../core/protocols.js';
import type { TaskExecutor } from '../exec/executor.js';
import { MqttExecutor, WorkerLostError, type MqttExecutorOptions, type RunOptions } from '../exec/mqtt-executor.js';
import { brokerMaxPacket, COMPUTE_KINDS, connectV5, endClient, WireError, type ComputeKind } from '../exec/mqtt-wire.js';
import { startMqttWorker, type ComputeHandler, type MqttWorker } from '../exec/mqtt-worker.js';
import { WorkerPool } from '../exec/worker-pool.js';
import { createPhysicsPool } from '../physics/pool.js';
import { packDataset, packPrediction, packRows, unpackRows } from '../surrogate/cnn-protocol.js';
import { datasetHash } from '../surrogate/dataset.js';
import { DeepEnsemble, type Calibration, type EnsembleOptions } from '../surrogate/ensemble.js';
import { activeBackend, readModelFiles, withTempDir, writeModelFiles, type TrainResult, type TrainTask } from '../surrogate/train-task.js';

/** The surrogate `train` task's worker-thread module (src/surrogate/train-worker.ts, or .js once compiled). */
const trainWorkerUrl = new URL('../surrogate/train-worker.js', import.meta.url);

/**
 * What `poreloop worker` runs (issue #21): an MQTT 5 compute worker whose handlers are the
 * physics tasks of src/physics/worker.ts on a local worker_threads pool of `concurrency`
 * threads (so the MQTT loop keeps heartbeating while a solve runs), twin generation, and
 * surrogate fits (`train`, src/surrogate/train-task.ts, on worker threads too).
 */
export interface ComputeWorkerOptions {
  broker: string;
  lab: string;
  kinds: ComputeKind[];
  concurrency: number;
  workerId?: string;
  heartbeatMs?: number;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** The payload of a `generate` task (kind twin). */
export interface GenerateTask {
  twin: string;
  params: Parameters;
  seed: number;
  size: Shape3;
  voxelSize: number;
}

/** A twin volume generated in this process (a worker thread for large ones). */
async function generateHere(t: GenerateTask): Promise<{ voxels: Voxels; achieved: Record<string, number> }> {
  const out = await generateTwinAsync(t.twin, t.params, { seed: t.seed, size: t.size, voxelSize: t.voxelSize });
  return { voxels: out.voxels, achieved: out.achieved };
}

/**
 * How long a twin worker gets for one volume: 60 s plus 1 ms per 1 000 voxels — about 3× the
 * rate measured here (25 ms for 48×48×32, 0.34 ms per 1 000 voxels; docs/scale-out.md), with
 * slack for a loaded worker. Past it the campaign generates the volume itself.
 */
export const twinDeadlineMs = (size: Shape3) => 60_000 + (size[0] * size[1] * size[2]) / 1000;
/** With no twin worker online for this long, a queued volume is generated here instead. */
export const TWIN_NO_WORKER_MS = 5000;

/**
 * Runs `task` on the compute workers of `kind` while one is online, else `here` (counted, so the
 * campaign can say where the work was done). A task sent to a worker that then leaves with no
 * other of its kind online for `noWorkerMs`, that misses its deadline (WorkerLostError), or
 * whose result blob cannot be fetched (WireError) is done here after all; any other error is
 * the task's own, and would be the same here: it is passed on.
 */
async function onWorkersElseHere<W, H = W>(
  /** Undefined: done here. */
  pool: TaskExecutor | undefined,
  kind: ComputeKind,
  task: string,
  payload: () => unknown,
  runOptions: RunOptions,
  here: () => Promise<H>,
  counts: { workers: number; here: number },
  /** For the fallback's log line: what failed on the workers, and what is done here instead. */
  what: string,
  instead: string,
  log?: (line: string) => void,
): Promise<{ on: 'worker'; value: W } | { on: 'here'; value: H }> {
  if (pool instanceof MqttExecutor && pool.capacity(kind) > 0) {
    try {
      const value = await pool.run<W>(task, await payload(), runOptions);
      counts.workers++;
      return { on: 'worker', value };
    } catch (e) {
      if (!(e instanceof WorkerLostError) && !(e instanceof WireError)) throw e;
      log?.(`${what} on the workers failed (${(e as Error).message}); ${instead}`);
    }
  }
  const value = await here();
  counts.here++;
  return { on: 'here', value };
}

/**
 * The campaign's twin volumes (`exec: mqtt`, issue #21): on a `twin` worker while one is online,
 * else here, with the fallbacks of onWorkersElseHere; the twin is deterministic, so the bytes
 * are the same either way.
 */
export function twinVolumes(pool: TaskExecutor, log?: (line: string) => void) {
  const counts = { workers: 0, here: 0 };
  return {
    /** Volumes generated on twin workers and in this process so far. */
    counts,
    async generate(t: GenerateTask): Promise<{ voxels: Voxels; achieved: Record<string, number> }> {
      // A twin worker has only the built-in twins: a caller's own twin is generated here (library review).
      const workers = isBuiltInTwin(t.twin) ? pool : undefined;
      const out = await onWorkersElseHere<{ voxels: Voxels; achieved: Record<string, number> }>(workers, 'twin', 'generate', () => t, { deadlineMs: twinDeadlineMs(t.size), noWorkerMs: TWIN_NO_WORKER_MS }, () => generateHere(t), counts, 'twin volume', 'generating it here', log);
      return out.value;
    },
  };
}

/** Where a surrogate's current weights were fitted (recorded with each ModelTrained). */
export interface SurrogateProvenance {
  on: 'worker' | 'here';
  /** The compute worker that fitted them (on: 'worker'). */
  workerId?: string;
  /** The TensorFlow.js backend of the fit: fits are deterministic on one backend, not bit-exact across backends. */
  backend: string;
  /** Largest |difference| between the worker's predictions on the probe rows and the loaded weights' here. */
  probeMaxDiff?: number;
}

/** What a surrogate worker answers to a `train` task: the fit, and which worker made it. */
type WorkerTrainResult = TrainResult & { workerId: string };

/** Rows of the training set the worker predicts, to check that the weights loaded here reproduce its model. */
const PROBE_ROWS = 8;

/**
 * A deep ensemble that is fitted on a `surrogate` compute worker while one is online
 * (`exec: mqtt`, issue #21) and predicts here: the fit's data (packed, as blobs when large), seed
 * and warm-start weights go as a `train` task; the saved weights and calibration come back and
 * are loaded into the local ensemble. With no surrogate worker online, or when the worker is
 * lost with no other to take over (onWorkersElseHere), it is fitted here. `provenance` says where
 * the current weights came from.
 */
export class WorkerTrainedSurrogate implements Surrogate {
  readonly counts = { workers: 0, here: 0 };
  provenance: SurrogateProvenance | null = null;
  private readonly local: DeepEnsemble;

  constructor(
    private readonly pool: TaskExecutor,
    private readonly options: EnsembleOptions,
    private readonly log?: (line: string) => void,
  ) {
    this.local = new DeepEnsemble(options);
  }

  get name(): string {
    return this.local.name;
  }

  /** The loaded (or local) fit's σ calibration (ensemble.ts). */
  get calibration(): Calibration | null {
    return this.local.calibration;
  }

  async fit(data: Dataset, options: { seed?: number; warmStart?: boolean; onProgress?: (f: number) => void } = {}): Promise<{ loss: number; epochs: number }> {
    const seed = options.seed ?? 0;
    const warmStart = options.warmStart === true && this.local.trained;
    const { log: _log, ...wireOptions } = this.options;
    const payload = async (): Promise<TrainTask> => ({
      options: wireOptions,
      // Float64: the worker must fit exactly these features (Float32 would change the fit and its data hash).
      data: packDataset(data, 'f64'),
      seed,
      warmStart,
      start: warmStart ? await withTempDir(async (dir) => (await this.local.save(dir), readModelFiles(dir))) : undefined,
      probe: { x: packRows(data.x.slice(0, PROBE_ROWS)), rows: Math.min(PROBE_ROWS, data.x.length) },
    });
    const here = async () => ({ ...(await this.local.fit(data, { seed, warmStart, onProgress: options.onProgress })), backend: activeBackend() });
    const out = await onWorkersElseHere<WorkerTrainResult, Awaited<ReturnType<typeof here>>>(this.pool, 'surrogate', 'train', payload, { noWorkerMs: SURROGATE_NO_WORKER_MS }, here, this.counts, 'surrogate fit', 'fitting it here', this.log);
    if (out.on === 'here') {
      this.provenance = { on: 'here', backend: out.value.backend };
      return { loss: out.value.loss, epochs: out.value.epochs };
    }
    const r = out.value;
    if (r.dataHash !== datasetHash(data)) {
      // A worker's answer is not trusted blindly (a stale, buggy or forged result must not become
      // the campaign's model, nor stop it): weights fitted on other data are refused and the fit
      // is made here, with the reason in the log.
      this.log?.(`surrogate worker ${r.workerId} fitted data ${r.dataHash}, not the data sent (${datasetHash(data)}): refused, fitting it here`);
      const v = await here();
      this.provenance = { on: 'here', backend: v.backend };
      return { loss: v.loss, epochs: v.epochs };
    }
    await withTempDir(async (dir) => {
      await writeModelFiles(dir, r.files);
      await this.local.load(dir);
    });
    let probeMaxDiff: number | undefined;
    if (r.probe) {
      const mine = packPrediction(await this.local.predict(unpackRows(packRows(data.x.slice(0, PROBE_ROWS)), r.probe.rows)));
      probeMaxDiff = 0;
      for (const [a, b] of [[mine.mean, r.probe.mean], [mine.std, r.probe.std]] as const) for (let i = 0; i < a.length; i++) probeMaxDiff = Math.max(probeMaxDiff, Math.abs(a[i] - b[i]));
    }
    this.provenance = { on: 'worker', workerId: r.workerId, backend: r.backend, probeMaxDiff };
    this.log?.(`surrogate fitted on worker ${r.workerId} (${r.backend}; loaded here, probe predictions differ by at most ${probeMaxDiff})`);
    return { loss: r.loss, epochs: r.epochs };
  }

  predict(x: number[][]): Promise<Prediction> {
    return this.local.predict(x);
  }

  save(dir: string): Promise<void> {
    return this.local.save(dir);
  }

  async load(dir: string): Promise<void> {
    await this.local.load(dir);
  }
}

/** With no surrogate worker online for this long, a queued fit is run here instead. */
export const SURROGATE_NO_WORKER_MS = 5000;

export function parseKinds(list: string): ComputeKind[] {
  const kinds = list.split(',').map((k) => k.trim()).filter(Boolean);
  if (kinds.length === 0) throw new BadInputError(`expected a comma-separated list of ${COMPUTE_KINDS.join(', ')}`, '--kinds');
  for (const k of kinds) {
    if (!(COMPUTE_KINDS as readonly string[]).includes(k)) throw new BadInputError(`unknown kind "${k}"; expected some of ${COMPUTE_KINDS.join(', ')}`, '--kinds');
  }
  return [...new Set(kinds)] as ComputeKind[];
}

export async function startComputeWorker(o: ComputeWorkerOptions): Promise<MqttWorker> {
  const handlers: Record<string, ComputeHandler> = {};
  const closers: Array<() => Promise<void>> = [];
  if (o.kinds.includes('physics')) {
    const pool = createPhysicsPool({ size: o.concurrency });
    closers.push(() => pool.close());
    handlers.simulate = (p) => pool.run('simulate', p);
    handlers.tortuosity = (p) => pool.run('tortuosity', p);
  }
  if (o.kinds.includes('twin')) {
    handlers.generate = (p: GenerateTask) => generateHere(p);
  }
  const workerId = o.workerId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-');
  if (o.kinds.includes('surrogate')) {
    // Fits run on worker threads, so the MQTT loop keeps heartbeating through a long one.
    const pool = new WorkerPool({ workerUrl: trainWorkerUrl, size: o.concurrency });
    closers.push(() => pool.close());
    handlers.train = async (p: TrainTask): Promise<WorkerTrainResult> => ({ ...(await pool.run<TrainResult>('train', p)), workerId });
  }
  const worker = await startMqttWorker({
    ...connectionFromEnv(o.env),
    url: o.broker,
    lab: o.lab,
    workerId,
    kinds: o.kinds,
    concurrency: o.concurrency,
    handlers,
    heartbeatMs: o.heartbeatMs,
    log: o.log,
  }).catch(async (e) => {
    for (const c of closers) await c();
    throw e;
  });
  return {
    get workerId() {
      return worker.workerId;
    },
    get instance() {
      return worker.instance;
    },
    get running() {
      return worker.running;
    },
    get completed() {
      return worker.completed;
    },
    get failed() {
      return worker.failed;
    },
    lost: worker.lost,
    async stop() {
      await worker.stop();
      for (const c of closers) await c();
    },
    async kill() {
      await worker.kill();
      for (const c of closers) await c();
    },
  };
}

/**
 * What `doctor` checks of a campaign's compute broker (issue #21 scale review): the campaign's
 * own MQTT 5 connection — same credentials from the environment — and the Maximum Packet Size the
 * broker announces in its CONNACK. Throws as the campaign's connect would (3.1.1 only, a packet
 * limit under a blob chunk, refused credentials). Here so the CLI reaches the rig transport's
 * connection settings through the composition root (DESIGN.md).
 */
export async function probeComputeBroker(broker: string, timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<{ maxPacket: number }> {
  const client = await connectV5({ ...connectionFromEnv(env), url: broker, connectTimeoutMs: timeoutMs }, `poreloop-doctor-v5-${process.pid}-${Date.now() % 1e6}`);
  try {
    return { maxPacket: brokerMaxPacket(client) };
  } finally {
    await endClient(client);
  }
}

/** The campaign's side (`exec: mqtt`): tasks go to the workers on the campaign's broker and lab. */
export function connectComputeExecutor(broker: string, lab: string, options: Partial<MqttExecutorOptions> & { env?: NodeJS.ProcessEnv } = {}): Promise<MqttExecutor> {
  const { env, ...rest } = options;
  return MqttExecutor.connect({ ...connectionFromEnv(env), ...rest, url: broker, lab });
}
