import { inflateSync } from 'node:zlib';
import UTIF from 'utif2';
import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';
import type { SampleVolume, Samples } from './samples.js';
import { checkSampleBytes, checkShape } from './voxels.js';

/**
 * TIFF stacks in (issue #19), decoded with libraries rather than by hand — tags by utif2
 * (photopea's UTIF.js) after the structure walk below, LZW and PackBits by utif2's decoders,
 * Deflate by node:zlib; only the strips and tiles are put together here, with their lengths
 * checked (issue #19 review). Every page that is not a reduced-resolution thumbnail is one
 * z-slice, an x–y image (width nx, height ny); ImageJ hyperstacks of channels × slices are
 * refused (import review #2, `hyperstack` below). Compression none, PackBits, LZW, Deflate (Adobe and old-style), with or
 * without the horizontal predictor, stripped or tiled; other compressions (JPEG, Zstandard,
 * LERC …) are refused by name; 1, 8, 16 or 32 bits per sample, unsigned, signed or
 * floating point; one sample per pixel (grey or labels). Byte order either.
 *
 * Voxel size, in order of trust:
 * 1. poreloop's own `poreloop={…}` line in the ImageDescription (what `writeVolume` stores);
 * 2. ImageJ's description (`unit=micron|µm|nm|mm|cm`, `spacing=` for z): ImageJ stores
 *    XResolution as pixels per that unit, whatever ResolutionUnit says (ImageJ TiffEncoder);
 * 3. XResolution with ResolutionUnit inch (the TIFF default when the tag is absent) or cm
 *    (TIFF 6.0 §"ResolutionUnit"). 72 and 96 pixels per inch are what image writers store
 *    when they know nothing (issue #19: read as µm they gave a 0.0139 µm voxel, SSA ×72), so
 *    they count as "no voxel size", with a warning — as does a resolution without unit.
 */

type IFD = UTIF.IFD & Record<string, unknown>;

/** Length of one ImageJ unit in µm. */
const IMAGEJ_UNITS: Record<string, number> = {
  micron: 1,
  microns: 1,
  um: 1,
  'µm': 1,
  '\u03bcm': 1,
  nm: 1e-3,
  nanometer: 1e-3,
  mm: 1e3,
  cm: 1e4,
  m: 1e6,
  meter: 1e6,
  inch: 25_400,
};
const WRITER_DEFAULT_DPI = [72, 96];
/** Lossless compressions utif2 decodes (TIFF 6.0 and the Adobe Deflate note). */
const COMPRESSIONS: Record<number, string> = { 1: 'none', 5: 'LZW', 8: 'Deflate', 32946: 'Deflate (old)', 32773: 'PackBits' };
const OTHER_COMPRESSIONS: Record<number, string> = { 2: 'CCITT RLE', 3: 'CCITT G3', 4: 'CCITT G4', 6: 'old JPEG', 7: 'JPEG (lossy)', 34712: 'JPEG 2000', 34887: 'LERC', 34925: 'LZMA', 50000: 'Zstandard', 50001: 'WebP' };

/** Bytes per value of each classic-TIFF field type (TIFF 6.0 §2, 13 = IFD from the TIFF/EP note). */
const TYPE_BYTES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
/** Tags whose values are offsets of further IFDs that utif2 follows: SubIFDs, Exif, GPS. */
const SUB_IFD_TAGS = [330, 34665, 34853];
/** More IFDs (pages, thumbnails, Exif …) than any stack poreloop can hold (1024 pages) by far. */
const MAX_IFDS = 65_536;
/** Values over all entries: utif2 turns each into a JS number, so a forged count cannot exhaust memory. */
const MAX_TAG_VALUES = 1 << 24;
const MAX_SUB_IFD_DEPTH = 4;

/**
 * Walks the IFD structure of an untrusted TIFF before utif2 sees it (issue #19 review): utif2
 * follows the IFD chain and SubIFD offsets with no loop check and reads every entry's count
 * of values wherever it points, so a looped chain hangs it and a forged count makes it loop
 * over billions of values. Here every IFD offset is visited once (a loop is refused), the
 * number of IFDs and of values is capped, every entry's values must lie in the file
 * (count × type size from its offset), and unknown field types are refused — utif2 silently
 * stops reading an IFD at one, which would drop pages.
 */
