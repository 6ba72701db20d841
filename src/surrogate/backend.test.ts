import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from './backend.js';

describe('ensureBackend', () => {
  it('picks wasm for dense and cpu for conv when no native build is installed, logging each at most once', async () => {
    const lines: string[] = [];
    const log = (m: string) => lines.push(m);
    let native = true;
    try {
      const specifier: string = '@tensorflow/tfjs-node';
      await import(specifier);
    } catch {
      native = false;
    }
    const dense = await ensureBackend('dense', { log });
    expect(tf.getBackend()).toBe(dense);
    expect(dense).toBe(native ? 'tensorflow' : 'wasm');
    // The active backend really computes.
    expect(Array.from(await tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).data())).toEqual([11]);

    const conv = await ensureBackend('conv', { log });
    expect(conv).toBe(native ? 'tensorflow' : 'cpu');
    expect(tf.getBackend()).toBe(conv);

    // Each backend is logged once per process, when first chosen. Test files share a process
    // (vitest isolate: false, issue #15), so an earlier file may already have chosen them: at
    // most one line per backend here, and none when asking again.
    const distinct = new Set([dense, conv]);
    expect(lines.length).toBeLessThanOrEqual(distinct.size);
    for (const b of distinct) expect(lines.filter((l) => l.includes(`backend '${b}'`)).length).toBeLessThanOrEqual(1);
    const before = lines.length;
    expect(await ensureBackend('dense', { log })).toBe(dense);
    expect(await ensureBackend('dense', { log })).toBe(dense);
    expect(tf.getBackend()).toBe(dense);
    expect(lines).toHaveLength(before);
  });
});
