/**
 * SliceGAN-style learned generation (issue #19; Kench & Cooper, Nature Machine Intelligence 3
 * (2021) 299): a 3D generator trained against 2D discriminators, one per axis, that compare
 * slices of generated volumes with slices of a training volume (or, for an isotropic material,
 * windows of one 2D micrograph, one discriminator for all three axes), with the WGAN-GP loss
 * (Gulrajani et al. 2017: critic loss D(fake) − D(real) + λ(‖∇D(x̂)‖ − 1)², λ = 10, Adam
 * lr 1e-4, β = (0.9, 0.99), 5 critic steps per generator step — SliceGAN's settings).
 *
 * Conditioning (for a campaign twin): a scalar manufacturing parameter, scaled to [−1, 1] over
 * its training range, enters the generator as a constant latent channel and every
 * discriminator as a constant input channel. Its value for a real sample is either given per
 * training volume (e.g. calendering pressure) or measured: the porosity of the training cube
 * the slices come from, so one volume's natural spread of local porosity teaches the mapping.
 *
 * Networks: gan-net.ts (matMul-only layers, correct on the wasm backend). Training runs in a
 * worker thread (gan-worker.ts, `trainGanInWorker`) since the backend is process-global.
 * Deterministic for a seed on one backend: every random draw (weights, latents, crops, slice
 * indices, interpolation weights) comes from the seeded Rng, none from TensorFlow.js.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import type { Voxels } from '../core/protocols.js';
import { createRng, type Rng } from '../core/rng.js';
import { checkedCondition, readGanModel, scaleCondition, type GanMetadata, type GanModel, type GanModelFile } from '../voxel/gan-model.js';
import { createVoxels, labelsPresent } from '../voxel/voxels.js';
import {
  discriminatorForward,
  generatorForward,
  initDiscriminator,
  initGenerator,
  latentSideFor,
  makeLatent,
  type GeneratorConfig,
  type Params,
} from './gan-net.js';

/** How the conditioning value of a real training sample is found. */
export type GanCondition =
  | { mode: 'none' }
  /** The fraction of `label` in the training cube (porosity for label 0). */
  | { mode: 'fraction'; name: string; label: number }
  /** One given value per training volume (a manufacturing parameter: calendering pressure, …). */
  | { mode: 'given'; name: string; values: number[]; unit?: string };

export interface GanTrainOptions {
  /** Segmented training volumes (3D), or one 2D micrograph (one side 1: isotropic material). */
  volumes: Voxels[];
  condition?: GanCondition;
  /** Side of the generated training cube and of the slices compared (multiple of 8; default 32). */
  side?: number;
  /** Epochs of `itersPerEpoch` generator steps (default 20 × 25). */
  epochs?: number;
  itersPerEpoch?: number;
  /** Critic steps per generator step (SliceGAN: 5). */
  criticIters?: number;
  /** Generated volumes per step (default 2). */
  batch?: number;
  /** Slices per generated volume and axis shown to each discriminator (default 8; SliceGAN: all). */
  slicesPerVolume?: number;
  latentChannels?: number;
  generatorHidden?: number[];
  discriminatorHidden?: number[];
  learningRate?: number;
  gpWeight?: number;
  seed?: number;
  onProgress?: (p: GanProgress) => void;
  /** Source description kept in the metadata (file name). */
  source?: string;
}

export interface GanProgress {
  epoch: number;
  epochs: number;
  /** Mean over the epoch's critic steps and axes of D(real) − D(fake): the Wasserstein estimate. */
  wasserstein: number;
  /** Mean critic loss (with the gradient penalty) and generator loss over the epoch. */
  lossD: number;
  lossG: number;
  /** Phase fractions of the last generated batch. */
  fractions: number[];
  elapsedMs: number;
}

// The saved model's format (types, reader, condition scaling) lives in src/voxel/gan-model.ts:
// one copy for this file and the gan twin, which may not import src/reconstruct (#19 review).
export type { GanMetadata, GanModel, GanModelFile } from '../voxel/gan-model.js';
export { checkedCondition, scaleCondition } from '../voxel/gan-model.js';