function walkIfds(buf: Buffer, le: boolean, path: string): void {
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const visited = new Set<number>();
  let values = 0;
  const corrupt = (why: string) => new BadInputError(`corrupt TIFF: ${why}`, path);
  const visit = (offset: number, where: string, depth: number, chained: boolean): number => {
    if (offset < 8 || offset + 2 > buf.length) throw corrupt(`${where} at offset ${offset} lies outside the file (${buf.length} bytes)`);
    if (visited.has(offset)) throw corrupt(`${where} at offset ${offset} was already read (the IFD chain loops)`);
    visited.add(offset);
    if (visited.size > MAX_IFDS) throw corrupt(`more than ${MAX_IFDS} IFDs`);
    const entries = u16(offset);
    const end = offset + 2 + 12 * entries + (chained ? 4 : 0);
    if (end > buf.length) throw corrupt(`${where} at offset ${offset} has ${entries} entries that pass the end of the file`);
    for (let i = 0; i < entries; i++) {
      const e = offset + 2 + 12 * i;
      const t = u16(e);
      const type = u16(e + 2);
      const count = u32(e + 4);
      const size = TYPE_BYTES[type];
      if (size === undefined) throw corrupt(`${where}: tag ${t} has field type ${type}, not a classic TIFF type (1–13)`);
      if (t === 50740 || t === 61440) throw new BadInputError(`TIFF with camera-raw private data (tag ${t}) is not a volume stack`, path);
      const bytes = count * size;
      const at = bytes > 4 ? u32(e + 8) : e + 8;
      if (at + bytes > buf.length) throw corrupt(`${where}: tag ${t} has ${count} values of ${size} bytes at offset ${at}, past the end of the file (${buf.length} bytes)`);
      values += count;
      if (values > MAX_TAG_VALUES) throw corrupt(`the IFDs hold more than ${MAX_TAG_VALUES} tag values`);
      if (SUB_IFD_TAGS.includes(t) && count > 0) {
        if (size !== 4) throw corrupt(`${where}: SubIFD tag ${t} of field type ${type}`);
        if (depth >= MAX_SUB_IFD_DEPTH) throw corrupt(`SubIFDs nested deeper than ${MAX_SUB_IFD_DEPTH}`);
        for (let j = 0; j < count; j++) visit(u32(at + 4 * j), `${where} SubIFD (tag ${t})`, depth + 1, false);
      }
    }
    return chained ? u32(offset + 2 + 12 * entries) : 0;
  };
  let next = u32(4);
  for (let page = 0; next !== 0; page++) next = visit(next, `IFD ${page}`, 0, true);
}

function tag(ifd: IFD, t: number): unknown[] | undefined {
  const v = ifd[`t${t}`];
  return Array.isArray(v) ? v : v instanceof Uint8Array ? Array.from(v) : undefined;
}
function num(ifd: IFD, t: number, fallback?: number): number | undefined {
  const v = tag(ifd, t)?.[0];
  return typeof v === 'number' ? v : fallback;
}
function rational(ifd: IFD, t: number): number | undefined {
  const v = tag(ifd, t)?.[0];
  if (Array.isArray(v) && v.length === 2 && Number(v[1]) !== 0) return Number(v[0]) / Number(v[1]);
  return typeof v === 'number' ? v : undefined;
}

