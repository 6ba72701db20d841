import { FARADAY, GAS_CONSTANT } from '../device.js';
import { factorBlockTridiagonal, solveFactored, type BlockTridiagonalFactor } from './block-tridiagonal.js';

/**
 * Li-ion pseudo-two-dimensional (Doyle–Fuller–Newman) cell model (Doyle, Fuller & Newman,
 * J. Electrochem. Soc. 140 (1993) 1526), issue 20: electrolyte concentration and potential
 * across negative electrode | separator | positive electrode, solid potential in each
 * electrode, Fickian diffusion in a spherical particle at every electrode cell, Butler–Volmer
 * kinetics at the particle surface. Isothermal, constant-current discharge.
 *
 * Method of lines: finite volumes in x (cell-centred; harmonic face conductances across region
 * boundaries) and in r (shells refined towards the surface, r_k = R(1 − (1 − k/nR)²), where the
 * slow solid diffusion of graphite keeps the gradients), backward Euler in time, full Newton at each step on
 * the block-tridiagonal Jacobian (unknowns of a cell: c_e, φ_e, φ_s, c_s,surf, c_s[0..nR)), the Jacobian
 * by finite differences coloured three cells apart (3·m residual evaluations), solved by the
 * block Thomas algorithm.
 */

export interface DfnElectrode {
  /** Thickness, m. */
  thickness: number;
  /** Electrolyte (pore) volume fraction. */
  porosity: number;
  /** Active-material volume fraction. */
  activeFraction: number;
  /** Particle radius, m. */
  particleRadius: number;
  /** Electrochemically active area per electrode volume, m⁻¹ (default 3·ε_s/R). */
  specificArea?: number;
  /** Electrolyte transport factor ε/τ (default ε^b with b = bruggeman). */
  transportFactor?: number;
  bruggeman?: number;
  /** Effective electronic conductivity, S/m. */
  conductivity: number;
  /** Maximum Li concentration in the solid, mol/m³. */
  cMax: number;
  /** Initial Li concentration in the solid, mol/m³. */
  c0: number;
  /** Open-circuit potential vs Li/Li⁺, V, of the stoichiometry. */
  ocp(sto: number): number;
  /** Solid diffusivity, m²/s. */
  diffusivity(sto: number, T: number): number;
  /** Exchange current density, A/m² (c_e, c_s,surf in mol/m³). */
  exchangeCurrent(ce: number, cs: number, cMax: number, T: number): number;
}

export interface DfnParams {
  negative: DfnElectrode;
  positive: DfnElectrode;
  separator: { thickness: number; porosity: number; transportFactor?: number; bruggeman?: number };
  electrolyte: {
    c0: number;
    tPlus: number;
    diffusivity(ce: number, T: number): number;
    conductivity(ce: number, T: number): number;
  };
  temperatureK: number;
  /** Lower cut-off voltage, V. */
  cutoffVoltage: number;
}

export interface DfnOptions {
  /** Cells in the negative electrode, separator, positive electrode; shells per particle. */
  nNeg?: number;
  nSep?: number;
  nPos?: number;
  nR?: number;
  /** Time steps per nominal discharge time (1/C). */
  stepsPerDischarge?: number;
}

export interface DfnResult {
  /** Time (s), voltage (V) and discharged capacity (Ah/m²) at each accepted step. */
  time: number[];
  voltage: number[];
  capacity: number[];
  /** Capacity delivered to the cut-off voltage, Ah/m² (interpolated at the cut-off). */
  capacityToCutoff: number;
  /** Energy delivered to the cut-off, Wh/m². */
  energyToCutoff: number;
  /** Whether the cut-off voltage was reached (false: the solid ran out first, or a step failed). */
  reachedCutoff: boolean;
  /**
   * Surface stoichiometry extremes at the last accepted step: the negative's lowest and the
   * positive's highest c_s,surf/c_max. Near 0 (negative) or 1 (positive) an electrode's surface
   * is exhausted — the end-of-discharge knee, where i0 ∝ √(c_max − c_s) → 0 and Newton can fail
   * before the cut-off voltage is crossed.
   */
  surfaceStoichiometry: { negativeMin: number; positiveMax: number };
  newtonIterations: number;
  residualEvaluations: number;
}

type Region = 0 | 1 | 2;

interface Cell {
  region: Region;
  dx: number;
  /** Electrolyte transport factor ε/τ. */
  b: number;
  eps: number;
  electrode?: DfnElectrode;
  a: number;
}

function transport(eps: number, tf: number | undefined, brugg: number | undefined): number {
  return tf ?? eps ** (brugg ?? 1.5);
}

