import { describe, expect, it } from 'vitest';
import type { ParameterSpace } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { DiscrepancyModel, FeasibilityModel, penalise } from './discrepancy.js';

const space: ParameterSpace = {
  parameters: [
    { name: 'a', kind: 'continuous', min: 0, max: 10 },
    { name: 'b', kind: 'continuous', min: 0, max: 1 },
  ],
};

describe('DiscrepancyModel', () => {
  it('leaves predictions alone without data, and learns a constant bias from one or two pairs', () => {
    const m = new DiscrepancyModel(space, ['y']);
    const pred = [{ y: { mean: 1, std: 0.1 } }];
    expect(m.correct([{ a: 1, b: 0 }], pred)).toEqual(pred);
    m.observe({ a: 1, b: 0 }, { y: 1 }, { y: 1.5 });
    m.observe({ a: 2, b: 0 }, { y: 2 }, { y: 2.3 });
    m.fit();
    const c = m.correct([{ a: 5, b: 0.5 }], pred)[0].y;
    expect(c.mean).toBeCloseTo(1.4, 12); // mean residual 0.4
    expect(c.std).toBeCloseTo(Math.sqrt(0.01 + 0.02), 12); // sample variance of (0.5, 0.3) is 0.02
  });

  it('moves a biased model toward reality where data exists (hidden truth = model + 0.3·a)', () => {
    const rng = createRng(4);
    const m = new DiscrepancyModel(space, ['y'], 7);
    const model = (a: number, b: number) => a * b;
    const truth = (a: number, b: number) => a * b + 0.3 * a;
    for (let i = 0; i < 12; i++) {
      const p = { a: rng.uniform(0, 10), b: rng.uniform(0, 1) };
      m.observe(p, { y: model(p.a, p.b) }, { y: truth(p.a, p.b) });
    }
    m.fit();
    const test = [{ a: 3, b: 0.2 }, { a: 8, b: 0.7 }];
    const corrected = m.correct(test, test.map((p) => ({ y: { mean: model(p.a, p.b), std: 0 } })));
    test.forEach((p, i) => {
      expect(Math.abs(corrected[i].y.mean - truth(p.a, p.b))).toBeLessThan(0.1);
      expect(Math.abs(model(p.a, p.b) - truth(p.a, p.b))).toBeGreaterThan(0.8);
    });
    const back = DiscrepancyModel.fromJSON(JSON.parse(JSON.stringify(m.toJSON())));
    expect(back.correct(test, test.map((p) => ({ y: { mean: model(p.a, p.b), std: 0 } })))).toEqual(corrected);
  });
});

describe('FeasibilityModel', () => {
  it('uses the Laplace rate with one class only', () => {
    const f = new FeasibilityModel(space);
    expect(f.probability([{ a: 1, b: 1 }])).toEqual([0.5]);
    f.observe({ a: 1, b: 1 }, true);
    f.observe({ a: 2, b: 1 }, true);
    f.fit();
    expect(f.probability([{ a: 9, b: 0 }])[0]).toBeCloseTo(3 / 4, 12);
  });

  it('learns that high a fails (logistic regression, MAP)', () => {
    const f = new FeasibilityModel(space, 0.1);
    const rng = createRng(3);
    for (let i = 0; i < 40; i++) {
      const p = { a: rng.uniform(0, 10), b: rng.uniform(0, 1) };
      f.observe(p, p.a < 6);
    }
    f.fit();
    const [lo, hi] = f.probability([{ a: 2, b: 0.5 }, { a: 9, b: 0.5 }]);
    expect(lo).toBeGreaterThan(0.9);
    expect(hi).toBeLessThan(0.1);
    expect(FeasibilityModel.fromJSON(JSON.parse(JSON.stringify(f.toJSON()))).probability([{ a: 9, b: 0.5 }])[0]).toBe(hi);
  });

  it('penalises reward as the expectation over failure', () => {
    expect(penalise(10, 0.8, -5)).toBeCloseTo(7, 12);
    expect(penalise(-1, 1, -5)).toBe(-1);
  });
});
