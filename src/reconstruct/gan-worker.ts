/**
 * Worker thread that trains a SliceGAN (gan.ts, issue #19). TensorFlow.js's backend is global
 * to a thread, and training is minutes of synchronous tensor work: here it neither blocks the
 * caller's event loop (progress, signals) nor changes the backend the caller's dense networks
 * use (src/surrogate/backend.ts). Messages: gan-train.ts.
 */
import { parentPort } from 'node:worker_threads';
import { BadInputError } from '../core/errors.js';
import { saveGan, trainGan, useGanBackend } from './gan.js';
import type { GanWorkerRequest, GanWorkerResponse } from './gan-train.js';

if (parentPort === null) throw new Error('gan-worker must run in a worker thread');
const port = parentPort;
const reply = (m: GanWorkerResponse) => port.postMessage(m);

port.once('message', async (req: GanWorkerRequest) => {
  try {
    const backend = await useGanBackend();
    reply({ kind: 'log', message: `poreloop: TensorFlow.js backend '${backend}' for GAN training` });
    // Structured clone turns typed arrays back into plain Uint8Arrays: rebuild the volumes.
    const volumes = req.volumes.map((v) => ({ ...v, data: new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.length) }));
    const { model, history } = await trainGan({ ...req.options, volumes, onProgress: (p) => reply({ kind: 'progress', progress: p }) });
    saveGan(model, req.outDir);
    reply({ kind: 'done', metadata: model.metadata, history });
  } catch (e) {
    const err = e as Error & { path?: string };
    reply({ kind: 'error', message: err.message, badInput: e instanceof BadInputError, path: err.path });
  }
});
