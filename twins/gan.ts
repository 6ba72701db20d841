import { statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, TrainedModelInfo, Twin, TwinGenerateOptions, TwinOutput } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { checkedCondition, latentSideFor, readGanModel, type GanMetadata } from '../src/voxel/gan-model.js';
import { createVoxels, phaseFractions } from '../src/voxel/voxels.js';

/**
 * `gan`: a twin that is a trained SliceGAN generator (issue #19; Kench & Cooper, Nature Machine
 * Intelligence 3 (2021) 299), made with `poreloop reconstruct gan train` — a learned G-model of
 * a real material, conditioned on one scalar manufacturing parameter (the porosity of the
 * training cubes, or a value given per training volume such as calendering pressure).
 *
 * Config: `twin: { name: gan, model: <folder>, size, voxelSize }` (the loader passes the
 * folder as the fixed parameter `model`); the agent searches `condition`, in the units of the
 * model's conditioning parameter (metadata.json `condition.name`), within the range it was
 * trained on — a value outside it is refused, since a generator extrapolates blindly.
 *
 * The forward pass is written here in plain loops over the saved weights (model.json +
 * weights.bin, src/reconstruct/gan.ts writes them): twins may not import src/reconstruct or
 * TensorFlow.js (DESIGN.md, plugins depend on src/core and src/voxel only), generation must
 * be synchronous (Twin.generate), and it must not touch the process-global tfjs backend.
 * It repeats src/reconstruct/gan-net.ts exactly — same latent stream, same layers (transposed
 * conv k4 s2 p2 as 2×2×2 taps × parity blocks, ReLU, and the phase of highest score last) —
 * and tests/gan-twin.test.ts checks it voxel by voxel against the TensorFlow.js generator.
 */

interface Loaded {
  latentChannels: number;
  crop: number;
  layers: Array<{ w: Float32Array; cin: number; cout: number; b: Float32Array }>;
  labels: number[];
  phases: Record<number, string>;
  metadata: GanMetadata;
}

/** The labels this twin's volumes may carry (declared below): 0 pore, then up to three solids. */
const PHASES: Record<number, string> = { 0: 'pore', 1: 'solid', 2: 'second solid (e.g. carbon-binder)', 3: 'third solid' };

const cache = new Map<string, { stamp: string; model: Loaded }>();

/** The model files a folder holds (src/voxel/gan-model.ts reads them). */
const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'];

/**
 * The model folder, read and checked by src/voxel/gan-model.ts (the same reader as `reconstruct
 * gan`; #19 review: a damaged folder was a RangeError/TypeError/SyntaxError, exit 1), cached per
 * folder until any of its three files changes (the config loader checks a campaign through this
 * cache too, so an edited metadata.json must not be read stale). Its labels must be phases this
 * twin declares, 0 (pore) among them: `porosity` is the fraction of label 0.
 */
function load(dir: string): Loaded {
  let stamp: string;
  try {
    stamp = MODEL_FILES.map((f) => {
      const st = statSync(join(dir, f));
      return `${st.mtimeMs}:${st.size}`;
    }).join('|');
  } catch {
    throw new BadInputError(`no trained model here (expected ${MODEL_FILES.join(', ')}: poreloop reconstruct gan train makes them)`, dir);
  }
  const hit = cache.get(dir);
  if (hit && hit.stamp === stamp) return hit.model;
  const g = readGanModel(dir);
  const labels = g.metadata.labels;
  const undeclared = labels.filter((l) => !(l in PHASES));
  if (undeclared.length) {
    throw new BadInputError(
      `the model's volumes carry label${undeclared.length > 1 ? 's' : ''} ${undeclared.join(', ')}, which twin gan does not declare (it declares ${Object.keys(PHASES).join(', ')}); retrain it on a volume labelled so (0 pore), e.g. a 0/255 stack relabelled 0/1`,
      dir,
    );
  }
  if (!labels.includes(0)) throw new BadInputError(`the model's volumes carry labels ${labels.join(', ')} and no 0: label 0 is the pore phase (porosity is its fraction); retrain it on a volume with pore labelled 0`, dir);
  const model: Loaded = {
    latentChannels: g.config.latentChannels,
    crop: g.crop,
    layers: g.weights.map((l) => ({ w: l.w, cin: l.wShape[0] / 8, cout: l.wShape[1] / 8, b: l.b })),
    labels,
    phases: g.metadata.phases,
    metadata: g.metadata,
  };
  cache.set(dir, { stamp, model });
  return model;
}

