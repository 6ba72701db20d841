import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { createVoxels, index3 } from '../voxel/voxels.js';
import { airViscosity } from './device.js';
import { simulate } from './index.js';
import { periodicAlong, permeability } from './lbm.js';
import { sphereCell, zickHomsyCase, zickHomsyK } from './zick-homsy.js';

/** Plane channel of H fluid nodes between solid walls, periodic along x and z. */
function channel(H: number): { fluid: Uint8Array; shape: Shape3 } {
  const n = H + 2;
  const fluid = new Uint8Array(4 * n * 4);
  for (let x = 0; x < 4; x++) for (let y = 0; y < n; y++) for (let z = 0; z < 4; z++) fluid[(x * n + y) * 4 + z] = y >= 1 && y <= H ? 1 : 0;
  return { fluid, shape: [4, n, 4] };
}

describe('LBM permeability (D3Q19 TRT, bounce-back)', () => {
  it('reproduces plane Poiseuille flow to 2e-5, independent of the viscosity', () => {
    for (const H of [5, 12]) {
      const { fluid, shape } = channel(H);
      // TRT with Λ = 3/16 gives the exact parabola with walls half-way between nodes; the
      // flux is the node sum of that parabola, H²/12 + 1/24 per unit width and force/ν.
      const exact = (H * H / 12 + 1 / 24) * (H / (H + 2));
      for (const tauPlus of [0.9, 3]) {
        const r = permeability(fluid, shape, { axis: 'x', tauPlus, tol: 1e-10 });
        expect(r.converged).toBe(true);
        // Float32 storage of the populations limits agreement to ~1e-5.
        expect(Math.abs(r.kLattice / exact - 1)).toBeLessThan(2e-5);
      }
    }
  });

  it('gives zero permeability across the walls and when there is no fluid', () => {
    const { fluid, shape } = channel(6);
    expect(permeability(fluid, shape, { axis: 'y' }).kLattice).toBe(0);
    expect(permeability(new Uint8Array(64), [4, 4, 4], { axis: 'x' }).kLattice).toBe(0);
  });

  it('interpolates the Zick & Homsy table', () => {
    expect(zickHomsyK(0.343)).toBeCloseTo(15.4, 10);
    expect(zickHomsyK(0.4)).toBeGreaterThan(15.4);
    expect(zickHomsyK(0.4)).toBeLessThan(28.1);
  });

  it('matches Zick & Homsy for simple-cubic sphere arrays within 4% at L = 32 voxels per cell', () => {
    // Resolution 32 voxels per unit cell (sphere radius 13.9–15.2 voxels); the dense arrays
    // converge in a few hundred steps, which keeps the test short. The error is that of the
    // staircase sphere and shrinks with resolution: the benchmark (experiments/bench-physics.ts)
    // runs c = 0.1–0.5 at L = 64.
    for (const c of [0.343, 0.45]) {
      const r = zickHomsyCase(32, c);
      expect(r.lbm.converged).toBe(true);
      expect(Math.abs(r.relError), `c = ${c}: K ${r.K} vs ${r.reference}`).toBeLessThan(0.04);
    }
  });
});

/** A volume of `shape` with label f(x, y, z) (0 = pore, the transporting phase). */
function volume(shape: Shape3, voxelSize: number, f: (x: number, y: number, z: number) => number) {
  const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let x = 0; x < shape[0]; x++) for (let y = 0; y < shape[1]; y++) for (let z = 0; z < shape[2]; z++) data[index3(shape, x, y, z)] = f(x, y, z);
  return createVoxels(shape, voxelSize, { 0: 'pore', 1: 'solid' }, data);
}

async function props(v: ReturnType<typeof volume>, properties: string[], context: Record<string, number> = {}) {
  const r = await simulate(v, { properties, context });
  if (!r.ok) throw r.error;
  return r.value;
}

/**
 * Review 2026-12-07: the default path (simulate, as `poreloop analyse` runs it) always added 4
 * open buffer layers at each end, which cost a periodic slit 33 / 20 / 11 % of its permeability
 * at lengths 8 / 16 / 32; the validation above ran without buffer and never saw it.
 */
