import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { BadInputError, PoreloopError } from '../core/errors.js';

/**
 * A fixed-size pool of worker_threads (DESIGN.md, "Scale": twin generation and physics run
 * off the orchestrator's event loop). Each worker module registers named task handlers with
 * `serveTasks` (./worker-host.ts); `run(task, payload)` sends one task to a free worker.
 *
 * - The queue of waiting tasks is bounded: `run` rejects at once with a QueueFullError when it
 *   is full, so a producer that outruns the workers learns about it instead of growing memory.
 * - A worker that crashes (uncaught exception, process.exit, out of memory) rejects only the
 *   task it was running, with a WorkerCrashError, and is replaced by a fresh worker.
 * - Works from compiled dist/ (.js) and from sources under vitest/tsx: when the .js module
 *   does not exist but a .ts sibling does, the worker runs the .ts file through tsx. Node 20
 *   does not apply `--import tsx` given in a Worker's execArgv, so the worker starts from a
 *   two-line bootstrap that registers tsx's ESM hooks (tsx/esm/api) and imports the module.
 */

/** What may be moved (not copied) to a worker: ArrayBuffers, MessagePorts… */
export type Transferable = TransferListItem;

export class QueueFullError extends PoreloopError {}
export class WorkerCrashError extends PoreloopError {}
export class PoolClosedError extends PoreloopError {}

/** Error raised by a task handler inside a worker, re-created on the calling side. */
export class TaskError extends PoreloopError {
  constructor(
    message: string,
    readonly remoteName: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface WorkerPoolOptions {
  /** Module that calls serveTasks (a URL or path, .js or .ts). */
  workerUrl: URL | string;
  /** Number of workers; default availableParallelism() − 1, at least 1. */
  size?: number;
  /** Largest number of tasks waiting for a worker; default 1024. */
  maxQueue?: number;
  /** Passed to each worker as workerData. */
  workerData?: unknown;
}

/** Messages between the pool and its workers. */
export interface TaskRequest {
  id: number;
  task: string;
  payload: unknown;
}
export type TaskReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; data?: unknown } };

interface Job {
  id: number;
  task: string;
  payload: unknown;
  transfer?: Transferable[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** The file a worker should run, and whether it is TypeScript (run through tsx). */
export function resolveWorkerModule(url: URL | string): { file: string; typescript: boolean } {
  const file = url instanceof URL ? fileURLToPath(url) : url.startsWith('file:') ? fileURLToPath(url) : url;
  if (file.endsWith('.ts')) return { file, typescript: true };
  if (!existsSync(file) && file.endsWith('.js')) {
    const ts = file.slice(0, -3) + '.ts';
    if (existsSync(ts)) return { file: ts, typescript: true };
  }
  return { file, typescript: false };
}

/** ESM entry of tsx's register API (the CJS entry cannot register ESM hooks). */
function tsxApiUrl(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

function startWorker(module: { file: string; typescript: boolean }, workerData: unknown): Worker {
  if (!module.typescript) return new Worker(module.file, { workerData });
  const code =
    `import(${JSON.stringify(tsxApiUrl())})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(module.file).href)}); });`;
  return new Worker(code, { eval: true, workerData });
}

/** The most workers one pool starts (several times the cores of any machine poreloop targets). */
export const MAX_POOL_SIZE = 256;

export class WorkerPool {
  readonly size: number;
  private readonly maxQueue: number;
  private readonly module: { file: string; typescript: boolean };
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers started so far (replacements included), for diagnostics. */
  started = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, options.size ?? Math.max(1, availableParallelism() - 1));
    // Each worker is a V8 isolate with its own heap: an unbounded size (issue #14: 1 639
    // threads from `analyse --workers 1e9`) exhausts memory long before it adds speed.
    if (!Number.isInteger(this.size) || this.size > MAX_POOL_SIZE) {
      throw new BadInputError(`worker pool size must be an integer from 1 to ${MAX_POOL_SIZE}, got ${options.size}`, 'size');
    }
    this.maxQueue = options.maxQueue ?? 1024;
    this.module = resolveWorkerModule(options.workerUrl);
    if (!existsSync(this.module.file)) throw new PoreloopError(`worker module not found: ${this.module.file}`);
    for (let i = 0; i < this.size; i++) this.slots.push(this.spawn());
  }

  /** Tasks waiting for a worker. */
  get pending(): number {
    return this.queue.length;
  }

  /** Runs `task` on a free worker; resolves with the handler's return value. */
  run<T>(task: string, payload: unknown, transfer?: Transferable[]): Promise<T> {
    if (this.closed) return Promise.reject(new PoolClosedError('worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.nextId++, task, payload, transfer, resolve: resolve as (v: unknown) => void, reject };
      const free = this.slots.find((s) => s.job === null);
      if (free) return this.start(free, job);
      if (this.queue.length >= this.maxQueue) {
        return reject(new QueueFullError(`worker pool queue is full (${this.maxQueue} tasks waiting, ${this.size} workers busy); retry later or raise maxQueue`));
      }
      this.queue.push(job);
    });
  }

  /** Rejects waiting tasks, lets running tasks finish, then stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new PoolClosedError('worker pool closed before the task started'));
    await Promise.all(
      this.slots.map(async (s) => {
        if (s.job) await new Promise<void>((r) => s.worker.once('message', () => r()).once('exit', () => r()));
        await s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = startWorker(this.module, this.options.workerData);
    this.started++;
    const slot: Slot = { worker, job: null };
    worker.on('message', (msg: TaskReply) => {
      const job = slot.job;
      if (!job || job.id !== msg.id) return;
      slot.job = null;
      if (msg.ok) job.resolve(msg.value);
      else job.reject(new TaskError(msg.error.message, msg.error.name, msg.error.data));
      this.next(slot);
    });
    const fail = (why: string): void => {
      const job = slot.job;
      slot.job = null;
      const idx = this.slots.indexOf(slot);
      if (job) job.reject(new WorkerCrashError(`worker crashed while running task "${job.task}": ${why}`));
      if (idx >= 0 && !this.closed) {
        worker.removeAllListeners();
        void worker.terminate();
        const fresh = this.spawn();
        this.slots[idx] = fresh;
        this.next(fresh);
      }
    };
    worker.on('error', (e) => fail(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => {
      if (!this.closed) fail(`exited with code ${code}`);
    });
    return slot;
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    const msg: TaskRequest = { id: job.id, task: job.task, payload: job.payload };
    try {
      slot.worker.postMessage(msg, job.transfer ?? []);
    } catch (e) {
      slot.job = null;
      job.reject(e instanceof Error ? e : new Error(String(e)));
      this.next(slot);
    }
  }

  private next(slot: Slot): void {
    const job = this.queue.shift();
    if (job) this.start(slot, job);
  }
}

/** URL of a module beside the caller, for workerUrl (keeps call sites short). */
export function siblingUrl(file: string, base: string | URL): URL {
  return new URL(file, base instanceof URL ? base : pathToFileURL(base));
}
