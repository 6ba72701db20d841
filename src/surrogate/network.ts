/**
 * Network architectures of the surrogates (issue #5), as tfjs layers models so that they save
 * in the standard tfjs format.
 *
 * Both are multi-task with hard parameter sharing (Caruana 1997; Ruder 2017, §3.1; the
 * seed paper's Fig. 11c): a shared trunk learns one representation of the structure, and one
 * small head per property maps it to that property. Properties of one structure are
 * correlated (τ, permeability and conductivity all follow porosity and connectivity), so the
 * shared trunk is trained by every property's data, and a property missing for a row only
 * silences its own head (masked loss, see ensemble.ts).
 *
 * - `mlp`: inputs (encoded parameters + cheap morphology descriptors) → dense trunk → heads.
 * - `cnn3d`: the design of Cecen, Dai, Yabansu, Kalidindi & Song, Acta Mater. 146 (2018) 76:
 *   stacked 3D convolutions with max-pooling on the voxel volume, then a dense layer, here
 *   followed by the per-property heads. Rows arrive flattened (x slowest, z fastest, as in
 *   Voxels) and are reshaped to [nx, ny, nz, 1] by the first layer.
 */
import * as tf from '@tensorflow/tfjs';

export type Activation = 'relu' | 'elu' | 'tanh' | 'swish';

export interface MlpArchitecture {
  kind: 'mlp';
  /** Units of the shared dense layers. */
  trunk: number[];
  /** Units of each head's hidden layers (before its linear output unit). */
  head: number[];
  activation: Activation;
}

export interface Cnn3dArchitecture {
  kind: 'cnn3d';
  /** Volume shape of one input row. */
  shape: [number, number, number];
  /** Filters of each conv3d (3³ kernel, same padding) + 2³ max-pool block. */
  filters: number[];
  /** Units of the dense layers after flattening. */
  dense: number[];
  head: number[];
  activation: Activation;
}

export type Architecture = MlpArchitecture | Cnn3dArchitecture;

export const DEFAULT_MLP: MlpArchitecture = { kind: 'mlp', trunk: [64, 64], head: [16], activation: 'swish' };

/** Builds the network; weights are initialised deterministically from `seed`. */
export function buildNetwork(arch: Architecture, nInputs: number, nOutputs: number, seed: number): tf.LayersModel {
  let layerSeed = seed >>> 0;
  const init = () => tf.initializers.glorotUniform({ seed: layerSeed++ });
  const dense = (units: number, activation: Activation | 'linear', name: string) =>
    tf.layers.dense({ units, activation, kernelInitializer: init(), biasInitializer: 'zeros', name });

  const input = tf.input({ shape: [nInputs], name: 'features' });
  let h: tf.SymbolicTensor = input;
  if (arch.kind === 'cnn3d') {
    const [nx, ny, nz] = arch.shape;
    if (nx * ny * nz !== nInputs) throw new Error(`cnn3d shape ${arch.shape.join('×')} needs ${nx * ny * nz} inputs per row, got ${nInputs}`);
    h = tf.layers.reshape({ targetShape: [nx, ny, nz, 1], name: 'volume' }).apply(h) as tf.SymbolicTensor;
    arch.filters.forEach((f, i) => {
      h = tf.layers
        .conv3d({ filters: f, kernelSize: 3, padding: 'same', activation: arch.activation, kernelInitializer: init(), name: `conv${i}` })
        .apply(h) as tf.SymbolicTensor;
      h = tf.layers.maxPooling3d({ poolSize: 2, strides: 2, name: `pool${i}` }).apply(h) as tf.SymbolicTensor;
    });
    h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
    arch.dense.forEach((u, i) => {
      h = dense(u, arch.activation, `dense${i}`).apply(h) as tf.SymbolicTensor;
    });
  } else {
    arch.trunk.forEach((u, i) => {
      h = dense(u, arch.activation, `trunk${i}`).apply(h) as tf.SymbolicTensor;
    });
  }
  const heads: tf.SymbolicTensor[] = [];
  for (let p = 0; p < nOutputs; p++) {
    let g = h;
    arch.head.forEach((u, i) => {
      g = dense(u, arch.activation, `head${p}_${i}`).apply(g) as tf.SymbolicTensor;
    });
    heads.push(dense(1, 'linear', `head${p}_out`).apply(g) as tf.SymbolicTensor);
  }
  const output = heads.length === 1 ? heads[0] : (tf.layers.concatenate({ axis: -1, name: 'properties' }).apply(heads) as tf.SymbolicTensor);
  return tf.model({ inputs: input, outputs: output });
}
