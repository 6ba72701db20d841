/**
 * Early-life prediction of a cell's end of life (issue #20): a TensorFlow.js LSTM reads the
 * first part of a durability test — the capacity and resistance series of the early window —
 * and predicts the cycle at which capacity will reach the EOL criterion, with σ.
 *
 * Why this model. Severson et al., Nature Energy 4 (2019) 383, showed that the first 100
 * cycles of a test predict cycle life to ≈ 9 % error, from features of how the early series
 * evolve; a sequence model learns such features from the series themselves (their
 * discussion; e.g. Attia et al., J. Electrochem. Soc. 169 (2022) 060517 for later
 * sequence-model work). An LSTM (Hochreiter & Schmidhuber 1997) is used rather than a 1D CNN
 * because convolution training on the tfjs wasm backend is broken (STACK.md), and the series
 * are short (≈ 20 steps), so a recurrent net trains quickly on the wasm (dense) backend.
 *
 * - Inputs: a Dataset whose input names are the durability result's early-window keys
 *   `capacity_<cycle>` and `resistance_<cycle>` (robots/sim/durability.ts seriesKey), one pair
 *   per cycle of the window — so a stopped test's result is a row as it stands. Channels per
 *   step: capacity − 1 and ln resistance, each standardised over the training rows.
 * - Output: one property (`eol`, cycles). The net predicts μ and ln σ of standardised ln EOL
 *   and is trained by the Gaussian negative log-likelihood (Nix & Weigend 1994; the
 *   heteroscedastic loss of Lakshminarayanan et al. 2017), with early stopping on a held-out
 *   validation split; σ is then rescaled so that μ ± σ covers 68 % of the validation rows
 *   (Kuleshov et al. 2018, as ensemble.ts does).
 * - Prediction: mean = exp(μ) (the median of the predicted lognormal, cycles), std = mean · σ
 *   (the delta-method σ in cycles).
 *
 * The model is a *prediction*, not a measurement: src/predict/early-life.ts turns its output
 * into an observation of fidelity `early-life`, which a campaign never counts as measured.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import type { Dataset, Prediction, Surrogate } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { ensureBackend } from './backend.js';
import { checkDataset, datasetHash, permutation } from './dataset.js';
import { fileIO } from './io.js';

export interface EolOptions {
  name?: string;
  /** LSTM units (default 32). */
  units?: number;
  /** Units of the dense layer after the LSTM (default 32). */
  dense?: number;
  /** Maximum epochs (default 200) and early-stopping patience (default 25). */
  epochs?: number;
  patience?: number;
  batchSize?: number;
  /** Adam learning rate (default 3e-3). */
  learningRate?: number;
  /** Share of rows held out for early stopping and σ calibration (default 0.2). */
  validationFraction?: number;
  log?: (message: string) => void;
}

interface EolState {
  model: tf.LayersModel;
  inputs: string[];
  /** Input column of each (step, channel): cycles ascending, channel 0 capacity, 1 resistance. */
  columns: Array<[number, number]>;
  cycles: number[];
  norm: { mean: [number, number]; std: [number, number] };
  target: { mean: number; std: number };
  /** σ scale from the validation rows (68 % coverage). */
  sigmaScale: number;
  dataHash: string;
  trainingRows: number;
}

export interface EolMetadata {
  format: 'poreloop-surrogate';
  version: 1;
  kind: 'eol-lstm';
  name: string;
  options: Required<Omit<EolOptions, 'log' | 'name'>>;
  inputs: string[];
  outputs: string[];
  norm: EolState['norm'];
  target: EolState['target'];
  sigmaScale: number;
  dataHash: string;
  trainingRows: number;
  savedAt: string;
}

/**
 * A saved model's metadata and the early window it reads, without loading the net: a campaign
 * checks its durability settings against the window when it is loaded (#20 review).
 */
