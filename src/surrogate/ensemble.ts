/**
 * Deep ensemble of multi-task networks (issue #5): the surrogate of the P-model (Niu et al.,
 * EES 2021, §4.2/§4.5), behind the `Surrogate` interface.
 *
 * - Members: K ≥ 5 networks (network.ts), each with its own initialisation seed and its own
 *   bootstrap resample of the training rows (Lakshminarayanan, Pritzel & Blundell, NeurIPS
 *   2017; bootstraps as in their §2.4 variant). The prediction is the mean over members and
 *   σ the spread between them, both reported in the property's own unit (see `moments` for
 *   how transformed outputs are averaged).
 * - Members are trained with a masked mean squared error on standardised, transformed targets:
 *   NaN in y means "not measured" and contributes nothing, so rows with some properties
 *   missing (e.g. a rig that measured only permeability) still train the other heads.
 * - Early stopping: a validation split (default 20%, at least 10 rows needed) is held out from
 *   every member; each member keeps the weights of its best validation epoch (patience).
 * - Calibration: the member spread measures disagreement, not the full error, so on the
 *   validation rows we fit one scale factor per property, a_p = the 68.27% quantile of
 *   |y − μ|/σ_members. Then μ ± a_p·σ covers about 68% of held-out rows by construction
 *   (Kuleshov, Fenner & Ermon, ICML 2018, in its simplest per-property, Gaussian form).
 *   With a single member σ_members is 0 and a_p becomes the 68% quantile of |y − μ| (a
 *   homoscedastic error bar). Coverage of the nominal 68% and 90% intervals before and after
 *   the rescaling is reported by `calibration`.
 * - Incremental retraining: `fit(data, { warmStart: true })` continues from the current weights
 *   and normalisation when the inputs and outputs are unchanged (the Predictor uses this as new
 *   physics results arrive).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import type { Dataset, Prediction, Surrogate } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { ensureBackend, type BackendKind } from './backend.js';
import { bootstrap, checkDataset, datasetHash, permutation } from './dataset.js';
import { fileIO } from './io.js';
import { buildNetwork, DEFAULT_MLP, type Activation, type Architecture } from './network.js';
import { checkTransforms, fitStandardiser, forward, inverse, inverseSlope, standardise, TRANSFORMS, type Standardiser, type TransformName } from './transforms.js';

export interface EnsembleOptions {
  name?: string;
  /** Number of members (default 5). */
  members?: number;
  architecture?: Architecture;
  /** Property → transform; default by name, or log for strictly positive training data (transforms.ts). */
  transforms?: Record<string, TransformName>;
  /** Maximum epochs (default 300). */
  epochs?: number;
  /** Early-stopping patience in epochs (default 30). */
  patience?: number;
  batchSize?: number;
  /** Adam learning rate (default 3e-3). */
  learningRate?: number;
  /** Share of rows held out for early stopping and calibration (default 0.2). */
  validationFraction?: number;
  /** Resample each member's training rows with replacement (default true when members > 1). */
  bootstrap?: boolean;
  /** Which backend to train and predict on (default: 'conv' for cnn3d, else 'dense'). */
  backend?: BackendKind;
  log?: (message: string) => void;
}

export interface FitOptions {
  seed?: number;
  onProgress?: (f: number) => void;
  /** Continue from the current weights and normalisation when inputs/outputs are unchanged. */
  warmStart?: boolean;
}

export interface Calibration {
  /** Per property: the σ scale factor a_p. */
  scale: number[];
  /** Validation coverage of μ ± σ (nominal 68.27%) and μ ± 1.645σ (nominal 90%), before/after. */
  coverage68Before: number[];
  coverage90Before: number[];
  coverage68After: number[];
  coverage90After: number[];
  validationRows: number;
}

export interface EnsembleMetadata {
  format: 'poreloop-surrogate';
  version: 1;
  kind: 'deep-ensemble';
  name: string;
  architecture: Architecture;
  inputs: string[];
  outputs: string[];
  transforms: TransformName[];
  inputNorm: Standardiser;
  outputNorm: Standardiser;
  /** Range of the standardised, transformed training targets, widened by 1 (see `moments`). */
  outputRange: { min: number[]; max: number[] };
  calibration: Calibration | null;
  members: number;
  dataHash: string;
  trainingRows: number;
  savedAt: string;
}

const OPTION_KEYS = ['name', 'members', 'architecture', 'transforms', 'epochs', 'patience', 'batchSize', 'learningRate', 'validationFraction', 'bootstrap', 'backend', 'log'];
const Z90 = 1.6448536269514722;
const Q68 = 0.6826894921370859;