describe('LBM permeability on the default analysis path (review 2026-12-07)', () => {
  it('gives the plane Poiseuille permeability of a slit 8 voxels wide at lengths 8, 16 and 32, along both in-plane axes', async () => {
    // Superficial velocity: porosity ½ × (H²/12 + 1/24) voxel² for H = 8, voxel 2 µm.
    const exact = 0.5 * (64 / 12 + 1 / 24) * (2e-6) ** 2;
    for (const L of [8, 16, 32]) {
      const r = await props(volume([16, L, L], 2, (x) => (x >= 4 && x < 12 ? 0 : 1)), ['permeability_y', 'permeability_z']);
      for (const axis of ['y', 'z'] as const) {
        expect(Math.abs(r.properties[`permeability_${axis}`] / exact - 1), `L = ${L}, ${axis}`).toBeLessThan(1e-4);
        expect((r.diagnostics as Record<string, Record<string, unknown>>)[`permeability_${axis}`].buffer).toBe(0);
      }
    }
  });

  it('gives the same square-duct permeability at lengths 8, 16 and 32, within 2 % of the continuum value', async () => {
    // Continuum: k = 0.0351437 a⁴ / A for a square duct of side a in a cross-section A.
    const continuum = (0.0351437 * 8 ** 4) / 256;
    const ks: number[] = [];
    for (const L of [8, 16, 32]) {
      const r = await props(volume([16, 16, L], 1, (x, y) => (x >= 4 && x < 12 && y >= 4 && y < 12 ? 0 : 1)), ['permeability_z']);
      ks.push(r.properties.permeability_z / 1e-12);
    }
    for (const k of ks) {
      expect(Math.abs(k / ks[0] - 1)).toBeLessThan(1e-4);
      expect(Math.abs(k / continuum - 1)).toBeLessThan(0.02);
    }
  });

  it('matches Zick & Homsy on a simple-cubic sphere cell analysed as a volume', async () => {
    const L = 32;
    const { fluid, solidFraction } = sphereCell(L, 0.45);
    const r = await props(volume([L, L, L], 1, (x, y, z) => 1 - fluid[index3([L, L, L], x, y, z)]), ['permeability_x']);
    const radius = Math.cbrt((3 * solidFraction * L ** 3) / (4 * Math.PI));
    const K = L ** 3 / (6 * Math.PI * radius * (r.properties.permeability_x / 1e-12));
    expect(Math.abs(K / zickHomsyK(solidFraction) - 1)).toBeLessThan(0.04);
  });

  it('pressureDrop rests on the corrected permeability', async () => {
    const exact = 0.5 * (64 / 12 + 1 / 24) * (2e-6) ** 2;
    const r = await props(volume([16, 8, 16], 2, (x) => (x >= 4 && x < 12 ? 0 : 1)), ['pressureDrop']);
    const expected = (airViscosity(353.15) * 0.01 * 32e-6) / exact;
    expect(Math.abs(r.properties.pressureDrop / expected - 1)).toBeLessThan(1e-4);
  });

  it('adds the open buffer to a sample whose faces are unrelated, and honours lbmBuffer', async () => {
    // A slab cut from a random medium: its two faces do not match.
    let seed = 3;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const centres = Array.from({ length: 40 }, () => [rnd() * 16, rnd() * 16, rnd() * 16]);
    const v = volume([16, 16, 16], 1, (x, y, z) => (centres.some(([a, b, c]) => (x - a) ** 2 + (y - b) ** 2 + (z - c) ** 2 < 6) ? 1 : 0));
    expect(periodicAlong(phaseOf(v), v.shape, 'z')).toBe(false);
    const auto = await props(v, ['permeability_z']);
    const set = await props(v, ['permeability_z'], { lbmBuffer: 2 });
    const diag = (d: unknown) => (d as Record<string, Record<string, unknown>>).permeability_z.buffer;
    expect(diag(auto.diagnostics)).toBe(4);
    expect(diag(set.diagnostics)).toBe(2);
  });
});

function phaseOf(v: { data: Uint8Array }): Uint8Array {
  return v.data.map((l) => (l === 0 ? 1 : 0));
}

describe('periodicAlong', () => {
  it('holds for structures uniform along the axis and for equal end layers, not for unrelated faces', () => {
    const shape: Shape3 = [4, 4, 6];
    const uniform = new Uint8Array(96).map((_, i) => (Math.floor(i / 24) % 2));
    expect(periodicAlong(uniform, shape, 'z')).toBe(true);
    // Layers along z: 1 1 0 0 1 1 → the seam (1, 1) is smoother than the interior.
    const equalEnds = new Uint8Array(96).map((_, i) => ([1, 1, 0, 0, 1, 1][i % 6]));
    expect(periodicAlong(equalEnds, shape, 'z')).toBe(true);
    // Layers 0 0 0 1 1 1: one change inside, the seam changes everything.
    const step = new Uint8Array(96).map((_, i) => ([0, 0, 0, 1, 1, 1][i % 6]));
    expect(periodicAlong(step, shape, 'z')).toBe(false);
    expect(periodicAlong(step, shape, 'x')).toBe(true);
  });
});
