import { parentPort } from 'node:worker_threads';
import type { TaskReply, TaskRequest, Transferable } from './worker-pool.js';

/**
 * The worker side of ./worker-pool.ts: `serveTasks({ name: handler })` answers each task
 * message with the handler's value, or with its error (name, message and an optional `data`
 * field the handler attached), so that one failing task never takes the worker down.
 */
export type TaskHandler = (payload: any) => unknown;

/** What a handler may return to transfer (not copy) buffers back to the caller. */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly transfer: Transferable[],
  ) {}
}

export function serveTasks(handlers: Record<string, TaskHandler>): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks must run inside a worker thread');
  port.on('message', async (msg: TaskRequest) => {
    let reply: TaskReply;
    let transfer: Transferable[] = [];
    try {
      const handler = handlers[msg.task];
      if (!handler) throw new Error(`unknown task "${msg.task}"; this worker serves: ${Object.keys(handlers).join(', ')}`);
      let value = await handler(msg.payload);
      if (value instanceof Transfer) {
        transfer = value.transfer;
        value = value.value;
      }
      reply = { id: msg.id, ok: true, value };
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      reply = { id: msg.id, ok: false, error: { name: error.name, message: error.message, data: (error as { data?: unknown }).data } };
    }
    port.postMessage(reply, transfer);
  });
}