interface State {
  inputs: string[];
  outputs: string[];
  transforms: TransformName[];
  inputNorm: Standardiser;
  outputNorm: Standardiser;
  outputRange: { min: number[]; max: number[] };
  models: tf.LayersModel[];
  calibration: Calibration | null;
  dataHash: string;
  trainingRows: number;
}

/** Per-column finite min − 1 and max + 1 of standardised rows (±∞ for a column with no data). */
function trainingRange(rows: readonly Float32Array[], width: number): { min: number[]; max: number[] } {
  const min = new Array<number>(width).fill(Infinity);
  const max = new Array<number>(width).fill(-Infinity);
  for (const r of rows) {
    for (let j = 0; j < width; j++) {
      if (Number.isFinite(r[j])) {
        min[j] = Math.min(min[j], r[j]);
        max[j] = Math.max(max[j], r[j]);
      }
    }
  }
  return { min: min.map((v) => (Number.isFinite(v) ? v - 1 : -Infinity)), max: max.map((v) => (Number.isFinite(v) ? v + 1 : Infinity)) };
}

function quantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  return v[lo] + (v[Math.min(lo + 1, v.length - 1)] - v[lo]) * (pos - lo);
}

/** Share of finite rows with |y − μ| ≤ z·σ. */
export function coverage(y: readonly number[], mean: readonly number[], std: readonly number[], z: number): number {
  let n = 0;
  let hit = 0;
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i]) || !Number.isFinite(mean[i])) continue;
    n++;
    if (Math.abs(y[i] - mean[i]) <= z * std[i]) hit++;
  }
  return n > 0 ? hit / n : NaN;
}

const ARCHITECTURE_KINDS = ['mlp', 'cnn3d'] as const;
const ACTIVATIONS: readonly Activation[] = ['relu', 'elu', 'tanh', 'swish'];
const ARCHITECTURE_KEYS: Record<(typeof ARCHITECTURE_KINDS)[number], readonly string[]> = {
  mlp: ['kind', 'trunk', 'head', 'activation'],
  cnn3d: ['kind', 'shape', 'filters', 'dense', 'head', 'activation'],
};

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `architecture` as network.ts builds it: a map with a known kind and all its fields, layer sizes
 * positive integers (diff review 2026-12-07, item 8: a file's `architecture: 'mlp'` or
 * `{ kind: 'foo' }` passed the load-time check and broke or was misread when training).
 */
function checkArchitecture(a: unknown): void {
  const path = 'surrogate.architecture';
  if (!isRecord(a)) throw new BadInputError(`must be a map with kind ${ARCHITECTURE_KINDS.join(' or ')} (got ${show(a)})`, path);
  const kind = a.kind as (typeof ARCHITECTURE_KINDS)[number];
  if (!ARCHITECTURE_KINDS.includes(kind)) throw new BadInputError(`unknown kind ${show(a.kind)} (allowed: ${ARCHITECTURE_KINDS.join(', ')})`, `${path}.kind`);
  const keys = ARCHITECTURE_KEYS[kind];
  for (const k of Object.keys(a)) {
    if (!keys.includes(k)) throw new BadInputError(`unknown field '${k}' of a ${kind} architecture (allowed: ${keys.join(', ')})`, path);
  }
  const layers = (k: string, length?: number) => {
    const v = a[k];
    const ok = Array.isArray(v) && (length === undefined || v.length === length) && v.every((u) => Number.isInteger(u) && u >= 1);
    if (!ok) throw new BadInputError(`must be ${length === undefined ? 'a list of positive integers' : `a list of ${length} positive integers`} (got ${show(v)})`, `${path}.${k}`);
  };
  if (kind === 'mlp') layers('trunk');
  else {
    layers('shape', 3);
    layers('filters');
    layers('dense');
  }
  layers('head');
  if (!ACTIVATIONS.includes(a.activation as Activation)) throw new BadInputError(`unknown activation ${show(a.activation)} (allowed: ${ACTIVATIONS.join(', ')})`, `${path}.activation`);
}

/** `transforms`: property → a transform name of transforms.ts (which properties exist is checked when training). */
function checkTransformOption(t: unknown): void {
  const path = 'surrogate.transforms';
  if (!isRecord(t)) throw new BadInputError(`must be a map of property → transform (${TRANSFORMS.join(', ')}) (got ${show(t)})`, path);
  for (const [k, v] of Object.entries(t)) {
    if (!TRANSFORMS.includes(v as TransformName)) throw new BadInputError(`unknown transform ${show(v)} for '${k}' (allowed: ${TRANSFORMS.join(', ')})`, `${path}.${k}`);
  }
}

