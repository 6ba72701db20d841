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
 */
import type { Rng } from '../core/rng.js';
import { clipHyper, defaultHyper, fitSubset, fromVec, GaussianProcess, hyperPrior, logPosterior, rprop, standardise, toVec, type GpHyper } from './gp.js';

/** Kumaraswamy parameters of each input, on the log scale. */
export interface KumaraswamyParams {
  logA: number[];
  logB: number[];
}

const EPS = 1e-6;
/** Prior sd of ln a and ln b (variance 0.75, as BoTorch's LogNormal(0, 0.75^½) concentration priors). */
const PRIOR_SD = Math.sqrt(0.75);
/** Box for ln a, ln b: a, b in [e^−3, e^3] ≈ [0.05, 20], 3.5 prior sd either side of the identity. */
const BOUND = 3;

/** The warp of each input for the given parameters. */
export function kumaraswamy(p: KumaraswamyParams): (x: readonly number[]) => number[] {
  const a = p.logA.map(Math.exp);
  const b = p.logB.map(Math.exp);
  return (x) =>
    x.map((v, k) => {
      const c = Math.min(1 - EPS, Math.max(EPS, v));
      return 1 - (1 - c ** a[k]) ** b[k];
    });
}

/**
 * Warped inputs and the derivatives of each with respect to ln a_k and ln b_k:
 * ∂w/∂ln a = a b (1 − u)^{b−1} u ln c and ∂w/∂ln b = −b (1 − u)^b ln(1 − u), u = c^a.
 */
function warpWithGradient(x: readonly number[][], p: KumaraswamyParams): { z: number[][]; da: number[][]; db: number[][] } {
  const z: number[][] = [];
  const da: number[][] = [];
  const db: number[][] = [];
  for (const row of x) {
    const zr: number[] = [];
    const ar: number[] = [];
    const br: number[] = [];
    row.forEach((v, k) => {
      const a = Math.exp(p.logA[k]);
      const b = Math.exp(p.logB[k]);
      const c = Math.min(1 - EPS, Math.max(EPS, v));
      const u = c ** a;
      const vb = (1 - u) ** b;
      zr.push(1 - vb);
      ar.push(a * b * (vb / (1 - u)) * u * Math.log(c));
      br.push(-b * vb * Math.log(1 - u));
    });
    z.push(zr);
    da.push(ar);
    db.push(br);
  }
  return { z, da, db };
}

/**
 * Log posterior of the hyper-parameters and warp, θ = [ln ℓ (d), ln s², ln σ², ln a (d), ln b (d)],
 * on standardised targets, with its gradient: ./gp.ts logPosterior on the warped inputs, its
 * input gradient chained through the warp, plus the warp's prior.
 */
export function warpedLogPosterior(x: readonly number[][], y: readonly number[], theta: readonly number[]): { value: number; gradient: number[] } {
  const d = x[0].length;
  const warp = { logA: theta.slice(d + 2, 2 * d + 2), logB: theta.slice(2 * d + 2, 3 * d + 2) };
  const { z, da, db } = warpWithGradient(x, warp);
  const f = logPosterior(z, y, fromVec([...theta.slice(0, d + 2)], d), true);
  const gx = f.inputGradient!;
  const ga = new Array<number>(d).fill(0);
  const gb = new Array<number>(d).fill(0);
  for (let i = 0; i < x.length; i++) {
    for (let k = 0; k < d; k++) {
      ga[k] += gx[i * d + k] * da[i][k];
      gb[k] += gx[i * d + k] * db[i][k];
    }
  }
  let value = f.value;
  const prior = (t: number, g: number) => {
    value -= 0.5 * (t / PRIOR_SD) ** 2 + Math.log(PRIOR_SD * Math.sqrt(2 * Math.PI));
    return g - t / (PRIOR_SD * PRIOR_SD);
  };
  const gradient = [...f.gradient, ...ga.map((g, k) => prior(warp.logA[k], g)), ...gb.map((g, k) => prior(warp.logB[k], g))];
  return { value, gradient };
}

/** A GP on Kumaraswamy-warped inputs: the GP (conditioned on the warped x), the warp and its parameters. */
export interface WarpedGp {
  gp: GaussianProcess;
  params: KumaraswamyParams;
  warp: (x: readonly number[]) => number[];
}

/**
 * MAP fit of the GP hyper-parameters and the warp, as GaussianProcess.fit (same starts: the warm
 * start, the prior median — identity warp — and `restarts` draws from the prior; iRprop−; at
 * most `maxFitPoints` points), then the GP conditioned on every warped point.
 */
export function fitWarpedGp(x: number[][], y: number[], o: { rng: Rng; restarts: number; maxFitPoints: number; init?: { hyper: GpHyper; warp: KumaraswamyParams }; iterations?: number; minNoiseVar?: number }): WarpedGp {
  const d = x[0].length;
  const st = standardise(y);
  const sub = fitSubset(x, y.map((v) => (v - st.mean) / st.std), o.maxFitPoints, o.rng);
  const minNoise = o.minNoiseVar ?? 1e-4;
  const vec = (h: GpHyper, w: KumaraswamyParams) => [...toVec(h), ...w.logA, ...w.logB];
  const identity = { logA: new Array<number>(d).fill(0), logB: new Array<number>(d).fill(0) };
  const starts: number[][] = [];
  if (o.init && o.init.hyper.logLengthscales.length === d) starts.push(vec(o.init.hyper, o.init.warp));
  starts.push(vec(defaultHyper(d), identity));
  const prior = hyperPrior(d);
  for (let r = 0; r < o.restarts; r++) {
    const h = fromVec(prior.mean.map((m, i) => m + prior.sd[i] * o.rng.normal()), d);
    const draw = () => Array.from({ length: d }, () => PRIOR_SD * o.rng.normal());
    starts.push(vec(h, { logA: draw(), logB: draw() }));
  }
  const clip = (t: number[]) => [...clipHyper(t.slice(0, d + 2), d, minNoise), ...t.slice(d + 2).map((v) => Math.min(BOUND, Math.max(-BOUND, v)))];
  let best = { theta: vec(defaultHyper(d), identity), value: -Infinity };
  for (const s of starts) {
    const r = rprop((t) => warpedLogPosterior(sub.x, sub.y, t), s, clip, o.iterations ?? 60);
    if (r.value > best.value) best = r;
  }
  const params = { logA: best.theta.slice(d + 2, 2 * d + 2), logB: best.theta.slice(2 * d + 2) };
  const warp = kumaraswamy(params);
  return { gp: new GaussianProcess(x.map(warp), y, fromVec(best.theta.slice(0, d + 2), d), st), params, warp };
}
