import { FARADAY, GAS_CONSTANT } from '../device.js';
import { bisect, simpson } from './numerics.js';

/**
 * SOFC Ni–YSZ anode functional layer (issue 20): 1D through-plane charge transfer with
 * Butler–Volmer kinetics per unit active triple-phase-boundary length, ionic (YSZ) and
 * electronic (Ni) effective conductivities from the pore-scale solves, and Ni coarsening over
 * time feeding TPB density and Ni conductivity. Gas-phase transport is not modelled (the
 * functional layer is thin next to the support; H2 partial pressure uniform).
 */

/** YSZ (8 mol%) ionic conductivity, S/m: 3.34e4·exp(−10300/T) (Ferguson, Fiard & Herbin, J. Power Sources 58 (1996) 109). */
export function yszConductivity(T: number): number {
  return 3.34e4 * Math.exp(-10300 / T);
}

/** Ni electronic conductivity, S/m: 3.27e6 − 1065.3·T (Ferguson et al. 1996). */
export function nickelConductivity(T: number): number {
  return 3.27e6 - 1065.3 * T;
}

export interface SofcAnodeInput {
  /** Active TPB length per volume, m⁻². */
  tpbDensity: number;
  /** Effective ionic (YSZ-network) and electronic (Ni-network) conductivities, S/m. */
  sigmaIonic: number;
  sigmaElectronic: number;
  /** Functional-layer thickness, m. */
  thickness: number;
  temperatureK: number;
  /** Exchange current per unit TPB length, A/m. */
  i0Tpb: number;
  alphaA: number;
  alphaC: number;
}

/**
 * Default kinetics: i0 per TPB length 1e-3 A/m at 800 °C is an order-of-magnitude assumption
 * (it gives ~0.1 Ω·cm² for a Ni–YSZ layer of 5 µm/µm³ TPB), not a fitted literature value; the
 * linear dependence of the rate on TPB length is the finding of Ni pattern-anode studies
 * (Bieberle, Meier & Gauckler, J. Electrochem. Soc. 148 (2001) A646; de Boer, PhD thesis,
 * Twente 1998). α_a = α_c = 0.5.
 */
export const SOFC_DEFAULTS = { i0Tpb: 1e-3, alphaA: 0.5, alphaC: 0.5, temperature: 1073.15, currentDensity: 5000, agingHours: 1000 } as const;

export interface SofcAnodeResult {
  /** Total anode voltage loss (activation + ionic + electronic ohmic), V. */
  loss: number;
  /** Overpotential at the electrolyte interface, V. */
  etaElectrolyte: number;
  /** Activation part ∫ i_v η dx / I, V. */
  activation: number;
}

/**
 * Anode loss at current density I (A/m²). With i_io the ionic current (I at the electrolyte,
 * x = 0; 0 at the current collector, x = L), i_el = I − i_io and η = φ_Ni − φ_YSZ − E_eq:
 * di_io/dx = −i_v(η), dη/dx = i_el/σ_el − i_io/σ_io, i_v = i0·λ·[e^{α_a fη} − e^{−α_c fη}].
 * Shooting on η(0) (bisection: a larger η(0) consumes the ionic current sooner), RK4 in x.
 * The loss follows from the power balance I·V = ∫ (i_v η + i_io²/σ_io + i_el²/σ_el) dx.
 */
