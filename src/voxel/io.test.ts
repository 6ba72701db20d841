import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { PHASE_COLOURS, readSamples, readVolume, writeSlicePng, writeVolume } from './io.js';
import { createVoxels } from './voxels.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An asymmetric shape with random labels 0–3, so any transposition error shows. */
function sample(shape: [number, number, number] = [5, 7, 3]) {
  const rng = createRng(7);
  const data = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, () => rng.int(4));
  return createVoxels(shape, 2.5, { 0: 'pore', 1: 'fibre', 2: 'binder', 3: 'ptfe' }, data);
}

describe('readVolume / writeVolume', () => {
  for (const ext of ['npy', 'tif', 'vti', 'raw']) {
    it(`round-trips .${ext} exactly (labels, shape, voxel size, phases)`, () => {
      const v = sample();
      const f = join(dir, `rt.${ext}`);
      writeVolume(f, v);
      const back = readVolume(f);
      expect(back.shape).toEqual(v.shape);
      expect(Buffer.from(back.data).equals(Buffer.from(v.data))).toBe(true);
      // .npy keeps them in its sidecar (issue #19: read back, analyse assumed 1 µm).
      expect(back.voxelSize).toBe(2.5);
      expect(back.phases).toEqual(v.phases);
    });
  }

  it('options override the voxel size and phases stored in the file', () => {
    const f = join(dir, 'ov.raw');
    writeVolume(f, sample());
    const back = readVolume(f, { voxelSize: 4, phases: { 0: 'pore', 1: 'solid' } });
    expect(back.voxelSize).toBe(4);
    expect(back.phases).toEqual({ 0: 'pore', 1: 'solid' });
  });

  it('writes the TIFF as one x–y page per z-slice, readable by ImageJ-style parsers', () => {
    const v = sample([4, 3, 2]);
    const f = join(dir, 'pages.tif');
    writeVolume(f, v);
    const b = readFileSync(f);
    expect(b.toString('latin1', 0, 2)).toBe('II');
    expect(b.readUInt16LE(2)).toBe(42);
    // Page 0 pixels start at byte 8: row y, column x → voxel (x, y, z=0).
    for (let y = 0; y < 3; y++) for (let x = 0; x < 4; x++) expect(b[8 + y * 4 + x]).toBe(v.data[(x * 3 + y) * 2 + 0]);
    // Page 1 follows contiguously.
    expect(b[8 + 12 + 5]).toBe(v.data[(1 * 3 + 1) * 2 + 1]);
    expect(b.toString('latin1')).toContain('images=2\nslices=2\nunit=micron\nspacing=2.5');
  });

  it('reads a raw sidecar in x-fastest (F) order', () => {
    const v = sample([3, 2, 2]);
    const f = join(dir, 'ford.raw');
    const [nx, ny, nz] = v.shape;
    const fdata = new Uint8Array(v.data.length);
    let i = 0;
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) fdata[i++] = v.data[(x * ny + y) * nz + z];
    writeFileSync(f, fdata);
    writeFileSync(`${f}.json`, JSON.stringify({ shape: v.shape, voxelSize: 1, phases: v.phases, order: 'F' }));
    expect(Buffer.from(readVolume(f).data).equals(Buffer.from(v.data))).toBe(true);
  });

  it('reads base64-appended and inline ascii .vti written by other tools', () => {
    // 2×1×1 cells with labels [1, 0] in x-fastest order; header and data as separate base64 (VTK/meshio).
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32LE(2);
    const b64 = hdr.toString('base64') + Buffer.from([1, 0]).toString('base64');
    const base = (array: string, appended = '') =>
      `<?xml version="1.0"?><VTKFile type="ImageData" version="0.1" byte_order="LittleEndian"><ImageData WholeExtent="0 2 0 1 0 1" Origin="0 0 0" Spacing="3 3 3"><Piece Extent="0 2 0 1 0 1"><CellData>${array}</CellData></Piece></ImageData>${appended}</VTKFile>`;
    const f1 = join(dir, 'b64.vti');
    writeFileSync(f1, base('<DataArray type="UInt8" Name="p" format="appended" offset="0"/>', `<AppendedData encoding="base64">_${b64}</AppendedData>`));
    const v1 = readVolume(f1);
    expect(v1.shape).toEqual([2, 1, 1]);
    expect(Array.from(v1.data)).toEqual([1, 0]);
    expect(v1.voxelSize).toBe(3);
    const f2 = join(dir, 'ascii.vti');
    writeFileSync(f2, base('<DataArray type="UInt8" Name="p" format="ascii">1 0</DataArray>'));
    expect(Array.from(readVolume(f2).data)).toEqual([1, 0]);
  });

  it('refuses an ImageJ hyperstack (channels or frames as pages), saying how to take one channel out (import review #2)', () => {
    // poreloop's own 6-page ImageJ stack, its description edited in place (same lengths).
    const f = join(dir, 'hyper.tif');
    const edit = (pairs: Array<[string, string]>) => {
      writeVolume(f, sample([4, 3, 6]));
      let text = readFileSync(f).toString('latin1');
      for (const [from, to] of pairs) {
        expect(to.length).toBe(from.length);
        expect(text).toContain(from);
        text = text.replace(from, to);
      }
      writeFileSync(f, Buffer.from(text, 'latin1'));
    };
    // Fiji's `images=6 channels=2 slices=3 hyperstack=true`: the channels were read as slices.
    edit([['slices=6', 'slices=3'], ['loop=false\n', 'channels=2\n']]);
    expect(() => readVolume(f)).toThrow(/hyper\.tif: an ImageJ hyperstack of 2 channels × 3 slices \(6 pages\): poreloop reads a stack of z-slices of one channel at one time point[\s\S]*Fiji: Image › Color › Split Channels/);
    edit([['images=6', 'frames=2'], ['slices=6', 'slices=3']]);
    expect(() => readVolume(f)).toThrow(/an ImageJ hyperstack of 3 slices × 2 time points \(frames\) \(6 pages\)[\s\S]*Image › Duplicate… with one frame/);
    // One channel, one frame: a plain stack.
    edit([['loop=false\n', 'channels=1\n']]);
    expect(readVolume(f).shape).toEqual([4, 3, 6]);
    // Pages that are all channels (tifffile's imagej=True z-stack) are one sequence: read as z, with a warning.
    edit([['slices=6', 'slices=1'], ['loop=false\n', 'channels=6\n']]);
    const warnings: string[] = [];
    expect(readVolume(f, { onWarning: (w) => warnings.push(w) }).shape).toEqual([4, 3, 6]);
    expect(warnings).toEqual([expect.stringMatching(/hyper\.tif: the ImageJ description calls the 6 pages channels \(channels=6\), not slices: read as z-slices/)]);
  });

  it('reads the DataArray a .vti names as its Scalars, and refuses to guess among several (import review #3)', () => {
    // 2×1×1 cells; a grey array first, the labels second (ParaView writes every array it holds).
    const vti = (cellAttrs: string, arrays: string, point = '') =>
      `<?xml version="1.0"?><VTKFile type="ImageData" version="0.1" byte_order="LittleEndian"><ImageData WholeExtent="0 2 0 1 0 1" Origin="0 0 0" Spacing="1 1 1"><Piece Extent="0 2 0 1 0 1"><PointData>${point}</PointData><CellData${cellAttrs}>${arrays}</CellData></Piece></ImageData></VTKFile>`;
    const two = '<DataArray type="UInt16" Name="grey" format="ascii">107 7</DataArray><DataArray type="UInt8" Name="labels" format="ascii">1 0</DataArray>';
    const f = join(dir, 'two.vti');
    writeFileSync(f, vti(' Scalars="labels"', two));
    expect(Array.from(readVolume(f).data)).toEqual([1, 0]);
    writeFileSync(f, vti(' Scalars="grey"', two));
    expect(Array.from(readSamples(f).values)).toEqual([107, 7]);
    writeFileSync(f, vti('', two));
    expect(() => readVolume(f)).toThrow(/two\.vti: 2 data arrays \(CellData "grey" UInt16, CellData "labels" UInt8\) and no Scalars attribute naming the one to read/);
    writeFileSync(f, vti(' Scalars="phase"', two));
    expect(() => readVolume(f)).toThrow(/CellData Scalars="phase" names no DataArray; arrays found: CellData "grey" UInt16, CellData "labels" UInt8/);
    // One array, with or without Scalars, is read as before.
    writeFileSync(f, vti('', '<DataArray type="UInt8" Name="labels" format="ascii">1 0</DataArray>'));
    expect(Array.from(readVolume(f).data)).toEqual([1, 0]);
  });

  it('refuses to write into a folder that does not exist, naming it (import review #5)', () => {
    expect(() => writeVolume(join(dir, 'nodir', 'x.npy'), sample())).toThrow(new RegExp(`nodir/x\\.npy: the output folder ${join(dir, 'nodir').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`));
    expect(() => writeVolume(join(dir, 'nodir', 'x.npy'), sample())).toThrow(BadInputError);
  });

  it('rejects unknown extensions, wrong sizes and corrupt files with the allowed formats', () => {
    const v = sample();
    expect(() => writeVolume(join(dir, 'x.hdf5'), v)).toThrow(/allowed formats: \.npy/);
    writeFileSync(join(dir, 'x.png'), 'nope');
    expect(() => readVolume(join(dir, 'x.png'))).toThrow(BadInputError);
    expect(() => readVolume(join(dir, 'missing.npy'))).toThrow(/not found/);
    const raw = join(dir, 'short.raw');
    writeFileSync(raw, new Uint8Array(10));
    writeFileSync(`${raw}.json`, JSON.stringify({ shape: [5, 7, 3], voxelSize: 1, order: 'C' }));
    expect(() => readVolume(raw)).toThrow(/10 bytes but shape 5×7×3 needs 105/);
    writeFileSync(join(dir, 'bad.tif'), 'not a tiff at all');
    expect(() => readVolume(join(dir, 'bad.tif'))).toThrow(/not a TIFF/);
    const tif = join(dir, 'trunc.tif');
    writeVolume(tif, v);
    writeFileSync(tif, readFileSync(tif).subarray(0, 60));
    expect(() => readVolume(tif)).toThrow(BadInputError);
    writeFileSync(join(dir, 'bad.vti'), '<VTKFile type="PolyData"></VTKFile>');
    expect(() => readVolume(join(dir, 'bad.vti'))).toThrow(/not a VTK XML ImageData/);
  });
});

describe('writeSlicePng', () => {
  it('colours each phase and orients slices as documented', () => {
    const v = sample([4, 3, 2]);
    const f = join(dir, 's.png');
    writeSlicePng(f, v, { axis: 'z', index: 1 });
    const png = PNG.sync.read(readFileSync(f));
    expect([png.width, png.height]).toEqual([4, 3]);
    const at = (x: number, y: number) => Array.from(png.data.subarray((y * 4 + x) * 4, (y * 4 + x) * 4 + 3));
    expect(at(2, 1)).toEqual(Array.from(PHASE_COLOURS[v.data[(2 * 3 + 1) * 2 + 1]]));
    writeSlicePng(f, v, { axis: 'x', index: 0 });
    const side = PNG.sync.read(readFileSync(f));
    expect([side.width, side.height]).toEqual([3, 2]);
    expect(() => writeSlicePng(f, v, { axis: 'z', index: 2 })).toThrow(/out of range 0…1/);
  });
});
