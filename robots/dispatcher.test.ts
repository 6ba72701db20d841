/**
 * Dispatcher behaviour over the in-memory broker: capability matching, per-rig concurrency,
 * heartbeat loss, version negotiation, cancel, idempotent dispatch, results that arrive
 * before dispatch (rejected, issue #14), retries with attempt numbers.
 *
 * Time is a fake clock shared by the dispatcher and the simulated rigs (issue #15): timeouts,
 * heartbeats and retries happen at exact simulated instants, so the tests assert *when* they
 * happen, take milliseconds of wall time and do not depend on the machine's load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../src/core/fake-clock.js';
import type { RigEvent, RigJob } from '../src/core/protocols.js';
import { createDispatcher, type DispatcherOptions } from './dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from './protocol/topics.js';
import { createSimulatedLab, type SimRigConfig } from './sim/index.js';
import { createMemoryBroker, type MemoryBroker } from './transport/memory.js';

const lab = 'unit';
const topics = topicsFor(lab);

describe('dispatcher', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  // Stopping may wait on the clock (a rig's goodbye races a sleep): keep time moving meanwhile.
  const stopOn = (clock: FakeClock, stop: () => Promise<void>) => async () => {
    let done = false;
    const p = stop().finally(() => (done = true));
    await clock.advanceUntil(() => done, 'stop', { stepMs: 100 });
    await p;
  };

  const TICK = 10;
  async function setup(rigs: SimRigConfig[], options: Partial<DispatcherOptions> = {}, broker: MemoryBroker = createMemoryBroker()) {
    const clock = createFakeClock();
    const sim = await createSimulatedLab({ transport: (o) => broker.connect(o), lab, seed: 1, rigs, clock });
    stops.push(stopOn(clock, () => sim.stop()));
    const t = await broker.connect({ clientId: 'orch' });
    const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, options: { timeoutMs: 2000, heartbeatTimeoutMs: 5000, tickMs: TICK, ...options } });
    const events: RigEvent[] = [];
    d.onEvent((e) => events.push(e));
    await d.start();
    stops.push(stopOn(clock, () => d.stop()));
    const until = (cond: () => boolean, what: string) => clock.advanceUntil(cond, what, { stepMs: TICK });
    await until(() => d.rigs().length === rigs.length, 'rigs seen');
    return { sim, d, t, events, broker, clock, until, finals: () => events.filter((e) => e.final) };
  }
  const job = (clock: FakeClock, jobId: string, o: Partial<RigJob> = {}): RigJob => ({
    jobId, campaignId: 'c', trialId: 't', attempt: 1, capability: 'characterise', params: { a: 0.5 }, deadline: new Date(clock.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION, ...o,
  });
  const at = (e: RigEvent) => Date.parse(e.at);

  it('sends each job to a rig with the capability and respects per-rig concurrency', async () => {
    const s = await setup([
      { id: 'fab', capabilities: ['fabricate'], latencyMs: { dist: 'fixed', mean: 20 } },
      { id: 'ch1', capabilities: ['characterise'], concurrency: 1, latencyMs: { dist: 'fixed', mean: 20 } },
      { id: 'ch2', capabilities: ['characterise'], concurrency: 2, latencyMs: { dist: 'fixed', mean: 20 } },
    ]);
    for (let i = 0; i < 9; i++) await s.d.dispatch(job(s.clock, `c${i}`));
    await s.d.dispatch(job(s.clock, 'f0', { capability: 'fabricate' }));
    await s.until(() => s.finals().length === 10, 'all done');
    const log = s.sim.log();
    expect(log.find((e) => e.jobId === 'f0')!.rigId).toBe('fab');
    expect(log.filter((e) => e.jobId.startsWith('c')).every((e) => e.rigId !== 'fab')).toBe(true);
    const maxOverlap = (rig: string) => {
      const xs = log.filter((e) => e.rigId === rig);
      return Math.max(...xs.map((a) => xs.filter((b) => b.startedAt <= a.startedAt && b.finishedAt! > a.startedAt).length));
    };
    expect(maxOverlap('ch1')).toBe(1);
    expect(maxOverlap('ch2')).toBe(2); // uses its second slot, never a third
  });

  it('a job nobody can do waits and fails at its deadline; a rig of another major version gets nothing', async () => {
    const broker = createMemoryBroker();
    const s = await setup([{ id: 'ch', capabilities: ['characterise'] }], {}, broker);
    const alien = await broker.connect({ clientId: 'alien' });
    await alien.publish(topics.status('v2rig'), JSON.stringify({ rigId: 'v2rig', status: 'online', protocol: '2.0', protocols: ['2.0'], capabilities: ['durability'] }), { retain: true });
    await s.until(() => s.d.rigs().length === 2, 'v2 rig seen');
    const deadline = s.clock.now() + 150;
    await s.d.dispatch(job(s.clock, 'dur', { capability: 'durability', deadline: new Date(deadline).toISOString() }));
    await s.until(() => s.finals().length === 1, 'deadline');
    expect(s.finals()[0]).toMatchObject({
      type: 'failed', origin: 'dispatcher',
      reason: expect.stringMatching(/passed with no rig to run the job: the online rigs offering durability speak no protocol version compatible with 1\.0: v2rig \(2\.0\)$/),
    });
    // Not before its deadline, and at the first tick after it.
    expect(at(s.finals()[0])).toBeGreaterThanOrEqual(deadline);
    expect(at(s.finals()[0])).toBeLessThanOrEqual(deadline + TICK);
    expect(s.broker.history.filter((m) => m.topic === topics.jobs('v2rig'))).toHaveLength(0);
  });

  it('a job queued behind a busy rig gets its full timeout from its send and does not expire for queueing (review)', async () => {
    // One rig taking 700 ms per job, a 1000-ms timeout, one attempt: the deadline the campaign
    // gives each job (timeout × maxAttempts from dispatch) passes while jobs 2 and 3 wait.
    const s = await setup([{ id: 'ch', capabilities: ['characterise'], concurrency: 1, latencyMs: { dist: 'fixed', mean: 700 } }], { timeoutMs: 1000, maxAttempts: 1 });
    for (const id of ['q1', 'q2', 'q3']) await s.d.dispatch(job(s.clock, id, { deadline: new Date(s.clock.now() + 1000).toISOString() }));
    await s.until(() => s.finals().length === 3, 'three jobs ended');
    expect(s.finals().map((e) => [e.jobId, e.type])).toEqual([['q1', 'result'], ['q2', 'result'], ['q3', 'result']]);
    // Each attempt was sent with a deadline a full timeout after its send.
    const sent = s.broker.history.filter((m) => m.topic === topics.jobs('ch')).map((m) => JSON.parse(m.payload.toString()) as RigJob);
    const started = s.sim.log().map((e) => e.startedAt);
    expect(sent.map((j) => j.jobId)).toEqual(['q1', 'q2', 'q3']);
    sent.forEach((j, i) => {
      expect(Date.parse(j.deadline) - Date.parse((j as RigJob & { sentAt: string }).sentAt)).toBe(1000);
      expect(Date.parse(j.deadline) - started[i]).toBeGreaterThanOrEqual(1000 - TICK);
    });
  });

  it('a queued job fails at its deadline only with no capable rig, saying whether none is online or which are held (review)', async () => {
    const broker = createMemoryBroker();
    const s = await setup([{ id: 'ch', capabilities: ['characterise'] }], {}, broker);
    const other = await broker.connect({ clientId: 'other' });
    await other.publish(topics.status('gone'), JSON.stringify({ rigId: 'gone', status: 'offline', protocol: '1.0', capabilities: ['fabricate'] }), { retain: true });
    await other.publish(topics.status('held'), JSON.stringify({ rigId: 'held', status: 'safety-stop', protocol: '1.0', capabilities: ['durability'] }), { retain: true });
    await s.until(() => s.d.rigs().length === 3, 'rigs seen');
    const deadline = new Date(s.clock.now() + 100).toISOString();
    for (const capability of ['fabricate', 'durability', 'xrd']) await s.d.dispatch(job(s.clock, capability, { capability, deadline }));
    await s.until(() => s.finals().length === 3, 'deadlines');
    const reason = (id: string) => s.finals().find((e) => e.jobId === id)!.reason;
    expect(reason('fabricate')).toBe(`deadline ${deadline} passed with no rig to run the job: no rig offering fabricate is online; offline: gone`);
    expect(reason('durability')).toBe(`deadline ${deadline} passed with no rig to run the job: no rig offering durability takes jobs: held (safety-stop)`);
    expect(reason('xrd')).toBe(`deadline ${deadline} passed with no rig to run the job: no rig offering xrd is online, and none has announced it`);
  });

  it('a rig that stops heartbeating is declared offline and its job retried elsewhere with attempt 2', async () => {
    const broker = createMemoryBroker();
    const s = await setup([{ id: 'good', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 10 }, heartbeatMs: 50 }], { heartbeatTimeoutMs: 200, maxAttempts: 2 }, broker);
    // A zombie: connected, announced once, then silent (no heartbeats, no events).
    const zombie = await broker.connect({ clientId: 'zombie' });
    await zombie.publish(topics.status('zombie'), JSON.stringify({ rigId: 'zombie', status: 'online', protocol: '1.0', capabilities: ['characterise'], concurrency: 1 }), { retain: true });
    await s.until(() => s.d.rigs().some((r) => r.rigId === 'zombie'), 'zombie seen');
    const announced = s.clock.now();
    await s.d.dispatch(job(s.clock, 'z', { rigId: 'zombie' }));
    await s.until(() => s.finals().length === 1, 'finished');
    expect(s.finals()[0]).toMatchObject({ type: 'result', rigId: 'good', attempt: 2 });
    const lost = s.events.find((e) => e.origin === 'dispatcher')!;
    expect(lost).toMatchObject({ rigId: 'zombie', attempt: 1, final: false, reason: expect.stringMatching(/missed heartbeats/) });
    // Declared lost once 200 ms passed without a word from it, at the first tick after that.
    expect(at(lost) - announced).toBeGreaterThan(200);
    expect(at(lost) - announced).toBeLessThanOrEqual(200 + 2 * TICK);
    // The good rig (heartbeat every 100 ms, the SDK's minimum) was never declared lost.
    expect(s.d.rigs().find((r) => r.rigId === 'good')!.status).not.toBe('offline');
    expect(s.d.rigs().find((r) => r.rigId === 'zombie')!.status).toBe('offline');
  });

  it('a rig is offline after three of its declared heartbeats when that is longer than heartbeatTimeoutMs (review)', async () => {
    const broker = createMemoryBroker();
    // A rig heartbeating every 3 s running a 5-s job, with a 1-s heartbeatTimeoutMs default.
    const s = await setup([{ id: 'slow', capabilities: ['characterise'], heartbeatMs: 3000, latencyMs: { dist: 'fixed', mean: 5000 } }], { heartbeatTimeoutMs: 1000, timeoutMs: 20_000 }, broker);
    await s.d.dispatch(job(s.clock, 'j'));
    await s.until(() => s.finals().length === 1, 'result');
    expect(s.finals()[0]).toMatchObject({ type: 'result', rigId: 'slow' });
    expect(s.events.filter((e) => e.origin === 'dispatcher')).toEqual([]);
    // A rig that declared 2-s heartbeats and fell silent is offline after 6 s, not before.
    const mute = await broker.connect({ clientId: 'mute' });
    await mute.publish(topics.status('mute'), JSON.stringify({ rigId: 'mute', status: 'online', protocol: '1.0', capabilities: ['xrd'], heartbeatMs: 2000 }), { retain: true });
    await s.until(() => s.d.rigs().some((r) => r.rigId === 'mute'), 'mute seen');
    const seen = s.clock.now();
    await s.until(() => s.d.rigs().find((r) => r.rigId === 'mute')!.status === 'offline', 'mute offline');
    expect(s.clock.now() - seen).toBeGreaterThan(6000);
    expect(s.clock.now() - seen).toBeLessThanOrEqual(6000 + 2 * TICK);
  });

  it('a declared heartbeat has a limit, and a status without one returns to the default (review of 0e10d79)', async () => {
    const broker = createMemoryBroker();
    const s = await setup([], { heartbeatTimeoutMs: 1000 }, broker);
    const mute = await broker.connect({ clientId: 'mute' });
    const status = (o: object) => mute.publish(topics.status('mute'), JSON.stringify({ rigId: 'mute', status: 'online', protocol: '1.0', capabilities: ['xrd'], ...o }), { retain: true });
    // A rig declaring hour-long heartbeats would stay online 3 h after falling silent: refused.
    const refused: string[] = [];
    await s.t.subscribe(topics.errors('orchestrator'), (_t, p) => refused.push(JSON.parse(p.toString()).reason));
    await status({ heartbeatMs: 3_600_000 });
    await s.until(() => refused.length > 0, 'status refused');
    expect(refused[0]).toMatch(/heartbeatMs/);
    expect(s.d.rigs().some((r) => r.rigId === 'mute')).toBe(false);
    // Declared 2 s, then a status without it: offline after heartbeatTimeoutMs, not 3 × 2 s.
    await status({ heartbeatMs: 2000 });
    await s.until(() => s.d.rigs().some((r) => r.rigId === 'mute'), 'mute seen');
    await status({});
    const seen = s.clock.now();
    await s.until(() => s.d.rigs().find((r) => r.rigId === 'mute')!.status === 'offline', 'mute offline');
    expect(s.clock.now() - seen).toBeLessThanOrEqual(1000 + 2 * TICK);
  });

  it('retries failed attempts up to maxAttempts on other rigs, then ends the job failed', async () => {
    const s = await setup(
      [
        { id: 'h1', capabilities: ['characterise'], faults: { hang: 1 } },
        { id: 'h2', capabilities: ['characterise'], faults: { hang: 1 } },
      ],
      { timeoutMs: 80, maxAttempts: 3 },
    );
    const sent = s.clock.now();
    await s.d.dispatch(job(s.clock, 'h'));
    await s.until(() => s.finals().length === 1, 'gave up');
    const tries = s.events.filter((e) => e.type === 'failed');
    expect(tries.map((e) => [e.attempt, e.final])).toEqual([[1, false], [2, false], [3, true]]);
    expect(new Set(tries.slice(0, 2).map((e) => e.rigId)).size).toBe(2); // the retry went to the other rig
    // Each attempt had its full 80 ms before it was declared timed out, and no more than a tick after.
    const starts = [sent, ...tries.slice(0, 2).map(at)];
    tries.forEach((e, i) => {
      expect(e.reason).toMatch(/timed out/);
      expect(at(e) - starts[i]).toBeGreaterThanOrEqual(80);
      expect(at(e) - starts[i]).toBeLessThanOrEqual(80 + 2 * TICK);
    });
    await s.until(() => s.sim.log().filter((e) => e.outcome === 'hung').length === 3, 'three hung executions');
  });

  it('dispatch is idempotent per jobId; cancel ends a running job as cancelled', async () => {
    const s = await setup([{ id: 'r', capabilities: ['characterise'], faults: { hang: 1 } }]);
    await s.d.dispatch(job(s.clock, 'x'));
    await s.d.dispatch(job(s.clock, 'x'));
    await s.until(() => s.events.some((e) => e.type === 'accepted'), 'accepted');
    await s.d.cancel('x');
    await s.until(() => s.finals().length === 1, 'cancelled');
    expect(s.finals()[0]).toMatchObject({ type: 'cancelled', rigId: 'r' });
    expect(s.broker.history.filter((m) => m.topic === topics.jobs('r'))).toHaveLength(1);
    expect(s.d.stats()).toMatchObject({ sent: 1, done: 1 });
  });

  it('a result that arrives before dispatch is rejected, not kept: the job is sent and the real rig measures it (#14)', async () => {
    const broker = createMemoryBroker();
    const s = await setup([{ id: 'r', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 20 } }], {}, broker);
    const invalid: string[] = [];
    s.d.invalid$.subscribe((m) => invalid.push(m.reason));
    const forger = await broker.connect({ clientId: 'fake-r' });
    await forger.publish(topics.events('r'), JSON.stringify({ jobId: 'old', rigId: 'r', attempt: 1, seq: 2, type: 'result', measurements: { v: 3 }, at: new Date(s.clock.now()).toISOString(), protocol: '1.0' }));
    await s.clock.advance(TICK);
    await s.d.dispatch(job(s.clock, 'old'));
    await s.until(() => s.finals().length === 1, 'the job finished');
    expect(invalid).toEqual([expect.stringMatching(/job old, which this orchestrator has not dispatched/)]);
    expect(s.finals()[0]).toMatchObject({ type: 'result', rigId: 'r' });
    expect(s.finals()[0].measurements).not.toEqual({ v: 3 });
    expect(s.broker.history.filter((m) => m.topic === topics.jobs('r'))).toHaveLength(1);
  });

  it('an event reusing the seq of a different event is rejected with a notice to its rig; a resend stays ignored (review)', async () => {
    const broker = createMemoryBroker();
    const s = await setup([{ id: 'r', capabilities: ['characterise'] }], {}, broker);
    const rig = await broker.connect({ clientId: 'naive' });
    const notices: string[] = [];
    await rig.subscribe(topics.rigErrors('naive'), (_t, p) => notices.push(JSON.parse(p.toString()).reason));
    await rig.publish(topics.status('naive'), JSON.stringify({ rigId: 'naive', status: 'online', protocol: '1.0', capabilities: ['xrd'] }), { retain: true });
    await s.until(() => s.d.rigs().some((r) => r.rigId === 'naive'), 'naive seen');
    await s.d.dispatch(job(s.clock, 'n', { capability: 'xrd' }));
    await s.until(() => s.broker.history.some((m) => m.topic === topics.jobs('naive')), 'job sent');
    const ev = (seq: number, type: string, extra: object = {}) =>
      rig.publish(topics.events('naive'), JSON.stringify({ jobId: 'n', rigId: 'naive', attempt: 1, seq, type, at: new Date(s.clock.now()).toISOString(), protocol: '1.0', ...extra }));
    await ev(1, 'accepted');
    await ev(1, 'result', { measurements: { v: 1 } });
    await s.clock.advance(TICK);
    await ev(1, 'accepted'); // a resend, stamped anew: a true duplicate
    await ev(2, 'result', { measurements: { v: 2 } });
    await ev(2, 'result', { measurements: { v: 3 } });
    await s.until(() => s.finals().length === 1 && notices.length === 2, 'result and notices');
    expect(notices).toEqual([
      expect.stringMatching(/^result event seq 1 of job n attempt 1 reuses the seq of its accepted event, so it is ignored: number the events of an attempt 1, 2, 3/),
      expect.stringMatching(/^result event seq 2 of job n attempt 1 reuses the seq of another result event with different content/),
    ]);
    expect(s.finals()[0]).toMatchObject({ type: 'result', measurements: { v: 2 } });
    expect(s.d.stats().duplicatesSuppressed).toBe(1);
  });

  it('with signing on, an oversized payload is rejected for its size, before any signature check (security review, finding 2)', async () => {
    const broker = createMemoryBroker();
    const clock = createFakeClock();
    const t = await broker.connect({ clientId: 'orch' });
    const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, keys: new Map([['ch', Buffer.from('ch-key-0123456789abcdef')]]), options: { timeoutMs: 2000, tickMs: TICK } });
    const reasons: string[] = [];
    d.invalid$.subscribe((m) => reasons.push(m.reason));
    await d.start();
    stops.push(stopOn(clock, () => d.stop()));
    const other = await broker.connect({ clientId: 'big' });
    await other.publish(topics.events('ch'), Buffer.alloc(70_000, 0x20));
    await other.publish(topics.status('ch'), Buffer.alloc(70_000, 0x20));
    await clock.advanceUntil(() => reasons.length === 2, 'two rejections', { stepMs: TICK });
    expect(reasons[0]).toMatch(/^event payload of 70000 bytes exceeds the limit of 65536 bytes/);
    expect(reasons[1]).toMatch(/^status payload of 70000 bytes exceeds the limit/);
  });

  it('with signing on, a flood of forgeries is sampled alike whatever their size: oversized ones too (diff review 2026-12-07, item 1)', async () => {
    // docs/security.md: "a forger cannot grow the ledger". Oversized payloads went to the plain
    // reject and were all recorded, while small forgeries were rate-limited.
    for (const [kind, size] of [['event', 100], ['event', 66_000], ['status', 66_000]] as const) {
      const broker = createMemoryBroker();
      const clock = createFakeClock(); // never advanced here: the bucket does not refill
      const t = await broker.connect({ clientId: 'orch' });
      const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, keys: new Map([['ch', Buffer.from('ch-key-0123456789abcdef')]]), options: { timeoutMs: 2000, tickMs: TICK, unboundSample: { burst: 10, perSecond: 5 } } });
      const reasons: string[] = [];
      d.invalid$.subscribe((m) => reasons.push(m.reason));
      await d.start();
      stops.push(stopOn(clock, () => d.stop()));
      const forger = await broker.connect({ clientId: `forger-${kind}-${size}` });
      const topic = kind === 'event' ? topics.events('ch') : topics.status('ch');
      for (let i = 0; i < 300; i++) await forger.publish(topic, Buffer.alloc(size, 0x20));
      // The memory broker delivers on microtasks: a macrotask turn has them all handled.
      for (let i = 0; i < 100 && d.stats().unbound < 300; i++) await new Promise((r) => setImmediate(r));
      const label = `${kind} of ${size} bytes`;
      expect(d.stats().unbound, label).toBe(300);
      expect(reasons.length, label).toBe(10);
      expect(d.stats().unboundDropped, label).toBe(290);
      expect(d.stats().invalid, label).toBe(10);
      if (size > 65_536) expect(reasons[0], label).toMatch(new RegExp(`^${kind} payload of ${size} bytes exceeds the limit of 65536 bytes`));
    }
  });
});
