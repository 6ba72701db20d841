import { cpSync, existsSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { readVolume, writeVolume } from '../../voxel/io.js';
import { createVoxels } from '../../voxel/voxels.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-gan-cli-'));
let before = '';
beforeAll(() => {
  before = tf.getBackend();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  // Test files share a worker: leave the TensorFlow.js backend as it was found.
  if (before && tf.getBackend() !== before) await tf.setBackend(before);
});
const io = captureOutput();
// 32×24×16 crop of the NREL NMC cathode (tests/fixtures/real, BSD-3-Clause).
const real = new URL('../../../tests/fixtures/real/nmc-packbits-u8.tif', import.meta.url).pathname;
const tiny = new URL('../../../tests/fixtures/gan-tiny', import.meta.url).pathname;

describe('poreloop reconstruct gan (issue #19)', () => {
  it('train: saves a model folder (in a worker thread) and reports the match of a generated volume', async () => {
    const model = join(dir, 'model');
    expect(await main(['reconstruct', 'gan', 'train', real, model, '--size', '16', '--epochs', '1', '--iters', '1', '--critic', '1', '--report-size', '12', '--rmax', '4', '--transport', '0,2', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { metadata: { labels: number[]; condition: { name: string } }; history: unknown[]; report: { fractions: { generated: Record<string, number> }; s2Error: Record<string, number>; tau: { reference: Record<string, number> } } };
    io.stdout = '';
    expect(doc.metadata.labels).toEqual([0, 1, 2]);
    expect(doc.metadata.condition.name).toBe('porosity');
    expect(doc.history).toHaveLength(1);
    expect(Object.keys(doc.report.s2Error)).toEqual(['x', 'y', 'z']);
    expect(doc.report.tau.reference.x).toBeGreaterThan(1);
  });

  it('generate: any size, seeded, at a condition in range; refuses one outside it, and bad flags, with exit 2', async () => {
    const run = async (seed: number, extra: string[] = []) => {
      const out = join(dir, `g${seed}.npy`);
      const code = await main(['reconstruct', 'gan', 'generate', tiny, out, '--size', '20,12,9', '--seed', String(seed), '--json', ...extra]);
      const text = io.stdout;
      io.stdout = '';
      return { code, text, out };
    };
    const a = await run(1);
    expect(a.code).toBe(0);
    expect((JSON.parse(a.text) as { shape: number[] }).shape).toEqual([20, 12, 9]);
    const again = await run(1);
    expect(readVolume(again.out).data).toEqual(readVolume(a.out).data);
    expect((await run(2, ['--condition', '5'])).code).toBe(2);
    expect(io.stderr).toMatch(/outside the range the model was trained on/);
    expect(await main(['reconstruct', 'gan', 'generate', join(dir, 'nothing-here'), join(dir, 'x.npy')])).toBe(2);
    expect(await main(['reconstruct', 'gan', 'train', real, join(dir, 'm2'), '--size', '12'])).toBe(2);
    expect(io.stderr).toMatch(/multiple of 8/);
    expect(await main(['reconstruct', 'gan', 'train', real, join(dir, 'm3'), '--condition', 'pressure'])).toBe(2);
  });

  it('train refuses a conditioning label the volume lacks, and a line (two sides of 1), with exit 2 before training (issue #19 review)', async () => {
    expect(await main(['reconstruct', 'gan', 'train', real, join(dir, 'm4'), '--size', '16', '--condition-label', '7'])).toBe(2);
    expect(io.stderr).toMatch(/--condition-label: label 7 does not occur in .* \(labels 0, 1, 2\)/);
    const line = join(dir, 'line.npy');
    writeVolume(line, createVoxels([40, 1, 1], 1, { 0: 'pore', 1: 'solid' }, Uint8Array.from({ length: 40 }, (_, i) => i % 3 === 0 ? 1 : 0)));
    expect(await main(['reconstruct', 'gan', 'train', line, join(dir, 'm5'), '--size', '16', '--condition', 'none'])).toBe(2);
    expect(io.stderr).toMatch(/40×1×1 has two or more sides of 1/);
  });

  it('generate --compare checks the τ labels against the reference before generating: nothing is written (review 2026-12-07)', async () => {
    const out = join(dir, 'unwritten.npy');
    expect(await main(['reconstruct', 'gan', 'generate', tiny, out, '--size', '8', '--compare', real, '--transport', '7'])).toBe(2);
    expect(io.stderr).toMatch(/--transport: label 7 does not occur in .*nmc-packbits-u8\.tif \(labels 0, 1, 2\): name labels that are present, or --no-tau/);
    // Before, the volume was generated and written, then the report refused the label.
    expect(existsSync(out)).toBe(false);
  });

  it('generate: a damaged model folder is exit 2 with what is wrong (#19 review)', async () => {
    const bad = join(dir, 'truncated');
    cpSync(tiny, bad, { recursive: true });
    truncateSync(join(bad, 'weights.bin'), 37978);
    expect(await main(['reconstruct', 'gan', 'generate', bad, join(dir, 'y.npy'), '--size', '8'])).toBe(2);
    expect(io.stderr).toMatch(/weights\.bin has 37978 bytes; model\.json describes 9495 float32 numbers/);
  });
});
