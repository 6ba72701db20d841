/**
 * Posterior sample functions of the Matérn-5/2 GP of ./gp.ts, for Thompson sampling (gp-bo's
 * `acquisition: 'thompson'`, issues #12 and #21).
 *
 * Prior: random Fourier features (Rahimi & Recht, NeurIPS 2007). By Bochner's theorem the
 * Matérn-ν kernel is s² E_ω[cos(ωᵀ(x − x'))] with ω the multivariate Student-t with 2ν degrees
 * of freedom scaled by the inverse length-scales (Rasmussen & Williams 2006, eq. 4.15); for
 * ν = 5/2: ω = z ⊘ ℓ · √(5/g), z ~ N(0, I), g ~ χ²₅. With M features
 *   f(x) = √(2s²/M) Σ_j w_j cos(ω_jᵀx + b_j),   w_j ~ N(0, 1), b_j ~ U(0, 2π),
 * is a prior sample whose covariance is the kernel in expectation over the features.
 *
 * Posterior: pathwise conditioning (Wilson et al., "Efficiently sampling functions from
 * Gaussian process posteriors", ICML 2020, eq. 13, "decoupled sampling"): with ε ~ N(0, σ²I),
 *   f*(x) = f(x) + k(x, X)(K + σ²I)⁻¹(y − f(X) − ε),
 * the exact GP update of the prior sample on the data, so the sample's mean and covariance are
 * the GP posterior's in expectation over the features (the RFF error stays in the prior part,
 * away from the data, instead of growing with n as in weight-space sampling). Cost per sample:
 * O(M d n + n²) once, then O((M + n) d) per point — cheap for n up to a few hundred.
 */
import type { Rng } from '../core/rng.js';
import { matern52, type GaussianProcess } from './gp.js';

/** Features per sample: the number BoTorch's get_gp_samples uses by default. */
export const DEFAULT_FEATURES = 1024;

/** φ(x) with φ(x)ᵀφ(x') ≈ s²·Matérn-5/2(x, x') for the given ln length-scales and signal variance. */
export function maternFeatures(logLengthscales: readonly number[], signalVar: number, features: number, rng: Rng): (x: readonly number[]) => Float64Array {
  if (!Number.isInteger(features) || features < 1) throw new Error(`features must be a positive integer (got ${features})`);
  const d = logLengthscales.length;
  const invL = logLengthscales.map((v) => Math.exp(-v));
  const omega = new Float64Array(features * d);
  const phase = new Float64Array(features);
  for (let j = 0; j < features; j++) {
    let g = 0;
    for (let t = 0; t < 5; t++) g += rng.normal() ** 2;
    const scale = Math.sqrt(5 / g);
    for (let k = 0; k < d; k++) omega[j * d + k] = rng.normal() * scale * invL[k];
    phase[j] = 2 * Math.PI * rng.next();
  }
  const amp = Math.sqrt((2 * signalVar) / features);
  return (x) => {
    const phi = new Float64Array(features);
    for (let j = 0; j < features; j++) {
      let a = phase[j];
      for (let k = 0; k < d; k++) a += omega[j * d + k] * x[k];
      phi[j] = amp * Math.cos(a);
    }
    return phi;
  };
}

/**
 * One sample function of the GP's posterior over the latent function (noise excluded), in the
 * GP's target units, evaluated at each row of xs. Every draw comes from rng: the same GP and rng
 * state give the same function.
 */
export function posteriorSample(gp: GaussianProcess, rng: Rng, features = DEFAULT_FEATURES): (xs: readonly (readonly number[])[]) => number[] {
  const { logLengthscales, logSignalVar, logNoiseVar } = gp.hyper;
  // The features below are the Matérn kernel's alone; a sample of a GP with a basis term in its
  // kernel (issue #16, mobo's trends 'bayes-quadratic', 'auto-bayes', 'bayes-second-order') would
  // silently drop that term.
  if (gp.hyper.logBasisVars) throw new Error('posteriorSample: GPs with a basis term in the kernel are not supported');
  const s2 = Math.exp(logSignalVar);
  const phi = maternFeatures(logLengthscales, s2, features, rng);
  const w = Float64Array.from({ length: features }, () => rng.normal());
  const prior = (x: readonly number[]): number => {
    const p = phi(x);
    let f = 0;
    for (let j = 0; j < features; j++) f += w[j] * p[j];
    return f;
  };
  const { mean: ym, std: ys } = gp.targetScale;
  const noiseSd = Math.sqrt(Math.exp(logNoiseVar));
  const v = gp.solve(gp.y.map((y, i) => (y - ym) / ys - prior(gp.x[i]) - noiseSd * rng.normal()));
  const invL2 = Float64Array.from(logLengthscales, (l) => Math.exp(-2 * l));
  return (xs) =>
    xs.map((q) => {
      let f = prior(q);
      for (let i = 0; i < gp.x.length; i++) f += s2 * matern52(q, gp.x[i], invL2) * v[i];
      return ym + ys * f;
    });
}
