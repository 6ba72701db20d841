import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { Voxels } from '../core/protocols.js';
import { PHASE_COLOURS } from './io.js';
import { encodeSlicePreview, scaleBarLength } from './preview.js';

describe('slice previews (issue #18: upscaled, with scale bar and legend)', () => {
  it('picks a round scale-bar length near a quarter of the width', () => {
    expect(scaleBarLength(128)).toBe(20);
    expect(scaleBarLength(1000)).toBe(200);
    expect(scaleBarLength(7)).toBe(1);
  });

  it('upscales each voxel to a sharp square block, and draws a black scale bar under the slice', () => {
    // 8 × 8 × 2 voxels of 2 µm: the z slice is a checkerboard of pore (0) and solid (1).
    const data = new Uint8Array(8 * 8 * 2);
    for (let x = 0; x < 8; x++) for (let y = 0; y < 8; y++) for (let z = 0; z < 2; z++) data[(x * 8 + y) * 2 + z] = (x + y) % 2;
    const v: Voxels = { data, shape: [8, 8, 2], voxelSize: 2, phases: { 0: 'pore', 1: 'solid' } };
    const { png, width, height, scale } = encodeSlicePreview(v, { axis: 'z', index: 0 });
    expect(scale).toBe(64);
    expect(width).toBe(512);
    const img = PNG.sync.read(png);
    expect([img.width, img.height]).toEqual([width, height]);
    const px = (c: number, r: number) => Array.from(img.data.subarray((r * img.width + c) * 4, (r * img.width + c) * 4 + 3));
    // Voxel (0, 0) is pore, (1, 0) solid: every pixel of each 64 × 64 block has its colour.
    for (const [c, r] of [[0, 0], [63, 63], [32, 10]]) expect(px(c, r)).toEqual([...PHASE_COLOURS[0]]);
    for (const [c, r] of [[64, 0], [127, 63]]) expect(px(c, r)).toEqual([...PHASE_COLOURS[1]]);
    // The scale bar: 2 µm (the round length under a quarter of 16 µm) = 1 voxel = 64 px, black, 12 px under the slice.
    expect(px(12, 8 * 64 + 14)).toEqual([0, 0, 0]);
    expect(px(12 + 63, 8 * 64 + 14)).toEqual([0, 0, 0]);
    expect(px(12 + 66, 8 * 64 + 14)).toEqual([255, 255, 255]);
  });
});
