/**
 * Worker thread that owns a cnn3d deep ensemble (cnn.ts). TensorFlow.js backends are global
 * to a thread, so convolutions train and predict here on the cpu backend (or native, when
 * installed) while the main thread keeps wasm for dense networks (backend.ts, STACK.md).
 */
import { parentPort } from 'node:worker_threads';
import { DeepEnsemble, type EnsembleOptions } from './ensemble.js';
import { type CnnRequest, type CnnResponse, packPrediction, unpackDataset, unpackRows } from './cnn-protocol.js';

if (parentPort === null) throw new Error('cnn-worker must run in a worker thread');
const port = parentPort;
let model: DeepEnsemble | null = null;

const reply = (msg: CnnResponse, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

port.on('message', async (req: CnnRequest) => {
  try {
    switch (req.op) {
      case 'init': {
        const options: EnsembleOptions = { ...req.options, backend: 'conv', log: (message) => reply({ id: req.id, log: message }) };
        model = new DeepEnsemble(options);
        reply({ id: req.id, ok: true });
        break;
      }
      case 'fit': {
        const result = await need().fit(unpackDataset(req.data), { ...req.options, onProgress: (f) => reply({ id: req.id, progress: f }) });
        reply({ id: req.id, ok: true, value: result });
        break;
      }
      case 'predict': {
        const packed = packPrediction(await need().predict(unpackRows(req.x, req.rows)));
        reply({ id: req.id, ok: true, value: packed }, [packed.mean.buffer as ArrayBuffer, packed.std.buffer as ArrayBuffer]);
        break;
      }
      case 'save':
        await need().save(req.dir);
        reply({ id: req.id, ok: true });
        break;
      case 'load':
        await need().load(req.dir);
        reply({ id: req.id, ok: true });
        break;
      case 'info':
        reply({ id: req.id, ok: true, value: { calibration: need().calibration, dataHash: need().dataHash } });
        break;
    }
  } catch (e) {
    const error = e instanceof Error ? { name: e.name, message: e.message, path: (e as { path?: string }).path } : { name: 'Error', message: String(e) };
    reply({ id: req.id, ok: false, error });
  }
});

function need(): DeepEnsemble {
  if (model === null) throw new Error('cnn worker used before init');
  return model;
}