export class DeepEnsemble implements Surrogate {
  readonly name: string;
  private readonly opts: Required<Omit<EnsembleOptions, 'name' | 'transforms' | 'log' | 'bootstrap' | 'backend'>> & {
    bootstrap: boolean;
    backend: BackendKind;
    transforms?: Record<string, TransformName>;
    log?: (m: string) => void;
  };
  private state: State | null = null;

  constructor(options: EnsembleOptions = {}) {
    // Options often come from a campaign file: name what is wrong rather than ignore it.
    for (const k of Object.keys(options)) {
      if (!OPTION_KEYS.includes(k)) throw new BadInputError(`unknown option '${k}' (allowed: ${OPTION_KEYS.join(', ')})`, 'surrogate');
    }
    for (const k of ['members', 'epochs', 'patience', 'batchSize'] as const) {
      const v = options[k];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new BadInputError(`must be a positive integer (got ${v})`, `surrogate.${k}`);
    }
    // Options from a campaign file are checked at load (config registries): wrong types too.
    if (options.name !== undefined && typeof options.name !== 'string') throw new BadInputError(`must be a string (got ${JSON.stringify(options.name)})`, 'surrogate.name');
    if (options.bootstrap !== undefined && typeof options.bootstrap !== 'boolean') throw new BadInputError(`must be true or false (got ${JSON.stringify(options.bootstrap)})`, 'surrogate.bootstrap');
    if (options.backend !== undefined && options.backend !== 'dense' && options.backend !== 'conv') throw new BadInputError(`must be "dense" or "conv" (got ${JSON.stringify(options.backend)})`, 'surrogate.backend');
    // architecture and transforms too: `architecture: 'mlp'`, `{ kind: 'foo' }`, `transforms: 5`
    // or `{ y: 'nope' }` were accepted at load and failed (or were ignored) only when training
    // (diff review 2026-12-07, item 8).
    if (options.architecture !== undefined) checkArchitecture(options.architecture as unknown);
    if (options.transforms !== undefined) checkTransformOption(options.transforms as unknown);
    if (options.learningRate !== undefined && !(options.learningRate > 0)) throw new BadInputError(`must be > 0 (got ${options.learningRate})`, 'surrogate.learningRate');
    const vf = options.validationFraction;
    if (vf !== undefined && !(vf >= 0 && vf <= 0.5)) throw new BadInputError(`must be in [0, 0.5] (got ${vf})`, 'surrogate.validationFraction');
    const members = options.members ?? 5;
    const architecture = options.architecture ?? DEFAULT_MLP;
    this.name = options.name ?? (architecture.kind === 'cnn3d' ? 'cnn3d-ensemble' : 'mlp-ensemble');
    this.opts = {
      members,
      architecture,
      epochs: options.epochs ?? 300,
      patience: options.patience ?? 30,
      batchSize: options.batchSize ?? 32,
      learningRate: options.learningRate ?? 3e-3,
      validationFraction: options.validationFraction ?? 0.2,
      bootstrap: options.bootstrap ?? members > 1,
      backend: options.backend ?? (architecture.kind === 'cnn3d' ? 'conv' : 'dense'),
      transforms: options.transforms,
      log: options.log,
    };
  }

  /** Whether the ensemble holds trained (or loaded) members. */
  get trained(): boolean {
    return this.state !== null;
  }

  get calibration(): Calibration | null {
    return this.state?.calibration ?? null;
  }

  get dataHash(): string | null {
    return this.state?.dataHash ?? null;
  }

