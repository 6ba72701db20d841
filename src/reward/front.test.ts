import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { campaignFront, frontTrials, measuredRows, roundGainedHypervolume, type FrontTrial } from './front.js';
import { configuredReference, inferReference, normaliser, type ObjectiveSet } from './objectives.js';
import { hypervolume } from './pareto.js';

const trial = (id: string, round: number, measured: Record<string, number>, predicted: Record<string, number>, extra: Partial<FrontTrial> = {}): FrontTrial => ({
  trialId: id, round, status: 'completed', feasible: true, params: { ptfe: 10 }, predicted, measured, ...extra,
});

describe('campaign Pareto front (issue #16)', () => {
  it('measured front: feasible, constraint-meeting trials by measured values; predicted front by estimates', () => {
    const set = { objectives: [{ name: 'a', goal: 'max' as const }, { name: 'ptfe', goal: 'min' as const }], constraints: [{ name: 'p', max: 0.8 }] };
    const trials = [
      trial('t1', 1, { a: 5, p: 0.7 }, { a: 1 }, { params: { ptfe: 10 } }),
      trial('t2', 1, { a: 3, p: 0.7 }, { a: 9 }, { params: { ptfe: 5 } }),
      trial('t3', 2, { a: 9, p: 0.9 }, { a: 2 }, { params: { ptfe: 1 } }), // violates p ≤ 0.8
      trial('t4', 2, { a: 4, p: 0.7 }, { a: 3 }, { params: { ptfe: 10 } }), // dominated by t1
      trial('t5', 2, {}, { a: 8 }, { params: { ptfe: 1 }, status: 'abandoned', feasible: null }),
      trial('t6', 2, { a: 7, p: 0.5 }, { a: 2 }, { params: { ptfe: 20 }, feasible: false }),
    ];
    const r = campaignFront(trials, set);
    expect(r.measured.map((p) => p.trialId)).toEqual(['t1', 't2']);
    expect(r.measured[1].values).toEqual([3, 5]); // own units and goals, not goal-signed
    // Predicted: estimates of a plus the parameter; the constraint's property has no estimate → off.
    expect(r.predicted).toEqual([]);
    const noConstraint = campaignFront(trials, { objectives: set.objectives });
    expect(noConstraint.predicted.map((p) => p.trialId).sort()).toEqual(['t2', 't5']);
    // History: one entry per round with measured trials, never decreasing here.
    expect(r.hypervolume.map((h) => h.round)).toEqual([1, 2]);
    expect(r.hypervolume[1].hypervolume).toBeGreaterThanOrEqual(r.hypervolume[0].hypervolume);
  });

  it('the measured front takes measurements only: a trial whose objective was predicted (an estimated eol) is on the predicted front, not the measured one (#20 review)', () => {
    const set = { objectives: [{ name: 'capacity', goal: 'max' as const }, { name: 'eol', goal: 'max' as const }] };
    const trials = [
      trial('full', 1, { capacity: 1, eol: 900 }, { capacity: 1.1, eol: 1000 }),
      // Stopped early: capacity measured, eol only estimated — would dominate 'full' with its prediction.
      trial('stopped', 1, { capacity: 2 }, { capacity: 2, eol: 1500 }),
    ];
    const r = campaignFront(trials, set);
    expect(r.measured.map((p) => p.trialId)).toEqual(['full']);
    expect(r.measured[0].values).toEqual([1, 900]);
    expect(r.predicted.map((p) => p.trialId)).toEqual(['stopped']);
    expect(roundGainedHypervolume(trials, set, 1)).toBe(true);
    // A constraint on a property that was only predicted keeps the trial off the measured front too.
    const constrained = campaignFront([trial('c', 1, { capacity: 1, eol: 900 }, { p: 0.1 })], { ...set, constraints: [{ name: 'p', max: 0.8 }] });
    expect(constrained.measured).toEqual([]);
  });

  it('uses the configured reference (or threshold) and infers the rest', () => {
    const set = { objectives: [{ name: 'a', goal: 'max' as const, threshold: 1 }, { name: 'b', goal: 'min' as const }] };
    const r = campaignFront([trial('t1', 1, { a: 2, b: 3 }, {}), trial('t2', 1, { a: 4, b: 5 }, {})], set);
    expect(r.reference[0]).toBe(1);
    expect(r.reference[1]).toBeCloseTo(5.2, 12); // nadir 5 + 10 % of the range 2 (min goal: larger is worse)
  });

  it('a round gains hypervolume only with a measured, feasible trial no earlier one weakly dominates (stop.noImprovementRounds)', () => {
    const set = { objectives: [{ name: 'a', goal: 'max' as const }, { name: 'b', goal: 'min' as const }], constraints: [{ name: 'p', max: 0.8 }] };
    const trials = [
      trial('t1', 1, { a: 5, b: 5, p: 0.5 }, {}),
      trial('t2', 2, { a: 4, b: 6, p: 0.5 }, {}), // dominated by t1
      trial('t3', 2, { a: 5, b: 5, p: 0.5 }, {}), // a copy of t1: weakly dominated
      trial('t4', 3, { a: 9, b: 1, p: 0.9 }, {}), // would dominate, but violates p ≤ 0.8
      trial('t5', 3, { a: 9, b: 1, p: 0.5 }, {}, { status: 'abandoned', feasible: null }),
      trial('t6', 4, { a: 3, b: 2, p: 0.5 }, {}), // a new trade-off: better b
      trial('t7', 5, { a: 6, b: 9, p: 0.5 }, {}), // a new extreme: better a, worse b
    ];
    expect([1, 2, 3, 4, 5].map((r) => roundGainedHypervolume(trials, set, r))).toEqual([true, false, false, true, true]);
    // A round with no measured trial gains nothing.
    expect(roundGainedHypervolume(trials, set, 6)).toBe(false);
  });

  it('reads ledger rows: numeric parameters, predicted means, measurements', () => {
    const rows = [{ id: 't1', round: 1, status: 'completed', feasible: true, params: { x: 2, kind: 'a' }, prediction: { a: { mean: 3, std: 1 } }, measured: { a: 4 } }];
    expect(frontTrials(rows)).toEqual([{ trialId: 't1', round: 1, status: 'completed', feasible: true, params: { x: 2 }, predicted: { a: 3 }, measured: { a: 4 } }]);
  });

  /** The history as campaignFront computed it before the scale review: every round anew from all its measured trials. */
  const historyByDefinition = (trials: readonly FrontTrial[], set: ObjectiveSet) => {
    const m = set.objectives.length;
    const goals = new Array(m).fill('max' as const);
    const measured = measuredRows(trials, set);
    const ys = measured.map((r) => r.y);
    const norm = normaliser(ys, m);
    const refNorm = norm.apply(inferReference(ys, configuredReference(set.objectives)));
    const rounds = [...new Set(measured.map((r) => r.t.round))].sort((a, b) => a - b);
    return rounds.map((round) => {
      const upTo = measured.filter((r) => r.t.round <= round);
      return { round, hypervolume: hypervolume(upTo.map((r) => norm.apply(r.y)), goals, refNorm), measuredTrials: upTo.length };
    });
  };

  /** A random campaign: ties, duplicates, infeasible, abandoned, threshold- and constraint-failing trials, NaN and −∞ measurements. */
  const randomCampaign = (seed: number, m: number, n: number): { trials: FrontTrial[]; set: ObjectiveSet } => {
    const rng = createRng(seed);
    const names = ['a', 'b', 'c', 'd'].slice(0, m);
    const set: ObjectiveSet = {
      objectives: names.map((name, i) => ({ name, goal: i % 2 ? ('min' as const) : ('max' as const), ...(i === 0 && seed % 2 ? { threshold: 1 } : {}) })),
      constraints: [{ name: 'p', max: 0.9 }],
    };
    const value = () => {
      const u = rng.next();
      return u < 0.02 ? NaN : u < 0.04 ? -Infinity : u < 0.5 ? Math.floor(u * 6) : u * 6;
    };
    const trials: FrontTrial[] = [];
    for (let i = 0; i < n; i++) {
      const round = 1 + Math.floor(i / (1 + Math.floor(rng.next() * 4)));
      const u = rng.next();
      const copy = u < 0.1 && trials.length ? trials[Math.floor(rng.next() * trials.length)] : null;
      const measured: Record<string, number> = copy ? { ...copy.measured } : Object.fromEntries(names.map((k) => [k, value()]));
      if (!copy) measured.p = rng.next();
      if (rng.next() < 0.05) delete measured[names[m - 1]];
      trials.push({
        trialId: `t${i}`,
        round,
        status: u > 0.93 ? 'abandoned' : u > 0.9 ? 'failed' : 'completed',
        feasible: u > 0.85 && u <= 0.9 ? false : true,
        params: { x: rng.next() },
        predicted: {},
        measured,
      });
    }
    return { trials, set };
  };

  it("the hypervolume history is the definition's, value for value, for 2 and 3 objectives (scale review: now with a running front)", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const m = seed % 3 === 0 ? 3 : 2;
      const { trials, set } = randomCampaign(seed, m, 10 + (seed % 7) * 15);
      const history = campaignFront(trials, set).hypervolume;
      expect(history.length).toBeGreaterThan(0);
      expect(history).toEqual(historyByDefinition(trials, set));
    }
  });

  it("reads each trial's round once for the history, not once per round (scale review: 28 s at 2 500 trials in 625 rounds)", () => {
    const { trials, set } = randomCampaign(7, 2, 400);
    let reads = 0;
    const counted = trials.map((t) => {
      const { round, ...rest } = t;
      return Object.defineProperty({ ...rest }, 'round', { enumerable: true, get: () => (reads++, round) }) as FrontTrial;
    });
    const r = campaignFront(counted, set);
    expect(r.hypervolume.length).toBeGreaterThan(100);
    expect(r.hypervolume).toEqual(historyByDefinition(trials, set));
    expect(reads).toBeLessThanOrEqual(trials.length);
  });
});

