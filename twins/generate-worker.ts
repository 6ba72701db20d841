import { parentPort } from 'node:worker_threads';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, TwinGenerateOptions } from '../src/core/protocols.js';
import { twinRegistry } from './index.js';

/**
 * Worker-thread entry of generateTwinAsync (async.ts): generates one structure off the main
 * thread and transfers the voxel buffer back (no copy). Progress is forwarded as messages.
 */
export interface GenerateRequest {
  twin: string;
  params: Parameters;
  options: Omit<TwinGenerateOptions, 'onProgress'>;
}

parentPort?.on('message', (req: GenerateRequest) => {
  try {
    const make = twinRegistry[req.twin];
    if (!make) throw new BadInputError(`unknown twin "${req.twin}"; available: ${Object.keys(twinRegistry).join(', ')}`, 'twin');
    const out = make().generate(req.params, { ...req.options, onProgress: (fraction, stage) => parentPort!.postMessage({ kind: 'progress', fraction, stage }) });
    parentPort!.postMessage({ kind: 'done', output: out }, [out.voxels.data.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error & { path?: string };
    parentPort!.postMessage({ kind: 'error', badInput: e instanceof BadInputError, message: err.message, path: err.path });
  }
});
