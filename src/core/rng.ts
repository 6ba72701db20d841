/**
 * Seeded randomness (DESIGN.md, style rule 12): every random choice in poreloop takes an Rng
 * derived from the campaign seed, so the same config and seed reproduce the same campaign.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018) seeded through splitmix32; 32-bit state
 * words keep it exact in JavaScript integer arithmetic. `fork(label)` derives an independent
 * stream from a label so that adding a random draw in one component does not shift another's.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
  /** Independent child stream, determined by this stream's seed and the label. */
  fork(label: string): Rng;
  /** The 32-bit seed this stream was created from. */
  readonly seed: number;
}

/** FNV-1a hash of a string to 32 bits: turns labels into seed material. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return t >>> 0;
  };
}

export function createRng(seed: number): Rng {
  const s0 = seed >>> 0;
  const sm = splitmix32(s0);
  const s = new Uint32Array([sm(), sm(), sm(), sm()]);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  let spare: number | null = null;

  const nextU32 = (): number => {
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  };

  const rng: Rng = {
    seed: s0,
    next: () => nextU32() / 4294967296,
    int: (n) => Math.floor((nextU32() / 4294967296) * n),
    uniform: (a, b) => a + (b - a) * (nextU32() / 4294967296),
    normal: () => {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return v;
      }
      let u = 0;
      while (u === 0) u = nextU32() / 4294967296;
      const v = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    fork: (label) => createRng((hash32(label) ^ Math.imul(s0, 0x9e3779b1)) >>> 0),
  };
  return rng;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
