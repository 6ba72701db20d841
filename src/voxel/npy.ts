import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';

/**
 * NumPy .npy format, version 1.0/2.0/3.0 (numpy.lib.format, NEP 1): magic "\x93NUMPY",
 * version, little-endian header length, a Python-literal dict header
 * {'descr': '|u1', 'fortran_order': False, 'shape': (nx, ny, nz), }, padded with spaces and a
 * newline so the data starts on a 64-byte boundary. poreloop volumes are uint8, C order.
 * Reading also accepts bool ('|b1') and Fortran order (transposed into C order).
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

export function decodeNpy(buf: Buffer, where = 'npy'): { data: Uint8Array; shape: Shape3 } {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new BadInputError('not a NumPy .npy file (missing \\x93NUMPY magic)', where);
  }
  const major = buf[6];
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new BadInputError(`unsupported .npy version ${major}; expected 1, 2 or 3`, where);
  }
  const header = buf.subarray(offset, offset + headerLen).toString('latin1');
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeTxt = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeTxt === undefined) throw new BadInputError('malformed .npy header', where);
  if (!['|u1', '<u1', 'u1', '|b1', '|i1'].includes(descr)) {
    throw new BadInputError(`dtype ${descr} is not supported; save the volume as uint8 (numpy: arr.astype(np.uint8))`, where);
  }
  const dims = shapeTxt.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new BadInputError(`expected a 3D volume, got shape (${dims.join(', ')})`, where);
  }
  const shape: Shape3 = [dims[0], dims[1], dims[2]];
  const n = shape[0] * shape[1] * shape[2];
  const start = offset + headerLen;
  if (buf.length - start < n) {
    throw new BadInputError(`file is truncated: header says ${n} voxels, found ${buf.length - start} bytes`, where);
  }
  const raw = new Uint8Array(buf.buffer, buf.byteOffset + start, n);
  if (!fortran) return { data: new Uint8Array(raw), shape };
  // Fortran order: x fastest. Transpose into C order.
  const [nx, ny, nz] = shape;
  const out = new Uint8Array(n);
  for (let x = 0; x < nx; x++)
    for (let y = 0; y < ny; y++)
      for (let z = 0; z < nz; z++) out[(x * ny + y) * nz + z] = raw[x + nx * (y + ny * z)];
  return { data: out, shape };
}