/**
 * The backend GAN training and generation use (STACK.md "TensorFlow.js here"): native
 * libtensorflow (@tensorflow/tfjs-node-gpu, then tfjs-node: the GPU path) when installed,
 * else wasm — correct here because gan-net.ts differentiates only matMul, slice, concat, pad,
 * reshape, transpose and elementwise ops (gan-net.test.ts checks its gradients on wasm).
 */
export async function useGanBackend(): Promise<string> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const specifier: string = pkg; // not a literal: the optional package's types are not needed
      await import(specifier);
      if (tf.findBackendFactory('tensorflow') !== null) {
        await tf.setBackend('tensorflow');
        await tf.ready();
        return 'tensorflow';
      }
    } catch {
      // not installed (the normal case here)
    }
  }
  await import('@tensorflow/tfjs-backend-wasm');
  tf.enableProdMode();
  if (tf.getBackend() !== 'wasm' && !(await tf.setBackend('wasm'))) throw new Error("TensorFlow.js backend 'wasm' failed to initialise");
  await tf.ready();
  return 'wasm';
}

const LAYERS_NAME = (l: number) => [`g_w${l}`, `g_b${l}`];

export function volumeHash(volumes: Voxels[]): string {
  const h = createHash('sha256');
  for (const v of volumes) {
    h.update(JSON.stringify(v.shape));
    h.update(v.data);
  }
  return h.digest('hex');
}


interface Sampler {
  twoD: boolean;
  /** One real sample: slices per axis [S, side, side, P] one-hot, and its conditioning value. */
  draw(rng: Rng, slices: number): { axes: Float32Array[]; condition: number };
  range: { min: number; max: number } | null;
}

function makeSampler(volumes: Voxels[], labels: number[], side: number, condition: GanCondition): Sampler {
  const P = labels.length;
  const code = new Int16Array(256).fill(-1);
  labels.forEach((l, k) => (code[l] = k));
  // A line or a single voxel has no 2D windows (#19 review: [40, 1, 1] crashed below).
  for (const v of volumes) if (v.shape.filter((n) => n === 1).length >= 2) throw new BadInputError(`${v.shape.join('×')} has two or more sides of 1: train on 3D volumes or one 2D image (one side 1)`, 'volumes');
  const twoD = volumes.length === 1 && volumes[0].shape.some((n) => n === 1);
  for (const v of volumes) {
    const sides = twoD ? v.shape.filter((n) => n !== 1) : v.shape;
    if (sides.some((n) => n < side)) throw new BadInputError(`the training ${twoD ? 'image' : 'volume'} ${v.shape.join('×')} is smaller than the training side ${side} on some axis`, 'side');
  }
  if (condition.mode === 'given' && condition.values.length !== volumes.length) throw new BadInputError(`expected one conditioning value per training volume (${volumes.length}), got ${condition.values.length}`, 'condition');
  if (twoD && condition.mode === 'fraction') throw new BadInputError('conditioning on a measured fraction needs a 3D training volume (a 2D image has no cube to measure)', 'condition');

  const cubeValue = (v: Voxels, o: number[], k: number): number => {
    if (condition.mode === 'given') return condition.values[k];
    if (condition.mode === 'none') return 0;
    const [, ny, nz] = v.shape;
    let hit = 0;
    for (let x = 0; x < side; x++)
      for (let y = 0; y < side; y++) {
        const row = ((o[0] + x) * ny + o[1] + y) * nz + o[2];
        for (let z = 0; z < side; z++) if (v.data[row + z] === condition.label) hit++;
      }
    return hit / side ** 3;
  };
  const draw = (rng: Rng, slices: number) => {
    const k = rng.int(volumes.length);
    const v = volumes[k];
    const [nx, ny, nz] = v.shape;
    const axes: Float32Array[] = [];
    if (twoD) {
      // One micrograph: every "slice" is a random side×side window of it, for all three axes.
      const [a, b] = v.shape.map((n, i) => [n, i] as const).filter(([n]) => n !== 1).map(([, i]) => i);
      const stride = [ny * nz, nz, 1];
      for (let ax = 0; ax < 3; ax++) {
        const out = new Float32Array(slices * side * side * P);
        for (let s = 0; s < slices; s++) {
          const oa = rng.int(v.shape[a] - side + 1);
          const ob = rng.int(v.shape[b] - side + 1);
          for (let i = 0; i < side; i++)
            for (let j = 0; j < side; j++) {
              const lab = code[v.data[(oa + i) * stride[a] + (ob + j) * stride[b]]];
              if (lab >= 0) out[((s * side + i) * side + j) * P + lab] = 1;
            }
        }
        axes.push(out);
      }
      return { axes, condition: cubeValue(v, [0, 0, 0], k) };
    }
    const o = [rng.int(nx - side + 1), rng.int(ny - side + 1), rng.int(nz - side + 1)];
    for (let ax = 0; ax < 3; ax++) {
      const out = new Float32Array(slices * side * side * P);
      for (let s = 0; s < slices; s++) {
        const at = rng.int(side);
        for (let i = 0; i < side; i++)
          for (let j = 0; j < side; j++) {
            // The plane normal to `ax` at offset `at`, its two in-plane axes in increasing order.
            const p = ax === 0 ? [at, i, j] : ax === 1 ? [i, at, j] : [i, j, at];
            const lab = code[v.data[((o[0] + p[0]) * ny + o[1] + p[1]) * nz + o[2] + p[2]]];
            if (lab >= 0) out[((s * side + i) * side + j) * P + lab] = 1;
          }
      }
      axes.push(out);
    }
    return { axes, condition: cubeValue(v, o, k) };
  };
  let range: { min: number; max: number } | null = null;
  if (condition.mode === 'given') range = { min: Math.min(...condition.values), max: Math.max(...condition.values) };
  else if (condition.mode === 'fraction') {
    // The training range: the 2nd–98th percentile of the fraction over 400 random cubes (a fixed
    // stream, so the range does not depend on the training seed).
    const r = createRng(0x5eed);
    const xs: number[] = [];
    for (let i = 0; i < 400; i++) {
      const k = r.int(volumes.length);
      const v = volumes[k];
      xs.push(cubeValue(v, v.shape.map((n) => r.int(n - side + 1)), k));
    }
    xs.sort((a, b) => a - b);
    range = { min: xs[Math.floor(0.02 * xs.length)], max: xs[Math.ceil(0.98 * xs.length) - 1] };
  }
  return { twoD, draw, range };
}

