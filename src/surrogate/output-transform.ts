/**
 * Output transforms for a surrogate's targets, chosen by the data (issue #12): objectives of
 * real pools are often skewed or heavy-tailed (a few very good or very bad rows), which a GP
 * with Gaussian noise models badly — the outliers inflate the fitted noise and flatten the
 * model everywhere else.
 *
 * - `yeo-johnson`: the power transform of Yeo & Johnson (Biometrika 87, 2000), defined for any
 *   sign, applied to standardised targets; λ maximises the Gaussian profile log-likelihood
 *   (as scikit-learn's PowerTransformer and HEBO, Cowen-Rivers et al., JAIR 2022, do), so
 *   λ = 1 (no change) is chosen when the data are already Gaussian-looking.
 * - `copula`: rank (normal-scores) warping, Φ⁻¹((rank + ½)/n) (Salinas et al., ICML 2020):
 *   distribution-free, keeps only the order.
 * - `none`.
 * All are strictly increasing, so the best point stays the best after the transform.
 */
import { BadInputError } from '../core/errors.js';

export type OutputTransformName = 'none' | 'yeo-johnson' | 'copula';
export const OUTPUT_TRANSFORMS: readonly OutputTransformName[] = ['none', 'yeo-johnson', 'copula'];

function standardised(y: readonly number[]): number[] {
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / y.length);
  return y.map((v) => (sd > 1e-300 ? (v - mean) / sd : 0));
}

/** Yeo–Johnson ψ(λ, z). */
export function yeoJohnson(z: number, lambda: number): number {
  if (z >= 0) return Math.abs(lambda) < 1e-8 ? Math.log1p(z) : ((1 + z) ** lambda - 1) / lambda;
  return Math.abs(lambda - 2) < 1e-8 ? -Math.log1p(-z) : -((1 - z) ** (2 - lambda) - 1) / (2 - lambda);
}

/** Profile log-likelihood of λ (Yeo & Johnson 2000, eq. 3.1, up to a constant). */
function yjLogLik(z: readonly number[], lambda: number): number {
  const t = z.map((v) => yeoJohnson(v, lambda));
  const m = t.reduce((a, b) => a + b, 0) / t.length;
  const v = t.reduce((a, b) => a + (b - m) ** 2, 0) / t.length;
  let jac = 0;
  for (const x of z) jac += Math.sign(x) * Math.log1p(Math.abs(x));
  return -0.5 * z.length * Math.log(Math.max(v, 1e-300)) + (lambda - 1) * jac;
}

/** λ of maximal profile likelihood on [−2, 4]: grid of 0.1, then golden-section refinement. */
export function fitYeoJohnsonLambda(z: readonly number[]): number {
  let best = 1;
  let bestL = yjLogLik(z, 1);
  for (let lam = -2; lam <= 4 + 1e-9; lam += 0.1) {
    const l = yjLogLik(z, lam);
    if (l > bestL) [best, bestL] = [lam, l];
  }
  let a = best - 0.1;
  let b = best + 0.1;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 30; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (yjLogLik(z, c) > yjLogLik(z, d)) b = d;
    else a = c;
  }
  const mid = 0.5 * (a + b);
  return yjLogLik(z, mid) > bestL ? mid : best;
}

/** Φ⁻¹ by Acklam's rational approximation (relative error < 1.2e-9). */
export function normQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Normal scores of the ranks; tied values share their mean rank. */
function copula(y: readonly number[]): number[] {
  const n = y.length;
  const order = y.map((_, i) => i).sort((i, j) => y[i] - y[j] || i - j);
  const rank = new Array<number>(n);
  for (let s = 0; s < n; ) {
    let e = s;
    while (e + 1 < n && y[order[e + 1]] === y[order[s]]) e++;
    for (let k = s; k <= e; k++) rank[order[k]] = 0.5 * (s + e);
    s = e + 1;
  }
  return rank.map((r) => normQuantile((r + 0.5) / n));
}

/** The transformed targets (same order as y). */
export function transformOutputs(y: readonly number[], name: OutputTransformName): number[] {
  if (y.length < 3 || name === 'none') return [...y];
  if (name === 'copula') return copula(y);
  if (name === 'yeo-johnson') {
    const z = standardised(y);
    const lambda = fitYeoJohnsonLambda(z);
    return z.map((v) => yeoJohnson(v, lambda));
  }
  throw new BadInputError(`unknown output transform '${name as string}'; allowed: ${OUTPUT_TRANSFORMS.join(', ')}`, 'outputTransform');
}
