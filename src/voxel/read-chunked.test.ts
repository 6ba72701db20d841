import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { readSamples, readVolume } from './io.js';
import { decodeNpySamples } from './npy.js';
import { checkSamplesFit, readWhole } from './read-chunked.js';
import { fromXFastest } from './samples.js';

/**
 * Volume review 3: .npy/.raw are checked from their header or sidecar and the file's size
 * before any data are read, then read in chunks — a file over 2 GiB crashed readFileSync
 * ("File size … is greater than 2 GiB", exit 1). Big files here are sparse (truncateSync):
 * nothing multi-GB is written.
 */
const dir = mkdtempSync(join(tmpdir(), 'poreloop-chunk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A .npy header (version 1) for `descr`, `shape`, C or Fortran order. */
function npyHeader(descr: string, shape: number[], fortran = false): Buffer {
  let h = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}), }`;
  h = h.padEnd(Math.ceil((10 + h.length + 1) / 64) * 64 - 11, ' ') + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(h.length, 8);
  return Buffer.concat([pre, Buffer.from(h, 'latin1')]);
}

describe('checks before reading (volume review 3)', () => {
  it('refuses a truncated 700³ int64 .npy of 2.5 GB (sparse) from its header and size, as bad input', () => {
    const f = join(dir, 'i64.npy');
    writeFileSync(f, npyHeader('<i8', [700, 700, 700]));
    truncateSync(f, 2.5e9);
    for (const read of [readVolume, readSamples]) {
      let err: unknown;
      try {
        read(f);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BadInputError);
      expect((err as Error).message).toMatch(/i64\.npy: file is truncated: header says 343000000 values of 8 bytes, found 2499999872 bytes/);
    }
  });

  it('refuses a 1200³ .raw from its sidecar before reading the 3.5 GB (sparse) file', () => {
    const f = join(dir, 'big.raw');
    writeFileSync(f, '');
    truncateSync(f, 2 * 1200 ** 3);
    writeFileSync(`${f}.json`, JSON.stringify({ shape: [1200, 1200, 1200], dtype: 'uint16' }));
    expect(() => readVolume(f)).toThrow(BadInputError);
    expect(() => readVolume(f)).toThrow(/big\.raw\.json: shape: volume of 1728000000 voxels exceeds the limit of 1073741824 \(1024³\); crop or downsample it/);
  });

  it('refuses a .raw whose size does not match its sidecar from stat, not by reading it', () => {
    const f = join(dir, 'odd.raw');
    writeFileSync(f, '');
    truncateSync(f, 2.2e9);
    writeFileSync(`${f}.json`, JSON.stringify({ shape: [1000, 1000, 1000], dtype: 'uint16' }));
    expect(() => readVolume(f)).toThrow(/odd\.raw: file has 2200000000 bytes but shape 1000×1000×1000 needs 2000000000 \(uint16\)/);
  });

  it('holds 64-bit integers in 32 bits when float64 would pass the sample limit', () => {
    expect(checkSamplesFit(100, 'i8', 'x')).toBe(8);
    expect(checkSamplesFit(700 ** 3, 'i8', 'x')).toBe(4);
    expect(() => checkSamplesFit(700 ** 3, 'f8', 'x')).toThrow(/2\.56 GiB exceed the limit of 2 GiB/);
  });
});

describe('chunked reads give what a whole-file decode gives', () => {
  const shape = [5, 4, 3];
  const n = 60;
  const cases: Array<[descr: string, write: (b: Buffer, i: number, v: number) => void, bytes: number]> = [
    ['|u1', (b, i, v) => b.writeUInt8(v, i), 1],
    ['|b1', (b, i, v) => b.writeUInt8(v % 2 ? 7 : 0, i), 1],
    ['|i1', (b, i, v) => b.writeInt8(v, i), 1],
    ['<u2', (b, i, v) => b.writeUInt16LE(v, 2 * i), 2],
    ['>i2', (b, i, v) => b.writeInt16BE(v, 2 * i), 2],
    ['<i4', (b, i, v) => b.writeInt32LE(v, 4 * i), 4],
    ['>u4', (b, i, v) => b.writeUInt32BE(v, 4 * i), 4],
    ['<i8', (b, i, v) => b.writeBigInt64LE(BigInt(v), 8 * i), 8],
    ['>i8', (b, i, v) => b.writeBigInt64BE(BigInt(v), 8 * i), 8],
    ['<u8', (b, i, v) => b.writeBigUInt64LE(BigInt(v), 8 * i), 8],
    ['<f4', (b, i, v) => b.writeFloatLE(v, 4 * i), 4],
    ['>f8', (b, i, v) => b.writeDoubleBE(v, 8 * i), 8],
  ];
  for (const [descr, write, bytes] of cases) {
    for (const fortran of [false, true]) {
      it(`${descr} ${fortran ? 'F' : 'C'} order, 7-byte chunks`, () => {
        const labels = Array.from({ length: n }, (_, i) => (i * 37) % 11);
        const body = Buffer.alloc(n * bytes);
        labels.forEach((v, i) => write(body, i, v));
        const file = Buffer.concat([npyHeader(descr, shape, fortran), body]);
        const f = join(dir, `c${descr.replace(/\W/g, '')}${fortran ? 'F' : 'C'}.npy`);
        writeFileSync(f, file);
        const whole = decodeNpySamples(file, f).values;
        const s = readSamples(f, { chunkBytes: 7 });
        expect(s.values.constructor).toBe(whole.constructor);
        expect(Array.from(s.values)).toEqual(Array.from(whole));
        expect(Array.from(readVolume(f, { chunkBytes: 7 }).data)).toEqual(Array.from(whole));
      });
    }
  }

  it('negative and large 64-bit values, and the label check of toLabels', () => {
    const body = Buffer.alloc(8 * 8);
    const vals = [-1, -(2 ** 40) - 3, 2 ** 52 + 1, 0, 300, 5, 255, 1];
    vals.forEach((v, i) => body.writeBigInt64LE(BigInt(v), 8 * i));
    const f = join(dir, 'neg.npy');
    writeFileSync(f, Buffer.concat([npyHeader('<i8', [2, 2, 2]), body]));
    expect(Array.from(readSamples(f, { chunkBytes: 24 }).values)).toEqual(vals);
    expect(() => readVolume(f, { chunkBytes: 24 })).toThrow(/neg\.npy: holds values -1099511627779…4503599627370497, not phase labels 0–255: a grey-scale image must be segmented first/);
    const g = join(dir, 'nan.npy');
    const fb = Buffer.alloc(8 * 4);
    [1, NaN, 2.5, Infinity, 0, 0, 0, 0].forEach((v, i) => fb.writeFloatLE(v, 4 * i));
    writeFileSync(g, Buffer.concat([npyHeader('<f4', [2, 2, 2]), fb]));
    expect(() => readVolume(g, { chunkBytes: 5 })).toThrow(/holds 2 non-finite values, not phase labels/);
  });

  it('.raw F order in chunks', () => {
    const c = Uint8Array.from({ length: 24 }, (_, i) => (i * 5) % 7);
    const fdata = new Uint16Array(24);
    // File order x fastest: fromXFastest(file) = C array.
    const [nx, ny, nz] = [2, 3, 4];
    let i = 0;
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) fdata[i++] = c[(x * ny + y) * nz + z];
    expect(Array.from(fromXFastest(fdata, [nx, ny, nz]))).toEqual(Array.from(c));
    const f = join(dir, 'f.raw');
    writeFileSync(f, Buffer.from(fdata.buffer));
    writeFileSync(`${f}.json`, JSON.stringify({ shape: [nx, ny, nz], dtype: 'uint16', order: 'F', voxelSize: 2 }));
    expect(Array.from(readVolume(f, { chunkBytes: 6 }).data)).toEqual(Array.from(c));
    expect(Array.from(readSamples(f, { chunkBytes: 6 }).values)).toEqual(Array.from(c));
  });

  it('readWhole reads a file in chunks into one whole Buffer', () => {
    const f = join(dir, 'w.bin');
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    writeFileSync(f, data);
    const b = readWhole(f, data.length, 33);
    expect(b.equals(data)).toBe(true);
    expect(b.byteOffset).toBe(0);
    expect(b.buffer.byteLength).toBe(data.length);
  });
});
