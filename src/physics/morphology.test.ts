import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { edt } from './edt.js';
import { labelComponents } from './labelling.js';
import {
  chordLengths,
  connectivity,
  correlationLength,
  interfaceFaces,
  localThickness,
  phaseMask,
  specificSurface,
  thicknessStats,
  triplePhaseBoundary,
  twoPointCorrelation,
} from './morphology.js';
import { ballVolume } from './test-volumes.js';

function volume(shape: Shape3, f: (x: number, y: number, z: number) => number): Uint8Array {
  const [nx, ny, nz] = shape;
  const d = new Uint8Array(nx * ny * nz);
  for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) for (let z = 0; z < nz; z++) d[(x * ny + y) * nz + z] = f(x, y, z);
  return d;
}

describe('Euclidean distance transform', () => {
  it('matches brute force on a random volume', () => {
    const shape: Shape3 = [9, 11, 7];
    const rng = createRng(3);
    const mask = volume(shape, () => (rng.next() < 0.85 ? 1 : 0));
    const d = edt(mask, shape);
    const bg: Array<[number, number, number]> = [];
    for (let x = 0; x < 9; x++) for (let y = 0; y < 11; y++) for (let z = 0; z < 7; z++) if (!mask[(x * 11 + y) * 7 + z]) bg.push([x, y, z]);
    for (let x = 0; x < 9; x++)
      for (let y = 0; y < 11; y++)
        for (let z = 0; z < 7; z++) {
          let best = Infinity;
          for (const [a, b, c] of bg) best = Math.min(best, (x - a) ** 2 + (y - b) ** 2 + (z - c) ** 2);
          expect(d[(x * 11 + y) * 7 + z]).toBeCloseTo(Math.sqrt(best), 5);
        }
  });

  it('counts the box faces as background only when asked', () => {
    const shape: Shape3 = [1, 1, 9];
    const mask = new Uint8Array(9).fill(1);
    mask[0] = 0;
    expect(edt(mask, shape)[8]).toBe(8);
    expect(edt(mask, shape, { edgesAreBackground: true })[8]).toBe(1);
  });
});

describe('labelling and connectivity', () => {
  it('uses 6-connectivity: diagonal neighbours are separate components', () => {
    const shape: Shape3 = [2, 2, 1];
    const c = labelComponents(Uint8Array.from([1, 0, 0, 1]), shape);
    expect(c.count).toBe(2);
  });

  it('splits a phase into percolating, dead-end and isolated volume per axis', () => {
    const shape: Shape3 = [10, 10, 10];
    // A rod through x (100 voxels... 10), a stub from x = 0 (3 voxels), an isolated voxel.
    const data = volume(shape, (x, y, z) => ((y === 1 && z === 1) || (y === 5 && z === 5 && x < 3) || (x === 5 && y === 8 && z === 8) ? 1 : 0));
    const conn = connectivity(labelComponents(phaseMask(data, 1), shape));
    expect(conn.x.percolating).toBeCloseTo(10 / 14, 12);
    expect(conn.x.deadEnd).toBeCloseTo(3 / 14, 12);
    expect(conn.x.isolated).toBeCloseTo(1 / 14, 12);
    expect(conn.y.percolating).toBe(0);
  });
});

describe('specific surface area (face count × 2/3)', () => {
  it('is within 1.5% of 4πr² for spheres of radius ≥ 10 voxels and 4% down to r = 4', () => {
    for (const [r, tol] of [[4, 0.04], [6, 0.04], [8, 0.04], [10, 0.015], [12.5, 0.015], [20, 0.015], [30, 0.015]]) {
      const v = ballVolume(Math.ceil(2 * r) + 4, r);
      const area = specificSurface(v.data, v.shape, 1) * v.data.length;
      expect(Math.abs(area / (4 * Math.PI * r * r) - 1), `r = ${r}`).toBeLessThan(tol);
    }
  });

  it('counts the faces between one phase pair only when b is given', () => {
    const shape: Shape3 = [3, 1, 1];
    const data = Uint8Array.from([0, 1, 2]);
    expect(interfaceFaces(data, shape, 0)).toBe(1);
    expect(interfaceFaces(data, shape, 1)).toBe(2);
    expect(interfaceFaces(data, shape, 1, 2)).toBe(1);
    expect(interfaceFaces(data, shape, 0, 2)).toBe(0);
  });
});

