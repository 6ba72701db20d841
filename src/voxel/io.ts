import { constants as bufferConstants } from 'node:buffer';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { BadInputError } from '../core/errors.js';
import type { Shape3, Voxels } from '../core/protocols.js';
import { encodeNpy, NPY_PREAMBLE, npyHeaderLength, parseNpyHeader } from './npy.js';
import { checkSamplesFit, readHead, readLabels, readSamplesChunked, readWhole, type DataSpec, type ElemKind } from './read-chunked.js';
import { toLabels, toXFastest, type SampleVolume, type Samples } from './samples.js';
import { decodeTiffStack, parsePoreloopMeta } from './tiff.js';
import { checkSampleBytes, checkShape, createVoxels, labelsPresent } from './voxels.js';

/**
 * Volume files (issue 3, "I/O and CLI"; issue #19, "a way in for real data"). One entry point
 * each way, dispatching on the file extension:
 *
 * - `.npy`  NumPy array of shape (nx, ny, nz), C order — `np.load(f)` gives our array exactly
 *           (PoreSpy reads it as is). Written as uint8; read in any integer, boolean or float
 *           dtype. Voxel size and phase names go in a JSON sidecar `<file>.json`.
 * - `.tif`  one page per z-slice; each page is an x–y image (width nx, height ny, row = y).
 *           Written uncompressed, 8-bit, ImageJ-style (`unit=micron`, `spacing=`, X/YResolution
 *           in pixels per µm, ResolutionUnit none) so Fiji opens it as a z-stack with its
 *           voxel size; `tifffile.imread(f).transpose(2, 1, 0)` gives the (nx, ny, nz) array.
 *           Read by utif2 in every common compression and bit depth (src/voxel/tiff.ts).
 * - `.vti`  VTK XML ImageData (ParaView), one UInt8 cell array `phase`, written as raw
 *           appended data with a UInt64 header; reading also takes zlib-compressed data
 *           (ParaView's default), base64 and inline arrays, any numeric type, point or cell data.
 * - `.raw`  bare bytes + JSON sidecar `<file>.json` (e.g. `vol.raw.json`; `vol.json`
 *           is accepted when reading) holding { shape, voxelSize, phases, order, dtype }.
 *           order 'C' = x slowest, z fastest (ours); 'F' = x fastest (ImageJ/VTK raw import).
 *
 * `options` override what the file says, and fill in what it lacks: voxel size defaults to
 * 1 µm with a warning (`onWarning`), phases to { 0: 'pore', l: 'phase<l>' } for the labels
 * present.
 */

export const VOLUME_FORMATS = ['.npy', '.tif', '.tiff', '.vti', '.raw'] as const;
const ALLOWED =
  'allowed formats: .npy (integer/bool dtypes, + optional .json sidecar), .tif/.tiff (multi-page, any common compression, 1–32-bit), .vti (VTK ImageData, raw or zlib), .raw (+ .json sidecar)';

export interface ReadVolumeOptions {
  /** Voxel edge in µm; overrides the file's. */
  voxelSize?: number;
  /** Label → phase name; overrides the file's. */
  phases?: Record<number, string>;
  /** Told what the reader noticed (no voxel size in the file, non-cubic voxels …). */
  onWarning?: (message: string) => void;
  /** Bytes read at a time from .npy/.raw data (default 16 MiB); tests pass small ones. */
  chunkBytes?: number;
}

/** A volume's samples before they become labels: grey values or labels of any integer type. */
export interface GreyVolume {
  values: Samples;
  shape: Shape3;
  voxelSize: number;
  phases?: Record<number, string>;
}

/**
 * A file read in two steps (volume review 3): `open` reads only the header or sidecar and checks
 * shape, sample type, file size and the voxel limit; the data are read afterwards. .npy and .raw
 * are then read in chunks straight into the output; .tif and .vti (structure spread through the
 * file) are read whole, in chunks, up to Node's 4 GiB Buffer limit.
 */
interface Opened {
  meta: Omit<SampleVolume, 'values'>;
  /** Set for .npy/.raw: where the samples lie. */
  spec?: DataSpec;
  /** Set for .tif/.vti: the whole decode. */
  decode?: () => SampleVolume;
}

