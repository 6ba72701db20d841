import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { PNG } from 'pngjs';
import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';
import { decodeNpy, encodeNpy } from './npy.js';
import { checkShape, createVoxels, labelsPresent } from './voxels.js';

/**
 * Volume files (issue 3, "I/O and CLI"). One entry point each way, dispatching on the file
 * extension:
 *
 * - `.npy`  uint8 NumPy array of shape (nx, ny, nz), C order — `np.load(f)` gives our array
 *           exactly (PoreSpy reads it as is). No voxel size or phase names inside.
 * - `.tif`  uncompressed baseline TIFF (TIFF 6.0, 8-bit grey), **one page per z-slice**; each
 *           page is an x–y image (width nx, height ny, row = y). Fiji/ImageJ opens it as a
 *           z-stack with the voxel size in µm (ImageJ description `unit=micron`,
 *           `spacing=`, plus X/YResolution); `tifffile.imread(f).transpose(2, 1, 0)` gives the
 *           (nx, ny, nz) array. Pixel data of all pages are contiguous, as ImageJ expects.
 * - `.vti`  VTK XML ImageData (ParaView), one UInt8 cell array `phase`, written as raw
 *           appended data with a UInt64 header; reading also takes base64 appended, inline
 *           binary and ascii arrays, point or cell data.
 * - `.raw`  bare uint8 bytes + JSON sidecar `<file>.json` (e.g. `vol.raw.json`; `vol.json`
 *           is accepted when reading) holding { shape, voxelSize, phases, order, dtype }.
 *           order 'C' = x slowest, z fastest (ours); 'F' = x fastest (ImageJ/VTK raw import).
 *
 * Voxel size and phase names travel in .tif, .vti and .raw; `options` override what the file
 * says, and fill in what it lacks (.npy): voxel size defaults to 1 µm, phases to
 * { 0: 'pore', l: 'phase<l>' } for the labels present.
 */

export const VOLUME_FORMATS = ['.npy', '.tif', '.tiff', '.vti', '.raw'] as const;
const ALLOWED = 'allowed formats: .npy (uint8), .tif/.tiff (8-bit multi-page), .vti (VTK ImageData), .raw (+ .json sidecar)';

export interface ReadVolumeOptions {
  /** Voxel edge in µm; overrides the file's. */
  voxelSize?: number;
  /** Label → phase name; overrides the file's. */
  phases?: Record<number, string>;
}

interface Decoded {
  data: Uint8Array;
  shape: Shape3;
  voxelSize?: number;
  phases?: Record<number, string>;
}

export function readVolume(path: string, options: ReadVolumeOptions = {}): Voxels {
  const ext = extname(path).toLowerCase();
  if (!(VOLUME_FORMATS as readonly string[]).includes(ext)) {
    throw new BadInputError(`unknown volume extension "${ext || '(none)'}"; ${ALLOWED}`, path);
  }
  if (!existsSync(path)) throw new BadInputError('file not found', path);
  if (!statSync(path).isFile()) throw new BadInputError('not a regular file', path);
  const buf = readFileSync(path);
  let d: Decoded;
  try {
    d = ext === '.npy' ? decodeNpy(buf, path) : ext === '.vti' ? decodeVti(buf, path) : ext === '.raw' ? decodeRaw(buf, path) : decodeTiff(buf, path);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    throw new BadInputError(`corrupt or unreadable ${ext} file (${(e as Error).message}); ${ALLOWED}`, path, { cause: e });
  }
  const voxelSize = options.voxelSize ?? d.voxelSize ?? 1;
  const phases = options.phases ?? d.phases ?? defaultPhases(d.data);
  return createVoxels(d.shape, voxelSize, phases, d.data);
}

export function writeVolume(path: string, v: Voxels): void {
  const ext = extname(path).toLowerCase();
  checkShape(v.shape);
  if (ext === '.npy') writeFileSync(path, encodeNpy(v.data, v.shape));
  else if (ext === '.tif' || ext === '.tiff') writeFileSync(path, encodeTiff(v));
  else if (ext === '.vti') writeFileSync(path, encodeVti(v));
  else if (ext === '.raw') {
    writeFileSync(path, v.data);
    const side: RawSidecar = { shape: v.shape, voxelSize: v.voxelSize, phases: v.phases, order: 'C', dtype: 'uint8' };
    writeFileSync(`${path}.json`, JSON.stringify(side, null, 2) + '\n');
  } else throw new BadInputError(`unknown volume extension "${ext || '(none)'}"; ${ALLOWED}`, path);
}