export function decodeTiffStack(buf: Buffer, path: string): SampleVolume {
  if (buf.length < 8) throw new BadInputError('not a TIFF file (too short)', path);
  const bom = buf.toString('latin1', 0, 2);
  if (bom !== 'II' && bom !== 'MM') throw new BadInputError('not a TIFF file (missing II/MM byte-order mark)', path);
  const le = bom === 'II';
  const magic = le ? buf.readUInt16LE(2) : buf.readUInt16BE(2);
  if (magic !== 42) throw new BadInputError(magic === 43 ? 'BigTIFF is not supported; save as classic TIFF' : 'not a classic TIFF (magic ≠ 42)', path);
  walkIfds(buf, le, path);
  // One ArrayBuffer for utif2 (handed a Node Buffer it copies the whole file per page), which
  // reads it from offset 0: the file's own when it is whole (readFileSync of a large file), else a copy.
  const whole = buf.byteOffset === 0 && buf.length === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer;
  const ab = (whole ? buf.buffer : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)) as ArrayBuffer;
  const data = new Uint8Array(ab);
  let ifds: IFD[];
  try {
    // No MakerNote parsing: camera vendors' IFDs are not walked above.
    ifds = (UTIF.decode as (b: ArrayBuffer, prm: { parseMN: boolean; debug: boolean }) => IFD[])(ab, { parseMN: false, debug: false });
  } catch (e) {
    throw new BadInputError(`corrupt TIFF (${(e as Error).message})`, path, { cause: e });
  }
  const pages = ifds.filter((d) => !((num(d, 254, 0) ?? 0) & 1) && num(d, 256) !== undefined);
  if (pages.length === 0) throw new BadInputError('TIFF has no image pages', path);
  const first = pages[0];
  const width = num(first, 256)!;
  const height = num(first, 257) ?? 0;
  const bps = num(first, 258, 1)!;
  const spp = num(first, 277, 1)!;
  const format = num(first, 339, 1)!;
  const compression = num(first, 259, 1)!;
  const predictor = num(first, 317, 1)!;
  if (spp !== 1) throw new BadInputError(`${spp} samples per pixel (colour): only single-channel grey or label stacks are volumes; save one channel`, path);
  const sequence = hyperstack(String(tag(first, 270)?.[0] ?? ''), pages.length, path);
  if (format === 3 && bps !== 32 && bps !== 64) {
    throw new BadInputError(`${bps}-bit floating-point samples${bps === 16 ? ' (float16, half precision)' : ''} are not supported; allowed floats: 32 or 64-bit — save as float32`, path);
  }
  if (![1, 8, 16, 32, 64].includes(bps) || (bps === 64 && format !== 3) || (bps === 1 && format !== 1)) {
    throw new BadInputError(`${bps}-bit samples (format ${format}) are not supported; allowed: 1-bit, 8/16/32-bit integer, 32/64-bit float`, path);
  }
  // utif2 fills an unknown compression with zeros after a log line: refused here instead.
  if (!(compression in COMPRESSIONS)) {
    throw new BadInputError(`TIFF compression ${compression}${OTHER_COMPRESSIONS[compression] ? ` (${OTHER_COMPRESSIONS[compression]})` : ''} is not supported; allowed: ${Object.values(COMPRESSIONS).join(', ')}`, path);
  }
  if (![1, 2].includes(predictor)) throw new BadInputError(`TIFF predictor ${predictor} (floating point) is not supported; save without predictor or with horizontal differencing`, path);
  for (const [i, p] of pages.entries()) {
    const w = num(p, 256);
    const h = num(p, 257);
    if (w !== width || h !== height) throw new BadInputError(`pages differ in size (${width}×${height} vs ${w}×${h} on page ${i})`, path);
    if (num(p, 258, 1) !== bps || num(p, 339, 1) !== format || num(p, 259, 1) !== compression) throw new BadInputError(`page ${i} has another sample type or compression than page 0`, path);
  }
  // Declared sizes are checked before anything is decoded (issue #14).
  const shape = checkShape([width, height, pages.length], `${path}: TIFF pages`);
  const [nx, ny, nz] = shape;
  // Bytes, not only voxels, are capped before anything is allocated (issue #19 review).
  checkSampleBytes(nx * ny * nz, Math.max(1, bps / 8), `${path}: TIFF pages`);
  // Uncompressed pixels take their size in the file, so more than the file holds can only
  // come from strips that overlap or are reused: refused, not expanded (issue #14).
  if (compression === 1 && bps >= 8 && nx * ny * nz * (bps / 8) > buf.length) {
    throw new BadInputError(`corrupt TIFF: ${nz} pages of ${nx}×${ny} declare ${nx * ny * nz * (bps / 8)} pixel bytes, more than the file's ${buf.length} bytes (strips reused or overlapping)`, path);
  }
  const values = allocate(bps, format, nx * ny * nz);
  const page = allocate(bps, format, nx * ny);
  for (let z = 0; z < nz; z++) {
    const bytes = pageBytes(data, pages[z], z, { compression, bps, nx, ny }, path);
    unpack(bytes, page, nx, ny, bps, le);
    if (predictor === 2) undoHorizontalPredictor(page, nx, ny);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) values[(x * ny + y) * nz + z] = page[y * nx + x];
  }
  const size = voxelSizeOf(first, pages.length);
  return { values, shape, ...size, warnings: sequence ? [sequence, ...size.warnings] : size.warnings };
}