export function readEolMetadata(dir: string): { meta: EolMetadata; cycles: number[]; columns: Array<[number, number]> } {
  let meta: EolMetadata;
  try {
    meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as EolMetadata;
  } catch (e) {
    throw new BadInputError(`no readable surrogate metadata.json (${(e as Error).message})`, dir);
  }
  if (meta.format !== 'poreloop-surrogate' || meta.version !== 1 || meta.kind !== 'eol-lstm') {
    throw new BadInputError(`not a poreloop eol-lstm surrogate of version 1 (format ${meta.format}, version ${meta.version}, kind ${meta.kind})`, dir);
  }
  return { meta, ...seriesColumns(meta.inputs, `${dir}/metadata.json inputs`) };
}

const DEFAULTS: Required<Omit<EolOptions, 'log' | 'name'>> = { units: 32, dense: 32, epochs: 200, patience: 25, batchSize: 64, learningRate: 3e-3, validationFraction: 0.2 };

/** Splits the early-window input names into cycles × channels; throws naming the bad one. */
export function seriesColumns(inputs: readonly string[], where = 'dataset.inputs'): { cycles: number[]; columns: Array<[number, number]> } {
  const at = new Map<number, [number, number]>();
  inputs.forEach((name, i) => {
    const m = /^(capacity|resistance)_(\d+)$/.exec(name);
    if (!m) throw new BadInputError(`input "${name}" is not an early-window series value; allowed: capacity_<cycle>, resistance_<cycle>`, where);
    const cycle = Number(m[2]);
    const pair = at.get(cycle) ?? [-1, -1];
    pair[m[1] === 'capacity' ? 0 : 1] = i;
    at.set(cycle, pair);
  });
  const cycles = [...at.keys()].sort((a, b) => a - b);
  for (const c of cycles) if (at.get(c)!.includes(-1)) throw new BadInputError(`cycle ${c} needs both capacity_${c} and resistance_${c}`, where);
  if (cycles.length < 2) throw new BadInputError(`needs at least two cycles of the early window, got ${cycles.length}`, where);
  return { cycles, columns: cycles.map((c) => at.get(c)!) };
}

const channel = (k: number, v: number) => (k === 0 ? v - 1 : Math.log(v));

export class EolSurrogate implements Surrogate {
  readonly name: string;
  private readonly opts: Required<Omit<EolOptions, 'log' | 'name'>>;
  private readonly log?: (m: string) => void;
  private state?: EolState;

