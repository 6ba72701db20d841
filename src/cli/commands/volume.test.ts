import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { readVolume } from '../../voxel/io.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-volume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = join(import.meta.dirname, '../../../tests/fixtures/real');
const io = captureOutput();

describe('poreloop volume (issue #19)', () => {
  it('info reports shape, sample type, voxel size and phase fractions; warns on a 72 dpi TIFF', async () => {
    io.stdout = '';
    io.stderr = '';
    expect(await main(['volume', 'info', join(fixtures, 'nmc-lzw-u16-cm.tif'), '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { shape: number[]; sampleType: string; voxelSize: number; kind: string; fractions: Record<string, number> };
    expect(doc).toMatchObject({ shape: [32, 24, 16], sampleType: 'Uint16', kind: 'labels' });
    expect(doc.voxelSize).toBeCloseTo(0.5, 9);
    expect(doc.fractions[0] + doc.fractions[1] + doc.fractions[2]).toBeCloseTo(1, 12);
    io.stderr = '';
    expect(await main(['volume', 'info', join(fixtures, 'nmc-none-u8-72dpi.tif')])).toBe(0);
    expect(io.stderr).toMatch(/warning: .*72 pixels per inch/);
    io.stdout = '';
    expect(await main(['volume', 'info', join(fixtures, 'nmc-grey-u16.tif')])).toBe(0);
    expect(io.stdout).toMatch(/grey-scale: segment it/);
  });

  it('crop, downsample and convert keep voxel size and phase names through every format', async () => {
    const a = join(dir, 'a.vti');
    expect(await main(['volume', 'crop', join(fixtures, 'nmc-u16.npy'), a, '--origin', '4,2,0', '--size', '16,16,8'])).toBe(0);
    const c = readVolume(a);
    expect(c.shape).toEqual([16, 16, 8]);
    expect(c.voxelSize).toBe(0.5);
    expect(c.phases).toEqual({ 0: 'pore', 1: 'nmc', 2: 'cbd' });
    const b = join(dir, 'b.npy');
    expect(await main(['volume', 'downsample', a, b, '--factor', '2'])).toBe(0);
    const d = readVolume(b);
    expect(d.shape).toEqual([8, 8, 4]);
    expect(d.voxelSize).toBe(1);
    expect(d.phases).toEqual(c.phases);
    const t = join(dir, 'b.tif');
    expect(await main(['volume', 'convert', b, t])).toBe(0);
    expect(Buffer.from(readVolume(t).data).equals(Buffer.from(d.data))).toBe(true);
    expect(readVolume(t).voxelSize).toBe(1);
    io.stderr = '';
    expect(await main(['volume', 'crop', a, join(dir, 'x.npy'), '--origin', '10,0,0', '--size', '16,16,8'])).toBe(2);
    expect(io.stderr).toMatch(/axis x: origin 10 \+ size 16 must lie within 0…16/);
  });

  it('convert into a folder that does not exist: bad input (exit 2) naming the folder, not a raw ENOENT (import review #5)', async () => {
    io.stderr = '';
    expect(await main(['volume', 'convert', join(fixtures, 'nmc-u16.npy'), join(dir, 'nodir', 'x.npy')])).toBe(2);
    expect(io.stderr).toContain(`the output folder ${join(dir, 'nodir')} does not exist`);
  });

  it('segment turns the grey NMC stack into three labelled phases with fractions', async () => {
    io.stdout = '';
    const out = join(dir, 'seg.tif');
    expect(await main(['volume', 'segment', join(fixtures, 'nmc-grey-u16.tif'), out, '--classes', '3', '--denoise', 'nlm', '--names', 'pore,cbd,nmc', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { thresholds: number[]; fractions: Record<string, number> };
    expect(doc.thresholds).toHaveLength(2);
    const v = readVolume(out);
    expect(v.phases).toEqual({ 0: 'pore', 1: 'cbd', 2: 'nmc' });
    expect(v.voxelSize).toBeCloseTo(0.5, 9);
    expect(doc.fractions[0]).toBeGreaterThan(0.25);
  });

  it('segment checks --names against --classes before reading or denoising anything (review)', async () => {
    io.stderr = '';
    // The input does not exist: the --names error comes first, so nothing was read.
    expect(await main(['volume', 'segment', join(dir, 'absent.tif'), join(dir, 'x.tif'), '--classes', '2', '--names', 'pore,cbd,nmc'])).toBe(2);
    expect(io.stderr).toMatch(/--names: 3 names for 2 classes/);
  });
});

describe('poreloop reconstruct sam (issue #19)', () => {
  it('reconstructs a small volume from a 3D target and reports fractions, S2/L error and τ', async () => {
    io.stdout = '';
    const out = join(dir, 'rec.npy');
    const code = await main(['reconstruct', 'sam', join(fixtures, 'nmc-packbits-u8.tif'), out, '--size', '14', '--rmax', '5', '--sweeps', '4', '--seed', '3', '--transport', '0,2', '--json']);
    expect(code).toBe(0);
    const doc = JSON.parse(io.stdout) as { report: { fractions: { generated: Record<string, number> }; s2Error: Record<string, number>; tau: { generated: Record<string, number>; reference: Record<string, number> } } };
    expect(Object.keys(doc.report.fractions.generated)).toEqual(['0', '1', '2']);
    expect(doc.report.s2Error.x).toBeGreaterThan(0);
    expect(doc.report.tau.reference.x).toBeGreaterThan(1);
    expect(readVolume(out).shape).toEqual([14, 14, 14]);
    io.stderr = '';
    expect(await main(['reconstruct', 'sam', join(fixtures, 'nmc-packbits-u8.tif'), out, '--size', '8', '--rmax', '5'])).toBe(2);
    expect(io.stderr).toMatch(/every side must exceed 2·rmax = 10/);
  });

  it('refuses --transport labels the target lacks, listing those it has (import review #5: τ = Infinity, exit 0)', async () => {
    io.stderr = '';
    const out = join(dir, 'rec9.npy');
    expect(await main(['reconstruct', 'sam', join(fixtures, 'nmc-packbits-u8.tif'), out, '--size', '14', '--rmax', '5', '--sweeps', '1', '--transport', '9'])).toBe(2);
    expect(io.stderr).toMatch(/--transport: label 9 does not occur in .*nmc-packbits-u8\.tif \(labels 0, 1, 2\): name labels that are present, or --no-tau/);
    io.stderr = '';
    expect(await main(['reconstruct', 'sam', join(fixtures, 'nmc-packbits-u8.tif'), join(dir, 'nodir', 'r.npy'), '--size', '14', '--rmax', '5', '--sweeps', '1'])).toBe(2);
    expect(io.stderr).toContain(`the output folder ${join(dir, 'nodir')} does not exist`);
  });
});
