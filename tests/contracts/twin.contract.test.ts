/**
 * One contract for every Twin in the registry (DESIGN.md style rule 11; issue #15): what the
 * campaign, the CLI and the stage-wise agents rely on. A twin added to twins/index.ts without
 * a small test size below fails here rather than going unchecked.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { twinRegistry } from '../../twins/index.js';
import { BadInputError } from '../../src/core/errors.js';
import type { ContinuousParameter, IntegerParameter, Parameters, Shape3, Twin } from '../../src/core/protocols.js';

/** A small volume at a voxel size that resolves each twin's default features. */
const SMALL: Record<string, { size: Shape3; voxelSize: number; fixed?: Parameters }> = {
  'fibre-gdl': { size: [24, 24, 16], voxelSize: 2 },
  // A trained generator (issue #19): the tiny fixture model, passed as the loader passes twin.model.
  gan: { size: [20, 20, 16], voxelSize: 0.5, fixed: { model: resolve('tests/fixtures/gan-tiny') } },
  'grain-electrode': { size: [32, 32, 24], voxelSize: 1 },
  'sofc-anode': { size: [32, 32, 32], voxelSize: 0.1 },
};

it('every registered twin has a contract setting', () => {
  expect(Object.keys(twinRegistry).sort()).toEqual(Object.keys(SMALL).sort());
});

const defaults = (t: Twin): Parameters => Object.fromEntries(t.parameters.filter((p) => p.default !== undefined).map((p) => [p.name, p.default!]));

describe.each(Object.keys(twinRegistry).filter((n) => n in SMALL))('Twin contract: %s', (name) => {
  const twin = twinRegistry[name]();
  const { size, voxelSize, fixed = {} } = SMALL[name];
  const gen = (params: Parameters = defaults(twin), seed = 1, extra = {}) => twin.generate({ ...fixed, ...params }, { seed, size, voxelSize, ...extra });

  it('declares its name, parameters with sane bounds and defaults, stages that name them, and a pore phase 0', () => {
    expect(twin.name).toBe(name);
    expect(twin.description).toMatch(/\S/);
    const names = new Set(twin.parameters.map((p) => p.name));
    expect(names.size).toBe(twin.parameters.length);
    for (const p of twin.parameters) {
      if (p.kind === 'categorical') {
        expect(p.values.length).toBeGreaterThan(0);
        if (p.default !== undefined) expect(p.values).toContain(p.default);
      } else {
        expect(p.min).toBeLessThan(p.max);
        if (p.default !== undefined) expect(p.default >= p.min && p.default <= p.max, `${p.name} default`).toBe(true);
      }
    }
    expect(twin.stages.length).toBeGreaterThan(0);
    for (const s of twin.stages) for (const p of s.parameters) expect(names, `stage ${s.name} uses ${p}`).toContain(p);
    expect(twin.phases[0]).toBe('pore');
  });

  it('generates a volume of the asked shape and voxel size whose labels are all declared phases, and reports what it did', () => {
    const progress: number[] = [];
    const out = gen(defaults(twin), 1, { onProgress: (f: number) => progress.push(f) });
    expect(out.voxels.shape).toEqual(size);
    expect(out.voxels.data.length).toBe(size[0] * size[1] * size[2]);
    expect(out.voxels.voxelSize).toBe(voxelSize);
    const labels = new Set(out.voxels.data);
    for (const l of labels) expect(twin.phases, `label ${l}`).toHaveProperty(String(l));
    expect(labels.has(0)).toBe(true); // some pore
    expect(labels.size).toBeGreaterThan(1); // and some solid
    expect(out.stages).toEqual(twin.stages.map((s) => s.name));
    for (const p of twin.parameters) expect(out.requested).toHaveProperty(p.name);
    expect(Object.values(out.achieved).every((v) => typeof v === 'number' && !Number.isNaN(v))).toBe(true);
    expect(progress.every((f) => f >= 0 && f <= 1)).toBe(true);
  });

  it('is deterministic for a seed, and another seed gives another structure', () => {
    const a = gen();
    expect(Buffer.from(gen().voxels.data).equals(Buffer.from(a.voxels.data))).toBe(true);
    expect(Buffer.from(gen(defaults(twin), 2).voxels.data).equals(Buffer.from(a.voxels.data))).toBe(false);
  });

  it('untilStage stops after that stage', () => {
    const first = twin.stages[0].name;
    const out = gen(defaults(twin), 1, { untilStage: first });
    expect(out.stages).toEqual([first]);
    expect(out.voxels.data.length).toBeGreaterThan(0);
  });

  it('refuses unknown parameters, out-of-bounds values and an unknown stage with BadInputError naming them', () => {
    expect(() => gen({ ...defaults(twin), noSuchKnob: 1 })).toThrow(BadInputError);
    expect(() => gen({ ...defaults(twin), noSuchKnob: 1 })).toThrow(/noSuchKnob/);
    const bounded = twin.parameters.find((p): p is ContinuousParameter | IntegerParameter => p.kind !== 'categorical');
    if (bounded) {
      expect(() => gen({ ...defaults(twin), [bounded.name]: bounded.max + Math.abs(bounded.max) + 1 })).toThrow(new RegExp(bounded.name));
    }
    expect(() => gen(defaults(twin), 1, { untilStage: 'no-such-stage' })).toThrow(BadInputError);
  });
});
