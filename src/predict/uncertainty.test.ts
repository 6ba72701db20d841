import { describe, expect, it } from 'vitest';
import { lucbPicks, realisationCv, realisationProblem, realisationSeed, rewardStd, rveWarnings, summarise } from './uncertainty.js';

describe('summarise (issue #13)', () => {
  it('mean, standard error and sample spread over realisations', () => {
    const e = summarise([1, 2, 3]);
    expect(e.mean).toBe(2);
    expect(e.spread).toBeCloseTo(1, 12);
    expect(e.std).toBeCloseTo(1 / Math.sqrt(3), 12);
    expect(e.n).toBe(3);
  });

  it('one realisation: spread and error unknown (NaN), never 0; NaN values are left out', () => {
    expect(summarise([5])).toEqual({ mean: 5, std: NaN, spread: NaN, n: 1 });
    expect(summarise([5, NaN])).toEqual({ mean: 5, std: NaN, spread: NaN, n: 1 });
    expect(summarise([])).toEqual({ mean: NaN, std: NaN, spread: NaN, n: 0 });
  });

  it('a recipe that percolates in one realisation and not in another has an infinite spread', () => {
    const e = summarise([2, Infinity]);
    expect(e.mean).toBe(Infinity);
    expect(e.spread).toBe(Infinity);
    expect(summarise([Infinity, Infinity]).spread).toBe(0);
  });
});

describe('realisation seeds', () => {
  it('realisation 0 is the candidate seed; the others differ from it and from each other, and repeat', () => {
    expect(realisationSeed(1234, 0)).toBe(1234);
    const s = [1, 2, 3].map((k) => realisationSeed(1234, k));
    expect(new Set([1234, ...s]).size).toBe(4);
    expect([1, 2, 3].map((k) => realisationSeed(1234, k))).toEqual(s);
  });

  it('bad realisation counts are refused naming the field', () => {
    expect(realisationProblem({ min: 2, max: 4 })).toBeNull();
    expect(realisationProblem({ min: 0, max: 4 })).toMatch(/predict\.realisations\.min/);
    expect(realisationProblem({ min: 3, max: 2 })).toMatch(/predict\.realisations\.max/);
  });
});

describe('rewardStd: the delta method through the reward', () => {
  it('is exact for a linear reward: sqrt((2σx)² + (3σy)²)', () => {
    const r = rewardStd({ x: { mean: 1, std: 0.5 }, y: { mean: 4, std: 0.2 } }, (m) => 2 * m.x - 3 * m.y);
    expect(r).toBeCloseTo(Math.sqrt(1 + 0.36), 12);
  });

  it('matches the derivative for a smooth reward and small σ (log10 σ_eff)', () => {
    const r = rewardStd({ s: { mean: 100, std: 1 } }, (m) => 2 * Math.log10(m.s));
    expect(r).toBeCloseTo(2 / (100 * Math.LN10), 4);
  });

  it('is 0 when every σ is 0, ignores properties the reward does not read, NaN/∞ for unknown/unbounded σ it does read', () => {
    expect(rewardStd({ x: { mean: 1, std: 0 } }, (m) => m.x)).toBe(0);
    expect(rewardStd({ x: { mean: 1, std: 0 }, unused: { mean: 3, std: NaN } }, (m) => m.x)).toBe(0);
    expect(rewardStd({ x: { mean: 1, std: NaN } }, (m) => m.x)).toBeNaN();
    expect(rewardStd({ x: { mean: 1, std: Infinity } }, (m) => m.x)).toBe(Infinity);
  });

  it('uses the one-sided difference where m − σ leaves the reward’s domain', () => {
    const r = rewardStd({ s: { mean: 1, std: 2 } }, (m) => Math.log(m.s));
    expect(r).toBeCloseTo(Math.log(3), 12);
  });
});

describe('lucbPicks: which candidates get the next realisation', () => {
  const all = () => true;
  it('a clear ranking needs nothing more', () => {
    const r = [{ mean: 10, std: 0.1 }, { mean: 5, std: 0.1 }, { mean: 1, std: 0.1 }];
    expect(lucbPicks(r, 1, all)).toEqual([]);
  });

  it('refines the pair at the boundary of the top: the weakest inside and the strongest outside', () => {
    const r = [{ mean: 10, std: 1 }, { mean: 9.5, std: 1 }, { mean: 9, std: 2 }, { mean: 1, std: 1 }, { mean: NaN, std: 1 }];
    expect(lucbPicks(r, 1, all)).toEqual([0, 2]);
    // Top 2: inside 10 and 9.5 (lower bounds 8.04, 7.54), outside the widest upper bound is 9 + 3.92.
    expect(lucbPicks(r, 2, all)).toEqual([1, 2]);
    // Only what can be refined (simulated, below the maximum); nothing when neither can.
    expect(lucbPicks(r, 1, (i) => i !== 2)).toEqual([0]);
    expect(lucbPicks(r, 1, () => false)).toEqual([]);
    // An unknown σ (one realisation) counts as unbounded.
    expect(lucbPicks([{ mean: 10, std: NaN }, { mean: 1, std: 0 }], 1, all)).toEqual([0, 1]);
    // Fewer ranked candidates than the top holds: all are selected anyway.
    expect(lucbPicks([{ mean: 1, std: 5 }], 1, all)).toEqual([]);
  });
});

describe('the representative-volume check', () => {
  it('flags the properties whose CV over realisations exceeds the threshold', () => {
    const props = { sigma: summarise([44, 478, 120]), porosity: summarise([0.78, 0.79, 0.785]), zero: summarise([0, 0]) };
    expect(realisationCv(props.sigma)).toBeGreaterThan(0.6);
    expect(rveWarnings(props, 0.2)).toEqual(['sigma']);
    expect(rveWarnings({ one: summarise([3]) }, 0.2)).toEqual([]);
  });
});
