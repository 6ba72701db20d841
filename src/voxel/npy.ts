import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';
import { fromXFastest, toLabels, type Samples } from './samples.js';
import { checkSampleBytes, checkShape } from './voxels.js';

/**
 * NumPy .npy format, version 1.0/2.0/3.0 (numpy.lib.format, NEP 1): magic "\x93NUMPY",
 * version, little-endian header length, a Python-literal dict header
 * {'descr': '|u1', 'fortran_order': False, 'shape': (nx, ny, nz), }, padded with spaces and a
 * newline so the data starts on a 64-byte boundary. poreloop writes uint8, C order; it reads
 * every numeric dtype in either order (issue #19).
 */

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export function encodeNpy(data: Uint8Array, shape: readonly number[]): Buffer {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const preamble = 10;
  const total = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header.padEnd(total - preamble - 1, ' ') + '\n';
  const head = Buffer.alloc(preamble);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/**
 * Phase labels from a .npy: any integer or boolean dtype (np.save(a.astype(int)) gives int64;
 * 16-bit label stacks are common) whose values are 0–255. Float arrays are images, not labels.
 */
export function decodeNpy(buf: Buffer, where = 'npy'): { data: Uint8Array; shape: Shape3 } {
  const { values, shape, descr } = decodeNpySamples(buf, where);
  if (values instanceof Float32Array || values instanceof Float64Array) {
    throw new BadInputError(`dtype ${descr} is not supported for phase labels (integer or boolean dtypes only); a grey-scale image can be segmented with poreloop volume segment`, where);
  }
  return { data: toLabels(values, where), shape };
}

const DTYPES: Record<string, { bytes: number; read: (dv: DataView, o: number, le: boolean) => number | bigint; make: (n: number) => Samples }> = {
  b1: { bytes: 1, read: (dv, o) => (dv.getUint8(o) ? 1 : 0), make: (n) => new Uint8Array(n) },
  u1: { bytes: 1, read: (dv, o) => dv.getUint8(o), make: (n) => new Uint8Array(n) },
  i1: { bytes: 1, read: (dv, o) => dv.getInt8(o), make: (n) => new Int8Array(n) },
  u2: { bytes: 2, read: (dv, o, le) => dv.getUint16(o, le), make: (n) => new Uint16Array(n) },
  i2: { bytes: 2, read: (dv, o, le) => dv.getInt16(o, le), make: (n) => new Int16Array(n) },
  u4: { bytes: 4, read: (dv, o, le) => dv.getUint32(o, le), make: (n) => new Uint32Array(n) },
  i4: { bytes: 4, read: (dv, o, le) => dv.getInt32(o, le), make: (n) => new Int32Array(n) },
  // 64-bit integers become Float64 (exact up to 2^53, far beyond any label or grey value).
  u8: { bytes: 8, read: (dv, o, le) => dv.getBigUint64(o, le), make: (n) => new Float64Array(n) },
  i8: { bytes: 8, read: (dv, o, le) => dv.getBigInt64(o, le), make: (n) => new Float64Array(n) },
  f4: { bytes: 4, read: (dv, o, le) => dv.getFloat32(o, le), make: (n) => new Float32Array(n) },
  f8: { bytes: 8, read: (dv, o, le) => dv.getFloat64(o, le), make: (n) => new Float64Array(n) },
};

/** What a .npy header says: checked (dtype, 3D or 2D shape, voxel limit), nothing allocated. */
export interface NpyHeader {
  descr: string;
  /** DTYPES key: b1, u1 … f8. */
  kind: string;
  /** Bytes per sample. */
  bytes: number;
  le: boolean;
  fortran: boolean;
  shape: Shape3;
  /** Byte offset of the data. */
  start: number;
}

/** Bytes needed to parse a header: the preamble, then `npyHeaderLength` tells the rest. */
export const NPY_PREAMBLE = 12;

/** Total header bytes (preamble + dict) from the first NPY_PREAMBLE bytes, or throws. */
export function npyHeaderLength(head: Buffer, where = 'npy'): number {
  if (head.length < 10 || !head.subarray(0, 6).equals(MAGIC)) {
    throw new BadInputError('not a NumPy .npy file (missing \\x93NUMPY magic)', where);
  }
  const major = head[6];
  if (major === 1) return 10 + head.readUInt16LE(8);
  if ((major === 2 || major === 3) && head.length >= 12) return 12 + head.readUInt32LE(8);
  throw new BadInputError(`unsupported .npy version ${major}; expected 1, 2 or 3`, where);
}

/**
 * Parses the header from the file's first bytes (at least `npyHeaderLength`), so readers can
 * check shape, dtype and size before reading any data (volume review 3: a 2.7 GB int64 file
 * was read whole first and crashed Node's 2 GiB readFileSync limit).
 */
export function parseNpyHeader(buf: Buffer, where = 'npy'): NpyHeader {
  const start = npyHeaderLength(buf, where);
  const offset = buf[6] === 1 ? 10 : 12;
  const header = buf.subarray(offset, start).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeTxt = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeTxt === undefined) throw new BadInputError('malformed .npy header', where);
  const m = /^([<>|=]?)([biuf][1248])$/.exec(descr);
  const dt = m ? DTYPES[m[2]] : undefined;
  if (!m || !dt) {
    throw new BadInputError(`dtype ${descr} is not supported; allowed: bool, int8–int64, uint8–uint64, float32, float64`, where);
  }
  const dims = shapeTxt.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.length === 2) dims.push(1);
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new BadInputError(`expected a 3D volume or a 2D image, got shape (${dims.join(', ')})`, where);
  }
  const shape = checkShape(dims, `${where}: shape`);
  return { descr, kind: m[2], bytes: dt.bytes, le: m[1] !== '>', fortran, shape, start };
}

/**
 * Any numeric .npy (bool, int8–int64, uint8–uint64, float32/64, either byte order, C or
 * Fortran order), 3D — or 2D, read as one z-slice (nx, ny, 1) — into C-order samples.
 */
export function decodeNpySamples(buf: Buffer, where = 'npy'): { values: Samples; shape: Shape3; descr: string } {
  const h = parseNpyHeader(buf, where);
  const { shape, descr, fortran, le, start } = h;
  const dt = DTYPES[h.kind];
  const n = shape[0] * shape[1] * shape[2];
  checkSampleBytes(n, dt.bytes, `${where}: shape`);
  if (buf.length - start < n * dt.bytes) {
    throw new BadInputError(`file is truncated: header says ${n} values of ${dt.bytes} bytes, found ${buf.length - start} bytes`, where);
  }
  const dv = new DataView(buf.buffer, buf.byteOffset + start, n * dt.bytes);
  const raw = dt.make(n);
  if (h.kind === 'u1') raw.set(new Uint8Array(buf.buffer, buf.byteOffset + start, n));
  else for (let i = 0; i < n; i++) raw[i] = Number(dt.read(dv, i * dt.bytes, le));
  // Fortran order: x fastest. Transposed into C order.
  return { values: fortran ? fromXFastest(raw, shape) : raw, shape, descr };
}
