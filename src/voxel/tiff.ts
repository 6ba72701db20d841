import UTIF from 'utif2';
import { BadInputError } from '../core/errors.js';
import type { Shape3 } from '../core/protocols.js';
import type { SampleVolume, Samples } from './samples.js';
import { checkShape } from './voxels.js';

/**
 * TIFF stacks in (issue #19), decoded by utif2 (photopea's UTIF.js) rather than by hand:
 * every page that is not a reduced-resolution thumbnail is one z-slice, an x–y image (width
 * nx, height ny). Compression none, PackBits, LZW, Deflate (Adobe and old-style), with or
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
  // One ArrayBuffer view for utif2: handed a Node Buffer it copies the whole file per page.
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
  let ifds: IFD[];
  try {
    ifds = UTIF.decode(ab) as IFD[];
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
  const bytesPerSample = bps / 8;
  // Uncompressed pixels take their size in the file, so more than the file holds can only
  // come from strips that overlap or are reused: refused, not expanded (issue #14).
  if (compression === 1 && bps >= 8 && nx * ny * nz * bytesPerSample > buf.length) {
    throw new BadInputError(`corrupt TIFF: ${nz} pages of ${nx}×${ny} declare ${nx * ny * nz * bytesPerSample} pixel bytes, more than the file's ${buf.length} bytes (strips reused or overlapping)`, path);
  }
  const values = allocate(bps, format, nx * ny * nz);
  const page = allocate(bps, format, nx * ny);
  for (let z = 0; z < nz; z++) {
    const ifd = pages[z];
    // The predictor is undone here, per sample: utif2 undoes it byte-wise, right for 8 and
    // 16 bits only.
    delete ifd.t317;
    // utif2 prints progress of tiled pages with console.log: silenced, so --json stdout stays one document.
    const print = console.log;
    console.log = () => undefined;
    try {
      (UTIF.decodeImage as (b: ArrayBuffer, i: IFD, all: IFD[]) => void)(ab, ifd, ifds);
    } catch (e) {
      throw new BadInputError(`corrupt TIFF: page ${z} does not decode (${(e as Error).message})`, path, { cause: e });
    } finally {
      console.log = print;
    }
    const bytes = ifd.data as Uint8Array | undefined;
    const rowBytes = Math.ceil((nx * bps) / 8);
    if (!bytes || bytes.length < rowBytes * ny) {
      throw new BadInputError(`corrupt TIFF: page ${z} decodes to ${bytes?.length ?? 0} of ${rowBytes * ny} bytes (compression ${compression})`, path);
    }
    unpack(bytes, page, nx, ny, bps, le);
    if (predictor === 2) undoHorizontalPredictor(page, nx, ny);
    delete (ifd as Record<string, unknown>).data; // release the page's bytes
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) values[(x * ny + y) * nz + z] = page[y * nx + x];
  }
  return { values, shape, ...voxelSizeOf(first, pages.length) };
}

function allocate(bps: number, format: number, n: number): Samples {
  if (format === 3) return bps === 64 ? new Float64Array(n) : new Float32Array(n);
  if (format === 2) return bps === 8 ? new Int8Array(n) : bps === 16 ? new Int16Array(n) : new Int32Array(n);
  return bps <= 8 ? new Uint8Array(n) : bps === 16 ? new Uint16Array(n) : new Uint32Array(n);
}

/** Page bytes (rows padded to whole bytes) into samples; utif2 has already made 16-bit little-endian. */
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
  const little = bps === 16 ? true : le;
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

