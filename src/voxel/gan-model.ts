import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../core/errors.js';
import { insideTrainedRange } from '../core/space.js';

/**
 * The saved SliceGAN generator (issue #19): reading and checking a model folder, and the small
 * pure pieces that training (src/reconstruct/gan.ts) and the campaign twin (twins/gan.ts) must
 * agree on — the latent side for an output size and the scaling of the conditioning value.
 * One copy for both: twins may import src/core and src/voxel but not src/reconstruct
 * (DESIGN.md), and this is the reader of a format that generates voxels, without TensorFlow.js.
 *
 * A folder holds model.json (format, generator topology, crop, tfjs-style weights manifest),
 * weights.bin (float32, little-endian, in manifest order) and metadata.json (labels, phase
 * names, voxel size, conditioning range, training record). Everything is checked before use
 * (issue #19 review: a truncated weights.bin gave a RangeError, a model.json without a
 * manifest a TypeError, bad JSON a SyntaxError — exit 1 — and the manifest's `paths` were
 * followed to any file): a damaged folder is a bad-input error (exit 2) that says what is
 * wrong and what is expected, and the weights are read from weights.bin only.
 */

export interface GeneratorConfig {
  latentChannels: number;
  /** One extra constant latent channel holds the scaled conditioning value. */
  conditioned: boolean;
  /** Channels of the hidden layers. */
  hidden: number[];
  /** Output channels: one per phase label. */
  phases: number;
}

export interface GanMetadata {
  format: 'poreloop-slicegan';
  version: 1;
  /** The labels of the phases, in the order of the generator's output channels, and their names. */
  labels: number[];
  phases: Record<number, string>;
  voxelSize: number;
  training: {
    source: string;
    /** sha256 of the training volumes' shapes and labels. */
    sha256: string;
    shapes: number[][];
    twoD: boolean;
    side: number;
    epochs: number;
    itersPerEpoch: number;
    criticIters: number;
    batch: number;
    slicesPerVolume: number;
    seed: number;
    wallMs: number;
    backend: string;
    finalWasserstein: number;
  };
  /** The conditioning parameter: its name and the range trained on (values outside it are refused). */
  condition: { name: string; min: number; max: number; mode: 'fraction' | 'given'; label?: number; unit?: string } | null;
  createdAt: string;
}

export interface GanModelFile {
  format: 'poreloop-slicegan-generator';
  version: 1;
  generator: GeneratorConfig;
  /** Voxels cut from the start of each axis of the generator's output. */
  crop: number;
  weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: 'float32' }> }>;
}

export interface GanModel {
  config: GeneratorConfig;
  crop: number;
  /** Per layer: weight [8·Cin × 8·Cout] and bias [Cout], row-major. */
  weights: Array<{ w: Float32Array; wShape: [number, number]; b: Float32Array }>;
  metadata: GanMetadata;
}

/** The one weights file a model folder has (model.json's manifest must name it and nothing else). */
export const GAN_WEIGHTS_FILE = 'weights.bin';

/** The largest weights.bin read: far beyond any generator trained here (the NMC model is < 1 MiB). */
export const MAX_GAN_WEIGHTS_BYTES = 1024 * 2 ** 20;

/** Latent side that gives at least `n` voxels: each layer maps m → 2m − 2, so L layers give 2^L·(l − 2) + 2. */
export function latentSideFor(n: number, layers: number): number {
  const f = 2 ** layers;
  return Math.max(3, Math.ceil((n - 2) / f) + 2);
}

/** Scales a conditioning value to [−1, 1] over the training range. */
export function scaleCondition(c: number, range: { min: number; max: number }): number {
  return range.max > range.min ? (2 * (c - range.min)) / (range.max - range.min) - 1 : 0;
}

/** Checks a conditioning value against the model's training range; returns it scaled to [−1, 1] (undefined for an unconditioned model). */
export function checkedCondition(meta: Pick<GanMetadata, 'condition'>, value: number | undefined, where = 'condition'): number | undefined {
  if (!meta.condition) {
    if (value !== undefined) throw new BadInputError('this model was trained without a conditioning parameter', where);
    return undefined;
  }
  const c = meta.condition;
  const v = value ?? (c.min + c.max) / 2;
  if (!Number.isFinite(v)) throw new BadInputError(`expected a number, got ${value}`, where);
  // Out of the trained range the generator extrapolates blindly; a small margin is allowed for rounding.
  if (!insideTrainedRange(c, v)) throw new BadInputError(`${c.name} ${v} is outside the range the model was trained on, [${c.min.toPrecision(4)}, ${c.max.toPrecision(4)}]`, where);
  return scaleCondition(v, c);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min = 1): v is number => Number.isInteger(v) && (v as number) >= min;