const clampSto = (x: number) => Math.min(Math.max(x, 1e-6), 1 - 1e-6);

/**
 * Constant-current discharge at current density `current` (A/m², > 0) until the cut-off
 * voltage or until `maxTime` seconds.
 */
export function dfnDischarge(p: DfnParams, current: number, maxTime: number, options: DfnOptions = {}): DfnResult {
  const nR = options.nR ?? 10;
  const nN = options.nNeg ?? 10;
  const nS = options.nSep ?? 5;
  const nP = options.nPos ?? 10;
  const m = 4 + nR;
  /** Index of the first shell in a cell's unknowns (after c_e, φ_e, φ_s, c_surf). */
  const S0 = 4;
  const T = p.temperatureK;
  const f = FARADAY / (GAS_CONSTANT * T);
  const cells: Cell[] = [];
  const addRegion = (region: Region, n: number, L: number, eps: number, b: number, e?: DfnElectrode) => {
    for (let k = 0; k < n; k++)
      cells.push({ region, dx: L / n, b, eps, electrode: e, a: e ? (e.specificArea ?? (3 * e.activeFraction) / e.particleRadius) : 0 });
  };
  const neg = p.negative;
  const pos = p.positive;
  addRegion(0, nN, neg.thickness, neg.porosity, transport(neg.porosity, neg.transportFactor, neg.bruggeman), neg);
  addRegion(1, nS, p.separator.thickness, p.separator.porosity, transport(p.separator.porosity, p.separator.transportFactor, p.separator.bruggeman));
  addRegion(2, nP, pos.thickness, pos.porosity, transport(pos.porosity, pos.transportFactor, pos.bruggeman), pos);
  const N = cells.length;
  const el = p.electrolyte;
  const diffPot = (2 * (1 - el.tPlus)) / f;

  // Shell geometry in units of R (per 4π): face radii, volumes, centre radii.
  const face = Float64Array.from({ length: nR + 1 }, (_, k) => 1 - (1 - k / nR) ** 2);
  const shellVol = Float64Array.from({ length: nR }, (_, k) => (face[k + 1] ** 3 - face[k] ** 3) / 3);
  const centre = Float64Array.from({ length: nR }, (_, k) => 0.5 * (face[k] + face[k + 1]));

  /** Butler–Volmer interfacial current density (A/m², > 0 de-intercalation) of an electrode cell. */
  const jOf = (c: Cell, y: Float64Array, o: number): number => {
    const e = c.electrode!;
    const ce = Math.max(y[o], 1e-3);
    const sto = clampSto(y[o + 3] / e.cMax);
    const eta = y[o + 2] - y[o + 1] - e.ocp(sto);
    return 2 * e.exchangeCurrent(ce, sto * e.cMax, e.cMax, T) * Math.sinh(0.5 * f * eta);
  };

  const residual = (y: Float64Array, yOld: Float64Array, dt: number, out: Float64Array, I: number) => {
    out.fill(0);
    const jv = new Float64Array(N);
    for (let i = 0; i < N; i++) if (cells[i].electrode) jv[i] = jOf(cells[i], y, i * m);
    for (let i = 0; i < N; i++) {
      const c = cells[i];
      const o = i * m;
      const ce = y[o];
      // Storage and reaction.
      out[o] += (c.eps * (ce - yOld[o]) * c.dx) / dt - ((1 - el.tPlus) * c.a * jv[i] * c.dx) / FARADAY;
      out[o + 1] -= c.a * jv[i] * c.dx;
      if (c.electrode) out[o + 2] += c.a * jv[i] * c.dx;
      // Face to the right neighbour.
      if (i < N - 1) {
        const d = cells[i + 1];
        const q = o + m;
        const cf = 0.5 * (Math.max(ce, 1e-3) + Math.max(y[q], 1e-3));
        const De = el.diffusivity(cf, T);
        const ke = el.conductivity(cf, T);
        const gD = 1 / ((0.5 * c.dx) / (De * c.b) + (0.5 * d.dx) / (De * d.b));
        const gK = 1 / ((0.5 * c.dx) / (ke * c.b) + (0.5 * d.dx) / (ke * d.b));
        const flux = -gD * (y[q] - ce); // mol/m²s in +x
        out[o] += flux;
        out[q] -= flux;
        const ie = -gK * (y[q + 1] - y[o + 1]) + gK * diffPot * (Math.log(Math.max(y[q], 1e-3)) - Math.log(Math.max(ce, 1e-3)));
        out[o + 1] += ie;
        out[q + 1] -= ie;
        if (c.electrode && d.electrode && c.region === d.region) {
          const is = (-c.electrode.conductivity * (y[q + 2] - y[o + 2])) / c.dx;
          out[o + 2] += is;
          out[q + 2] -= is;
        }
      }
      // Current-collector faces: i_s = I enters at x = 0 and leaves at x = L.
      if (i === 0) out[o + 2] -= I;
      if (i === N - 1) out[o + 2] += I;
      if (!c.electrode) {
        for (let k = 2; k < m; k++) out[o + k] = y[o + k];
      } else {
        const e = c.electrode;
        const R = e.particleRadius;
        for (let k = 0; k < nR; k++) {
          const s = o + S0 + k;
          out[s] += (shellVol[k] * R * (y[s] - yOld[s])) / dt;
          if (k < nR - 1) {
            const cf = 0.5 * (y[s] + y[s + 1]);
            const D = e.diffusivity(clampSto(cf / e.cMax), T);
            const fl = (face[k + 1] ** 2 * D * (y[s + 1] - y[s])) / (R * (centre[k + 1] - centre[k]));
            out[s] -= fl;
            out[s + 1] += fl;
          } else {
            out[s] += jv[i] / FARADAY;
          }
        }
        // Surface concentration: the last shell extrapolated to r = R with the surface-flux
        // gradient −j/(F·D), scaled by D/R to keep the row near the shells' magnitude.
        const cLast = y[o + S0 + nR - 1];
        const D = e.diffusivity(clampSto(cLast / e.cMax), T);
        out[o + 3] = (D / R) * (y[o + 3] - cLast) + ((1 - centre[nR - 1]) * jv[i]) / FARADAY;
      }
    }
    // Gauge: the electrolyte charge balances sum to zero, so cell 0's is replaced by φ_s(0) = 0.
    out[1] = y[2];
  };

  // Initial state: uniform concentrations, potentials at open circuit.
  let y: Float64Array = new Float64Array(N * m);
  const un0 = neg.ocp(neg.c0 / neg.cMax);
  const up0 = pos.ocp(pos.c0 / pos.cMax);
  for (let i = 0; i < N; i++) {
    const o = i * m;
    const c = cells[i];
    y[o] = el.c0;
    y[o + 1] = -un0;
    y[o + 2] = c.region === 0 ? 0 : c.region === 2 ? up0 - un0 : 0;
    for (let k = 3; k < m; k++) y[o + k] = c.electrode ? c.electrode.c0 : 0;
  }
  const scale = new Float64Array(m);
  scale[0] = el.c0;
  scale[1] = 1;
  scale[2] = 1;
  for (let k = 3; k < m; k++) scale[k] = Math.max(neg.cMax, pos.cMax);

  const voltage = (yy: Float64Array, I: number) => {
    const first = cells[0];
    const last = cells[N - 1];
    const phi0 = yy[2] + (I * 0.5 * first.dx) / first.electrode!.conductivity;
    const phiL = yy[(N - 1) * m + 2] - (I * 0.5 * last.dx) / last.electrode!.conductivity;
    return phiL - phi0;
  };

  const surfaceExtremes = (yy: Float64Array) => {
    let negativeMin = 1;
    let positiveMax = 0;
    for (let i = 0; i < N; i++) {
      const e = cells[i].electrode;
      if (!e) continue;
      const sto = yy[i * m + 3] / e.cMax;
      if (cells[i].region === 0) negativeMin = Math.min(negativeMin, sto);
      else positiveMax = Math.max(positiveMax, sto);
    }
    return { negativeMin, positiveMax };
  };

  let evals = 0;
  let iterations = 0;
  const r0 = new Float64Array(N * m);
  const r1 = new Float64Array(N * m);
  const lower = Array.from({ length: N }, () => new Float64Array(m * m));
  const diag = Array.from({ length: N }, () => new Float64Array(m * m));
  const upper = Array.from({ length: N }, () => new Float64Array(m * m));

  /**
   * One backward-Euler step by Newton; null when Newton fails. Modified Newton: the factorised
   * Jacobian is kept while each update shrinks at least 5-fold, and rebuilt otherwise.
   */
  const step = (yOld: Float64Array, dt: number, I: number): Float64Array | null => {
    const yy = Float64Array.from(yOld);
    let factor: BlockTridiagonalFactor | null = null;
    let lastWorst = Infinity;
    for (let it = 0; it < 30; it++) {
      residual(yy, yOld, dt, r0, I);
      evals++;
      iterations++;
      // Finite-difference Jacobian, coloured: cells i ≡ g (mod 3) perturbed together.
      if (!factor) for (let g = 0; g < 3; g++)
        for (let k = 0; k < m; k++) {
          const hs: number[] = [];
          for (let i = g; i < N; i += 3) {
            const h = 1e-7 * Math.max(Math.abs(yy[i * m + k]), scale[k]);
            hs.push(h);
            yy[i * m + k] += h;
          }
          residual(yy, yOld, dt, r1, I);
          evals++;
          let idx = 0;
          for (let i = g; i < N; i += 3) {
            const h = hs[idx++];
            yy[i * m + k] -= h;
            for (let row = Math.max(0, i - 1); row <= Math.min(N - 1, i + 1); row++) {
              const blk = row === i ? diag[row] : row === i - 1 ? upper[row] : lower[row];
              for (let rr = 0; rr < m; rr++) blk[rr * m + k] = (r1[row * m + rr] - r0[row * m + rr]) / h;
            }
          }
        }
      const dy = Float64Array.from(r0, (v) => -v);
      try {
        factor ??= factorBlockTridiagonal(lower, diag, upper, m);
        solveFactored(factor, dy);
      } catch {
        return null;
      }
      let worst = 0;
      for (let q = 0; q < yy.length; q++) {
        if (!Number.isFinite(dy[q])) return null;
        yy[q] += dy[q];
        worst = Math.max(worst, Math.abs(dy[q]) / scale[q % m]);
      }
      for (let i = 0; i < N; i++) {
        if (yy[i * m] <= 0) yy[i * m] = 1e-3;
        const e = cells[i].electrode;
        if (e) for (let k = 3; k < m; k++) yy[i * m + k] = Math.min(Math.max(yy[i * m + k], 1e-6 * e.cMax), (1 - 1e-6) * e.cMax);
      }
      if (worst < 1e-7) return yy;
      if (worst > 0.2 * lastWorst) factor = null;
      lastWorst = worst;
    }
    return null;
  };

  const steps = options.stepsPerDischarge ?? 100;
  // Nominal discharge time ≈ capacity of the limiting electrode's inventory / current.
  const dt0 = Math.min(maxTime / 20, maxTime / steps);
  const time = [0];
  const volts = [voltage(y, 0)];
  const cap = [0];
  let t = 0;
  let reached = false;
  let dt = dt0;
  let energy = 0;
  // A first tiny step lets the potentials settle to the current before the regular steps.
  let first = true;
  while (t < maxTime) {
    // (A failed step quarters dt, the first step included, until 1e-6 of the regular step.)
    const h = first ? Math.min(dt0 * 1e-3, dt) : Math.min(dt, maxTime - t);
    const next = step(y, h, current);
    if (!next) {
      if (h < dt0 * 1e-6) break;
      dt = h / 4;
      continue;
    }
    first = false;
    const v = voltage(next, current);
    const vPrev = volts[volts.length - 1];
    if (v <= p.cutoffVoltage && t > 0) {
      // Interpolate the cut-off crossing within the step.
      const frac = vPrev > v ? (vPrev - p.cutoffVoltage) / (vPrev - v) : 1;
      const tc = t + frac * h;
      energy += (current * frac * h * 0.5 * (vPrev + p.cutoffVoltage)) / 3600;
      time.push(tc);
      volts.push(p.cutoffVoltage);
      cap.push((current * tc) / 3600);
      reached = true;
      break;
    }
    energy += (current * h * 0.5 * (vPrev + v)) / 3600;
    t += h;
    y = next;
    time.push(t);
    volts.push(v);
    cap.push((current * t) / 3600);
    dt = Math.min(dt * 2, dt0);
  }
  return {
    time,
    voltage: volts,
    capacity: cap,
    capacityToCutoff: cap[cap.length - 1],
    energyToCutoff: energy,
    reachedCutoff: reached,
    surfaceStoichiometry: surfaceExtremes(y),
    newtonIterations: iterations,
    residualEvaluations: evals,
  };
}

