import { describe, expect, it } from 'vitest';
import { combine, lucbPicks as picks, realisationCv, realisationProblem, realisationSeed, rewardInterval, rewardStd, rveWarnings, simulationEvidence, summarise, type RankInterval } from './uncertainty.js';

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

describe('rewardStd over realisations: the properties of one volume move together', () => {
  // Four realisations in which b = 10·a exactly (one volume sets both).
  const a = [10, 20, 30, 40];
  const est = combine(a.map((v) => ({ a: v, b: 10 * v })), ['a', 'b']);
  const sd = (v: number[]) => {
    const m = v.reduce((x, y) => x + y, 0) / v.length;
    return Math.sqrt(v.reduce((x, y) => x + (y - m) ** 2, 0) / (v.length - 1));
  };

  it('carries the realisations with the estimates', () => {
    expect(est.a.samples).toEqual(a);
    expect(est.b.samples).toEqual([100, 200, 300, 400]);
  });

  it('R = b/a is 10 in every realisation: σ 0 (independence would give > 3)', () => {
    expect(rewardStd(est, (m) => m.b / m.a)).toBeCloseTo(0, 12);
  });

  it('R = a + b: the standard error of R over realisations, sd(a_k + b_k)/√n', () => {
    expect(rewardStd(est, (m) => m.a + m.b)).toBeCloseTo(sd(a.map((v) => 11 * v)) / 2, 10);
  });

  it('a realisation that does not conduct: finite σ under a log reward (the step is one standard error, not the sample)', () => {
    const s = combine([0, 200, 180, 220].map((v) => ({ s: v })), ['s']);
    const r = rewardStd(s, (m) => Math.log10(m.s));
    expect(Number.isFinite(r) && r > 0).toBe(true);
  });

  it('one realisation: unknown (NaN); properties the reward does not read do not matter', () => {
    expect(rewardStd(combine([{ a: 1, b: 2 }], ['a', 'b']), (m) => m.a + m.b)).toBeNaN();
    const partial = combine([{ a: 1, b: 5 }, { a: 2, b: NaN }, { a: 3, b: 7 }], ['a', 'b']);
    expect(rewardStd(partial, (m) => m.a)).toBeCloseTo(sd([1, 2, 3]) / Math.sqrt(3), 12);
  });

  it('read back from the ledger (NaN and ±∞ stored as null): null counts as unknown, the same σ as before storing', () => {
    const partial = combine([{ a: 1, b: 5 }, { a: 2, b: NaN }, { a: 3, b: 8 }, { a: 5, b: 9 }], ['a', 'b']);
    const stored = JSON.parse(JSON.stringify(partial)) as typeof partial;
    expect(stored.b.samples).toEqual([5, null, 8, 9]);
    expect(rewardStd(stored, (m) => m.a * m.b)).toBe(rewardStd(partial, (m) => m.a * m.b));
    const one = JSON.parse(JSON.stringify(combine([{ a: 1 }], ['a']))) as Record<string, { mean: number; std: number }>;
    expect(rewardStd(one, (m) => m.a)).toBeNaN();
  });

  it('an estimate the reality correction moved: its scaled realisations co-vary, the discrepancy σ beyond them is independent', () => {
    // The correction multiplies a by 0.7 (realisations too) and adds a discrepancy σ of 3.
    const se = (0.7 * sd(a)) / 2;
    const corrected = { a: { mean: 0.7 * 25, std: Math.sqrt(se ** 2 + 9), samples: a.map((v) => 0.7 * v) }, b: est.b };
    const r = rewardStd(corrected, (m) => m.a + m.b);
    expect(r).toBeCloseTo(Math.sqrt((sd(a.map((v) => 10.7 * v)) / 2) ** 2 + 9), 9);
  });

  it('surrogate estimates (no realisations) keep the delta method; mixed with realisations, the two parts add', () => {
    const sur = { a: { mean: 20, std: 1 }, b: { mean: 200, std: 2 } };
    expect(rewardStd(sur, (m) => m.a + m.b)).toBeCloseTo(Math.sqrt(5), 12);
    const mixed = { ...est, c: { mean: 1, std: 3 } };
    expect(rewardStd(mixed, (m) => m.a + m.b + m.c)).toBeCloseTo(Math.sqrt((sd(a.map((v) => 11 * v)) / 2) ** 2 + 9), 10);
  });
});

