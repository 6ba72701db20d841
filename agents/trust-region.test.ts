import { describe, expect, it } from 'vitest';
import { halfWidths, pointsInRegion, trustRegionState, turboSettings } from './trust-region.js';

describe('trust region (TuRBO-1 bookkeeping, issue #12)', () => {
  const s = turboSettings(6);

  it('uses TuRBO-1 tolerances: 3 successes, max(4, d) failures', () => {
    expect(s.failTolerance).toBe(6);
    expect(turboSettings(2).failTolerance).toBe(4);
    expect(s.successTolerance).toBe(3);
  });

  it('halves the side after failTolerance non-improvements in a row, not before', () => {
    const rewards = [1, 0, ...new Array<number>(5).fill(0.5)];
    expect(trustRegionState(rewards, 2, s).length).toBe(0.8);
    expect(trustRegionState([...rewards, 0.9], 2, s).length).toBe(0.4);
    // A failed evaluation (NaN) is no improvement.
    expect(trustRegionState([...rewards, NaN], 2, s).length).toBe(0.4);
  });

  it('doubles the side after 3 improvements in a row, capped at lengthMax', () => {
    expect(trustRegionState([0, 0, 1, 2, 3], 2, s).length).toBe(1.6);
    expect(trustRegionState([0, 0, 1, 2, 3, 4, 5, 6], 2, s).length).toBe(1.6);
    // An improvement smaller than 1e-3·|best| does not count, and breaks the run of successes.
    expect(trustRegionState([0, 0, 1, 2, 2.001, 3, 4], 2, s).length).toBe(0.8);
  });

  it('counts only rewards after the initial design, which sets the incumbent', () => {
    // 10 is the incumbent: nothing after it improves, so 6 failures halve the side.
    expect(trustRegionState([10, 0, 1, 2, 3, 4, 5, 6], 2, s).length).toBe(0.4);
    // 10, 11, 12 are 3 improvements when only the first reward is initial, 2 when both are.
    expect(trustRegionState([0, 10, 11, 12], 1, s).length).toBe(1.6);
    expect(trustRegionState([0, 10, 11, 12], 2, s).length).toBe(0.8);
  });

  it('restarts at lengthInit once the side falls below lengthMin', () => {
    // 0.8 / 2^7 < 0.5^7 after 7 halvings (42 failures); 6 more halve once again.
    const flat = (n: number) => [1, 1, ...new Array<number>(n).fill(0)];
    expect(trustRegionState(flat(36), 2, s)).toMatchObject({ length: 0.8 / 64, restarts: 0 });
    expect(trustRegionState(flat(42), 2, s)).toMatchObject({ length: 0.8, restarts: 1 });
    expect(trustRegionState(flat(48), 2, s)).toMatchObject({ length: 0.4, restarts: 1 });
  });

  it('shapes the box by the length-scales at geometric mean 1', () => {
    expect(halfWidths(0.8, 2)).toEqual([0.4, 0.4]);
    const h = halfWidths(0.8, 2, [0.5, 2]);
    expect(h[0]).toBeCloseTo(0.2, 12);
    expect(h[1]).toBeCloseTo(0.8, 12);
  });

  it('selects the points inside the box, or the nearest in its scaled norm when too few are inside', () => {
    const xs = [[0.5, 0.5], [0.55, 0.9], [0.9, 0.52], [0.05, 0.1], [0.52, 0.48]];
    // Long in the second input: (0.55, 0.9) is inside, (0.9, 0.52) is not.
    expect(pointsInRegion(xs, [0.5, 0.5], [0.1, 0.5], 1)).toEqual([0, 1, 4]);
    // At least 4 points: the box grows in its own shape, and (0.9, 0.52) at scaled distance 4 comes before (0.05, 0.1) at 4.5.
    expect(pointsInRegion(xs, [0.5, 0.5], [0.1, 0.5], 4)).toEqual([0, 1, 2, 4]);
    expect(pointsInRegion(xs, [0.5, 0.5], [0.1, 0.5], 10)).toEqual([0, 1, 2, 3, 4]);
  });
});
