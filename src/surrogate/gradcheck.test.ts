/**
 * Finite-difference gradient checks for every layer type the surrogates train, on the backend
 * each is trained on (issue #5, STACK.md: tfjs-backend-wasm 4.22 computes wrong conv3d
 * gradients, so convolutions train on cpu). Loss L = Σ R ⊙ layer(x) with a fixed random R;
 * the analytic gradients of L with respect to the input and to every weight are compared with
 * central differences (L − L₋)/(2h) at a sample of coordinates.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { ensureBackend, type BackendKind } from './backend.js';
import { buildNetwork } from './network.js';

const quiet = { log: () => {} };

/** Distinct values on a 0.01 grid, so that max-pool windows have gaps ≫ h. */
function distinctValues(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const v = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.01);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

/**
 * Max relative error |⟨∇L, v⟩ − (L(θ + hv) − L(θ − hv))/(2h)| / max(1, |numeric|) over
 * `directions` random directions v ∈ [−1, 1]ⁿ, for θ = the input and θ = each weight tensor.
 * A directional check covers every coordinate at once (a wrong gradient at a few border
 * voxels, say, is not missed the way sampled coordinates can miss it).
 */
function check(layer: tf.layers.Layer, xShape: number[], h: number, directions = 4, seed = 1): number {
  const rng = createRng(seed);
  const n = xShape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(distinctValues(n, seed), xShape);
  const out = layer.apply(x) as tf.Tensor; // builds the weights
  const R = tf.tensor(Float32Array.from({ length: out.size }, () => rng.uniform(-1, 1)), out.shape);
  const weights = layer.getWeights();
  const lossOf = (input: tf.Tensor, ws: tf.Tensor[]): number => {
    layer.setWeights(ws);
    return tf.tidy(() => tf.sum(tf.mul(R, layer.apply(input) as tf.Tensor)).dataSync()[0]);
  };
  // Analytic gradients with respect to the input and all weights.
  const vars = layer.trainableWeights.map((w) => w.read() as tf.Variable);
  const grads = vars.length > 0 ? tf.variableGrads(() => tf.sum(tf.mul(R, layer.apply(x) as tf.Tensor)) as tf.Scalar, vars).grads : {};
  const gx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(R, layer.apply(input) as tf.Tensor)))(x);
  const targets: Array<{ value: tf.Tensor; grad: Float32Array; isInput: boolean; k: number }> = [
    { value: x, grad: gx.dataSync() as Float32Array, isInput: true, k: -1 },
    ...weights.map((w, k) => ({ value: w, grad: grads[vars[k].name].dataSync() as Float32Array, isInput: false, k })),
  ];
  let worst = 0;
  for (const t of targets) {
    const base = t.value.dataSync() as Float32Array;
    for (let s = 0; s < directions; s++) {
      const v = Float32Array.from({ length: base.length }, () => rng.uniform(-1, 1));
      const at = (step: number): number => {
        const moved = tf.tensor(base.map((b, i) => b + step * v[i]), t.value.shape);
        const ws = weights.map((w, k) => (k === t.k ? moved : w));
        const l = lossOf(t.isInput ? moved : x, ws);
        moved.dispose();
        return l;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      const analytic = t.grad.reduce((acc, g, i) => acc + g * v[i], 0);
      worst = Math.max(worst, Math.abs(analytic - numeric) / Math.max(1, Math.abs(numeric)));
    }
  }
  layer.setWeights(weights);
  return worst;
}

const cases: Array<{ name: string; kind: BackendKind; make: () => tf.layers.Layer; shape: number[]; h: number }> = [
  { name: 'dense (tanh)', kind: 'dense', make: () => tf.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), shape: [4, 6], h: 1e-2 },
  { name: 'dense (swish)', kind: 'dense', make: () => tf.layers.dense({ units: 5, activation: 'swish', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }), shape: [4, 6], h: 1e-2 },
  {
    name: 'conv3d (3³, same, 2 → 3 channels)',
    kind: 'conv',
    make: () => tf.layers.conv3d({ filters: 3, kernelSize: 3, padding: 'same', biasInitializer: tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 4 }), kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    shape: [2, 5, 4, 6, 2],
    h: 1e-1, // linear in x and in the weights: central differences are exact up to rounding
  },
  { name: 'maxPooling3d (2³, 3 channels)', kind: 'conv', make: () => tf.layers.maxPooling3d({ poolSize: 2, strides: 2 }), shape: [2, 4, 4, 6, 3], h: 4e-3 },
];

