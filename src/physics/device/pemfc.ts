import { ATM, FARADAY, GAS_CONSTANT, oxygenDiffusivityInAir } from '../device.js';
import { bisect, simpson } from './numerics.js';

/**
 * PEMFC 1D through-plane cell model (issue 20): cathode GDL with liquid water + catalyst layer
 * (Butler–Volmer ORR) + membrane (Springer et al. 1991) at steady state. SI units throughout;
 * assumptions are stated at each step and in docs/physics.md.
 *
 * Liquid water in the GDL follows the capillary-transport model of Pasaogullari & Wang
 * (J. Electrochem. Soc. 151 (2004) A399): p_c = σ|cos θ|·√(ε/K)·J(s) with Udell's Leverett
 * function J, relative permeability s³, the liquid pushed from the catalyst layer to the
 * channel by the capillary-pressure gradient, and O2 diffusing through the gas left in the pores
 * with D_eff(s) = D_eff,dry·(1 − s)^n.
 */

/** Molar mass of water, kg/mol. */
const M_WATER = 0.018015;
/** Springer et al. 1991: dry Nafion density (kg/m³) and equivalent weight (kg/mol). */
const NAFION_DRY_DENSITY = 2000;
const NAFION_EW = 1.1;

export interface PemfcInput {
  /** Dry through-plane D_eff/D0 of the GDL (pore-scale solve). */
  dRel: number;
  /** GDL porosity. */
  porosity: number;
  /** GDL thickness, m. */
  thickness: number;
  /** GDL absolute permeability, m² (Leverett scaling √(ε/K) and liquid mobility). */
  permeability: number;
  /** Internal water contact angle of the GDL, degrees (> 90 hydrophobic). */
  contactAngleDeg: number;
  temperatureK: number;
  /** Cathode gas pressure (absolute), Pa; the anode is taken at the same pressure. */
  pressurePa: number;
  /** O2 mole fraction of the dry cathode gas (0.21 air). */
  oxygenFraction: number;
  /** Relative humidity of the cathode and anode gas (0–1). */
  rhCathode: number;
  rhAnode: number;
  /** Membrane thickness, m. */
  membraneThickness: number;
  /** ORR exchange current density per geometric area at p_O2 = 1 atm, A/m². */
  i0: number;
  /** Cathodic / anodic transfer coefficients of the ORR. */
  alphaC: number;
  alphaA: number;
  /** Reaction order in p_O2. */
  oxygenOrder: number;
  /** Catalyst-layer proton sheet resistance, Ω·m² (counted as R/3, uniform reaction). */
  clProtonResistance: number;
  /** Electronic + contact area-specific resistance, Ω·m². */
  contactResistance: number;
  /** Exponent n of the relative diffusivity (1 − s)^n. */
  saturationExponent: number;
}

/**
 * Defaults: Nafion 211 (25 µm); ORR kinetics of Neyerlin, Gu, Jorne & Gasteiger (J.
 * Electrochem. Soc. 153 (2006) A1955): i0 = 2.47e-8 A/cm²_Pt at 80 °C referred to 1 atm O2,
 * γ = 0.54, α_c = 1 (70 mV/dec), × a roughness factor of 240 cm²_Pt/cm² (0.4 mg_Pt/cm² at
 * 60 m²/g); n = 2 after Nam & Kaviany (Int. J. Heat Mass Transfer 46 (2003) 4595). The
 * resistances are typical values, assumptions not measurements.
 */
export const PEMFC_DEFAULTS = {
  membraneThickness: 25e-6,
  i0: 2.47e-8 * 240 * 1e4,
  alphaC: 1.0,
  alphaA: 0.5,
  oxygenOrder: 0.54,
  clProtonResistance: 0.1e-4,
  contactResistance: 0.02e-4,
  saturationExponent: 2,
  rhCathode: 1,
  rhAnode: 1,
} as const;

/** Saturation vapour pressure of water, Pa (Springer et al. 1991, eq. 20; 0–100 °C). */
export function waterSaturationPressure(T: number): number {
  const t = T - 273.15;
  return ATM * 10 ** (-2.1794 + 0.02953 * t - 9.1837e-5 * t * t + 1.4454e-7 * t * t * t);
}

/** Surface tension of water, N/m (IAPWS 2014 release): 0.0627 N/m at 353 K. */
export function waterSurfaceTension(T: number): number {
  const tau = 1 - T / 647.096;
  return 0.2358 * tau ** 1.256 * (1 - 0.625 * tau);
}