/**
 * One page's bytes (rows padded to whole bytes, file byte order), strip by strip or tile by
 * tile. utif2's own page decoder reads strips past the end of the file as zeros, drops a
 * Deflate strip that inflates to more than the page and leaves a short strip's rows zero — a
 * truncated file became pore without a word (issue #19 review). Here every page must list
 * the strips (or tiles) its size needs, each within the file, and each must decode to its
 * full length; utif2's LZW and PackBits decoders report how much they wrote, Deflate goes
 * through node:zlib with the output bounded.
 */
function pageBytes(data: Uint8Array, ifd: IFD, z: number, f: { compression: number; bps: number; nx: number; ny: number }, path: string): Uint8Array {
  const { compression, bps, nx, ny } = f;
  const rowBytes = Math.ceil((nx * bps) / 8);
  const tiled = tag(ifd, 322) !== undefined;
  const names = tiled ? 'TileOffsets/TileByteCounts' : 'StripOffsets/StripByteCounts';
  const offsets = tag(ifd, tiled ? 324 : 273) as number[] | undefined;
  const counts = tag(ifd, tiled ? 325 : 279) as number[] | undefined;
  if (!offsets || !counts) throw new BadInputError(`corrupt TIFF: page ${z} has no ${names}`, path);
  const tw = tiled ? num(ifd, 322) ?? 0 : nx;
  const th = tiled ? num(ifd, 323) ?? 0 : Math.min(num(ifd, 278, ny) ?? ny, ny);
  if (!(tw > 0 && th > 0)) throw new BadInputError(`corrupt TIFF: page ${z} has ${tiled ? `tiles of ${tw}×${th}` : `RowsPerStrip ${th}`}`, path);
  const across = Math.ceil(nx / tw);
  const blocks = across * Math.ceil(ny / th);
  if (offsets.length !== blocks || counts.length !== blocks) {
    throw new BadInputError(`corrupt TIFF: page ${z} lists ${offsets.length} offsets and ${counts.length} byte counts; ${nx}×${ny} in ${tiled ? `${tw}×${th} tiles` : `strips of ${th} rows`} needs ${blocks}`, path);
  }
  const blockRow = Math.ceil((tw * bps) / 8);
  const out = new Uint8Array(rowBytes * ny);
  for (let i = 0; i < blocks; i++) {
    const off = Number(offsets[i]);
    const len = Number(counts[i]);
    const where = `page ${z} ${tiled ? 'tile' : 'strip'} ${i}`;
    if (off + len > data.length) throw new BadInputError(`corrupt TIFF: ${where} (${len} bytes at offset ${off}) passes the end of the file (${data.length} bytes)`, path);
    const x0 = (i % across) * tw;
    const y0 = Math.floor(i / across) * th;
    // A strip holds the rows left on the page; a tile is always whole (TIFF 6.0 §15).
    const rows = tiled ? th : Math.min(th, ny - y0);
    const block = decodeBlock(data, off, len, compression, blockRow * rows, blockRow * th, where, path);
    if (!tiled) out.set(block.subarray(0, blockRow * rows), y0 * rowBytes);
    else {
      const x0b = (x0 * bps) / 8;
      const take = Math.min(blockRow, rowBytes - x0b);
      for (let r = 0; r < rows && y0 + r < ny; r++) out.set(block.subarray(r * blockRow, r * blockRow + take), (y0 + r) * rowBytes + x0b);
    }
  }
  return out;
}