/** `samples`: the caller keeps the file's sample type, so its bytes count against MAX_SAMPLE_BYTES. */
function openVolume(path: string, chunkBytes: number | undefined, samples: boolean): Opened {
  const ext = extname(path).toLowerCase();
  if (!(VOLUME_FORMATS as readonly string[]).includes(ext)) {
    throw new BadInputError(`unknown volume extension "${ext || '(none)'}"; ${ALLOWED}`, path);
  }
  if (!existsSync(path)) throw new BadInputError('file not found', path);
  const st = statSync(path);
  if (!st.isFile()) throw new BadInputError('not a regular file', path);
  try {
    if (ext === '.npy') return openNpy(path, st.size, samples);
    if (ext === '.raw') return openRaw(path, st.size, samples);
    if (st.size > bufferConstants.MAX_LENGTH) {
      throw new BadInputError(`file of ${(st.size / 1024 ** 3).toFixed(2)} GiB is larger than poreloop reads as ${ext} (${(bufferConstants.MAX_LENGTH / 1024 ** 3).toFixed(0)} GiB); save it as .npy or .raw`, path);
    }
    const buf = readWhole(path, st.size, chunkBytes);
    const d = ext === '.vti' ? decodeVti(buf, path) : decodeTiffStack(buf, path);
    return { meta: d, decode: () => d };
  } catch (e) {
    throw wrapRead(e, ext, path);
  }
}

function wrapRead(e: unknown, ext: string, path: string): Error {
  if (e instanceof BadInputError) return e;
  return new BadInputError(`corrupt or unreadable ${ext} file (${(e as Error).message}); ${ALLOWED}`, path, { cause: e });
}

function resolveMeta(path: string, d: Omit<SampleVolume, 'values'>, options: ReadVolumeOptions): { voxelSize: number; phases?: Record<number, string> } {
  const warn = options.onWarning ?? (() => undefined);
  if (options.voxelSize === undefined) {
    for (const w of d.warnings) warn(`${path}: ${w}`);
    if (d.voxelSize === undefined) {
      if (d.warnings.length === 0) warn(`${path}: the file states no voxel size; assuming 1 µm (pass --voxel <µm>)`);
      else warn(`${path}: assuming 1 µm`);
    }
  }
  return { voxelSize: options.voxelSize ?? d.voxelSize ?? 1, phases: options.phases ?? d.phases };
}

/** Reads any supported file into samples (no label check); voxel size and warnings resolved. */
export function readSamples(path: string, options: ReadVolumeOptions = {}): GreyVolume {
  const o = openVolume(path, options.chunkBytes, true);
  let values: Samples;
  try {
    values = o.spec ? readSamplesChunked(o.spec, options.chunkBytes) : o.decode!().values;
  } catch (e) {
    throw wrapRead(e, extname(path).toLowerCase(), path);
  }
  return { values, shape: o.meta.shape, ...resolveMeta(path, o.meta, options) };
}

/**
 * Reads a segmented volume: every sample must be a label 0–255. A .npy/.raw goes straight into
 * the label array chunk by chunk, so its sample type's size does not count against the 2 GiB
 * sample limit (a 700³ int64 .npy is 2.7 GB of samples, 343 MB of labels).
 */
export function readVolume(path: string, options: ReadVolumeOptions = {}): Voxels {
  const o = openVolume(path, options.chunkBytes, false);
  let data: Uint8Array;
  try {
    data = o.spec ? readLabels(o.spec, options.chunkBytes) : toLabels(o.decode!().values, path);
  } catch (e) {
    throw wrapRead(e, extname(path).toLowerCase(), path);
  }
  const m = resolveMeta(path, o.meta, options);
  return createVoxels(o.meta.shape, m.voxelSize, m.phases ?? defaultPhases(data), data);
}

/**
 * Whether `writeVolume` can write `path`: a known extension and an existing folder. Commands
 * call it before their work, so a typo in the output path is not found after a long run; a
 * missing folder was a raw ENOENT, exit 1 (import review #5).
 */
export function checkOutputPath(path: string): void {
  const ext = extname(path).toLowerCase();
  if (!(VOLUME_FORMATS as readonly string[]).includes(ext)) throw new BadInputError(`unknown volume extension "${ext || '(none)'}"; ${ALLOWED}`, path);
  const folder = dirname(resolve(path));
  if (!existsSync(folder)) throw new BadInputError(`the output folder ${folder} does not exist; create it first`, path);
  if (!statSync(folder).isDirectory()) throw new BadInputError(`${folder} is not a folder`, path);
}

