/**
 * The SliceGAN layers of gan-net.ts (issue #19): forward values against TensorFlow.js's own
 * conv3dTranspose / conv2d on the cpu backend (correct there, STACK.md), and gradients on the
 * wasm backend — the one training uses — against central finite differences, including the
 * gradient of a gradient that WGAN-GP's penalty needs.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { discriminatorForward, downConv2d, generatorForward, initDiscriminator, initGenerator, latentSideFor, leaky, makeLatent, outputSide, upConv3d } from './gan-net.js';

// Test files share a worker (vitest isolate: false): leave the backend as it was found.
let before = '';
beforeAll(() => {
  before = tf.getBackend();
});
afterAll(async () => {
  if (before && tf.getBackend() !== before) await tf.setBackend(before);
});

async function use(backend: 'cpu' | 'wasm'): Promise<void> {
  tf.enableProdMode();
  await tf.setBackend(backend);
  await tf.ready();
}

const rand = (n: number, seed: number) => {
  const r = createRng(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
};

describe('gan-net layers (forward, against tfjs on cpu)', () => {
  it('upConv3d is the kernel-4, stride-2, padding-2 transposed convolution', async () => {
    await use('cpu');
    const [X, Y, Z, C, O] = [3, 4, 5, 2, 3];
    const x = tf.tensor4d(rand(X * Y * Z * C, 1), [X, Y, Z, C]);
    const K = rand(4 * 4 * 4 * O * C, 2); // tfjs filter [kd, kh, kw, out, in]
    const bias = rand(O, 3);
    // Reference: valid transposed conv (output 2n + 2), then SliceGAN's padding 2 cut from each side.
    const ref = tf.tidy(() => {
      const full = tf.conv3dTranspose(tf.reshape(x, [1, X, Y, Z, C]) as tf.Tensor5D, tf.tensor5d(K, [4, 4, 4, O, C]), [1, 2 * X + 2, 2 * Y + 2, 2 * Z + 2, O], 2, 'valid');
      return tf.add(tf.slice(full, [0, 2, 2, 2, 0], [1, 2 * X - 2, 2 * Y - 2, 2 * Z - 2, O]), bias).dataSync();
    });
    // Ours: row (tap a,c,d; cin), column (parity r,s,t; cout) = K[r + 2 − 2a, s + 2 − 2c, t + 2 − 2d, cout, cin].
    const W = new Float32Array(8 * C * 8 * O);
    for (let a = 0; a < 2; a++)
      for (let c = 0; c < 2; c++)
        for (let d = 0; d < 2; d++)
          for (let ci = 0; ci < C; ci++)
            for (let r = 0; r < 2; r++)
              for (let s = 0; s < 2; s++)
                for (let t = 0; t < 2; t++)
                  for (let o = 0; o < O; o++) {
                    const k = [r + 2 - 2 * a, s + 2 - 2 * c, t + 2 - 2 * d];
                    W[((4 * a + 2 * c + d) * C + ci) * 8 * O + (4 * r + 2 * s + t) * O + o] = K[(((k[0] * 4 + k[1]) * 4 + k[2]) * O + o) * C + ci];
                  }
    const ours = tf.tidy(() => upConv3d(x, 1, tf.tensor2d(W, [8 * C, 8 * O]), tf.tensor1d(bias)).dataSync());
    expect(ours.length).toBe(ref.length);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  it('upConv3d treats a batch carried in the channel axis volume by volume', async () => {
    await use('cpu');
    const [n, C, O] = [4, 2, 3];
    const w = tf.tensor2d(rand(8 * C * 8 * O, 5), [8 * C, 8 * O]);
    const b = tf.tensor1d(rand(O, 6));
    const v0 = tf.tensor4d(rand(n ** 3 * C, 7), [n, n, n, C]);
    const v1 = tf.tensor4d(rand(n ** 3 * C, 8), [n, n, n, C]);
    const both = upConv3d(tf.concat([v0, v1], 3) as tf.Tensor4D, 2, w, b);
    const m = 2 * n - 2;
    const split = tf.reshape(both, [m, m, m, 2, O]);
    const first = tf.reshape(tf.slice(split, [0, 0, 0, 0, 0], [m, m, m, 1, O]), [m, m, m, O]);
    const second = tf.reshape(tf.slice(split, [0, 0, 0, 1, 0], [m, m, m, 1, O]), [m, m, m, O]);
    expect(tf.max(tf.abs(tf.sub(first, upConv3d(v0, 1, w, b)))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(tf.sub(second, upConv3d(v1, 1, w, b)))).dataSync()[0]).toBeLessThan(1e-5);
  });

  it('downConv2d is the kernel-4, stride-2, padding-1 convolution', async () => {
    await use('cpu');
    const [N, H, Wd, C, O] = [2, 8, 6, 3, 4];
    const x = tf.tensor4d(rand(N * H * Wd * C, 11), [N, H, Wd, C]);
    const K = rand(4 * 4 * C * O, 12); // tfjs filter [kh, kw, in, out]
    const bias = rand(O, 13);
    const ref = tf.tidy(() => tf.add(tf.conv2d(x, tf.tensor4d(K, [4, 4, C, O]), 2, 1), bias).dataSync());
    // Ours: row (tap 2a + c; in-block p, q; cin) = K[2a + p, 2c + q, cin, ·].
    const W = new Float32Array(16 * C * O);
    for (let a = 0; a < 2; a++)
      for (let c = 0; c < 2; c++)
        for (let p = 0; p < 2; p++)
          for (let q = 0; q < 2; q++)
            for (let ci = 0; ci < C; ci++)
              for (let o = 0; o < O; o++) W[(((2 * a + c) * 4 + 2 * p + q) * C + ci) * O + o] = K[(((2 * a + p) * 4 + 2 * c + q) * C + ci) * O + o];
    const ours = tf.tidy(() => downConv2d(x, tf.tensor2d(W, [16 * C, O]), tf.tensor1d(bias)).dataSync());
    expect(ours.length).toBe(ref.length);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
    expect(worst).toBeLessThan(1e-4);
  });
});

/** Max relative error of ⟨∇f(θ), v⟩ against (f(θ + hv) − f(θ − hv))/2h over random directions v. */
function directional(f: (t: tf.Tensor) => tf.Scalar, theta: tf.Tensor, h: number, seed: number, directions = 3): number {
  const g = tf.grad(f)(theta).dataSync() as Float32Array;
  const base = theta.dataSync() as Float32Array;
  const r = createRng(seed);
  let worst = 0;
  for (let s = 0; s < directions; s++) {
    const v = Float32Array.from({ length: base.length }, () => r.uniform(-1, 1));
    const at = (step: number) => tf.tidy(() => f(tf.tensor(base.map((b, i) => b + step * v[i]), theta.shape)).dataSync()[0]);
    const numeric = (at(h) - at(-h)) / (2 * h);
    const analytic = g.reduce((acc, gi, i) => acc + gi * v[i], 0);
    worst = Math.max(worst, Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric)));
  }
  return worst;
}

