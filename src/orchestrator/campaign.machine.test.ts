import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { campaignMachine, type ApprovalDecision, type CampaignLimits } from './campaign.machine.js';

/** Fake actors (DESIGN.md style rule 11): the machine's transitions alone, no I/O. */
function fakes(opts: { rewards?: number[]; failed?: number[]; selected?: (remaining: number) => number; throwIn?: string; now?: () => number; decided?: (round: number) => ApprovalDecision | null } = {}) {
  const calls: string[] = [];
  let roundIdx = 0;
  const p = <O, I>(name: string, out: (i: I) => O) =>
    fromPromise<O, I>(async ({ input }) => {
      calls.push(name);
      if (opts.throwIn === name) throw new Error(`${name} broke`);
      return out(input);
    });
  const actors = {
    propose: p('propose', () => ({ proposed: 8 })),
    score: p('score', () => ({ scored: 8 })),
    select: p('select', (i: { remaining: number }) => ({ selected: opts.selected ? opts.selected(i.remaining) : Math.min(4, i.remaining) })),
    requestApproval: p('requestApproval', (i: { round: number }) => ({ decided: opts.decided?.(i.round) ?? null })),
    dispatch: p('dispatch', () => ({ dispatched: 4 })),
    awaitRigs: p('awaitRigs', () => ({ done: 4 })),
    assimilate: p('assimilate', () => {
      const r = opts.rewards?.[roundIdx] ?? null;
      const f = opts.failed?.[roundIdx] ?? 0;
      roundIdx++;
      return { completed: 4, failed: f, bestReward: r, now: opts.now?.() ?? 0 };
    }),
    finish: p('finish', () => undefined),
  };
  return { actors, calls };
}

const limits = (l: Partial<CampaignLimits> = {}): CampaignLimits => ({ rigRuns: 12, failures: 10, approval: false, ...l });

async function run(l: Partial<CampaignLimits>, f: ReturnType<typeof fakes>, onStart?: (a: any) => void) {
  const actor = createActor(campaignMachine.provide({ actors: f.actors as any }), { input: { campaignId: 'c1', limits: limits(l), startedAt: 0 } });
  actor.start();
  onStart?.(actor);
  await toPromise(actor);
  return actor.getSnapshot();
}

