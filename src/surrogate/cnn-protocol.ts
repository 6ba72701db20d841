/**
 * Messages between cnn.ts and cnn-worker.ts. Rows travel as one Float32Array (transferred,
 * not copied): a 16³ volume per row is 4096 numbers, too many for arrays of arrays.
 */
import type { Dataset, Prediction } from '../core/protocols.js';
import type { Calibration, EnsembleOptions } from './ensemble.js';

export interface PackedDataset {
  inputs: string[];
  outputs: string[];
  /** Float32 for voxel rows (cnn.ts); Float64 where the features must arrive exactly (train-task.ts, issue #21). */
  x: Float32Array | Float64Array;
  y: Float64Array;
  rows: number;
}

export interface PackedPrediction {
  mean: Float64Array;
  std: Float64Array;
  rows: number;
  cols: number;
}

export type CnnRequest =
  | { id: number; op: 'init'; options: Omit<EnsembleOptions, 'log'> }
  | { id: number; op: 'fit'; data: PackedDataset; options: { seed?: number; warmStart?: boolean } }
  | { id: number; op: 'predict'; x: Float32Array; rows: number }
  | { id: number; op: 'save' | 'load'; dir: string }
  | { id: number; op: 'info' };

export type CnnResponse =
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: { name: string; message: string; path?: string } }
  | { id: number; progress: number }
  | { id: number; log: string };

export interface CnnInfo {
  calibration: Calibration | null;
  dataHash: string | null;
}

export function packRows(rows: readonly (readonly number[])[]): Float32Array {
  return fillRows(rows, (n) => new Float32Array(n));
}

function fillRows<A extends Float32Array | Float64Array>(rows: readonly (readonly number[])[], make: (n: number) => A): A {
  const w = rows.length > 0 ? rows[0].length : 0;
  const out = make(rows.length * w);
  rows.forEach((r, i) => out.set(r, i * w));
  return out;
}

export function unpackRows(x: Float32Array | Float64Array, rows: number): number[][] {
  const w = rows > 0 ? x.length / rows : 0;
  return Array.from({ length: rows }, (_, i) => Array.from(x.subarray(i * w, (i + 1) * w)));
}

export function packDataset(d: Dataset, precision: 'f32' | 'f64' = 'f32'): PackedDataset {
  const y = new Float64Array(d.y.length * d.outputs.length);
  d.y.forEach((r, i) => y.set(r, i * d.outputs.length));
  return { inputs: d.inputs, outputs: d.outputs, x: precision === 'f64' ? fillRows(d.x, (n) => new Float64Array(n)) : packRows(d.x), y, rows: d.x.length };
}

export function unpackDataset(p: PackedDataset): Dataset {
  const P = p.outputs.length;
  return {
    inputs: p.inputs,
    outputs: p.outputs,
    x: unpackRows(p.x, p.rows),
    y: Array.from({ length: p.rows }, (_, i) => Array.from(p.y.subarray(i * P, (i + 1) * P))),
  };
}

export function packPrediction(p: Prediction): PackedPrediction {
  const rows = p.mean.length;
  const cols = rows > 0 ? p.mean[0].length : 0;
  const mean = new Float64Array(rows * cols);
  const std = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    mean.set(p.mean[i], i * cols);
    std.set(p.std[i], i * cols);
  }
  return { mean, std, rows, cols };
}

export function unpackPrediction(p: PackedPrediction): Prediction {
  const row = (a: Float64Array, i: number) => Array.from(a.subarray(i * p.cols, (i + 1) * p.cols));
  return {
    mean: Array.from({ length: p.rows }, (_, i) => row(p.mean, i)),
    std: Array.from({ length: p.rows }, (_, i) => row(p.std, i)),
  };
}
