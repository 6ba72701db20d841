import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import type { Agent, Parameters, Twin } from '../core/protocols.js';
import { createVoxels } from '../voxel/voxels.js';
import { createFibreGdl } from '../../twins/fibre-gdl.js';
import { createGrainElectrode } from '../../twins/grain-electrode.js';
import { calibrateTwin, calibrationSpace, compareCalibration, lossOf, measureCalibrationDescriptors, type MeasureOptions } from './calibrate.js';

/** An agent that hands out a fixed list of points in order: the test knows every point tried. */
function listAgent(points: Parameters[]): Agent {
  let next = 0;
  return {
    name: 'list',
    propose: async (_ctx, k) => points.slice(next, (next += k)),
    learn: async () => {},
  };
}

const twin = createGrainElectrode();
const size: [number, number, number] = [40, 40, 40];
const truth = { porosity: 0.35, particleDiameter: 10 };

describe('twin calibration (issue #19)', () => {
  it('finds the parameters a target was made with, among a grid that holds them, on the same seed', async () => {
    const target = twin.generate(truth, { seed: 7, size, voxelSize: 1 }).voxels;
    const grid: Parameters[] = [];
    for (const porosity of [0.3, 0.35, 0.4]) for (const particleDiameter of [7, 10, 13]) grid.push({ porosity, particleDiameter });
    const r = await calibrateTwin({ twin, agent: listAgent(grid), target, fit: ['porosity', 'particleDiameter'], budget: grid.length, batch: 4, size, twinSeed: 7, seed: 1, transport: [[0]], rmax: 8 });
    expect(r.evaluations).toHaveLength(9);
    expect(r.params).toEqual(truth);
    // Same seed, same parameters, same structure: every descriptor matches exactly.
    expect(r.best.loss).toBe(0);
    expect(r.best.terms!.map((t) => t.group)).toEqual(expect.arrayContaining(['fraction', 'ssa', 'psd', 's2', 'tau']));
    // Every other grid point is measurably worse (the loss tells parameters apart).
    for (const e of r.evaluations) if (e !== r.best) expect(e.loss).toBeGreaterThan(0.5);
  });

  it('scores descriptors against their tolerances: porosity in absolute units, the rest relative', async () => {
    // Two layered 2-phase volumes along z: the second has 10 % more of label 0.
    const make = (cut: number) => {
      const d = new Uint8Array(20 * 20 * 20);
      for (let x = 0; x < 20; x++) for (let y = 0; y < 20; y++) for (let z = 0; z < 20; z++) d[(x * 20 + y) * 20 + z] = y % 10 < cut ? 0 : 1;
      return createVoxels([20, 20, 20], 1, { 0: 'pore', 1: 'solid' }, d);
    };
    const m: MeasureOptions = { labels: [0, 1], transport: [[0]], rmax: 4, props: ['fraction', 'tau'] };
    const a = await measureCalibrationDescriptors(make(4), m);
    const b = await measureCalibrationDescriptors(make(5), m);
    expect(a.fractions[0]).toBeCloseTo(0.4, 12);
    // Straight slabs along x and z: τ = 1 exactly (TauFactor convention), none along y.
    expect(a.tau['0'].x).toBeCloseTo(1, 6);
    expect(a.tau['0'].y).toBe(Infinity);
    const terms = compareCalibration(b, a, { ...m, transport: [] });
    expect(terms.find((t) => t.name === 'fraction_0')!.error).toBeCloseTo(0.1, 12);
    // (0.1 / 0.01)² for each of the two labels, averaged.
    expect(lossOf(terms)).toBeCloseTo(100, 9);
  });

  it('refuses a target whose transport labels do not percolate, and labels the twin does not make', async () => {
    const d = new Uint8Array(20 * 20 * 20);
    for (let i = 0; i < d.length; i++) d[i] = Math.floor(i / 400) % 10 < 4 ? 0 : 1; // slabs normal to x
    const slabs = createVoxels([20, 20, 20], 1, { 0: 'pore', 1: 'active' }, d);
    const base = { twin, agent: listAgent([]), budget: 2, size, twinSeed: 1, seed: 1, rmax: 4 };
    await expect(calibrateTwin({ ...base, target: slabs, transport: [[0]] })).rejects.toThrow(/labels 0 of the target do not percolate along x/);
    const five = createVoxels([20, 20, 20], 1, { 0: 'pore', 5: 'x' }, d.map((v) => (v ? 5 : 0)));
    await expect(calibrateTwin({ ...base, target: five, transport: [[0]] })).rejects.toThrow(/labels 5 that twin grain-electrode does not make/);
    expect(() => calibrationSpace(twin, ['thickness'])).toThrow(BadInputError);
    expect(calibrationSpace(twin, ['porosity', 'castPorosity']).space.constraints).toEqual([{ coefficients: { castPorosity: 1, porosity: -1 }, op: '>=', rhs: 0 }]);
  });

  it('searches only what the twin generates on the grid: a diameter the domain cannot hold is outside the space (review 2026-12-07)', () => {
    // 32×24 voxels of 0.5 µm is 12 µm across in plane: particles up to 6 µm (163874f). The
    // default particleDiameter (10 µm) does not fit either, so porosity's range is found with it at 6.
    const grid = { size: [32, 24, 16] as [number, number, number], voxelSize: 0.5 };
    const { space, narrowed } = calibrationSpace(twin, ['porosity', 'particleDiameter'], grid);
    expect(space.parameters.map((p) => [p.name, 'min' in p ? [p.min, p.max, p.default] : null])).toEqual([
      ['porosity', [0.15, 0.6, 0.3]],
      ['particleDiameter', [1, 6, 6]],
    ]);
    expect(narrowed).toEqual([{ name: 'particleDiameter', unit: 'µm', spec: [1, 30], searched: [1, 6], reason: expect.stringMatching(/particleDiameter 30 µm does not fit the domain/) }]);
    // Both ends move where both are refused: fibres of at least one voxel, at most half the domain.
    const fibre = calibrationSpace(createFibreGdl(), ['fibreDiameter'], { size: [8, 8, 8], voxelSize: 4 });
    expect(fibre.narrowed.map((n) => n.searched)).toEqual([[4, 16]]);
    // A grid on which nothing is accepted is refused up front, naming the parameter and why.
    expect(() => calibrationSpace(twin, ['porosity'], { ...grid, fixed: { particleDiameter: 20 } })).toThrow(/--fit: twin grain-electrode takes no porosity in 0.15 … 0.6 on 32×24×16 voxels of 0.5 µm: .*particleDiameter 20 µm does not fit the domain/);
    // Without a grid, the spec's range.
    expect(calibrationSpace(twin, ['particleDiameter']).space.parameters[0]).toBe(twin.parameters.find((p) => p.name === 'particleDiameter'));
  });

  it('a parameter whose range vanishes on a later pass, after another one moved the base, is refused up front, not kept at its earlier range (review of 5865d33)', () => {
    // a ≤ 6 and b ≥ 4 always, a ≥ b once b is set (unset, b bounds nothing). Pass 0: a in
    // 0 … 6 (at 6, its default 9 clamped); b in 4 … 6, set to its default 5. Pass 1: a is
    // accepted only in 5 … 6, none of its min, default and max — no range, as on a grid that
    // holds none of them from the start.
    const fake = {
      name: 'fake',
      parameters: [
        { name: 'a', kind: 'continuous', min: 0, max: 10, default: 9 },
        { name: 'b', kind: 'continuous', min: 0, max: 10, default: 5 },
      ],
      checkInput: (q: Parameters) => {
        const a = q.a as number;
        const b = q.b as number | undefined;
        if (a > 6) throw new BadInputError(`a ${a} above 6`);
        if (b !== undefined && b < 4) throw new BadInputError(`b ${b} below 4`);
        if (b !== undefined && a < b) throw new BadInputError(`a ${a} below b ${b}`);
      },
    } as unknown as Twin;
    expect(() => calibrationSpace(fake, ['a', 'b'], { size: [8, 8, 8], voxelSize: 1 })).toThrow(/--fit: twin fake takes no a in 0 … 10 on 8×8×8 voxels of 1 µm: a 9 above 6/);
  });

  it('counts a refused parameter set as a failed evaluation, not a crash', async () => {
    const target = twin.generate(truth, { seed: 7, size, voxelSize: 1 }).voxels;
    const r = await calibrateTwin({
      twin,
      agent: listAgent([{ porosity: 0.5, castPorosity: 0.4 }, truth]),
      target,
      fit: ['porosity', 'castPorosity', 'particleDiameter'],
      budget: 2,
      size,
      twinSeed: 7,
      seed: 1,
      transport: [[0]],
      rmax: 8,
      props: ['fraction'],
    });
    expect(r.evaluations[0].loss).toBeNaN();
    expect(r.evaluations[0].error).toMatch(/castPorosity 0.4 is below porosity 0.5/);
    expect(r.best.index).toBe(1);
  });
});
