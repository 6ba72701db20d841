import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import { WasmArena } from './kernels.js';
import { ACT_LUT, applyOperator, coarsen, createMaskLevel, D_LUT, FACE_M0, FACE_M1, FACE_M2, FACE_P0, FACE_P1, FACE_P2, BND_IN, BND_OUT, INV_LUT, Multigrid, type Level } from './multigrid.js';
import { labelComponents, spanningLabels } from './labelling.js';
import { tortuosity } from './transport.js';
import { compileKernels, expandMacros } from './write-kernels.js';

/**
 * A binary level over a random active set (porosity ε), inlet/outlet on axis 0, in `mask`.
 * With `spanning`, clusters that do not touch both ends of axis 0 are removed first, as the
 * solver does (transport.ts): every remaining cluster then has a Dirichlet end, the operator is
 * SPD and so is every coarse level.
 */
function randomMaskLevel(n: Shape3, eps: number, seed: number, mask?: Uint8Array, spanning = false): Level {
  const L = createMaskLevel(n, mask);
  const rng = createRng(seed);
  const on = new Uint8Array(L.size);
  for (let a = 1; a <= n[0]; a++)
    for (let c = 1; c <= n[1]; c++) for (let e = 1; e <= n[2]; e++) on[a * L.s0 + c * L.s1 + e] = rng.next() < eps ? 1 : 0;
  if (spanning) {
    const interior = (k: number): number => ((Math.floor(k / (n[1] * n[2])) + 1) * L.s0 + ((Math.floor(k / n[2]) % n[1]) + 1) * L.s1 + (k % n[2]) + 1);
    const comp = labelComponents(Uint8Array.from({ length: n[0] * n[1] * n[2] }, (_, k) => on[interior(k)]), n);
    const { keep } = spanningLabels(comp, 'x');
    for (let k = 0; k < comp.labels.length; k++) if (!keep[comp.labels[k]]) on[interior(k)] = 0;
  }
  for (let a = 1; a <= n[0]; a++)
    for (let c = 1; c <= n[1]; c++)
      for (let e = 1; e <= n[2]; e++) {
        const i = a * L.s0 + c * L.s1 + e;
        if (!on[i]) continue;
        L.mask![i] =
          (on[i - L.s0] ? FACE_M0 : 0) |
          (on[i + L.s0] ? FACE_P0 : 0) |
          (on[i - L.s1] ? FACE_M1 : 0) |
          (on[i + L.s1] ? FACE_P1 : 0) |
          (on[i - 1] ? FACE_M2 : 0) |
          (on[i + 1] ? FACE_P2 : 0) |
          (a === 1 ? BND_IN : 0) |
          (a === n[0] ? BND_OUT : 0);
      }
  return L;
}

/** Random values at the active cells, 0 elsewhere (the binary level's invariant). */
function activeVector(L: Level, out: Float64Array, seed: number): Float64Array {
  const rng = createRng(seed);
  for (let i = 0; i < L.size; i++) out[i] = L.mask![i] ? rng.next() - 0.5 : 0;
  return out;
}

const LUTS = { d: D_LUT, inv: INV_LUT, act: ACT_LUT };

