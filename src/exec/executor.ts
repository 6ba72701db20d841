/**
 * What runs a named task somewhere else and hands back its value: the local worker_threads
 * pool (./worker-pool.ts, `exec: local`) or the MQTT compute workers (./mqtt-executor.ts,
 * `exec: mqtt`, issue #21). Callers such as src/physics/pool.ts take either.
 */
export interface TaskExecutor {
  /** Runs `task` with `payload`; resolves with the handler's value, rejects with its error. */
  run<T>(task: string, payload: unknown): Promise<T>;
  /** Workers (local threads, or advertised remote slots). */
  readonly size: number;
  /** Tasks not yet settled. */
  readonly pending: number;
  close(): Promise<void>;
}