/** Slices normal to `axis` of generated volumes [B, s, s, s, P] → [B·s, s, s, P] (all of them). */
function slicesOf(v: tf.Tensor5D, axis: number): tf.Tensor4D {
  const [B, s, , , P] = v.shape;
  const perm = axis === 0 ? [0, 1, 2, 3, 4] : axis === 1 ? [0, 2, 1, 3, 4] : [0, 3, 1, 2, 4];
  return tf.reshape(axis === 0 ? v : tf.transpose(v, perm), [B * s, s, s, P]) as tf.Tensor4D;
}

/** `pick` of the rows of x (slice + concat: no gather, whose gradient the wasm backend lacks). */
function rows(x: tf.Tensor4D, pick: number[]): tf.Tensor4D {
  const [, h, w, c] = x.shape;
  return tf.concat(pick.map((i) => tf.slice(x, [i, 0, 0, 0], [1, h, w, c])), 0) as tf.Tensor4D;
}

function withCondition(x: tf.Tensor4D, cond: number[] | null, perSample: number): tf.Tensor4D {
  if (!cond) return x;
  const [N, h, w] = x.shape;
  const c = new Float32Array(N * h * w);
  for (let n = 0; n < N; n++) c.fill(cond[Math.floor(n / perSample)], n * h * w, (n + 1) * h * w);
  return tf.concat([x, tf.tensor4d(c, [N, h, w, 1])], 3) as tf.Tensor4D;
}

/**
 * Voxels cut from the start of each axis of the generated volume. Not an edge fix: with kernel
 * 4, stride 2, padding 2 every output voxel sees exactly two inputs per axis at every layer
 * (gan-net.ts upConv3d), the edge included (#19 review: the earlier comment said the outermost
 * layer sees fewer). It is kept because trained models record it (model.json `crop`) and
 * generation must cut what training cut; a model trained with 0 would be as good.
 */
const CROP = 1;

