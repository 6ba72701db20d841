import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tmp } from '../../tests/helpers.js';
import { readSamples } from './io.js';

/**
 * Issue #19 review: VTI written elsewhere. A zlib block that inflates short must be refused
 * (it was padded with zeros, read as pore), and Spacing without poreloop's comment is taken as
 * µm only with a warning. Files are built here: 4×2×2 cells of UInt8.
 */
function vti(dataArray: string, spacing = '0.5 0.5 0.5', compressed = false): string {
  const f = join(tmp('poreloop-vti-'), 'v.vti');
  writeFileSync(
    f,
    `<?xml version="1.0"?>\n<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt32"${compressed ? ' compressor="vtkZLibDataCompressor"' : ''}>\n` +
      `<ImageData WholeExtent="0 4 0 2 0 2" Origin="0 0 0" Spacing="${spacing}"><Piece Extent="0 4 0 2 0 2"><CellData Scalars="s">\n${dataArray}\n</CellData></Piece></ImageData></VTKFile>\n`,
  );
  return f;
}
const labels = Array.from({ length: 16 }, (_, i) => (i * 7) % 3);

describe('VTI from other writers (issue #19 review)', () => {
  it('refuses a zlib block that inflates to fewer bytes than its header says', () => {
    const block = (data: Uint8Array) => {
      const z = deflateSync(data);
      const head = Buffer.alloc(16);
      [1, 16, 16, z.length].forEach((v, i) => head.writeUInt32LE(v, 4 * i));
      return vti(`<DataArray type="UInt8" Name="s" format="binary">${head.toString('base64')}${z.toString('base64')}</DataArray>`, '0.5 0.5 0.5', true);
    };
    // The whole block reads; half of it (8 of 16 bytes) is refused, not padded with pore.
    expect(Array.from(readSamples(block(Uint8Array.from(labels)), { voxelSize: 1 }).values).sort()).toEqual([...labels].sort());
    expect(() => readSamples(block(Uint8Array.from(labels.slice(0, 8))))).toThrow(/compressed block 0 of 1 inflates to 8 bytes, the header says 16/);
  });

  it('warns that VTK Spacing has no unit when the file has no poreloop comment, and not when --voxel is given', () => {
    const f = vti(`<DataArray type="UInt8" Name="s" format="ascii">${labels.join(' ')}</DataArray>`);
    const warnings: string[] = [];
    const v = readSamples(f, { onWarning: (w) => warnings.push(w) });
    expect(v.voxelSize).toBe(0.5);
    expect(warnings.join('\n')).toMatch(/VTK Spacing has no unit; taken as µm \(0\.5 µm\); pass --voxel/);
    // x fastest in the file, C order (x slowest) in memory: value at (x=1, y=0, z=0) is the file's second.
    expect(v.values[(1 * 2 + 0) * 2 + 0]).toBe(labels[1]);
    const quiet: string[] = [];
    readSamples(f, { voxelSize: 0.5, onWarning: (w) => quiet.push(w) });
    expect(quiet).toEqual([]);
  });
});

describe('size limits in bytes, not only voxels (issue #19 review)', () => {
  it('refuses 1024³ float64 (8 GiB, within the voxel limit) from a VTI and a .npy header before allocating', () => {
    const dir = tmp('poreloop-cap-');
    const v = join(dir, 'big.vti');
    writeFileSync(v, '<VTKFile type="ImageData" version="1.0"><ImageData WholeExtent="0 1024 0 1024 0 1024" Spacing="1 1 1"><Piece><CellData><DataArray type="Float64" format="ascii"></DataArray></CellData></Piece></ImageData></VTKFile>');
    expect(() => readSamples(v)).toThrow(/1073741824 samples of 8 bytes = 8\.00 GiB exceed the limit of 2 GiB/);
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1024, 1024, 1024), }";
    const padded = header + ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head.writeUInt8(1, 6);
    head.writeUInt16LE(padded.length, 8);
    const n = join(dir, 'big.npy');
    writeFileSync(n, Buffer.concat([head, Buffer.from(padded, 'latin1')]));
    expect(() => readSamples(n)).toThrow(/8\.00 GiB exceed the limit of 2 GiB/);
  });
});
