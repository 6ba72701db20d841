import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from './backend.js';

describe('ensureBackend', () => {
  it('picks wasm for dense and cpu for conv when no native build is installed, logging each once', async () => {
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

    // Idempotent: asking again switches back without logging again.
    expect(await ensureBackend('dense', { log })).toBe(dense);
    expect(await ensureBackend('dense', { log })).toBe(dense);
    expect(tf.getBackend()).toBe(dense);
    expect(lines).toHaveLength(native ? 1 : 2);
    expect(lines[0]).toMatch(new RegExp(`backend '${dense}'`));
  });
});
