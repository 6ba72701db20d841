import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { solveTransport, tortuosity } from './transport.js';

function volume(shape: Shape3, f: (x: number, y: number, z: number) => number): Uint8Array {
  const [nx, ny, nz] = shape;
  const d = new Uint8Array(nx * ny * nz);
  for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) for (let z = 0; z < nz; z++) d[(x * ny + y) * nz + z] = f(x, y, z);
  return d;
}

describe('finite-volume transport solver', () => {
  it('gives τ = 1 in a uniform block along every axis', () => {
    const shape: Shape3 = [20, 17, 23];
    const data = volume(shape, () => 0);
    for (const axis of ['x', 'y', 'z'] as const) {
      const r = tortuosity(data, shape, 0, axis, { tol: 1e-10 });
      expect(r.tau).toBeCloseTo(1, 6);
      expect(r.converged).toBe(true);
    }
  });

  it('handles thin and odd-sized boxes (axes of length 1, odd aggregation)', () => {
    for (const shape of [[1, 5, 7], [3, 1, 1], [9, 1, 13], [13, 7, 5]] as Shape3[]) {
      const data = volume(shape, () => 0);
      for (const axis of ['x', 'y', 'z'] as const) {
        const r = tortuosity(data, shape, 0, axis, { tol: 1e-10 });
        expect(r.tau, `${shape.join('×')} ${axis}`).toBeCloseTo(1, 6);
      }
    }
    let s = 7;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const shape: Shape3 = [13, 7, 35];
    const data = volume(shape, () => (rand() < 0.75 ? 0 : 1));
    for (const axis of ['x', 'y', 'z'] as const) {
      const mg = tortuosity(data, shape, 0, axis, { tol: 1e-9 });
      const jac = tortuosity(data, shape, 0, axis, { tol: 1e-9, preconditioner: 'jacobi' });
      expect(mg.tau).toBeCloseTo(jac.tau, 6);
    }
  });

  it('gives τ = 1 along straight channels and ∞ across them', () => {
    const shape: Shape3 = [24, 24, 24];
    const data = volume(shape, (_x, y, z) => (y % 8 < 3 && z % 6 < 2 ? 0 : 1));
    const along = tortuosity(data, shape, 0, 'x', { tol: 1e-10 });
    expect(along.tau).toBeCloseTo(1, 6);
    expect(along.dRel).toBeCloseTo(along.porosity, 6);
    const across = tortuosity(data, shape, 0, 'y');
    expect(across.tau).toBe(Infinity);
    expect(across.percolating).toBe(false);
    expect(across.dRel).toBe(0);
  });

  it('is the exact harmonic mean for layers in series and the arithmetic mean in parallel', () => {
    const shape: Shape3 = [12, 10, 30];
    const sigma = [1, 0.2, 5];
    // Layers normal to z, of thicknesses 10, 8, 12 voxels.
    const data = volume(shape, (_x, _y, z) => (z < 10 ? 0 : z < 18 ? 1 : 2));
    const series = solveTransport(data, shape, { axis: 'z', conductivity: sigma, tol: 1e-10 });
    const harmonic = 30 / (10 / sigma[0] + 8 / sigma[1] + 12 / sigma[2]);
    expect(series.effective).toBeCloseTo(harmonic, 6);
    for (const axis of ['x', 'y'] as const) {
      const parallel = solveTransport(data, shape, { axis, conductivity: sigma, tol: 1e-10 });
      expect(parallel.effective).toBeCloseTo((10 * sigma[0] + 8 * sigma[1] + 12 * sigma[2]) / 30, 6);
    }
  });

  it('removes isolated clusters but counts them in the total porosity', () => {
    const shape: Shape3 = [16, 16, 16];
    // A straight channel along z plus an enclosed cavity that touches no face.
    const data = volume(shape, (x, y, z) => ((x < 4 && y < 4) || (x > 8 && x < 12 && y > 8 && y < 12 && z > 5 && z < 10) ? 0 : 1));
    const r = tortuosity(data, shape, 0, 'z', { tol: 1e-10 });
    expect(r.dRel).toBeCloseTo(16 / 256, 6);
    expect(r.porosity).toBeCloseTo((16 * 16 + 3 * 3 * 4) / 4096, 10);
    expect(r.tau).toBeCloseTo(r.porosity / (16 / 256), 5);
    expect(r.spanningFraction).toBeCloseTo(256 / 4096, 10);
  });

  it('agrees with the Jacobi-preconditioned baseline on a random medium and conserves flux', () => {
    const shape: Shape3 = [20, 18, 22];
    let s = 12345;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const data = volume(shape, () => (rand() < 0.7 ? 0 : 1));
    const mg = tortuosity(data, shape, 0, 'x', { tol: 1e-9 });
    const jac = tortuosity(data, shape, 0, 'x', { tol: 1e-9, preconditioner: 'jacobi' });
    expect(mg.converged && jac.converged).toBe(true);
    expect(mg.tau).toBeCloseTo(jac.tau, 6);
    expect(mg.iterations).toBeLessThan(jac.iterations / 3);
    expect(mg.fluxImbalance).toBeLessThan(1e-4);
  });

  it('keeps the multigrid iteration count nearly independent of size', () => {
    const its = [16, 32, 64].map((n) => {
      const shape: Shape3 = [n, n, n];
      // Tilted plates: a structured but non-trivial medium that scales with n.
      const data = volume(shape, (x, y, z) => ((x + 2 * y + 3 * z) % 7 < 2 && (y * 16) / n < 12 ? 1 : 0));
      return tortuosity(data, shape, 0, 'x').iterations;
    });
    expect(its[2]).toBeLessThanOrEqual(its[0] + 8);
  });

  it('calls onIteration every progressEvery CG iterations without changing the result (diff review 2026-12-07, item 4)', () => {
    let s = 11;
    const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const shape: Shape3 = [16, 16, 24];
    const data = volume(shape, () => (rand() < 0.7 ? 0 : 1));
    const conductivity = [1];
    const plain = solveTransport(data, shape, { axis: 'z', conductivity, preconditioner: 'jacobi' });
    const seen: Array<[number, number]> = [];
    const watched = solveTransport(data, shape, { axis: 'z', conductivity, preconditioner: 'jacobi', progressEvery: 3, onIteration: (i, r) => seen.push([i, r]) });
    expect(watched.effective).toBe(plain.effective);
    expect(watched.iterations).toBe(plain.iterations);
    expect(plain.iterations).toBeGreaterThan(6);
    // Every third iteration before the last (the converged one ends the solve instead).
    expect(seen.map(([i]) => i)).toEqual(Array.from({ length: Math.floor((plain.iterations - 1) / 3) }, (_, k) => 3 * (k + 1)));
    expect(seen.every(([, r]) => r > 0 && Number.isFinite(r))).toBe(true);
  });
});
