/**
 * 3D-CNN surrogate on voxel volumes (issue #5; Cecen et al., Acta Mater. 146 (2018) 76): a deep
 * ensemble of cnn3d networks (network.ts) that lives in its own worker thread on the cpu
 * backend, because on tfjs-backend-wasm 4.22 conv3d gradients and multi-channel maxPool3d are
 * wrong (backend.ts). Same `Surrogate` interface as the MLP ensemble: each row of x is one
 * downsampled volume, flattened (volume.ts `downsample`).
 *
 * The worker is started on first use and does not keep the process alive while idle;
 * `dispose()` ends it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BadInputError } from '../core/errors.js';
import type { Dataset, Prediction, Surrogate } from '../core/protocols.js';
import { type CnnInfo, type CnnRequest, type CnnResponse, type PackedPrediction, packDataset, packRows, unpackPrediction } from './cnn-protocol.js';
import type { Calibration, EnsembleOptions } from './ensemble.js';
import type { Cnn3dArchitecture } from './network.js';

export interface CnnOptions extends Omit<EnsembleOptions, 'architecture' | 'backend'> {
  /** Shape of one (downsampled) volume. */
  shape: [number, number, number];
  /** Filters per conv3d + max-pool block (default [8, 16]). */
  filters?: number[];
  /** Dense units after flattening (default [32]). */
  dense?: number[];
  head?: number[];
  activation?: Cnn3dArchitecture['activation'];
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * Starts a sibling module in a worker: the compiled .js in dist/, else the .ts source through
 * tsx's loader, registered inside the worker (loader hooks of the parent thread do not carry
 * over to workers on Node 20, and `--import tsx` in a worker's execArgv is not honoured).
 */
function startWorker(name: string): Worker {
  const js = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js);
  const ts = new URL(`./${name}.ts`, import.meta.url).href;
  const tsxApi = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); });`, { eval: true });
}

export class CnnSurrogate implements Surrogate {
  readonly name: string;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: (f: number) => void }>();
  private readonly architecture: Cnn3dArchitecture;
  private readonly options: Omit<EnsembleOptions, 'log'>;
  private readonly log: (m: string) => void;
  private info: CnnInfo = { calibration: null, dataHash: null };

  constructor(options: CnnOptions) {
    const { shape, filters, dense, head, activation, log, ...rest } = options;
    if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 4)) {
      throw new BadInputError(`needs three integer edge lengths >= 4 (got ${JSON.stringify(shape)})`, 'surrogate.shape');
    }
    this.architecture = { kind: 'cnn3d', shape, filters: filters ?? [8, 16], dense: dense ?? [32], head: head ?? [16], activation: activation ?? 'relu' };
    this.name = rest.name ?? 'cnn3d-ensemble';
    this.options = { ...rest, name: this.name, architecture: this.architecture };
    this.log = log ?? ((m) => process.stderr.write(`${m}\n`));
  }

  get calibration(): Calibration | null {
    return this.info.calibration;
  }

  get dataHash(): string | null {
    return this.info.dataHash;
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const w = startWorker('cnn-worker');
    w.on('message', (msg: CnnResponse) => {
      const p = this.pending.get(msg.id);
      if ('log' in msg) return this.log(msg.log);
      if (p === undefined) return;
      if ('progress' in msg) return p.progress?.(msg.progress);
      this.pending.delete(msg.id);
      if (this.pending.size === 0) w.unref();
      if (msg.ok) p.resolve(msg.value);
      else p.reject(msg.error.name === 'BadInputError' ? new BadInputError(msg.error.message) : new Error(`cnn worker: ${msg.error.message}`));
    });
    w.on('error', (e) => this.failAll(e));
    w.on('exit', (code) => {
      this.worker = null;
      if (this.pending.size > 0) this.failAll(new Error(`cnn worker exited with code ${code}`));
    });
    this.worker = w;
    void this.call({ op: 'init', options: this.options });
    return w;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call<T>(req: Distribute<CnnRequest>, transfer: ArrayBuffer[] = [], progress?: (f: number) => void): Promise<T> {
    const w = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      w.ref();
      w.postMessage({ ...req, id }, transfer);
    });
  }

  async fit(data: Dataset, options: { seed?: number; warmStart?: boolean; onProgress?: (f: number) => void } = {}): Promise<{ loss: number; epochs: number }> {
    const packed = packDataset(data);
    const result = await this.call<{ loss: number; epochs: number }>(
      { op: 'fit', data: packed, options: { seed: options.seed, warmStart: options.warmStart } },
      [packed.x.buffer as ArrayBuffer, packed.y.buffer as ArrayBuffer],
      options.onProgress,
    );
    this.info = await this.call<CnnInfo>({ op: 'info' });
    return result;
  }

  async predict(x: number[][]): Promise<Prediction> {
    const packed = packRows(x);
    return unpackPrediction(await this.call<PackedPrediction>({ op: 'predict', x: packed, rows: x.length }, [packed.buffer as ArrayBuffer]));
  }

  async save(dir: string): Promise<void> {
    await this.call({ op: 'save', dir });
  }

  async load(dir: string): Promise<void> {
    await this.call({ op: 'load', dir });
    this.info = await this.call<CnnInfo>({ op: 'info' });
  }

  /** Ends the worker thread (the model is lost unless saved). */
  async dispose(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }
}
