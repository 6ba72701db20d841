import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/**
 * The WebAssembly kernels of kernels.wat and the memory they work in.
 *
 * Why an arena: wasm code can only address its own linear memory, so every array a kernel
 * touches (the fine level's cell bytes, the CG vectors, the first coarse level's right-hand
 * side and correction) is allocated as a typed-array view of one WebAssembly.Memory sized for
 * the whole solve up front. The JavaScript code reads and writes the same views, so the
 * kernels can replace the hot loops one by one. The memory is never grown (growing would
 * detach every view), and a problem that does not fit in wasm32's 4 GiB runs the JavaScript
 * kernels instead (multigrid.ts); 500³ fits with f32 vectors (transport.ts, precision).
 */

/** Byte offsets of the lookup tables, fixed in kernels.wat. */
const LUT_D = 0;
const LUT_INV = 2048;
const LUT_ACT = 4096;
/** 1/D as f32, for the f32 Gauss–Seidel sweeps (issue #20). */
const LUT_INV32 = 6144;
const HEAP_START = 7168;
const PAGE = 65536;
/** wasm32 addresses at most 2³² bytes; stay a page below so offsets never wrap. */
const MAX_BYTES = 2 ** 32 - PAGE;
/**
 * Largest arena kept for the next solve (a 128³ solve needs ≈ 110 MiB). A fresh memory is
 * zeroed page by page by the kernel on first touch — about 30 000 page faults and 50–80 ms
 * of system time at 128³, 10–15 % of the solve — while clearing a kept one is one memset.
 * Workers of the physics pool and the three axes of one volume solve the same size again and
 * again; anything larger than this is returned to the system after its solve.
 */
const KEEP_BYTES = 256 * 2 ** 20;

/** The one arena kept between solves (JavaScript is single-threaded per isolate). */
let spare: WasmArena | null = null;

type Geometry = [n0: number, n1: number, n2: number, s0: number, s1: number];

interface Exports {
  matvec(x: number, y: number, m: number, ...g: Geometry): number;
  gsForward(x: number, b: number, m: number, ...g: Geometry): number;
  gsBackward(x: number, b: number, m: number, ...g: Geometry): number;
  restrict(b: number, x: number, m: number, bc: number, ...gc: [...Geometry, number, number]): void;
  prolong(xc: number, x: number, m: number, ...gc: [...Geometry, number, number]): void;
  smoothRestrictExplicit(x: number, b: number, g0: number, g1: number, g2: number, inv: number, d: number, bc: number, ...gc: [...Geometry, number, number, number]): void;
  prolongSmoothExplicit(xc: number, x: number, b: number, g0: number, g1: number, g2: number, inv: number, ...gc: [...Geometry, number, number, number]): number;
  rUpdate(r: number, q: number, alpha: number, len: number): number;
  xpby(p: number, z: number, beta: number, len: number): void;
  smoothRestrict32(x: number, b: number, m: number, bc: number, ...gc: [...Geometry, number, number]): void;
  prolongSmooth32(xc: number, x: number, b: number, m: number, ...gc: [...Geometry, number, number, number]): number;
  dirPAp32(p: number, z: number, m: number, beta: number, ...g: Geometry): number;
  rUpdateAp32(r: number, p: number, m: number, alpha: number, ...g: Geometry): number;
}

/**
 * A vector of the binary fine level: f64, or f32 storage (issue #20: half the bytes per sweep,
 * and 500³ fits in a wasm32 memory; arithmetic and dot products stay f64 in the kernels).
 * All vectors of one solve have the same type.
 */
export type FineVector = Float64Array | Float32Array;

/**
 * The part of the WebAssembly JS API used here. The project's TypeScript libs (ES2022 + Node
 * types) do not declare it, and the DOM lib would bring in much that does not exist in Node.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function kernelModule(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new WA.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A view's byte offset, after checking it lives in this arena's memory. */
function at(view: Float64Array | Float32Array | Uint8Array, buffer: ArrayBuffer): number {
  if (view.buffer !== buffer) throw new Error('internal: array is not in the kernel arena');
  return view.byteOffset;
}

export interface StencilGeometry {
  n: [number, number, number];
  s0: number;
  s1: number;
}

/** An explicit (Galerkin coarse) level: face conductances, diagonal and its inverse. */
export interface ExplicitLevel extends StencilGeometry {
  g0: Float32Array;
  g1: Float32Array;
  g2: Float32Array;
  d: Float64Array;
  invD: Float64Array;
}

export class WasmArena {
  private next = HEAP_START;
  private readonly buffer: ArrayBuffer;

  private constructor(
    private readonly memory: WasmMemory,
    private readonly k: Exports,
    readonly bytes: number,
  ) {
    this.buffer = memory.buffer;
  }

