/**
 * End-game dispatch (issue #21, src/orchestrator/endgame.ts, docs/async.md "End game"): once no
 * more runs are left than rigs, each run goes to the rig expected to finish it first, which may
 * mean waiting for a faster busy rig — and never when waiting does not finish it sooner.
 */
import { describe, expect, it } from 'vitest';
import { createSobolAgent } from '../agents/sobol.js';
import { analyticTruth } from '../robots/sim/truth.js';
import type { ParameterSpace } from '../src/core/protocols.js';
import { configRegistries } from '../src/compose/campaign.js';
import { resolveCampaign } from '../src/config/load.js';
import { createRng } from '../src/core/rng.js';
import { Ledger } from '../src/ledger/ledger.js';
import { endGameRig, rigEstimates, type PlannedRig } from '../src/orchestrator/endgame.js';
import { runSimCampaign, type SimCampaignOptions } from './async-lab.js';

describe('endGameRig (ECT list scheduling of the last runs)', () => {
  const rig = (rigId: string, freeAt: number, meanMs: number, sdMs = 0): PlannedRig => ({ rigId, freeAt, meanMs, sdMs });

  it('holds the last run for a faster busy rig only when it is expected to finish it sooner than the free slow rig', () => {
    // Free slow rig (now = 0, 60 s a run); fast rig busy until 10 s, 20 s a run: ends at 30 < 60.
    expect(endGameRig([rig('slow', 0, 60), rig('fast', 10, 20)], 1, 0)).toEqual({ rigId: 'fast', startsAt: 10, endsAt: 30 });
    // Fast rig busy until 45: it would end at 65 > 60, so the free slow rig takes it now.
    expect(endGameRig([rig('slow', 0, 60), rig('fast', 45, 20)], 1, 0)).toEqual({ rigId: 'slow', startsAt: 0, endsAt: 60 });
    // A tie in expected finish goes to the rig free sooner: no wait that gains nothing.
    expect(endGameRig([rig('fast', 40, 20), rig('slow', 0, 60)], 1, 0)?.rigId).toBe('slow');
  });

  it('holds only when the gain exceeds z standard errors of the two estimates', () => {
    // Gain 60 − 30 = 30 s. Standard errors 10 and 10: 2 × 14.1 = 28.3 < 30, held; 12 and 12: 33.9 > 30, not held.
    expect(endGameRig([rig('slow', 0, 60, 10), rig('fast', 10, 20, 10)], 1, 0)?.rigId).toBe('fast');
    expect(endGameRig([rig('slow', 0, 60, 12), rig('fast', 10, 20, 12)], 1, 0)).toEqual({ rigId: 'slow', startsAt: 0, endsAt: 60 });
    // z = 0: the plain ECT choice.
    expect(endGameRig([rig('slow', 0, 60, 12), rig('fast', 10, 20, 12)], 1, 0, 0)?.rigId).toBe('fast');
    // Passed over for a wait that is not sure enough, the run goes to the fastest free rig.
    expect(endGameRig([rig('slow', 0, 60, 12), rig('mid', 0, 50, 12), rig('fast', 10, 20, 12)], 1, 0)?.rigId).toBe('mid');
  });

  it('plans all the runs left: a free slow rig is passed over only when the plan gives it none of them', () => {
    const rigs = [rig('slow', 0, 60), rig('fast', 10, 20)];
    // Two runs: both end sooner on the fast rig (30, 50 < 60): the first waits for it.
    expect(endGameRig(rigs, 2, 0)?.rigId).toBe('fast');
    // Three: the third would end at 70 on the fast rig, 60 on the slow one, which therefore
    // has work in the plan and takes the run now.
    expect(endGameRig(rigs, 3, 0)).toEqual({ rigId: 'slow', startsAt: 0, endsAt: 60 });
  });

  it('never holds a run unless it ends sooner than on every free rig; independent of the order rigs are listed in', () => {
    const rng = createRng(2121);
    for (let k = 0; k < 500; k++) {
      const n = 2 + rng.int(8);
      const rigs = Array.from({ length: n }, (_, i) => rig(`r${i}`, rng.next() < 0.4 ? 0 : 1 + Math.floor(rng.next() * 50), 5 + Math.floor(rng.next() * 60), rng.next() * 5));
      const runs = 1 + rng.int(n);
      const c = endGameRig(rigs, runs, 0)!;
      if (c.startsAt > 0) {
        for (const r of rigs.filter((x) => x.freeAt === 0)) expect(c.endsAt).toBeLessThan(r.meanMs);
      }
      expect(endGameRig([...rigs].reverse(), runs, 0)).toEqual(c);
    }
  });

  it('refuses rigs without finite times and says which; no rigs or no runs: no choice', () => {
    expect(() => endGameRig([rig('a', 0, Number.NaN)], 1, 0)).toThrow(/rig a needs a finite freeAt, a positive finite meanMs/);
    expect(() => endGameRig([rig('a', 0, 0)], 1, 0)).toThrow(/rig a/);
    expect(() => endGameRig([rig('a', 0, 1, -1)], 1, 0)).toThrow(/rig a/);
    expect(() => endGameRig([rig('a', 0, 1)], 1, 0, Number.NaN)).toThrow(/z must be finite/);
    expect(endGameRig([], 1, 0)).toBeUndefined();
    expect(endGameRig([rig('a', 0, 1)], 0, 0)).toBeUndefined();
  });

  it('rig estimates: runs shrunk toward the fleet mean by one pseudo-run, standard error from the pooled within-rig spread; none without a rig of two runs', () => {
    expect(rigEstimates(new Map([['a', [10]], ['b', [50]]]))).toBeUndefined();
    const e = rigEstimates(new Map([['a', [10, 14]], ['b', [30]]]))!;
    // Fleet mean (10 + 14 + 30) / 3 = 18; within-rig sd from a alone: √((4 + 4) / 1) = 2√2.
    expect(e.fleetMean).toBe(18);
    expect(e.estimate([])).toEqual({ meanMs: 18, sdMs: 2 * Math.SQRT2 });
    expect(e.estimate([10, 14]).meanMs).toBeCloseTo((24 + 18) / 3, 12);
    expect(e.estimate([10, 14]).sdMs).toBeCloseTo((2 * Math.SQRT2) / Math.sqrt(3), 12);
  });
});