/** Trains in the calling thread on the active backend. Use `trainGanInWorker` from a process that does anything else. */
export async function trainGan(options: GanTrainOptions): Promise<{ model: GanModel; history: GanProgress[]; initialFractions: number[] }> {
  const t0 = performance.now();
  const side = options.side ?? 32;
  if (!Number.isInteger(side) || side < 16 || side % 8 !== 0) throw new BadInputError(`expected a multiple of 8 ≥ 16, got ${side}`, 'side');
  if (options.volumes.length === 0) throw new BadInputError('no training volume', 'volumes');
  const epochs = options.epochs ?? 20;
  const itersPerEpoch = options.itersPerEpoch ?? 25;
  const criticIters = options.criticIters ?? 5;
  const batch = options.batch ?? 2;
  const S = options.slicesPerVolume ?? 8;
  const lambda = options.gpWeight ?? 10;
  const seed = options.seed ?? 1;
  const condition = options.condition ?? { mode: 'none' };
  const labels = [...new Set(options.volumes.flatMap((v) => labelsPresent(v)))].sort((a, b) => a - b);
  if (labels.length < 2) throw new BadInputError(`the training data holds only label ${labels[0]}: nothing to learn`, 'volumes');
  // A fraction of an absent label is 0 in every cube: a range [0, 0] to condition on (#19 review: it trained silently).
  if (condition.mode === 'fraction' && !labels.includes(condition.label)) throw new BadInputError(`label ${condition.label} does not occur in the training data (labels ${labels.join(', ')}): name one of them, or condition none`, 'condition');
  const P = labels.length;
  const sampler = makeSampler(options.volumes, labels, side, condition);
  const conditioned = condition.mode !== 'none';
  const gcfg: GeneratorConfig = { latentChannels: options.latentChannels ?? 16, conditioned, hidden: options.generatorHidden ?? [64, 32, 16], phases: P };
  const L = gcfg.hidden.length + 1;
  const latent = latentSideFor(side + CROP, L);
  const rng = createRng(seed);
  const G = initGenerator(gcfg, rng.fork('generator'));
  const dHidden = options.discriminatorHidden ?? [16, 32, 64];
  if (side % 2 ** dHidden.length) throw new BadInputError(`side ${side} must be divisible by 2^${dHidden.length}`, 'side');
  // SliceGAN: one discriminator per axis for a 3D training volume; one for all axes from a 2D image.
  const nD = sampler.twoD ? 1 : 3;
  const Ds = Array.from({ length: nD }, (_, a) => initDiscriminator({ inputs: P + (conditioned ? 1 : 0), hidden: dHidden, side }, rng.fork(`d${a}`), String(a)));
  const lr = options.learningRate ?? 1e-4;
  const optG = tf.train.adam(lr, 0.9, 0.99);
  const optD = Ds.map(() => tf.train.adam(lr, 0.9, 0.99));
  const gVars = [...G.w, ...G.b];
  const data = rng.fork('data');
  const noise = rng.fork('noise');
  const range = sampler.range;

  const generate = (conds: number[] | null): tf.Tensor5D => {
    const z = makeLatent(noise, batch, [latent, latent, latent], gcfg.latentChannels, conds ?? undefined);
    const full = generatorForward(G, z, batch); // [n, n, n, B·P]
    const cropped = tf.slice(full, [CROP, CROP, CROP, 0], [side, side, side, batch * P]);
    return tf.transpose(tf.reshape(cropped, [side, side, side, batch, P]), [3, 0, 1, 2, 4]) as tf.Tensor5D;
  };
  const realBatch = () => {
    const draws = Array.from({ length: batch }, () => sampler.draw(data, S));
    const conds = conditioned ? draws.map((d) => scaleCondition(d.condition, range!)) : null;
    const axes = [0, 1, 2].map((a) => {
      const buf = new Float32Array(batch * S * side * side * P);
      draws.forEach((d, b) => buf.set(d.axes[a], b * S * side * side * P));
      return buf;
    });
    return { axes, conds };
  };

  const history: GanProgress[] = [];
  let lastFractions: number[] = [];
  // The untrained generator's mean phase probabilities, from its own stream: what training starts from.
  const initialFractions = tf.tidy(() => {
    const z = makeLatent(rng.fork('initial'), batch, [latent, latent, latent], gcfg.latentChannels, conditioned ? Array.from({ length: batch }, () => 0) : undefined);
    const full = generatorForward(G, z, batch);
    return Array.from(tf.mean(tf.reshape(full, [-1, P]), 0).dataSync());
  });
  for (let epoch = 0; epoch < epochs; epoch++) {
    let wSum = 0;
    let dSum = 0;
    let gSum = 0;
    let dCount = 0;
    for (let it = 0; it < itersPerEpoch; it++) {
      for (let c = 0; c < criticIters; c++) {
        const real = realBatch();
        const fakeVol = tf.tidy(() => generate(real.conds));
        for (let a = 0; a < 3; a++) {
          const d = Ds[Math.min(a, nD - 1)];
          const pick = Array.from({ length: batch * S }, (_, n) => Math.floor(n / S) * side + data.int(side));
          const eps = Float32Array.from({ length: batch * S }, () => data.next());
          const cost = tf.tidy(() => {
            const fake = withCondition(rows(slicesOf(fakeVol, a), pick), real.conds, S);
            const realT = withCondition(tf.tensor4d(real.axes[a], [batch * S, side, side, P]), real.conds, S);
            const e = tf.tensor4d(eps, [batch * S, 1, 1, 1]);
            const mixed = tf.add(tf.mul(e, realT), tf.mul(tf.sub(1, e), fake)) as tf.Tensor4D;
            let wEst = 0;
            const lossD = optD[Math.min(a, nD - 1)].minimize(
              () => {
                const dr = tf.mean(discriminatorForward(d, realT));
                const df = tf.mean(discriminatorForward(d, fake));
                wEst = tf.sub(dr, df).dataSync()[0];
                // The norm is over every input channel, the conditioning channel included (it is
                // the same constant in real, fake and mixed slices, but the critic's gradient along
                // it still counts). Conditional WGAN-GP variants differ on this; we keep the
                // trained models' loss as it was (#19 review: documented, not changed).
                const g = tf.grad((x: tf.Tensor) => tf.sum(discriminatorForward(d, x as tf.Tensor4D)))(mixed);
                const norm = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12));
                const gp = tf.mul(lambda, tf.mean(tf.square(tf.sub(norm, 1))));
                return tf.add(tf.sub(df, dr), gp) as tf.Scalar;
              },
              true,
              [...d.w, ...d.b],
            )!;
            return { w: wEst, d: lossD.dataSync()[0] };
          });
          wSum += cost.w;
          dSum += cost.d;
          dCount++;
        }
        fakeVol.dispose();
      }
      // Generator step: fool all three discriminators on freshly generated volumes.
      const real = realBatch(); // only its conditioning values are used: fakes are asked for the real distribution of conditions
      const picks = [0, 1, 2].map(() => Array.from({ length: batch * S }, (_, n) => Math.floor(n / S) * side + data.int(side)));
      const lossG = tf.tidy(() => {
        let fr: tf.Tensor | null = null;
        const l = optG.minimize(
          () => {
            const vol = generate(real.conds);
            fr = tf.keep(tf.mean(vol, [0, 1, 2, 3]));
            let total: tf.Tensor = tf.scalar(0);
            for (let a = 0; a < 3; a++) total = tf.sub(total, tf.mean(discriminatorForward(Ds[Math.min(a, nD - 1)], withCondition(rows(slicesOf(vol, a), picks[a]), real.conds, S))));
            return total as tf.Scalar;
          },
          true,
          gVars,
        )!;
        lastFractions = Array.from(fr!.dataSync());
        fr!.dispose();
        return l.dataSync()[0];
      });
      gSum += lossG;
      await new Promise((r) => setImmediate(r)); // let progress messages and signals through
    }
    const p: GanProgress = { epoch: epoch + 1, epochs, wasserstein: wSum / dCount, lossD: dSum / dCount, lossG: gSum / itersPerEpoch, fractions: lastFractions, elapsedMs: performance.now() - t0 };
    history.push(p);
    options.onProgress?.(p);
  }
  const first = options.volumes[0];
  const metadata: GanMetadata = {
    format: 'poreloop-slicegan',
    version: 1,
    labels,
    phases: Object.fromEntries(labels.map((l) => [l, first.phases[l] ?? `phase ${l}`])),
    voxelSize: first.voxelSize,
    training: {
      source: options.source ?? 'memory',
      sha256: volumeHash(options.volumes),
      shapes: options.volumes.map((v) => [...v.shape]),
      twoD: sampler.twoD,
      side,
      epochs,
      itersPerEpoch,
      criticIters,
      batch,
      slicesPerVolume: S,
      seed,
      wallMs: Math.round(performance.now() - t0),
      backend: tf.getBackend(),
      finalWasserstein: history.at(-1)?.wasserstein ?? NaN,
    },
    condition:
      condition.mode === 'none' || !range
        ? null
        : { name: condition.name, min: range.min, max: range.max, mode: condition.mode, ...(condition.mode === 'fraction' ? { label: condition.label } : {}), ...(condition.mode === 'given' && condition.unit ? { unit: condition.unit } : {}) },
    createdAt: new Date().toISOString(),
  };
  const model: GanModel = {
    config: gcfg,
    crop: CROP,
    weights: G.w.map((w, l) => ({ w: w.dataSync() as Float32Array, wShape: w.shape as [number, number], b: G.b[l].dataSync() as Float32Array })),
    metadata,
  };
  for (const d of Ds) tf.dispose([...d.w, ...d.b]);
  tf.dispose([...G.w, ...G.b]);
  optG.dispose();
  optD.forEach((o) => o.dispose());
  return { model, history, initialFractions };
}

