/**
 * SliceGAN training, save/load and generation (gan.ts, issue #19), small and fast: training
 * moves the generator toward a trivially learnable target, is deterministic for a seed,
 * round-trips through its files, refuses bad input, and runs in a worker thread.
 */
import * as tf from '@tensorflow/tfjs';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import type { Voxels } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { createVoxels } from '../voxel/voxels.js';
import { generateGan, loadGan, saveGan, trainGan, useGanBackend, volumeHash, type GanTrainOptions } from './gan.js';
import { trainGanInWorker } from './gan-train.js';

let before = '';
const dirs: string[] = [];
beforeAll(async () => {
  before = tf.getBackend();
  await useGanBackend();
});
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (before && tf.getBackend() !== before) await tf.setBackend(before);
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'poreloop-gan-'));
  dirs.push(d);
  return d;
};

/** Two phases, label 1 in a fraction `f` of the voxels, independently (no structure to learn but the amount). */
function noise(n: number, f: number, seed: number): Voxels {
  const r = createRng(seed);
  return createVoxels([n, n, n], 0.5, { 0: 'pore', 1: 'solid' }, Uint8Array.from({ length: n ** 3 }, () => (r.next() < f ? 1 : 0)));
}

const tiny: Omit<GanTrainOptions, 'volumes'> = { side: 16, latentChannels: 4, generatorHidden: [8, 8, 4], discriminatorHidden: [4, 8, 8], batch: 2, slicesPerVolume: 4 };

describe('trainGan', () => {
  // Learning (a trained generator against an untrained one): slow tier (tests/tiers.ts).
  it('moves the generated phase fractions toward the training volume’s (a target an untrained generator misses)', { tags: ['slow'] }, async () => {
    const target = 0.85;
    const r = await trainGan({ ...tiny, volumes: [noise(24, target, 1)], epochs: 4, itersPerEpoch: 5, criticIters: 2, learningRate: 3e-3, seed: 2 });
    const start = r.initialFractions[1];
    const end = r.history.at(-1)!.fractions[1];
    expect(Math.abs(start - target)).toBeGreaterThan(0.15); // the task is not solved at the start
    expect(Math.abs(end - target)).toBeLessThan(Math.abs(start - target) - 0.1);
  });

  it('is deterministic for a seed on one backend', async () => {
    const opts = { ...tiny, volumes: [noise(20, 0.5, 3)], epochs: 1, itersPerEpoch: 2, criticIters: 1, seed: 7 };
    const a = await trainGan(opts);
    const b = await trainGan(opts);
    expect(a.model.weights.map((l) => Array.from(l.w))).toEqual(b.model.weights.map((l) => Array.from(l.w)));
    const c = await trainGan({ ...opts, seed: 8 });
    expect(Array.from(c.model.weights[0].w)).not.toEqual(Array.from(a.model.weights[0].w));
  });

  it('trains from one 2D micrograph (isotropic: one critic for all axes) and generates 3D volumes', async () => {
    const r = createRng(9);
    const image = createVoxels([40, 36, 1], 1, { 0: 'pore', 1: 'solid' }, Uint8Array.from({ length: 40 * 36 }, () => (r.next() < 0.4 ? 0 : 1)));
    const { model } = await trainGan({ ...tiny, volumes: [image], epochs: 1, itersPerEpoch: 1, criticIters: 1, seed: 1 });
    expect(model.metadata.training.twoD).toBe(true);
    expect(model.metadata.condition).toBeNull();
    expect(generateGan(model, { shape: [18, 18, 18], seed: 1 }).shape).toEqual([18, 18, 18]);
  });

  it('refuses a one-phase volume, a training side larger than the volume, and a fraction condition on a 2D image', async () => {
    await expect(trainGan({ ...tiny, volumes: [noise(20, 1, 1)] })).rejects.toThrow(/only label 1/);
    await expect(trainGan({ ...tiny, side: 32, volumes: [noise(20, 0.5, 1)] })).rejects.toThrow(BadInputError);
    const image = createVoxels([40, 40, 1], 1, { 0: 'pore', 1: 'solid' }, Uint8Array.from({ length: 1600 }, (_, i) => (i % 7 < 3 ? 0 : 1)));
    await expect(trainGan({ ...tiny, volumes: [image], condition: { mode: 'fraction', name: 'porosity', label: 0 } })).rejects.toThrow(/3D training volume/);
  });

  it('refuses a line (two sides of 1) and a fraction condition on a label the data lacks (#19 review)', async () => {
    const line = createVoxels([40, 1, 1], 1, { 0: 'pore', 1: 'solid' }, Uint8Array.from({ length: 40 }, (_, i) => (i % 3 ? 0 : 1)));
    await expect(trainGan({ ...tiny, volumes: [line] })).rejects.toThrow(/40×1×1 has two or more sides of 1/);
    await expect(trainGan({ ...tiny, volumes: [noise(20, 0.5, 1)], condition: { mode: 'fraction', name: 'fraction_7', label: 7 } })).rejects.toThrow(/label 7 does not occur in the training data \(labels 0, 1\)/);
  });
});

