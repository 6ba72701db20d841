/**
 * Issue #21, asynchronous campaigns: a freed rig gets the next candidate at once, the agent
 * proposes with the pending trials taken into account, and the pending work lives in the ledger
 * so that a kill + resume loses and repeats nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { createCmaesAgent } from '../agents/cmaes.js';
import { createGpBoAgent } from '../agents/gp-bo.js';
import { createSobolAgent } from '../agents/sobol.js';
import { variedFleet } from '../robots/sim/fleet.js';
import { analyticTruth } from '../robots/sim/truth.js';
import type { Agent, AgentContext, Observation, ParameterSpace, Parameters } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { encode } from '../src/core/space.js';
import { configRegistries } from '../src/compose/campaign.js';
import { resolveCampaign } from '../src/config/load.js';
import { Ledger } from '../src/ledger/ledger.js';
import { withConstantLiar } from '../src/orchestrator/runtime.js';
import { runSimCampaign, type SimCampaignOptions } from './async-lab.js';
import { cli, tmp } from './helpers.js';

const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'a', min: 0, max: 1 }, { kind: 'continuous', name: 'b', min: 0, max: 1 }] };
const rms = (p: Parameters, q: Parameters) => {
  const u = encode(space, p);
  const v = encode(space, q);
  return Math.hypot(...u.map((x, i) => x - v[i])) / Math.sqrt(u.length);
};

/** gp-bo, recording the pending trials each proposal was given. */
function recording(): Agent & { pendingSeen: number[] } {
  const inner = createGpBoAgent({ candidates: 300 });
  const pendingSeen: number[] = [];
  return {
    name: inner.name,
    pendingAware: inner.pendingAware,
    pendingSeen,
    learn: (e) => inner.learn(e),
    snapshot: () => inner.snapshot?.(),
    restore: (s) => inner.restore?.(s),
    propose: (ctx, k) => {
      pendingSeen.push(ctx.pending?.length ?? 0);
      return inner.propose(ctx, k);
    },
  };
}

const base = (mode: 'sync' | 'async', patch: Partial<SimCampaignOptions> = {}): SimCampaignOptions => ({
  mode,
  seed: 7,
  // Six rigs of different speeds, ~10 lab minutes a run (1 simulated s per minute).
  rigs: variedFleet({ rigs: 6, capabilities: ['characterise'], meanMinutes: 10, rigSpread: 0.4, runCv: 0.4, seed: 7, noise: 0.01, heartbeatMs: 5000 }),
  capability: 'characterise',
  truth: analyticTruth,
  agent: recording(),
  space,
  rewardOf: (p) => p.score,
  measure: ['score'],
  batchSize: 6,
  candidates: 6,
  rigRuns: 24,
  timeoutMs: 600_000,
  ...patch,
});

