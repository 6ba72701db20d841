import { describe, expect, it } from 'vitest';
import { createGapField, GAP_NONE, GAP_SCALE, rasteriseCylinder, rasteriseSphere } from './raster.js';

describe('rasterisers', () => {
  it('a sphere of radius 10 has 4/3 π r³ voxels (±1 %) and is not written twice', () => {
    const data = new Uint8Array(32 ** 3);
    const s = { cx: 16.2, cy: 15.7, cz: 16.4, r: 10 };
    const n = rasteriseSphere(data, [32, 32, 32], s, 1);
    expect(Math.abs(n / ((4 / 3) * Math.PI * 1000) - 1)).toBeLessThan(0.01);
    expect(rasteriseSphere(data, [32, 32, 32], s, 2)).toBe(0);
  });

  it('an oblique, slightly tilted cylinder has π r² × length voxels (±1.5 %)', () => {
    const shape: [number, number, number] = [80, 80, 40];
    const data = new Uint8Array(80 * 80 * 40);
    const phi = 0.6;
    const th = 0.05;
    const c = { px: 40, py: 40, pz: 20, ux: Math.cos(th) * Math.cos(phi), uy: Math.cos(th) * Math.sin(phi), uz: Math.sin(th), r: 4 };
    const n = rasteriseCylinder(data, shape, c, 1);
    // Count the expected volume by exact point tests on voxel centres (brute force).
    let brute = 0;
    for (let x = 0; x < 80; x++)
      for (let y = 0; y < 80; y++)
        for (let z = 0; z < 40; z++) {
          const w = [x + 0.5 - c.px, y + 0.5 - c.py, z + 0.5 - c.pz];
          const s = w[0] * c.ux + w[1] * c.uy + w[2] * c.uz;
          if (w[0] ** 2 + w[1] ** 2 + w[2] ** 2 - s * s <= 16) brute++;
        }
    expect(n).toBe(brute);
  });

  it('records the two nearest gaps from distinct objects', () => {
    const shape: [number, number, number] = [21, 1, 1];
    const data = new Uint8Array(21);
    const g = createGapField(21, 10);
    rasteriseSphere(data, shape, { cx: 3.5, cy: 0.5, cz: 0.5, r: 2 }, 1, g);
    rasteriseSphere(data, shape, { cx: 13.5, cy: 0.5, cz: 0.5, r: 2 }, 1, g);
    // Voxel 8 (centre 8.5): 3 voxels from both surfaces.
    expect(g.d1[8]).toBe(3 * GAP_SCALE);
    expect(g.d2[8]).toBe(3 * GAP_SCALE);
    // Voxel 6: 1 from the first, 5 from the second.
    expect([g.d1[6], g.d2[6]]).toEqual([1 * GAP_SCALE, 5 * GAP_SCALE]);
    // Voxel 20 (centre 20.5): 5 from the second sphere, the first is 15 away (beyond gapMax).
    expect([g.d1[20], g.d2[20]]).toEqual([5 * GAP_SCALE, GAP_NONE]);
  });
});
