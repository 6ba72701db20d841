import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { readVolume } from '../../voxel/io.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-mps-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();
// 32×24×16 crop of the NREL NMC cathode (tests/fixtures/real, BSD-3-Clause).
const real = new URL('../../../tests/fixtures/real/nmc-packbits-u8.tif', import.meta.url).pathname;

describe('poreloop reconstruct mps (issue #19)', () => {
  it('writes a seeded realisation and reports fractions, S2 / lineal-path error and τ per axis', async () => {
    const run = async (seed: number) => {
      const out = join(dir, `m${seed}.npy`);
      expect(await main(['reconstruct', 'mps', real, out, '--size', '12', '--rmax', '4', '--transport', '0,2', '--seed', String(seed), '--json'])).toBe(0);
      const doc = JSON.parse(io.stdout) as { shape: number[]; report: { fractions: { generated: Record<string, number> }; s2Error: Record<string, number>; lpError: Record<string, number>; tau: { generated: Record<string, number>; reference: Record<string, number> } } };
      io.stdout = '';
      return { doc, data: readVolume(out).data };
    };
    const a = await run(1);
    expect(a.doc.shape).toEqual([12, 12, 12]);
    expect(Object.keys(a.doc.report.fractions.generated)).toEqual(['0', '1', '2']);
    expect(Object.keys(a.doc.report.s2Error)).toEqual(['x', 'y', 'z']);
    expect(a.doc.report.tau.reference.x).toBeGreaterThan(1);
    expect((await run(1)).data).toEqual(a.data);
  });

  it('refuses a 3D size from a 2D training image with exit 2', async () => {
    const slice = join(dir, 'slice.npy');
    expect(await main(['volume', 'crop', real, slice, '--origin', '0,0,8', '--size', '32,24,1'])).toBe(0);
    expect(await main(['reconstruct', 'mps', slice, join(dir, 'x.npy'), '--size', '16,16,16'])).toBe(2);
    expect(io.stderr).toMatch(/training image is 2D \(side z is 1\)/);
    io.stdout = '';
    expect(await main(['reconstruct', 'mps', slice, join(dir, 'y.npy'), '--size', '16', '--rmax', '4', '--json'])).toBe(0);
    expect((JSON.parse(io.stdout) as { shape: number[] }).shape).toEqual([16, 16, 1]);
  });
});
