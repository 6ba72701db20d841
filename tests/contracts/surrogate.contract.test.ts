/**
 * One contract for every Surrogate (DESIGN.md style rule 11; issue #15), the promises the
 * predictor relies on: fit reports a finite loss; predict gives one finite mean and one
 * positive, finite σ per row and output; a seed makes fitting repeatable; save → load into a
 * fresh instance gives the same predictions. Small data and few epochs: how *well* each one
 * learns is the slow tier's question (src/surrogate/*.test.ts, tagged 'slow').
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Dataset, Surrogate } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { CnnSurrogate } from '../../src/surrogate/cnn.js';
import { DeepEnsemble } from '../../src/surrogate/ensemble.js';

/** Rows of `inputs` features in [0, 1]; outputs: their mean and a strictly positive function of it. */
function dataset(rows: number, inputs: number, seed: number): Dataset {
  const rng = createRng(seed);
  const x = Array.from({ length: rows }, () => Array.from({ length: inputs }, () => rng.next()));
  const y = x.map((r) => {
    const m = r.reduce((a, b) => a + b, 0) / r.length;
    return [m, Math.exp(2 * m)];
  });
  return { inputs: x[0].map((_, j) => `f${j}`), x, outputs: ['mean', 'conductivity'], y };
}

type Disposable = Surrogate & { dispose?(): unknown };
const impls: Array<[string, { inputs: number; make: () => Disposable }]> = [
  ['DeepEnsemble', { inputs: 3, make: () => new DeepEnsemble({ members: 2, epochs: 8, patience: 8, architecture: { kind: 'mlp', trunk: [8], head: [], activation: 'tanh' }, log: () => {} }) }],
  // Inputs are a flattened 8³ volume (the smallest shape the CNN takes); it trains in a worker thread.
  ['CnnSurrogate', { inputs: 512, make: () => new CnnSurrogate({ shape: [8, 8, 8], filters: [2], dense: [4], head: [], activation: 'tanh', members: 2, epochs: 2, patience: 2, log: () => {} }) }],
];

describe.each(impls)('Surrogate contract: %s', (_name, { inputs, make }) => {
  const made: Disposable[] = [];
  const dirs: string[] = [];
  const fresh = () => {
    const s = make();
    made.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of made) await s.dispose?.();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const train = dataset(16, inputs, 1);
  const query = dataset(5, inputs, 2).x;

  let fitted: Disposable;
  it('has a name; fit reports a finite, non-negative loss and at least one epoch, with progress in [0, 1]', async () => {
    fitted = fresh();
    expect(fitted.name).toMatch(/\S/);
    const progress: number[] = [];
    const r = await fitted.fit(train, { seed: 3, onProgress: (f) => progress.push(f) });
    expect(Number.isFinite(r.loss) && r.loss >= 0).toBe(true);
    expect(r.epochs).toBeGreaterThanOrEqual(1);
    expect(progress.every((f) => f >= 0 && f <= 1)).toBe(true);
  });

  it('predict gives a finite mean and a positive finite σ for every row and output', async () => {
    const p = await fitted.predict(query);
    expect(p.mean).toHaveLength(query.length);
    expect(p.std).toHaveLength(query.length);
    for (let i = 0; i < query.length; i++) {
      expect(p.mean[i]).toHaveLength(train.outputs.length);
      expect(p.std[i]).toHaveLength(train.outputs.length);
      expect(p.mean[i].every(Number.isFinite)).toBe(true);
      expect(p.std[i].every((s) => Number.isFinite(s) && s > 0)).toBe(true);
    }
  });

  it('the same data and seed fit the same model', async () => {
    const again = fresh();
    await again.fit(train, { seed: 3 });
    expect(await again.predict(query)).toEqual(await fitted.predict(query));
  });

  it('save → load into a fresh instance gives identical predictions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poreloop-surrogate-contract-'));
    dirs.push(dir);
    await fitted.save(dir);
    const loaded = fresh();
    await loaded.load(dir);
    expect(await loaded.predict(query)).toEqual(await fitted.predict(query));
  });

  it('predicting before any fit or load is refused, not answered with noise', async () => {
    await expect(fresh().predict(query)).rejects.toThrow();
  });
});