  constructor(options: EolOptions = {}) {
    this.name = options.name ?? 'eol-lstm';
    this.opts = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k !== 'log' && k !== 'name')) };
    this.log = options.log;
  }

  /** The early window's cycles the model reads (after fit or load). */
  get cycles(): readonly number[] {
    return this.require().cycles;
  }

  /** sha256 of the training data (provenance of its predictions, after fit or load). */
  get dataHash(): string {
    return this.require().dataHash;
  }

  private require(): EolState {
    if (!this.state) throw new Error(`${this.name}: not trained; call fit() or load() first`);
    return this.state;
  }

  private tensor(x: readonly number[][], s: Pick<EolState, 'columns' | 'norm'>): tf.Tensor3D {
    const T = s.columns.length;
    const buf = new Float32Array(x.length * T * 2);
    x.forEach((row, i) => {
      s.columns.forEach(([qc, rc], t) => {
        [qc, rc].forEach((col, k) => {
          const v = channel(k, row[col]);
          if (!Number.isFinite(v)) throw new BadInputError(`row ${i}: ${k === 0 ? 'capacity' : 'resistance'} value ${row[col]} is not usable (capacity must be finite, resistance > 0)`, 'x');
          buf[(i * T + t) * 2 + k] = (v - s.norm.mean[k]) / s.norm.std[k];
        });
      });
    });
    return tf.tensor3d(buf, [x.length, T, 2]);
  }

  private build(T: number, seed: number): tf.LayersModel {
    let s = seed >>> 0;
    const init = () => tf.initializers.glorotUniform({ seed: s++ });
    const input = tf.input({ shape: [T, 2], name: 'series' });
    let h = tf.layers.lstm({ units: this.opts.units, kernelInitializer: init(), recurrentInitializer: init(), name: 'lstm' }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.dense({ units: this.opts.dense, activation: 'tanh', kernelInitializer: init(), name: 'dense' }).apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, kernelInitializer: init(), name: 'mu_logsigma' }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  /** Gaussian NLL of standardised targets under (μ, ln σ) (constant dropped); ln σ clipped for stability. */
  private static nll(out: tf.Tensor, y: tf.Tensor): tf.Scalar {
    return tf.tidy(() => {
      const [mu, ls] = tf.split(out, 2, 1);
      const logSigma = tf.clipByValue(ls, -6, 3);
      const z = tf.div(tf.sub(y, mu), tf.exp(logSigma));
      return tf.mean(tf.add(tf.mul(0.5, tf.square(z)), logSigma)) as tf.Scalar;
    });
  }

  async fit(data: Dataset, options: { seed?: number; onProgress?: (f: number) => void } = {}): Promise<{ loss: number; epochs: number }> {
    checkDataset(data);
    if (data.outputs.length !== 1) throw new BadInputError(`predicts one output (end of life, cycles); got ${data.outputs.join(', ')}`, 'dataset.outputs');
    const { cycles, columns } = seriesColumns(data.inputs);
    const rows = data.y.map((r, i) => [i, r[0]] as const).filter(([, v]) => Number.isFinite(v) && v > 0);
    if (rows.length < 20) throw new BadInputError(`needs at least 20 rows with a positive end of life, got ${rows.length}`, 'dataset.y');
    await ensureBackend('dense', { log: this.log });
    const seed = options.seed ?? 0;
    const rng = createRng(seed).fork('eol-split');
    const order = permutation(rows.length, rng).map((k) => rows[k]);
    const nVal = Math.max(5, Math.round(this.opts.validationFraction * order.length));
    const val = order.slice(0, nVal);
    const train = order.slice(nVal);

    // Standardisation from the training rows only.
    const sums = [0, 0, 0, 0];
    let n = 0;
    for (const [i] of train) for (const [qc, rc] of columns) {
      const q = channel(0, data.x[i][qc]);
      const r = channel(1, data.x[i][rc]);
      sums[0] += q; sums[1] += q * q; sums[2] += r; sums[3] += r * r;
      n++;
    }
    const sd = (s: number, s2: number) => Math.sqrt(Math.max(s2 / n - (s / n) ** 2, 1e-12));
    const norm = { mean: [sums[0] / n, sums[2] / n] as [number, number], std: [sd(sums[0], sums[1]), sd(sums[2], sums[3])] as [number, number] };
    const logs = train.map(([, v]) => Math.log(v));
    const tMean = logs.reduce((a, b) => a + b, 0) / logs.length;
    const tStd = Math.sqrt(logs.reduce((a, b) => a + (b - tMean) ** 2, 0) / logs.length) || 1;
    const target = { mean: tMean, std: tStd };
    const shape = { columns, norm };
    const xs = (set: typeof train) => this.tensor(set.map(([i]) => data.x[i]), shape);
    const ys = (set: typeof train) => tf.tensor2d(set.map(([, v]) => [(Math.log(v) - tMean) / tStd]));

    const xTrain = xs(train);
    const yTrain = ys(train);
    const xVal = xs(val);
    const yVal = ys(val);
    this.state?.model.dispose();
    const model = this.build(cycles.length, seed);
    const optimizer = tf.train.adam(this.opts.learningRate);
    const batchRng = createRng(seed).fork('eol-batches');
    let best = Infinity;
    let bestWeights: tf.Tensor[] | null = null;
    let since = 0;
    let epochs = 0;
    try {
      for (let epoch = 0; epoch < this.opts.epochs; epoch++) {
        epochs = epoch + 1;
        const perm = permutation(train.length, batchRng);
        for (let b = 0; b < perm.length; b += this.opts.batchSize) {
          const idx = tf.tensor1d(perm.slice(b, b + this.opts.batchSize), 'int32');
          const xb = tf.gather(xTrain, idx);
          const yb = tf.gather(yTrain, idx);
          optimizer.minimize(() => EolSurrogate.nll(model.apply(xb, { training: true }) as tf.Tensor, yb));
          tf.dispose([idx, xb, yb]);
        }
        const vl = tf.tidy(() => EolSurrogate.nll(model.predict(xVal) as tf.Tensor, yVal).dataSync()[0]);
        options.onProgress?.(epochs / this.opts.epochs);
        if (vl < best - 1e-4) {
          best = vl;
          since = 0;
          bestWeights?.forEach((w) => w.dispose());
          bestWeights = model.getWeights().map((w) => w.clone());
        } else if (++since >= this.opts.patience) break;
      }
      if (bestWeights) model.setWeights(bestWeights);
      // σ calibration on the validation rows: 68.27 % quantile of |z − μ| / σ.
      const out = tf.tidy(() => (model.predict(xVal) as tf.Tensor).arraySync() as number[][]);
      const yv = yVal.arraySync() as number[][];
      const ratios = out.map(([mu, ls], k) => Math.abs(yv[k][0] - mu) / Math.exp(Math.min(3, Math.max(-6, ls)))).sort((a, b) => a - b);
      const sigmaScale = ratios[Math.min(ratios.length - 1, Math.floor(0.6827 * ratios.length))] || 1;
      this.state?.model.dispose();
      this.state = { model, inputs: [...data.inputs], columns, cycles, norm, target, sigmaScale, dataHash: datasetHash(data), trainingRows: train.length };
    } finally {
      bestWeights?.forEach((w) => w.dispose());
      optimizer.dispose();
      tf.dispose([xTrain, yTrain, xVal, yVal]);
    }
    return { loss: best, epochs };
  }

  /** Rows in the training inputs' order (the same names as at fit). Mean and std in cycles. */
  async predict(x: number[][]): Promise<Prediction> {
    const s = this.require();
    await ensureBackend('dense', { log: this.log });
    x.forEach((r, i) => {
      if (r.length !== s.inputs.length) throw new BadInputError(`row ${i} has ${r.length} inputs, expected ${s.inputs.length} (${s.inputs[0]} … ${s.inputs.at(-1)})`, 'x');
    });
    if (x.length === 0) return { mean: [], std: [] };
    const xt = this.tensor(x, s);
    const out = tf.tidy(() => (s.model.predict(xt) as tf.Tensor).arraySync() as number[][]);
    xt.dispose();
    const mean: number[][] = [];
    const std: number[][] = [];
    for (const [mu, ls] of out) {
      const m = Math.exp(s.target.mean + s.target.std * mu);
      mean.push([m]);
      std.push([m * s.target.std * s.sigmaScale * Math.exp(Math.min(3, Math.max(-6, ls)))]);
    }
    return { mean, std };
  }

  /** Predicts from named early-window measurements (e.g. a stopped durability result). */
  async predictFrom(measurements: ReadonlyArray<Readonly<Record<string, number>>>): Promise<Prediction> {
    const s = this.require();
    const rows = measurements.map((m, i) =>
      s.inputs.map((name) => {
        const v = m[name];
        if (typeof v !== 'number') throw new BadInputError(`missing ${name}: the test must run through cycle ${s.cycles.at(-1)} of the early window`, `measurements[${i}]`);
        return v;
      }),
    );
    return this.predict(rows);
  }

  async save(dir: string): Promise<void> {
    const s = this.require();
    await mkdir(dir, { recursive: true });
    await s.model.save(fileIO(join(dir, 'model')));
    const meta: EolMetadata = {
      format: 'poreloop-surrogate',
      version: 1,
      kind: 'eol-lstm',
      name: this.name,
      options: this.opts,
      inputs: s.inputs,
      outputs: ['eol'],
      norm: s.norm,
      target: s.target,
      sigmaScale: s.sigmaScale,
      dataHash: s.dataHash,
      trainingRows: s.trainingRows,
      savedAt: new Date().toISOString(),
    };
    await writeFile(join(dir, 'metadata.json'), JSON.stringify(meta, null, 2));
  }

  async load(dir: string): Promise<void> {
    const { meta, cycles, columns } = readEolMetadata(dir);
    await ensureBackend('dense', { log: this.log });
    const model = await tf.loadLayersModel(fileIO(join(dir, 'model')));
    Object.assign(this.opts, meta.options);
    this.state?.model.dispose();
    this.state = { model, inputs: meta.inputs, columns, cycles, norm: meta.norm, target: meta.target, sigmaScale: meta.sigmaScale, dataHash: meta.dataHash, trainingRows: meta.trainingRows };
  }

  dispose(): void {
    this.state?.model.dispose();
    this.state = undefined;
  }
}