describe('end-game dispatch in a campaign (simulated lab, fake clock)', () => {
  const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'a', min: 0, max: 1 }, { kind: 'continuous', name: 'b', min: 0, max: 1 }] };
  // Three fast rigs (10 lab s a run) and one slow one (40 s), fixed durations: the makespan is
  // decided by which rigs take the last runs.
  const rigs = [
    ...['f1', 'f2', 'f3'].map((id) => ({ id, capabilities: ['characterise'], latencyMs: { dist: 'fixed' as const, mean: 10_000 }, noise: 0.01, heartbeatMs: 5000 })),
    { id: 's1', capabilities: ['characterise'], latencyMs: { dist: 'fixed' as const, mean: 40_000 }, noise: 0.01, heartbeatMs: 5000 },
  ];
  const base = (mode: 'sync' | 'async', endGame: boolean): SimCampaignOptions => ({
    mode, endGame, seed: 5, rigs, capability: 'characterise', truth: analyticTruth, agent: createSobolAgent(), space,
    rewardOf: (p) => p.score, measure: ['score'], batchSize: 4, candidates: 4, rigRuns: 14, timeoutMs: 600_000, keep: true,
  });
  const runsOn = (db: string) => {
    const ledger = Ledger.open(db, { readonly: true });
    try {
      const by = new Map<string, number>();
      for (const m of ledger.measurements('c')) by.set(m.rigId, (by.get(m.rigId) ?? 0) + 1);
      return { by, measured: ledger.measurements('c').length, trials: new Set(ledger.measurements('c').map((m) => m.trialId)).size };
    } finally {
      ledger.close();
    }
  };

  for (const mode of ['async', 'sync'] as const) {
    it(`${mode}: the last runs wait for the fast rigs, so the campaign ends sooner; every run measured once; the same run twice gives the same schedule`, async () => {
      const off = await runSimCampaign(base(mode, false));
      const on = await runSimCampaign(base(mode, true));
      const again = await runSimCampaign(base(mode, true));
      try {
        for (const r of [off, on]) expect(r.status).toBe('completed');
        const a = runsOn(off.db);
        const b = runsOn(on.db);
        // 14 runs, each measured once, whichever rig took it.
        expect([a.measured, a.trials, b.measured, b.trials]).toEqual([14, 14, 14, 14]);
        expect(on.endedAt - on.startedAt).toBeLessThan(off.endedAt - off.startedAt);
        expect(on.utilisation).toBeGreaterThan(off.utilisation);
        // The slow rig takes fewer runs: one of the last runs went to a fast rig instead.
        expect(b.by.get('s1') ?? 0).toBeLessThan(a.by.get('s1') ?? 0);
        // Deterministic: same config and seed, same schedule.
        expect(again.log.map((e) => [e.rigId, e.startedAt, e.finishedAt])).toEqual(on.log.map((e) => [e.rigId, e.startedAt, e.finishedAt]));
      } finally {
        for (const r of [off, on, again]) r.cleanup();
      }
    });
  }
});

describe('loop.endGame in the config (#21)', () => {
  const raw = (loop: unknown, pipeline = ['characterise']) => ({
    name: 'c', space: { a: { min: 0, max: 1 } }, reward: 'score', agent: { name: 'gp-bo' },
    rigs: { pipeline, measure: ['score'] }, budget: { rigRuns: 4 }, loop,
  });
  it('is accepted in either mode for a single-stage pipeline and refused, saying why, with more stages', () => {
    expect(resolveCampaign(raw({ mode: 'async', endGame: true }), configRegistries(), {}, {}).config.loop?.endGame).toBe(true);
    expect(resolveCampaign(raw({ mode: 'sync', endGame: true }), configRegistries(), {}, {}).config.loop?.endGame).toBe(true);
    expect(() => resolveCampaign(raw({ mode: 'async', endGame: true }, ['fabricate', 'characterise']), configRegistries(), {}, {})).toThrow(/loop\.endGame plans single-stage pipelines only/);
    expect(() => resolveCampaign(raw({ mode: 'async', endGame: 'yes' }), configRegistries(), {}, {})).toThrow(/loop\.endGame/);
  });
});