describe('asynchronous campaigns (#21)', () => {
  it('keeps every rig busy: at most batchSize trials in flight, each freed slot refilled, every trial measured once; sync waits for its slowest rig', async () => {
    // Sobol' fills every batch (no clustering for the diverse selection to refuse), so the
    // comparison isolates the loop: whole batches against refilled slots.
    const sync = await runSimCampaign(base('sync', { agent: createSobolAgent(), rigRuns: 48, keep: true }));
    const async = await runSimCampaign(base('async', { agent: createSobolAgent(), rigRuns: 48, keep: true }));
    const agent = recording();
    const bo = await runSimCampaign(base('async', { agent, keep: true }));
    for (const r of [sync, async, bo]) {
      const budget = r === bo ? 24 : 48;
      expect(r.status).toBe('completed');
      expect(r.measured).toHaveLength(budget);
      expect(r.maxInFlight).toBeLessThanOrEqual(6);
      const l = Ledger.open(r.db, { readonly: true });
      try {
        const keys = l.measurements('c').map((m) => m.trialId);
        expect(new Set(keys).size).toBe(budget);
        expect(l.trials('c').filter((t) => t.selectedRank !== null).every((t) => t.status === 'completed')).toBe(true);
      } finally {
        l.close();
        r.cleanup();
      }
    }
    // Sync: rounds of up to 6 (8 when every batch is full); async: many small rounds, and
    // gp-bo proposing while trials ran.
    expect(sync.context.round).toBeLessThanOrEqual(10);
    expect(async.context.round).toBeGreaterThan(20);
    expect(agent.pendingSeen.filter((n) => n > 0).length).toBeGreaterThan(5);
    // The rigs wait for the slowest of a synchronous batch; asynchronously they do not.
    expect(async.utilisation).toBeGreaterThan(0.8);
    expect(async.utilisation).toBeGreaterThan(sync.utilisation + 0.1);
    expect(async.endedAt - async.startedAt).toBeLessThan(sync.endedAt - sync.startedAt);
    // No selected trial is a near-duplicate of one still running (the diverse selection's bound).
    for (const s of bo.pendingAtSelection) for (const p of s.pending) expect(rms(s.params, p)).toBeGreaterThanOrEqual(0.05);
  }, 120_000);

  it('a campaign killed with trials in flight resumes from the ledger: the pending jobs are re-sent with their ids, nothing lost or measured twice', async () => {
    const o = base('async', { rigRuns: 16 });
    let pendingAtKill: string[] = [];
    const first = await runSimCampaign({
      ...o,
      killWhen: (ctx, state, ledger) => {
        if (ctx.rigRuns < 8 || !state.includes('awaitingRigs')) return false;
        pendingAtKill = ledger.jobs('c').filter((j) => j.status !== 'completed' && j.status !== 'failed').map((j) => j.jobId);
        return pendingAtKill.length > 0;
      },
    });
    expect(first.status).toBe('killed');
    expect(pendingAtKill.length).toBeGreaterThan(0);
    const second = await runSimCampaign({ ...o, agent: recording(), db: first.db, labStateDir: first.labStateDir });
    expect(second.status).toBe('completed');
    // The resumed process re-sent the pending jobs under their own ids.
    const resent = new Set(second.log.map((e) => e.jobId));
    for (const id of pendingAtKill) expect(resent.has(id)).toBe(true);
    const l = Ledger.open(first.db, { readonly: true });
    try {
      const selected = l.trials('c').filter((t) => t.selectedRank !== null);
      expect(selected).toHaveLength(16);
      expect(selected.every((t) => t.status === 'completed')).toBe(true);
      const measured = l.measurements('c').map((m) => m.trialId);
      expect(new Set(measured).size).toBe(measured.length);
      expect(measured).toHaveLength(16);
      // Every ended trial was assimilated exactly once.
      const taken = l.documents('c', 'AgentLearned').flatMap((d) => d.body.trialIds ?? []);
      expect(new Set(taken).size).toBe(taken.length);
      expect(new Set(taken)).toEqual(new Set(selected.map((t) => t.id)));
      expect(l.integrity().ok).toBe(true);
    } finally {
      l.close();
      first.cleanup();
    }
  }, 120_000);

  it('a kill after an assimilation was recorded and before the machine took it: the resumed pass counts what the first one did, no empty AgentLearned', async () => {
    const o = base('async', { rigRuns: 16 });
    let killedAt: { round: number; ended?: number; completed: number } | null = null;
    const first = await runSimCampaign({
      ...o,
      killAfterAssimilate: (round, out, ledger) => {
        // A pass that took results while others are still running (so more end meanwhile).
        if ((out.ended ?? 0) === 0 || (out.inFlight ?? 0) === 0 || ledger.measurements('c').length < 6) return false;
        killedAt = { round, ended: out.ended, completed: out.completed };
        return true;
      },
    });
    try {
      expect(first.status).toBe('killed');
      expect(killedAt).not.toBeNull();
      const again: Array<{ round: number; ended?: number; completed: number }> = [];
      const second = await runSimCampaign({ ...o, agent: recording(), db: first.db, labStateDir: first.labStateDir, onAssimilated: (round, out) => again.push({ round, ended: out.ended, completed: out.completed }) });
      expect(second.status).toBe('completed');
      expect(again[0]).toEqual(killedAt);
      const l = Ledger.open(first.db, { readonly: true });
      try {
        const selected = l.trials('c').filter((t) => t.selectedRank !== null);
        expect(selected).toHaveLength(16);
        const learned = l.documents('c', 'AgentLearned').filter((d) => d.body.fidelity === 'rig');
        // A pass in which no trial ended records nothing.
        for (const d of learned) expect(d.body.trialIds?.length ?? 0).toBeGreaterThan(0);
        const taken = learned.flatMap((d) => d.body.trialIds ?? []);
        expect(new Set(taken).size).toBe(taken.length);
        expect(new Set(taken)).toEqual(new Set(selected.map((t) => t.id)));
      } finally {
        l.close();
      }
    } finally {
      first.cleanup();
    }
  }, 120_000);

  it('a pass that sends nothing (every candidate beside a running trial), then a kill: the ledger stays consistent and the resumed agent has the recorded state', async () => {
    // gp-bo, except that once, with trials running, it proposes only near-duplicates of one
    // of them (0.001 apart): the selection refuses them all and the pass sends nothing. The
    // forced pass is part of the agent's state, so the state after it differs from the one
    // the previous AgentLearned saved: a resume from the wrong document is seen (#21 review).
    const forcing = () => {
      const inner = recording();
      let forced = false;
      const agent: Agent = {
        ...inner,
        snapshot: () => ({ gp: inner.snapshot!(), forced }),
        restore: (st) => {
          const { gp, forced: f } = st as { gp: unknown; forced: boolean };
          forced = f;
          inner.restore!(gp);
        },
        propose: (c, k) => {
          if (forced || (c.pending?.length ?? 0) < 3) return inner.propose(c, k);
          forced = true;
          const p = c.pending![0];
          return Promise.resolve(Array.from({ length: k }, (_, i) => ({ a: Math.abs((p.a as number) - 0.001 * (i + 1)), b: p.b })));
        },
      };
      return { agent, forced: () => forced };
    };
    const firstAgent = forcing();
    const o = base('async', { rigRuns: 16 });
    let atKill: { round: number; snapshot: unknown } | null = null;
    const first = await runSimCampaign({
      ...o,
      agent: firstAgent.agent,
      killWhen: (c, state, ledger) => {
        if (!firstAgent.forced() || !state.includes('awaitingRigs')) return false;
        const round = ledger.trials('c').filter((t) => t.round === c.round);
        if (round.length === 0 || round.some((t) => t.selectedRank !== null)) return false;
        atKill = { round: c.round, snapshot: firstAgent.agent.snapshot!() };
        return true;
      },
    });
    try {
      expect(first.status).toBe('killed');
      expect(atKill).not.toBeNull();
      const { round: empty, snapshot } = atKill!;
      const resumed = forcing();
      const restoredWith: unknown[] = [];
      const second = await runSimCampaign({
        ...o,
        agent: { ...resumed.agent, restore: (st) => (restoredWith.push(JSON.parse(JSON.stringify(st))), resumed.agent.restore!(st)) },
        db: first.db,
        labStateDir: first.labStateDir,
      });
      expect(second.status).toBe('completed');
      // The resumed agent starts from the state the first process had after the empty pass —
      // the one recorded with its proposal, not the previous AgentLearned's (forced: false there).
      expect(restoredWith[0]).toEqual(JSON.parse(JSON.stringify(snapshot)));
      expect((restoredWith[0] as { forced: boolean }).forced).toBe(true);
      const l = Ledger.open(first.db, { readonly: true });
      try {
        const learnedDocs = l.documents('c', 'AgentLearned');
        const emptyDoc = learnedDocs.findIndex((d) => d.key === `digital:${empty}`);
        expect(emptyDoc).toBeGreaterThan(0);
        // Recorded once: with the pass's proposal (AgentProposed); its digital learning, which
        // left the state as it was, stores no second copy (appendAgentState).
        const proposedDoc = l.documents('c', 'AgentProposed').find((d) => d.key === `round:${empty}`)!;
        expect(proposedDoc.body.snapshot).toEqual(restoredWith[0]);
        expect(learnedDocs[emptyDoc].body.snapshot).toBeUndefined();
        // The state recorded before it (by either document) is another: the restore read the right one.
        const states = [...l.documents('c', 'AgentProposed'), ...learnedDocs].filter((d) => d.body.snapshot !== undefined && d.seq < proposedDoc.seq).sort((a, b) => a.seq - b.seq);
        expect(states.at(-1)!.body.snapshot).not.toEqual(restoredWith[0]);
        const trials = l.trials('c');
        // The empty pass: its candidates proposed and scored once, none sent, none learned as rig data.
        const emptyRound = trials.filter((t) => t.round === empty);
        expect(emptyRound.length).toBeGreaterThan(0);
        expect(emptyRound.every((t) => t.selectedRank === null && t.status === 'scored')).toBe(true);
        expect(l.documents('c', 'AgentLearned').filter((d) => d.key === `digital:${empty}`)).toHaveLength(1);
        const taken = l.documents('c', 'AgentLearned').flatMap((d) => d.body.trialIds ?? []);
        for (const t of emptyRound) expect(taken).not.toContain(t.id);
        // And the rest as in any resumed campaign: every selected trial measured and assimilated once.
        const selected = trials.filter((t) => t.selectedRank !== null);
        expect(selected).toHaveLength(16);
        expect(selected.every((t) => t.status === 'completed')).toBe(true);
        const measured = l.measurements('c').map((m) => m.trialId);
        expect(new Set(measured).size).toBe(16);
        expect(measured).toHaveLength(16);
        expect(new Set(taken).size).toBe(taken.length);
        expect(new Set(taken)).toEqual(new Set(selected.map((t) => t.id)));
        expect(l.integrity().ok).toBe(true);
      } finally {
        l.close();
      }
    } finally {
      first.cleanup();
    }
  }, 120_000);

  it('a wall-time stop gives up the trials in flight: abandoned in the ledger, cancelled at the rigs', async () => {
    const r = await runSimCampaign(base('async', { rigRuns: 100, wallTimeMs: 25_000, keep: true }));
    try {
      expect(r.status).toBe('completed');
      expect(r.context.stopReason).toBe('wall-time budget spent');
      const l = Ledger.open(r.db, { readonly: true });
      try {
        const selected = l.trials('c').filter((t) => t.selectedRank !== null);
        // Nothing is left "in flight" after the campaign ended.
        expect(selected.filter((t) => t.status !== 'completed' && t.status !== 'abandoned')).toEqual([]);
        const given = l.documents('c', 'TrialAbandoned').filter((d) => /campaign ended \(wall-time budget spent\)/.test(String(d.body.reason)));
        expect(given.length).toBeGreaterThan(0);
        // The rigs were told to stop them.
        const cancelled = new Set(r.log.filter((e) => e.outcome === 'cancelled').map((e) => e.trialId));
        for (const d of given) expect(cancelled.has(d.body.trialId)).toBe(true);
      } finally {
        l.close();
      }
    } finally {
      r.cleanup();
    }
  }, 120_000);

  it('the rigs\' answers to the cancels at campaign end close the jobs in the ledger, the trials stay abandoned (#21 review)', async () => {
    const r = await runSimCampaign(base('async', { agent: createSobolAgent(), rigRuns: 100, wallTimeMs: 25_000, keep: true }));
    try {
      expect(r.status).toBe('completed');
      const l = Ledger.open(r.db, { readonly: true });
      try {
        const ended = l.documents('c', 'TrialAbandoned').filter((d) => d.body.kind === 'campaign-end').map((d) => d.body.trialId);
        expect(ended.length).toBeGreaterThan(0);
        const cancelled = l.documents('c', 'RigEventReceived').filter((d) => d.body.type === 'cancelled').map((d) => d.body.jobId);
        expect(cancelled.length).toBeGreaterThan(0);
        // Each answered cancel is recorded as the job's end; no job is left open for a resume to re-send.
        expect(l.jobs('c').filter((j) => j.status !== 'completed' && j.status !== 'failed')).toEqual([]);
        const failed = new Set(l.documents('c', 'JobFailed').map((d) => d.body.jobId));
        for (const id of cancelled) expect(failed.has(id)).toBe(true);
        const trials = new Map(l.trials('c').map((t) => [t.id, t]));
        for (const id of ended) expect(trials.get(id)?.status).toBe('abandoned');
      } finally {
        l.close();
      }
    } finally {
      r.cleanup();
    }
  }, 120_000);

  it('with loop.warmup, refills no freed slot until that many trials have ended; without it, the first results bring new picks at once', async () => {
    // Sobol' fills the first batch of 6, so every later pick is made after some trial ended:
    // with warmup 4 none before the fourth result (the model's first picks wait for data).
    const plain = await runSimCampaign(base('async', { agent: createSobolAgent() }));
    const warm = await runSimCampaign(base('async', { agent: createSobolAgent(), warmup: 4 }));
    const later = (r: typeof plain) => r.pendingAtSelection.filter((x) => x.round > 1).map((x) => x.results);
    expect(Math.min(...later(plain))).toBeLessThan(4);
    expect(Math.min(...later(warm))).toBeGreaterThanOrEqual(4);
    for (const r of [plain, warm]) {
      expect(r.status).toBe('completed');
      expect(r.measured).toHaveLength(24);
    }
    // After the warm-up it refills slot by slot again, not in whole batches.
    expect(warm.context.round).toBeGreaterThan(8);
  });

  it('a kill while the warm-up holds: the resumed process counts the trials that ended before it from the ledger (#21 review)', async () => {
    const o = base('async', { agent: createSobolAgent(), warmup: 4, rigRuns: 16 });
    let endedAtKill = -1;
    const first = await runSimCampaign({
      ...o,
      killWhen: (_ctx, state, ledger) => {
        if (!state.includes('awaitingRigs')) return false;
        const ended = ledger.trials('c').filter((t) => t.selectedRank !== null && (t.status === 'completed' || t.status === 'abandoned')).length;
        if (ended < 1 || ended >= 4) return false;
        endedAtKill = ended;
        return true;
      },
    });
    expect(first.status).toBe('killed');
    expect(endedAtKill).toBeGreaterThanOrEqual(1);
    // Before the kill nothing but the first batch was selected: the warm-up held.
    expect(first.pendingAtSelection.every((x) => x.round === 1)).toBe(true);
    const second = await runSimCampaign({ ...o, agent: createSobolAgent(), db: first.db, labStateDir: first.labStateDir });
    try {
      expect(second.status).toBe('completed');
      expect(second.measured).toHaveLength(16);
      const later = second.pendingAtSelection.filter((x) => x.round > 1).map((x) => x.results);
      // No refill before the fourth result, counting those before the kill …
      expect(Math.min(...later)).toBeGreaterThanOrEqual(4);
      // … and not 4 more after the resume: a count kept in the process would have waited for
      // endedAtKill + 4 results.
      expect(Math.min(...later)).toBeLessThan(endedAtKill + 4);
    } finally {
      first.cleanup();
    }
  }, 120_000);

  it('runs asynchronously end to end on the embedded MQTT broker (aedes) with rigs of different speeds', async () => {
    const dir = tmp('poreloop-async-e2e-');
    const path = join(dir, 'campaign.yaml');
    const db = join(dir, 'ledger.db');
    writeFileSync(
      path,
      YAML.stringify({
        name: 'async-e2e',
        seed: 5,
        space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 } },
        reward: 'score',
        agent: { name: 'gp-bo', candidates: 3, batchSize: 3, options: { candidates: 300 } },
        loop: { mode: 'async' },
        rigs: {
          pipeline: ['characterise'], measure: ['score'], timeout: '20s',
          simulate: { rigs: [10, 100, 1000].map((ms, i) => ({ id: `char-${i + 1}`, capabilities: ['characterise'], latencyMs: ms })) },
        },
        budget: { rigRuns: 9 },
      }),
    );
    const r = await cli(['run', path, '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ status: 'completed', rigRuns: 9 });
    const l = Ledger.open(db, { readonly: true });
    try {
      const selected = l.trials(doc.campaignId).filter((t) => t.selectedRank !== null);
      expect(selected).toHaveLength(9);
      expect(selected.every((t) => t.status === 'completed')).toBe(true);
      // Smaller rounds than three batches of three: freed rigs were refilled one by one.
      expect(Math.max(...selected.map((t) => t.round))).toBeGreaterThan(3);
      // The fast rig ran more than the slow one.
      const byRig = new Map<string, number>();
      for (const m of l.measurements(doc.campaignId)) byRig.set(m.rigId, (byRig.get(m.rigId) ?? 0) + 1);
      expect(byRig.get('char-1') ?? 0).toBeGreaterThan(byRig.get('char-3') ?? 0);
    } finally {
      l.close();
    }
  }, 120_000);
});

