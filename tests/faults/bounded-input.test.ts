import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/core/errors.js';
import { WorkerPool } from '../../src/exec/worker-pool.js';
import { readVolume } from '../../src/voxel/io.js';
import { cli, tmp } from '../helpers.js';

/**
 * Issue #14, bounded input: files and flags whose declared sizes were trusted before being
 * checked. Each case was accepted (or allocated gigabytes) before its fix.
 */

/**
 * A one-page, 8-bit, uncompressed little-endian TIFF of `width`×`height` whose strips all point
 * at the same `stripBytes` bytes of data ("strip reuse").
 */
function stripReuseTiff(width: number, height: number, strips: number, stripBytes: number): Buffer {
  const tags: Array<[number, number, number, number]> = []; // tag, type, count, value
  const ifdSize = 2 + 7 * 12 + 4;
  const offsetsAt = 8 + ifdSize;
  const countsAt = offsetsAt + 4 * strips;
  const dataAt = countsAt + 4 * strips;
  tags.push([256, 4, 1, width], [257, 4, 1, height], [258, 3, 1, 8], [259, 3, 1, 1], [273, 4, strips, offsetsAt], [277, 3, 1, 1], [279, 4, strips, countsAt]);
  const buf = Buffer.alloc(dataAt + stripBytes, 1);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, count, value], i) => {
    const e = 10 + 12 * i;
    buf.writeUInt16LE(tag, e);
    buf.writeUInt16LE(type, e + 2);
    buf.writeUInt32LE(count, e + 4);
    buf.writeUInt32LE(value, e + 8);
  });
  buf.writeUInt32LE(0, 10 + 12 * tags.length); // no next IFD
  for (let s = 0; s < strips; s++) {
    buf.writeUInt32LE(dataAt, offsetsAt + 4 * s);
    buf.writeUInt32LE(stripBytes, countsAt + 4 * s);
  }
  return buf;
}

function asciiVti(values: string): string {
  return [
    '<?xml version="1.0"?>',
    '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
    '<ImageData WholeExtent="0 2 0 2 0 2" Origin="0 0 0" Spacing="1 1 1">',
    '<Piece Extent="0 2 0 2 0 2"><CellData Scalars="phase">',
    `<DataArray type="UInt8" Name="phase" format="ascii">${values}</DataArray>`,
    '</CellData></Piece></ImageData></VTKFile>',
  ].join('\n');
}

describe('declared sizes are checked before decoding (issue #14)', () => {
  it('a TIFF page declaring 65535×65535 is refused before 4.3 GB are allocated', () => {
    const path = join(tmp(), 'big.tif');
    writeFileSync(path, stripReuseTiff(65535, 65535, 64, 1024));
    expect(() => readVolume(path)).toThrow(BadInputError);
    expect(() => readVolume(path)).toThrow(/volume of 4294836225 voxels exceeds the limit of 1073741824/);
  });

  it('a TIFF whose strips reuse the same bytes to fill more pixels than the file holds is refused', () => {
    const path = join(tmp(), 'reuse.tif');
    // 1024×1024 pixels from 16 strips that all point at the same 64 KiB: a 65 kB file.
    writeFileSync(path, stripReuseTiff(1024, 1024, 16, 65536));
    expect(() => readVolume(path)).toThrow(/declare 1048576 pixel bytes, more than the file's \d+ bytes \(strips reused or overlapping\)/);
  });

  it('ASCII .vti values that are not labels 0–255 (NaN, 300, -1, 0.5) are refused; exit 2 from analyse', async () => {
    const dir = tmp();
    const ok = join(dir, 'ok.vti');
    writeFileSync(ok, asciiVti('0 1 1 0 1 0 0 1'));
    expect(readVolume(ok).data.reduce((s, v) => s + v, 0)).toBe(4);
    for (const [bad, token] of [['0 1 NaN 0 1 0 0 1', 'NaN'], ['0 1 300 0 1 0 0 1', '300'], ['0 1 -1 0 1 0 0 1', '-1'], ['0 1 0.5 0 1 0 0 1', '0.5']]) {
      const path = join(dir, `bad-${token}.vti`);
      writeFileSync(path, asciiVti(bad));
      expect(() => readVolume(path), token).toThrow(`ascii DataArray value 2 is "${token}"; phase labels are integers 0–255`);
    }
    const r = await cli(['analyse', join(dir, 'bad-NaN.vti')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/value 2 is "NaN"/);
  });
});

describe('worker counts are bounded (issue #14: --workers 1e9 started 1 639 threads)', () => {
  it('analyse --workers outside 0…cores exits 2 before reading the volume', async () => {
    for (const w of ['1e9', '-1', '1.5']) {
      const r = await cli(['analyse', join(tmp(), 'absent.vti'), '--workers', w]);
      expect(r.code, w).toBe(2);
      expect(r.stderr).toMatch(/--workers: expected an integer from 0 \(in-process\) to \d+/);
    }
  });

  it('a worker pool refuses a size beyond its bound without starting a thread', () => {
    expect(() => new WorkerPool({ size: 1e9, workerUrl: new URL('./absent-worker.js', import.meta.url) })).toThrow(/worker pool size must be an integer from 1 to 256, got 1000000000/);
  });
});