export function sofcAnodeLoss(p: SofcAnodeInput, I: number): SofcAnodeResult {
  const f = FARADAY / (GAS_CONSTANT * p.temperatureK);
  const iv0 = p.i0Tpb * p.tpbDensity;
  if (!(iv0 > 0) || !(p.sigmaIonic > 0) || !(p.sigmaElectronic > 0)) return { loss: Infinity, etaElectrolyte: Infinity, activation: Infinity };
  const iv = (eta: number) => iv0 * (Math.exp(Math.min(p.alphaA * f * eta, 300)) - Math.exp(-p.alphaC * f * eta));
  const n = 400;
  const h = p.thickness / n;
  const rhs = (eta: number, iio: number): [number, number] => [(I - iio) / p.sigmaElectronic - iio / p.sigmaIonic, -iv(eta)];
  const shoot = (eta0: number, keep?: { eta: number[]; iio: number[] }): number => {
    let eta = eta0;
    let iio = I;
    keep?.eta.push(eta);
    keep?.iio.push(iio);
    for (let k = 0; k < n; k++) {
      const [a1, b1] = rhs(eta, iio);
      const [a2, b2] = rhs(eta + 0.5 * h * a1, iio + 0.5 * h * b1);
      const [a3, b3] = rhs(eta + 0.5 * h * a2, iio + 0.5 * h * b2);
      const [a4, b4] = rhs(eta + h * a3, iio + h * b3);
      eta += (h / 6) * (a1 + 2 * a2 + 2 * a3 + a4);
      iio += (h / 6) * (b1 + 2 * b2 + 2 * b3 + b4);
      // Past the collector's boundary condition the solution only runs away: stop early.
      if (iio < -I || iio > 2 * I || !Number.isFinite(iio)) return iio < 0 || !Number.isFinite(iio) ? -I : 2 * I;
      keep?.eta.push(eta);
      keep?.iio.push(iio);
    }
    return iio;
  };
  const eta0 = bisect((e) => shoot(e), 0, 2, 1e-12);
  const prof = { eta: [] as number[], iio: [] as number[] };
  shoot(eta0, prof);
  const act = simpson(prof.eta.map((e) => iv(e) * e), h);
  const ohm = simpson(prof.iio.map((i) => (i * i) / p.sigmaIonic + ((I - i) * (I - i)) / p.sigmaElectronic), h);
  return { loss: (act + ohm) / I, etaElectrolyte: eta0, activation: act / I };
}

/**
 * Ni particle growth by a coarsening power law d⁴ − d0⁴ = k·t (Ostwald ripening controlled by
 * surface/interface diffusion; LSW theory gives the exponent 3 for bulk diffusion). Faes et
 * al. (Fuel Cells 9 (2009) 841) and Holzer et al. (J. Power Sources 196 (2011) 1279) observe
 * Ni coarsening that is fast over the first hundreds of hours and then slows, as this law
 * does. The default rate (30 % growth of d in 1000 h) is an assumption, not a fit.
 */
export function nickelDiameterRatio(hours: number, growthAt1000h = 1.3, exponent = 4): number {
  const k = (growthAt1000h ** exponent - 1) / 1000; // in units of d0^n per hour
  return (1 + k * Math.max(hours, 0)) ** (1 / exponent);
}

/**
 * Percolation probability of the Ni network in a random packing of Ni and YSZ spheres
 * (coordination-number model: Z_i = 3 + (Z̄ − 3)·d_i²/⟨d²⟩, Suzuki & Oshima, Powder Technol. 35
 * (1983) 159; Z_NiNi = n_Ni·Z_Ni²/Z̄ and P = [1 − ((4.236 − Z_NiNi)/2.472)^2.5]^0.4, Bouvard &
 * Lange, Acta Metall. Mater. 39 (1991) 3083), with Z̄ = 6. φNi is the Ni share of the solid.
 */
export function nickelPercolation(phiNi: number, dNi: number, dYsz: number): number {
  const nNi = phiNi / dNi ** 3 / (phiNi / dNi ** 3 + (1 - phiNi) / dYsz ** 3);
  const d2 = nNi * dNi * dNi + (1 - nNi) * dYsz * dYsz;
  const zNi = 3 + (3 * dNi * dNi) / d2;
  const zNiNi = (nNi * zNi * zNi) / 6;
  if (zNiNi <= 1.764) return 0;
  return Math.max(1 - ((4.236 - zNiNi) / 2.472) ** 2.5, 0) ** 0.4;
}

/**
 * The anode after `hours` of Ni coarsening at fixed YSZ: TPB length per volume ∝ 1/d_Ni (each
 * Ni particle's contact perimeter with the finer YSZ grows as d_Ni² while the number of Ni
 * particles falls as d_Ni⁻³), and the Ni-network conductivity scaled by the change of its
 * percolation probability (above). Ni and YSZ start at equal size unless `sizeRatio0` says.
 */
export function agedAnode(p: SofcAnodeInput, hours: number, phiNi: number, growthAt1000h = 1.3, sizeRatio0 = 1): SofcAnodeInput {
  const g = nickelDiameterRatio(hours, growthAt1000h);
  const p0 = nickelPercolation(phiNi, sizeRatio0, 1);
  const p1 = nickelPercolation(phiNi, sizeRatio0 * g, 1);
  return { ...p, tpbDensity: p.tpbDensity / g, sigmaElectronic: p0 > 0 ? (p.sigmaElectronic * p1) / p0 : 0 };
}