describe('gan-net gradients on the wasm backend (finite differences)', () => {
  it('upConv3d: input, weight and bias gradients', async () => {
    await use('wasm');
    const [n, C, O] = [4, 3, 2];
    const x = tf.tensor4d(rand(n ** 3 * 2 * C, 21), [n, n, n, 2 * C]);
    const w = tf.tensor2d(rand(8 * C * 8 * O, 22), [8 * C, 8 * O]);
    const b = tf.tensor1d(rand(O, 23));
    const m = 2 * n - 2;
    const R = tf.tensor4d(rand(m ** 3 * 2 * O, 24), [m, m, m, 2 * O]);
    const loss = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(R, tf.tanh(upConv3d(xx as tf.Tensor4D, 2, ww as tf.Tensor2D, bb as tf.Tensor1D)))) as tf.Scalar;
    expect(directional((t) => loss(t, w, b), x, 1e-2, 1)).toBeLessThan(2e-2);
    expect(directional((t) => loss(x, t, b), w, 1e-2, 2)).toBeLessThan(2e-2);
    expect(directional((t) => loss(x, w, t), b, 1e-2, 3)).toBeLessThan(2e-2);
  });

  it('downConv2d: input and weight gradients', async () => {
    await use('wasm');
    const [N, H, C, O] = [3, 8, 2, 4];
    const x = tf.tensor4d(rand(N * H * H * C, 31), [N, H, H, C]);
    const w = tf.tensor2d(rand(16 * C * O, 32), [16 * C, O]);
    const b = tf.tensor1d(rand(O, 33));
    const R = tf.tensor4d(rand(N * (H / 2) ** 2 * O, 34), [N, H / 2, H / 2, O]);
    // A smooth nonlinearity: finite differences across leaky's kink measure the kink, not the gradient.
    const loss = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(R, tf.tanh(downConv2d(xx as tf.Tensor4D, ww as tf.Tensor2D, b)))) as tf.Scalar;
    expect(directional((t) => loss(t, w), x, 1e-2, 4)).toBeLessThan(2e-2);
    expect(directional((t) => loss(x, t), w, 1e-2, 5)).toBeLessThan(2e-2);
  });

  it('leaky is leaky ReLU (slope 0.2) in value and gradient', async () => {
    await use('wasm');
    const x = tf.tensor1d([-2, -0.5, -0.01, 0.01, 0.5, 2]);
    const ref = tf.leakyRelu(x, 0.2).dataSync();
    leaky(x).dataSync().forEach((v, i) => expect(v).toBeCloseTo(ref[i], 6));
    const g = tf.grad((t: tf.Tensor) => tf.sum(leaky(t)))(x).dataSync();
    expect(Array.from(g).map((v) => Math.round(v * 1000) / 1000)).toEqual([0.2, 0.2, 0.2, 1, 1, 1]);
  });

  it('the gradient penalty: d/dθ of ‖∇ₓD(x)‖² through the discriminator (second order)', async () => {
    await use('wasm');
    const D = initDiscriminator({ inputs: 2, hidden: [3, 4], side: 8 }, createRng(41), 't');
    const x = tf.tensor4d(rand(2 * 8 * 8 * 2, 42), [2, 8, 8, 2]);
    const k = 1; // the second conv layer's weights
    const penalty = (wk: tf.Tensor) => {
      const p = { w: D.w.map((w, i) => (i === k ? wk : w)) as tf.Variable[], b: D.b };
      const g = tf.grad((xx: tf.Tensor) => tf.sum(discriminatorForward(p, xx as tf.Tensor4D)))(x);
      return tf.sum(tf.square(g)) as tf.Scalar;
    };
    expect(directional(penalty, D.w[k], 1e-3, 6)).toBeLessThan(2e-2);
  });
});

describe('generator', () => {
  it('maps a latent of side l to 16(l − 2) + 2 voxels per axis (any size), with phase probabilities that sum to 1', async () => {
    await use('wasm');
    const G = initGenerator({ latentChannels: 4, conditioned: true, hidden: [8, 6, 4], phases: 3 }, createRng(51));
    expect(outputSide(4, 4)).toBe(34);
    expect(latentSideFor(33, 4)).toBe(4);
    expect(outputSide(latentSideFor(81, 4), 4)).toBeGreaterThanOrEqual(81);
    const out = generatorForward(G, makeLatent(createRng(52), 2, [4, 3, 5], 4, [0.5, -0.5]), 2);
    expect(out.shape).toEqual([34, 18, 50, 6]);
    const sums = tf.sum(tf.reshape(out, [-1, 3]), 1).dataSync();
    expect(Math.max(...sums.map((s) => Math.abs(s - 1)))).toBeLessThan(1e-5);
    expect(tf.min(out).dataSync()[0]).toBeGreaterThanOrEqual(0);
  });
});