export function writeVolume(path: string, v: Voxels): void {
  checkOutputPath(path);
  const ext = extname(path).toLowerCase();
  checkShape(v.shape);
  if (ext === '.npy') {
    writeFileSync(path, encodeNpy(v.data, v.shape));
    writeSidecar(`${path}.json`, { shape: v.shape, voxelSize: v.voxelSize, phases: v.phases });
  } else if (ext === '.tif' || ext === '.tiff') writeFileSync(path, encodeTiff(v));
  else if (ext === '.vti') writeFileSync(path, encodeVti(v));
  else if (ext === '.raw') {
    writeFileSync(path, v.data);
    writeSidecar(`${path}.json`, { shape: v.shape, voxelSize: v.voxelSize, phases: v.phases, order: 'C', dtype: 'uint8' });
  }
}

function writeSidecar(path: string, side: Partial<RawSidecar>): void {
  writeFileSync(path, JSON.stringify(side, null, 2) + '\n');
}

/** Phase names when a file carries none: 0 is pore (poreloop's convention), others numbered. */
export function defaultPhases(data: Uint8Array): Record<number, string> {
  const out: Record<number, string> = { 0: 'pore' };
  for (const l of labelsPresent({ data, shape: [data.length, 1, 1], voxelSize: 1, phases: {} })) if (l !== 0) out[l] = `phase${l}`;
  return out;
}

// ─── JSON sidecars (.raw, .npy) ──────────────────────────────────────────────────────────

const RAW_DTYPES = { uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array, uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array } as const;

interface RawSidecar {
  shape: number[];
  voxelSize: number;
  phases: Record<number, string>;
  order: 'C' | 'F';
  /** Little-endian sample type; default uint8. */
  dtype: keyof typeof RAW_DTYPES;
}

function findSidecar(path: string, ext: RegExp): string | undefined {
  return [`${path}.json`, path.replace(ext, '.json')].find((p) => p !== path && existsSync(p));
}

function readSidecar(sidecar: string): Partial<RawSidecar> {
  let meta: Partial<RawSidecar>;
  try {
    meta = JSON.parse(readFileSync(sidecar, 'utf8')) as Partial<RawSidecar>;
  } catch (e) {
    throw new BadInputError(`sidecar is not valid JSON (${(e as Error).message})`, sidecar);
  }
  if (meta.voxelSize !== undefined && !(typeof meta.voxelSize === 'number' && meta.voxelSize > 0)) {
    throw new BadInputError(`voxelSize must be a number > 0 (µm), got ${JSON.stringify(meta.voxelSize)}`, `${sidecar}: voxelSize`);
  }
  if (meta.phases !== undefined && (typeof meta.phases !== 'object' || meta.phases === null || Object.values(meta.phases).some((n) => typeof n !== 'string'))) {
    throw new BadInputError('phases must be an object of label → name strings', `${sidecar}: phases`);
  }
  return meta;
}

/** Largest .npy header read: numpy writes under 100 bytes of dict; anything near this is not a volume. */
const MAX_NPY_HEADER = 1024 * 1024;

function openNpy(path: string, size: number, samples: boolean): Opened {
  const pre = readHead(path, NPY_PREAMBLE);
  const hlen = npyHeaderLength(pre, path);
  if (hlen > MAX_NPY_HEADER) throw new BadInputError(`malformed .npy header (${hlen} bytes)`, path);
  const h = parseNpyHeader(readHead(path, hlen), path);
  const { shape, bytes } = h;
  const n = shape[0] * shape[1] * shape[2];
  if (samples) checkSamplesFit(n, h.kind as ElemKind, `${path}: shape`);
  // Checked against the file's size before any data are read (volume review 3).
  if (size - h.start < n * bytes) {
    throw new BadInputError(`file is truncated: header says ${n} values of ${bytes} bytes, found ${Math.max(0, size - h.start)} bytes`, path);
  }
  const spec: DataSpec = { path, start: h.start, kind: h.kind as ElemKind, le: h.le, fortran: h.fortran, shape };
  const sidecar = findSidecar(path, /\.npy$/i);
  if (!sidecar) return { meta: { shape, warnings: [] }, spec };
  const meta = readSidecar(sidecar);
  if (Array.isArray(meta.shape) && meta.shape.join() !== shape.join()) {
    throw new BadInputError(`sidecar shape ${JSON.stringify(meta.shape)} differs from the array's (${shape.join(', ')})`, sidecar);
  }
  return { meta: { shape, voxelSize: meta.voxelSize, phases: meta.phases, warnings: [] }, spec };
}

