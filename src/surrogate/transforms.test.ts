import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { checkTransforms, defaultTransform, fitStandardiser, forward, inverse, inverseSlope, standardise } from './transforms.js';

describe('transforms', () => {
  it('defaults: log permeability, reciprocal tortuosity, identity otherwise', () => {
    expect(['permeability_z', 'tau_z', 'tortuosity', 'porosity'].map(defaultTransform)).toEqual(['log', 'reciprocal', 'reciprocal', 'identity']);
  });

  it('round-trips and maps τ = ∞ (non-percolating) to 0 and back', () => {
    for (const [t, v] of [['log', 3e-12], ['reciprocal', 1.7], ['identity', -2]] as const) expect(inverse(t, forward(t, v))).toBeCloseTo(v, 20);
    expect(forward('reciprocal', Infinity)).toBe(0);
    expect(inverse('reciprocal', -0.01)).toBe(Infinity);
    expect(forward('log', 0)).toBeNaN();
    expect(forward('identity', NaN)).toBeNaN();
  });

  it('inverseSlope is the derivative of the inverse (checked by central differences)', () => {
    for (const [t, u] of [['identity', 0.3], ['log', -27.5], ['reciprocal', 0.6]] as const) {
      const h = 1e-6 * Math.max(1, Math.abs(u));
      const numeric = Math.abs((inverse(t, u + h) - inverse(t, u - h)) / (2 * h));
      expect(Math.abs(inverseSlope(t, u) / numeric - 1)).toBeLessThan(1e-6);
    }
    expect(inverseSlope('reciprocal', 0)).toBe(Infinity);
  });

  it('rejects unknown transforms and properties', () => {
    expect(() => checkTransforms(['k'], { k: 'sqrt' })).toThrow(BadInputError);
    expect(() => checkTransforms(['k'], { q: 'log' })).toThrow(/unknown property 'q'/);
    expect(checkTransforms(['k', 'tau_x'], { k: 'log' })).toEqual(['log', 'reciprocal']);
  });

  it('learns strictly positive data in log space unless a value is ≤ 0 or a transform is given (issue #12)', () => {
    const y = [
      [120, -0.5, 3, 2, NaN],
      [0.4, 0.2, 0, 5, NaN],
      [NaN, 0.1, 7, 1, NaN],
    ];
    expect(checkTransforms(['sigma', 'v', 'current', 'porosity', 'unmeasured'], { porosity: 'identity' }, y)).toEqual(['log', 'identity', 'identity', 'identity', 'identity']);
    expect(checkTransforms(['sigma'], undefined)).toEqual(['identity']);
  });

  it('standardises with NaN-aware statistics; constant columns keep σ = 1', () => {
    const st = fitStandardiser([[1, 5, NaN], [3, 5, 2]], 3);
    expect(st).toEqual({ mean: [2, 5, 2], std: [1, 1, 1] });
    expect(Array.from(standardise([[3, 5, NaN]], st))).toEqual([1, 0, 0]);
    expect(Array.from(standardise([[3, 5, NaN]], st, true))).toEqual([1, 0, NaN]);
  });
});
