import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { checkedCondition, latentSideFor, readGanModel, scaleCondition } from './gan-model.js';

// A tiny trained generator (experiments/make-gan-fixture.ts): latent 4 (+1 conditioned), hidden [8, 8, 4], 3 phases.
const FIXTURE = new URL('../../tests/fixtures/gan-tiny', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'poreloop-gan-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A copy of the fixture, damaged by `edit`. */
function copy(edit?: (dir: string) => void): string {
  const dir = join(root, `m${n++}`);
  cpSync(FIXTURE, dir, { recursive: true });
  edit?.(dir);
  return dir;
}
const editJson = (dir: string, name: string, f: (j: Record<string, any>) => void) => {
  const j = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  f(j);
  writeFileSync(join(dir, name), JSON.stringify(j));
};
const refused = (dir: string, msg: RegExp) => {
  expect(() => readGanModel(dir)).toThrow(BadInputError);
  expect(() => readGanModel(dir)).toThrow(msg);
};

describe('saved GAN model folder (issue #19 review)', () => {
  it('reads the fixture: layers chained through the channels, every number of weights.bin, the metadata', () => {
    const m = readGanModel(FIXTURE);
    expect(m.config).toEqual({ latentChannels: 4, conditioned: true, hidden: [8, 8, 4], phases: 3 });
    expect(m.weights.map((l) => l.wShape)).toEqual([[40, 64], [64, 64], [64, 32], [32, 24]]);
    expect(m.weights.map((l) => l.b.length)).toEqual([8, 8, 4, 3]);
    const total = m.weights.reduce((a, l) => a + l.w.length + l.b.length, 0);
    expect(4 * total).toBe(readFileSync(join(FIXTURE, 'weights.bin')).byteLength);
    expect(m.metadata.labels).toEqual([0, 1, 2]);
    expect(m.metadata.condition).toMatchObject({ name: 'porosity' });
  });

  it('refuses a damaged folder with a bad-input error that says what is wrong and what is expected', () => {
    refused(join(root, 'no-such-model'), /cannot read model\.json \(ENOENT\)/);
    refused(copy((d) => truncateSync(join(d, 'weights.bin'), 37978)), /weights\.bin has 37978 bytes; model\.json describes 9495 float32 numbers \(37980 bytes\): not a whole number/);
    refused(copy((d) => truncateSync(join(d, 'weights.bin'), 37976)), /weights\.bin has 37976 bytes; model\.json describes 9495/);
    refused(copy((d) => editJson(d, 'model.json', (j) => delete j.weightsManifest)), /weightsManifest must be one group/);
    refused(copy((d) => writeFileSync(join(d, 'model.json'), '{"format": "poreloop-slicegan-generator",')), /model\.json is not valid JSON/);
    refused(copy((d) => writeFileSync(join(d, 'metadata.json'), '[1, 2]')), /metadata\.json is not a JSON object/);
    refused(copy((d) => editJson(d, 'model.json', (j) => (j.format = 'keras'))), /format "keras" version 1; expected poreloop-slicegan-generator version 1/);
    refused(copy((d) => editJson(d, 'model.json', (j) => (j.generator.hidden = [8, 4, 4]))), /layer 1 has weight \[64,64\] and bias \[8\]; the generator's channels 5 → 8 → 4 → 4 → 3 need weight \[64, 32\]/);
    refused(copy((d) => editJson(d, 'model.json', (j) => (j.weightsManifest[0].weights[2].shape = [64, 32]))), /layer 1 has weight \[64,32\]/);
    refused(copy((d) => editJson(d, 'model.json', (j) => j.weightsManifest[0].weights.pop())), /describes 7 weight arrays; a generator with 4 layers .* has 8/);
    refused(copy((d) => editJson(d, 'metadata.json', (j) => (j.labels = [0, 1]))), /labels must list 3 distinct phase labels/);
    refused(copy((d) => editJson(d, 'metadata.json', (j) => (j.condition = null))), /the generator is conditioned, so metadata\.json condition must be/);
    const nan = copy((d) => {
      const b = readFileSync(join(d, 'weights.bin'));
      b.writeFloatLE(Number.NaN, 40);
      writeFileSync(join(d, 'weights.bin'), b);
    });
    refused(nan, /non-finite number at index 10/);
  });

  it('reads the weights from weights.bin only: the manifest may not point elsewhere', () => {
    const outside = copy((d) => editJson(d, 'model.json', (j) => (j.weightsManifest[0].paths = ['../../../etc/hostname'])));
    refused(outside, /weightsManifest paths must be \["weights\.bin"\] .* got \["\.\.\/\.\.\/\.\.\/etc\/hostname"\]/);
    refused(copy((d) => editJson(d, 'model.json', (j) => (j.weightsManifest[0].paths = ['weights.bin', 'more.bin']))), /paths must be \["weights\.bin"\]/);
  });

  it('latent side, condition scaling and the trained-range check shared by training and the twin', () => {
    // L layers map l → 2^L·(l − 2) + 2: the smallest l that covers n, at least 3.
    expect(latentSideFor(17, 4)).toBe(3);
    expect(latentSideFor(35, 4)).toBe(5);
    expect(2 ** 4 * (latentSideFor(35, 4) - 2) + 2).toBeGreaterThanOrEqual(35);
    expect(scaleCondition(0.2, { min: 0.2, max: 0.6 })).toBe(-1);
    expect(scaleCondition(0.6, { min: 0.2, max: 0.6 })).toBe(1);
    const meta = { condition: { name: 'porosity', min: 0.2, max: 0.6, mode: 'fraction' as const } };
    expect(checkedCondition(meta, undefined)).toBeCloseTo(0, 12);
    expect(() => checkedCondition(meta, 0.7)).toThrow(/porosity 0\.7 is outside the range the model was trained on/);
    expect(() => checkedCondition({ condition: null }, 0.3)).toThrow(/trained without a conditioning parameter/);
    expect(checkedCondition({ condition: null }, undefined)).toBeUndefined();
  });
});