function maxRelDiff(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** rUpdate and xpby on 101 random entries against the scalar formulas, to `digits` decimals. */
function checkCgUpdates(arena: WasmArena, vector: () => Float64Array, digits: number): void {
  const [r, p, q] = [0, 1, 2].map(vector);
  const rng = createRng(2);
  for (const v of [r, p, q]) for (let i = 0; i < 101; i++) v[i] = rng.next();
  const [r0, p0, q0] = [r, p, q].map((v) => Float64Array.from(v));
  const rr = arena.rUpdate(r, q, 0.3);
  let want = 0;
  for (let i = 0; i < 101; i++) {
    expect(r[i]).toBeCloseTo(r0[i] - 0.3 * q0[i], digits);
    want += r[i] * r[i];
  }
  expect(rr).toBeCloseTo(want, Math.min(12, digits + 4));
  arena.xpby(p, r, 0.7);
  for (let i = 0; i < 101; i++) expect(p[i]).toBeCloseTo(r[i] + 0.7 * p0[i], digits);
}

describe('WebAssembly kernels (kernels.wat)', () => {
  it('the committed binary is the compilation of the current kernels.wat', async () => {
    const fresh = Buffer.from(await compileKernels()).toString('base64');
    expect(fresh === KERNELS_WASM_BASE64, 'run `npm run kernels` after editing kernels.wat').toBe(true);
  });

  it('expands nested macros and rejects bad uses', () => {
    const src = ';; #define TWICE(X) (i32.add X X)\n;; #define QUAD(Y) #TWICE(#TWICE(Y))\n(#QUAD((local.get $a)))';
    expect(expandMacros(src).split('\n')[2]).toBe('((i32.add (i32.add (local.get $a) (local.get $a)) (i32.add (local.get $a) (local.get $a))))');
    expect(() => expandMacros(';; #define ONE(X) X\n#ONE(a, b)')).toThrow(/takes 1 arguments, got 2/);
    expect(() => expandMacros('#NOPE(x)')).toThrow(/unknown macro #NOPE/);
  });

  // Odd sizes exercise the two-lane loops running into the ghost cell, and the 16-cell blocks
  // of the f32 kernels (four-cell quarters) running past a row's end into the ghosts and the
  // next row (n2 % 4 = 1: 5, 37 = 2·16 + 5); an axis of length 1 exercises aggregates of one.
  const shapes: Shape3[] = [
    [9, 6, 5],
    [17, 16, 15],
    [6, 1, 11],
    [12, 10, 1],
    [7, 5, 37],
  ];

  it('matvec equals the JavaScript operator', () => {
    for (const n of shapes) {
      const size = (n[0] + 2) * (n[1] + 2) * (n[2] + 2);
      const arena = WasmArena.create(WasmArena.bytesFor([size, size], [], [size]), LUTS);
      expect(arena).not.toBeNull();
      const Lw = randomMaskLevel(n, 0.6, 3, arena!.u8(size));
      const Lj = randomMaskLevel(n, 0.6, 3);
      const xw = activeVector(Lw, arena!.f64(size), 5);
      const yw = arena!.f64(size);
      const xj = activeVector(Lj, new Float64Array(size), 5);
      const yj = new Float64Array(size);
      const dw = arena!.matvec(Lw, Lw.mask!, xw, yw);
      const dj = applyOperator(Lj, xj, yj);
      expect(maxRelDiff(yw, yj), n.join('×')).toBeLessThan(1e-14);
      expect(Math.abs(dw - dj) / Math.abs(dj)).toBeLessThan(1e-12);
    }
  });

  // 17×16×15 has explicit levels below the first that are not the coarsest: a W-cycle visits them
  // twice, the second time from the first visit's x (the fused kernels must then read it).
  it('one multigrid cycle (all levels: sweeps, restriction, prolongation) equals the JavaScript one', () => {
    for (const n of shapes) {
      const size = (n[0] + 2) * (n[1] + 2) * (n[2] + 2);
      const arena = WasmArena.create(WasmArena.bytesFor([size, size], [], [size]) * 4, LUTS)!;
      const Lw = randomMaskLevel(n, 0.7, 11, arena.u8(size));
      const Lj = randomMaskLevel(n, 0.7, 11);
      const mgw = new Multigrid(Lw, { arena });
      const mgj = new Multigrid(Lj);
      expect(mgw.levels.length).toBe(mgj.levels.length);
      const rw = activeVector(Lw, arena.f64(size), 13);
      const zw = arena.f64(size);
      const rj = activeVector(Lj, new Float64Array(size), 13);
      const zj = new Float64Array(size);
      const a = mgw.apply(rw, zw);
      const b = mgj.apply(rj, zj);
      expect(maxRelDiff(zw, zj), n.join('×')).toBeLessThan(1e-10);
      expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-10);
    }
    // The kernels fuse one sweep with each transfer: more sweeps need the JavaScript kernels.
    const size = 10 * 10 * 10;
    const arena = WasmArena.create(WasmArena.bytesFor([], [], [size]), LUTS)!;
    expect(() => new Multigrid(randomMaskLevel([8, 8, 8], 0.7, 1, arena.u8(size)), { arena, sweeps: 2 })).toThrow(/sweeps/);
  });

  it('the binary coarsening (pairs of cells, no branches) equals the generic Galerkin coarsening', () => {
    // Odd and even sizes, axes of length 1 and 2, sparse and dense (issue #20).
    for (const n of [[7, 5, 37], [6, 9, 1], [1, 8, 9], [2, 2, 2], [9, 1, 6], [12, 11, 10]] as Shape3[])
      for (const eps of [0.4, 0.8, 1]) {
        const L = randomMaskLevel(n, eps, 21);
        const fast = coarsen(L, null).C;
        const ref = coarsen(L, null, true).C;
        const what = `${n.join('×')} ε=${eps}`;
        expect(Array.from(fast.d), what).toEqual(Array.from(ref.d));
        expect(Array.from(fast.g0), what).toEqual(Array.from(ref.g0));
        expect(Array.from(fast.g1), what).toEqual(Array.from(ref.g1));
        expect(Array.from(fast.g2), what).toEqual(Array.from(ref.g2));
        expect(Array.from(fast.invD), what).toEqual(Array.from(ref.invD));
      }
  });

  it('CG vector updates equal the scalar formulas', () => {
    const arena = WasmArena.create(WasmArena.bytesFor([101, 101, 101, 101], [], []), LUTS)!;
    checkCgUpdates(arena, () => arena.f64(101), 14);
  });

  it('a whole tortuosity solve gives the same answer and iterations with either kernels', () => {
    const rng = createRng(7);
    for (const shape of [[13, 7, 35], [20, 21, 19], [1, 9, 8]] as Shape3[]) {
      const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
      for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.7 ? 0 : 1;
      for (const axis of ['x', 'y', 'z'] as const) {
        const w = tortuosity(data, shape, 0, axis);
        const j = tortuosity(data, shape, 0, axis, { kernels: 'js' });
        expect(w.kernels).toBe('wasm');
        expect(j.kernels).toBe('js');
        if (!Number.isFinite(j.tau)) {
          expect(w.tau).toBe(Infinity);
          continue;
        }
        expect(Math.abs(w.tau - j.tau) / j.tau, `${shape.join('×')} ${axis}`).toBeLessThan(1e-6);
        expect(Math.abs(w.iterations - j.iterations)).toBeLessThanOrEqual(1);
      }
    }
  });

  // Float32 storage of the fine level (issue #20): the fused f32 cycle halves smoothRestrict32 /
  // prolongSmooth32, which compute in f32, agree with the f64 cycle to f32 rounding. (The f32
  // CG updates are dirPAp32 / rUpdateAp32, tested below; matvec32, rUpdate32 and the exported
  // xpby32 were removed as unused — #20 review.)
  it('the f32 multigrid cycle equals the f64 one to f32 rounding on porous levels with clusters removed', () => {
    // Porous (ε = 0.7, 0.85) levels after cluster removal, as the solver builds them: inactive
    // cells inside the grid, where the f32 residual (the three neighbours ahead, no
    // cancellation: kernels.wat residualRow) relies on x = 0. Row length 2 besides the odd ones.
    for (const n of [...shapes, [8, 7, 2]] as Shape3[]) {
      const size = (n[0] + 2) * (n[1] + 2) * (n[2] + 2);
      const arena = WasmArena.create(WasmArena.bytesFor([size, size], [size + 1, size + 1], [size]) * 4, LUTS)!;
      // ε = 0.85 where an axis has length 1 (a square lattice percolates only above ε ≈ 0.59).
      const L = randomMaskLevel(n, n.includes(1) ? 0.85 : 0.7, 11, arena.u8(size), true);
      let active = 0;
      for (let i = 0; i < size; i++) if (L.mask![i]) active++;
      expect(active, n.join('×')).toBeGreaterThan(0);
      expect(active, n.join('×')).toBeLessThan(n[0] * n[1] * n[2]);
      const x64 = activeVector(L, arena.f64(size), 5);
      const x32 = arena.f32v(size);
      x32.set(x64.subarray(0, size));
      // Compare on the f32-rounded input, so only the cycle's own rounding differs.
      for (let i = 0; i < size; i++) x64[i] = x32[i];
      const mg = new Multigrid(L, { arena });
      const z64 = arena.f64(size);
      const z32 = arena.f32v(size);
      const a64 = mg.apply(x64, z64);
      const a32 = mg.apply(x32, z32);
      // f32 carries 24 bits (unit roundoff 2⁻²⁴ ≈ 6e-8); the two fine-level sweeps, the residual
      // and the prolongation round each value a few times, and the Gauss–Seidel chain carries
      // rounding along a row. 1e-6 (≈ 16 units of roundoff, relative to the largest entry) leaves
      // room for that; measured ≤ 1.1e-7 (z) and ≤ 4.3e-8 (r·z) on these levels, while a wrong
      // neighbour or a missing ω term (an error of order one) is far above it.
      expect(maxRelDiff(Float64Array.from(z32), z64), n.join('×')).toBeLessThan(1e-6);
      expect(Math.abs(a32 - a64) / Math.abs(a64), n.join('×')).toBeLessThan(1e-6);
      // Inactive and ghost cells are 0 in the f32 result, as the next cycle's residual needs.
      for (let i = 0; i < size; i++) if (!L.mask![i]) expect(z32[i] === 0, `cell ${i}: ${z32[i]}`).toBe(true); // ±0
      // The fused f32 kernels start from z = 0 without reading z (apply does not clear it):
      // garbage in the interior of z, active or inactive cells, must not change the result.
      const first = Float32Array.from(z32);
      for (let a = 1; a <= n[0]; a++) for (let c = 1; c <= n[1]; c++) for (let e = 1; e <= n[2]; e++) z32[a * L.s0 + c * L.s1 + e] = 1e6 * (e - c);
      expect(mg.apply(x32, z32)).toBe(a32);
      expect(z32).toEqual(first);
    }
    const arena = WasmArena.create(WasmArena.bytesFor([], [102], []), LUTS)!;
    expect(arena.f32v(101).length).toBe(102);
  });

  // CG without a stored q (issue #20): the new direction p = z + βp with p·Ap, and r −= αAp
  // with Ap recomputed, against the JavaScript operator on the same f32 inputs.
  it('f32 direction (p = z + βp, p·Ap) and residual (r −= αAp) kernels equal the JavaScript formulas', () => {
    // Odd and even row lengths and plane sizes (the direction pass rounds a plane up to even).
    for (const n of [...shapes, [6, 5, 4], [4, 6, 7]] as Shape3[]) {
      const size = (n[0] + 2) * (n[1] + 2) * (n[2] + 2);
      const arena = WasmArena.create(WasmArena.bytesFor([], [size + 1, size + 1, size + 1], [size]), LUTS)!;
      const L = randomMaskLevel(n, 0.7, 13, arena.u8(size));
      const [p, z, r] = [0, 1, 2].map(() => arena.f32v(size));
      p.set(activeVector(L, new Float64Array(size), 6));
      z.set(activeVector(L, new Float64Array(size), 7));
      r.set(activeVector(L, new Float64Array(size), 8));
      const beta = 0.37;
      const alpha = 1.9;
      // Reference: p' = fround(z + βp) (the f32 store), then p'·Ap' and r − αAp' in f64.
      const p1 = new Float64Array(size);
      for (let i = 0; i < size; i++) p1[i] = Math.fround(z[i] + beta * p[i]);
      const Ap = new Float64Array(size);
      const want = applyOperator(L, p1, Ap);
      const got = arena.direction32(L, L.mask!, p, z, beta);
      expect(Array.from(p.subarray(0, size)), n.join('×')).toEqual(Array.from(p1));
      expect(Math.abs(got - want) / Math.abs(want), n.join('×')).toBeLessThan(1e-12);
      const r1 = new Float64Array(size);
      let rr = 0;
      for (let i = 0; i < size; i++) {
        r1[i] = Math.fround(r[i] - alpha * Ap[i]);
        rr += r1[i] * r1[i];
      }
      const rrGot = arena.residual32(L, L.mask!, r, p, alpha);
      expect(maxRelDiff(Float64Array.from(r), r1), n.join('×')).toBeLessThan(1e-6);
      expect(Math.abs(rrGot - rr) / rr).toBeLessThan(1e-6);
      // Ghost and inactive cells stay 0 (the binary level's invariant).
      for (let i = 0; i < size; i++) if (!L.mask![i]) expect(p[i] === 0 && r[i] === 0, `cell ${i}`).toBe(true);
    }
  });

  it('a float32 solve gives τ as close to the converged τ as the float64 solve; auto keeps float64 where it fits', () => {
    const rng = createRng(17);
    for (const shape of [[24, 20, 22], [31, 16, 40]] as Shape3[]) {
      const data = new Uint8Array(shape[0] * shape[1] * shape[2]);
      for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.65 ? 0 : 1;
      for (const axis of ['x', 'z'] as const) {
        const d = tortuosity(data, shape, 0, axis);
        const f = tortuosity(data, shape, 0, axis, { precision: 'float32' });
        expect(d.precision).toBe('float64');
        expect(f.precision).toBe('float32');
        expect(f.converged).toBe(true);
        // Against a solve converged far beyond the default stopping test: the default test
        // (relative residual 1e-5, currents balanced to 1e-4) leaves up to ≈ 2e-5 of τ here in
        // either precision, so f32 and f64 are compared through it, not with each other (they
        // can stop one iteration apart when the current balance crosses 1e-4 between them).
        const exact = tortuosity(data, shape, 0, axis, { kernels: 'js', tol: 1e-12, fluxTol: 1e-12 });
        expect(Math.abs(d.tau - exact.tau) / exact.tau, `${shape.join('×')} ${axis} f64`).toBeLessThan(3e-5);
        expect(Math.abs(f.tau - exact.tau) / exact.tau, `${shape.join('×')} ${axis} f32`).toBeLessThan(3e-5);
        expect(Math.abs(f.iterations - d.iterations)).toBeLessThanOrEqual(2);
        // And directly, the bound on float32 (#20: |Δτ| ≤ 1e-4 relative).
        expect(Math.abs(f.tau - d.tau) / d.tau, `${shape.join('×')} ${axis} f32 vs f64`).toBeLessThanOrEqual(1e-4);
      }
    }
    // JavaScript kernels have no f32 storage.
    expect(tortuosity(new Uint8Array(8 * 8 * 8), [8, 8, 8], 0, 'x', { precision: 'float32', kernels: 'js' }).precision).toBe('float64');
  });

  it('places arrays beyond 2 GiB (offsets past 2³¹; the f32 arena of a 500³ solve is ≈ 3.5 GiB)', () => {
    const arena = WasmArena.create(2 ** 31 + 2 ** 22, LUTS);
    expect(arena).not.toBeNull();
    const a = arena!.f32v(2 ** 29 - 1);
    const b = arena!.f32v(1000);
    expect(a.length).toBe(2 ** 29);
    expect(b.byteOffset).toBeGreaterThanOrEqual(2 ** 31);
    expect(b.byteOffset % 16).toBe(0);
  });

  it('refuses an arena larger than wasm32 can address', () => {
    expect(WasmArena.create(2 ** 32, LUTS)).toBeNull();
  });
});
