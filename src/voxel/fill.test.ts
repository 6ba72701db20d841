import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { fillBridges, fillCoating } from './fill.js';
import { createGapField, rasteriseCylinder } from './raster.js';

describe('placement rules', () => {
  it('bridge rule fills the neck between two close parallel fibres first', () => {
    const shape: [number, number, number] = [40, 40, 30];
    const data = new Uint8Array(40 * 40 * 30);
    const g = createGapField(data.length, 6);
    // Two fibres along x at y = 14 and y = 26 (gap 6 voxels between surfaces), same height.
    rasteriseCylinder(data, shape, { px: 0, py: 14, pz: 15, ux: 1, uy: 0, uz: 0, r: 3 }, 1, g);
    rasteriseCylinder(data, shape, { px: 0, py: 26, pz: 15, ux: 1, uy: 0, uz: 0, r: 3 }, 1, g);
    const n = fillBridges(data, g, 2, 400, createRng(1));
    expect(n).toBe(400);
    // Every binder voxel lies between the fibres (17 < y < 23) near their mid-plane.
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== 2) continue;
      const y = Math.floor(i / 30) % 40;
      const z = i % 30;
      expect(y).toBeGreaterThanOrEqual(16);
      expect(y).toBeLessThanOrEqual(23);
      expect(Math.abs(z + 0.5 - 15)).toBeLessThan(4);
    }
  });

  it('coating rule covers the surface shell first, exactly `count` voxels, weighted by height', () => {
    const shape: [number, number, number] = [10, 10, 10];
    const data = new Uint8Array(1000);
    // A solid floor z = 0 and ceiling z = 9.
    for (let x = 0; x < 10; x++) for (let y = 0; y < 10; y++) {
      data[(x * 10 + y) * 10] = 1;
      data[(x * 10 + y) * 10 + 9] = 1;
    }
    expect(fillCoating(data, shape, 3, 150, createRng(1))).toBe(150);
    const perZ = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++) if (data[i] === 3) perZ[i % 10]++;
    expect(perZ[1] + perZ[8]).toBe(150); // first shells only (200 voxels available)
    // Graded: w = 2.5 in the top half: keys k/w are 0.4 and 0.8 for the top's first two
    // shells, 1.0 for the bottom's first, so the top gets two full shells first.
    const d2 = new Uint8Array(1000);
    for (let i = 0; i < 1000; i += 10) {
      d2[i] = 1;
      d2[i + 9] = 1;
    }
    const w = Float64Array.from({ length: 10 }, (_, z) => (z >= 5 ? 2.5 : 1));
    fillCoating(d2, shape, 3, 250, createRng(1), w);
    const pz = new Array(10).fill(0);
    for (let i = 0; i < 1000; i++) if (d2[i] === 3) pz[i % 10]++;
    expect(pz[8]).toBe(100);
    expect(pz[7]).toBe(100);
    expect(pz[1]).toBe(50);
  });
});
