/**
 * Issue #14 probes against the dispatcher alone (in-memory broker, fake clock): forged
 * measurements, a flood of events for unknown job ids, and the orchestrator's own event-loop
 * stalls counted against rigs. Each test failed before the fix it names. The same attacks over
 * real brokers (aedes with credentials and ACL, Mosquitto) are in ./attacks.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../../src/core/fake-clock.js';
import type { RigEvent, RigJob } from '../../src/core/protocols.js';
import { createDispatcher, type DispatcherOptions, type InvalidMessage } from '../../robots/dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from '../../robots/protocol/topics.js';
import { createSimulatedLab, type SimRigConfig } from '../../robots/sim/index.js';
import { createMemoryBroker, type MemoryBroker } from '../../robots/transport/memory.js';

const lab = 'sec';
const topics = topicsFor(lab);
const TICK = 10;

describe('dispatcher security and liveness (#14)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  /** A fake clock whose time can also jump without firing timers: an event loop that was blocked. */
  function stallableClock(): FakeClock & { stall(ms: number): void } {
    const base = createFakeClock();
    let offset = 0;
    return { ...base, now: () => base.now() + offset, stall: (ms: number) => void (offset += ms) };
  }

  async function setup(rigs: SimRigConfig[], options: Partial<DispatcherOptions> = {}, keys?: ReadonlyMap<string, Uint8Array>) {
    const broker: MemoryBroker = createMemoryBroker();
    const clock = stallableClock();
    const keepTime = (stop: () => Promise<void>) => async () => {
      let done = false;
      const p = stop().finally(() => (done = true));
      await clock.advanceUntil(() => done, 'stop', { stepMs: 100 });
      await p;
    };
    if (rigs.length > 0) {
      const sim = await createSimulatedLab({ transport: (o) => broker.connect(o), lab, seed: 3, rigs, clock, signingKeys: keys });
      stops.push(keepTime(() => sim.stop()));
    }
    const t = await broker.connect({ clientId: 'orch' });
    const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, keys, options: { timeoutMs: 60_000, heartbeatTimeoutMs: 5000, tickMs: TICK, ...options } });
    const events: RigEvent[] = [];
    const invalid: InvalidMessage[] = [];
    d.onEvent((e) => events.push(e));
    d.invalid$.subscribe((m) => invalid.push(m));
    await d.start();
    stops.push(keepTime(() => d.stop()));
    const until = (cond: () => boolean, what: string) => clock.advanceUntil(cond, what, { stepMs: TICK });
    await until(() => d.rigs().length === rigs.filter((r) => !keys || keys.has(r.id)).length, 'rigs seen');
    const job = (jobId: string, o: Partial<RigJob> = {}): RigJob => ({
      jobId, campaignId: 'c', trialId: jobId, attempt: 1, capability: 'characterise', params: { a: 0.5 }, deadline: new Date(clock.now() + 600_000).toISOString(), protocol: PROTOCOL_VERSION, ...o,
    });
    const result = (jobId: string, rigId: string, attempt: number, seq = 2) =>
      JSON.stringify({ jobId, rigId, attempt, seq, type: 'result', measurements: { v: 1e9 }, feasible: true, at: new Date(clock.now()).toISOString(), protocol: PROTOCOL_VERSION });
    return { broker, clock, d, events, invalid, until, job, result, finals: () => events.filter((e) => e.final) };
  }

  it('a made-up rig and a real rig guessing job ids forge nothing; each forgery is rejected with a reason and a notice on the rig’s errors topic', async () => {
    // Hanging rigs keep every job open, so a forged result would have nothing to compete with.
    const s = await setup([
      { id: 'fab', capabilities: ['fabricate'], faults: { hang: 1 } },
      { id: 'ch', capabilities: ['characterise'], concurrency: 4, faults: { hang: 1 } },
    ]);
    const ids = ['t0-s1', 't1-s1', 't2-s1', 't3-s1'];
    for (const id of ids) await s.d.dispatch(s.job(id));
    await s.d.dispatch(s.job('t0-s0', { capability: 'fabricate' }));
    await s.until(() => s.events.filter((e) => e.type === 'accepted').length === 5, 'all five accepted');

    const evil = await s.broker.connect({ clientId: 'evil' }); // never announced, no capability
    const fab = await s.broker.connect({ clientId: 'fab-own-credential' }); // rig fab's own topic
    let forged = 0;
    for (const id of [...ids, 't0-s0', 't9-s1']) {
      for (const attempt of [1, 2]) {
        await evil.publish(topics.events('evil'), s.result(id, 'evil', attempt));
        forged++;
      }
    }
    // fab may do fabricate only, and was sent t0-s0 only: every characterise job is out of reach.
    for (const id of [...ids, 't9-s1']) {
      await fab.publish(topics.events('fab'), s.result(id, 'fab', 1));
      forged++;
    }
    await s.clock.advance(TICK);

    expect(s.finals()).toEqual([]); // forged count: 0
    expect(s.events.filter((e) => e.type === 'result')).toEqual([]);
    expect(s.invalid).toHaveLength(forged);
    expect(s.invalid.every((m) => /has not dispatched|was not sent that attempt/.test(m.reason))).toBe(true);
    expect(s.invalid.filter((m) => m.jobId === 't9-s1').every((m) => /has not dispatched/.test(m.reason))).toBe(true);
    const notices = (rig: string) => s.broker.history.filter((m) => m.topic === topics.rigErrors(rig)).length;
    expect(notices('evil')).toBe(12);
    expect(notices('fab')).toBe(5);
    expect(s.d.stats()).toMatchObject({ unbound: forged, unboundDropped: 0, done: 0 });
  });

  it('a flood of events for unknown job ids holds nothing and records a bounded, rate-limited sample', async () => {
    const s = await setup([], { unboundSample: { burst: 20, perSecond: 2 } });
    const flood = await s.broker.connect({ clientId: 'flood' });
    const pad = 'x'.repeat(60_000);
    const ev = (i: number) => JSON.stringify({ jobId: `ghost-${i}`, rigId: 'r', attempt: 1, seq: 1, type: 'progress', progress: 0.5, padding: pad, at: new Date(s.clock.now()).toISOString(), protocol: PROTOCOL_VERSION });
    for (let i = 0; i < 2000; i++) await flood.publish(topics.events('r'), ev(i));
    await s.clock.advance(TICK);
    expect(s.invalid).toHaveLength(20); // the burst; the clock has not moved
    expect(s.d.stats()).toMatchObject({ unbound: 2000, unboundDropped: 1980, active: 0, queued: 0 });
    // Ten seconds later the bucket holds 20 again; the first record says what was dropped.
    await s.clock.advance(10_000);
    for (let i = 0; i < 100; i++) await flood.publish(topics.events('r'), ev(i));
    await s.clock.advance(TICK);
    expect(s.invalid).toHaveLength(40);
    expect(s.invalid[20].reason).toMatch(/1980 more such events were dropped unrecorded/);
    expect(s.invalid.every((m) => m.excerpt.length <= 120)).toBe(true);
    // Nothing of the flood completes a job dispatched afterwards under one of its ids.
    await s.d.dispatch(s.job('ghost-1'));
    expect(s.finals()).toEqual([]);
  });

  it('a tick delayed by the orchestrator’s own stall does not declare a heartbeating rig offline; its result is kept', async () => {
    const s = await setup([], { heartbeatTimeoutMs: 1000, timeoutMs: 1200 });
    const rig = await s.broker.connect({ clientId: 'rig-r' });
    const status = () => JSON.stringify({ rigId: 'r', status: 'online', protocol: PROTOCOL_VERSION, capabilities: ['characterise'], at: new Date(s.clock.now()).toISOString() });
    await rig.publish(topics.status('r'), status(), { retain: true });
    await s.until(() => s.d.rigs().length === 1, 'rig seen');
    await s.d.dispatch(s.job('j'));
    await s.until(() => s.broker.history.some((m) => m.topic === topics.jobs('r')), 'job sent');
    // The loop blocks for 1.5 s (longer than the heartbeat timeout and the attempt's timeout);
    // the rig's heartbeat and its result arrive meanwhile and wait in the socket. Timers run
    // first when the loop frees up: the tick fires before the messages are read.
    s.clock.stall(1500);
    await s.clock.advance(TICK);
    await rig.publish(topics.status('r'), status(), { retain: true });
    await rig.publish(topics.events('r'), s.result('j', 'r', 1));
    await s.clock.advance(TICK);
    await s.clock.advance(TICK);
    expect(s.events.filter((e) => e.origin === 'dispatcher')).toEqual([]);
    expect(s.finals()).toEqual([expect.objectContaining({ type: 'result', rigId: 'r', attempt: 1, measurements: { v: 1e9 } })]);
    expect(s.d.rigs()[0].status).toBe('online');
    expect(s.d.stats().stalledTicks).toBe(1);
  });

  it('a loop that is late on every tick still judges: a silent rig goes offline on the second late tick', async () => {
    const s = await setup([], { heartbeatTimeoutMs: 1000 });
    const rig = await s.broker.connect({ clientId: 'rig-q' });
    await rig.publish(topics.status('q'), JSON.stringify({ rigId: 'q', status: 'online', protocol: PROTOCOL_VERSION, capabilities: ['characterise'] }), { retain: true });
    await s.until(() => s.d.rigs().length === 1, 'rig seen');
    s.clock.stall(1500);
    await s.clock.advance(TICK);
    expect(s.d.rigs()[0].status).toBe('online');
    s.clock.stall(1500);
    await s.clock.advance(TICK);
    expect(s.d.rigs()[0].status).toBe('offline');
  });
  it('with signing on, a forger who knows the job id and attempt cannot report as the rig it was sent to', async () => {
    // The one attack the broker's ACL must stop and an open broker cannot: publishing on the
    // assigned rig's own topic. Signed rig messages (opt-in) stop it there too.
    const keys = new Map([['ch', Buffer.from('ch-key-0123456789abcdef')]]);
    const s = await setup(
      [
        { id: 'ch', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 500 } },
        { id: 'nokey', capabilities: ['characterise'] },
      ],
      {},
      keys,
    );
    expect(s.d.rigs().map((r) => r.rigId)).toEqual(['ch']); // a rig without a key is not heard
    await s.d.dispatch(s.job('t0-s1'));
    await s.until(() => s.events.some((e) => e.type === 'accepted'), 'accepted');
    const forger = await s.broker.connect({ clientId: 'forger' });
    await forger.publish(topics.events('ch'), s.result('t0-s1', 'ch', 1));
    await forger.publish(topics.events('ch'), s.result('t0-s1', 'ch', 1, 3).replace(/}$/, ',"sig":"' + '0'.repeat(64) + '"}'));
    await s.clock.advance(TICK);
    expect(s.finals()).toEqual([]);
    expect(s.invalid.filter((m) => m.rigId === 'ch').map((m) => m.reason.split(':')[0])).toEqual(['unsigned', 'bad signature']);
    await s.until(() => s.finals().length === 1, 'the real result');
    expect(s.finals()[0]).toMatchObject({ type: 'result', rigId: 'ch' });
    expect(s.finals()[0].measurements!.v).toBeUndefined();
    // An empty status (a cleared retained one) carries no signature: it cannot remove the rig.
    await forger.publish(topics.status('ch'), '');
    await s.clock.advance(TICK);
    expect(s.d.rigs().map((r) => r.rigId)).toEqual(['ch']);
    expect(s.invalid.at(-1)?.reason).toMatch(/empty status for rig ch is unsigned/);
  });
  it('a flood of made-up rigs cannot grow the registry beyond maxRigs; offline idle rigs make room', async () => {
    const s = await setup([], { maxRigs: 5, heartbeatTimeoutMs: 1000 });
    const fake = await s.broker.connect({ clientId: 'fake' });
    const announce = (id: string) => fake.publish(topics.status(id), JSON.stringify({ rigId: id, status: 'online', protocol: PROTOCOL_VERSION, capabilities: ['characterise'] }));
    for (let i = 0; i < 50; i++) await announce(`ghost${i}`);
    await s.clock.advance(TICK);
    expect(s.d.rigs()).toHaveLength(5);
    expect(s.invalid.filter((m) => /registry is full/.test(m.reason))).toHaveLength(45);
    // The ghosts fall silent, go offline, and a real rig then finds room.
    await s.clock.advance(1500);
    await announce('real');
    await s.clock.advance(TICK);
    expect(s.d.rigs().map((r) => r.rigId)).toContain('real');
    expect(s.d.rigs()).toHaveLength(5);
  });
});