const RAW_KINDS: Record<keyof typeof RAW_DTYPES, ElemKind> = { uint8: 'u1', int8: 'i1', uint16: 'u2', int16: 'i2', uint32: 'u4', int32: 'i4', float32: 'f4', float64: 'f8' };

function openRaw(path: string, size: number, samples: boolean): Opened {
  const sidecar = findSidecar(path, /\.raw$/i);
  if (!sidecar) throw new BadInputError(`missing JSON sidecar (looked for ${path}.json and ${path.replace(/\.raw$/i, '.json')}) with { shape, voxelSize, phases, order, dtype }`, path);
  const meta = readSidecar(sidecar);
  const shape = checkShape(Array.isArray(meta.shape) ? meta.shape : [], `${sidecar}: shape`);
  const dtype = meta.dtype ?? 'uint8';
  const Type = Object.hasOwn(RAW_DTYPES, dtype) ? RAW_DTYPES[dtype] : undefined;
  if (!Type) throw new BadInputError(`dtype ${String(meta.dtype)} not supported; allowed: ${Object.keys(RAW_DTYPES).join(', ')} (little-endian)`, sidecar);
  const order = meta.order ?? 'C';
  if (order !== 'C' && order !== 'F') throw new BadInputError(`order must be "C" (x slowest) or "F" (x fastest), got ${JSON.stringify(order)}`, sidecar);
  const n = shape[0] * shape[1] * shape[2];
  if (samples) checkSampleBytes(n, Type.BYTES_PER_ELEMENT, `${sidecar}: shape`);
  const need = n * Type.BYTES_PER_ELEMENT;
  // The file's size, from stat, before any data are read (volume review 3: a 1200³ .raw was
  // read whole — 7 s, 1.75 GB — before its sidecar shape was refused).
  if (size !== need) throw new BadInputError(`file has ${size} bytes but shape ${shape.join('×')} needs ${need} (${dtype})`, path);
  return { meta: { shape, voxelSize: meta.voxelSize, phases: meta.phases, warnings: [] }, spec: { path, start: 0, kind: RAW_KINDS[dtype], le: true, fortran: order === 'F', shape } };
}

// ─── TIFF out (TIFF 6.0 baseline, uncompressed, 8-bit grey) ──────────────────────────────────

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
  const entriesFirst = 14;
  const entriesRest = 13;
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
  // XResolution = YResolution = pixels per µm with ResolutionUnit none, as ImageJ writes.
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
      [296, T_SHORT, 1, 1],
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

const VTK_TYPES: Record<string, { bytes: number; make: (n: number) => Samples; get: (dv: DataView, o: number, le: boolean) => number }> = {
  UInt8: { bytes: 1, make: (n) => new Uint8Array(n), get: (dv, o) => dv.getUint8(o) },
  Int8: { bytes: 1, make: (n) => new Int8Array(n), get: (dv, o) => dv.getInt8(o) },
  UInt16: { bytes: 2, make: (n) => new Uint16Array(n), get: (dv, o, le) => dv.getUint16(o, le) },
  Int16: { bytes: 2, make: (n) => new Int16Array(n), get: (dv, o, le) => dv.getInt16(o, le) },
  UInt32: { bytes: 4, make: (n) => new Uint32Array(n), get: (dv, o, le) => dv.getUint32(o, le) },
  Int32: { bytes: 4, make: (n) => new Int32Array(n), get: (dv, o, le) => dv.getInt32(o, le) },
  UInt64: { bytes: 8, make: (n) => new Float64Array(n), get: (dv, o, le) => Number(dv.getBigUint64(o, le)) },
  Int64: { bytes: 8, make: (n) => new Float64Array(n), get: (dv, o, le) => Number(dv.getBigInt64(o, le)) },
  Float32: { bytes: 4, make: (n) => new Float32Array(n), get: (dv, o, le) => dv.getFloat32(o, le) },
  Float64: { bytes: 8, make: (n) => new Float64Array(n), get: (dv, o, le) => dv.getFloat64(o, le) },
};

/**
 * The DataArray of a .vti to read: the one its CellData or PointData names as `Scalars` (the
 * active scalars, what ParaView colours by), or the only one. A file with several arrays was
 * read from the first — a grey array before `<CellData Scalars="labels">` was taken for the
 * labels (import review #3); without Scalars poreloop does not guess. First Piece only.
 */