  async fit(data: Dataset, options: FitOptions = {}): Promise<{ loss: number; epochs: number }> {
    checkDataset(data);
    await ensureBackend(this.opts.backend, { log: this.opts.log });
    const transforms = checkTransforms(data.outputs, this.opts.transforms, data.y);
    const t = data.y.map((r) => r.map((v, j) => forward(transforms[j], v)));
    const rng = createRng(options.seed ?? 0);
    const n = data.x.length;
    const order = permutation(n, rng.fork('split'));
    const nVal = n >= 10 ? Math.max(2, Math.round(this.opts.validationFraction * n)) : 0;
    const val = order.slice(0, nVal);
    const train = order.slice(nVal);

    const prev = this.state;
    const warm =
      options.warmStart === true &&
      prev !== null &&
      prev.models.length === this.opts.members &&
      prev.inputs.join('\n') === data.inputs.join('\n') &&
      prev.outputs.join('\n') === data.outputs.join('\n') &&
      // A property that was > 0 so far and now is not changes its transform: start afresh.
      prev.transforms.join('\n') === transforms.join('\n');
    const inputNorm = warm ? prev.inputNorm : fitStandardiser(train.map((i) => data.x[i]), data.inputs.length);
    const outputNorm = warm ? prev.outputNorm : fitStandardiser(train.map((i) => t[i]), data.outputs.length);
    const P = data.outputs.length;

    const xs = tf.tensor2d(standardise(data.x, inputNorm), [n, data.inputs.length]);
    const ysRaw = standardise(t, outputNorm, true);
    const outputRange = warm ? prev.outputRange : trainingRange(train.map((i) => ysRaw.subarray(i * P, (i + 1) * P)), P);
    const maskArr = new Float32Array(ysRaw.length);
    for (let i = 0; i < ysRaw.length; i++) {
      maskArr[i] = Number.isNaN(ysRaw[i]) ? 0 : 1;
      if (Number.isNaN(ysRaw[i])) ysRaw[i] = 0;
    }
    const ys = tf.tensor2d(ysRaw, [n, P]);
    const mask = tf.tensor2d(maskArr, [n, P]);
    const valIdx = nVal > 0 ? tf.tensor1d(val, 'int32') : null;

    const maskedMse = (model: tf.LayersModel, idx: tf.Tensor1D, training: boolean): tf.Scalar => {
      const x = tf.gather(xs, idx);
      const y = tf.gather(ys, idx);
      const m = tf.gather(mask, idx);
      const pred = model.apply(x, { training }) as tf.Tensor;
      return tf.div(tf.sum(tf.mul(m, tf.square(tf.sub(pred, y)))), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
    };

    const models: tf.LayersModel[] = [];
    let lossSum = 0;
    let epochSum = 0;
    try {
      for (let k = 0; k < this.opts.members; k++) {
        const mrng = rng.fork(`member${k}`);
        const rows = this.opts.bootstrap && train.length > 1 ? bootstrap(train, mrng.fork('bootstrap')) : train.slice();
        const model = warm ? prev.models[k] : buildNetwork(this.opts.architecture, data.inputs.length, P, mrng.int(2 ** 31));
        const { loss, epochs } = this.trainMember(model, rows, valIdx, maskedMse, mrng, (f) => options.onProgress?.((k + f) / this.opts.members));
        models.push(model);
        lossSum += loss;
        epochSum += epochs;
      }
    } finally {
      xs.dispose();
      ys.dispose();
      mask.dispose();
      valIdx?.dispose();
    }
    if (prev !== null) for (const m of prev.models) if (!models.includes(m)) m.dispose();

    this.state = {
      inputs: [...data.inputs],
      outputs: [...data.outputs],
      transforms,
      inputNorm,
      outputNorm,
      outputRange,
      models,
      calibration: null,
      dataHash: datasetHash(data),
      trainingRows: n,
    };
    if (nVal > 0) this.state.calibration = await this.calibrate(val.map((i) => data.x[i]), val.map((i) => data.y[i]));
    options.onProgress?.(1);
    return { loss: lossSum / this.opts.members, epochs: Math.round(epochSum / this.opts.members) };
  }

  private trainMember(
    model: tf.LayersModel,
    rows: number[],
    valIdx: tf.Tensor1D | null,
    loss: (model: tf.LayersModel, idx: tf.Tensor1D, training: boolean) => tf.Scalar,
    rng: ReturnType<typeof createRng>,
    progress: (f: number) => void,
  ): { loss: number; epochs: number } {
    const optimizer = tf.train.adam(this.opts.learningRate);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const bs = Math.max(1, Math.min(this.opts.batchSize, rows.length));
    let best = Infinity;
    let bestEpoch = 0;
    let bestWeights: tf.Tensor[] | null = null;
    let last = NaN;
    let epoch = 0;
    try {
      for (epoch = 1; epoch <= this.opts.epochs; epoch++) {
        const perm = permutation(rows.length, rng);
        let sum = 0;
        for (let b = 0; b < rows.length; b += bs) {
          const idx = tf.tensor1d(perm.slice(b, b + bs).map((i) => rows[i]), 'int32');
          const cost = optimizer.minimize(() => loss(model, idx, true), true, vars);
          idx.dispose();
          if (cost) {
            // Reading the cost syncs; only the last batch's cost is read when validating.
            if (valIdx === null && b + bs >= rows.length) sum += cost.dataSync()[0];
            cost.dispose();
          }
        }
        if (valIdx !== null) {
          const v = tf.tidy(() => loss(model, valIdx, false).dataSync()[0]);
          last = v;
          if (v < best) {
            best = v;
            bestEpoch = epoch;
            bestWeights?.forEach((w) => w.dispose());
            bestWeights = model.getWeights().map((w) => w.clone());
          } else if (epoch - bestEpoch >= this.opts.patience) {
            break;
          }
        } else {
          last = sum;
        }
        if (epoch % 10 === 0) progress(epoch / this.opts.epochs);
      }
      if (bestWeights !== null) model.setWeights(bestWeights);
    } finally {
      bestWeights?.forEach((w) => w.dispose());
      optimizer.dispose();
    }
    return { loss: valIdx !== null ? best : last, epochs: Math.min(epoch, this.opts.epochs) };
  }

  /** Per-member predictions in the transformed space the networks learn in: [member][row][property]. */
  private async memberPredictions(x: number[][]): Promise<number[][][]> {
    const s = this.requireState();
    await ensureBackend(this.opts.backend, { log: this.opts.log });
    for (const [i, r] of x.entries()) {
      if (r.length !== s.inputs.length) throw new BadInputError(`row ${i} has ${r.length} inputs, expected ${s.inputs.length} (${s.inputs.join(', ')})`, 'predict');
    }
    const P = s.outputs.length;
    const out: number[][][] = s.models.map(() => []);
    const chunk = 4096;
    for (let start = 0; start < x.length; start += chunk) {
      const rows = x.slice(start, start + chunk);
      const xs = tf.tensor2d(standardise(rows, s.inputNorm), [rows.length, s.inputs.length]);
      for (const [k, model] of s.models.entries()) {
        const pred = tf.tidy(() => model.predict(xs) as tf.Tensor);
        const v = await pred.data();
        pred.dispose();
        for (let i = 0; i < rows.length; i++) {
          const r: number[] = new Array(P);
          for (let j = 0; j < P; j++) r[j] = v[i * P + j] * s.outputNorm.std[j] + s.outputNorm.mean[j];
          out[k].push(r);
        }
      }
      xs.dispose();
    }
    return out;
  }

  /**
   * Mean and (uncalibrated) σ in the properties' units. Members are averaged in the space they
   * learn in (ln k, 1/τ) and the mean is mapped back — for permeability the geometric mean —
   * so one member extrapolating wildly cannot dominate, as it would in an arithmetic mean of
   * exp(·). σ is the member spread carried back by the slope of the inverse transform (delta
   * method); a mean 1/τ ≤ 0 (predicted non-percolating) gives τ = ∞ and σ = ∞.
   *
   * The mean uses each member's output clipped to the training range widened by one σ: the
   * networks extrapolate about linearly, and through exp(·) or 1/(·) one member's excursion
   * on an input far from the data swamped the ensemble (R² of −160 on a learning-curve point
   * before the clip). σ uses the unclipped spread, so such a point still reads as uncertain.
   */
  private static moments(members: number[][][], s: State): Prediction {
    const transforms = s.transforms;
    const K = members.length;
    const n = members[0].length;
    const P = transforms.length;
    // JSON turns ±∞ (a property without data) into null: no clip then.
    const lo = transforms.map((_, j) => (s.outputRange.min[j] ?? -Infinity) * s.outputNorm.std[j] + s.outputNorm.mean[j]);
    const hi = transforms.map((_, j) => (s.outputRange.max[j] ?? Infinity) * s.outputNorm.std[j] + s.outputNorm.mean[j]);
    const mean: number[][] = [];
    const std: number[][] = [];
    for (let i = 0; i < n; i++) {
      const m: number[] = new Array(P);
      const s: number[] = new Array(P);
      for (let j = 0; j < P; j++) {
        let sum = 0;
        let clipped = 0;
        for (let k = 0; k < K; k++) {
          sum += members[k][i][j];
          clipped += Math.min(hi[j], Math.max(lo[j], members[k][i][j]));
        }
        const raw = sum / K;
        const t = clipped / K;
        let v = 0;
        for (let k = 0; k < K; k++) v += (members[k][i][j] - raw) ** 2;
        const st = K > 1 ? Math.sqrt(v / (K - 1)) : 0;
        m[j] = inverse(transforms[j], t);
        s[j] = st * inverseSlope(transforms[j], t);
      }
      mean.push(m);
      std.push(s);
    }
    return { mean, std };
  }

  private async calibrate(x: number[][], y: number[][]): Promise<Calibration> {
    const s = this.requireState();
    const { mean, std } = DeepEnsemble.moments(await this.memberPredictions(x), s);
    const cal: Calibration = { scale: [], coverage68Before: [], coverage90Before: [], coverage68After: [], coverage90After: [], validationRows: x.length };
    const single = s.models.length === 1;
    for (let j = 0; j < s.outputs.length; j++) {
      const yj = y.map((r) => r[j]);
      const mj = mean.map((r) => r[j]);
      const sj = std.map((r) => r[j]);
      const ratios = yj.map((v, i) => Math.abs(v - mj[i]) / (single ? 1 : sj[i]));
      const q = quantile(ratios, Q68);
      const scale = Number.isFinite(q) && q > 0 ? q : 1;
      cal.scale.push(scale);
      const base = single ? sj.map(() => 1) : sj;
      cal.coverage68Before.push(coverage(yj, mj, sj, 1));
      cal.coverage90Before.push(coverage(yj, mj, sj, Z90));
      cal.coverage68After.push(coverage(yj, mj, base.map((v) => v * scale), 1));
      cal.coverage90After.push(coverage(yj, mj, base.map((v) => v * scale), Z90));
    }
    return cal;
  }

  async predict(x: number[][]): Promise<Prediction> {
    const s = this.requireState();
    if (x.length === 0) return { mean: [], std: [] };
    const { mean, std } = DeepEnsemble.moments(await this.memberPredictions(x), s);
    const cal = s.calibration;
    if (cal !== null) {
      const single = s.models.length === 1;
      for (const row of std) for (let j = 0; j < row.length; j++) row[j] = single ? cal.scale[j] : row[j] * cal.scale[j];
    }
    return { mean, std };
  }

  async save(dir: string): Promise<void> {
    const s = this.requireState();
    await mkdir(dir, { recursive: true });
    for (const [k, model] of s.models.entries()) await model.save(fileIO(join(dir, `member-${k}`)));
    const meta: EnsembleMetadata = {
      format: 'poreloop-surrogate',
      version: 1,
      kind: 'deep-ensemble',
      name: this.name,
      architecture: this.opts.architecture,
      inputs: s.inputs,
      outputs: s.outputs,
      transforms: s.transforms,
      inputNorm: s.inputNorm,
      outputNorm: s.outputNorm,
      outputRange: s.outputRange,
      calibration: s.calibration,
      members: s.models.length,
      dataHash: s.dataHash,
      trainingRows: s.trainingRows,
      savedAt: new Date().toISOString(),
    };
    await writeFile(join(dir, 'metadata.json'), JSON.stringify(meta, null, 2));
  }

  async load(dir: string): Promise<void> {
    let meta: EnsembleMetadata;
    try {
      meta = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8')) as EnsembleMetadata;
    } catch (e) {
      throw new BadInputError(`no readable surrogate metadata.json (${(e as Error).message})`, dir);
    }
    if (meta.format !== 'poreloop-surrogate' || meta.version !== 1 || meta.kind !== 'deep-ensemble') {
      throw new BadInputError(`not a poreloop deep-ensemble surrogate of version 1 (format ${meta.format}, version ${meta.version}, kind ${meta.kind})`, dir);
    }
    await ensureBackend(this.opts.backend, { log: this.opts.log });
    const models: tf.LayersModel[] = [];
    for (let k = 0; k < meta.members; k++) models.push(await tf.loadLayersModel(fileIO(join(dir, `member-${k}`))));
    this.state?.models.forEach((m) => m.dispose());
    (this.opts as { architecture: Architecture }).architecture = meta.architecture;
    this.opts.members = meta.members;
    this.state = {
      inputs: meta.inputs,
      outputs: meta.outputs,
      transforms: meta.transforms,
      inputNorm: meta.inputNorm,
      outputNorm: meta.outputNorm,
      outputRange: meta.outputRange,
      models,
      calibration: meta.calibration,
      dataHash: meta.dataHash,
      trainingRows: meta.trainingRows,
    };
  }

  /** Frees the members' tensors. */
  dispose(): void {
    this.state?.models.forEach((m) => m.dispose());
    this.state = null;
  }

  private requireState(): State {
    if (this.state === null) throw new Error(`surrogate '${this.name}' is not trained: call fit() or load() first`);
    return this.state;
  }
}
