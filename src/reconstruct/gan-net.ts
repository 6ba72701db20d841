/**
 * The networks of the SliceGAN-style generator (issue #19; Kench & Cooper, "Generating
 * three-dimensional structures from a two-dimensional slice with generative adversarial
 * network-based dimensionality expansion", Nature Machine Intelligence 3 (2021) 299), written
 * so that TensorFlow.js differentiates them only through ops that are correct on the wasm
 * backend (STACK.md "TensorFlow.js here": wasm's conv3d input gradient and stride-2 filter
 * gradient are wrong and 2D-conv training throws; dense matMul and its gradient are right).
 *
 * - `upConv3d`: SliceGAN's generator layer, a 3D transposed convolution with kernel 4,
 *   stride 2, padding 2 (output 2n − 2 from input n). Each output voxel 2i + r (parity r) sees
 *   exactly the two inputs i and i + 1 per axis, through taps r + 2 and r of the kernel, so the
 *   layer is: gather the 2×2×2 neighbourhood of every input position (slices + concat, an
 *   im2col), one matMul by an (8·Cin × 8·Cout) matrix (the 4³ kernel rearranged: a bijection,
 *   same parameter count), and a depth-to-space reshape/transpose (col2im without a scatter).
 *   No zero padding enters, so outputs are translation-equivariant in the latent and a larger
 *   latent gives a larger volume without edge effects (SliceGAN's reason for padding 2).
 * - `downConv2d`: SliceGAN's discriminator layer, a 2D convolution with kernel 4, stride 2,
 *   padding 1 (even n → n/2): zero-pad, space-to-depth (2×2 blocks to channels), gather 2×2
 *   neighbouring blocks (slices + concat), matMul by a (16·Cin × Cout) matrix.
 * - `leaky`: leaky ReLU as 0.6x + 0.4|x| — tf.leakyRelu's gradient uses `greater`, which has
 *   no gradient, so the gradient penalty (a gradient of a gradient) cannot pass through it.
 *
 * Tensors are channels-last: volumes [B, X, Y, Z, C] (the voxel layout of src/voxel: x
 * slowest), slices [N, H, W, C].
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../core/rng.js';
import type { GeneratorConfig } from '../voxel/gan-model.js';

/**
 * matMul whose gradient transposes explicitly: the wasm backend's matMul with transposeA or
 * transposeB (what tf.matMul's own gradient calls) is 5–8× slower than a transpose followed by
 * a plain matMul (measured here on a 9826×128 by 128×24 product: 80–90 ms against 15–17 ms).
 * The gradient is built from differentiable ops, so gradients of gradients (WGAN-GP) pass.
 */
export const matMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    // Itself through `matMul`, so the second-order pass of the gradient penalty is fast too.
    gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => [matMul(dy as tf.Tensor2D, tf.transpose(sb) as tf.Tensor2D), matMul(tf.transpose(sa) as tf.Tensor2D, dy as tf.Tensor2D)],
  };
}) as never) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * 3D transposed conv, kernel 4, stride 2, padding 2, on a batch of B volumes held as
 * [X, Y, Z, B·Cin] → [2X−2, 2Y−2, 2Z−2, B·Cout]. `w` is [8·Cin, 8·Cout]: row (tap, cin) with
 * tap = 4a + 2c + d the neighbour (i+a, j+c, k+d); column (parity, cout) with parity =
 * 4r + 2s + t the output (2i+r, 2j+s, 2k+t). `b` is [Cout].
 *
 * Why this layout: on the wasm backend, slicing a rank-5 tensor takes a slow generic path
 * (≈ 300 ms for one tap of an 18³ × 32 batch, against ≈ 1 ms at rank 4) and rank-8 transposes
 * are slow too, so the batch rides in the channel axis, every slice is rank 4 and the
 * depth-to-space is three rank-4 transposes, one axis at a time.
 */
