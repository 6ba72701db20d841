import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSamples, readVolume } from './io.js';

/**
 * Issue #19: real data in. The fixtures (tests/fixtures/real, written by experiments/make-import-fixtures.py with
 * tifffile/imagecodecs/numpy/zlib — independent encoders) are one 32×24×16 crop of the NREL
 * NMC cathode in every format, compression and bit depth; expected.json holds numpy's counts.
 */
const dir = join(import.meta.dirname, '../../tests/fixtures/real');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { shape: number[]; counts: number[]; weightedSum: number; voxelSize: number };

function fingerprint(data: ArrayLike<number>): { counts: number[]; weightedSum: number } {
  const counts = [0, 0, 0];
  let weightedSum = 0;
  for (let i = 0; i < data.length; i++) {
    counts[data[i]]++;
    weightedSum += data[i] * (i % 7);
  }
  return { counts, weightedSum };
}

describe('import of real volumes (issue #19)', () => {
  const labelled: Array<[file: string, voxelSize: number | undefined]> = [
    ['nmc-packbits-u8.tif', 0.5], // ImageJ unit=micron; tifffile (imagej=True, no axes) called the 16 z-slices channels=16
    ['nmc-lzw-u16-cm.tif', 0.5], // ResolutionUnit cm
    ['nmc-deflate-pred-u8-inch.tif', 0.5], // ResolutionUnit inch, horizontal predictor
    ['nmc-deflate-pred-u32-be.tif', 0.5], // big-endian 32-bit with predictor
    ['nmc-tiled-deflate-i16.tif', 0.5], // tiled 16×16, signed 16-bit
    ['nmc-none-u8-72dpi.tif', undefined], // a writer's default 72 dpi: no voxel size
    ['nmc-int64.npy', undefined], // np.save(a.astype(int))
    ['nmc-u16.npy', 0.5], // with a .json sidecar
    ['nmc-zlib-u64hdr.vti', 0.5], // ParaView default: zlib, UInt64 header, raw appended
    ['nmc-zlib-base64-i32.vti', 0.5], // zlib, UInt32 header, base64 inline, Int32
  ];
  for (const [file, vs] of labelled) {
    it(`reads ${file} voxel for voxel, voxel size ${vs ?? 'absent → warning'}`, () => {
      const warnings: string[] = [];
      const v = readVolume(join(dir, file), { onWarning: (w) => warnings.push(w) });
      expect(v.shape).toEqual(expected.shape);
      expect(fingerprint(v.data)).toEqual({ counts: expected.counts, weightedSum: expected.weightedSum });
      if (vs === undefined) {
        expect(v.voxelSize).toBe(1);
        expect(warnings.join('\n')).toMatch(/voxel size|pass --voxel/);
      } else {
        expect(v.voxelSize).toBeCloseTo(vs, 9);
        // VTK Spacing carries no unit: taken as µm with a warning unless poreloop wrote the file (review).
        // A one-dimension ImageJ stack whose pages are called channels is read as z, with a warning (import review #2).
        const said = file.endsWith('.vti') ? /VTK Spacing has no unit; taken as µm/ : file === 'nmc-packbits-u8.tif' ? /calls the 16 pages channels \(channels=16\), not slices: read as z-slices/ : undefined;
        expect(warnings).toEqual(said ? [expect.stringMatching(said)] : []);
      }
    });
  }

  it('72 pixels per inch is called a writer default, not a 352.8 µm or 0.0139 µm voxel', () => {
    const warnings: string[] = [];
    readVolume(join(dir, 'nmc-none-u8-72dpi.tif'), { onWarning: (w) => warnings.push(w) });
    expect(warnings[0]).toMatch(/72 pixels per inch, an image writer's default/);
    // --voxel silences it: the user has said what the file could not.
    const quiet: string[] = [];
    expect(readVolume(join(dir, 'nmc-none-u8-72dpi.tif'), { voxelSize: 0.4, onWarning: (w) => quiet.push(w) }).voxelSize).toBe(0.4);
    expect(quiet).toEqual([]);
  });

  it('refuses a compression utif2 cannot decode by name (it would fill the pages with zeros) and keeps stdout clean', () => {
    expect(() => readVolume(join(dir, 'nmc-zstd-u8.tif'))).toThrow(/TIFF compression 50000 \(Zstandard\) is not supported; allowed: none, LZW, Deflate/);
  });

  it('reads a 1-bit PackBits stack as 0/1', () => {
    const v = readVolume(join(dir, 'nmc-pore-1bit.tif'));
    expect(v.shape).toEqual(expected.shape);
    expect(v.data.reduce((s, x) => s + x, 0)).toBe(expected.counts[0]);
  });

  it('keeps a grey-scale stack out of readVolume with a message that says what to do, and reads it as samples', () => {
    const f = join(dir, 'nmc-grey-u16.tif');
    expect(() => readVolume(f)).toThrow(/not phase labels 0–255: a grey-scale image must be segmented first \(poreloop volume segment\)/);
    const g = readSamples(f);
    expect(g.values).toBeInstanceOf(Uint16Array);
    expect(g.shape).toEqual(expected.shape);
    expect(g.voxelSize).toBeCloseTo(0.5, 9);
  });

  const real = '/work/shared/reference/real';
  // The reference README gives 40.9 / 49.4 / 9.7 %; numpy (tifffile.imread + bincount) gives
  // 40.05 / 49.95 / 10.00 %, as here: the numbers below are numpy's.
  it.skipIf(!existsSync(join(real, 'nrel-nmc1-cal-cbd-bridge.tif')))('reads the whole NREL NMC stack (PackBits, 251 pages, 72 dpi) as numpy does', () => {
    const warnings: string[] = [];
    const v = readVolume(join(real, 'nrel-nmc1-cal-cbd-bridge.tif'), { onWarning: (w) => warnings.push(w) });
    expect(warnings[0]).toMatch(/72 pixels per inch/);
    expect(v.shape).toEqual([301, 301, 251]);
    const n = [0, 0, 0];
    for (const x of v.data) n[x]++;
    expect(n.map((c) => Math.round((1000 * c) / v.data.length) / 10)).toEqual([40.1, 49.9, 10]);
  });
});

describe('compressed .vti bounds (issue #14 rule, issue #19 reader)', () => {
  it('refuses a zlib header that promises more bytes than the extent holds, before inflating', async () => {
    const { writeFileSync, readFileSync: read, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const src = read(join(dir, 'nmc-zlib-u64hdr.vti'));
    // Header after "_": blocks, block size, last block size (UInt64 LE). Claim 2^31-byte blocks.
    const at = src.indexOf('_', src.indexOf('<AppendedData')) + 1;
    const bad = Buffer.from(src);
    bad.writeBigUInt64LE(2n ** 31n, at + 8);
    const f = join(tmpdir(), `bomb-${process.pid}.vti`);
    writeFileSync(f, bad);
    try {
      expect(() => readVolume(f)).toThrow(/compressed array declares \d+ bytes but the extent needs 12288/);
    } finally {
      rmSync(f, { force: true });
    }
  });
});
