import { describe, expect, it } from 'vitest';
import { createRng } from '../src/core/rng.js';
import { fitOrReuse, trainingData } from './common.js';

describe('fitOrReuse', () => {
  // Review of the eighth pass of issue #16: a stored fit was reused whatever kernel was asked for,
  // so a snapshot from one trend setting kept (or dropped) the quadratic basis term silently.
  it('reuses stored hyper-parameters only for the same kernel', () => {
    const rng = createRng(7);
    const x = Array.from({ length: 12 }, () => [rng.next(), rng.next()]);
    const y = x.map(([a, b]) => (a - 0.5) ** 2 + 0.3 * b);
    const o = { refitFraction: 0.5, restarts: 0, maxFitPoints: 120 };
    const plain = fitOrReuse({ hyper: null, lastFitN: 0 }, x, y, createRng(1), o);
    expect(plain.gp.hyper.logBasisVars).toBeUndefined();
    // Same data, so the plain fit would be reused: asked for the basis, it is refitted with it.
    const withBasis = fitOrReuse(plain.state, x, y, createRng(1), { ...o, basis: 'quadratic' });
    expect(withBasis.gp.hyper.logBasisVars).toHaveLength(2);
    // And the reverse; the same kernel is still reused as before.
    expect(fitOrReuse(withBasis.state, x, y, createRng(1), o).gp.hyper.logBasisVars).toBeUndefined();
    expect(fitOrReuse(plain.state, x, y, createRng(1), o).state).toBe(plain.state);
    // Another basis kind is another kernel too (tenth pass: quadratic → second-order, 2d variances).
    const secondOrder = fitOrReuse(withBasis.state, x, y, createRng(1), { ...o, basis: 'second-order' });
    expect(secondOrder.gp.hyper.logBasisVars).toHaveLength(4);
    expect(fitOrReuse(secondOrder.state, x, y, createRng(1), { ...o, basis: 'second-order' }).state).toBe(secondOrder.state);
    expect(fitOrReuse(secondOrder.state, x, y, createRng(1), { ...o, basis: 'quadratic' }).gp.hyper.logBasisVars).toHaveLength(2);
  });
});

describe('trainingData', () => {
  // Review 2026-12-07 (GDL demo at a reduced twin size): a reward of −∞ (log10 of a conductivity
  // of 0) is a real, terrible result: it must weigh below every finite reward, and below a NaN
  // (failed manufacture, imputed as the worst finite reward).
  it('learns a reward of −∞ as a stand-in below the worst finite reward, NaN as the worst', () => {
    const space = { parameters: [{ kind: 'continuous' as const, name: 'x', min: 0, max: 1 }] };
    const rig = (x: number, reward: number) => ({ params: { x }, reward, fidelity: 'rig' as const });
    const { x, y, finite } = trainingData(space, [rig(0.1, 1), rig(0.2, 3), rig(0.9, -Infinity), rig(0.5, Number.NaN)]);
    expect(finite).toBe(2);
    expect(x).toEqual([[0.1], [0.2], [0.5], [0.9]]);
    // worst 1, one standard deviation (√2) below it for −∞.
    expect(y.slice(0, 3)).toEqual([1, 3, 1]);
    expect(y[3]).toBeCloseTo(1 - Math.SQRT2, 12);
  });
});
