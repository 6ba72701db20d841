import { hostname } from 'node:os';
import { connectionFromEnv } from '../../robots/transport/mqtt.js';
import { generateTwinAsync } from '../../twins/async.js';
import { BadInputError } from '../core/errors.js';
import type { Parameters, Shape3, Voxels } from '../core/protocols.js';
import type { TaskExecutor } from '../exec/executor.js';
import { MqttExecutor, WorkerLostError, type MqttExecutorOptions } from '../exec/mqtt-executor.js';
import { COMPUTE_KINDS, WireError, type ComputeKind } from '../exec/mqtt-wire.js';
import { startMqttWorker, type ComputeHandler, type MqttWorker } from '../exec/mqtt-worker.js';
import { createPhysicsPool } from '../physics/pool.js';

/**
 * What `poreloop worker` runs (issue #21): an MQTT 5 compute worker whose handlers are the
 * physics tasks of src/physics/worker.ts on a local worker_threads pool of `concurrency`
 * threads (so the MQTT loop keeps heartbeating while a solve runs) and twin generation.
 * Surrogate training is not offered yet: `--kinds surrogate` is refused with that reason.
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
 * The campaign's twin volumes (`exec: mqtt`, issue #21): on a `twin` worker while one is online,
 * else here (counted, so the campaign can say where they were made). A volume sent to a worker that then leaves, or that misses its deadline, is
 * generated here after all (WorkerLostError), as is one whose result blob could not be fetched
 * (WireError); the twin is deterministic, so the bytes are the same either way. A generation
 * error (bad parameters) is the twin's, and would be the same here: it is passed on.
 */
export function twinVolumes(pool: TaskExecutor, log?: (line: string) => void) {
  const counts = { workers: 0, here: 0 };
  return {
    /** Volumes generated on twin workers and in this process so far. */
    counts,
    async generate(t: GenerateTask): Promise<{ voxels: Voxels; achieved: Record<string, number> }> {
      if (pool instanceof MqttExecutor && pool.capacity('twin') > 0) {
        try {
          const out = await pool.run<{ voxels: Voxels; achieved: Record<string, number> }>('generate', t, { deadlineMs: twinDeadlineMs(t.size), noWorkerMs: TWIN_NO_WORKER_MS });
          counts.workers++;
          return out;
        } catch (e) {
          if (!(e instanceof WorkerLostError) && !(e instanceof WireError)) throw e;
          log?.(`twin volume on the workers failed (${(e as Error).message}); generating it here`);
        }
      }
      const out = await generateHere(t);
      counts.here++;
      return out;
    },
  };
}

export function parseKinds(list: string): ComputeKind[] {
  const kinds = list.split(',').map((k) => k.trim()).filter(Boolean);
  if (kinds.length === 0) throw new BadInputError(`expected a comma-separated list of ${COMPUTE_KINDS.join(', ')}`, '--kinds');
  for (const k of kinds) {
    if (!(COMPUTE_KINDS as readonly string[]).includes(k)) throw new BadInputError(`unknown kind "${k}"; expected some of ${COMPUTE_KINDS.join(', ')}`, '--kinds');
  }
  if (kinds.includes('surrogate')) throw new BadInputError('surrogate training on compute workers is not implemented yet; serve physics and/or twin', '--kinds');
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
  const worker = await startMqttWorker({
    ...connectionFromEnv(o.env),
    url: o.broker,
    lab: o.lab,
    workerId: o.workerId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, '-'),
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
    get running() {
      return worker.running;
    },
    get completed() {
      return worker.completed;
    },
    get failed() {
      return worker.failed;
    },
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

/** The campaign's side (`exec: mqtt`): tasks go to the workers on the campaign's broker and lab. */
export function connectComputeExecutor(broker: string, lab: string, options: Partial<MqttExecutorOptions> & { env?: NodeJS.ProcessEnv } = {}): Promise<MqttExecutor> {
  const { env, ...rest } = options;
  return MqttExecutor.connect({ ...connectionFromEnv(env), ...rest, url: broker, lab });
}