function vtiArray(xml: string, path: string): { cells: boolean; tag: string; body?: string } {
  const piece = /<Piece\b[\s\S]*?<\/Piece>/.exec(xml)?.[0] ?? xml;
  const arrays: Array<{ cells: boolean; section: string; tag: string; body?: string; name: string }> = [];
  const scalars: Array<{ section: string; name: string }> = [];
  for (const sec of piece.matchAll(/<(CellData|PointData)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1>)/g)) {
    const [, section, attrs, content] = sec;
    const named = attr(attrs, 'Scalars');
    if (named !== undefined) scalars.push({ section, name: named });
    for (const a of (content ?? '').matchAll(/(<DataArray\b[^>]*?)(?:\/>|>([\s\S]*?)<\/DataArray>)/g)) {
      arrays.push({ cells: section === 'CellData', section, tag: `${a[1]}>`, body: a[2], name: attr(a[1], 'Name') ?? '' });
    }
  }
  if (arrays.length === 0) throw new BadInputError('no CellData/PointData DataArray found', path);
  const list = arrays.map((a) => `${a.section} "${a.name}" ${attr(a.tag, 'type') ?? '?'}`).join(', ');
  if (scalars.length === 1) {
    const { section, name } = scalars[0];
    const chosen = arrays.find((a) => a.section === section && a.name === name);
    if (!chosen) throw new BadInputError(`${section} Scalars="${name}" names no DataArray; arrays found: ${list}`, path);
    return chosen;
  }
  if (arrays.length === 1) return arrays[0];
  throw new BadInputError(
    `${arrays.length} data arrays (${list}) and ${scalars.length ? `Scalars attributes in both CellData and PointData (${scalars.map((x) => `${x.section} "${x.name}"`).join(', ')})` : 'no Scalars attribute'} naming the one to read; ` +
      'keep only the label array (ParaView: Pass Arrays, then save) or set Scalars="<name>" on its CellData/PointData',
    path,
  );
}

