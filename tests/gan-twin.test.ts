/**
 * The `gan` twin (twins/gan.ts, issue #19) against the generator it stands for, and its wiring
 * into a campaign: `twin: { name: gan, model: <folder> }` through the config loader and the
 * composition root's registries. Model: tests/fixtures/gan-tiny (experiments/make-gan-fixture.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadCampaign, registries } from '../src/compose/campaign.js';
import { BadInputError } from '../src/core/errors.js';
import { generateGan, loadGan, useGanBackend } from '../src/reconstruct/gan.js';
import { createGanTwin } from '../twins/gan.js';

const MODEL = resolve('tests/fixtures/gan-tiny');
let before = '';
const dirs: string[] = [];
beforeAll(() => {
  before = tf.getBackend();
});
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (before && tf.getBackend() !== before) await tf.setBackend(before);
});

describe('gan twin', () => {
  it('generates what the TensorFlow.js generator generates, voxel for voxel, for a seed and a condition', async () => {
    await useGanBackend();
    const model = loadGan(MODEL);
    const c = model.metadata.condition!;
    const at = c.min + 0.3 * (c.max - c.min);
    const ref = generateGan(model, { shape: [20, 18, 22], seed: 3, condition: at });
    const out = createGanTwin().generate({ model: MODEL, condition: at }, { seed: 3, size: [20, 18, 22], voxelSize: 0.5 });
    let same = 0;
    for (let i = 0; i < ref.data.length; i++) if (ref.data[i] === out.voxels.data[i]) same++;
    // float32 (tfjs) against float64 accumulation (twin): a rare near-tie may flip one voxel.
    expect(same / ref.data.length).toBeGreaterThan(0.999);
    expect(new Set(out.voxels.data).size).toBeGreaterThan(1);
    expect(out.voxels.phases).toEqual(model.metadata.phases);
    expect(out.achieved.porosity).toBeCloseTo(out.achieved.fraction_0, 12);
  });

  it('refuses a missing model folder, a condition outside the trained range and unknown parameters', () => {
    const twin = createGanTwin();
    const opts = { seed: 1, size: [8, 8, 8] as [number, number, number], voxelSize: 1 };
    expect(() => twin.generate({}, opts)).toThrow(/twin\.model/);
    expect(() => twin.generate({ model: '/nonexistent-gan-model' }, opts)).toThrow(BadInputError);
    const c = loadGan(MODEL).metadata.condition!;
    expect(() => twin.generate({ model: MODEL, condition: c.max + 0.1 }, opts)).toThrow(/outside the range/);
    expect(() => twin.generate({ model: MODEL, speed: 1 }, opts)).toThrow(/speed/);
  });

  it('refuses a damaged model folder, and a model whose labels it does not declare, with bad-input errors (#19 review)', () => {
    const twin = createGanTwin();
    const opts = { seed: 1, size: [8, 8, 8] as [number, number, number], voxelSize: 1 };
    const copy = (edit: (d: string) => void) => {
      const d = mkdtempSync(join(tmpdir(), 'poreloop-gan-bad-'));
      dirs.push(d);
      cpSync(MODEL, d, { recursive: true });
      edit(d);
      return d;
    };
    const truncated = copy((d) => truncateSync(join(d, 'weights.bin'), 37978));
    expect(() => twin.generate({ model: truncated }, opts)).toThrow(BadInputError);
    expect(() => twin.generate({ model: truncated }, opts)).toThrow(/not a whole number of float32/);
    const badJson = copy((d) => writeFileSync(join(d, 'model.json'), 'not json'));
    expect(() => twin.generate({ model: badJson }, opts)).toThrow(/model\.json is not valid JSON/);
    const relabel = (labels: number[]) =>
      copy((d) => {
        const m = JSON.parse(readFileSync(join(d, 'metadata.json'), 'utf8'));
        m.labels = labels;
        m.phases = Object.fromEntries(labels.map((l) => [l, `phase ${l}`]));
        writeFileSync(join(d, 'metadata.json'), JSON.stringify(m));
      });
    expect(() => twin.generate({ model: relabel([0, 128, 255]) }, opts)).toThrow(/labels 128, 255, which twin gan does not declare \(it declares 0, 1, 2, 3\)/);
    expect(() => twin.generate({ model: relabel([1, 2, 3]) }, opts)).toThrow(/no 0: label 0 is the pore phase/);
  });
});

describe('gan twin in a campaign config', () => {
  const config = (twin: Record<string, unknown>) => ({
    name: 'gan-twin',
    seed: 3,
    twin: { name: 'gan', size: [16, 16, 16], voxelSize: 0.5, ...twin },
    space: { condition: { min: 0.3, max: 0.4 } },
    predict: { properties: ['porosity'] },
    reward: 'porosity',
    agent: { name: 'random' },
    rigs: { pipeline: ['characterise'] },
    budget: { rigRuns: 2 },
  });

  it('twin.model (relative to the config) reaches every generation as the fixed value model, and the composed twin generates from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-gan-'));
    dirs.push(dir);
    cpSync(MODEL, join(dir, 'model'), { recursive: true });
    const source = join(dir, 'campaign.yaml');
    writeFileSync(source, YAML.stringify(config({ model: 'model' })));
    const r = loadCampaign(source, {}, {});
    const fixed = r.config.twin!.fixed;
    expect(fixed.model).toBe(join(dir, 'model'));
    expect(r.space.parameters.map((p) => p.name)).toEqual(['condition']);
    const twin = registries.twins[r.config.twin!.name]();
    const out = twin.generate({ ...fixed, condition: 0.35 }, { seed: 1, size: r.config.twin!.size as [number, number, number], voxelSize: r.config.twin!.voxelSize });
    expect(out.voxels.shape).toEqual([16, 16, 16]);
  });

  it('refuses twin gan without a model, a folder with no model, and a model for another twin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-gan-'));
    dirs.push(dir);
    const load = (c: unknown) => {
      const source = join(dir, 'campaign.yaml');
      writeFileSync(source, YAML.stringify(c));
      return () => loadCampaign(source, {}, {});
    };
    expect(load(config({}))).toThrow(/twin\.model: twin gan is a trained model and needs its folder/);
    expect(load(config({ model: 'missing' }))).toThrow(/twin\.model: .*missing is not a folder/);
    mkdirSync(join(dir, 'empty'));
    expect(load(config({ model: 'empty' }))).toThrow(/twin\.model: .*empty: no trained model here \(expected model\.json, weights\.bin, metadata\.json/);
    const other = { ...config({ model: 'model' }), twin: { name: 'fibre-gdl', size: [16, 16, 16], voxelSize: 2, model: 'model' }, space: { porosity: { min: 0.6, max: 0.8 } } };
    expect(load(other)).toThrow(/takes no model/);
  });
});