describe('loop.mode in the config (#21)', () => {
  const raw = (loop: unknown) => ({
    name: 'c', space: { a: { min: 0, max: 1 } }, reward: 'score', agent: { name: 'gp-bo' },
    rigs: { pipeline: ['characterise'], measure: ['score'] }, budget: { rigRuns: 4 }, loop,
  });
  it('accepts sync and async, and refuses anything else naming the field and what is allowed', () => {
    expect(resolveCampaign(raw({ mode: 'async' }), configRegistries(), {}, {}).config.loop?.mode).toBe('async');
    expect(resolveCampaign(raw({ mode: 'sync' }), configRegistries(), {}, {}).config.loop?.mode).toBe('sync');
    expect(() => resolveCampaign(raw({ mode: 'overlapping' }), configRegistries(), {}, {})).toThrow(/loop\.mode.*"sync" or "async"/s);
  });
  it('accepts loop.warmup, a non-negative integer', () => {
    expect(resolveCampaign(raw({ mode: 'async', warmup: 10 }), configRegistries(), {}, {}).config.loop?.warmup).toBe(10);
    expect(() => resolveCampaign(raw({ mode: 'async', warmup: -1 }), configRegistries(), {}, {})).toThrow(/loop\.warmup/);
    expect(() => resolveCampaign(raw({ mode: 'async', warmup: 2.5 }), configRegistries(), {}, {})).toThrow(/loop\.warmup/);
  });
  it('refuses a positive loop.warmup in a synchronous campaign instead of ignoring it; 0 (off) is accepted (#21 review)', () => {
    expect(() => resolveCampaign(raw({ mode: 'sync', warmup: 10 }), configRegistries(), {}, {})).toThrow(/loop\.warmup.*applies only to asynchronous campaigns.*loop\.mode: async/s);
    // No mode is sync (the default).
    expect(() => resolveCampaign(raw({ warmup: 10 }), configRegistries(), {}, {})).toThrow(/loop\.warmup.*loop\.mode: async/s);
    expect(resolveCampaign(raw({ mode: 'sync', warmup: 0 }), configRegistries(), {}, {}).config.loop?.warmup).toBe(0);
  });
});

