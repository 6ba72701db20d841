import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { RandomForest } from './forest.js';

describe('RandomForest', () => {
  const rng = createRng(21);
  const x = Array.from({ length: 80 }, () => [rng.next(), rng.next()]);
  // A step in x0 that a smooth model blurs and trees split exactly; x1 is irrelevant.
  const f = (r: readonly number[]): number => (r[0] > 0.5 ? 3 : 1);
  const y = x.map(f);

  it('recovers a step function, and is reproducible bit for bit for a seed', () => {
    const a = new RandomForest(x, y, { rng: createRng(1), trees: 50 });
    const b = new RandomForest(x, y, { rng: createRng(1), trees: 50 });
    const q = [[0.2, 0.5], [0.8, 0.1], [0.05, 0.95], [0.95, 0.9]];
    const p = a.predict(q);
    q.forEach((r, i) => expect(Math.abs(p.mean[i] - f(r))).toBeLessThan(0.2));
    expect(JSON.stringify(b.predict(q))).toBe(JSON.stringify(p));
    expect(JSON.stringify(b.outOfBag())).toBe(JSON.stringify(a.outOfBag()));
    // Another seed draws other bootstrap samples.
    expect(JSON.stringify(new RandomForest(x, y, { rng: createRng(2), trees: 50 }).outOfBag())).not.toBe(JSON.stringify(a.outOfBag()));
  });

  it('splits between adjacent floats (their midpoint rounds to the upper one) without endless recursion', () => {
    const a = 0.5000000000000006;
    const b = a + Number.EPSILON / 2; // the next double above a
    expect(b).toBeGreaterThan(a);
    expect(0.5 * (a + b)).toBe(b);
    const xs = [[a], [b], [a], [b], [a], [b]];
    const forest = new RandomForest(xs, [0, 1, 0, 1, 0, 1], { rng: createRng(4), trees: 5, minLeaf: 1 });
    const p = forest.predict([[a], [b]]);
    expect(p.mean[0]).toBeLessThan(p.mean[1]);
  });

  it('is more uncertain near the step than far from it, and its out-of-bag means rank the data', () => {
    const forest = new RandomForest(x, y, { rng: createRng(3) });
    const p = forest.predict([[0.5, 0.5], [0.1, 0.5], [0.9, 0.5]]);
    expect(p.variance[0]).toBeGreaterThan(p.variance[1]);
    expect(p.variance[0]).toBeGreaterThan(p.variance[2]);
    const oob = forest.outOfBag();
    // With 100 bootstrap trees a point is out of bag in ≈ 37 of them.
    expect(oob.every((v) => Number.isFinite(v))).toBe(true);
    const wrongSide = oob.filter((v, i) => Math.abs(v - y[i]) > 1).length;
    expect(wrongSide).toBeLessThan(5);
    // The out-of-bag distribution: the same means, and a spread that is largest at the step.
    const held = forest.outOfBagPrediction();
    expect(JSON.stringify(held.mean)).toBe(JSON.stringify(oob));
    expect(held.variance.every((v) => v >= 0)).toBe(true);
    const near = x.map((r, i) => [Math.abs(r[0] - 0.5), held.variance[i]]).sort((a, b) => a[0] - b[0]);
    const mean = (v: number[][]) => v.reduce((s, r) => s + r[1], 0) / v.length;
    expect(mean(near.slice(0, 10))).toBeGreaterThan(mean(near.slice(-40)));
  });

  it('builds the trees of the per-node sort bit for bit (presorted split search, issue #12 cost line)', () => {
    // Tied values (x0 and x2 on grids), feature subsets and larger leaves; the hash was taken at
    // ec64f2d, before the presorted split search, and must not move.
    const r = createRng(33);
    const xs = Array.from({ length: 90 }, () => [Math.round(r.next() * 8) / 8, r.next(), Math.round(r.next() * 3) / 3]);
    const ys = xs.map((q, i) => Math.sin(6 * q[0]) + q[1] * q[2] + (i % 7 === 0 ? 0.5 : 0));
    const out: number[] = [];
    for (const o of [{ trees: 30 }, { trees: 30, maxFeatures: 2, minLeaf: 2 }]) {
      const forest = new RandomForest(xs, ys, { rng: createRng(8), ...o });
      const p = forest.predict(xs.slice(0, 40).map((q) => q.map((v) => v + 0.01)));
      const b = forest.outOfBagPrediction();
      out.push(...p.mean, ...p.variance, ...b.mean, ...b.variance);
    }
    expect(createHash('sha256').update(Float64Array.from(out)).digest('hex')).toBe('ef4e588914da0f03a4de0233cf9860a9b7334d547ecd86d02fb3514664a1e0f7');
  });
});
