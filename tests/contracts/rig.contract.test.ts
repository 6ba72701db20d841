/**
 * One contract for every Rig (DESIGN.md style rule 11; issue #15): the runtime's tests run on
 * `fakeRig`, so the fake must keep the promises the real dispatcher keeps, or those tests
 * prove nothing. Run against the dispatcher (in-memory broker, simulated rigs, fake clock) and
 * against fakeRig (tests/fakes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../robots/dispatcher.js';
import { PROTOCOL_VERSION } from '../../robots/protocol/topics.js';
import { createSimulatedLab } from '../../robots/sim/index.js';
import { waitFor } from '../../robots/testing/brokers.js';
import { createMemoryBroker } from '../../robots/transport/memory.js';
import { createFakeClock } from '../../src/core/fake-clock.js';
import type { Rig, RigEvent, RigJob } from '../../src/core/protocols.js';
import { fakeRig } from '../fakes/index.js';

interface RigEnv {
  rig: Rig;
  /** A capability whose jobs finish with a result. */
  works: string;
  /** A capability whose jobs are accepted and then never finish (until cancelled or timed out). */
  hangs: string;
  now(): number;
  /** Lets the implementation's time pass until `cond` holds. */
  until(cond: () => boolean, what: string): Promise<void>;
  /** Lets `ms` of the implementation's time pass (for events that should not come). */
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}

const TERMINAL = new Set(['result', 'failed', 'rejected', 'cancelled']);

const impls: Array<[string, () => Promise<RigEnv>]> = [
  [
    'dispatcher (memory broker, simulated rigs, fake clock)',
    async () => {
      const clock = createFakeClock();
      const broker = createMemoryBroker();
      const lab = 'contract';
      const sim = await createSimulatedLab({
        transport: (o) => broker.connect(o), lab, seed: 1, clock,
        rigs: [
          { id: 'ok', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 30 } },
          { id: 'stuck', capabilities: ['durability'], faults: { hang: 1 } },
        ],
      });
      const d = createDispatcher({ transport: await broker.connect({ clientId: 'orch' }), lab, campaignId: 'c', clock, options: { timeoutMs: 60_000, heartbeatTimeoutMs: 120_000, tickMs: 10 } });
      await d.start();
      const until = (cond: () => boolean, what: string) => clock.advanceUntil(cond, what, { stepMs: 10 });
      await until(() => d.rigs().length === 2, 'rigs seen');
      return {
        rig: d, works: 'characterise', hangs: 'durability', now: clock.now, until, pass: (ms) => clock.advance(ms),
        async close() {
          let done = false;
          const stopped = Promise.all([d.stop(), sim.stop()]).finally(() => (done = true));
          await clock.advanceUntil(() => done, 'stop', { stepMs: 100 });
          await stopped;
        },
      };
    },
  ],
  [
    'fakeRig (tests/fakes)',
    async () => {
      const rig = fakeRig((job, emit) => {
        emit({ type: 'accepted' });
        if (job.capability === 'make') return; // hangs
        emit({ type: 'result', measurements: { y: Number(job.params.x) }, final: true });
      });
      return { rig, works: 'measure', hangs: 'make', now: Date.now, until: (cond, what) => waitFor(cond, what), pass: (ms) => new Promise((r) => setTimeout(r, ms)), close: async () => undefined };
    },
  ],
];