// ─── Save / load ─────────────────────────────────────────────────────────────────────────

/** Writes model.json (topology + weights manifest, tfjs's layout), weights.bin and metadata.json to `dir`. */
export function saveGan(model: GanModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const specs: Array<{ name: string; shape: number[]; dtype: 'float32' }> = [];
  const parts: Float32Array[] = [];
  model.weights.forEach((l, k) => {
    const [wn, bn] = LAYERS_NAME(k);
    specs.push({ name: wn, shape: [...l.wShape], dtype: 'float32' }, { name: bn, shape: [l.b.length], dtype: 'float32' });
    parts.push(l.w, l.b);
  });
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const file: GanModelFile = { format: 'poreloop-slicegan-generator', version: 1, generator: model.config, crop: model.crop, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] };
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(all.buffer));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(file, null, 2) + '\n');
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify(model.metadata, null, 2) + '\n');
}

/**
 * Reads a model folder, checked (src/voxel/gan-model.ts readGanModel): a damaged folder (bad
 * JSON, a truncated weights.bin, layers whose channels do not chain, a manifest naming any
 * file but weights.bin) is a bad-input error (exit 2), not a RangeError or TypeError (#19 review).
 */
export function loadGan(dir: string): GanModel {
  return readGanModel(dir);
}