describe('local thickness', () => {
  it('gives the slab width for a slab and the diameter for a cylinder', () => {
    const shape: Shape3 = [30, 30, 30];
    const slab = volume(shape, (x) => (x >= 5 && x < 15 ? 1 : 0));
    const lt = localThickness(slab, shape);
    const s = thicknessStats(lt);
    expect(s.d50).toBeGreaterThanOrEqual(9.5);
    expect(s.d50).toBeLessThanOrEqual(10.5);
    const cyl = volume(shape, (x, y) => ((x + 0.5 - 15) ** 2 + (y + 0.5 - 15) ** 2 <= 8 * 8 ? 1 : 0));
    const c = thicknessStats(localThickness(cyl, shape));
    expect(Math.abs(c.d50 - 16)).toBeLessThanOrEqual(1);
    expect(lt.volumeFraction.reduce((a, b) => a + b, 0)).toBeCloseTo(10 / 30, 12);
  });

  it('gives a slab of w voxels 2⌈w/2⌉: w for even w, w + 1 for odd w (review 2026-12-07, docs/physics.md)', () => {
    // Spheres are centred on voxel centres, so their digital extent is odd while their
    // diameter 2r is even for a slab; the documented rule, not "w for every w".
    const shape: Shape3 = [20, 6, 6];
    for (const w of [1, 2, 3, 4, 5, 6, 10]) {
      const lt = localThickness(volume(shape, (x) => (x >= 4 && x < 4 + w ? 1 : 0)), shape);
      const st = thicknessStats(lt);
      expect(st.d50, `w = ${w}`).toBe(2 * Math.ceil(w / 2));
      expect(st.mean, `w = ${w}`).toBeCloseTo(2 * Math.ceil(w / 2), 12);
    }
    const lone = localThickness(volume(shape, (x, y, z) => (x === 5 && y === 3 && z === 3 ? 1 : 0)), shape);
    expect(thicknessStats(lone)).toEqual({ mean: 2, d50: 2 });
  });
});

describe('two-point correlation and chords', () => {
  it('has S2(0) = φ and S2(r ≥ 1) ≈ φ² for uncorrelated voxels', () => {
    const shape: Shape3 = [40, 40, 40];
    const rng = createRng(11);
    const mask = volume(shape, () => (rng.next() < 0.3 ? 1 : 0));
    const s2 = twoPointCorrelation(mask, shape, 5);
    let phi = 0;
    for (const m of mask) phi += m;
    phi /= mask.length;
    expect(s2[0]).toBeCloseTo(phi, 12);
    for (let r = 1; r <= 5; r++) expect(Math.abs(s2[r] - phi * phi)).toBeLessThan(0.004);
    expect(correlationLength(s2)).toBeLessThan(1);
  });

  it('measures chords inside the box and drops the ones cut by it', () => {
    const shape: Shape3 = [1, 1, 12];
    const mask = Uint8Array.from([1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1]);
    expect(chordLengths(mask, shape, 'z')).toEqual([3, 1]);
  });
});

describe('triple-phase boundary', () => {
  it('finds one edge per layer where three quadrants meet, active only along the spanning axis', () => {
    const shape: Shape3 = [8, 8, 6];
    const data = volume(shape, (x, y) => (x < 4 ? 0 : y < 4 ? 1 : 2));
    const z = triplePhaseBoundary(data, shape, [0, 1, 2], 'z');
    expect(z.edges).toBe(6);
    expect(z.activeEdges).toBe(6);
    expect(triplePhaseBoundary(data, shape, [0, 1, 2], 'x').activeEdges).toBe(0);
  });
});
