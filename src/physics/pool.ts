import { SimulationError } from '../core/errors.js';
import type { SimulationReport, Voxels } from '../core/protocols.js';
import { err, ok, type Result } from '../core/result.js';
import type { TaskExecutor } from '../exec/executor.js';
import { WorkerPool, type WorkerPoolOptions } from '../exec/worker-pool.js';
import type { SimulateRequest } from './index.js';
import type { SimulateTask, SimulateTaskResult } from './worker.js';

/** URL of the physics worker module (./worker.ts, or worker.js once compiled). */
export const physicsWorkerUrl = new URL('./worker.js', import.meta.url);

/** A worker pool serving the physics tasks of ./worker.ts. */
export function createPhysicsPool(options: Omit<WorkerPoolOptions, 'workerUrl'> = {}): WorkerPool {
  return new WorkerPool({ ...options, workerUrl: physicsWorkerUrl });
}

/**
 * `simulate()` on a pool worker (local thread or MQTT compute worker): same Result as the
 * in-thread call. `request.onProgress` is not called: progress does not cross the worker boundary.
 */
export async function simulateInPool(pool: TaskExecutor, voxels: Voxels, request: SimulateRequest): Promise<Result<SimulationReport, SimulationError>> {
  // onProgress stays on this thread (a function cannot be cloned to a worker or sent over
  // MQTT); pool callers see a run's end, not its solves (diff review 2026-12-07, item 4).
  const { onProgress: _local, ...sent } = request;
  const task: SimulateTask = { voxels, request: sent };
  const r = await pool.run<SimulateTaskResult>('simulate', task);
  return r.ok ? ok(r.value) : err(new SimulationError(r.error.message, r.error.reason));
}
