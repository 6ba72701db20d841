import { describe, expect, it } from 'vitest';
import { BadInputError } from '../src/core/errors.js';
import type { Parameters, StagedProcess, StageState, Twin } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { createGrainElectrode } from './grain-electrode.js';
import { createSofcAnode } from './sofc-anode.js';

function run(p: StagedProcess, actions: Parameters[], seed: number, spread?: Record<string, number>): StageState[] {
  const rng = createRng(seed);
  const out: StageState[] = [];
  let s = p.initial();
  for (const a of actions) out.push((s = p.step(s, a, rng, spread)));
  return out;
}

const GRAIN: Parameters[] = [{ castPorosity: 0.5, particleDiameter: 8 }, { cbdFraction: 0.1 }, { compression: 0.25 }];
const SOFC: Parameters[] = [{ niFraction: 0.45, greenPorosity: 0.5, niDiameter: 1 }, { sinterGrowth: 0.1 }];

describe('stage-by-stage process models (issue #17)', () => {
  for (const twin of [createGrainElectrode(), createSofcAnode()] as Twin[]) {
    it(`${twin.name}: the process follows the twin's stages, which carry its descriptors and variability`, () => {
      const p = twin.process!;
      expect(p.stages.map((s) => s.name)).toEqual(twin.stages.map((s) => s.name));
      twin.stages.forEach((s, i) => {
        expect(s.descriptors!.map((d) => d.name)).toEqual(p.stages[i].descriptors.map((d) => d.name));
        expect(s.variability).toEqual(p.stages[i].variability);
      });
      expect(twin.stages[0].variability!.length).toBeGreaterThan(0);
      for (const s of p.stages) for (const d of s.descriptors) expect(d.max).toBeGreaterThan(d.min);
    });
  }

  it('grain-electrode: calendering conserves the solid, ε = 1 − (1 − ε_cast)/(1 − c); with no spread, what is asked comes out', () => {
    const p = createGrainElectrode().process!;
    const [cast, dry, cal] = run(p, GRAIN, 1, { castPorosity: 0 });
    expect(cast.descriptors.porosity).toBe(0.5);
    expect(cal.realised.porosity).toBeCloseTo(1 - 0.5 / 0.75, 12);
    // solid per area is the loading at every stage
    for (const s of [cast, dry, cal]) expect(s.descriptors.thickness * s.descriptors.solidFraction).toBeCloseTo(60, 9);
    expect(cal.descriptors.ionicTransport).toBeCloseTo(cal.realised.porosity ** 1.5, 12);
    const est = p.estimate(cal);
    expect(est.cbdVolumeFraction + est.activeFraction).toBeCloseTo(1 - est.porosity, 12);
  });

  it('grain-electrode: the cast porosity scatters with the configured spread, and a fixed strain passes it on amplified by 1/(1 − c)', () => {
    const p = createGrainElectrode().process!;
    const cast: number[] = [];
    const final: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const [c, , f] = run(p, GRAIN, 100 + i, { castPorosity: 0.04 });
      cast.push(c.realised.castPorosity);
      final.push(f.realised.porosity);
    }
    const sd = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    };
    expect(sd(cast)).toBeGreaterThan(0.037);
    expect(sd(cast)).toBeLessThan(0.043);
    expect(sd(final) / sd(cast)).toBeCloseTo(1 / 0.75, 2);
  });

  it('grain-electrode: calendering past the floor is infeasible, with the reason', () => {
    const p = createGrainElectrode().process!;
    const [, , s] = run(p, [GRAIN[0], GRAIN[1], { compression: 0.45 }], 1, { castPorosity: 0 });
    expect(s.feasible).toBe(false);
    expect(s.reason).toMatch(/crush/);
  });

  it('sofc-anode: sintering densifies as ε_green^((1 + g)³) and smaller powders sinter faster', () => {
    const p = createSofcAnode().process!;
    const [green, sint] = run(p, SOFC, 1, { greenPorosity: 0, niDiameter: 0 });
    expect(green.realised.greenPorosity).toBe(0.5);
    const gEff = sint.realised.sinterGrowth;
    expect(sint.realised.porosity).toBeCloseTo(0.5 ** ((1 + gEff) ** 3), 12);
    const [, fine] = run(p, [{ ...SOFC[0], niDiameter: 0.5 }, SOFC[1]], 1, { greenPorosity: 0, niDiameter: 0 });
    expect(fine.realised.sinterGrowth).toBeGreaterThan(gEff);
    expect(fine.realised.porosity).toBeLessThan(sint.realised.porosity);
    expect(p.estimate(sint).tpbDensity).toBeGreaterThan(0);
  });

  it('sofc-anode: successive steps on one stream draw fresh scatter; the same seed replays it', () => {
    const q = createSofcAnode().process!;
    const draws = (seed: number) => {
      const rng = createRng(seed);
      return [0, 1, 2].map(() => q.step(q.initial(), SOFC[0], rng).realised);
    };
    const [a, b, c] = draws(4);
    expect(new Set([a, b, c].map((r) => r.greenPorosity)).size).toBe(3);
    expect(new Set([a, b, c].map((r) => r.niDiameter)).size).toBe(3);
    expect(draws(4)).toEqual([a, b, c]);
  });

  it('rebuilds a state from rig measurements: the measured intermediate, not the asked one', () => {
    const p = createGrainElectrode().process!;
    const s = p.fromMeasurements(1, p.initial(), GRAIN[0], { porosity: 0.47 });
    expect(s.realised.castPorosity).toBe(0.47);
    expect(p.fromMeasurements(1, p.initial(), GRAIN[0], { thickness: 120 }).realised.castPorosity).toBeCloseTo(0.5, 12);
    const q = createSofcAnode().process!;
    const g = q.fromMeasurements(1, q.initial(), SOFC[0], { porosity: 0.52, niDiameter: 1.3 });
    expect(g.realised).toMatchObject({ greenPorosity: 0.52, niDiameter: 1.3 });
  });

  it('rig readings: kept as read (no clamp), marked measured; a missing one is not; later stages\' readings are used', () => {
    const p = createGrainElectrode().process!;
    // A cast porosity outside the model's draw clamp [0.3, 0.75] stays as the rig read it.
    const wet = p.fromMeasurements(1, p.initial(), GRAIN[0], { porosity: 0.78 });
    expect(wet.realised.castPorosity).toBe(0.78);
    expect(wet.measured).toEqual(['castPorosity']);
    // Nothing read: the asked value, not marked measured.
    const blind = p.fromMeasurements(1, p.initial(), GRAIN[0], {});
    expect(blind.realised.castPorosity).toBe(0.5);
    expect(blind.measured).toBeUndefined();
    // Read after drying and after calendering: those readings, not the model's, make the state.
    const dried = p.fromMeasurements(2, blind, GRAIN[1], { porosity: 0.46 });
    expect(dried.realised.castPorosity).toBe(0.46);
    expect(dried.measured).toEqual(['castPorosity']);
    const cal = p.fromMeasurements(3, dried, GRAIN[2], { porosity: 0.31, thickness: 88 });
    expect(cal.realised.porosity).toBe(0.31);
    expect(cal.descriptors.thickness).toBe(88);
    expect(p.estimate(cal).porosity).toBe(0.31);
    expect(cal.measured).toEqual(['castPorosity', 'porosity']);
    expect(() => p.fromMeasurements(1, p.initial(), GRAIN[0], { porosity: 1.3 })).toThrow(/measured\.porosity/);

    const q = createSofcAnode().process!;
    const green = q.fromMeasurements(1, q.initial(), SOFC[0], { porosity: 0.25 });
    expect(green.realised).toMatchObject({ greenPorosity: 0.25, niDiameter: 1 });
    expect(green.measured).toEqual(['greenPorosity']);
    const sintered = q.fromMeasurements(2, green, SOFC[1], { porosity: 0.22, niDiameter: 1.4, tpbDensity: 2.5 });
    expect(q.estimate(sintered)).toMatchObject({ porosity: 0.22, niDiameter: 1.4, tpbDensity: 2.5 });
    expect(sintered.measured).toEqual(['greenPorosity', 'porosity', 'niDiameterSintered', 'tpbDensity']);
  });

  it('refuses settings out of bounds, naming the setting and the range', () => {
    const p = createGrainElectrode().process!;
    expect(() => p.step(p.initial(), { castPorosity: 0.9, particleDiameter: 8 }, createRng(1))).toThrow(BadInputError);
    expect(() => p.step(p.initial(), { castPorosity: 0.9, particleDiameter: 8 }, createRng(1))).toThrow(/castPorosity.*0\.35 … 0\.7/);
    expect(() => p.step(p.initial(), GRAIN[0], createRng(1), { castPorosity: -1 })).toThrow(/spread of castPorosity/);
  });

  it('the realised structure is one the voxel twin can build, at the realised porosity', () => {
    const twin = createGrainElectrode();
    const states = run(twin.process!, GRAIN, 3);
    const out = twin.generate(twin.process!.recipe(states[2]), { seed: 1, size: [24, 24, 16], voxelSize: 1 });
    expect(Math.abs(out.achieved.porosity - states[2].realised.porosity)).toBeLessThan(0.03);
    const sofc = createSofcAnode();
    const s2 = run(sofc.process!, SOFC, 3);
    const o2 = sofc.generate(sofc.process!.recipe(s2[1]), { seed: 1, size: [24, 24, 24], voxelSize: 0.1 });
    expect(Math.abs(o2.achieved.porosity - s2[1].realised.porosity)).toBeLessThan(0.03);
  });
});