/** One strip or tile: at least `want` bytes, at most `max` kept. */
function decodeBlock(data: Uint8Array, off: number, len: number, compression: number, want: number, max: number, where: string, path: string): Uint8Array {
  const short = (got: number) => new BadInputError(`corrupt TIFF: ${where} decodes to ${got} of ${want} bytes (truncated or damaged data)`, path);
  if (compression === 1) {
    if (len < want) throw short(len);
    return data.subarray(off, off + want);
  }
  if (compression === 8 || compression === 32946) {
    let block: Buffer;
    try {
      block = inflateSync(data.subarray(off, off + len), { maxOutputLength: Math.max(1, max) });
    } catch (e) {
      throw new BadInputError(`corrupt TIFF: ${where} does not inflate (${(e as Error).message})`, path, { cause: e });
    }
    if (block.length < want) throw short(block.length);
    return block;
  }
  const tgt = new Uint8Array(max);
  const decoders = UTIF.decode as unknown as Record<string, (d: Uint8Array, o: number, l: number, t: Uint8Array, to: number, b?: number) => number>;
  const wrote = compression === 5 ? decoders._decodeLZW(data, off, len, tgt, 0, 8) : decoders._decodePackBits(data, off, len, tgt, 0);
  if (!(wrote >= want)) throw short(Math.min(wrote, want));
  return tgt;
}

function allocate(bps: number, format: number, n: number): Samples {
  if (format === 3) return bps === 64 ? new Float64Array(n) : new Float32Array(n);
  if (format === 2) return bps === 8 ? new Int8Array(n) : bps === 16 ? new Int16Array(n) : new Int32Array(n);
  return bps <= 8 ? new Uint8Array(n) : bps === 16 ? new Uint16Array(n) : new Uint32Array(n);
}

/** Page bytes (rows padded to whole bytes, the file's byte order) into samples. */
function unpack(bytes: Uint8Array, out: Samples, nx: number, ny: number, bps: number, le: boolean): void {
  if (bps === 1) {
    const row = Math.ceil(nx / 8);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) out[y * nx + x] = (bytes[y * row + (x >> 3)] >> (7 - (x & 7))) & 1;
    return;
  }
  if (bps === 8) {
    out.set(bytes.subarray(0, nx * ny) as unknown as ArrayLike<number>);
    return;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = nx * ny;
  const little = le;
  if (out instanceof Uint16Array) for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, little);
  else if (out instanceof Int16Array) for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, little);
  else if (out instanceof Uint32Array) for (let i = 0; i < n; i++) out[i] = dv.getUint32(4 * i, little);
  else if (out instanceof Int32Array) for (let i = 0; i < n; i++) out[i] = dv.getInt32(4 * i, little);
  else if (out instanceof Float32Array) for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, little);
  else if (out instanceof Float64Array) for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, little);
}

/** TIFF predictor 2 (TIFF 6.0 §14): each sample stored as the difference to its left neighbour. */
function undoHorizontalPredictor(page: Samples, nx: number, ny: number): void {
  // Typed-array stores wrap integers modulo 2^bits, as the predictor's arithmetic does.
  for (let y = 0; y < ny; y++) for (let x = 1; x < nx; x++) page[y * nx + x] += page[y * nx + x - 1];
}

/**
 * An ImageJ hyperstack stores channels and time points as pages too (`images=6 channels=2
 * slices=3 hyperstack=true`, pages ordered channel fastest): read page by page they became
 * z-slices, the channels interleaved (import review #2). Where two or more of channels,
 * slices and frames exceed 1 the file is refused, saying how to take one channel (or time
 * point) out. Where only one does, the pages are one sequence and are read as z-slices, with
 * a warning when ImageJ calls them channels or frames: tifffile's `imwrite(..., imagej=True)`
 * of a 3D array without `axes` writes a z-stack as `channels=N` (the fixtures in
 * tests/fixtures/real are such files).
 */
