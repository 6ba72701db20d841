/**
 * Dataset checks, hashing and splits shared by the surrogates (issue #5).
 */
import { createHash } from 'node:crypto';
import { BadInputError } from '../core/errors.js';
import type { Dataset } from '../core/protocols.js';
import type { Rng } from '../core/rng.js';

/** Throws BadInputError unless the dataset is rectangular with ≥ 1 row, input and output. */
export function checkDataset(data: Dataset, where = 'dataset'): void {
  if (data.inputs.length === 0) throw new BadInputError('needs at least one input feature', `${where}.inputs`);
  if (data.outputs.length === 0) throw new BadInputError('needs at least one output property', `${where}.outputs`);
  if (data.x.length === 0 || data.x.length !== data.y.length) {
    throw new BadInputError(`needs as many rows of y as of x, at least one (got ${data.x.length} and ${data.y.length})`, where);
  }
  data.x.forEach((r, i) => {
    if (r.length !== data.inputs.length) throw new BadInputError(`row ${i} has ${r.length} inputs, expected ${data.inputs.length}`, `${where}.x`);
  });
  data.y.forEach((r, i) => {
    if (r.length !== data.outputs.length) throw new BadInputError(`row ${i} has ${r.length} outputs, expected ${data.outputs.length}`, `${where}.y`);
  });
}

/**
 * SHA-256 of the dataset (names and values; NaN, ±∞ spelled out), recorded with a trained model
 * so that the ledger can say which data a model saw (issue #5, "Persistence").
 */
export function datasetHash(data: Dataset): string {
  const h = createHash('sha256');
  const num = (v: number) => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Inf' : '-Inf');
  h.update(JSON.stringify({ inputs: data.inputs, outputs: data.outputs }));
  for (let i = 0; i < data.x.length; i++) {
    h.update(data.x[i].map(num).join(',') + ';' + data.y[i].map(num).join(',') + '\n');
  }
  return h.digest('hex');
}

/** Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** n draws with replacement from `indices` (the bootstrap of Efron 1979). */
export function bootstrap(indices: readonly number[], rng: Rng): number[] {
  return indices.map(() => indices[rng.int(indices.length)]);
}
