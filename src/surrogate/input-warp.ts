/**
 * Input warping learnt with the GP's hyper-parameters (Snoek, Swersky, Zemel & Adams, "Input
 * warping for Bayesian optimization of non-stationary functions", ICML 2014): each input of the
 * unit cube goes through a Kumaraswamy CDF
 *
 *   w(x) = 1 − (1 − x^a)^b,   a, b > 0,
 *
 * before the stationary Matérn-5/2 kernel (./gp.ts), and (ln a_k, ln b_k) are fitted jointly
 * with the hyper-parameters by MAP, with log-normal priors ln a, ln b ~ N(0, 0.75) as BoTorch's
 * `Warp` input transform uses; a = b = 1 is the identity and the prior median. Inputs are clamped
 * to [ε, 1 − ε] first (BoTorch does the same), so ln x and ln(1 − x^a) stay finite. Used by gp-bo's
 * `inputWarp: 'kumaraswamy'` (issue #12).
 *
 * Only the given columns are warped (BoTorch's `Warp` takes the indices to warp): gp-bo passes
 * the continuous and integer coordinates, not one-hot ones. On a two-valued column a warp only
 * changes w(1) − w(0), which the length-scale already sets, and at a ≈ e⁻³ it puts w(ε) near
 * 0.5, so two categories could collapse together (issue #12 review). The other columns pass
 * through unchanged and have no warp parameters, in the fit or in its prior.
 */
import type { Rng } from '../core/rng.js';
import { clipHyper, fitSubset, fromVec, GaussianProcess, logPosterior, multiStartMap, standardise, toVec, type GpHyper } from './gp.js';

/** Kumaraswamy parameters, on the log scale, of the warped columns: logA[j] and logB[j] warp column columns[j]. */
export interface KumaraswamyParams {
  columns: number[];
  logA: number[];
  logB: number[];
}

const EPS = 1e-6;
/** Prior sd of ln a and ln b (variance 0.75, as BoTorch's LogNormal(0, 0.75^½) concentration priors). */
const PRIOR_SD = Math.sqrt(0.75);
/** Box for ln a, ln b: a, b in [e^−3, e^3] ≈ [0.05, 20], 3.5 prior sd either side of the identity. */
const BOUND = 3;

/** w(v) for a, b, with the clamped input c, u = c^a and (1 − u)^b that its derivatives reuse. */
function warpValue(v: number, a: number, b: number): { c: number; u: number; vb: number; z: number } {
  const c = Math.min(1 - EPS, Math.max(EPS, v));
  const u = c ** a;
  const vb = (1 - u) ** b;
  return { c, u, vb, z: 1 - vb };
}

/** The warp of a point: its warped columns through their Kumaraswamy CDFs, the others unchanged. */
export function kumaraswamy(p: KumaraswamyParams): (x: readonly number[]) => number[] {
  const a = p.logA.map(Math.exp);
  const b = p.logB.map(Math.exp);
  return (x) => {
    const z = [...x];
    p.columns.forEach((k, j) => (z[k] = warpValue(x[k], a[j], b[j]).z));
    return z;
  };
}

/**
 * Warped inputs and the derivatives of each warped column with respect to its ln a and ln b:
 * ∂w/∂ln a = a b (1 − u)^{b−1} u ln c and ∂w/∂ln b = −b (1 − u)^b ln(1 − u), u = c^a.
 */
function warpWithGradient(x: readonly number[][], p: KumaraswamyParams): { z: number[][]; da: number[][]; db: number[][] } {
  const a = p.logA.map(Math.exp);
  const b = p.logB.map(Math.exp);
  const z: number[][] = [];
  const da: number[][] = [];
  const db: number[][] = [];
  for (const row of x) {
    const zr = [...row];
    const ar: number[] = [];
    const br: number[] = [];
    p.columns.forEach((k, j) => {
      const w = warpValue(row[k], a[j], b[j]);
      zr[k] = w.z;
      ar.push(a[j] * b[j] * (w.vb / (1 - w.u)) * w.u * Math.log(w.c));
      br.push(-b[j] * w.vb * Math.log(1 - w.u));
    });
    z.push(zr);
    da.push(ar);
    db.push(br);
  }
  return { z, da, db };
}