function decodeVti(buf: Buffer, path: string): SampleVolume {
  // The XML part ends where raw appended data begin; search the head only as text.
  const appendedAt = buf.indexOf('<AppendedData');
  const xml = buf.toString('latin1', 0, appendedAt >= 0 ? appendedAt : buf.length);
  if (!/<VTKFile[^>]*type="ImageData"/.test(xml)) throw new BadInputError('not a VTK XML ImageData file (<VTKFile type="ImageData"> missing)', path);
  const vtk = /<VTKFile[^>]*>/.exec(xml)![0];
  const compressor = attr(vtk, 'compressor');
  if (compressor && compressor !== 'vtkZLibDataCompressor') {
    throw new BadInputError(`compressor ${compressor} is not supported; allowed: none or vtkZLibDataCompressor (ParaView's default)`, path);
  }
  const le = (attr(vtk, 'byte_order') ?? 'LittleEndian') === 'LittleEndian';
  const hdr64 = attr(vtk, 'header_type') === 'UInt64';
  const hsize = hdr64 ? 8 : 4;
  const img = /<ImageData[^>]*>/.exec(xml)?.[0];
  const ext = img ? attr(img, 'WholeExtent')?.trim().split(/\s+/).map(Number) : undefined;
  if (!img || !ext || ext.length !== 6 || ext.some((e) => !Number.isInteger(e))) throw new BadInputError('ImageData without a valid WholeExtent', path);
  const spacing = attr(img, 'Spacing')?.trim().split(/\s+/).map(Number);
  const { cells, tag: da, body } = vtiArray(xml, path);
  const shape = checkShape([0, 1, 2].map((a) => ext[2 * a + 1] - ext[2 * a] + (cells ? 0 : 1)), `${path}: WholeExtent`);
  const n = shape[0] * shape[1] * shape[2];
  const type = attr(da, 'type') ?? '';
  const vt = VTK_TYPES[type];
  if (!vt) throw new BadInputError(`DataArray type ${type} not supported; allowed: ${Object.keys(VTK_TYPES).join(', ')}`, path);
  if ((attr(da, 'NumberOfComponents') ?? '1') !== '1') throw new BadInputError('DataArray must have one component', path);
  const format = attr(da, 'format') ?? 'ascii';
  const header = (b: Uint8Array, i: number) => {
    const dv = new DataView(b.buffer, b.byteOffset + i * hsize, hsize);
    return hdr64 ? Number(dv.getBigUint64(0, le)) : dv.getUint32(0, le);
  };
  const nbytes = n * vt.bytes;
  // Bytes, not only voxels, are capped before anything is allocated or inflated (issue #19 review).
  checkSampleBytes(n, vt.bytes, `${path}: WholeExtent`);
  // VTK stores x fastest; values are written straight into poreloop's C order (x slowest),
  // without a second full-size copy.
  const [nx, ny, nz] = shape;
  const cIndex = (i: number) => {
    const x = i % nx;
    const t = (i - x) / nx;
    const y = t % ny;
    return (x * ny + y) * nz + (t - y) / ny;
  };
  let bytes: Uint8Array;
  if (format === 'ascii') {
    const tokens = (body ?? '').trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length !== n) throw new BadInputError(`data array has ${tokens.length} values but the extent needs ${n}`, path);
    const values = vt.make(n);
    // Integer arrays hold integers in range: Uint8Array.from turned NaN into 0 and 300 into
    // 44, so a corrupt file read as another microstructure with exit 0 (issue #14).
    const float = type.startsWith('Float');
    const max = type === 'UInt8' ? 255 : type === 'Int8' ? 127 : Infinity;
    for (let i = 0; i < n; i++) {
      const v = Number(tokens[i]);
      const bad = float ? !Number.isFinite(v) : !Number.isInteger(v) || v < (type.startsWith('U') ? 0 : -Infinity) || v > max;
      if (bad) {
        const allowed = float ? 'finite numbers' : max <= 255 ? `phase labels are integers 0–${max}` : `${type} integers`;
        throw new BadInputError(`ascii DataArray value ${i} is ${JSON.stringify(tokens[i].slice(0, 20))}; ${allowed}`, path);
      }
      values[cIndex(i)] = v;
    }
    return finishVti(values, shape, xml, spacing);
  } else if (format === 'binary') {
    const text = (body ?? '').replace(/\s+/g, '');
    bytes = compressor ? inflateBase64Blocks(text, hsize, header, nbytes, path) : decodeBase64Block(text, hsize, header, nbytes);
  } else if (format === 'appended') {
    if (appendedAt < 0) throw new BadInputError('format="appended" but no <AppendedData> section', path);
    const tagEnd = buf.indexOf('>', appendedAt);
    const appTag = buf.toString('latin1', appendedAt, tagEnd + 1);
    const underscore = buf.indexOf('_', tagEnd);
    const offset = Number(attr(da, 'offset') ?? '0');
    const start = underscore + 1 + offset;
    if ((attr(appTag, 'encoding') ?? 'raw') === 'raw') {
      if (start + hsize > buf.length) throw new BadInputError('appended data truncated', path);
      bytes = compressor ? inflateRawBlocks(buf, start, hsize, header, nbytes, path) : buf.subarray(start + hsize, start + hsize + header(buf.subarray(start), 0));
    } else {
      const end = buf.indexOf('<', underscore);
      const text = buf.toString('latin1', underscore + 1, end < 0 ? buf.length : end).replace(/\s+/g, '');
      bytes = compressor ? inflateBase64Blocks(text.slice(offset), hsize, header, nbytes, path) : decodeBase64Block(text.slice(offset), hsize, header, nbytes);
    }
  } else throw new BadInputError(`DataArray format "${format}" not supported`, path);
  if (bytes.length < nbytes) throw new BadInputError(`data array has ${Math.floor(bytes.length / vt.bytes)} values but the extent needs ${n}`, path);
  const values = vt.make(n);
  if (type === 'UInt8') for (let i = 0; i < n; i++) values[cIndex(i)] = bytes[i];
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, nbytes);
    for (let i = 0; i < n; i++) values[cIndex(i)] = vt.get(dv, i * vt.bytes, le);
  }
  return finishVti(values, shape, xml, spacing);
}

