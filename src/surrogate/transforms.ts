/**
 * Output transforms and normalisation of the surrogates (issue #5). Networks learn best on
 * targets that are roughly Gaussian and O(1):
 * - `log`: permeability spans decades (Carman–Kozeny: k ∝ ε³/S²), so it is learnt as ln k.
 * - `reciprocal`: tortuosity factor τ ≥ 1 is unbounded and τ = ∞ for a phase that does not
 *   percolate; 1/τ (the "formation factor" ratio D_eff/(ε D)) lies in [0, 1] and maps τ = ∞ to 0.
 * - `identity`: everything else (porosity, conductivities of mixed sign range, performance) —
 *   except that, given the training targets, a property left at identity whose every value is
 *   > 0 is learnt as `log` too (`checkTransforms`), so its predictions stay positive.
 * The inverse of `reciprocal` maps predictions ≤ 0 to τ = ∞ (predicted non-percolating).
 */
import { BadInputError } from '../core/errors.js';

export type TransformName = 'identity' | 'log' | 'reciprocal';

export const TRANSFORMS: readonly TransformName[] = ['identity', 'log', 'reciprocal'];

/** Default transform by property name: permeability → log, tortuosity (tau…) → reciprocal. */
export function defaultTransform(property: string): TransformName {
  const p = property.toLowerCase();
  if (p.includes('permeab')) return 'log';
  if (p.startsWith('tau') || p.includes('tortuosity')) return 'reciprocal';
  return 'identity';
}

export function forward(t: TransformName, v: number): number {
  if (Number.isNaN(v)) return NaN;
  switch (t) {
    case 'identity':
      return v;
    case 'log':
      // ln 0 is -∞: no finite network output reaches it, so treat it as missing.
      return v > 0 ? Math.log(v) : NaN;
    case 'reciprocal':
      return v === Infinity ? 0 : v > 0 ? 1 / v : NaN;
  }
}

export function inverse(t: TransformName, u: number): number {
  switch (t) {
    case 'identity':
      return u;
    case 'log':
      return Math.exp(u);
    case 'reciprocal':
      return u > 0 ? 1 / u : Infinity;
  }
}

/** |d inverse(u)/du|: carries a σ in the transformed space back to the property's unit. */
export function inverseSlope(t: TransformName, u: number): number {
  switch (t) {
    case 'identity':
      return 1;
    case 'log':
      return Math.exp(u);
    case 'reciprocal':
      return u > 0 ? 1 / (u * u) : Infinity;
  }
}

/**
 * The transform of each output: as given, else by name (`defaultTransform`). With the training
 * targets `y`, an output that would be `identity` and whose finite values are all > 0 is learnt
 * as `log` instead: strictly positive quantities stay positive (issue #12: the twin-less
 * Predictor predicted conductivities of −11 to −40 S/m, which left the reward empty). One
 * value ≤ 0 in the data (a sample that does not conduct) keeps it linear; a transform given
 * explicitly is never changed.
 */
export function checkTransforms(outputs: readonly string[], given: Record<string, string> | undefined, y?: readonly (readonly number[])[]): TransformName[] {
  for (const [k, v] of Object.entries(given ?? {})) {
    if (!outputs.includes(k)) throw new BadInputError(`transform given for unknown property '${k}' (outputs: ${outputs.join(', ')})`, 'transforms');
    if (!TRANSFORMS.includes(v as TransformName)) throw new BadInputError(`unknown transform '${v}' for '${k}' (allowed: ${TRANSFORMS.join(', ')})`, 'transforms');
  }
  return outputs.map((o, j) => {
    const explicit = given?.[o] as TransformName | undefined;
    if (explicit) return explicit;
    const byName = defaultTransform(o);
    if (byName !== 'identity' || !y) return byName;
    const values = y.map((r) => r[j]).filter(Number.isFinite);
    return values.length > 0 && values.every((v) => v > 0) ? 'log' : 'identity';
  });
}

/** Per-column mean and standard deviation over finite values (σ = 1 for constant columns). */
export interface Standardiser {
  mean: number[];
  std: number[];
}

export function fitStandardiser(rows: readonly (readonly number[])[], width: number): Standardiser {
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < width; j++) {
    let n = 0;
    let s = 0;
    let s2 = 0;
    for (const r of rows) {
      const v = r[j];
      if (Number.isFinite(v)) {
        n++;
        s += v;
        s2 += v * v;
      }
    }
    const m = n > 0 ? s / n : 0;
    const sd = n > 1 ? Math.sqrt(Math.max(0, s2 / n - m * m)) : 0;
    mean.push(m);
    std.push(sd > 1e-12 * Math.max(1, Math.abs(m)) ? sd : 1);
  }
  return { mean, std };
}

/** Standardises into a flat Float32Array; non-finite inputs (missing) become 0, the mean. */
export function standardise(rows: readonly (readonly number[])[], st: Standardiser, keepNaN = false): Float32Array {
  const w = st.mean.length;
  const out = new Float32Array(rows.length * w);
  for (let i = 0; i < rows.length; i++) {
    for (let j = 0; j < w; j++) {
      const v = (rows[i][j] - st.mean[j]) / st.std[j];
      out[i * w + j] = Number.isFinite(v) ? v : keepNaN ? NaN : 0;
    }
  }
  return out;
}