function hyperstack(description: string, pages: number, path: string): string | undefined {
  if (!/^ImageJ=/.test(description)) return undefined;
  const dim = (key: string) => Number(new RegExp(`(?:^|\\n)${key}=(\\d+)`).exec(description)?.[1] ?? 1);
  const dims = { channels: dim('channels'), slices: dim('slices'), frames: dim('frames') };
  const many = (Object.keys(dims) as Array<keyof typeof dims>).filter((k) => dims[k] > 1);
  if (many.length === 1 && many[0] !== 'slices') return `the ImageJ description calls the ${pages} pages ${many[0]} (${many[0]}=${dims[many[0]]}), not slices: read as z-slices`;
  if (many.length < 2) return undefined;
  const { channels, slices, frames } = dims;
  const parts = [channels > 1 && `${channels} channels`, `${slices} slice${slices === 1 ? '' : 's'}`, frames > 1 && `${frames} time points (frames)`].filter(Boolean).join(' × ');
  const how = [channels > 1 && 'Image › Color › Split Channels (or Image › Duplicate… with one channel)', frames > 1 && 'Image › Duplicate… with one frame'].filter(Boolean).join('; ');
  throw new BadInputError(
    `an ImageJ hyperstack of ${parts} (${pages} pages): poreloop reads a stack of z-slices of one channel at one time point, and would interleave the ${channels > 1 ? 'channels' : 'frames'} as slices. ` +
      `Save one channel${frames > 1 ? ' at one time point' : ''} as its own stack first — in Fiji: ${how}, then File › Save As › Tiff…`,
    path,
  );
}

function voxelSizeOf(ifd: IFD, pages: number): Pick<SampleVolume, 'voxelSize' | 'phases' | 'warnings'> {
  const warnings: string[] = [];
  const description = String(tag(ifd, 270)?.[0] ?? '');
  const meta = parsePoreloopMeta(description);
  if (meta?.voxelSize && meta.voxelSize > 0) return { voxelSize: meta.voxelSize, phases: meta.phases, warnings };
  const xres = rational(ifd, 282);
  const yres = rational(ifd, 283);
  const resUnit = num(ifd, 296, 2)!;
  const anisotropic = (a: number, b: number, what: string) => {
    if (Math.abs(a - b) > 0.01 * Math.max(a, b)) warnings.push(`${what}: voxels are not cubic (${fmt(a)} vs ${fmt(b)} µm); poreloop uses cubic voxels of ${fmt(a)} µm`);
  };
  const ijUnit = /(?:^|\n)unit=([^\n]*)/.exec(description)?.[1]?.trim().replace(/\\u00B5/i, 'µ');
  const spacing = Number(/(?:^|\n)spacing=([0-9.eE+-]+)/.exec(description)?.[1]);
  if (/^ImageJ=/.test(description) && ijUnit !== undefined && IMAGEJ_UNITS[ijUnit] !== undefined) {
    const f = IMAGEJ_UNITS[ijUnit];
    const vx = xres && xres > 0 ? f / xres : Number.isFinite(spacing) && spacing > 0 ? spacing * f : undefined;
    if (vx !== undefined) {
      if (yres && yres > 0) anisotropic(vx, f / yres, 'ImageJ x vs y pixel size');
      if (pages > 1 && Number.isFinite(spacing) && spacing > 0) anisotropic(vx, spacing * f, 'ImageJ x pixel size vs z spacing');
      return { voxelSize: vx, phases: meta?.phases, warnings };
    }
  }
  if (xres && xres > 0 && (resUnit === 2 || resUnit === 3)) {
    if (resUnit === 2 && WRITER_DEFAULT_DPI.includes(Math.round(xres * 1000) / 1000)) {
      warnings.push(`the TIFF's resolution is ${xres} pixels per inch, an image writer's default rather than a measured voxel size: voxel size unknown; pass --voxel <µm>`);
      return { phases: meta?.phases, warnings };
    }
    const perUnit = resUnit === 2 ? 25_400 : 10_000;
    if (yres && yres > 0) anisotropic(perUnit / xres, perUnit / yres, 'X vs Y resolution');
    return { voxelSize: perUnit / xres, phases: meta?.phases, warnings };
  }
  warnings.push(
    xres && xres > 0
      ? `the TIFF states a resolution (${xres}) without a unit and no ImageJ unit: voxel size unknown; pass --voxel <µm>`
      : 'the TIFF states no resolution: voxel size unknown; pass --voxel <µm>',
  );
  return { phases: meta?.phases, warnings };
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

export function parsePoreloopMeta(text: string): { voxelSize?: number; phases?: Record<number, string> } | undefined {
  const m = /poreloop=(\{.*\})/.exec(text);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]) as { voxelSize?: number; phases?: Record<number, string> };
  } catch {
    return undefined;
  }
}

