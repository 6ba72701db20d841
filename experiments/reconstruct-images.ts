/**
 * Side-by-side slice images (real | generated) for the reconstruction and calibration
 * experiments of issue #19: the central slice of each volume normal to `axis`, same voxel scale.
 */
import { PNG } from 'pngjs';
import type { Voxels } from '../src/core/protocols.js';
import { encodeSlicePng } from '../src/voxel/io.js';

export function sideBySide(a: Voxels, b: Voxels, axis: 'x' | 'z'): Buffer {
  const pa = PNG.sync.read(encodeSlicePng(a, { axis }));
  const pb = PNG.sync.read(encodeSlicePng(b, { axis }));
  const gap = 8;
  const out = new PNG({ width: pa.width + gap + pb.width, height: Math.max(pa.height, pb.height), colorType: 2 });
  out.data.fill(255);
  const blit = (p: PNG, dx: number) => {
    for (let y = 0; y < p.height; y++) p.data.copy(out.data, (y * out.width + dx) * 4, y * p.width * 4, (y + 1) * p.width * 4);
  };
  blit(pa, 0);
  blit(pb, pa.width + gap);
  return PNG.sync.write(out, { colorType: 2 });
}
