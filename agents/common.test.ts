import { describe, expect, it } from 'vitest';
import { createRng } from '../src/core/rng.js';
import { fitOrReuse } from './common.js';

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