describe('gradient checks on the training backend', () => {
  for (const c of cases) {
    it(c.name, async () => {
      await ensureBackend(c.kind, quiet);
      const err = tf.tidy(() => check(c.make(), c.shape, c.h));
      expect(err).toBeLessThan(2e-2);
    });
  }

  it('conv3d and maxPool3d forward passes match direct loops (gradient checks cannot see a wrong forward)', async () => {
    await ensureBackend('conv', quiet);
    const [B, X, Y, Z, C, F] = [2, 4, 6, 5, 3, 4];
    const x = distinctValues(B * X * Y * Z * C, 11);
    const w = distinctValues(27 * C * F, 12);
    const at = (b: number, i: number, j: number, k: number, c: number) => x[(((b * X + i) * Y + j) * Z + k) * C + c];
    const conv = tf.tidy(() => tf.conv3d(tf.tensor5d(x, [B, X, Y, Z, C]), tf.tensor5d(w, [3, 3, 3, C, F]), 1, 'same').dataSync());
    const pool = tf.tidy(() => tf.maxPool3d(tf.tensor5d(x, [B, X, Y, Z, C]), 2, 2, 'valid').dataSync());
    let worstConv = 0;
    let worstPool = 0;
    for (let b = 0; b < B; b++)
      for (let i = 0; i < X; i++)
        for (let j = 0; j < Y; j++)
          for (let k = 0; k < Z; k++)
            for (let f = 0; f < F; f++) {
              let sum = 0;
              for (let di = 0; di < 3; di++)
                for (let dj = 0; dj < 3; dj++)
                  for (let dk = 0; dk < 3; dk++) {
                    const [ii, jj, kk] = [i + di - 1, j + dj - 1, k + dk - 1];
                    if (ii < 0 || jj < 0 || kk < 0 || ii >= X || jj >= Y || kk >= Z) continue;
                    for (let c = 0; c < C; c++) sum += at(b, ii, jj, kk, c) * w[(((di * 3 + dj) * 3 + dk) * C + c) * F + f];
                  }
              worstConv = Math.max(worstConv, Math.abs(conv[(((b * X + i) * Y + j) * Z + k) * F + f] - sum));
            }
    const [PX, PY, PZ] = [X / 2, Y / 2, Math.floor(Z / 2)];
    for (let b = 0; b < B; b++)
      for (let i = 0; i < PX; i++)
        for (let j = 0; j < PY; j++)
          for (let k = 0; k < PZ; k++)
            for (let c = 0; c < C; c++) {
              let m = -Infinity;
              for (let d = 0; d < 8; d++) m = Math.max(m, at(b, 2 * i + (d >> 2), 2 * j + ((d >> 1) & 1), 2 * k + (d & 1), c));
              worstPool = Math.max(worstPool, Math.abs(pool[(((b * PX + i) * PY + j) * PZ + k) * C + c] - m));
            }
    expect(worstConv).toBeLessThan(1e-4);
    expect(worstPool).toBe(0);
  });

  it('a whole cnn3d network (conv3d + pooling + dense heads): weight gradients', async () => {
    await ensureBackend('conv', quiet);
    const model = buildNetwork({ kind: 'cnn3d', shape: [8, 8, 8], filters: [2], dense: [4], head: [], activation: 'tanh' }, 512, 2, 7);
    const x = tf.tensor2d(distinctValues(2 * 512, 3), [2, 512]);
    const R = tf.tensor2d([[0.3, -0.7], [1.1, 0.4]]);
    const loss = () => tf.sum(tf.mul(R, model.apply(x) as tf.Tensor)) as tf.Scalar;
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(loss, vars);
    const rng = createRng(9);
    let worst = 0;
    for (const v of vars) {
      const g = grads[v.name].dataSync();
      const base = v.dataSync().slice();
      for (let s = 0; s < 4; s++) {
        const i = rng.int(base.length);
        const at = (d: number) => {
          const b = Float32Array.from(base);
          b[i] += d;
          v.assign(tf.tensor(b, v.shape));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const h = 1e-2;
        const numeric = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(base, v.shape));
        worst = Math.max(worst, Math.abs(g[i] - numeric) / Math.max(1, Math.abs(numeric)));
      }
    }
    expect(worst).toBeLessThan(2e-2);
  });
});