describe.each(impls)('Rig contract: %s', (_name, make) => {
  let env: RigEnv;
  let events: RigEvent[];
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  async function setup() {
    env = await make();
    closers.push(() => env.close());
    events = [];
    return env;
  }
  let n = 0;
  const job = (capability: string, o: Partial<RigJob> = {}): RigJob => ({
    jobId: `j${++n}`, campaignId: 'c', trialId: `t${n}`, attempt: 1, capability, params: { x: 0.25, a: 0.5 },
    deadline: new Date(env.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION, ...o,
  });
  const of = (id: string) => events.filter((e) => e.jobId === id);
  const finals = (id: string) => of(id).filter((e) => e.final);

  it('rigs() lists each rig with its capabilities and a status', async () => {
    await setup();
    const rigs = env.rig.rigs();
    expect(rigs.length).toBeGreaterThan(0);
    for (const r of rigs) {
      expect(r.rigId).toMatch(/\S/);
      expect(['online', 'offline', 'busy', 'paused', 'safety-stop']).toContain(r.status);
    }
    expect(rigs.flatMap((r) => r.capabilities)).toEqual(expect.arrayContaining([env.works, env.hangs]));
  });

  it('a job ends with exactly one final event, a result with finite measurements; every event names the job, a rig and its sequence', async () => {
    await setup();
    const j = job(env.works);
    const unsubscribe = env.rig.onEvent((e) => events.push(e));
    await env.rig.dispatch(j);
    await env.until(() => finals(j.jobId).length > 0, 'the final event');
    await env.pass(200);
    unsubscribe();
    const mine = of(j.jobId);
    expect(finals(j.jobId)).toHaveLength(1);
    const final = finals(j.jobId)[0];
    expect(final.type).toBe('result');
    expect(mine.indexOf(final)).toBe(mine.length - 1); // nothing after the end
    expect(Object.keys(final.measurements ?? {}).length).toBeGreaterThan(0);
    expect(Object.values(final.measurements!).every(Number.isFinite)).toBe(true);
    for (const e of mine) {
      expect(e.rigId).toMatch(/\S/);
      expect(Number.isInteger(e.seq) && e.seq >= 1).toBe(true);
      expect(Number.isFinite(Date.parse(e.at))).toBe(true);
    }
    const seqs = mine.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // in order, per attempt (one here)
  });

  it('onSent names the rig and attempt of each send before any event of that attempt (what a resumed process re-sends to)', async () => {
    await setup();
    const order: string[] = [];
    const sent: Array<{ jobId: string; attempt: number; rigId: string }> = [];
    expect(env.rig.onSent).toBeTypeOf('function');
    env.rig.onSent!((s) => {
      sent.push(s);
      order.push(`sent:${s.jobId}`);
    });
    env.rig.onEvent((e) => {
      events.push(e);
      order.push(`event:${e.jobId}`);
    });
    const j = job(env.works);
    await env.rig.dispatch(j);
    await env.until(() => finals(j.jobId).length > 0, 'the final event');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ jobId: j.jobId, attempt: 1 });
    expect(env.rig.rigs().map((r) => r.rigId)).toContain(sent[0].rigId);
    expect(finals(j.jobId)[0].rigId).toBe(sent[0].rigId);
    expect(order.filter((o) => o.endsWith(j.jobId))[0]).toBe(`sent:${j.jobId}`);
  });

  it('dispatching a jobId again runs nothing new; once the job ended, its final event is delivered again', async () => {
    await setup();
    env.rig.onEvent((e) => events.push(e));
    const j = job(env.works);
    await env.rig.dispatch(j);
    await env.rig.dispatch(j); // while it runs
    await env.until(() => finals(j.jobId).length > 0, 'the final event');
    const accepted = of(j.jobId).filter((e) => e.type === 'accepted').length;
    expect(accepted).toBe(1);
    await env.rig.dispatch(j); // after it ended (a resumed orchestrator re-sends)
    await env.until(() => finals(j.jobId).length === 2, 'the final event again');
    expect(finals(j.jobId)[1]).toMatchObject({ type: 'result', measurements: finals(j.jobId)[0].measurements });
    expect(of(j.jobId).filter((e) => e.type === 'accepted')).toHaveLength(accepted);
  });

  it('cancel ends a running job with one final cancelled event, and nothing follows', async () => {
    await setup();
    env.rig.onEvent((e) => events.push(e));
    const j = job(env.hangs);
    await env.rig.dispatch(j);
    await env.until(() => of(j.jobId).some((e) => e.type === 'accepted'), 'accepted');
    await env.rig.cancel(j.jobId);
    await env.until(() => finals(j.jobId).length > 0, 'the cancelled event');
    await env.rig.cancel(j.jobId); // cancelling an ended job is a no-op
    await env.pass(200);
    expect(finals(j.jobId)).toHaveLength(1);
    expect(finals(j.jobId)[0].type).toBe('cancelled');
    expect(of(j.jobId).filter((e) => TERMINAL.has(e.type))).toHaveLength(1);
  });

  it('a job for a capability no rig offers ends failed, naming the capability, by its deadline', async () => {
    await setup();
    env.rig.onEvent((e) => events.push(e));
    const deadline = env.now() + 500;
    const j = job('teleport', { deadline: new Date(deadline).toISOString() });
    await env.rig.dispatch(j);
    await env.until(() => finals(j.jobId).length > 0, 'the failure');
    expect(finals(j.jobId)[0]).toMatchObject({ type: 'failed', reason: expect.stringMatching(/teleport/) });
    expect(Date.parse(finals(j.jobId)[0].at)).toBeLessThanOrEqual(deadline + 50); // the dispatcher's tick
  });

  it('the function onEvent returns unsubscribes the handler', async () => {
    await setup();
    const seen: RigEvent[] = [];
    const all: RigEvent[] = [];
    const off = env.rig.onEvent((e) => seen.push(e));
    env.rig.onEvent((e) => all.push(e));
    off();
    const j = job(env.works);
    await env.rig.dispatch(j);
    await env.until(() => all.some((e) => e.jobId === j.jobId && e.final), 'the final event');
    expect(seen).toHaveLength(0);
  });
});