/**
 * The Ecker et al. 2015 parameter set of a Kokam SLPB 75106100 cell (graphite | LiNiCoO2),
 * as fitted by Ecker et al., J. Electrochem. Soc. 162 (2015) A1836 (I: parameters) and
 * validated in A1849 (II), in the form PyBaMM uses (fits by S. O'Kane, Richardson et al.,
 * Electrochim. Acta 339 (2020) 135862; pybamm/input/parameters/lithium_ion/Ecker2015.py), the
 * graphite diffusivity by choice (below).
 */
export function ecker2015(graphiteDiffusivity: 'ecker2015' | 'okane2020' = 'ecker2015'): DfnParams {
  const R = GAS_CONSTANT;
  const arr = (E: number, Tref: number, T: number) => Math.exp((E / R) * (1 / Tref - 1 / T));
  // Graphite diffusivity: 'ecker2015' is the exponential fit to Ecker's measured D(x) in
  // PyBaMM's first Ecker2015 set (anodes/graphite_Ecker2015), 'okane2020' the log-Gaussian
  // refit of its current set (O'Kane in Richardson et al. 2020). With the refit (8.7e-16 m²/s
  // at the initial x) this model runs 112 mV low against the measured 1C curve, with the first
  // 28 mV RMSE (experiments/results/device.md); the first is the default.
  const okaneGraphiteDiffusivity = (x: number, T: number) =>
    10 **
      (-15.06 +
        2.722 * Math.exp(-((x / 0.0777) ** 2)) +
        1.503 * Math.exp(-(((x - 0.17) / 0.1153) ** 2)) +
        1.055 * Math.exp(-(((x - 0.3118) / 0.04089) ** 2)) +
        1.555 * Math.exp(-(((x - 0.6061) / 0.04545) ** 2)) +
        1.215 * Math.exp(-(((x - 1) / 0.02759) ** 2))) *
    arr(3.03e4, 296, T);
  const bv = (k: number, E: number) => (ce: number, cs: number, cMax: number, T: number) =>
    FARADAY * k * arr(E, 296.15, T) * Math.sqrt(ce * cs * Math.max(cMax - cs, 0));
  const kappa = (ce: number, T: number) => {
    const cm = 1e-3 * ce;
    const s296 = 0.2667 * cm ** 3 - 1.2983 * cm ** 2 + 1.7919 * cm + 0.1726;
    return (296 * s296 * arr(1.71e4, 296, T)) / T;
  };
  return {
    temperatureK: 298.15,
    cutoffVoltage: 2.5,
    negative: {
      thickness: 74e-6,
      porosity: 0.329,
      activeFraction: 0.372403,
      particleRadius: 13.7e-6,
      bruggeman: 1.6372789338386007,
      conductivity: 14,
      cMax: 31920,
      c0: 26120.05,
      ocp: (x) =>
        0.716502 * Math.exp(-369.028 * x) +
        0.12193 * Math.exp(-35.6478 * (x - 0.0530947)) -
        0.0189193 * Math.tanh(21.1967 * (x - 0.196176)) -
        0.0169644 * Math.tanh(27.1365 * (x - 0.312832)) -
        0.0199313 * Math.tanh(28.5697 * (x - 0.614221)) -
        0.931153 * Math.exp(36.328 * (x - 1.10743)) +
        0.140031,
      diffusivity: graphiteDiffusivity === 'okane2020' ? okaneGraphiteDiffusivity : (x, T) => (8.4e-13 * Math.exp(-11.3 * x) + 8.2e-15) * arr(3.03e4, 296, T),
      exchangeCurrent: bv(1.11e-10, 53400),
    },
    positive: {
      thickness: 54e-6,
      porosity: 0.296,
      activeFraction: 0.40832,
      particleRadius: 6.5e-6,
      bruggeman: 1.5442267190786427,
      conductivity: 68.1,
      cMax: 48580,
      c0: 12630.8,
      ocp: (x) =>
        -2.35211 * x -
        0.0747061 * Math.tanh(31.886 * (x - 0.0219921)) +
        6.34984 * Math.tanh(2.66395 * (x - 0.174352)) -
        0.640243 * Math.tanh(5.48623 * (x - 0.439245)) -
        3.82383 * Math.tanh(4.12167 * (x - 0.176187)) -
        0.0542123 * Math.tanh(18.2919 * (x - 0.762272)) +
        4.23285,
      diffusivity: (x, T) => 10 ** (-12.67 - 1.597 * Math.exp(-(((x - 0.6169) / 0.07859) ** 2)) - 1.608 * Math.exp(-(((x - 1) / 0.0931) ** 2))) * arr(8.06e4, 296.15, T),
      exchangeCurrent: bv(3.01e-11, 4.36e4),
    },
    separator: { thickness: 20e-6, porosity: 0.508, bruggeman: 1.9804586773134945 },
    electrolyte: {
      c0: 1000,
      tPlus: 0.26,
      conductivity: kappa,
      // Nernst–Einstein from the conductivity, as in Ecker 2015: D = (R/F²)·κ·T/c.
      diffusivity: (ce, T) => ((GAS_CONSTANT / FARADAY ** 2) * kappa(ce, T) * T) / Math.max(ce, 1e-3),
    },
  };
}

/** Ecker 2015 1C current density, A/m²: 0.15652 A over the 0.101 × 0.085 m² electrode of PyBaMM's parameter set. */
export const ECKER_1C = 0.15652 / (0.101 * 0.085);
