/**
 * `trainGanInWorker` (issue #19): SliceGAN training (gan.ts) in a worker thread that saves the
 * model to a folder, with progress reported back. Use it from any process that does anything
 * else (the CLI, a campaign); `trainGan` itself runs in the calling thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BadInputError } from '../core/errors.js';
import type { Voxels } from '../core/protocols.js';
import type { GanMetadata, GanProgress, GanTrainOptions } from './gan.js';

export interface GanWorkerRequest {
  volumes: Voxels[];
  options: Omit<GanTrainOptions, 'volumes' | 'onProgress'>;
  outDir: string;
}

export type GanWorkerResponse =
  | { kind: 'progress'; progress: GanProgress }
  | { kind: 'log'; message: string }
  | { kind: 'done'; metadata: GanMetadata; history: GanProgress[] }
  | { kind: 'error'; message: string; badInput: boolean; path?: string };

/** The compiled worker (dist/) when present, else the TypeScript source through tsx's loader (development, tests). */
function startWorker(): Worker {
  const js = new URL('./gan-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL('./gan-worker.ts', import.meta.url);
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts.href)}); })`;
  return new Worker(boot, { eval: true });
}

export function trainGanInWorker(
  volumes: Voxels[],
  outDir: string,
  options: GanWorkerRequest['options'] & { onProgress?: (p: GanProgress) => void; log?: (m: string) => void },
): Promise<{ metadata: GanMetadata; history: GanProgress[] }> {
  const { onProgress, log, ...rest } = options;
  const w = startWorker();
  return new Promise((resolve, reject) => {
    w.on('message', (m: GanWorkerResponse) => {
      if (m.kind === 'progress') onProgress?.(m.progress);
      else if (m.kind === 'log') log?.(m.message);
      else {
        void w.terminate();
        if (m.kind === 'done') resolve({ metadata: m.metadata, history: m.history });
        else reject(m.badInput ? new BadInputError(m.message, m.path) : new Error(m.message));
      }
    });
    w.on('error', reject);
    w.on('exit', (code) => reject(new Error(`GAN training worker exited with code ${code}`)));
    w.postMessage({ volumes, options: rest, outDir } satisfies GanWorkerRequest);
  });
}
