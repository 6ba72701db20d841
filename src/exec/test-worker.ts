import { threadId } from 'node:worker_threads';
import { serveTasks } from './worker-host.js';

/** Fixture for worker-pool.test.ts: tasks that echo, wait, fail and crash. */
serveTasks({
  echo: (p: unknown) => p,
  sleep: (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)),
  fail: (message: string) => {
    throw new RangeError(message);
  },
  crash: () => process.exit(3),
  thread: (ms: number) => new Promise((r) => setTimeout(() => r(threadId), ms)),
  sum: (a: Float64Array) => a.reduce((s, v) => s + v, 0),
});