/** Viscosity of liquid water, Pa·s (Vogel form, ±2 % from 0 to 100 °C): 3.5e-4 at 353 K. */
export function waterViscosity(T: number): number {
  return 2.414e-5 * 10 ** (247.8 / (T - 140));
}

/** Density of liquid water, kg/m³ (Kell 1975 fit; 972 at 353 K). */
export function waterDensity(T: number): number {
  const t = T - 273.15;
  return (
    (999.83952 + 16.945176 * t - 7.9870401e-3 * t ** 2 - 46.170461e-6 * t ** 3 + 105.56302e-9 * t ** 4 - 280.54253e-12 * t ** 5) /
    (1 + 16.87985e-3 * t)
  );
}

/**
 * Water content λ (H2O per SO3⁻) of Nafion in equilibrium with vapour of activity a
 * (Springer et al., J. Electrochem. Soc. 138 (1991) 2334, eq. 16; a > 1 stands for liquid
 * water in contact, up to λ = 16.8 at a = 3).
 */
export function nafionWaterContent(a: number): number {
  if (a <= 1) return 0.043 + 17.18 * a - 39.85 * a * a + 36 * a * a * a;
  return 14 + 1.4 * (Math.min(a, 3) - 1);
}

/** Nafion proton conductivity, S/m (Springer 1991, eqs. 25–26): (0.005139λ − 0.00326)·e^{1268(1/303 − 1/T)} S/cm. */
export function nafionConductivity(lambda: number, T: number): number {
  return Math.max(0.005139 * lambda - 0.00326, 1e-6) * Math.exp(1268 * (1 / 303 - 1 / T)) * 100;
}

/** Water diffusion coefficient in Nafion, m²/s (Springer 1991, eq. 17, λ > 4; frozen at λ = 4 below). */
function nafionWaterDiffusivity(lambda: number, T: number): number {
  const l = Math.max(lambda, 4);
  return 1e-10 * Math.exp(2416 * (1 / 303 - 1 / T)) * (2.563 - 0.33 * l + 0.0264 * l * l - 0.000671 * l * l * l);
}

export interface MembraneResult {
  /** Net water flux per proton through the membrane (anode → cathode), mol H2O / mol H⁺. */
  netDrag: number;
  /** Membrane area-specific resistance, Ω·m². */
  resistance: number;
  lambdaAnode: number;
  lambdaCathode: number;
}

/**
 * Springer's membrane model: N_w = (2.5λ/22)·i/F − (ρ_dry/EW)·D_λ(λ)·dλ/dz = α·i/F with λ set
 * by the water activity at each face; α (the net drag) is found by shooting — λ at the cathode
 * falls monotonically with α, so bisection on α brackets it. R = ∫ dz/σ(λ(z)).
 */
export function springerMembrane(i: number, thickness: number, T: number, aAnode: number, aCathode: number): MembraneResult {
  const lA = nafionWaterContent(aAnode);
  const lC = nafionWaterContent(aCathode);
  const steps = 60;
  const h = thickness / steps;
  const slope = (l: number, alpha: number) => ((((2.5 * l) / 22 - alpha) * i) / FARADAY) * (NAFION_EW / (NAFION_DRY_DENSITY * nafionWaterDiffusivity(l, T)));
  const clamp = (l: number) => Math.min(Math.max(l, 0.5), 22);
  const profile = (alpha: number): number[] => {
    const out = [lA];
    let l = lA;
    for (let k = 0; k < steps; k++) {
      const k1 = slope(l, alpha);
      const k2 = slope(clamp(l + 0.5 * h * k1), alpha);
      const k3 = slope(clamp(l + 0.5 * h * k2), alpha);
      const k4 = slope(clamp(l + h * k3), alpha);
      l = clamp(l + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4));
      out.push(l);
    }
    return out;
  };
  let alpha = 0;
  if (i > 0) alpha = bisect((a) => profile(a).at(-1)! - lC, -3, 3, 1e-7);
  const lam = profile(alpha);
  const resistance = simpson(lam.map((l) => 1 / nafionConductivity(l, T)), h);
  return { netDrag: alpha, resistance, lambdaAnode: lA, lambdaCathode: lam.at(-1)! };
}

/** Udell's Leverett function J(s) and its derivative (Pasaogullari & Wang 2004, eq. 8). */
function leverettSlope(u: number): number {
  return 1.417 - 4.24 * u + 3.789 * u * u;
}

