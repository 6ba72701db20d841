/**
 * Scrambled Sobol' sequence (Sobol' 1967; generator of Bratley & Fox 1988 with the Joe & Kuo
 * 2008 direction numbers, 32-bit, up to 65 dimensions).
 *
 * Scrambling: Owen's nested uniform scramble (Owen 1995), in the hash-based form of Burley,
 * "Practical Hash-based Owen Scrambling", JCGT 9(4) 2020: reverse the bits, apply the
 * Laine–Karras permutation seeded per dimension, reverse back. Owen scrambling keeps the
 * (t, m, s)-net structure (every 2^m consecutive points from index 0 stratify each coordinate
 * into 2^m cells) while removing the unscrambled sequence's alignment with the origin and
 * with axis-aligned features. Points are taken in order from index 0.
 *
 * State: the next index and the per-dimension seeds (drawn once from the campaign Rng);
 * snapshot/restore carry both, so a resumed campaign continues the same sequence.
 * Pools: each Sobol' point is snapped to the nearest unused pool point (encoded space).
 */
import { BadInputError } from '../src/core/errors.js';
import type { Agent, AgentContext, Observation, Parameters } from '../src/core/protocols.js';
import { dimension } from '../src/core/space.js';
import { proposeFromStream, readOptions } from './common.js';
import { JOE_KUO } from './sobol-directions.js';

export const SOBOL_MAX_DIMENSION = JOE_KUO.length + 1;

/** 32 direction integers V[0..31] for each of d dimensions. */
export function sobolDirections(d: number): Uint32Array[] {
  if (d > SOBOL_MAX_DIMENSION) throw new BadInputError(`Sobol' supports at most ${SOBOL_MAX_DIMENSION} encoded dimensions (got ${d})`, 'agent.sobol');
  const dirs: Uint32Array[] = [];
  for (let j = 0; j < d; j++) {
    const v = new Uint32Array(32);
    if (j === 0) {
      for (let i = 0; i < 32; i++) v[i] = 2 ** (31 - i);
    } else {
      const [s, a, m] = JOE_KUO[j - 1];
      for (let i = 0; i < Math.min(s, 32); i++) v[i] = (m[i] * 2 ** (31 - i)) >>> 0;
      for (let i = s; i < 32; i++) {
        let x = v[i - s] ^ (v[i - s] >>> s);
        for (let k = 1; k < s; k++) if ((a >>> (s - 1 - k)) & 1) x ^= v[i - k];
        v[i] = x >>> 0;
      }
    }
    dirs.push(v);
  }
  return dirs;
}

/** Unscrambled 32-bit Sobol' integer of point n in dimension with directions v (Gray-code form). */
export function sobolInteger(v: Uint32Array, n: number): number {
  let g = (n ^ (n >>> 1)) >>> 0;
  let x = 0;
  for (let b = 0; g !== 0; b++, g >>>= 1) if (g & 1) x ^= v[b];
  return x >>> 0;
}

function reverseBits(x: number): number {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return ((x >>> 16) | (x << 16)) >>> 0;
}

/** Burley 2020, listing 2: hash-based nested uniform (Owen) scramble of a 32-bit fraction. */
export function owenScramble(x: number, seed: number): number {
  x = reverseBits(x);
  x = (x + seed) >>> 0;
  x ^= Math.imul(x, 0x6c50b47c);
  x ^= Math.imul(x, 0xb82f1e52);
  x ^= Math.imul(x, 0xc7afe638);
  x ^= Math.imul(x, 0x8d22f6e6);
  return reverseBits(x >>> 0);
}

/** Point n of a (scrambled when seeds are given) Sobol' sequence, in [0,1)^d. */
export function sobolPoint(dirs: Uint32Array[], n: number, seeds?: readonly number[]): number[] {
  return dirs.map((v, j) => {
    const x = sobolInteger(v, n);
    return (seeds ? owenScramble(x, seeds[j]) : x) / 4294967296;
  });
}

interface SobolState {
  index: number;
  seeds: number[] | null;
}

export function createSobolAgent(options: Record<string, unknown> = {}): Agent {
  const opts = readOptions('sobol', { scramble: true }, options);
  let state: SobolState = { index: 0, seeds: null };
  let dirs: Uint32Array[] | null = null;
  return {
    name: 'sobol',
    // Proposals do not depend on observations: a constant lie about pending trials would change nothing (issue #21).
    pendingAware: true,
    async propose(ctx: AgentContext, k: number): Promise<Parameters[]> {
      const d = dimension(ctx.space);
      if (!dirs || dirs.length !== d) dirs = sobolDirections(d);
      if (opts.scramble && (!state.seeds || state.seeds.length !== d)) {
        state.seeds = Array.from({ length: d }, () => ctx.rng.int(4294967296));
      }
      const dd = dirs;
      return proposeFromStream(ctx, k, () => sobolPoint(dd, state.index++, opts.scramble ? state.seeds! : undefined));
    },
    async learn(_experience: readonly Observation[]): Promise<void> {},
    snapshot: (): SobolState => ({ index: state.index, seeds: state.seeds ? [...state.seeds] : null }),
    restore: (s: unknown) => {
      const t = s as SobolState;
      state = { index: t.index, seeds: t.seeds ? [...t.seeds] : null };
    },
  };
}