describe('simulationEvidence: the reality model never takes an unknown σ for an exact simulation', () => {
  const x = (m: Record<string, number>) => m.x;
  it('known σ as is; one realisation (NaN) gets the typical σ·√n of the others over √1; unbounded gets the spread of the rewards', () => {
    const sims = [
      { params: { a: 0 }, properties: combine([{ x: 1 }, { x: 3 }], ['x']), rewardOf: x }, // σ 1, n 2 → σ√n √2
      { params: { a: 1 }, properties: combine([{ x: 4 }, { x: 8 }], ['x']), rewardOf: x }, // σ 2, n 2 → 2√2
      { params: { a: 2 }, properties: combine([{ x: 9 }, { x: 9 }, { x: 15 }, { x: 15 }], ['x']), rewardOf: x }, // σ √3, n 4 → 2√3
      { params: { a: 3 }, properties: combine([{ x: 5 }], ['x']), rewardOf: x }, // unknown
      { params: { a: 4 }, properties: { x: { mean: 7, std: Infinity } }, rewardOf: x }, // unbounded
      { params: { a: 5 }, properties: combine([{ x: NaN }], ['x']), rewardOf: x }, // no reward: left out
    ];
    const out = simulationEvidence(sims);
    expect(out.map((o) => o.params.a)).toEqual([0, 1, 2, 3, 4]);
    expect(out.slice(0, 3).map((o) => o.std)).toEqual([1, 2, Math.sqrt(3)].map((v, i) => expect.closeTo(v, 12) as unknown as number));
    expect(out[3].std).toBeCloseTo(2 * Math.SQRT2, 12); // the median of √2, 2√2, 2√3
    const r = [2, 6, 12, 5, 7];
    const m = r.reduce((a, b) => a + b, 0) / 5;
    expect(out[4].std).toBeCloseTo(Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / 4), 12);
    expect(out.every((o) => o.std! > 0)).toBe(true);
  });

  it('the same after a trip through the ledger (NaN stored as null)', () => {
    const sims = [combine([{ x: 1 }, { x: 3 }], ['x']), combine([{ x: 5 }], ['x'])].map((properties, a) => ({ params: { a }, properties, rewardOf: x }));
    const stored = sims.map((s) => ({ ...s, properties: JSON.parse(JSON.stringify(s.properties)) as typeof s.properties }));
    expect(simulationEvidence(stored)).toEqual(simulationEvidence(sims));
    expect(simulationEvidence(stored)[1].std).toBeCloseTo(Math.SQRT2, 12);
  });

  // Review 2026-12-07 (GDL demo at a reduced twin size): sigma_eff_z = 0 in every realisation,
  // so the reward's log10 is −∞. Left out, the reality model extrapolated a high reward there.
  it('a reward of −∞ is data: the stand-in below the worst finite reward, with the typical σ; NaN left out', () => {
    const log = (m: Record<string, number>) => Math.log10(m.x);
    const sims = [
      { params: { a: 0 }, properties: combine([{ x: 10 }, { x: 1000 }], ['x']), rewardOf: log }, // log10(505)
      { params: { a: 1 }, properties: combine([{ x: 50 }, { x: 150 }], ['x']), rewardOf: log }, // 2
      { params: { a: 2 }, properties: combine([{ x: 0 }, { x: 0 }], ['x']), rewardOf: log }, // −∞
      { params: { a: 3 }, properties: combine([{ x: NaN }], ['x']), rewardOf: log }, // not computable
    ];
    const out = simulationEvidence(sims);
    expect(out.map((o) => o.params.a)).toEqual([0, 1, 2]);
    const finite = [Math.log10(505), 2];
    const sd = Math.abs(finite[0] - finite[1]) / Math.SQRT2;
    expect(out[2].reward).toBeCloseTo(2 - sd, 12);
    // Two realisations each: the lower median of σ·√2 over √2, the smaller σ.
    expect(out[2].std).toBeGreaterThan(0);
    expect(out[2].std).toBeCloseTo(Math.min(out[0].std!, out[1].std!), 12);
  });

  it('no simulation with a known σ (min 1 realisation): all 0, their scatter left to the fitted noise', () => {
    const sims = [1, 2, 3].map((v, a) => ({ params: { a }, properties: combine([{ x: v }], ['x']), rewardOf: x }));
    expect(simulationEvidence(sims).map((o) => o.std)).toEqual([0, 0, 0]);
  });
});

describe('lucbPicks: which candidates get the next realisation', () => {
  const all = () => true;
  const lucbPicks = (r: Array<{ mean: number; std: number }>, top: number, can: (i: number) => boolean) => picks(r.map((x) => rewardInterval(x)), top, can);
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

  it('compares the intervals it is given, in the units of whatever ranks the batch (asymmetric ones too)', () => {
    const r: RankInterval[] = [
      { value: 5, lower: 4.9, upper: 9 },
      { value: 4, lower: 3, upper: 4.95 },
      { value: 1, lower: 0.5, upper: 1.2 },
    ];
    expect(picks(r, 1, all)).toEqual([0, 1]);
    expect(picks([r[0], r[2]], 1, all)).toEqual([]);
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
