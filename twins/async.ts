import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, Twin, TwinGenerateOptions, TwinOutput } from '../src/core/protocols.js';
import { BUILT_IN_TWINS, twinRegistry } from './index.js';

/**
 * Generation without blocking the event loop (issue 3: "large domains use worker threads").
 * A 256³ structure takes about a second of synchronous work; in a process that also serves
 * MQTT, a progress bar or signals, that runs in a worker thread, and the voxel buffer is
 * transferred back without a copy. Same seed, same bytes as `twin.generate` (it is the same
 * code). Volumes under `workerAbove` voxels (default 128³) are generated inline after
 * yielding once (a worker's start-up, ~50 ms, would cost more than it saves), and so is every
 * volume of a twin that is not the built-in of its name (isBuiltInTwin).
 */
/**
 * Whether a worker (a thread, or a `poreloop worker` process) would generate with the same twin
 * as this thread: the registry's factory for `name` is the built-in one (BUILT_IN_TWINS, which
 * the worker's own registry holds). A caller's own twin, or
 * one registered under a built-in name, is generated in this thread (library review: the worker
 * answered "unknown twin" for the one, and silently used the built-in for the other).
 */
export function isBuiltInTwin(name: string): boolean {
  return Object.hasOwn(BUILT_IN_TWINS, name) && twinRegistry[name] === BUILT_IN_TWINS[name];
}

export interface AsyncGenerateOptions extends TwinGenerateOptions {
  /** Use a worker thread from this many voxels up (default 128³ = 2 097 152). */
  workerAbove?: number;
}

/**
 * Starts the worker: the compiled generate-worker.js when it exists (dist/), else the
 * TypeScript source through tsx's loader registered inside the worker (development and
 * tests; tsx is a dev dependency). Undefined when neither can run.
 */
export function startWorker(): Worker | undefined {
  const js = new URL('./generate-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL('./generate-worker.ts', import.meta.url);
  if (!existsSync(fileURLToPath(ts))) return undefined;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true });
}

export async function generateTwinAsync(twin: string, params: Parameters, options: AsyncGenerateOptions): Promise<TwinOutput & { thread: 'worker' | 'inline' }> {
  const make = twinRegistry[twin];
  if (!make) throw new BadInputError(`unknown twin "${twin}"; available: ${Object.keys(twinRegistry).join(', ')}`, 'twin');
  const { onProgress, workerAbove = 128 ** 3, ...rest } = options;
  const n = Array.isArray(rest.size) ? rest.size[0] * rest.size[1] * rest.size[2] : 0;
  const w = n >= workerAbove && isBuiltInTwin(twin) ? startWorker() : undefined;
  if (!w) {
    await new Promise((r) => setImmediate(r));
    return { ...make().generate(params, options), thread: 'inline' };
  }
  return new Promise((resolve, reject) => {
    w.on('message', (m: { kind: string; fraction?: number; stage?: string; output?: TwinOutput; badInput?: boolean; message?: string; path?: string }) => {
      if (m.kind === 'progress') onProgress?.(m.fraction!, m.stage!);
      else {
        void w.terminate();
        if (m.kind === 'done') {
          const out = m.output!;
          // Structured clone turns the typed array's class back into a plain Uint8Array.
          out.voxels.data = new Uint8Array(out.voxels.data.buffer, out.voxels.data.byteOffset, out.voxels.data.length);
          resolve({ ...out, thread: 'worker' });
        } else if (m.badInput) reject(new BadInputError(m.message!.replace(/^[^:]*: /, ''), m.path));
        else reject(new Error(m.message));
      }
    });
    w.on('error', reject);
    w.postMessage({ twin, params, options: rest });
  });
}
