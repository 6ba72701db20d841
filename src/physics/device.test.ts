import { describe, expect, it } from 'vitest';
import {
  airViscosity,
  darcyPressureDrop,
  FARADAY,
  GAS_CONSTANT,
  ionicTimeConstant,
  limitingCurrentDensity,
  oxygenDiffusivityInAir,
  transportLimitedCRate,
} from './device.js';

describe('device models', () => {
  it('O2–air diffusivity follows Fuller: 0.200 cm²/s at 298 K, 1 atm; ∝ T^1.75 / p', () => {
    const d = oxygenDiffusivityInAir(298.15, 101325);
    expect(d).toBeGreaterThan(1.95e-5);
    expect(d).toBeLessThan(2.05e-5);
    expect(oxygenDiffusivityInAir(353.15, 2 * 101325) / d).toBeCloseTo((353.15 / 298.15) ** 1.75 / 2, 10);
  });

  it('air viscosity is 1.716e-5 Pa·s at 273.15 K and 1.85e-5 at 300 K (Sutherland)', () => {
    expect(airViscosity(273.15)).toBeCloseTo(1.716e-5, 10);
    expect(airViscosity(300)).toBeCloseTo(1.846e-5, 8);
  });

  it('limiting current is 4F·D_eff·c/L', () => {
    const T = 353.15;
    const p = 150_000;
    const i = limitingCurrentDensity({ dRel: 0.5, thickness: 200e-6, temperatureK: T, pressurePa: p, oxygenFraction: 0.21 });
    const c = (0.21 * p) / (GAS_CONSTANT * T);
    expect(i).toBeCloseTo((4 * FARADAY * 0.5 * oxygenDiffusivityInAir(T, p) * c) / 200e-6, 6);
    // Order of magnitude of a real GDL: a few A/cm² per 0.1 of D_eff/D0 at 200 µm.
    expect(i / 1e4).toBeGreaterThan(5);
    expect(i / 1e4).toBeLessThan(50);
  });

  it('Darcy pressure drop is μuL/k and infinite without a path', () => {
    expect(darcyPressureDrop(1e-11, 2e-5, 0.01, 200e-6)).toBeCloseTo(4, 10);
    expect(darcyPressureDrop(0, 2e-5, 0.01, 200e-6)).toBe(Infinity);
  });

  it('ionic time constant L²τ/D and the transport-limited C-rate 3600/t', () => {
    const t = ionicTimeConstant(100e-6, 3, 3e-10);
    expect(t).toBeCloseTo(100, 10);
    expect(transportLimitedCRate(t)).toBeCloseTo(36, 10);
    expect(transportLimitedCRate(Infinity)).toBe(0);
  });
});
