import { describe, expect, it } from 'vitest';
import type { Shape3, Voxels } from '../core/protocols.js';
import { TRANSPORT_DESCRIPTORS, transportDescriptors } from './descriptors.js';

/** Solid (label 1) box with the listed [x, y, z] voxels set to pore (label 0). */
function box(shape: Shape3, pores: Array<[number, number, number]>): Voxels {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]).fill(1);
  for (const [x, y, z] of pores) data[(x * shape[1] + y) * shape[2] + z] = 0;
  return { data, shape, voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
}

describe('transport descriptors', () => {
  it('a straight channel along z: geodesic tortuosity 1, full reach, no path across', () => {
    const d = transportDescriptors(box([3, 3, 6], Array.from({ length: 6 }, (_, z) => [1, 1, z] as [number, number, number])));
    expect(Object.keys(d)).toEqual(TRANSPORT_DESCRIPTORS);
    expect(d.geodesic_z).toBe(1);
    expect(d.reach_z).toBe(1);
    // Every z-slice holds 1 pore voxel of 9; slices normal to x have 6 of 18 or none.
    expect(d.sliceHarmonic_z).toBeCloseTo(1 / 9, 12);
    expect(d.sliceMin_z).toBeCloseTo(1 / 9, 12);
    expect(d.sliceMin_x).toBe(0);
    expect(d.sliceHarmonic_x).toBe(0);
    expect(d.geodesic_x).toBe(0);
    expect(d.reach_x).toBe(0);
  });

  it('a staircase: the shortest path is counted step by step', () => {
    // z 0→2 at x = 0, x 0→3 at z = 2, z 2→4 at x = 3: 2 + 3 + 2 = 7 steps over a straight 4.
    const pores: Array<[number, number, number]> = [];
    for (const y of [0, 1]) {
      for (const z of [0, 1, 2]) pores.push([0, y, z]);
      for (const x of [1, 2, 3]) pores.push([x, y, 2]);
      for (const z of [3, 4]) pores.push([3, y, z]);
    }
    const d = transportDescriptors(box([4, 2, 5], pores));
    expect(d.geodesic_z).toBeCloseTo(4 / 7, 12);
    expect(d.reach_z).toBe(1);
    // Along x the outlet pores (3, y, 2..4) are 3, 4 and 5 steps from the inlet: mean 4 over 3.
    expect(d.geodesic_x).toBeCloseTo(3 / 4, 12);
  });

  it('reach counts the outlet pores that the inlet connects to', () => {
    // Two z-columns reach the outlet; a third pore at the outlet face is a dead end.
    const pores: Array<[number, number, number]> = [];
    for (let z = 0; z < 4; z++) pores.push([0, 0, z], [2, 0, z]);
    pores.push([1, 1, 3]);
    const d = transportDescriptors(box([3, 2, 4], pores));
    expect(d.reach_z).toBeCloseTo(2 / 3, 12);
    expect(d.geodesic_z).toBe(1);
  });

  it('describes the phase asked for, and rejects degenerate shapes', () => {
    // Phase 1 is everything but the pore at the origin: the outlet voxel above it is 3 steps
    // from the inlet (around the pore), the other three 2 steps → mean 9/4 over 2.
    const v = box([2, 2, 3], [[0, 0, 0]]);
    expect(transportDescriptors(v, 1).geodesic_z).toBeCloseTo(8 / 9, 12);
    expect(transportDescriptors(v, 1).sliceMin_z).toBeCloseTo(3 / 4, 12);
    expect(() => transportDescriptors(box([1, 2, 3], []))).toThrow(RangeError);
  });
});
