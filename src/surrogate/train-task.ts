/**
 * One surrogate fit as a self-contained task (issue #21, `poreloop worker --kinds surrogate`):
 * the packed dataset (cnn-protocol.ts), the ensemble's options, the seed and — for a warm start
 * — the saved weights to continue from go in; the saved weights and calibration (the files
 * `DeepEnsemble.save` writes), the data hash and the backend come out. It is the same
 * `DeepEnsemble.fit` the campaign runs here, so a fit from the same data, seed and start is
 * deterministic on the same backend (not bit-exact across backends: the result names it).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { type PackedDataset, type PackedPrediction, packPrediction, unpackDataset, unpackRows } from './cnn-protocol.js';
import { DeepEnsemble, type Calibration, type EnsembleOptions } from './ensemble.js';

/** A saved ensemble as relative path → bytes (metadata.json, member-k/model.json, member-k/weights.bin). */
export type ModelFiles = Record<string, Uint8Array>;

export interface TrainTask {
  /** The ensemble's options as the campaign built it (no `log`: functions do not travel). */
  options: Omit<EnsembleOptions, 'log'>;
  data: PackedDataset;
  seed: number;
  warmStart: boolean;
  /** The weights to continue from (warm start); absent for a fit from scratch. */
  start?: ModelFiles;
  /** Rows predicted with the fitted model, so the receiver can check the weights it loads reproduce them. */
  probe?: { x: Float32Array; rows: number };
}

export interface TrainResult {
  files: ModelFiles;
  loss: number;
  epochs: number;
  dataHash: string;
  calibration: Calibration | null;
  /** The TensorFlow.js backend the fit ran on ('wasm', 'cpu', 'tensorflow'). */
  backend: string;
  probe?: PackedPrediction;
}

/** The active TensorFlow.js backend of this thread. */
export const activeBackend = (): string => tf.getBackend();

/** Reads a saved model directory into memory (paths with `/`, whatever the OS). */
export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const files: ModelFiles = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    files[relative(dir, full).split(sep).join('/')] = new Uint8Array(await readFile(full));
  }
  return files;
}

/** Writes model files under `dir`; a path that would leave `dir` is refused (the files come off the wire). */
export async function writeModelFiles(dir: string, files: ModelFiles): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(name) || name.split('/').some((p) => p === '..' || p === '.')) {
      throw new BadInputError(`expected a relative path of letters, digits, '_', '-', '.' and '/', got ${JSON.stringify(name.slice(0, 100))}`, 'model files');
    }
    const full = join(dir, name);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, bytes);
  }
}

/** Runs `f` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'poreloop-surrogate-'));
  try {
    return await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fits a deep ensemble as the task says and returns it saved. */
export async function trainTask(t: TrainTask): Promise<TrainResult> {
  const model = new DeepEnsemble(t.options);
  try {
    return await withTempDir(async (dir) => {
      if (t.start) {
        await writeModelFiles(join(dir, 'start'), t.start);
        await model.load(join(dir, 'start'));
      }
      const { loss, epochs } = await model.fit(unpackDataset(t.data), { seed: t.seed, warmStart: t.warmStart });
      await model.save(join(dir, 'fitted'));
      const probe = t.probe && t.probe.rows > 0 ? packPrediction(await model.predict(unpackRows(t.probe.x, t.probe.rows))) : undefined;
      return { files: await readModelFiles(join(dir, 'fitted')), loss, epochs, dataHash: model.dataHash!, calibration: model.calibration, backend: activeBackend(), probe };
    });
  } finally {
    model.dispose();
  }
}