describe('campaign machine', () => {
  it('runs rounds until the rig budget is spent, in the order of the loop', async () => {
    const f = fakes({ rewards: [1, 2, 3] });
    const s = await run({ rigRuns: 12 }, f);
    expect(s.value).toBe('done');
    expect(s.context.finalStatus).toBe('completed');
    expect(s.context.stopReason).toBe('rig-run budget spent');
    expect(s.context.rigRuns).toBe(12);
    expect(s.context.round).toBe(3);
    expect(f.calls.slice(0, 7)).toEqual(['propose', 'score', 'select', 'dispatch', 'awaitRigs', 'assimilate', 'propose']);
    expect(f.calls.at(-1)).toBe('finish');
  });

  /** Answers the approval gate of each round with `decide(round)` once the machine waits there. */
  const approver = (decide: (round: number) => 'approve' | 'reject', seen: string[] = []) => (actor: any) =>
    actor.subscribe((snap: any) => {
      const round = snap.context.round;
      if (!snap.matches({ awaitingApproval: 'waiting' }) || seen.includes(`waiting ${round}`)) return;
      seen.push(`waiting ${round}`);
      const decision = decide(round);
      // Sent from outside, after the transition, as the composition root does.
      setTimeout(() => actor.send({ type: 'approval.decided', round, decision, approved: decision === 'reject' ? 0 : 4 }), 0);
    });

  it('waits in a state at the approval gate until approval.decided arrives', async () => {
    const f = fakes({ rewards: [1] });
    const seen: string[] = [];
    const s = await run({ rigRuns: 4, approval: true }, f, approver(() => 'approve', seen));
    expect(f.calls.slice(0, 5)).toEqual(['propose', 'score', 'select', 'requestApproval', 'dispatch']);
    expect(seen).toEqual(['waiting 1']);
    expect(s.context.rigRuns).toBe(4);
  });

  it('a batch rejected at the gate spends no rig runs and goes to no rig (issue #14)', async () => {
    const f = fakes({ rewards: [1, 2, 3] });
    // Budget 8, batches of 4: the first batch is rejected, the next two are approved.
    const s = await run({ rigRuns: 8, approval: true }, f, approver((r) => (r === 1 ? 'reject' : 'approve')));
    expect(s.context.stopReason).toBe('rig-run budget spent');
    expect(s.context.rigRuns).toBe(8);
    expect(s.context.round).toBe(3);
    expect(f.calls.filter((c) => c === 'dispatch')).toHaveLength(2);
    expect(f.calls.slice(0, 6)).toEqual(['propose', 'score', 'select', 'requestApproval', 'propose', 'score']);
  });

  it('ignores a decision about another round, and takes one already recorded (resume)', async () => {
    const f = fakes({ rewards: [1], decided: (round) => (round === 2 ? { round, decision: 'approve', approved: 4 } : null) });
    let sent = false;
    const s = await run({ rigRuns: 8, approval: true }, f, (actor) =>
      actor.subscribe((snap: any) => {
        if (snap.matches({ awaitingApproval: 'waiting' }) && snap.context.round === 1 && !sent) {
          sent = true;
          setTimeout(() => {
            actor.send({ type: 'approval.decided', round: 7, decision: 'approve', approved: 4 });
            expect(actor.getSnapshot().matches({ awaitingApproval: 'waiting' })).toBe(true);
            actor.send({ type: 'approval.decided', round: 1, decision: 'approve', approved: 4 });
          }, 0);
        }
      }),
    );
    expect(s.context.rigRuns).toBe(8);
    expect(f.calls.filter((c) => c === 'dispatch')).toHaveLength(2);
  });

  it('stops when the target reward is reached', async () => {
    const f = fakes({ rewards: [1, 5, 9] });
    const s = await run({ rigRuns: 100, targetReward: 4 }, f);
    expect(s.context.stopReason).toBe('target reward reached');
    expect(s.context.round).toBe(2);
    expect(s.context.bestReward).toBe(5);
  });

  it('stops after N rounds without improvement', async () => {
    const f = fakes({ rewards: [3, 2, 3, 1, 9] });
    const s = await run({ rigRuns: 100, noImprovementRounds: 3 }, f);
    expect(s.context.stopReason).toBe('no improvement');
    expect(s.context.round).toBe(4);
    expect(s.context.bestReward).toBe(3);
  });

  it('stops on the round budget and on the wall-time budget (injected clock)', async () => {
    expect((await run({ rigRuns: 100, rounds: 2 }, fakes())).context.stopReason).toBe('round budget spent');
    let t = 0;
    const s = await run({ rigRuns: 100, wallTimeMs: 250 }, fakes({ now: () => (t += 100) }));
    expect(s.context.stopReason).toBe('wall-time budget spent');
    expect(s.context.round).toBe(3);
  });

  it('async: a pass in which no trial ended counts toward neither budget.rounds nor noImprovementRounds (#21)', async () => {
    // Passes alternate: a slot free at once (nothing ended), then one trial ended; the best reward never moves after the first.
    const asyncRun = async (l: Partial<CampaignLimits>) => {
      const f = fakes();
      let pass = 0;
      const actors = { ...f.actors, assimilate: fromPromise(async () => ({ completed: pass % 2, failed: 0, bestReward: pass > 0 ? 1 : null, now: 0, inFlight: 0, ended: pass++ % 2 })) };
      const actor = createActor(campaignMachine.provide({ actors: actors as any }), { input: { campaignId: 'c1', mode: 'async', limits: limits(l), startedAt: 0 } });
      actor.start();
      await toPromise(actor);
      return actor.getSnapshot().context;
    };
    const byRounds = await asyncRun({ rigRuns: 1000, rounds: 3 });
    expect(byRounds.stopReason).toBe('round budget spent');
    // Passes 2, 4, 6 brought results.
    expect(byRounds.round).toBe(6);
    const byStall = await asyncRun({ rigRuns: 1000, noImprovementRounds: 2 });
    expect(byStall.stopReason).toBe('no improvement');
    // Pass 2 improved (first result), passes 4 and 6 did not.
    expect(byStall.round).toBe(6);
  });

  it('fails when the failure budget is spent', async () => {
    const s = await run({ rigRuns: 100, failures: 3 }, fakes({ failed: [2, 2] }));
    expect(s.context.finalStatus).toBe('failed');
    expect(s.context.stopReason).toBe('failure budget spent');
  });

  it('goes to failed (and records it through finish) when an actor throws', async () => {
    const f = fakes({ throwIn: 'score' });
    const s = await run({}, f);
    expect(s.context.finalStatus).toBe('failed');
    expect(s.context.error).toBe('score broke');
    expect(f.calls).toEqual(['propose', 'score', 'finish']);
  });

  it('stops on an operator command from any state', async () => {
    const f = fakes();
    const s = await run({ rigRuns: 1000 }, f, (a) => a.send({ type: 'campaign.stop', reason: 'SIGINT' }));
    expect(s.context.finalStatus).toBe('stopped');
    expect(s.context.stopReason).toBe('SIGINT');
    expect(f.calls.at(-1)).toBe('finish');
  });

  it('a budget found spent outside the loop (campaign.budgetSpent) completes the campaign; finish is told so (#21 review)', async () => {
    const f = fakes();
    let finished: unknown;
    f.actors.finish = fromPromise(async ({ input }) => void (finished = input)) as never;
    const s = await run({ rigRuns: 1000 }, f, (a) => a.send({ type: 'campaign.budgetSpent', reason: 'wall-time budget spent (in state proposing)' }));
    expect(s.context.finalStatus).toBe('completed');
    expect(finished).toEqual({ campaignId: 'c1', status: 'completed', reason: 'wall-time budget spent (in state proposing)' });
  });

  it('ends without dispatching when nothing can be selected', async () => {
    const f = fakes({ selected: () => 0 });
    const s = await run({ rigRuns: 4, rounds: 1 }, f);
    expect(f.calls).not.toContain('dispatch');
    expect(s.context.stopReason).toBe('round budget spent');
  });

  it('pauses between rounds and continues on campaign.resume', async () => {
    const f = fakes();
    const actor = createActor(campaignMachine.provide({ actors: f.actors as any }), { input: { campaignId: 'c1', limits: limits({ rigRuns: 8 }), startedAt: 0 } });
    actor.start();
    actor.send({ type: 'campaign.pause' });
    await new Promise<void>((resolve) => actor.subscribe((s) => s.value === 'paused' && resolve()));
    expect(actor.getSnapshot().context.round).toBe(2);
    actor.send({ type: 'campaign.resume' });
    await toPromise(actor);
    expect(actor.getSnapshot().context.rigRuns).toBe(8);
  });

  it('a resume before the round ends withdraws the pending pause: the campaign never pauses (issue #18)', async () => {
    const f = fakes();
    const actor = createActor(campaignMachine.provide({ actors: f.actors as any }), { input: { campaignId: 'c1', limits: limits({ rigRuns: 8 }), startedAt: 0 } });
    const states: string[] = [];
    actor.subscribe((s) => states.push(String(s.value)));
    actor.start();
    actor.send({ type: 'campaign.pause' });
    expect(actor.getSnapshot().context.pauseRequested).toBe(true);
    actor.send({ type: 'campaign.resume' });
    expect(actor.getSnapshot().context.pauseRequested).toBe(false);
    await toPromise(actor);
    expect(states).not.toContain('paused');
    expect(actor.getSnapshot().context.rigRuns).toBe(8);
  });

  it('a second pause while paused is a no-op: after resume the campaign runs to its end without pausing again (issue #18)', async () => {
    const f = fakes();
    const actor = createActor(campaignMachine.provide({ actors: f.actors as any }), { input: { campaignId: 'c1', limits: limits({ rigRuns: 12 }), startedAt: 0 } });
    let pauses = 0;
    let last = '';
    actor.subscribe((s) => {
      if (s.value === 'paused' && last !== 'paused') pauses++;
      last = String(s.value);
    });
    actor.start();
    actor.send({ type: 'campaign.pause' });
    await new Promise<void>((resolve) => actor.subscribe((s) => s.value === 'paused' && resolve()));
    actor.send({ type: 'campaign.pause' });
    expect(actor.getSnapshot().context.pauseRequested).toBe(false);
    actor.send({ type: 'campaign.resume' });
    await toPromise(actor);
    expect(pauses).toBe(1);
    expect(actor.getSnapshot().context.rigRuns).toBe(12);
  });

  it('restores from a persisted snapshot and re-runs the current step', async () => {
    const f = fakes();
    const a1 = createActor(campaignMachine.provide({ actors: f.actors as any }), { input: { campaignId: 'c1', limits: limits({ rigRuns: 8 }), startedAt: 0 } });
    let persisted: unknown;
    a1.subscribe((s) => {
      if (s.value === 'awaitingRigs' && !persisted) persisted = a1.getPersistedSnapshot();
    });
    a1.start();
    await new Promise((r) => setTimeout(r, 20));
    a1.stop();
    expect(persisted).toBeDefined();
    const f2 = fakes();
    const a2 = createActor(campaignMachine.provide({ actors: f2.actors as any }), { snapshot: JSON.parse(JSON.stringify(persisted)) as any, input: undefined as any });
    a2.start();
    await toPromise(a2);
    expect(f2.calls[0]).toBe('awaitRigs');
    expect(a2.getSnapshot().context.rigRuns).toBe(8);
  });
});