/**
 * Water contact angle of a GDL pore wall that is partly PTFE: Cassie's law for a chemically
 * heterogeneous surface (Cassie, Discuss. Faraday Soc. 3 (1948) 11), cos θ = f·cos θ_PTFE +
 * (1 − f)·cos θ_C, f the PTFE share of the pore surface. θ_PTFE = 108° (smooth sintered PTFE)
 * and θ_C = 80° (carbon fibre, Gostick et al., J. Power Sources 156 (2006) 375) are defaults.
 */
export function cassieContactAngle(ptfeSurfaceFraction: number, thetaPtfeDeg = 108, thetaCarbonDeg = 80): number {
  const f = Math.min(Math.max(ptfeSurfaceFraction, 0), 1);
  const c = f * Math.cos((thetaPtfeDeg * Math.PI) / 180) + (1 - f) * Math.cos((thetaCarbonDeg * Math.PI) / 180);
  return (Math.acos(c) * 180) / Math.PI;
}

export interface SaturationResult {
  /** Liquid saturation at the GDL/catalyst-layer face. */
  sCl: number;
  /** O2 transport resistance of the wet GDL, s/m: ∫dx / D_eff(s(x)). */
  resistance: number;
  /** Liquid water flux to the channel, kg/(m²·s). */
  liquidFlux: number;
}

/**
 * Saturation profile across the GDL for a liquid flux ṁ (kg/m²s) to the channel. With s = 0 at
 * the channel (Pasaogullari & Wang 2004, their base case), ṁ = (ρK s³/μ)·|dp_c/ds|·ds/dx
 * integrates in closed form for the position: x(s) = C·G(s), C = ρ σ|cos θ| √(εK)/(ṁ μ),
 * G(s) = ∫₀ˢ u³ J'(u) du (J' in s for θ > 90°, in 1 − s for θ < 90°). The O2 resistance is
 * then ∫₀^{s_CL} C·G'(s) ds / (D_dry (1 − s)^n), with no x-grid.
 */
export function gdlSaturation(p: PemfcInput, liquidFlux: number): SaturationResult {
  const T = p.temperatureK;
  const dDry = p.dRel * oxygenDiffusivityInAir(T, p.pressurePa);
  if (liquidFlux <= 0) return { sCl: 0, resistance: p.thickness / dDry, liquidFlux: 0 };
  const cos = Math.max(Math.abs(Math.cos((p.contactAngleDeg * Math.PI) / 180)), 1e-3);
  const hydrophobic = p.contactAngleDeg > 90;
  const dG = (s: number) => s ** 3 * leverettSlope(hydrophobic ? s : 1 - s);
  const C = (waterDensity(T) * waterSurfaceTension(T) * cos * Math.sqrt(p.porosity * p.permeability)) / (liquidFlux * waterViscosity(T));
  const sMax = 0.99;
  const G = (s: number) => simpsonFn(dG, 0, s, 64);
  const target = p.thickness / C;
  const sCl = G(sMax) <= target ? sMax : bisect((s) => G(s) - target, 0, sMax, 1e-10);
  const resistance = (C * simpsonFn((s) => dG(s) / (1 - s) ** p.saturationExponent, 0, sCl, 128)) / dDry;
  return { sCl, resistance, liquidFlux };
}

function simpsonFn(f: (x: number) => number, a: number, b: number, n: number): number {
  if (b <= a) return 0;
  const h = (b - a) / n;
  const y = Array.from({ length: n + 1 }, (_, k) => f(a + k * h));
  return simpson(y, h);
}

export interface PemfcPoint {
  /** Current density, A/m². */
  current: number;
  /** Cell voltage, V (0 at or above the limiting current). */
  voltage: number;
  reversible: number;
  /** Cathode activation overpotential, V. */
  activation: number;
  /** Ohmic loss (membrane + CL protons/3 + contact), V. */
  ohmic: number;
  membraneResistance: number;
  netDrag: number;
  /** O2 partial pressure at the catalyst layer, Pa. */
  oxygenCl: number;
  /** Liquid saturation at the GDL/CL face. */
  sCl: number;
}

function channelOxygen(p: PemfcInput): { pO2: number; pH2: number; pSat: number } {
  const pSat = waterSaturationPressure(p.temperatureK);
  const pO2 = p.oxygenFraction * Math.max(p.pressurePa - Math.min(p.rhCathode, 1) * pSat, 0);
  const pH2 = Math.max(p.pressurePa - Math.min(p.rhAnode, 1) * pSat, 0);
  return { pO2, pH2, pSat };
}

