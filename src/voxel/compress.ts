import type { Shape3 } from '../core/protocols.js';

/**
 * Through-plane compression by pore collapse (issue 3, fibre-gdl "compress" stage). Solids
 * are taken as incompressible and the sheet's thickness is reduced by closing pore space:
 * in every (x, y) column, `k = nz − nzOut` pore voxels are removed at evenly spaced ranks
 * among that column's pore voxels, so each pore gap shrinks in proportion to its length and
 * the solid above it moves down rigidly. Solid voxels are conserved exactly while a column
 * has at least k pore voxels; a column with fewer (a dense pile) loses its topmost solid
 * voxels (reported as `solidLost`, the fraction of solid removed).
 *
 * The sheet's porosity then falls from ε₀ to 1 − (1 − ε₀)·nz/nzOut, the mass balance of a
 * compressed porous layer with an incompressible skeleton.
 */
export function collapseColumns(data: Uint8Array, shape: Shape3, nzOut: number): { data: Uint8Array; shape: Shape3; solidLost: number } {
  const [nx, ny, nz] = shape;
  if (nzOut >= nz) return { data: data.slice(), shape: [nx, ny, nz], solidLost: 0 };
  const out = new Uint8Array(nx * ny * nzOut);
  const k = nz - nzOut;
  let lost = 0;
  let solid = 0;
  for (let c = 0; c < nx * ny; c++) {
    const src = c * nz;
    const dst = c * nzOut;
    let pores = 0;
    for (let z = 0; z < nz; z++) if (data[src + z] === 0) pores++;
    solid += nz - pores;
    const remove = Math.min(k, pores);
    // Pore voxel of rank j is removed when floor((j+1)·remove/pores) steps up: evenly spaced.
    let j = 0;
    let o = 0;
    for (let z = 0; z < nz && o < nzOut; z++) {
      const v = data[src + z];
      if (v === 0 && remove > 0) {
        const drop = Math.floor(((j + 1) * remove) / pores) > Math.floor((j * remove) / pores);
        j++;
        if (drop) continue;
      }
      out[dst + o++] = v;
    }
    // Whatever did not fit (only when pores < k) is solid pushed out of the top.
    if (remove < k) lost += k - remove;
  }
  return { data: out, shape: [nx, ny, nzOut], solidLost: solid > 0 ? lost / solid : 0 };
}
