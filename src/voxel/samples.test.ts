import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { readLabels, type ElemKind } from './read-chunked.js';
import { assertLabels, labelCheck, labelsInto, toLabels, toXFastest, type Samples } from './samples.js';

/**
 * Diff review 2026-12-07, item 7: the chunked reader (read-chunked.ts `readLabels`) had its own
 * copy of toLabels' label rule and message. Both now go through labelsInto/assertLabels; these
 * tests hold them to the same results and the same words, whole or in chunks.
 */
const dir = mkdtempSync(join(tmpdir(), 'poreloop-samples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHAPE: Shape3 = [2, 3, 4];
const KIND: Record<string, ElemKind> = { Float32Array: 'f4', Float64Array: 'f8', Int16Array: 'i2', Uint16Array: 'u2', Int32Array: 'i4', Int8Array: 'i1' };

/** What readLabels makes of these samples written as a little-endian .raw, in chunks of `chunkBytes`. */
function chunked(values: Samples, chunkBytes: number, fortran = false): Uint8Array | Error {
  const path = join(dir, `v-${values.constructor.name}-${chunkBytes}-${fortran}.raw`);
  const file = fortran ? toXFastest(values, SHAPE) : values;
  writeFileSync(path, new Uint8Array(file.buffer, file.byteOffset, file.byteLength));
  try {
    return readLabels({ path, start: 0, kind: KIND[values.constructor.name], le: true, fortran, shape: SHAPE }, chunkBytes);
  } catch (e) {
    return e as Error;
  }
}

function whole(values: Samples): Uint8Array | Error {
  try {
    return toLabels(values, join(dir, 'x'));
  } catch (e) {
    return e as Error;
  }
}

/** The message without the file name in front (BadInputError puts `path: ` there). */
const reason = (e: Uint8Array | Error): string => (e instanceof Error ? e.message.slice(e.message.indexOf(': ') + 2) : 'no error');

const fill = <T extends Samples>(a: T, set: Record<number, number>): T => {
  for (let i = 0; i < a.length; i++) a[i] = i % 3;
  for (const [i, v] of Object.entries(set)) a[Number(i)] = v;
  return a;
};

describe('the label check (diff review 2026-12-07, item 7)', () => {
  const cases: Array<[string, Samples, RegExp | null]> = [
    ['int16 labels', fill(new Int16Array(24), { 5: 255 }), null],
    ['float32 labels, -0', fill(new Float32Array(24), { 3: -0, 7: 7 }), null],
    ['negative int16', fill(new Int16Array(24), { 2: -1, 20: 300 }), /holds values -1…300, not phase labels 0–255/],
    ['uint16 above 255', fill(new Uint16Array(24), { 23: 256 }), /holds values 0…256, not/],
    ['fractional float64', fill(new Float64Array(24), { 9: 2.5, 15: 1000 }), /holds fractional values, not/],
    ['NaN and Infinity', fill(new Float32Array(24), { 1: NaN, 22: Infinity, 4: 0.5 }), /holds 2 non-finite values, not/],
    ['large float', fill(new Float64Array(24), { 0: 1e10 }), /holds values 0…10000000000, not/],
  ];

  it('toLabels and the chunked reader give the same labels, or the same message, in any chunking', () => {
    for (const [what, values, re] of cases) {
      const w = whole(values);
      if (re) {
        expect(w, what).toBeInstanceOf(Error);
        expect((w as Error).message, what).toMatch(re);
        expect((w as Error).message, what).toMatch(/a grey-scale image must be segmented first \(poreloop volume segment\)$/);
      } else expect(Array.from(w as Uint8Array), what).toEqual(Array.from(values, (v) => v + 0));
      for (const chunkBytes of [8, 16, 24, 1 << 20])
        for (const fortran of [false, true]) {
          const c = chunked(values, chunkBytes, fortran);
          if (re) expect(reason(c), `${what}, chunks of ${chunkBytes}, fortran ${fortran}`).toBe(reason(w));
          else expect(Array.from(c as Uint8Array), `${what}, chunks of ${chunkBytes}`).toEqual(Array.from(w as Uint8Array));
        }
    }
  });

  it('labelsInto/assertLabels: chunk by chunk as at once, nothing thrown for labels', () => {
    const values = fill(new Float64Array(24), { 6: -3, 18: 2.25 });
    const check = labelCheck();
    const out = new Uint8Array(24);
    labelsInto(values.subarray(0, 12), out, 0, check);
    expect(check.bad).toBe(true);
    labelsInto(values.subarray(12), out, 12, check);
    expect(check).toMatchObject({ min: -3, max: 2.25, nonFinite: 0, integral: false, bad: true });
    expect(() => assertLabels(check, 'v.npy')).toThrow(/v\.npy: holds fractional values, not phase labels 0–255/);
    const ok = labelCheck();
    labelsInto(new Int32Array([0, 255, 7]), out, 0, ok);
    expect(() => assertLabels(ok, 'v.npy')).not.toThrow();
    expect(Array.from(out.subarray(0, 3))).toEqual([0, 255, 7]);
  });
});
