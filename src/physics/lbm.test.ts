import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { permeability } from './lbm.js';
import { zickHomsyCase, zickHomsyK } from './zick-homsy.js';

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