export function upConv3d(x: tf.Tensor4D, batch: number, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor4D {
  const [X, Y, Z, BC] = x.shape;
  const B = batch;
  const C = BC / B;
  const [mx, my, mz] = [X - 1, Y - 1, Z - 1];
  const cout = w.shape[1] / 8;
  const n = mx * my * mz;
  // im2col as a sum over the 8 taps of (neighbour rows [n·B, Cin]) · (that tap's block of w):
  // no concat, whose gradient (SplitV) is slow on wasm.
  let y: tf.Tensor = tf.concat(Array.from({ length: 8 }, () => b), 0); // bias of every (r, s, t, cout)
  for (let a = 0; a < 2; a++)
    for (let c = 0; c < 2; c++)
      for (let d = 0; d < 2; d++) {
        const tap = 4 * a + 2 * c + d;
        const rows = tf.reshape(tf.slice(x, [a, c, d, 0], [mx, my, mz, BC]), [n * B, C]) as tf.Tensor2D;
        y = tf.add(y, matMul(rows, tf.slice(w, [tap * C, 0], [C, 8 * cout])));
      }
  // y: [n·B, (r, s, t, cout)]
  // Depth-to-space, one axis at a time: (i j k B r s t C) → (i r j k B s t C) → (i r j s k B t C) → (i r j s k t B C).
  const s1 = tf.transpose(tf.reshape(y, [mx, my * mz * B, 2, 4 * cout]), [0, 2, 1, 3]);
  const s2 = tf.transpose(tf.reshape(s1, [2 * mx * my, mz * B, 2, 2 * cout]), [0, 2, 1, 3]);
  const s3 = tf.transpose(tf.reshape(s2, [4 * mx * my * mz, B, 2, cout]), [0, 2, 1, 3]);
  return tf.reshape(s3, [2 * mx, 2 * my, 2 * mz, B * cout]) as tf.Tensor4D;
}

/** 2D conv, kernel 4, stride 2, padding 1: [N, H, W, Cin] (H, W even) → [N, H/2, W/2, Cout]. `w` is [16·Cin, Cout], `b` [Cout]. */
export function downConv2d(x: tf.Tensor4D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  if (H % 2 || W % 2) throw new Error(`downConv2d needs even sides, got ${H}×${W}`);
  const hp = H / 2 + 1;
  const wp = W / 2 + 1;
  const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  // space-to-depth: [N, hp, 2, wp, 2, C] → [N, hp, wp, 2, 2, C] → [N, hp, wp, 4C]
  const s2d = tf.reshape(tf.transpose(tf.reshape(padded, [N, hp, 2, wp, 2, C]), [0, 1, 3, 2, 4, 5]), [N, hp, wp, 4 * C]);
  const n = N * (H / 2) * (W / 2);
  const cout = w.shape[1];
  // Rows of w: (tap = 2a + c, the 2×2 block's (row, col), Cin); a sum over taps as in upConv3d.
  let y: tf.Tensor = b;
  for (let a = 0; a < 2; a++)
    for (let c = 0; c < 2; c++) {
      const tap = 2 * a + c;
      const rows = tf.reshape(tf.slice(s2d, [0, a, c, 0], [N, H / 2, W / 2, 4 * C]), [n, 4 * C]) as tf.Tensor2D;
      y = tf.add(y, matMul(rows, tf.slice(w, [tap * 4 * C, 0], [4 * C, cout])));
    }
  return tf.reshape(y, [N, H / 2, W / 2, cout]) as tf.Tensor4D;
}

/** Leaky ReLU (slope 0.2), twice differentiable in tfjs (see the file comment). */
export function leaky<T extends tf.Tensor>(x: T): T {
  return tf.add(tf.mul(x, 0.6), tf.mul(tf.abs(x), 0.4)) as T;
}

// ─── Generator ────────────────────────────────────────────────────────────────────────────

// The generator's topology and the latent side for an output size live beside the saved
// model's reader (src/voxel/gan-model.ts), one copy for training and the gan twin (#19 review).
export type { GeneratorConfig } from '../voxel/gan-model.js';
export { latentSideFor } from '../voxel/gan-model.js';

export function outputSide(latent: number, layers: number): number {
  return 2 ** layers * (latent - 2) + 2;
}

export interface Params {
  w: tf.Variable[];
  b: tf.Variable[];
}

/** He-uniform weights from a seeded stream (fan-in as in the equivalent conv). */
function heUniform(rows: number, cols: number, fanIn: number, rng: Rng): Float32Array {
  const lim = Math.sqrt(6 / fanIn);
  return Float32Array.from({ length: rows * cols }, () => rng.uniform(-lim, lim));
}

export function initGenerator(cfg: GeneratorConfig, rng: Rng): Params {
  const chans = [cfg.latentChannels + (cfg.conditioned ? 1 : 0), ...cfg.hidden, cfg.phases];
  const w: tf.Variable[] = [];
  const b: tf.Variable[] = [];
  for (let l = 0; l + 1 < chans.length; l++) {
    const cin = chans[l];
    const cout = chans[l + 1];
    // Each output voxel of a k4 s2 transposed conv sums 2³ inputs × Cin channels.
    // Unnamed: tfjs names must be unique per thread, and a thread may train more than one model.
    w.push(tf.variable(tf.tensor2d(heUniform(8 * cin, 8 * cout, 8 * cin, rng), [8 * cin, 8 * cout]), true));
    b.push(tf.variable(tf.zeros([cout]), true));
  }
  return { w, b };
}

/** Latent [l, l, l, B·(Cz + 1)] → softmax phase probabilities [n, n, n, B·P] (B volumes). */
export function generatorForward(p: { w: tf.Tensor2D[] | tf.Variable[]; b: tf.Tensor1D[] | tf.Variable[] }, z: tf.Tensor4D, batch: number): tf.Tensor4D {
  let h: tf.Tensor4D = z;
  const L = p.w.length;
  for (let l = 0; l < L; l++) {
    h = upConv3d(h, batch, p.w[l] as tf.Tensor2D, p.b[l] as tf.Tensor1D);
    // SliceGAN: ReLU between layers (its batch norm is left out here: generation at any size
    // then needs no running statistics, and WGAN-GP trains without it); softmax over phases last.
    if (l + 1 < L) h = tf.relu(h);
    else {
      const [X, Y, Z, BP] = h.shape;
      const P = BP / batch;
      h = tf.reshape(tf.softmax(tf.reshape(h, [X * Y * Z * batch, P]), -1), [X, Y, Z, BP]);
    }
  }
  return h;
}

/**
 * The latent for `batch` volumes, [l, l, l, B·(Cz + 1)]: N(0, 1) noise (SliceGAN) plus the
 * conditioning channel. Drawn volume by volume, position by position (x slowest), channel by
 * channel — the order the twin's forward pass (twins/gan.ts) repeats.
 */
export function makeLatent(rng: Rng, batch: number, side: readonly number[], channels: number, conditions?: readonly number[]): tf.Tensor4D {
  const cz = channels + (conditions ? 1 : 0);
  const n = side[0] * side[1] * side[2];
  const data = new Float32Array(batch * n * cz);
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < n; i++) {
      const o = (i * batch + s) * cz;
      for (let c = 0; c < channels; c++) data[o + c] = rng.normal();
      if (conditions) data[o + channels] = conditions[s];
    }
  return tf.tensor4d(data, [side[0], side[1], side[2], batch * cz]);
}

