import { hostname } from 'node:os';
import { connectionFromEnv } from '../../robots/transport/mqtt.js';
import { generateTwinAsync } from '../../twins/async.js';
import { BadInputError } from '../core/errors.js';
import type { Parameters, Shape3 } from '../core/protocols.js';
import { MqttExecutor, type MqttExecutorOptions } from '../exec/mqtt-executor.js';
import { COMPUTE_KINDS, type ComputeKind } from '../exec/mqtt-wire.js';
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
    handlers.generate = async (p: GenerateTask) => {
      const out = await generateTwinAsync(p.twin, p.params, { seed: p.seed, size: p.size, voxelSize: p.voxelSize });
      return { voxels: out.voxels, achieved: out.achieved };
    };
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
