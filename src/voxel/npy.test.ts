import { describe, expect, it } from 'vitest';
import { referenceNpy } from '../../tests/fixtures/reference/index.js';
import { decodeNpy, encodeNpy } from './npy.js';

describe('npy', () => {
  it('round-trips a uint8 volume with a 64-byte aligned header', () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i % 5);
    const buf = encodeNpy(data, [2, 3, 4]);
    expect((buf.readUInt16LE(8) + 10) % 64).toBe(0);
    const back = decodeNpy(buf);
    expect(back.shape).toEqual([2, 3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it('reads a reference volume written by numpy (tests/fixtures/reference)', () => {
    const v = decodeNpy(referenceNpy('channels_x_N64.npy'));
    expect(v.shape).toEqual([64, 64, 64]);
    // Straight channels along x, 16 of every 32 voxels wide in y and z: porosity 1/4 (manifest.json).
    expect(v.data.reduce((n, x) => n + x, 0) / v.data.length).toBeCloseTo(0.25, 6);
  });

  it('rejects non-npy bytes and wrong dtypes with a clear message', () => {
    expect(() => decodeNpy(Buffer.from('hello world'))).toThrow(/not a NumPy/);
    const bad = encodeNpy(new Uint8Array(64), [2, 2, 2]).toString('latin1').replace("'|u1'", "'<f8'").replace("(2, 2, 2)", "(2, 2, 1)");
    expect(() => decodeNpy(Buffer.from(bad, 'latin1'))).toThrow(/dtype <f8 is not supported for phase labels/);
    const complex = encodeNpy(new Uint8Array(8), [2, 2, 2]).toString('latin1').replace("'|u1'", "'<c8'");
    expect(() => decodeNpy(Buffer.from(complex, 'latin1'))).toThrow(/dtype <c8 is not supported; allowed: bool, int8/);
  });
});