/** Phase names when a file carries none: 0 is pore (poreloop's convention), others numbered. */
export function defaultPhases(data: Uint8Array): Record<number, string> {
  const out: Record<number, string> = { 0: 'pore' };
  for (const l of labelsPresent({ data, shape: [data.length, 1, 1], voxelSize: 1, phases: {} })) if (l !== 0) out[l] = `phase${l}`;
  return out;
}

// ─── .raw + JSON sidecar ─────────────────────────────────────────────────────────────────

interface RawSidecar {
  shape: number[];
  voxelSize: number;
  phases: Record<number, string>;
  order: 'C' | 'F';
  dtype: 'uint8';
}

function decodeRaw(buf: Buffer, path: string): Decoded {
  const candidates = [`${path}.json`, path.replace(/\.raw$/i, '.json')];
  const sidecar = candidates.find((p) => existsSync(p));
  if (!sidecar) throw new BadInputError(`missing JSON sidecar (looked for ${candidates.join(' and ')}) with { shape, voxelSize, phases, order }`, path);
  let meta: Partial<RawSidecar>;
  try {
    meta = JSON.parse(readFileSync(sidecar, 'utf8')) as Partial<RawSidecar>;
  } catch (e) {
    throw new BadInputError(`sidecar is not valid JSON (${(e as Error).message})`, sidecar);
  }
  const shape = checkShape(Array.isArray(meta.shape) ? meta.shape : [], `${sidecar}: shape`);
  if (meta.dtype !== undefined && meta.dtype !== 'uint8') throw new BadInputError(`dtype ${String(meta.dtype)} not supported; only uint8`, sidecar);
  const order = meta.order ?? 'C';
  if (order !== 'C' && order !== 'F') throw new BadInputError(`order must be "C" (x slowest) or "F" (x fastest), got ${JSON.stringify(order)}`, sidecar);
  const n = shape[0] * shape[1] * shape[2];
  if (buf.length !== n) throw new BadInputError(`file has ${buf.length} bytes but shape ${shape.join('×')} needs ${n}`, path);
  const data = order === 'C' ? new Uint8Array(buf) : fromXFastest(buf, shape);
  return { data, shape, voxelSize: typeof meta.voxelSize === 'number' ? meta.voxelSize : undefined, phases: meta.phases };
}

