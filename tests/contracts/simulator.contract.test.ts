/**
 * One contract for every Simulator in the registry (DESIGN.md style rule 11; issue #15): what
 * the predictor relies on. Every property it declares comes back with its declared unit and a
 * number (Infinity is a value: τ of a phase that does not percolate); the same volume gives
 * the same numbers; bad requests are values (`Result` errors), never throws.
 */
import { describe, expect, it } from 'vitest';
import { SimulationError } from '../../src/core/errors.js';
import type { SimulateOptions, Voxels } from '../../src/core/protocols.js';
import { simulatorRegistry } from '../../src/physics/index.js';
import { twinRegistry } from '../../twins/index.js';

/** Each simulator on a small volume of the material it is for. */
const VOLUME: Record<string, () => Voxels> = {};
const gdl = () => twinRegistry['fibre-gdl']().generate({}, { seed: 1, size: [24, 24, 16], voxelSize: 2 }).voxels;
for (const n of ['morphology', 'diffusion', 'conduction', 'permeability', 'pemfc']) VOLUME[n] = gdl;
VOLUME.liion = () => twinRegistry['grain-electrode']().generate({}, { seed: 1, size: [32, 32, 24], voxelSize: 1 }).voxels;
VOLUME.sofc = () => twinRegistry['sofc-anode']().generate({}, { seed: 1, size: [32, 32, 32], voxelSize: 0.1 }).voxels;
/** What a simulator needs besides the volume: conduction, the conductivity of a phase (here carbon fibre, S/m). */
const OPTIONS: Record<string, SimulateOptions> = { conduction: { context: { sigma_1: 1e4 } } };

it('every registered simulator has a contract volume', () => {
  expect(Object.keys(simulatorRegistry).sort()).toEqual(Object.keys(VOLUME).sort());
});

describe.each(Object.keys(simulatorRegistry).filter((n) => n in VOLUME))('Simulator contract: %s', (name) => {
  const sim = simulatorRegistry[name]();
  const voxels = VOLUME[name]();
  const options = OPTIONS[name] ?? {};

  it('declares what it provides, each with a unit and a definition', () => {
    expect(sim.name).toBe(name);
    expect(Object.keys(sim.provides).length).toBeGreaterThan(0);
    for (const [p, info] of Object.entries(sim.provides)) {
      expect(typeof info.unit, p).toBe('string');
      expect(info.definition, p).toMatch(/\S/);
    }
  });

  it('returns every property it provides, in its declared unit, as a number; the same volume gives the same numbers', async () => {
    const r = await sim.evaluate(voxels, options);
    if (!r.ok) throw r.error;
    expect(Object.keys(r.value.properties).sort()).toEqual(Object.keys(sim.provides).sort());
    for (const [p, v] of Object.entries(r.value.properties)) {
      expect(typeof v === 'number' && !Number.isNaN(v), `${p} = ${v}`).toBe(true);
      expect(r.value.units[p], p).toBe(sim.provides[p].unit);
    }
    const again = await sim.evaluate(voxels, options);
    expect(again.ok && again.value.properties).toEqual(r.value.properties);
  });

  it('computes only the properties asked for', async () => {
    const one = Object.keys(sim.provides)[0];
    const r = await sim.evaluate(voxels, { ...options, properties: [one] });
    expect(r.ok && Object.keys(r.value.properties)).toEqual([one]);
  });

  it('answers a property it does not provide, and voxels that do not fit their shape, with a bad-input error value', async () => {
    const foreign = await sim.evaluate(voxels, { ...options, properties: ['noSuchProperty'] });
    expect(foreign.ok).toBe(false);
    if (!foreign.ok) expect(foreign.error).toBeInstanceOf(SimulationError);
    if (!foreign.ok) expect(foreign.error.reason).toBe('bad-input');
    const broken = await sim.evaluate({ ...voxels, data: voxels.data.subarray(1) }, options);
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error.reason).toBe('bad-input');
  });
});
