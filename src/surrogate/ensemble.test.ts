import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { datasetHash } from './dataset.js';
import { DeepEnsemble, coverage, type EnsembleOptions } from './ensemble.js';

const small: EnsembleOptions = { members: 5, epochs: 150, patience: 150, architecture: { kind: 'mlp', trunk: [16, 16], head: [8], activation: 'tanh' }, log: () => {} };

/** y0 = sin(2a) + b², y1 = exp(a + b) (learnt as a log-transformed property). */
function data(n: number, seed: number, lo = -1, hi = 1): Dataset {
  const rng = createRng(seed);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.uniform(lo, hi);
    const b = rng.uniform(lo, hi);
    x.push([a, b]);
    y.push([Math.sin(2 * a) + b * b, Math.exp(a + b)]);
  }
  return { inputs: ['a', 'b'], x, outputs: ['f', 'permeability'], y };
}

function r2(y: number[], p: number[]): number {
  const m = y.reduce((s, v) => s + v, 0) / y.length;
  const ssTot = y.reduce((s, v) => s + (v - m) ** 2, 0);
  const ssRes = y.reduce((s, v, i) => s + (v - p[i]) ** 2, 0);
  return 1 - ssRes / ssTot;
}

// Learning and accuracy checks are tagged 'slow' (npm run test:slow, issue #15); the fast tier
// keeps option checks and the issue #12 positivity regression, and tests/contracts checks
// fit/predict/save/load on every Surrogate.
describe('DeepEnsemble', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const train = data(80, 1);
  const test = data(40, 2);
  const ens = new DeepEnsemble(small);
  let fitted: { loss: number; epochs: number };

  it('training reduces the loss and learns a known function', { tags: ['slow'] }, async () => {
    const short = new DeepEnsemble({ ...small, epochs: 1 });
    const first = await short.fit(train, { seed: 3 });
    fitted = await ens.fit(train, { seed: 3 });
    // Loss is a masked MSE on standardised targets: ≈ 1 for a constant predictor.
    expect(first.loss).toBeGreaterThan(0.3);
    expect(fitted.loss).toBeLessThan(0.05);
    expect(fitted.loss).toBeLessThan(first.loss / 10);
    const p = await ens.predict(test.x);
    expect(r2(test.y.map((r) => r[0]), p.mean.map((r) => r[0]))).toBeGreaterThan(0.9);
    expect(r2(test.y.map((r) => Math.log(r[1])), p.mean.map((r) => Math.log(r[1])))).toBeGreaterThan(0.9);
    short.dispose();
  });

  it('ensemble σ grows away from the training data', { tags: ['slow'] }, async () => {
    const inside = await ens.predict(test.x);
    const far = await ens.predict(data(40, 4, 3, 4).x);
    const meanStd = (s: number[][]) => s.reduce((a, r) => a + r[0], 0) / s.length;
    expect(meanStd(far.std)).toBeGreaterThan(3 * meanStd(inside.std));
    // …while the mean stays within the training range widened by one σ (moments' clip; the
    // clip uses the σ of the 80% training split, so allow that to differ from this one).
    const y0 = train.y.map((r) => r[0]);
    const m = y0.reduce((a, b) => a + b, 0) / y0.length;
    const sd = Math.sqrt(y0.reduce((a, b) => a + (b - m) ** 2, 0) / y0.length);
    for (const r of far.mean) expect(r[0]).toBeLessThanOrEqual(Math.max(...y0) + 1.25 * sd);
  });

  it('is calibrated on its validation rows: μ ± a·σ covers about 68%', { tags: ['slow'] }, () => {
    const c = ens.calibration!;
    expect(c.validationRows).toBe(16);
    for (let j = 0; j < 2; j++) {
      expect(c.scale[j]).toBeGreaterThan(0);
      expect(Math.abs(c.coverage68After[j] - 0.68)).toBeLessThanOrEqual(1 / 16 + 1e-9);
      expect(c.coverage90After[j]).toBeGreaterThanOrEqual(c.coverage68After[j]);
    }
  });

  it('save → load gives identical predictions and records version, transforms and data hash', { tags: ['slow'] }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poreloop-ens-'));
    dirs.push(dir);
    await ens.save(dir);
    const meta = JSON.parse(await readFile(join(dir, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({ format: 'poreloop-surrogate', version: 1, members: 5, transforms: ['identity', 'log'], dataHash: datasetHash(train) });
    const model = JSON.parse(await readFile(join(dir, 'member-0', 'model.json'), 'utf8'));
    expect(model.format).toBe('layers-model');
    expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
    const loaded = new DeepEnsemble({ log: () => {} });
    await loaded.load(dir);
    expect(await loaded.predict(test.x)).toEqual(await ens.predict(test.x));
    loaded.dispose();
  });

  it('NaN targets are missing values: the other property still learns from those rows', { tags: ['slow'] }, async () => {
    const masked: Dataset = { ...train, y: train.y.map((r, i) => (i % 2 === 0 ? [r[0], NaN] : r)) };
    const m = new DeepEnsemble({ ...small, members: 2 });
    const { loss } = await m.fit(masked, { seed: 5 });
    expect(Number.isFinite(loss)).toBe(true);
    const p = await m.predict(test.x);
    expect(r2(test.y.map((r) => r[0]), p.mean.map((r) => r[0]))).toBeGreaterThan(0.85);
    expect(r2(test.y.map((r) => Math.log(r[1])), p.mean.map((r) => Math.log(r[1])))).toBeGreaterThan(0.85);
    m.dispose();
  });

  it('warm start continues from the current weights', { tags: ['slow'] }, async () => {
    const m = new DeepEnsemble({ ...small, members: 2, epochs: 40, patience: 40 });
    const a = await m.fit(train, { seed: 6 });
    const b = await m.fit(train, { seed: 6, warmStart: true });
    expect(b.loss).toBeLessThan(a.loss);
    m.dispose();
  });

  it('predicts strictly positive data as positive, extrapolating too (issue #12: negative conductivities)', async () => {
    // A conductivity-like property falling 400-fold across the box, from 16 rig results: a
    // linear-output network dips below zero where the data are small (30 of 75 grid points
    // with the transform forced to identity); learnt in log space it cannot.
    const rng = createRng(1);
    const x: number[][] = [];
    const y: number[][] = [];
    for (let i = 0; i < 16; i++) {
      const [a, b] = [rng.next(), rng.next()];
      x.push([a, b]);
      y.push([40 * Math.exp(-6 * a) * (0.5 + b)]);
    }
    const m = new DeepEnsemble({ members: 5, epochs: 200, log: () => {} });
    await m.fit({ inputs: ['a', 'b'], x, outputs: ['sigma'], y }, { seed: 2 });
    const grid: number[][] = [];
    for (let a = 0; a <= 1.5; a += 0.1) for (let b = 0; b <= 1; b += 0.25) grid.push([a, b]);
    const p = await m.predict(grid);
    expect(p.mean.filter((r) => !(r[0] > 0))).toEqual([]);
    m.dispose();
  });

  it('rejects unknown or invalid options (they often come from a campaign file)', () => {
    expect(() => new DeepEnsemble({ memebers: 5 } as EnsembleOptions)).toThrow(/unknown option 'memebers'/);
    expect(() => new DeepEnsemble({ epochs: 0 })).toThrow(/surrogate.epochs/);
    expect(() => new DeepEnsemble({ validationFraction: 0.9 })).toThrow(/validationFraction/);
  });

  it('rejects a bad architecture or transforms, listing the allowed values (diff review 2026-12-07, item 8)', () => {
    const bad = (o: Record<string, unknown>) => () => new DeepEnsemble(o as EnsembleOptions);
    expect(bad({ architecture: 'mlp' })).toThrow(/surrogate\.architecture: must be a map with kind mlp or cnn3d \(got "mlp"\)/);
    expect(bad({ architecture: { kind: 'foo' } })).toThrow(/surrogate\.architecture\.kind: unknown kind "foo" \(allowed: mlp, cnn3d\)/);
    expect(bad({ architecture: { kind: 'mlp' } })).toThrow(/surrogate\.architecture\.trunk: must be a list of positive integers \(got nothing\)/);
    expect(bad({ architecture: { kind: 'mlp', trunk: [8, 0], head: [], activation: 'tanh' } })).toThrow(/architecture\.trunk/);
    expect(bad({ architecture: { kind: 'mlp', trunk: [8], head: [], activation: 'sigmoid' } })).toThrow(/architecture\.activation: unknown activation "sigmoid" \(allowed: relu, elu, tanh, swish\)/);
    expect(bad({ architecture: { kind: 'mlp', trunk: [8], head: [], activation: 'tanh', filters: [8] } })).toThrow(/unknown field 'filters' of a mlp architecture \(allowed: kind, trunk, head, activation\)/);
    expect(bad({ architecture: { kind: 'cnn3d', shape: [4, 4], filters: [8], dense: [8], head: [], activation: 'relu' } })).toThrow(/architecture\.shape: must be a list of 3 positive integers/);
    expect(bad({ transforms: 5 })).toThrow(/surrogate\.transforms: must be a map of property → transform \(identity, log, reciprocal\) \(got 5\)/);
    expect(bad({ transforms: ['log'] })).toThrow(/surrogate\.transforms: must be a map/);
    expect(bad({ transforms: { y: 'nope' } })).toThrow(/surrogate\.transforms\.y: unknown transform "nope" for 'y' \(allowed: identity, log, reciprocal\)/);
    // The valid forms still pass.
    expect(() => new DeepEnsemble({ architecture: { kind: 'mlp', trunk: [8], head: [], activation: 'tanh' }, transforms: { y: 'log' } })).not.toThrow();
    expect(() => new DeepEnsemble({ architecture: { kind: 'cnn3d', shape: [4, 4, 4], filters: [2], dense: [4], head: [2], activation: 'relu' } })).not.toThrow();
  });

  it('coverage counts rows inside μ ± zσ', () => {
    expect(coverage([0, 1, 2, NaN], [0, 0, 0, 0], [1, 1, 1, 1], 1)).toBeCloseTo(2 / 3, 12);
  });
});