// ─── Generation ──────────────────────────────────────────────────────────────────────────

/** A volume of `shape` from a trained model on the active backend (the phase of highest probability per voxel). */
export function generateGan(model: GanModel, options: { shape: [number, number, number]; seed: number; condition?: number }): Voxels {
  const { shape, seed } = options;
  if (shape.some((n) => !Number.isInteger(n) || n < 1)) throw new BadInputError(`expected positive integer sides, got ${shape.join('×')}`, 'size');
  const cond = checkedCondition(model.metadata, options.condition);
  const L = model.weights.length;
  const lat = shape.map((n) => latentSideFor(n + model.crop, L));
  const labels = model.metadata.labels;
  const P = labels.length;
  const probs = tf.tidy(() => {
    const z = makeLatent(createRng(seed), 1, lat, model.config.latentChannels, cond === undefined ? undefined : [cond]);
    const out = generatorForward({ w: model.weights.map((l) => tf.tensor2d(l.w, l.wShape)), b: model.weights.map((l) => tf.tensor1d(l.b)) }, z, 1);
    return tf.slice(out, [model.crop, model.crop, model.crop, 0], [shape[0], shape[1], shape[2], P]);
  });
  const p = probs.dataSync();
  probs.dispose();
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) {
    let best = 0;
    for (let k = 1; k < P; k++) if (p[i * P + k] > p[i * P + best]) best = k;
    data[i] = labels[best];
  }
  return createVoxels(shape, model.metadata.voxelSize, model.metadata.phases, data);
}
