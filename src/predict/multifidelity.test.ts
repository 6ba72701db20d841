import { describe, expect, it } from 'vitest';
import type { Parameters, ParameterSpace } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import { MultiFidelityModel, rankingGiven, selectByExpectedImprovement, type FidelityPoint } from './multifidelity.js';

const space: ParameterSpace = {
  parameters: [
    { name: 'a', kind: 'continuous', min: 0, max: 1 },
    { name: 'b', kind: 'continuous', min: 0, max: 1 },
  ],
};
/** The simulator: a smooth 2-D function with an interior optimum. */
const sim = (p: Parameters) => Math.sin(5 * (p.a as number)) + 0.5 * Math.cos(4 * (p.b as number));
const points = (n: number, seed: number): Parameters[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => ({ a: rng.next(), b: rng.next() }));
};
const simulations = (f = sim): FidelityPoint[] => points(60, 1).map((p) => ({ params: p, reward: f(p) }));
const corr = (x: number[], y: number[]) => {
  const mx = x.reduce((a, b) => a + b, 0) / x.length;
  const my = y.reduce((a, b) => a + b, 0) / y.length;
  const sxy = x.reduce((s, v, i) => s + (v - mx) * (y[i] - my), 0);
  return sxy / Math.sqrt(x.reduce((s, v) => s + (v - mx) ** 2, 0) * y.reduce((s, v) => s + (v - my) ** 2, 0));
};

