import { describe, expect, it } from 'vitest';
import type { Voxels } from '../core/protocols.js';
import { CONTEXT_DEFAULTS, PROPERTIES, simulate, simulatorRegistry, type SimulateProgress } from './index.js';
import { createPhysicsPool, simulateInPool } from './pool.js';
import { fibreVolume } from './test-volumes.js';
import { limitingCurrentDensity } from './device.js';

function layered(): Voxels {
  // Pore layers normal to z: open along x and y, blocked through-plane.
  const shape: [number, number, number] = [8, 8, 8];
  const data = new Uint8Array(512);
  for (let i = 0; i < 512; i++) data[i] = i % 8 < 4 ? 0 : 1;
  return { data, shape, voxelSize: 2, phases: { 0: 'pore', 1: 'solid' } };
}

describe('simulate()', () => {
  it('scores a GDL-like fibre volume with porosity, tau_z and limitingCurrent', async () => {
    const v = fibreVolume([48, 48, 24], 30, 4, 1);
    const r = await simulate(v, { properties: ['porosity', 'tau_z', 'limitingCurrent'] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { porosity, tau_z, limitingCurrent } = r.value.properties;
    expect(porosity).toBeGreaterThan(0.5);
    expect(porosity).toBeLessThan(1);
    expect(tau_z).toBeGreaterThan(1);
    expect(r.value.units).toEqual({ porosity: '1', tau_z: '1', limitingCurrent: 'A/m^2' });
    // limitingCurrent is the closed-form model of the same solve.
    const expected = limitingCurrentDensity({
      dRel: porosity / tau_z,
      thickness: 24 * 2e-6,
      temperatureK: CONTEXT_DEFAULTS.temperature,
      pressurePa: CONTEXT_DEFAULTS.pressure,
      oxygenFraction: CONTEXT_DEFAULTS.oxygenFraction,
    });
    expect(limitingCurrent).toBeCloseTo(expected, 6);
    const diag = r.value.diagnostics as Record<string, { iterations: number; converged: boolean }>;
    expect(diag.diffusion_z.converged).toBe(true);
    expect(diag.diffusion_z.iterations).toBeGreaterThan(0);
  });

  it('reports a blocked direction as τ = Infinity, D_eff = 0 and zero limiting current, not an error', async () => {
    const r = await simulate(layered(), { properties: ['tau_z', 'deff_z', 'tau_x', 'limitingCurrent', 'macMullin'] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.properties.tau_z).toBe(Infinity);
    expect(r.value.properties.deff_z).toBe(0);
    expect(r.value.properties.limitingCurrent).toBe(0);
    expect(r.value.properties.macMullin).toBe(Infinity);
    expect(r.value.properties.tau_x).toBeCloseTo(1, 5);
  });

  it('uses the transporting phase given by `phase`', async () => {
    const r = await simulate(layered(), { properties: ['porosity', 'tau_x'], phase: 1 });
    expect(r.ok && r.value.properties.porosity).toBe(0.5);
  });

  it('rejects unknown property names with a bad-input SimulationError', async () => {
    const r = await simulate(layered(), { properties: ['porosity', 'tau_w'] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.reason).toBe('bad-input');
      expect(r.error.message).toContain('tau_w');
    }
  });

  it('refuses context values outside their range, naming the key, the value and what is allowed (review 2026-12-07)', async () => {
    // temperature = −10 and thickness = 0 gave NaN for pemfc/liion properties.
    const v = fibreVolume([16, 16, 8], 6, 3, 1);
    const cases: Array<[Record<string, number>, RegExp]> = [
      [{ temperature: -10 }, /context temperature = -10: must be > 0 K/],
      [{ thickness: 0 }, /context thickness = 0: must be > 0 m/],
      [{ sigma_1: -5 }, /context sigma_1 = -5: negative conductivities are refused; must be ≥ 0 S\/m/],
      [{ kappaElectrolyte: -1 }, /context kappaElectrolyte = -1: must be ≥ 0 S\/m/],
      [{ ptfeLabel: 1.5 }, /context ptfeLabel = 1.5: must be an integer label 0..255/],
      [{ pressure: NaN }, /context pressure = NaN: must be a finite number/],
    ];
    for (const [context, re] of cases) {
      const r = await simulate(v, { properties: ['limitingCurrent', 'ionicTimeConstant'], context });
      expect(r.ok, JSON.stringify(context)).toBe(false);
      if (r.ok) continue;
      expect(r.error.reason).toBe('bad-input');
      expect(r.error.message).toMatch(re);
    }
    const fine = await simulate(v, { properties: ['limitingCurrent'], context: { temperature: 300, thickness: 1e-4, sigma_1: 0 } });
    expect(fine.ok).toBe(true);
  });

  it('computes multi-phase conductivity from per-label context conductivities', async () => {
    const r = await simulate(layered(), { properties: ['sigma_eff_x', 'sigma_eff_z'], context: { sigma_0: 2, sigma_1: 6 } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.properties.sigma_eff_x).toBeCloseTo(4, 4);
    expect(r.value.properties.sigma_eff_z).toBeCloseTo(3, 4);
  });
});

describe('simulator registry', () => {
  it('declares a unit and a definition for every property, each provided by exactly one simulator', () => {
    const seen = new Map<string, string>();
    for (const [name, make] of Object.entries(simulatorRegistry)) {
      const sim = make();
      expect(sim.name).toBe(name);
      for (const [prop, info] of Object.entries(sim.provides)) {
        expect(/^[A-Za-z_][A-Za-z0-9_]*$/.test(prop), prop).toBe(true);
        expect(info.unit.length).toBeGreaterThan(0);
        expect(info.definition.length).toBeGreaterThan(20);
        expect(seen.has(prop), prop).toBe(false);
        seen.set(prop, name);
      }
    }
    expect([...seen.keys()].sort()).toEqual(Object.keys(PROPERTIES).sort());
  });

  it('evaluates only its own properties, restricted to the requested axes', async () => {
    const sim = simulatorRegistry.diffusion();
    const r = await sim.evaluate(layered(), { axes: ['x'] });
    expect(r.ok && Object.keys(r.value.properties).sort()).toEqual(['deff_x', 'tau_x']);
    const bad = await sim.evaluate(layered(), { properties: ['porosity'] });
    expect(bad.ok).toBe(false);
  });

  it('gives SOFC TPB densities on a three-phase volume and a bad-input error otherwise', async () => {
    const shape: [number, number, number] = [8, 8, 6];
    const data = new Uint8Array(384);
    for (let x = 0; x < 8; x++) for (let y = 0; y < 8; y++) for (let z = 0; z < 6; z++) data[(x * 8 + y) * 6 + z] = x < 4 ? 0 : y < 4 ? 1 : 2;
    const v: Voxels = { data, shape, voxelSize: 1, phases: { 0: 'pore', 1: 'ni', 2: 'ysz' } };
    const r = await simulate(v, { properties: ['tpbDensity', 'tpbActiveDensity'] });
    expect(r.ok).toBe(true);
    if (r.ok) {
      // 6 edges of 1 µm × 2/3 in 384 µm³.
      expect(r.value.properties.tpbDensity).toBeCloseTo(((2 / 3) * 6e-6) / 384e-18, -6);
      expect(r.value.properties.tpbActiveDensity).toBe(r.value.properties.tpbDensity);
    }
    const two = await simulate(layered(), { properties: ['tpbDensity'] });
    expect(two.ok).toBe(false);
  });

  it('reports progress through onProgress, with bit-identical results (diff review 2026-12-07, item 4)', async () => {
    const v = fibreVolume([24, 24, 16], 12, 4, 3);
    const properties = ['porosity', 'tau_x', 'deff_x', 'tau_z', 'limitingCurrent', 'permeability_z', 'poreDiameterMean'];
    const plain = await simulate(v, { properties });
    const events: SimulateProgress[] = [];
    const watched = await simulate(v, { properties, onProgress: (e) => events.push(e) });
    expect(plain.ok && watched.ok).toBe(true);
    if (!plain.ok || !watched.ok) return;
    // Same numbers to the bit (Object.is: toEqual would let -0 and 0 pass as equal).
    for (const n of properties) expect(Object.is(watched.value.properties[n], plain.value.properties[n]), n).toBe(true);
    const diag = (r: typeof plain) => (r.ok ? Object.fromEntries(Object.entries(r.value.diagnostics as Record<string, Record<string, unknown>>).filter(([k]) => k !== 'propertyMs').map(([k, d]) => [k, { ...d, wallMs: 0 }])) : {});
    expect(diag(watched)).toEqual(diag(plain));
    // Each property bracketed in order; each solve once, under the first property needing it.
    const props = events.filter((e) => e.event.startsWith('property-'));
    expect(props.map((e) => `${e.event} ${e.property} ${e.done}/${e.total}`)).toEqual(
      properties.flatMap((n, i) => [`property-start ${n} ${i}/7`, `property-end ${n} ${i + 1}/7`]),
    );
    const solves = events.filter((e) => e.event === 'solve-start' || e.event === 'solve-end');
    expect(solves.map((e) => `${e.event} ${e.solve} ${e.property}`)).toEqual([
      'solve-start diffusion_x tau_x',
      'solve-end diffusion_x tau_x',
      'solve-start diffusion_z tau_z',
      'solve-end diffusion_z tau_z',
      'solve-start permeability_z permeability_z',
      'solve-end permeability_z permeability_z',
      'solve-start localThickness poreDiameterMean',
      'solve-end localThickness poreDiameterMean',
    ]);
    const d = watched.value.diagnostics as Record<string, { iterations: number; residual: number }>;
    for (const e of solves.filter((e) => e.event === 'solve-end' && e.solve !== 'localThickness')) {
      expect(e.iterations, e.solve).toBe(d[e.solve!].iterations);
      expect(e.residual, e.solve).toBe(d[e.solve!].residual);
    }
    expect(solves.at(-1)!.iterations).toBeUndefined();
    // The LBM reports every convergence check (100 steps): its iterations lie between its start and end.
    const lbm = events.slice(
      events.findIndex((e) => e.event === 'solve-start' && e.solve === 'permeability_z'),
      events.findIndex((e) => e.event === 'solve-end' && e.solve === 'permeability_z'),
    );
    const checks = lbm.filter((e) => e.event === 'solve-iteration');
    expect(checks.length).toBe(Math.floor((d.permeability_z.iterations - 1) / 100));
    expect(checks.every((e) => e.solve === 'permeability_z' && e.axis === 'z' && e.iterations! % 100 === 0 && e.residual! > 0)).toBe(true);
  });

  it('leaves onProgress on the calling thread when the run goes to a pool worker (functions do not cross it)', async () => {
    const pool = createPhysicsPool({ size: 1 });
    try {
      const seen: SimulateProgress[] = [];
      const r = await simulateInPool(pool, layered(), { properties: ['porosity', 'tau_x'], onProgress: (e) => seen.push(e) });
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value.properties.tau_x).toBeCloseTo(1, 6);
      expect(seen).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});