/** Transposes x-fastest (Fortran/VTK) order into our C order. */
function fromXFastest(src: Uint8Array, [nx, ny, nz]: Shape3): Uint8Array {
  const out = new Uint8Array(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[(x * ny + y) * nz + z] = src[i++];
  return out;
}

function toXFastest(src: Uint8Array, [nx, ny, nz]: Shape3): Uint8Array {
  const out = new Uint8Array(nx * ny * nz);
  let i = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[i++] = src[(x * ny + y) * nz + z];
  return out;
}

// ─── TIFF (TIFF 6.0 baseline, uncompressed, 8-bit grey) ──────────────────────────────────

const T_SHORT = 3;
const T_LONG = 4;
const T_RATIONAL = 5;
const T_ASCII = 2;

function encodeTiff(v: Voxels): Buffer {
  const [nx, ny, nz] = v.shape;
  const page = nx * ny;
  // ImageJ reads a stack described by `images=` as contiguous pixel blocks from the first
  // strip offset (ImageJ TiffDecoder), so all pixel data come first, then the IFDs.
  const desc =
    `ImageJ=1.11a\nimages=${nz}\nslices=${nz}\nunit=micron\nspacing=${v.voxelSize}\nloop=false\n` +
    `poreloop=${JSON.stringify({ shape: v.shape, voxelSize: v.voxelSize, phases: v.phases })}\n\0`;
  const descBytes = Buffer.from(desc, 'latin1');
  const pixelStart = 8;
  const pixelEnd = pixelStart + page * nz;
  // TIFF offsets must be word-aligned (TIFF 6.0, section 2).
  const descAt = pixelEnd + (pixelEnd & 1);
  const ratAt = descAt + descBytes.length + (descBytes.length & 1);
  const ifdStart = ratAt + 8;
  const entriesFirst = 13;
  const entriesRest = 12;
  const ifdSize = (n: number) => 2 + n * 12 + 4;
  const total = ifdStart + ifdSize(entriesFirst) + (nz - 1) * ifdSize(entriesRest);
  if (total > 0xffffffff) throw new BadInputError('volume too large for a classic TIFF (4 GiB); use .npy or .raw', 'tif');
  const out = Buffer.alloc(total);
  out.write('II', 0, 'latin1');
  out.writeUInt16LE(42, 2);
  out.writeUInt32LE(ifdStart, 4);
  // Pixels: page z, row y, column x.
  const d = v.data;
  for (let z = 0; z < nz; z++) {
    const base = pixelStart + z * page;
    for (let y = 0; y < ny; y++) {
      const row = base + y * nx;
      for (let x = 0; x < nx; x++) out[row + x] = d[(x * ny + y) * nz + z];
    }
  }
  descBytes.copy(out, descAt);
  // XResolution = YResolution = pixels per µm (ResolutionUnit none, as ImageJ writes).
  out.writeUInt32LE(1_000_000, ratAt);
  out.writeUInt32LE(Math.max(1, Math.round(v.voxelSize * 1_000_000)), ratAt + 4);
  let at = ifdStart;
  for (let z = 0; z < nz; z++) {
    const entries: Array<[tag: number, type: number, count: number, value: number]> = [
      [254, T_LONG, 1, 0],
      [256, T_LONG, 1, nx],
      [257, T_LONG, 1, ny],
      [258, T_SHORT, 1, 8],
      [259, T_SHORT, 1, 1],
      [262, T_SHORT, 1, 1],
      ...(z === 0 ? ([[270, T_ASCII, descBytes.length, descAt]] as Array<[number, number, number, number]>) : []),
      [273, T_LONG, 1, pixelStart + z * page],
      [277, T_SHORT, 1, 1],
      [278, T_LONG, 1, ny],
      [279, T_LONG, 1, page],
      [282, T_RATIONAL, 1, ratAt],
      [283, T_RATIONAL, 1, ratAt],
    ];
    out.writeUInt16LE(entries.length, at);
    let e = at + 2;
    for (const [tag, type, count, value] of entries) {
      out.writeUInt16LE(tag, e);
      out.writeUInt16LE(type, e + 2);
      out.writeUInt32LE(count, e + 4);
      if (type === T_SHORT) out.writeUInt16LE(value, e + 8);
      else out.writeUInt32LE(value, e + 8);
      e += 12;
    }
    const next = e + 4;
    out.writeUInt32LE(z === nz - 1 ? 0 : next, e);
    at = next;
  }
  return out;
}

function decodeTiff(buf: Buffer, path: string): Decoded {
  if (buf.length < 8) throw new BadInputError('not a TIFF file (too short)', path);
  const bom = buf.toString('latin1', 0, 2);
  if (bom !== 'II' && bom !== 'MM') throw new BadInputError('not a TIFF file (missing II/MM byte-order mark)', path);
  const le = bom === 'II';
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u16(2) !== 42) throw new BadInputError(u16(2) === 43 ? 'BigTIFF is not supported; save as classic TIFF' : 'not a classic TIFF (magic ≠ 42)', path);
  const typeSize: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
  const values = (type: number, count: number, field: number): number[] => {
    const size = (typeSize[type] ?? 1) * count;
    const at = size <= 4 ? field : u32(field);
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      if (type === 3) out.push(u16(at + 2 * i));
      else if (type === 4) out.push(u32(at + 4 * i));
      else if (type === 5) out.push(u32(at + 8 * i) / u32(at + 8 * i + 4));
      else out.push(buf[at + i]);
    }
    return out;
  };
  const pages: Array<{ offsets: number[]; counts: number[] }> = [];
  let width = 0;
  let height = 0;
  let description = '';
  let xres: number | undefined;
  const seen = new Set<number>();
  for (let ifd = u32(4); ifd !== 0; ) {
    if (seen.has(ifd) || ifd + 2 > buf.length) throw new BadInputError('corrupt TIFF: bad or looping IFD offset', path);
    seen.add(ifd);
    const n = u16(ifd);
    const tags = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12;
      const tag = u16(e);
      const type = u16(e + 2);
      const count = u32(e + 4);
      if (tag === 270 && pages.length === 0) {
        const at = count <= 4 ? e + 8 : u32(e + 8);
        description = buf.toString('latin1', at, at + count).replace(/\0+$/, '');
      } else if (tag !== 270) tags.set(tag, values(type, count, e + 8));
    }
    ifd = u32(ifd + 2 + n * 12);
    const sub = tags.get(254)?.[0] ?? 0;
    if (sub & 1) continue; // reduced-resolution thumbnail, not a slice
    const w = tags.get(256)?.[0];
    const h = tags.get(257)?.[0];
    if (!w || !h) throw new BadInputError('corrupt TIFF: page without ImageWidth/ImageLength', path);
    const bps = tags.get(258) ?? [1];
    const spp = tags.get(277)?.[0] ?? 1;
    const comp = tags.get(259)?.[0] ?? 1;
    if (bps.some((b) => b !== 8) || spp !== 1) throw new BadInputError(`only 8-bit single-channel TIFF is supported (found ${bps.join('/')}-bit, ${spp} samples per pixel)`, path);
    if (comp !== 1) throw new BadInputError(`compressed TIFF (compression ${comp}) is not supported; save uncompressed`, path);
    if (pages.length === 0) {
      width = w;
      height = h;
      xres = tags.get(282)?.[0];
    } else if (w !== width || h !== height) {
      throw new BadInputError(`pages differ in size (${width}×${height} vs ${w}×${h})`, path);
    }
    const offsets = tags.get(273);
    const counts = tags.get(279);
    if (!offsets || !counts || offsets.length !== counts.length) throw new BadInputError('corrupt TIFF: missing strip offsets/byte counts', path);
    pages.push({ offsets, counts });
  }
  if (pages.length === 0) throw new BadInputError('TIFF has no image pages', path);
  // Declared sizes are checked before anything is allocated (issue #14: an 81 kB file whose
  // pages all pointed at the same strip expanded to 4.3 GB before the size limit was checked).
  const shape = checkShape([width, height, pages.length], `${path}: TIFF pages`);
  const [nx, ny, nz] = shape;
  // Uncompressed 8-bit pixels take one byte each in the file, so a page set larger than the
  // file can only come from strips that overlap or are reused: refused, not expanded.
  if (nx * ny * nz > buf.length) {
    throw new BadInputError(`corrupt TIFF: ${nz} pages of ${nx}×${ny} declare ${nx * ny * nz} pixel bytes, more than the file's ${buf.length} bytes (strips reused or overlapping)`, path);
  }
  const data = new Uint8Array(nx * ny * nz);
  const img = new Uint8Array(nx * ny);
  for (let z = 0; z < nz; z++) {
    const { offsets, counts } = pages[z];
    let k = 0;
    for (let s = 0; s < offsets.length && k < img.length; s++) {
      const len = Math.min(counts[s], img.length - k);
      if (offsets[s] + len > buf.length) throw new BadInputError('corrupt TIFF: strip runs past the end of the file', path);
      img.set(buf.subarray(offsets[s], offsets[s] + len), k);
      k += len;
    }
    if (k !== img.length) throw new BadInputError(`corrupt TIFF: page ${z} has ${k} of ${img.length} pixel bytes`, path);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) data[(x * ny + y) * nz + z] = img[y * nx + x];
  }
  const meta = parsePoreloopMeta(description);
  const spacing = /(?:^|\n)spacing=([0-9.eE+-]+)/.exec(description)?.[1];
  const voxelSize = meta?.voxelSize ?? (spacing ? Number(spacing) : xres && xres > 0 ? 1 / xres : undefined);
  return { data, shape, voxelSize, phases: meta?.phases };
}