describe('pending-aware proposals (#21)', () => {
  // A smooth bump at (0.7, 0.3), observed at 8 points.
  const f = (p: Parameters) => Math.exp(-8 * (((p.a as number) - 0.7) ** 2 + ((p.b as number) - 0.3) ** 2));
  const rng = createRng(11);
  const history: Observation[] = Array.from({ length: 8 }, () => {
    const p = { a: rng.next(), b: rng.next() };
    return { params: p, reward: f(p), fidelity: 'rig' as const };
  });
  const ctx = (pending?: Parameters[]): AgentContext => ({ space, history, rng: createRng(3), ...(pending ? { pending } : {}) });

  it('gp-bo (Kriging believer) does not propose a near-duplicate of a running trial', async () => {
    const agent = () => createGpBoAgent({ candidates: 500 });
    expect(agent().pendingAware).toBe(true);
    const [alone] = await agent().propose(ctx(), 1);
    const [beside] = await agent().propose(ctx([alone]), 1);
    // Same model, same random stream: without the pending trial gp-bo proposes it again.
    const [again] = await agent().propose(ctx(), 1);
    expect(rms(again, alone)).toBeLessThan(1e-9);
    expect(rms(beside, alone)).toBeGreaterThan(0.05);
  });

  it('the constant liar gives other agents the pending trials as the worst rig reward so far', () => {
    const pending = [{ a: 0.7, b: 0.3 }];
    const lied = withConstantLiar(history, pending);
    expect(lied).toHaveLength(history.length + 1);
    expect(lied.at(-1)).toEqual({ params: pending[0], reward: Math.min(...history.map((o) => o.reward)), fidelity: 'rig', feasible: true, fantasy: true });
    expect(withConstantLiar(history, [])).toBe(history);
    // Before any rig reward there is nothing to lie with.
    expect(withConstantLiar([], pending)).toEqual([]);
    // A lie is not a rig reward to lie with.
    expect(withConstantLiar([{ params: pending[0], reward: -5, fidelity: 'rig', fantasy: true }, ...history], pending).at(-1)!.reward).toBe(Math.min(...history.map((o) => o.reward)));
  });

  it('a fantasy is never learned: the agent state after proposing with pending trials is the state without them (cmaes, gp-bo)', async () => {
    const f2 = (p: Parameters) => f(p) + 0.1 * (p.a as number);
    for (const make of [() => createCmaesAgent(), () => createGpBoAgent({ candidates: 200 })]) {
      // A first proposal (CMA-ES asks its generation), then all but two of it measured.
      const first = make();
      const asked = await first.propose(ctx(), 6);
      const snap = first.snapshot!();
      const measured: Observation[] = asked.slice(0, asked.length - 2).map((p) => ({ params: p, reward: f2(p), fidelity: 'rig' as const }));
      const pending = asked.slice(asked.length - 2);
      const seen = [...history, ...measured];
      // The history the orchestrator hands each kind of agent, and the pending ones as such.
      const withPending = make();
      withPending.restore!(snap);
      await withPending.propose({ space, history: withConstantLiar(seen, pending), pending, rng: createRng(5) }, 1);
      const without = make();
      without.restore!(snap);
      await without.propose({ space, history: seen, rng: createRng(5) }, 1);
      expect(withPending.snapshot!(), withPending.name).toEqual(without.snapshot!());
    }
  });
});
