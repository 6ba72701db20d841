import type { Shape3, Voxels } from '../core/protocols.js';
import { createRng } from '../core/rng.js';

/**
 * Small synthetic volumes for the physics tests and the benchmark (not a twin): straight
 * in-plane fibres of a GDL-like layer, and spheres. Deterministic for a seed.
 */

/** Cylinders of diameter `diameter` voxels lying in xy-planes at random heights and angles. */
export function fibreVolume(shape: Shape3, fibres: number, diameter: number, seed: number): Voxels {
  const [nx, ny, nz] = shape;
  const rng = createRng(seed);
  const data = new Uint8Array(nx * ny * nz);
  const r2 = (diameter / 2) ** 2;
  for (let f = 0; f < fibres; f++) {
    const cx = rng.uniform(0, nx);
    const cy = rng.uniform(0, ny);
    const cz = rng.uniform(0, nz);
    const th = rng.uniform(0, Math.PI);
    const ux = Math.cos(th);
    const uy = Math.sin(th);
    for (let x = 0; x < nx; x++)
      for (let y = 0; y < ny; y++) {
        // Distance from the fibre axis in the xy-plane (periodic in x and y).
        let dx = x + 0.5 - cx;
        let dy = y + 0.5 - cy;
        dx -= nx * Math.round(dx / nx);
        dy -= ny * Math.round(dy / ny);
        const across = -uy * dx + ux * dy;
        // Fibres lie in xy-planes: only the slab |z − cz| ≤ d/2 can be inside.
        const z0 = Math.max(0, Math.floor(cz - diameter / 2 - 1));
        const z1 = Math.min(nz, Math.ceil(cz + diameter / 2 + 1));
        for (let z = z0; z < z1; z++) {
          const dz = z + 0.5 - cz;
          if (across * across + dz * dz <= r2) data[(x * ny + y) * nz + z] = 1;
        }
      }
  }
  return { data, shape, voxelSize: 2, phases: { 0: 'pore', 1: 'fibre' } };
}

/** A ball of radius r (voxels) labelled 1 centred in a box of label 0. */
export function ballVolume(n: number, r: number): Voxels {
  const data = new Uint8Array(n * n * n);
  const c = n / 2;
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++)
      for (let z = 0; z < n; z++) {
        const d2 = (x + 0.5 - c) ** 2 + (y + 0.5 - c) ** 2 + (z + 0.5 - c) ** 2;
        if (d2 <= r * r) data[(x * n + y) * n + z] = 1;
      }
  return { data, shape: [n, n, n], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
}