describe('MultiFidelityModel (autoregressive co-kriging, issue #13)', () => {
  it('recovers a known ρ and discrepancy on synthetic data', () => {
    const truth = (p: Parameters) => 1.8 * sim(p) + 0.5 + 0.6 * (p.a as number);
    const rigs = points(16, 2).map((p) => ({ params: p, reward: truth(p) }));
    const m = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
    const s = m.state();
    expect(s.rho!.mean).toBeGreaterThan(1.5);
    expect(s.rho!.mean).toBeLessThan(2.1);
    const test = points(40, 3);
    const p = m.predict(test);
    const err = test.map((q, i) => Math.abs(p.mean[i] - truth(q)));
    // Held-out error small against the truth's range (≈ 4.5).
    expect(Math.max(...err)).toBeLessThan(0.35);
    // And far better than the simulator itself.
    const raw = test.map((q) => Math.abs(sim(q) - truth(q)));
    expect(err.reduce((a, b) => a + b, 0)).toBeLessThan(0.2 * raw.reduce((a, b) => a + b, 0));
  });

  it('one rig result moves the estimate of nearby candidates, far ones much less', () => {
    // Rig results with 5 % noise (of the reward's spread ≈ 1.2): the model cannot be sure that δ is flat.
    const noise = createRng(40);
    const rigs = points(6, 4).map((p) => ({ params: p, reward: sim(p) - 0.3 + 0.06 * noise.normal() }));
    const before = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
    const at = { a: 0.5, b: 0.5 };
    const near = { a: 0.55, b: 0.52 };
    const far = { a: 0.05, b: 0.95 };
    const S = 0.5;
    const surprise = before.predict([at]).mean[0] + S;
    // Conditioning (hyper-parameters and ρ̄ kept, as in batch selection): local.
    const believed = before.believe(at, surprise);
    const shift = (m: MultiFidelityModel, q: Parameters) => m.predict([q]).mean[0] - before.predict([q]).mean[0];
    // The pull is the Bayesian weight of one noisy result against what 6 results already said
    // (a fifth to a quarter here), not the whole surprise.
    expect(shift(believed, near)).toBeGreaterThan(0.15 * S);
    expect(Math.abs(shift(believed, far))).toBeLessThan(0.5 * shift(believed, near));
    // A full refit may also revise ρ (a global change), but moves the neighbourhood up too.
    const refit = MultiFidelityModel.fit(space, simulations(), [...rigs, { params: at, reward: surprise }], { seed: 7 });
    expect(shift(refit, near)).toBeGreaterThan(0.15 * S);
  });

  it('with a reversed (misleading) low fidelity, discounts it (ρ < 0) and follows the rig data', () => {
    const truth = (p: Parameters) => -sim(p) + 0.2;
    const rigs = points(16, 5).map((p) => ({ params: p, reward: truth(p) }));
    const m = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
    expect(m.state().rho!.mean).toBeLessThan(0);
    const test = points(40, 6);
    const p = m.predict(test);
    expect(corr(p.mean, test.map(truth))).toBeGreaterThan(0.95);
    // Its choice for the rigs is where the truth is high, not where the twin points.
    const cands = points(200, 8);
    const [pick] = selectByExpectedImprovement(m, cands, 1, Math.max(...rigs.map((r) => r.reward)));
    const trueRank = [...cands].sort((x, y) => truth(y) - truth(x)).indexOf(cands[pick.index]);
    expect(trueRank).toBeLessThan(20);
  });

  it('without rig data follows the simulations under the prior ρ ~ N(1, 0.5²), with wide uncertainty', () => {
    const m = MultiFidelityModel.fit(space, simulations(), [], { seed: 7 });
    const test = points(20, 9);
    const p = m.predict(test);
    expect(corr(p.mean, test.map(sim))).toBeGreaterThan(0.99);
    // β₀ ~ N(0, 1) in units of the simulations' spread: the estimate is not trusted as a measurement.
    const ys = simulations().map((s) => s.reward);
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const spread = Math.sqrt(ys.reduce((a, b) => a + (b - my) ** 2, 0) / ys.length);
    expect(Math.min(...p.std)).toBeGreaterThanOrEqual(0.999 * spread);
  });

  it('heteroscedastic simulation σ widens the estimate where the simulations are unsure', () => {
    const sims = simulations().map((s) => ({ ...s, std: (s.params.a as number) > 0.5 ? 0.8 : 0 }));
    const rigs = points(8, 10).map((p) => ({ params: p, reward: sim(p) }));
    const sure = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
    const unsure = MultiFidelityModel.fit(space, sims, rigs, { seed: 7 });
    const q = [{ a: 0.8, b: 0.3 }];
    expect(unsure.predict(q).std[0]).toBeGreaterThan(sure.predict(q).std[0]);
  });

  it('is deterministic: the same data and seed give the same model', () => {
    const rigs = points(10, 11).map((p) => ({ params: p, reward: 1.2 * sim(p) }));
    const a = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 3 });
    const b = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 3 });
    const test = points(15, 12);
    expect(b.predict(test)).toEqual(a.predict(test));
    expect(b.state()).toEqual(a.state());
  });

  it('batch selection (Kriging believer): distinct candidates, the first of highest EI', () => {
    const rigs = points(8, 13).map((p) => ({ params: p, reward: sim(p) }));
    const m = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
    const best = Math.max(...rigs.map((r) => r.reward));
    const cands = points(30, 14);
    const picks = selectByExpectedImprovement(m, cands, 5, best);
    expect(new Set(picks.map((p) => p.index)).size).toBe(5);
    expect(picks[0].ei).toBe(Math.max(...cands.map((_, i) => selectByExpectedImprovement(m, [cands[i]], 1, best)[0].ei)));
  });
});