/**
 * Liquid water leaving through the cathode GDL at current density i: product water (i/2F) plus
 * the net drag (α·i/F), less what the gas phase can carry out as vapour — diffusion from a
 * saturated catalyst layer to the channel at its humidity, D_H2O,eff·p_sat(1 − RH)/(RT·L)
 * (D_H2O ≈ 1.2·D_O2 in air, Fuller). Isothermal: no phase-change-induced flow.
 */
function liquidFlux(p: PemfcInput, i: number, netDrag: number, pSat: number): number {
  const water = ((0.5 + netDrag) * i) / FARADAY;
  const dVap = 1.2 * p.dRel * oxygenDiffusivityInAir(p.temperatureK, p.pressurePa);
  const vapour = (dVap * pSat * Math.max(1 - p.rhCathode, 0)) / (GAS_CONSTANT * p.temperatureK * p.thickness);
  return Math.max(water - vapour, 0) * M_WATER;
}

/** O2 partial pressure at the catalyst layer (Pa) at current i, and the saturation there. */
function oxygenAtCl(p: PemfcInput, i: number, netDrag: number): { pO2: number; sCl: number } {
  const ch = channelOxygen(p);
  const sat = gdlSaturation(p, liquidFlux(p, i, netDrag, ch.pSat));
  const c = ch.pO2 / (GAS_CONSTANT * p.temperatureK) - (i / (4 * FARADAY)) * sat.resistance;
  return { pO2: c * GAS_CONSTANT * p.temperatureK, sCl: sat.sCl };
}

/**
 * Limiting current with flooding (A/m²): the current at which O2 at the catalyst layer reaches
 * zero, the saturation profile depending on the current itself. Bisection between 0 and the
 * dry limit (liquid only lowers it).
 */
export function pemfcLimitingCurrent(p: PemfcInput): number {
  const ch = channelOxygen(p);
  const dry = (4 * FARADAY * (ch.pO2 / (GAS_CONSTANT * p.temperatureK)) * p.dRel * oxygenDiffusivityInAir(p.temperatureK, p.pressurePa)) / p.thickness;
  const drag = (i: number) => springerMembrane(i, p.membraneThickness, p.temperatureK, p.rhAnode, p.rhCathode).netDrag;
  return bisect((i) => oxygenAtCl(p, i, drag(i)).pO2, 1e-9 * dry, dry, 1e-6 * dry);
}

/**
 * Cell voltage at current density i (A/m²): V = E_rev − η_c − i·(R_mem + R_CL/3 + R_contact),
 * E_rev by the Nernst equation at the channel partial pressures (1.229 V − 0.85 mV/K·(T − 298.15);
 * Springer 1991, eq. 43 form), η_c from Butler–Volmer at the catalyst-layer O2 pressure,
 * solved by bisection; HOR overpotential neglected (fast kinetics).
 */
export function pemfcPoint(p: PemfcInput, i: number): PemfcPoint {
  const T = p.temperatureK;
  const ch = channelOxygen(p);
  const mem = springerMembrane(i, p.membraneThickness, T, p.rhAnode, p.rhCathode);
  const rev = 1.229 - 0.85e-3 * (T - 298.15) + ((GAS_CONSTANT * T) / (2 * FARADAY)) * Math.log((ch.pH2 / ATM) * Math.sqrt(ch.pO2 / ATM));
  const ohmicR = mem.resistance + p.clProtonResistance / 3 + p.contactResistance;
  const cl = oxygenAtCl(p, i, mem.netDrag);
  const base: PemfcPoint = { current: i, voltage: 0, reversible: rev, activation: Infinity, ohmic: i * ohmicR, membraneResistance: mem.resistance, netDrag: mem.netDrag, oxygenCl: Math.max(cl.pO2, 0), sCl: cl.sCl };
  if (cl.pO2 <= 0) return base;
  const f = (FARADAY / (GAS_CONSTANT * T));
  const i0 = p.i0 * (cl.pO2 / ATM) ** p.oxygenOrder;
  const bv = (eta: number) => i0 * (Math.exp(p.alphaC * f * eta) - Math.exp(-p.alphaA * f * eta)) - i;
  const eta = i > 0 ? bisect(bv, 0, 3, 1e-9) : 0;
  return { ...base, activation: eta, voltage: Math.max(rev - eta - i * ohmicR, 0) };
}

/** The polarisation curve at the given current densities (A/m²). */
export function pemfcPolarisation(p: PemfcInput, currents: readonly number[]): PemfcPoint[] {
  return currents.map((i) => pemfcPoint(p, i));
}