const show = (v: unknown) => (v === undefined ? 'nothing' : String(JSON.stringify(v)).slice(0, 80));

function readJson(dir: string, name: string, what: string): Record<string, unknown> {
  const path = join(dir, name);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInputError(`cannot read ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): a model folder holds model.json, weights.bin and metadata.json from poreloop reconstruct gan train`, dir);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BadInputError(`${name} is not valid JSON (${(e as Error).message}); expected the ${what} written by poreloop reconstruct gan train`, dir);
  }
  if (!isObject(v)) throw new BadInputError(`${name} is not a JSON object; expected the ${what} written by poreloop reconstruct gan train`, dir);
  return v;
}

/**
 * Reads and checks a model folder. Refused (BadInputError naming the folder, exit 2): missing or
 * unreadable files, JSON that does not parse, another format or version, a generator whose
 * layers do not chain (each layer's input channels equal to the previous layer's outputs, the
 * first to the latent channels (+1 conditioned), the last to the phases), a manifest that
 * names any file but weights.bin or describes other shapes, a weights.bin whose byte length is
 * not 4 × the numbers described, non-finite weights, and metadata inconsistent with the
 * generator (label count, condition presence, range).
 */
export function readGanModel(dir: string): GanModel {
  const file = readJson(dir, 'model.json', 'generator description');
  const meta = readJson(dir, 'metadata.json', 'model metadata');
  if (file.format !== 'poreloop-slicegan-generator' || file.version !== 1) {
    throw new BadInputError(`model.json has format ${show(file.format)} version ${show(file.version)}; expected poreloop-slicegan-generator version 1`, dir);
  }
  if (meta.format !== 'poreloop-slicegan' || meta.version !== 1) throw new BadInputError(`metadata.json has format ${show(meta.format)} version ${show(meta.version)}; expected poreloop-slicegan version 1`, dir);

  const g = file.generator;
  if (!isObject(g) || !isCount(g.latentChannels) || typeof g.conditioned !== 'boolean' || !Array.isArray(g.hidden) || !g.hidden.every((h) => isCount(h)) || !isCount(g.phases, 2)) {
    throw new BadInputError(`model.json generator must be { latentChannels ≥ 1, conditioned: true|false, hidden: [channels ≥ 1, …], phases ≥ 2 }, got ${show(g)}`, dir);
  }
  const config: GeneratorConfig = { latentChannels: g.latentChannels, conditioned: g.conditioned, hidden: [...(g.hidden as number[])], phases: g.phases };
  if (!isCount(file.crop, 0) || file.crop > 64) throw new BadInputError(`model.json crop must be an integer in [0, 64], got ${show(file.crop)}`, dir);
  const crop = file.crop;

  // The manifest: one group, its one file weights.bin, a weight and a bias per layer whose
  // shapes chain through the generator's channels.
  const mf = file.weightsManifest;
  if (!Array.isArray(mf) || mf.length !== 1 || !isObject(mf[0]) || !Array.isArray(mf[0].weights)) {
    throw new BadInputError(`model.json weightsManifest must be one group [{ paths: ["${GAN_WEIGHTS_FILE}"], weights: [...] }], got ${show(mf)}`, dir);
  }
  const paths = mf[0].paths;
  if (!Array.isArray(paths) || paths.length !== 1 || paths[0] !== GAN_WEIGHTS_FILE) {
    throw new BadInputError(`model.json weightsManifest paths must be ["${GAN_WEIGHTS_FILE}"] (the weights are read from the model folder's ${GAN_WEIGHTS_FILE} only), got ${show(paths)}`, dir);
  }
  const specs = mf[0].weights as unknown[];
  const chans = [config.latentChannels + (config.conditioned ? 1 : 0), ...config.hidden, config.phases];
  const L = chans.length - 1;
  if (specs.length !== 2 * L) throw new BadInputError(`model.json describes ${specs.length} weight arrays; a generator with ${L} layers (hidden ${JSON.stringify(config.hidden)}) has ${2 * L} (a weight and a bias per layer)`, dir);
  const shapeOf = (s: unknown, k: number): number[] => {
    if (!isObject(s) || !Array.isArray(s.shape) || !s.shape.every((n) => isCount(n)) || (s.dtype !== undefined && s.dtype !== 'float32')) {
      throw new BadInputError(`model.json weight ${k} must be { name, shape: [sizes ≥ 1], dtype: "float32" }, got ${show(s)}`, dir);
    }
    return s.shape as number[];
  };
  let need = 0;
  const layerShapes: Array<{ rows: number; cols: number; bias: number }> = [];
  for (let l = 0; l < L; l++) {
    const ws = shapeOf(specs[2 * l], 2 * l);
    const bs = shapeOf(specs[2 * l + 1], 2 * l + 1);
    const [cin, cout] = [chans[l], chans[l + 1]];
    // A transposed conv k4 s2 as 2×2×2 taps × parity blocks: [8·Cin, 8·Cout] (gan-net.ts upConv3d).
    if (ws.length !== 2 || ws[0] !== 8 * cin || ws[1] !== 8 * cout || bs.length !== 1 || bs[0] !== cout) {
      throw new BadInputError(
        `layer ${l} has weight ${JSON.stringify(ws)} and bias ${JSON.stringify(bs)}; the generator's channels ${chans.join(' → ')} need weight [${8 * cin}, ${8 * cout}] and bias [${cout}] (input channels equal to the previous layer's outputs)`,
        dir,
      );
    }
    layerShapes.push({ rows: ws[0], cols: ws[1], bias: bs[0] });
    need += ws[0] * ws[1] + bs[0];
  }

  const wpath = join(dir, GAN_WEIGHTS_FILE);
  let bin: Buffer;
  try {
    const st = statSync(wpath);
    if (!st.isFile()) throw new BadInputError(`${GAN_WEIGHTS_FILE} is not a regular file`, dir);
    if (st.size > MAX_GAN_WEIGHTS_BYTES) throw new BadInputError(`${GAN_WEIGHTS_FILE} has ${st.size} bytes; model.json describes ${4 * need}`, dir);
    bin = readFileSync(wpath);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw new BadInputError(`cannot read ${GAN_WEIGHTS_FILE} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): a model folder holds model.json, weights.bin and metadata.json from poreloop reconstruct gan train`, dir);
  }
  if (bin.byteLength !== 4 * need) {
    throw new BadInputError(`${GAN_WEIGHTS_FILE} has ${bin.byteLength} bytes; model.json describes ${need} float32 numbers (${4 * need} bytes)${bin.byteLength % 4 ? ': not a whole number of float32 values (truncated?)' : ''}`, dir);
  }
  // Copied to an aligned buffer (a Buffer may sit at any byte offset of a shared pool).
  const all = new Float32Array(need);
  new Uint8Array(all.buffer).set(bin);
  for (let i = 0; i < all.length; i++) if (!Number.isFinite(all[i])) throw new BadInputError(`${GAN_WEIGHTS_FILE} holds a non-finite number at index ${i}: the model is damaged (or diverged in training)`, dir);
  let o = 0;
  const weights: GanModel['weights'] = layerShapes.map(({ rows, cols, bias }) => {
    const w = all.slice(o, (o += rows * cols));
    const b = all.slice(o, (o += bias));
    return { w, wShape: [rows, cols], b };
  });

  // Metadata consistent with the generator.
  const labels = meta.labels;
  if (!Array.isArray(labels) || labels.length !== config.phases || !labels.every((l) => isCount(l, 0) && l <= 255) || new Set(labels).size !== labels.length) {
    throw new BadInputError(`metadata.json labels must list ${config.phases} distinct phase labels (integers 0–255), one per generator output, got ${show(labels)}`, dir);
  }
  if (!isObject(meta.phases)) throw new BadInputError(`metadata.json phases must name the labels ({ "0": "pore", … }), got ${show(meta.phases)}`, dir);
  const phases: Record<number, string> = {};
  for (const l of labels as number[]) phases[l] = typeof meta.phases[l] === 'string' ? (meta.phases[l] as string) : `phase ${l}`;
  const voxelSize = meta.voxelSize;
  if (typeof voxelSize !== 'number' || !(voxelSize > 0) || !Number.isFinite(voxelSize)) throw new BadInputError(`metadata.json voxelSize must be a positive number of µm, got ${show(voxelSize)}`, dir);
  const c = meta.condition;
  if (config.conditioned) {
    if (!isObject(c) || typeof c.name !== 'string' || typeof c.min !== 'number' || typeof c.max !== 'number' || !Number.isFinite(c.min) || !Number.isFinite(c.max) || c.min > c.max) {
      throw new BadInputError(`the generator is conditioned, so metadata.json condition must be { name, min, max } with min ≤ max, got ${show(c)}`, dir);
    }
  } else if (c !== null && c !== undefined) {
    throw new BadInputError(`the generator is not conditioned, so metadata.json condition must be null, got ${show(c)}`, dir);
  }
  const metadata = { ...meta, labels: [...(labels as number[])], phases, voxelSize, condition: config.conditioned ? c : null } as GanMetadata;
  return { config, crop, weights, metadata };
}
