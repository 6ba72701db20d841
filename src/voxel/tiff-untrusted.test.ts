import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tmp } from '../../tests/helpers.js';
import { decodeTiffStack } from './tiff.js';
import { readSamples } from './io.js';

/**
 * Issue #19 review: untrusted TIFFs. Each file is built here, byte by byte, as a one-page
 * little-endian classic TIFF: a structure utif2 would loop on, or pixel data cut short that it
 * would have read as zeros (pore), must be refused with a message saying what is wrong.
 */
type Entry = [tag: number, type: number, values: number[]];
const SIZE: Record<number, number> = { 2: 1, 3: 2, 4: 4 };

/** IFD at 8, then out-of-line values, then `pixels`; StripOffsets (273) is set to where the pixels land. */
function tiff(entries: Entry[], pixels: Uint8Array, opts: { next?: (ifd: number) => number; patch?: (b: Buffer) => void } = {}): Buffer {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const ifdBytes = 2 + 12 * sorted.length + 4;
  let extra = 8 + ifdBytes;
  const extraAt: number[] = [];
  for (const [, type, v] of sorted) {
    const bytes = v.length * SIZE[type];
    extraAt.push(bytes > 4 ? extra : -1);
    if (bytes > 4) extra += bytes;
  }
  const pixelAt = extra;
  const b = Buffer.alloc(pixelAt + pixels.length);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(sorted.length, 8);
  sorted.forEach(([t, type, v], i) => {
    const e = 10 + 12 * i;
    const values = t === 273 ? v.map((o) => o + pixelAt) : v;
    b.writeUInt16LE(t, e);
    b.writeUInt16LE(type, e + 2);
    b.writeUInt32LE(values.length, e + 4);
    const at = extraAt[i] >= 0 ? extraAt[i] : e + 8;
    if (extraAt[i] >= 0) b.writeUInt32LE(at, e + 8);
    values.forEach((x, j) => (SIZE[type] === 1 ? b.writeUInt8(x, at + j) : SIZE[type] === 2 ? b.writeUInt16LE(x, at + 2 * j) : b.writeUInt32LE(x, at + 4 * j)));
  });
  b.writeUInt32LE(opts.next?.(8) ?? 0, 10 + 12 * sorted.length);
  b.set(pixels, pixelAt);
  opts.patch?.(b);
  return b;
}

/** A 4×4 8-bit page in strips of `rps` rows; compression 1 unless given. */
function page(strips: { offsets: number[]; counts: number[] }, rps = 4, more: Entry[] = []): Entry[] {
  return [[256, 3, [4]], [257, 3, [4]], [258, 3, [8]], [278, 3, [rps]], [273, 4, strips.offsets], [279, 4, strips.counts], ...more];
}
const pixels = Uint8Array.from({ length: 16 }, (_, i) => i % 3);

describe('untrusted TIFF structure and truncated data (issue #19 review)', () => {
  it('the builder makes a TIFF the reader takes (so the refusals below are about the one defect each)', () => {
    const v = decodeTiffStack(tiff(page({ offsets: [0, 8], counts: [8, 8] }, 2), pixels), 'ok.tif');
    expect(v.shape).toEqual([4, 4, 1]);
    expect(Array.from(v.values)).toEqual(Array.from({ length: 16 }, (_, i) => pixels[(i % 4) * 4 + Math.floor(i / 4)]));
    const deflated = deflateSync(pixels);
    expect(Array.from(decodeTiffStack(tiff(page({ offsets: [0], counts: [deflated.length] }, 4, [[259, 3, [8]]]), deflated), 'ok.tif').values)).toEqual(Array.from(v.values));
  });

  it('refuses an IFD chain that loops and a SubIFD that points back at its IFD, before utif2 walks them', () => {
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [16] }), pixels, { next: (ifd) => ifd }), 'loop.tif')).toThrow(/IFD 1 at offset 8 was already read \(the IFD chain loops\)/);
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [16] }, 4, [[330, 4, [8]]]), pixels), 'sub.tif')).toThrow(/SubIFD \(tag 330\) at offset 8 was already read/);
  });

  it('refuses an entry whose count × type size passes the end of the file', () => {
    const forged = tiff(page({ offsets: [0], counts: [16] }, 4, [[270, 2, [0x41, 0x42, 0x43, 0x44, 0x45, 0x46]]]), pixels, {
      // ImageDescription's count raised to 2^31: utif2 would read two billion characters.
      patch: (b) => b.writeUInt32LE(2 ** 31, 10 + 12 * 3 + 4), // entry 3 in tag order
    });
    expect(() => decodeTiffStack(forged, 'count.tif')).toThrow(/tag 270 has 2147483648 values of 1 bytes at offset \d+, past the end of the file/);
  });

  it('refuses strips past the end of the file, a missing strip and a strip that decodes short', () => {
    // The one strip claims 16 bytes, the file holds 8 of them (cut short).
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [16] }), pixels.subarray(0, 8)), 'cut.tif')).toThrow(/page 0 strip 0 \(16 bytes at offset \d+\) passes the end of the file/);
    // Two rows per strip needs two strips; one is listed.
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [8] }, 2), pixels), 'one.tif')).toThrow(/page 0 lists 1 offsets and 1 byte counts; 4×4 in strips of 2 rows needs 2/);
    // A byte count smaller than the strip's rows.
    expect(() => decodeTiffStack(tiff(page({ offsets: [0, 8], counts: [8, 5] }, 2), pixels), 'short.tif')).toThrow(/page 0 strip 1 decodes to 5 of 8 bytes/);
    // Deflate of half a page; PackBits of half a page (one literal run of 8).
    const half = deflateSync(pixels.subarray(0, 8));
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [half.length] }, 4, [[259, 3, [8]]]), half), 'deflate.tif')).toThrow(/strip 0 decodes to 8 of 16 bytes/);
    const packed = Uint8Array.from([7, ...pixels.subarray(0, 8)]);
    expect(() => decodeTiffStack(tiff(page({ offsets: [0], counts: [9] }, 4, [[259, 3, [32773]]]), packed), 'packbits.tif')).toThrow(/strip 0 decodes to 8 of 16 bytes/);
  });

  it('refuses float16 by name', () => {
    const f = join(tmp('poreloop-tiff-'), 'half.tif');
    writeFileSync(f, tiff([[256, 3, [2]], [257, 3, [2]], [258, 3, [16]], [339, 3, [3]], [273, 4, [0]], [279, 4, [8]]], new Uint8Array(8)));
    expect(() => readSamples(f)).toThrow(/16-bit floating-point samples \(float16, half precision\) are not supported; allowed floats: 32 or 64-bit/);
  });
});