/**
 * Log posterior of the hyper-parameters and the warp of `columns` (m of them),
 * θ = [ln ℓ (d), ln s², ln σ², ln a (m), ln b (m)], on standardised targets, with its gradient:
 * ./gp.ts logPosterior on the warped inputs, its input gradient chained through the warp, plus
 * the warp's prior.
 */
export function warpedLogPosterior(x: readonly number[][], y: readonly number[], theta: readonly number[], columns: readonly number[]): { value: number; gradient: number[] } {
  const d = x[0].length;
  const m = columns.length;
  const warp = { columns: [...columns], logA: theta.slice(d + 2, d + 2 + m), logB: theta.slice(d + 2 + m, d + 2 + 2 * m) };
  const { z, da, db } = warpWithGradient(x, warp);
  const f = logPosterior(z, y, fromVec(theta.slice(0, d + 2), d), true);
  const gx = f.inputGradient!;
  const ga = new Array<number>(m).fill(0);
  const gb = new Array<number>(m).fill(0);
  for (let i = 0; i < x.length; i++) {
    columns.forEach((k, j) => {
      ga[j] += gx[i * d + k] * da[i][j];
      gb[j] += gx[i * d + k] * db[i][j];
    });
  }
  let value = f.value;
  const prior = (t: number, g: number) => {
    value -= 0.5 * (t / PRIOR_SD) ** 2 + Math.log(PRIOR_SD * Math.sqrt(2 * Math.PI));
    return g - t / (PRIOR_SD * PRIOR_SD);
  };
  const gradient = [...f.gradient, ...ga.map((g, j) => prior(warp.logA[j], g)), ...gb.map((g, j) => prior(warp.logB[j], g))];
  return { value, gradient };
}

/** A GP on Kumaraswamy-warped inputs: the GP (conditioned on the warped x), the warp and its parameters. */
export interface WarpedGp {
  gp: GaussianProcess;
  params: KumaraswamyParams;
  warp: (x: readonly number[]) => number[];
}

/**
 * MAP fit of the GP hyper-parameters and the warp of `columns`, with the starts of
 * GaussianProcess.fit (./gp.ts multiStartMap: the warm start when it warps the same columns, the
 * prior median — identity warp — and `restarts` draws from the prior; iRprop−; at most
 * `maxFitPoints` points), then the GP conditioned on every warped point.
 */
export function fitWarpedGp(
  x: number[][],
  y: number[],
  o: { columns: readonly number[]; rng: Rng; restarts: number; maxFitPoints: number; init?: { hyper: GpHyper; warp: KumaraswamyParams }; iterations?: number; minNoiseVar?: number },
): WarpedGp {
  const d = x[0].length;
  const m = o.columns.length;
  const st = standardise(y);
  const sub = fitSubset(x, y.map((v) => (v - st.mean) / st.std), o.maxFitPoints, o.rng);
  const minNoise = o.minNoiseVar ?? 1e-4;
  const sameWarp = o.init && o.init.hyper.logLengthscales.length === d && o.init.warp.columns.join() === o.columns.join();
  const warm = sameWarp ? [...toVec(o.init!.hyper), ...o.init!.warp.logA, ...o.init!.warp.logB] : undefined;
  const draw = () => Array.from({ length: m }, () => PRIOR_SD * o.rng.normal());
  const extra = { median: new Array<number>(2 * m).fill(0), draw: () => [...draw(), ...draw()] };
  const clip = (t: number[]) => [...clipHyper(t.slice(0, d + 2), d, minNoise), ...t.slice(d + 2).map((v) => Math.min(BOUND, Math.max(-BOUND, v)))];
  const theta = multiStartMap(d, (t) => warpedLogPosterior(sub.x, sub.y, t, o.columns), clip, { rng: o.rng, restarts: o.restarts, iterations: o.iterations ?? 60, warm, extra });
  const params = { columns: [...o.columns], logA: theta.slice(d + 2, d + 2 + m), logB: theta.slice(d + 2 + m) };
  const warp = kumaraswamy(params);
  return { gp: new GaussianProcess(x.map(warp), y, fromVec(theta.slice(0, d + 2), d), st), params, warp };
}