  /** Bytes an arena needs for arrays of these lengths (f64, f32 and u8 counts). */
  static bytesFor(f64Lengths: number[], f32Lengths: number[], u8Lengths: number[]): number {
    let b = HEAP_START;
    for (const n of f64Lengths) b += (n + 2) * 8 + 16;
    for (const n of f32Lengths) b += n * 4 + 16;
    for (const n of u8Lengths) b += n + 16;
    return b;
  }

  /**
   * An arena of `bytes`, with the lookup tables in place; null when WebAssembly SIMD is
   * unavailable or the memory cannot be had (over wasm32's limit, or refused by the engine).
   */
  static create(bytes: number, luts: { d: Float64Array; inv: Float64Array; act: Float64Array }): WasmArena | null {
    const mod = kernelModule();
    if (!mod || bytes > MAX_BYTES) return null;
    let memory: WasmMemory;
    try {
      memory = new WA.Memory({ initial: Math.ceil(bytes / PAGE) });
    } catch {
      return null;
    }
    const instance = new WA.Instance(mod, { env: { memory } });
    const f64 = new Float64Array(memory.buffer);
    f64.set(luts.d, LUT_D / 8);
    f64.set(luts.inv, LUT_INV / 8);
    f64.set(luts.act, LUT_ACT / 8);
    new Float32Array(memory.buffer).set(luts.inv, LUT_INV32 / 4);
    return new WasmArena(memory, instance.exports as unknown as Exports, memory.buffer.byteLength);
  }

  /**
   * An arena for `bytes`: the kept one when it is big enough (and not more than twice too
   * big), cleared, else a new one (WasmArena.create). Give it back with release().
   */
  static acquire(bytes: number, luts: { d: Float64Array; inv: Float64Array; act: Float64Array }): WasmArena | null {
    if (spare && spare.bytes >= bytes && spare.bytes <= 2 * bytes) {
      const a = spare;
      spare = null;
      new Uint8Array(a.buffer, HEAP_START, a.next - HEAP_START).fill(0);
      a.next = HEAP_START;
      return a;
    }
    return WasmArena.create(bytes, luts);
  }

  /** Keeps this arena for the next acquire() if it is small enough; its views must not be used after. */
  release(): void {
    if (this.bytes <= KEEP_BYTES && (!spare || spare.bytes < this.bytes)) spare = this;
  }

  /** Byte offset of the next 16-byte-aligned block of `bytes`, claimed from the arena. */
  private claim(bytes: number): number {
    // Not `& ~15`: JavaScript's bitwise operators are 32-bit signed, and offsets pass 2³¹ in
    // arenas over 2 GiB (f32 storage at 500³, issue #20).
    const at = Math.ceil(this.next / 16) * 16;
    this.next = at + bytes;
    if (this.next > this.bytes) throw new Error('internal: kernel arena too small');
    return at;
  }

  /**
   * A zeroed f64 array of length n rounded up to even (the two-lane kernels step by pairs;
   * the extra entry stays 0), 16-byte aligned.
   */
  f64(n: number): Float64Array {
    const len = n + (n & 1);
    return new Float64Array(this.memory.buffer, this.claim(len * 8), len);
  }

  /** A zeroed f32 vector of length n rounded up to even (for the two-lane f32 kernels), 16-byte aligned. */
  f32v(n: number): Float32Array {
    return this.f32(n + (n & 1));
  }

