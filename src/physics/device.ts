/**
 * Device-level performance models (Niu et al., EES 14, 2021, §4.3): closed-form models that
 * turn transport properties of a microstructure into device figures of merit. Assumptions are
 * stated at each function and in docs/physics.md. SI units throughout.
 */

/** Faraday constant, C/mol (CODATA 2018, exact). */
export const FARADAY = 96485.33212;
/** Molar gas constant, J/(mol·K) (CODATA 2018, exact). */
export const GAS_CONSTANT = 8.314462618;
/** Standard atmosphere, Pa. */
export const ATM = 101325;

/**
 * Binary diffusivity of O2 in air (m²/s) by the Fuller–Schettler–Giddings correlation
 * (Ind. Eng. Chem. 58, 1966), with the diffusion volumes of Poling, Prausnitz & O'Connell,
 * The Properties of Gases and Liquids, 5th ed., Table 11-1 (O2 16.3, air 19.7):
 * D = 1.00e-3 T^1.75 √(1/M_A + 1/M_B) / (p [atm] (V_A^⅓ + V_B^⅓)²) cm²/s. Typical error ±5 %.
 * 0.20 cm²/s at 298 K and 1 atm.
 */
export function oxygenDiffusivityInAir(temperatureK: number, pressurePa: number): number {
  const mO2 = 31.998;
  const mAir = 28.96;
  const vO2 = 16.3;
  const vAir = 19.7;
  const cm2s =
    (1.0e-3 * temperatureK ** 1.75 * Math.sqrt(1 / mO2 + 1 / mAir)) /
    ((pressurePa / ATM) * (Math.cbrt(vO2) + Math.cbrt(vAir)) ** 2);
  return cm2s * 1e-4;
}

/**
 * Dynamic viscosity of air (Pa·s) by Sutherland's law, μ₀ = 1.716e-5 Pa·s at 273.15 K,
 * S = 110.4 K (White, Viscous Fluid Flow, 3rd ed., Table 1-2); ±2 % from 170 to 1900 K.
 */
export function airViscosity(temperatureK: number): number {
  const T0 = 273.15;
  const S = 110.4;
  return 1.716e-5 * (temperatureK / T0) ** 1.5 * ((T0 + S) / (temperatureK + S));
}

export interface LimitingCurrentInput {
  /** Through-plane D_eff/D0 of the pore space (= ε/τ). */
  dRel: number;
  /** GDL thickness, m. */
  thickness: number;
  temperatureK: number;
  /** Absolute gas pressure, Pa. */
  pressurePa: number;
  /** O2 mole fraction in the channel gas (0.21 for air). */
  oxygenFraction: number;
}

/**
 * PEMFC cathode oxygen limiting current density (A/m²) set by diffusion through the GDL:
 * i_lim = 4 F D_eff c_O2 / L, with D_eff = (D_eff/D0) · D_O2,air(T, p) and c_O2 = x_O2 p/(RT)
 * (ideal gas). Assumes Fickian, isothermal, dry diffusion across the GDL only (no liquid
 * water, no Knudsen effect — GDL pores of several µm are far larger than the 0.1 µm mean free
 * path — and no resistance of the microporous layer, catalyst layer or channel), with the
 * O2 concentration falling to zero at the catalyst layer (the definition of a limiting current).
 */
export function limitingCurrentDensity(i: LimitingCurrentInput): number {
  const dEff = i.dRel * oxygenDiffusivityInAir(i.temperatureK, i.pressurePa);
  const c = (i.oxygenFraction * i.pressurePa) / (GAS_CONSTANT * i.temperatureK);
  return (4 * FARADAY * dEff * c) / i.thickness;
}

/**
 * Darcy pressure drop (Pa) of a gas pushed through a porous layer: Δp = μ u L / k, with u the
 * superficial velocity (m/s), L the flow length (m) and k the permeability (m²). Valid for
 * creeping flow (pore Reynolds number ≪ 1) and incompressible gas (Δp ≪ p); Infinity when
 * k = 0 (no connected path).
 */
export function darcyPressureDrop(permeability: number, viscosity: number, velocity: number, length: number): number {
  return permeability > 0 ? (viscosity * velocity * length) / permeability : Infinity;
}

/**
 * Ionic transport time constant of a porous electrode (s): t = L² τ / D_e = ε L² / D_eff, the
 * characteristic time for salt concentration to relax across an electrode of thickness L
 * whose pores hold an electrolyte of diffusivity D_e (Newman & Tiedemann, AIChE J. 21, 1975;
 * Ogihara et al., J. Electrochem. Soc. 159, 2012 for τ of electrodes).
 */
export function ionicTimeConstant(thickness: number, tau: number, electrolyteDiffusivity: number): number {
  return (thickness * thickness * tau) / electrolyteDiffusivity;
}

/**
 * Rate-capability indicator (C-rate, 1/h): the discharge rate at which the discharge time
 * (1/C hours) equals the ionic time constant — above it the electrode is electrolyte-transport
 * limited. A ranking figure for microstructures, not a predicted capacity retention.
 */
export function transportLimitedCRate(timeConstantS: number): number {
  return timeConstantS > 0 && Number.isFinite(timeConstantS) ? 3600 / timeConstantS : 0;
}
