import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset, Voxels } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { CnnSurrogate } from './cnn.js';
import { downsample } from './volume.js';

/** 8³ random volumes of pore probability p; properties: p and the pore fraction of the x < 4 half. */
function volumes(n: number, seed: number): Dataset {
  const rng = createRng(seed);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const p = rng.uniform(0.2, 0.8);
    const v: number[] = [];
    let half = 0;
    for (let j = 0; j < 512; j++) {
      const pore = rng.next() < p ? 1 : 0;
      v.push(pore);
      if (j < 256) half += pore;
    }
    x.push(v);
    y.push([p, half / 256]);
  }
  return { inputs: x[0].map((_, j) => `v${j}`), x, outputs: ['p', 'half'], y };
}

describe('CnnSurrogate (worker thread, cpu backend)', () => {
  const dirs: string[] = [];
  const cnns: CnnSurrogate[] = [];
  afterAll(async () => {
    for (const c of cnns) await c.dispose();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const make = (epochs: number) => {
    const c = new CnnSurrogate({ shape: [8, 8, 8], filters: [4], dense: [8], head: [], activation: 'tanh', members: 2, epochs, patience: epochs, log: () => {} });
    cnns.push(c);
    return c;
  };

  it('trains in a worker: more epochs, lower loss; save → load gives identical predictions', { tags: ['slow'] }, async () => {
    const train = volumes(40, 1);
    const short = make(1);
    const long = make(25);
    const a = await short.fit(train, { seed: 2 });
    const b = await long.fit(train, { seed: 2 });
    expect(b.loss).toBeLessThan(a.loss / 2);
    expect(long.calibration?.validationRows).toBe(8);
    expect(long.dataHash).toMatch(/^[0-9a-f]{64}$/);

    const test = volumes(6, 3);
    const p = await long.predict(test.x);
    expect(p.mean).toHaveLength(6);
    expect(p.std.every((r) => r.every((s) => s > 0))).toBe(true);

    const dir = await mkdtemp(join(tmpdir(), 'poreloop-cnn-'));
    dirs.push(dir);
    await long.save(dir);
    const loaded = make(1);
    await loaded.load(dir);
    expect(await loaded.predict(test.x)).toEqual(p);
    expect(loaded.dataHash).toBe(long.dataHash);
  });

  it('rejects rows that do not match the volume shape', async () => {
    const d = volumes(12, 1);
    const cut = { ...d, inputs: d.inputs.slice(0, 100), x: d.x.map((r) => r.slice(0, 100)) };
    await expect(make(1).fit(cut)).rejects.toThrow(/needs 512 inputs/);
  });
});

describe('downsample', () => {
  it('block-averages the pore indicator', () => {
    // 4×4×2 volume, pore (0) where x < 2: downsampled to 2×2×1 blocks of 2³.
    const data = new Uint8Array(32);
    for (let x = 0; x < 4; x++) for (let y = 0; y < 4; y++) for (let z = 0; z < 2; z++) data[(x * 4 + y) * 2 + z] = x < 2 ? 0 : 1;
    data[0] = 1; // one solid voxel in the first block
    const v: Voxels = { data, shape: [4, 4, 2], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
    const d = downsample(v, 2);
    expect(d.shape).toEqual([2, 2, 1]);
    expect(Array.from(d.data)).toEqual([7 / 8, 1, 0, 0]);
  });
});