describe('save / load / generate', () => {
  it('round-trips through model.json, weights.bin and metadata.json, and generates any size within the conditioning range', async () => {
    const volume = noise(24, 0.6, 4);
    const { model } = await trainGan({ ...tiny, volumes: [volume], epochs: 1, itersPerEpoch: 1, criticIters: 1, seed: 3, condition: { mode: 'fraction', name: 'porosity', label: 0 }, source: 'noise' });
    const dir = tmp();
    saveGan(model, dir);
    for (const f of ['model.json', 'weights.bin', 'metadata.json']) expect(existsSync(join(dir, f))).toBe(true);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    expect(meta.labels).toEqual([0, 1]);
    expect(meta.phases).toEqual({ 0: 'pore', 1: 'solid' });
    expect(meta.voxelSize).toBe(0.5);
    expect(meta.training.sha256).toBe(volumeHash([volume]));
    expect(meta.condition.name).toBe('porosity');
    expect(meta.condition.min).toBeLessThan(meta.condition.max);
    const back = loadGan(dir);
    expect(back.weights.map((l) => Array.from(l.w))).toEqual(model.weights.map((l) => Array.from(l.w)));
    const c = (meta.condition.min + meta.condition.max) / 2;
    const a = generateGan(model, { shape: [40, 24, 30], seed: 5, condition: c });
    const b = generateGan(back, { shape: [40, 24, 30], seed: 5, condition: c });
    expect(a.shape).toEqual([40, 24, 30]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(a.voxelSize).toBe(0.5);
    expect(() => generateGan(back, { shape: [16, 16, 16], seed: 1, condition: meta.condition.max + 0.2 })).toThrow(/outside the range/);
    expect(() => loadGan(tmp())).toThrow(BadInputError);
  });

  it('loadGan refuses a damaged folder with a bad-input error and reads weights.bin only (#19 review)', () => {
    const fixture = new URL('../../tests/fixtures/gan-tiny', import.meta.url).pathname;
    const damaged = (edit: (d: string) => void) => {
      const d = tmp();
      cpSync(fixture, d, { recursive: true });
      edit(d);
      return d;
    };
    const truncated = damaged((d) => truncateSync(join(d, 'weights.bin'), 37978));
    expect(() => loadGan(truncated)).toThrow(BadInputError);
    expect(() => loadGan(truncated)).toThrow(/not a whole number of float32/);
    const noManifest = damaged((d) => writeFileSync(join(d, 'model.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')), weightsManifest: undefined })));
    expect(() => loadGan(noManifest)).toThrow(/weightsManifest must be one group/);
    const badJson = damaged((d) => writeFileSync(join(d, 'metadata.json'), '{'));
    expect(() => loadGan(badJson)).toThrow(/metadata\.json is not valid JSON/);
    const elsewhere = damaged((d) => {
      const j = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8'));
      j.weightsManifest[0].paths = ['../../../etc/hostname'];
      writeFileSync(join(d, 'model.json'), JSON.stringify(j));
    });
    expect(() => loadGan(elsewhere)).toThrow(/paths must be \["weights\.bin"\]/);
  });

  it('trains in a worker thread, reports progress each epoch and saves the model', async () => {
    const dir = tmp();
    const seen: number[] = [];
    const r = await trainGanInWorker([noise(20, 0.5, 6)], dir, { ...tiny, epochs: 2, itersPerEpoch: 1, criticIters: 1, seed: 1, onProgress: (p) => seen.push(p.epoch), log: () => {} });
    expect(seen).toEqual([1, 2]);
    expect(r.metadata.training.epochs).toBe(2);
    expect(loadGan(dir).weights.length).toBe(4);
  });
});