function parsePoreloopMeta(text: string): { voxelSize?: number; phases?: Record<number, string> } | undefined {
  const m = /poreloop=(\{.*\})/.exec(text);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]) as { voxelSize?: number; phases?: Record<number, string> };
  } catch {
    return undefined;
  }
}

// ─── VTK XML ImageData (.vti) ────────────────────────────────────────────────────────────

function encodeVti(v: Voxels): Buffer {
  const [nx, ny, nz] = v.shape;
  const s = v.voxelSize;
  // Voxels are VTK cells: the extent counts points, one more than cells along each axis.
  const head =
    `<?xml version="1.0"?>\n` +
    `<!-- poreloop=${JSON.stringify({ voxelSize: s, phases: v.phases })} -->\n` +
    `<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n` +
    `  <ImageData WholeExtent="0 ${nx} 0 ${ny} 0 ${nz}" Origin="0 0 0" Spacing="${s} ${s} ${s}">\n` +
    `    <Piece Extent="0 ${nx} 0 ${ny} 0 ${nz}">\n` +
    `      <CellData Scalars="phase">\n` +
    `        <DataArray type="UInt8" Name="phase" format="appended" offset="0"/>\n` +
    `      </CellData>\n` +
    `    </Piece>\n` +
    `  </ImageData>\n` +
    `  <AppendedData encoding="raw">\n   _`;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(v.data.length));
  const tail = `\n  </AppendedData>\n</VTKFile>\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), len, toXFastest(v.data, v.shape), Buffer.from(tail, 'latin1')]);
}

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
}

function decodeVti(buf: Buffer, path: string): Decoded {
  // The XML part ends where raw appended data begin; search the head only as text.
  const appendedAt = buf.indexOf('<AppendedData');
  const xml = buf.toString('latin1', 0, appendedAt >= 0 ? appendedAt : buf.length);
  if (!/<VTKFile[^>]*type="ImageData"/.test(xml)) throw new BadInputError('not a VTK XML ImageData file (<VTKFile type="ImageData"> missing)', path);
  const vtk = /<VTKFile[^>]*>/.exec(xml)![0];
  if (attr(vtk, 'compressor')) throw new BadInputError(`compressed .vti (${attr(vtk, 'compressor')}) is not supported; save uncompressed`, path);
  const le = (attr(vtk, 'byte_order') ?? 'LittleEndian') === 'LittleEndian';
  const hdr64 = attr(vtk, 'header_type') === 'UInt64';
  const hsize = hdr64 ? 8 : 4;
  const img = /<ImageData[^>]*>/.exec(xml)?.[0];
  const ext = img ? attr(img, 'WholeExtent')?.trim().split(/\s+/).map(Number) : undefined;
  if (!img || !ext || ext.length !== 6 || ext.some((e) => !Number.isInteger(e))) throw new BadInputError('ImageData without a valid WholeExtent', path);
  const spacing = attr(img, 'Spacing')?.trim().split(/\s+/).map(Number);
  const m = /<(CellData|PointData)[^>]*>\s*(<DataArray[^>]*?(\/>|>([\s\S]*?)<\/DataArray>))/.exec(xml);
  if (!m) throw new BadInputError('no CellData/PointData DataArray found', path);
  const cells = m[1] === 'CellData';
  const shape = checkShape([0, 1, 2].map((a) => ext[2 * a + 1] - ext[2 * a] + (cells ? 0 : 1)), `${path}: WholeExtent`);
  const n = shape[0] * shape[1] * shape[2];
  const da = /<DataArray[^>]*>/.exec(m[2])![0];
  const type = attr(da, 'type');
  if (type !== 'UInt8' && type !== 'Int8') throw new BadInputError(`DataArray type ${type} not supported; use UInt8`, path);
  if ((attr(da, 'NumberOfComponents') ?? '1') !== '1') throw new BadInputError('DataArray must have one component', path);
  const format = attr(da, 'format') ?? 'ascii';
  const readHeader = (b: Buffer, o: number) => (hdr64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  let flat: Uint8Array;
  if (format === 'ascii') {
    const tokens = (m[4] ?? '').trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length !== n) throw new BadInputError(`data array has ${tokens.length} values but the extent needs ${n}`, path);
    flat = new Uint8Array(n);
    // Labels are integers 0–255 (Int8: 0–127). Uint8Array.from turned NaN into 0 and 300 into
    // 44, so a corrupt file read as another microstructure with exit 0 (issue #14).
    const max = type === 'UInt8' ? 255 : 127;
    for (let i = 0; i < n; i++) {
      const v = Number(tokens[i]);
      if (!Number.isInteger(v) || v < 0 || v > max) throw new BadInputError(`ascii DataArray value ${i} is ${JSON.stringify(tokens[i].slice(0, 20))}; phase labels are integers 0–${max}`, path);
      flat[i] = v;
    }
  } else if (format === 'binary') {
    flat = decodeBase64Block(Buffer.from((m[4] ?? '').replace(/\s+/g, ''), 'latin1').toString('latin1'), hsize, readHeader, n);
  } else if (format === 'appended') {
    if (appendedAt < 0) throw new BadInputError('format="appended" but no <AppendedData> section', path);
    const tagEnd = buf.indexOf('>', appendedAt);
    const appTag = buf.toString('latin1', appendedAt, tagEnd + 1);
    const underscore = buf.indexOf('_', tagEnd);
    const offset = Number(attr(da, 'offset') ?? '0');
    const start = underscore + 1 + offset;
    if ((attr(appTag, 'encoding') ?? 'raw') === 'raw') {
      if (start + hsize > buf.length) throw new BadInputError('appended data truncated', path);
      const bytes = readHeader(buf, start);
      flat = new Uint8Array(buf.subarray(start + hsize, start + hsize + bytes));
    } else {
      const end = buf.indexOf('<', underscore);
      const text = buf.toString('latin1', underscore + 1, end < 0 ? buf.length : end).replace(/\s+/g, '');
      flat = decodeBase64Block(text.slice(offset), hsize, readHeader, n);
    }
  } else throw new BadInputError(`DataArray format "${format}" not supported`, path);
  if (flat.length !== n) throw new BadInputError(`data array has ${flat.length} values but the extent needs ${n}`, path);
  const meta = parsePoreloopMeta(xml.slice(0, 4096));
  const vs = meta?.voxelSize ?? (spacing && spacing[0] > 0 ? spacing[0] : undefined);
  return { data: fromXFastest(flat, shape), shape, voxelSize: vs, phases: meta?.phases };
}

/**
 * Base64 VTK block: VTK writers encode the byte-count header and the data as two separate
 * base64 streams (meshio and pyevtk too); a single stream is tried if that does not fit.
 */
function decodeBase64Block(text: string, hsize: number, readHeader: (b: Buffer, o: number) => number, n: number): Uint8Array {
  const hchars = Math.ceil(hsize / 3) * 4;
  const head = Buffer.from(text.slice(0, hchars), 'base64');
  const separate = Buffer.from(text.slice(hchars), 'base64');
  if (head.length >= hsize && readHeader(head, 0) === n && separate.length >= n) return new Uint8Array(separate.subarray(0, n));
  const joint = Buffer.from(text, 'base64');
  const bytes = readHeader(joint, 0);
  return new Uint8Array(joint.subarray(hsize, hsize + bytes));
}

// ─── PNG slice previews ──────────────────────────────────────────────────────────────────

/** One colour per label: pore dark, solid phases distinct (colour-blind-safe Okabe–Ito hues). */
export const PHASE_COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [25, 25, 35],
  [190, 190, 190],
  [230, 159, 0],
  [86, 180, 233],
  [0, 158, 115],
  [240, 228, 66],
  [0, 114, 178],
  [213, 94, 0],
  [204, 121, 167],
];

export interface SliceOptions {
  axis: 'x' | 'y' | 'z';
  /** Slice index along the axis (default: the middle). */
  index?: number;
}

/**
 * Writes one slice as an RGB PNG. Axis z: columns x, rows y. Axis x: columns y, rows z.
 * Axis y: columns x, rows z. For x and y slices row 0 is the top (largest z) so the
 * through-plane direction points up, as in a cross-section micrograph.
 */
export function writeSlicePng(path: string, v: Voxels, options: SliceOptions): void {
  writeFileSync(path, encodeSlicePng(v, options));
}

export function encodeSlicePng(v: Voxels, { axis, index }: SliceOptions): Buffer {
  const [nx, ny, nz] = v.shape;
  const along = axis === 'x' ? nx : axis === 'y' ? ny : axis === 'z' ? nz : -1;
  if (along < 0) throw new BadInputError(`axis must be x, y or z, got ${String(axis)}`, 'slice');
  const i = index ?? Math.floor(along / 2);
  if (!Number.isInteger(i) || i < 0 || i >= along) throw new BadInputError(`slice index ${i} out of range 0…${along - 1} along ${axis}`, 'slice');
  const w = axis === 'x' ? ny : nx;
  const h = axis === 'z' ? ny : nz;
  const png = new PNG({ width: w, height: h, colorType: 2 });
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const idx =
        axis === 'z' ? (c * ny + r) * nz + i : axis === 'x' ? (i * ny + c) * nz + (nz - 1 - r) : (c * ny + i) * nz + (nz - 1 - r);
      const col = PHASE_COLOURS[v.data[idx] % PHASE_COLOURS.length];
      const o = (r * w + c) * 4;
      png.data[o] = col[0];
      png.data[o + 1] = col[1];
      png.data[o + 2] = col[2];
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png, { colorType: 2 });
}