describe('rankingGiven: what the selection would rank by, given a round’s simulated rewards (issue #13 review)', () => {
  const truth = (p: Parameters) => -sim(p) + 0.2;
  const rigs = points(16, 5).map((p) => ({ params: p, reward: truth(p) }));
  const m = MultiFidelityModel.fit(space, simulations(), rigs, { seed: 7 });
  const cands = points(12, 20);
  const rewards = cands.map((p) => ({ mean: sim(p), std: 0.05, simulated: true }));

  it('with a misleading twin (ρ < 0) ranks opposite to the simulated rewards, as the rigs will', () => {
    const r = rankingGiven(m, cands, rewards, -Infinity, 1.96)!;
    expect(corr(r.map((x) => x.value), cands.map(truth))).toBeGreaterThan(0.9);
    expect(corr(r.map((x) => x.value), rewards.map((x) => x.mean))).toBeLessThan(-0.9);
    // A higher simulated reward lowers the candidate's estimate of the real one, by its sensitivity.
    const [sensitivity] = m.simulationSensitivity(cands.slice(0, 1), [0.05]);
    const higher = rewards.map((x, i) => (i === 0 ? { ...x, mean: x.mean + 0.1 } : x));
    const moved = r[0].value - rankingGiven(m, cands, higher, -Infinity, 1.96)![0].value;
    expect(moved).toBeGreaterThan(0);
    expect(Math.abs(moved - 0.1 * sensitivity)).toBeLessThan(0.2 * 0.1 * sensitivity);
  });

  it('intervals: sensitivity·z·σ (small where simulations pin the level down), unbounded for an unknown σ, none for a surrogate estimate', () => {
    const r = rankingGiven(m, cands, rewards, -Infinity, 1.96)!;
    const sensitivity = m.simulationSensitivity(cands, rewards.map((x) => x.std));
    r.forEach((x, i) => {
      expect(sensitivity[i]).toBeGreaterThan(0);
      expect(sensitivity[i]).toBeLessThanOrEqual(Math.abs(m.state().rho!.mean));
      expect(x.upper - x.value).toBeCloseTo(sensitivity[i] * 1.96 * 0.05, 9);
      expect(x.value - x.lower).toBeCloseTo(sensitivity[i] * 1.96 * 0.05, 9);
    });
    // Far from every simulation (a level fitted on a corner of the space) the weight is near 1.
    const corner = MultiFidelityModel.fit(space, simulations().filter((s) => (s.params.a as number) < 0.3), rigs, { seed: 7 });
    const [far] = corner.simulationSensitivity([{ a: 0.95, b: 0.5 }], [0.05]);
    expect(far).toBeGreaterThan(0.5 * Math.abs(corner.state().rho!.mean));
    const mixed = rankingGiven(m, cands.slice(0, 3), [{ mean: 0.3, std: NaN, simulated: true }, { mean: 0.3, std: 0.05, simulated: false }, { mean: NaN, std: 1, simulated: true }], -Infinity, 1.96)!;
    expect([mixed[0].lower, mixed[0].upper]).toEqual([-Infinity, Infinity]);
    expect(mixed[1].lower).toBe(mixed[1].value);
    expect(mixed[1].upper).toBe(mixed[1].value);
    expect(mixed[2].value).toBeNaN();
    // Before any rig result, the prior mean of ρ (1): the sensitivity is the level's weight alone.
    const prior = MultiFidelityModel.fit(space, simulations(), [], { seed: 7 });
    expect(prior.simulationSensitivity(cands.slice(0, 1), [NaN])[0]).toBeLessThanOrEqual(1);
  });

  it('after rig results ranks by ln EI over the best: its top is the first pick of the batch selection of the model given the simulations', () => {
    const best = Math.max(...rigs.map((x) => x.reward));
    const r = rankingGiven(m, cands, rewards, best, 1.96)!;
    const given = m.withSimulations(cands.map((params, i) => ({ params, reward: rewards[i].mean, std: 0.05 })))!;
    const top = r.reduce((a, x, i) => (x.value > r[a].value ? i : a), 0);
    expect(selectByExpectedImprovement(given, cands, 1, best)[0].index).toBe(top);
    r.forEach((x) => expect(x.lower <= x.value && x.value <= x.upper).toBe(true));
  });

  it('cannot tell without a simulation level (null: the caller ranks by the rewards)', () => {
    const rigOnly = MultiFidelityModel.fit(space, [], rigs, { seed: 7 });
    expect(rankingGiven(rigOnly, cands, rewards, 0, 1.96)).toBeNull();
  });
});