/** Transposed conv k4 s2 p2 on one volume [X, Y, Z, C] (channels last) → [2X−2, 2Y−2, 2Z−2, Cout]; see gan-net.ts upConv3d. */
function upConv(x: Float32Array, dims: number[], l: Loaded['layers'][number], relu: boolean): { y: Float32Array; dims: number[] } {
  const [X, Y, Z] = dims;
  const { cin: C, cout: O, w, b } = l;
  const [mx, my, mz] = [X - 1, Y - 1, Z - 1];
  const out = [2 * mx, 2 * my, 2 * mz];
  const y = new Float32Array(out[0] * out[1] * out[2] * O);
  const block = new Float64Array(8 * O);
  for (let i = 0; i < mx; i++)
    for (let j = 0; j < my; j++)
      for (let k = 0; k < mz; k++) {
        for (let p = 0; p < 8; p++) for (let o = 0; o < O; o++) block[p * O + o] = b[o];
        for (let tap = 0; tap < 8; tap++) {
          const xi = (((i + (tap >> 2)) * Y + j + ((tap >> 1) & 1)) * Z + k + (tap & 1)) * C;
          for (let c = 0; c < C; c++) {
            const v = x[xi + c];
            if (v === 0) continue;
            const row = (tap * C + c) * 8 * O;
            for (let q = 0; q < 8 * O; q++) block[q] += v * w[row + q];
          }
        }
        for (let p = 0; p < 8; p++) {
          const yi = (((2 * i + (p >> 2)) * out[1] + 2 * j + ((p >> 1) & 1)) * out[2] + 2 * k + (p & 1)) * O;
          for (let o = 0; o < O; o++) {
            const v = block[p * O + o];
            y[yi + o] = relu && v < 0 ? 0 : v;
          }
        }
      }
  return { y, dims: out };
}

const KEYS = new Set(['model', 'condition']);

function generate(params: Parameters, options: TwinGenerateOptions): TwinOutput {
  for (const k of Object.keys(params)) if (!KEYS.has(k)) throw new BadInputError(`"${k}" is not a parameter of twin gan; it has condition (and model, the folder)`, k);
  if (options.untilStage !== undefined && options.untilStage !== 'generate') throw new BadInputError(`twin gan has one stage, generate; got "${options.untilStage}"`, 'untilStage');
  const dir = params.model;
  if (typeof dir !== 'string' || dir === '') throw new BadInputError('twin gan needs its trained model folder: twin.model in the campaign config', 'model');
  const m = load(dir);
  // The trained-range check and the scaling to [−1, 1] that training used (src/voxel/gan-model.ts).
  const cond = checkedCondition(m.metadata, params.condition === undefined ? undefined : Number(params.condition), 'condition');
  const shape = options.size;
  const L = m.layers.length;
  let dims = shape.map((n) => latentSideFor(n + m.crop, L));
  const cz = m.latentChannels + (cond === undefined ? 0 : 1);
  const rng = createRng(options.seed);
  const npos = dims[0] * dims[1] * dims[2];
  let h: Float32Array = new Float32Array(npos * cz);
  for (let i = 0; i < npos; i++) {
    for (let c = 0; c < m.latentChannels; c++) h[i * cz + c] = rng.normal();
    if (cond !== undefined) h[i * cz + m.latentChannels] = cond;
  }
  for (let l = 0; l < L; l++) {
    const r = upConv(h, dims, m.layers[l], l + 1 < L);
    h = r.y;
    dims = r.dims;
    options.onProgress?.((l + 1) / L, 'generate');
  }
  // Softmax is monotonic: the most probable phase is the one of highest score.
  const P = m.labels.length;
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let x = 0; x < shape[0]; x++)
    for (let y = 0; y < shape[1]; y++)
      for (let z = 0; z < shape[2]; z++) {
        const o = (((x + m.crop) * dims[1] + y + m.crop) * dims[2] + z + m.crop) * P;
        let best = 0;
        for (let k = 1; k < P; k++) if (h[o + k] > h[o + best]) best = k;
        data[(x * shape[1] + y) * shape[2] + z] = m.labels[best];
      }
  const voxels = createVoxels(shape, options.voxelSize, m.phases, data);
  const fr = phaseFractions(voxels);
  const achieved: Record<string, number> = { porosity: fr[0] ?? 0 };
  for (const l of m.labels) achieved[`fraction_${l}`] = fr[l] ?? 0;
  // What was asked, with the default filled in: the middle of the trained range.
  const requested: Parameters = { ...params };
  const c = m.metadata.condition;
  if (c) requested.condition = params.condition === undefined ? (c.min + c.max) / 2 : Number(params.condition);
  return { voxels, requested, achieved, stages: ['generate'] };
}

export function createGanTwin(): Twin {
  return {
    name: 'gan',
    description: 'a trained SliceGAN generator (poreloop reconstruct gan train), conditioned on one manufacturing parameter',
    // `model` (the folder) is not a searchable parameter: the loader passes twin.model as the
    // fixed value `model`, refuses it as a space or pool column, and merges fixed values last
    // (src/ledger/view.ts), so a trial cannot replace it (#19 review); generation refuses to run
    // without it.
    parameters: [
      {
        name: 'condition',
        kind: 'continuous',
        // The real bounds are the model's training range (metadata.json), per model: the config
        // loader checks the space against it (src/config/load.ts checkConditionRange, #19 review)
        // and generation checks every value.
        min: -1e12,
        max: 1e12,
        description: "the model's conditioning parameter (metadata.json condition.name, e.g. porosity), within its training range",
      },
    ],
    stages: [{ name: 'generate', description: 'the generator maps a seeded latent (and the condition) to a volume', parameters: ['condition'] }],
    // The volumes carry the loaded model's own phase names (metadata.json); declared here is
    // the labelling the reconstruction tools use: 0 pore, then the solids. A model with other
    // labels (a 0/255 stack, more than four phases) is refused when the config loads and here.
    phases: PHASES,
    generate,
    // The config loader checks a campaign against the model through this (src/config/load.ts):
    // the same reader and label checks as generation, cached the same way.
    trainedModel: (dir: string): TrainedModelInfo => {
      const m = load(dir);
      return { condition: m.metadata.condition };
    },
  };
}