  /** A zeroed f32 array of length n, 16-byte aligned. */
  f32(n: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.claim(n * 4), n);
  }

  /** A zeroed byte array of length n, 16-byte aligned. */
  u8(n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.claim(n), n);
  }

  private geometry(L: StencilGeometry): Geometry {
    return [L.n[0], L.n[1], L.n[2], L.s0, L.s1];
  }

  /**
   * y = A x on a binary level with f64 vectors; returns x·y. (f32 storage never stores A p:
   * direction32 and residual32 recompute it — #20 review: no f32 variant nothing calls.)
   */
  matvec(L: StencilGeometry, mask: Uint8Array, x: Float64Array, y: Float64Array): number {
    const B = this.buffer;
    return this.k.matvec(at(x, B), at(y, B), at(mask, B), ...this.geometry(L));
  }

  /** One Gauss–Seidel sweep on a binary level (f64 vectors); returns b·x. */
  gaussSeidel(L: StencilGeometry, mask: Uint8Array, x: Float64Array, b: Float64Array, forward: boolean): number {
    const B = this.buffer;
    return (forward ? this.k.gsForward : this.k.gsBackward)(at(x, B), at(b, B), at(mask, B), ...this.geometry(L));
  }

  /** bc = Pᵀ (b − A x) from a binary level (f64 vectors) into a coarse level of strides cs0, cs1. */
  restrict(L: StencilGeometry, mask: Uint8Array, b: Float64Array, x: Float64Array, bc: Float64Array, C: StencilGeometry): void {
    const B = this.buffer;
    bc.fill(0);
    this.k.restrict(at(b, B), at(x, B), at(mask, B), at(bc, B), ...this.geometry(L), C.s0, C.s1);
  }

  /** x += P xc at the active cells of a binary level (f64 vectors). */
  prolong(L: StencilGeometry, mask: Uint8Array, xc: Float64Array, x: Float64Array, C: StencilGeometry): void {
    const B = this.buffer;
    this.k.prolong(at(xc, B), at(x, B), at(mask, B), ...this.geometry(L), C.s0, C.s1);
  }

  /**
   * First half of a multigrid cycle on a binary level with f32 vectors (issue #20): from x = 0
   * (x is overwritten, it need not be cleared), one forward Gauss–Seidel sweep in f32, then
   * bc = Pᵀ (b − A x), in one pass over memory (kernels.wat).
   */
  smoothRestrict32(L: StencilGeometry, mask: Uint8Array, b: Float32Array, x: Float32Array, bc: Float64Array, C: StencilGeometry): void {
    const B = this.buffer;
    bc.fill(0);
    this.k.smoothRestrict32(at(x, B), at(b, B), at(mask, B), at(bc, B), ...this.geometry(L), C.s0, C.s1);
  }

  /** Second half: x += ω P xc, then one backward Gauss–Seidel sweep in f32, in one pass; returns b·x. */
  prolongSmooth32(L: StencilGeometry, mask: Uint8Array, xc: Float64Array, x: Float32Array, b: Float32Array, C: StencilGeometry, omega = 1): number {
    const B = this.buffer;
    return this.k.prolongSmooth32(at(xc, B), at(x, B), at(b, B), at(mask, B), ...this.geometry(L), C.s0, C.s1, omega);
  }

  /**
   * First half of a multigrid visit of an explicit level (issue #20): one forward Gauss–Seidel
   * sweep — from x = 0 when `zero` (x is then not read) — then bc = Pᵀ (b − A x), in one pass.
   */
  smoothRestrictExplicit(L: ExplicitLevel, b: Float64Array, x: Float64Array, bc: Float64Array, C: StencilGeometry, zero: boolean): void {
    const B = this.buffer;
    bc.fill(0);
    this.k.smoothRestrictExplicit(at(x, B), at(b, B), at(L.g0, B), at(L.g1, B), at(L.g2, B), at(L.invD, B), at(L.d, B), at(bc, B), ...this.geometry(L), C.s0, C.s1, zero ? 1 : 0);
  }

  /** Second half: x += ω P xc, then one backward Gauss–Seidel sweep, in one pass; returns b·x. */
  prolongSmoothExplicit(L: ExplicitLevel, xc: Float64Array, x: Float64Array, b: Float64Array, C: StencilGeometry, omega = 1): number {
    const B = this.buffer;
    return this.k.prolongSmoothExplicit(at(xc, B), at(x, B), at(b, B), at(L.g0, B), at(L.g1, B), at(L.g2, B), at(L.invD, B), ...this.geometry(L), C.s0, C.s1, omega);
  }

  /** r −= αq over whole f64 arrays (arena arrays have even lengths); returns r·r. */
  rUpdate(r: Float64Array, q: Float64Array, alpha: number): number {
    const B = this.buffer;
    return this.k.rUpdate(at(r, B), at(q, B), alpha, r.length);
  }

  /**
   * f32 CG without a stored q = A p (issue #20): p = z + βp over whole arrays, then returns
   * p·A p, in one pass (kernels.wat dirPAp32).
   */
  direction32(L: StencilGeometry, mask: Uint8Array, p: Float32Array, z: Float32Array, beta: number): number {
    const B = this.buffer;
    return this.k.dirPAp32(at(p, B), at(z, B), at(mask, B), beta, ...this.geometry(L));
  }

  /** r −= α A p on the interior, A p recomputed from p (f32); returns r·r. */
  residual32(L: StencilGeometry, mask: Uint8Array, r: Float32Array, p: Float32Array, alpha: number): number {
    const B = this.buffer;
    return this.k.rUpdateAp32(at(r, B), at(p, B), at(mask, B), alpha, ...this.geometry(L));
  }

  /** p = z + βp over whole f64 arrays. */
  xpby(p: Float64Array, z: Float64Array, beta: number): void {
    const B = this.buffer;
    this.k.xpby(at(p, B), at(z, B), beta, p.length);
  }
}
