import { afterEach, describe, expect, it } from 'vitest';
import { QueueFullError, resolveWorkerModule, TaskError, WorkerCrashError, WorkerPool } from './worker-pool.js';

const url = new URL('./test-worker.js', import.meta.url);

describe('WorkerPool', () => {
  let pool: WorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('falls back to the .ts sibling (run with tsx) when the .js module does not exist', () => {
    const m = resolveWorkerModule(url);
    expect(m.file.endsWith('test-worker.ts')).toBe(true);
    expect(m.typescript).toBe(true);
    expect(resolveWorkerModule(new URL('./worker-pool.test.ts', import.meta.url)).typescript).toBe(true);
  });

  it('runs tasks on several workers and returns their values, transferring buffers', async () => {
    pool = new WorkerPool({ workerUrl: url, size: 2 });
    // Two tasks submitted together run on two different workers.
    const [a, b] = await Promise.all([pool.run<number>('thread', 200), pool.run<number>('thread', 200)]);
    expect(a).not.toBe(b);
    const buf = Float64Array.from([1, 2, 3.5]);
    expect(await pool.run<number>('sum', buf, [buf.buffer])).toBe(6.5);
    expect(buf.length).toBe(0);
  });

  it('passes a handler error back as a TaskError and keeps the worker', async () => {
    pool = new WorkerPool({ workerUrl: url, size: 1 });
    const e = await pool.run('fail', 'bad thing').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TaskError);
    expect((e as TaskError).remoteName).toBe('RangeError');
    expect((e as Error).message).toBe('bad thing');
    expect(await pool.run('echo', { a: 1 })).toEqual({ a: 1 });
    expect(pool.started).toBe(1);
  });

  it('rejects only the task of a crashed worker and replaces the worker', async () => {
    pool = new WorkerPool({ workerUrl: url, size: 1 });
    const crashed = pool.run('crash', null);
    const queued = pool.run('echo', 'after');
    await expect(crashed).rejects.toBeInstanceOf(WorkerCrashError);
    expect(await queued).toBe('after');
    expect(pool.started).toBe(2);
  });

  it('rejects at once when the queue is full', async () => {
    pool = new WorkerPool({ workerUrl: url, size: 1, maxQueue: 1 });
    const running = pool.run('sleep', 100);
    const waiting = pool.run('sleep', 1);
    await expect(pool.run('echo', 1)).rejects.toBeInstanceOf(QueueFullError);
    expect(await running).toBe(100);
    expect(await waiting).toBe(1);
  });

  it('names the unknown task and the ones served', async () => {
    pool = new WorkerPool({ workerUrl: url, size: 1 });
    await expect(pool.run('nope', 1)).rejects.toThrow(/unknown task "nope".*echo/);
  });
});
