import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { AXES, FACE_BITS, labelComponents, percolatingMask, spanningLabels } from './labelling.js';

/** Reference labelling: breadth-first flood fill over face neighbours, components in raster order. */
function floodFill(mask: Uint8Array, [nx, ny, nz]: Shape3): { labels: Int32Array; count: number } {
  const labels = new Int32Array(mask.length);
  let count = 0;
  const queue = new Int32Array(mask.length);
  for (let s = 0; s < mask.length; s++) {
    if (!mask[s] || labels[s]) continue;
    labels[s] = ++count;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    while (head < tail) {
      const i = queue[head++];
      const x = Math.floor(i / (ny * nz));
      const y = Math.floor(i / nz) % ny;
      const z = i % nz;
      const nb = [
        x > 0 ? i - ny * nz : -1,
        x < nx - 1 ? i + ny * nz : -1,
        y > 0 ? i - nz : -1,
        y < ny - 1 ? i + nz : -1,
        z > 0 ? i - 1 : -1,
        z < nz - 1 ? i + 1 : -1,
      ];
      for (const j of nb)
        if (j >= 0 && mask[j] && !labels[j]) {
          labels[j] = count;
          queue[tail++] = j;
        }
    }
  }
  return { labels, count };
}

describe('connected-component labelling', () => {
  it('finds exactly the face-connected components of a flood fill, numbered in raster order', () => {
    const rng = createRng(42);
    // Porosities around the 3D site-percolation threshold (0.31) give the most complicated
    // merges; the odd shapes cover thin boxes.
    for (const shape of [[17, 13, 11], [1, 20, 20], [30, 2, 9], [12, 12, 12]] as Shape3[])
      for (const eps of [0.2, 0.31, 0.45, 0.7]) {
        const mask = new Uint8Array(shape[0] * shape[1] * shape[2]);
        for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < eps ? 1 : 0;
        const got = labelComponents(mask, shape);
        const want = floodFill(mask, shape);
        expect(got.count, `${shape.join('×')} ε=${eps}`).toBe(want.count);
        expect(Array.from(got.labels)).toEqual(Array.from(want.labels));
        const sizes = new Float64Array(want.count + 1);
        for (const l of want.labels) if (l) sizes[l]++;
        expect(Array.from(got.sizes)).toEqual(Array.from(sizes));
        // Faces each component touches (the in-place relabelling sets the z faces per row, issue #20).
        const [nx, ny, nz] = shape;
        const touch = new Uint8Array(want.count + 1);
        for (let i = 0; i < mask.length; i++) {
          const l = want.labels[i];
          if (!l) continue;
          const x = Math.floor(i / (ny * nz));
          const y = Math.floor(i / nz) % ny;
          const z = i % nz;
          if (x === 0) touch[l] |= FACE_BITS.x0;
          if (x === nx - 1) touch[l] |= FACE_BITS.x1;
          if (y === 0) touch[l] |= FACE_BITS.y0;
          if (y === ny - 1) touch[l] |= FACE_BITS.y1;
          if (z === 0) touch[l] |= FACE_BITS.z0;
          if (z === nz - 1) touch[l] |= FACE_BITS.z1;
        }
        expect(Array.from(got.touch)).toEqual(Array.from(touch));
      }
  });

  it('spanningLabels / percolatingMask keep exactly the components with voxels on both end faces of the axis', () => {
    const rng = createRng(43);
    const shape: Shape3 = [9, 8, 7];
    const [nx, ny, nz] = shape;
    const mask = new Uint8Array(nx * ny * nz);
    for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < 0.4 ? 1 : 0;
    const comp = labelComponents(mask, shape);
    const { labels } = floodFill(mask, shape);
    let kept = 0;
    for (const [k, axis] of AXES.entries()) {
      const n = shape[k];
      const at = (i: number): number => [Math.floor(i / (ny * nz)), Math.floor(i / nz) % ny, i % nz][k];
      const lo = new Set<number>();
      const hi = new Set<number>();
      for (let i = 0; i < mask.length; i++) {
        if (!labels[i]) continue;
        if (at(i) === 0) lo.add(labels[i]);
        if (at(i) === n - 1) hi.add(labels[i]);
      }
      const want = Array.from(labels, (l): number => (l && lo.has(l) && hi.has(l) ? 1 : 0));
      const { keep, count } = spanningLabels(comp, axis);
      const got = percolatingMask(comp, axis);
      expect(Array.from(got.mask), axis).toEqual(want);
      expect(got.count).toBe(want.reduce((a, b) => a + b, 0));
      expect(count).toBe(got.count);
      expect(Array.from(comp.labels, (l) => keep[l])).toEqual(want);
      kept += count;
    }
    expect(kept).toBeGreaterThan(0); // ε = 0.4 is above the percolation threshold: something spans
  });
});