/** `values` in C order (x slowest). */
function finishVti(values: Samples, shape: Shape3, xml: string, spacing: number[] | undefined): SampleVolume {
  const meta = parsePoreloopMeta(xml.slice(0, 4096));
  const warnings: string[] = [];
  if (spacing && spacing.length === 3 && spacing.some((s) => Math.abs(s - spacing[0]) > 0.01 * spacing[0])) {
    warnings.push(`voxels are not cubic (Spacing ${spacing.join(' ')}); poreloop uses cubic voxels of ${spacing[0]}`);
  }
  // VTK spacing has no unit: poreloop's own files say µm; others are taken as µm too, with a
  // warning (issue #19 review) — ParaView and most VTK writers store whatever unit the data had.
  const voxelSize = meta?.voxelSize ?? (spacing && spacing[0] > 0 ? spacing[0] : undefined);
  if (!meta?.voxelSize && voxelSize !== undefined) warnings.push(`VTK Spacing has no unit; taken as µm (${voxelSize} µm); pass --voxel <µm> if it is not`);
  return { values, shape, voxelSize, phases: meta?.phases, warnings };
}

/**
 * vtkZLibDataCompressor blocks (VTK file formats, "compressed data"): a header of
 * [blocks, block size, last block size, compressed size of each block], then the zlib
 * streams one after another.
 */
function inflateRawBlocks(buf: Buffer, start: number, hsize: number, header: (b: Uint8Array, i: number) => number, expect: number, path: string): Uint8Array {
  const head = buf.subarray(start);
  const blocks = header(head, 0);
  const hbytes = (3 + blocks) * hsize;
  if (start + hbytes > buf.length) throw new BadInputError('compressed appended data truncated (header)', path);
  const sizes = Array.from({ length: blocks }, (_, i) => header(head, 3 + i));
  return inflateBlocks(head.subarray(hbytes), sizes, header(head, 1), header(head, 2), expect, path);
}

function inflateBase64Blocks(text: string, hsize: number, header: (b: Uint8Array, i: number) => number, expect: number, path: string): Uint8Array {
  // VTK encodes the header and the blocks as two base64 streams.
  const blocks = header(Buffer.from(text.slice(0, 12), 'base64'), 0);
  const hchars = Math.ceil(((3 + blocks) * hsize) / 3) * 4;
  const head = Buffer.from(text.slice(0, hchars), 'base64');
  const sizes = Array.from({ length: blocks }, (_, i) => header(head, 3 + i));
  return inflateBlocks(Buffer.from(text.slice(hchars), 'base64'), sizes, header(head, 1), header(head, 2), expect, path);
}

function inflateBlocks(data: Uint8Array, sizes: number[], blockSize: number, lastSize: number, expect: number, path: string): Uint8Array {
  const total = sizes.length === 0 ? 0 : (sizes.length - 1) * blockSize + (lastSize || blockSize);
  // Checked before anything is inflated (issue #14's rule): the header may not promise more than the extent holds.
  if (total !== expect) throw new BadInputError(`compressed array declares ${total} bytes but the extent needs ${expect}`, path);
  const out = new Uint8Array(total);
  let at = 0;
  let from = 0;
  for (let b = 0; b < sizes.length; b++) {
    const want = b === sizes.length - 1 ? lastSize || blockSize : blockSize;
    let block: Buffer;
    try {
      block = inflateSync(data.subarray(from, from + sizes[b]), { maxOutputLength: Math.max(1, want) });
    } catch (e) {
      throw new BadInputError(`compressed block ${b} of ${sizes.length} does not inflate to its ${want} bytes (${(e as Error).message})`, path, { cause: e });
    }
    // A short block (truncated or damaged data) would leave zeros, read as pore (issue #19 review).
    if (block.length !== want) throw new BadInputError(`compressed block ${b} of ${sizes.length} inflates to ${block.length} bytes, the header says ${want}`, path);
    out.set(block, at);
    at += want;
    from += sizes[b];
  }
  return out;
}

/**
 * Base64 VTK block: VTK writers encode the byte-count header and the data as two separate
 * base64 streams (meshio and pyevtk too); a single stream is tried if that does not fit.
 */
function decodeBase64Block(text: string, hsize: number, header: (b: Uint8Array, i: number) => number, nbytes: number): Uint8Array {
  const hchars = Math.ceil(hsize / 3) * 4;
  const head = Buffer.from(text.slice(0, hchars), 'base64');
  const separate = Buffer.from(text.slice(hchars), 'base64');
  if (head.length >= hsize && header(head, 0) === nbytes && separate.length >= nbytes) return separate.subarray(0, nbytes);
  const joint = Buffer.from(text, 'base64');
  const bytes = header(joint, 0);
  return joint.subarray(hsize, hsize + bytes);
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
