import { permeability, type PermeabilityResult } from './lbm.js';

/**
 * Validation case of the permeability solver: Stokes flow through a simple-cubic array of
 * spheres, against the dimensionless drag K of Zick & Homsy (J. Fluid Mech. 115, 1982,
 * Table 2): F = 6πμaUK per sphere, so k = L³/(6πaK) for a unit cell of edge L.
 */
export const ZICK_HOMSY_SC: ReadonlyArray<readonly [solidFraction: number, K: number]> = [
  [0.027, 2.008],
  [0.064, 2.81],
  [0.125, 4.292],
  [0.216, 7.442],
  [0.343, 15.4],
  [0.45, 28.1],
  [0.5236, 42.14],
];

/** K of Zick & Homsy at solid fraction c, log-linear between the tabulated points. */
export function zickHomsyK(c: number): number {
  const t = ZICK_HOMSY_SC;
  if (c < t[0][0] || c > t[t.length - 1][0]) throw new RangeError(`solid fraction ${c} outside the table (${t[0][0]}–${t[t.length - 1][0]})`);
  let i = 0;
  while (i < t.length - 2 && c > t[i + 1][0]) i++;
  const [c0, k0] = t[i];
  const [c1, k1] = t[i + 1];
  return Math.exp(Math.log(k0) + ((c - c0) / (c1 - c0)) * (Math.log(k1) - Math.log(k0)));
}

/**
 * A unit cell of L³ voxels (1 = fluid) with one sphere at its centre whose voxel count is
 * as close as the grid allows to c·L³ (voxel centres within the radius are solid).
 */
export function sphereCell(L: number, c: number): { fluid: Uint8Array; solidFraction: number } {
  const d2 = new Float64Array(L * L * L);
  for (let x = 0; x < L; x++)
    for (let y = 0; y < L; y++)
      for (let z = 0; z < L; z++) d2[(x * L + y) * L + z] = (x + 0.5 - L / 2) ** 2 + (y + 0.5 - L / 2) ** 2 + (z + 0.5 - L / 2) ** 2;
  // The n-th smallest squared distance is the radius² that makes exactly n voxels solid
  // (ties aside): take n = round(c·L³) and include its ties.
  const sorted = Float64Array.from(d2).sort();
  const r2 = sorted[Math.max(0, Math.round(c * L ** 3) - 1)];
  const fluid = new Uint8Array(L ** 3);
  let solid = 0;
  for (let i = 0; i < d2.length; i++) {
    if (d2[i] <= r2) solid++;
    else fluid[i] = 1;
  }
  return { fluid, solidFraction: solid / L ** 3 };
}

export interface ZickHomsyCase {
  L: number;
  /** Solid fraction of the voxelised sphere. */
  solidFraction: number;
  /** Radius of the sphere with the voxelised volume, voxels. */
  radius: number;
  K: number;
  reference: number;
  relError: number;
  lbm: PermeabilityResult;
}

/**
 * Runs the LBM on the unit cell and compares K = L³/(6πak) with Zick & Homsy at the solid
 * fraction of the voxelised sphere (its equivalent radius a = (3V/4π)^⅓), so that the
 * comparison is not blurred by the volume error of digitising the sphere.
 */
export function zickHomsyCase(L: number, c: number): ZickHomsyCase {
  const { fluid, solidFraction } = sphereCell(L, c);
  const lbm = permeability(fluid, [L, L, L], { axis: 'x', tol: 1e-6 });
  const radius = Math.cbrt((3 * solidFraction * L ** 3) / (4 * Math.PI));
  const K = L ** 3 / (6 * Math.PI * radius * lbm.kLattice);
  const reference = zickHomsyK(solidFraction);
  return { L, solidFraction, radius, K, reference, relError: K / reference - 1, lbm };
}