// ─── Discriminator (one per axis, SliceGAN) ───────────────────────────────────────────────

export interface DiscriminatorConfig {
  /** Input channels: phases (+1 for the conditioning channel). */
  inputs: number;
  hidden: number[];
  /** Slice side (a power of 2 times 4 after the stride-2 layers). */
  side: number;
}

export function initDiscriminator(cfg: DiscriminatorConfig, rng: Rng, tag: string): Params {
  const chans = [cfg.inputs, ...cfg.hidden];
  const w: tf.Variable[] = [];
  const b: tf.Variable[] = [];
  for (let l = 0; l + 1 < chans.length; l++) {
    w.push(tf.variable(tf.tensor2d(heUniform(16 * chans[l], chans[l + 1], 16 * chans[l], rng), [16 * chans[l], chans[l + 1]]), true));
    b.push(tf.variable(tf.zeros([chans[l + 1]]), true));
  }
  // The last layer: SliceGAN's kernel-4 valid conv on the 4×4 map = a dense layer to one score.
  const last = (cfg.side / 2 ** cfg.hidden.length) ** 2 * chans.at(-1)!;
  w.push(tf.variable(tf.tensor2d(heUniform(last, 1, last, rng), [last, 1]), true));
  b.push(tf.variable(tf.zeros([1]), true));
  return { w, b };
}

/** Slices [N, s, s, C] → critic scores [N]. */
export function discriminatorForward(p: Params, x: tf.Tensor4D): tf.Tensor1D {
  let h = x;
  const L = p.w.length - 1;
  for (let l = 0; l < L; l++) h = leaky(downConv2d(h, p.w[l] as tf.Tensor2D, p.b[l] as tf.Tensor1D));
  const flat = tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D;
  return tf.reshape(tf.add(matMul(flat, p.w[L] as tf.Tensor2D), p.b[L]), [h.shape[0]]) as tf.Tensor1D;
}
