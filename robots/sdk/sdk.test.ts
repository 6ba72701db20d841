/**
 * Rig SDK behaviour over the in-memory broker: lifecycle, idempotency, admin commands,
 * graceful shutdown. (The same code over real brokers: ../rig-protocol.integration.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock, type Clock, type RigEvent, type RigJob } from '../../src/core/protocols.js';
import { PROTOCOL_VERSION, shortClientId, topicsFor } from '../protocol/topics.js';
import { startMosquitto, uniq, waitFor } from '../testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../testing/services.js';
import { connectMqtt } from '../transport/mqtt.js';
import { createMemoryBroker, type MemoryBroker } from '../transport/memory.js';
import type { MqttTransport } from '../transport/mqtt.js';
import { createRig, MAX_MEASUREMENT_NAME, MAX_MEASUREMENTS, MAX_REMEMBERED, type RigHandle, type RigHandler } from './index.js';

const lab = 'sdk';
const topics = topicsFor(lab);

describe('rig SDK', () => {
  let broker: MemoryBroker;
  let ctl: MqttTransport;
  let events: RigEvent[];
  const rigs: RigHandle[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const r of rigs.splice(0)) await r.stop({ graceMs: 0 });
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(handle: RigHandler, o: { concurrency?: number; stateDir?: string; capabilities?: string[]; onProblem?: (m: string) => void; clock?: Clock } = {}) {
    broker ??= createMemoryBroker();
    if (!ctl) {
      ctl = await broker.connect({ clientId: 'ctl' });
      events = [];
      await ctl.subscribe(topics.allEvents, (_t, p) => events.push(JSON.parse(p.toString())));
    }
    const rig = createRig({ id: 'r1', lab, capabilities: o.capabilities ?? ['fabricate'], clock: o.clock, concurrency: o.concurrency, stateDir: o.stateDir, onProblem: o.onProblem, broker: (c) => broker.connect(c), handle });
    rigs.push(rig);
    await rig.start();
    return rig;
  }
  const job = (jobId: string, o: Partial<RigJob> = {}): RigJob => ({
    jobId, campaignId: 'c', trialId: 't', attempt: 1, capability: 'fabricate', params: { x: 1 }, deadline: new Date(Date.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION, ...o,
  });
  const send = (j: RigJob) => ctl.publish(topics.jobs('r1'), JSON.stringify(j), { qos: 1 });
  const admin = (command: string, o: object = {}) => ctl.publish(topics.admin('r1'), JSON.stringify({ command, commandId: `${command}-${Math.random()}`, at: new Date().toISOString(), protocol: PROTOCOL_VERSION, ...o }));
  const of = (jobId: string) => events.filter((e) => e.jobId === jobId);
  const terminal = (jobId: string) => of(jobId).find((e) => ['result', 'failed', 'rejected', 'cancelled'].includes(e.type));

  it('a progress refused by the outbound check spends no seq: the stream keeps no gap (rig-protocol.md §3; review of 0e10d79)', async () => {
    let refused = '';
    await start(async (_j, report) => {
      const tooMany = Object.fromEntries(Array.from({ length: MAX_MEASUREMENTS + 1 }, (_, i) => [`m${i}`, i]));
      await report(0.3, undefined, tooMany).catch((e: Error) => (refused = e.message));
      await report(0.6);
      return { measurements: { y: 2 }, feasible: true };
    });
    await send(job('g'));
    await waitFor(() => !!terminal('g'), 'result');
    expect(refused).not.toBe('');
    expect(of('g').map((e) => [e.type, e.seq])).toEqual([['accepted', 1], ['progress', 2], ['result', 3]]);
  });

  it('reads the most measurements from the event schema', () => {
    expect(MAX_MEASUREMENTS).toBe(256);
  });

  it('publishes retained status with a Last Will that marks it offline when it drops', async () => {
    broker = createMemoryBroker();
    ctl = undefined as never;
    const rig = await start(async () => ({ v: 1 }));
    const status = JSON.parse(broker.retained(topics.status('r1'))!.toString());
    expect(status).toMatchObject({ rigId: 'r1', status: 'online', capabilities: ['fabricate'], protocols: ['1.0'] });
    await rig.crash();
    expect(JSON.parse(broker.retained(topics.status('r1'))!.toString()).status).toBe('offline');
  });

  it('runs a job once even when it is delivered twice, and answers the repeat with the stored result', async () => {
    let runs = 0;
    await start(async (_j, report) => {
      runs++;
      await report(0.5);
      return { measurements: { y: 2 }, feasible: true };
    });
    await send(job('a'));
    await waitFor(() => !!terminal('a'), 'result');
    await send(job('a'));
    await waitFor(() => of('a').filter((e) => e.type === 'result').length === 2, 'replayed result');
    expect(runs).toBe(1);
    const results = of('a').filter((e) => e.type === 'result');
    expect(results[1]).toEqual(results[0]);
    expect(of('a').map((e) => e.seq)).toEqual([1, 2, 3, 3]);
    // a new attempt is a new execution
    await send(job('a', { attempt: 2 }));
    await waitFor(() => of('a').some((e) => e.attempt === 2 && e.type === 'result'), 'attempt 2');
    expect(runs).toBe(2);
  });

  it('with a state dir, a restarted rig replays finished jobs instead of re-running them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigstate-'));
    dirs.push(dir);
    let runs = 0;
    const h: RigHandler = async () => ({ v: ++runs });
    const r1 = await start(h, { stateDir: dir });
    await send(job('p'));
    await waitFor(() => !!terminal('p'), 'result');
    await r1.stop();
    rigs.splice(rigs.indexOf(r1), 1);
    await start(h, { stateDir: dir });
    await send(job('p'));
    await waitFor(() => of('p').filter((e) => e.type === 'result').length === 2, 'replay after restart');
    expect(runs).toBe(1);
  });

  it('rejects unknown capabilities, other major protocol versions and passed deadlines; reports handler failures', async () => {
    await start(async (j) => {
      if (j.params.x === 0) throw new Error('furnace over temperature');
      if (j.params.x === 2) return { y: Number.NaN };
      return { y: 1 };
    });
    await send(job('cap', { capability: 'durability' }));
    await send(job('ver', { protocol: '2.0' }));
    await send(job('late', { deadline: new Date(Date.now() - 1000).toISOString() }));
    await send(job('boom', { params: { x: 0 } }));
    await send(job('nan', { params: { x: 2 } }));
    await waitFor(() => ['cap', 'ver', 'late', 'boom', 'nan'].every((id) => !!terminal(id)), 'five terminal events');
    expect(terminal('cap')).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/capability durability not offered/) });
    expect(terminal('ver')).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/unsupported protocol 2.0/) });
    expect(terminal('late')).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/deadline .* has passed/) });
    expect(terminal('boom')).toMatchObject({ type: 'failed', reason: 'handler failed: furnace over temperature' });
    expect(terminal('nan')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/non-finite measurement y=NaN/) });
  });

  it('a handler result that cannot be sent (undefined, null, > 256 measurements, non-boolean feasible) fails the job and the rig lives on (review)', async () => {
    const problems: string[] = [];
    const returns: Record<string, unknown> = {
      undef: undefined,
      nul: null,
      many: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`m${i}`, i])),
      feas: { measurements: { y: 1 }, feasible: 'yes' },
      arr: { measurements: [1, 2] },
    };
    await start(async (j) => (j.jobId in returns ? returns[j.jobId] : { y: 1 }) as never, { onProblem: (m) => problems.push(m) });
    for (const id of Object.keys(returns)) await send(job(id));
    await waitFor(() => Object.keys(returns).every((id) => !!terminal(id)), 'terminal events');
    expect(terminal('undef')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/handler returned undefined; return measurements .* or \{ measurements: .*feasible\?: boolean \}/) });
    expect(terminal('nul')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/handler returned null; return measurements/) });
    expect(terminal('many')).toMatchObject({ type: 'failed', reason: 'handler returned 300 measurements; a result carries at most 256' });
    expect(terminal('feas')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/feasible: a string "yes"; feasible must be true, false or left out/) });
    expect(terminal('arr')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/measurements that are an array/) });
    for (const id of Object.keys(returns)) expect(problems.some((m) => m.startsWith(`job ${id}: handler returned`))).toBe(true);
    // The process and the rig live on: the next job is measured.
    await send(job('after'));
    await waitFor(() => !!terminal('after'), 'next job');
    expect(terminal('after')).toMatchObject({ type: 'result', measurements: { y: 1 } });
  });

  it('a rig whose clock runs ahead says so when it rejects a job for its deadline (review)', async () => {
    const problems: string[] = [];
    const hourAhead: Clock = { ...systemClock, now: () => Date.now() + 3_600_000 };
    await start(async () => ({ y: 1 }), { clock: hourAhead, onProblem: (m) => problems.push(m) });
    await send({ ...job('skewed'), sentAt: new Date().toISOString() } as RigJob);
    await send(job('unsent'));
    await waitFor(() => !!terminal('skewed') && !!terminal('unsent'), 'rejections');
    const ahead = /this rig's clock is ahead by up to (\d+) ms: check its time synchronisation \(NTP\)$/;
    expect(terminal('skewed')).toMatchObject({ type: 'rejected', reason: expect.stringMatching(/^deadline .* has passed by this rig's clock \(.*\); the job was sent at /) });
    expect(Number(ahead.exec(terminal('skewed')!.reason!)![1])).toBeGreaterThanOrEqual(3_600_000);
    // Without the send time (an older orchestrator): still a hint at the clock.
    expect(terminal('unsent')!.reason).toMatch(/if the job arrived promptly, this rig's clock is ahead of the orchestrator's: check its time synchronisation/);
    expect(problems).toEqual([expect.stringMatching(/^job skewed: deadline .* ahead by up to/), expect.stringMatching(/^job unsent: deadline .* if the job arrived promptly/)]);
  });

  it('pause holds queued jobs, resume runs them; cancel ends queued and running jobs', async () => {
    const started: string[] = [];
    await start(async (j, _r, { signal }) => {
      started.push(j.jobId);
      if (j.jobId === 'slow') await new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error('stopped'))));
      return { v: 1 };
    });
    await admin('pause');
    await send(job('q1'));
    await waitFor(() => of('q1').some((e) => e.type === 'accepted'), 'accepted while paused');
    await new Promise((r) => setTimeout(r, 30));
    expect(started).toEqual([]);
    await admin('cancel', { jobId: 'q1' });
    await waitFor(() => terminal('q1')?.type === 'cancelled', 'queued job cancelled');
    await admin('resume');
    await send(job('slow'));
    await waitFor(() => started.includes('slow'), 'slow started');
    await admin('cancel', { jobId: 'slow' });
    await waitFor(() => terminal('slow')?.type === 'cancelled', 'running job cancelled');
    // a cancel that arrives before its job: the job is answered as cancelled, not run
    await admin('cancel', { jobId: 'early' });
    await send(job('early'));
    await waitFor(() => terminal('early')?.type === 'cancelled', 'early cancel');
    expect(started).toEqual(['slow']);
  });

  it('safety stop aborts running work and refuses new jobs until resumed', async () => {
    await start(async (_j, _r, { signal }) => new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error(String(signal.reason))))));
    await send(job('run'));
    await waitFor(() => of('run').some((e) => e.type === 'accepted'), 'accepted');
    await admin('safety-stop', { reason: 'smoke detected' });
    await waitFor(() => !!terminal('run'), 'aborted');
    expect(terminal('run')).toMatchObject({ type: 'failed', reason: 'safety stop: smoke detected' });
    expect(JSON.parse(broker.retained(topics.status('r1'))!.toString()).status).toBe('safety-stop');
    await send(job('next'));
    await waitFor(() => !!terminal('next'), 'refused');
    expect(terminal('next')).toMatchObject({ type: 'rejected', reason: 'rig is in safety stop' });
  });

  it('graceful stop hands back queued jobs, finishes running ones and publishes offline', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rig = await start(async () => {
      await gate;
      return { v: 1 };
    });
    await send(job('g1'));
    await send(job('g2'));
    await waitFor(() => of('g2').some((e) => e.type === 'accepted'), 'both accepted');
    const stopping = rig.stop({ graceMs: 5000 });
    await waitFor(() => !!terminal('g2'), 'queued job handed back');
    expect(terminal('g2')).toMatchObject({ type: 'rejected', reason: 'rig is shutting down' });
    release();
    await stopping;
    expect(terminal('g1')?.type).toBe('result');
    expect(JSON.parse(broker.retained(topics.status('r1'))!.toString()).status).toBe('offline');
  });
  it('graceful stop fails what is still running (final false) unless told to abandon silently, as a killed process would (determinism review 2026-12-07)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigstate-'));
    dirs.push(dir);
    let runs = 0;
    const blocking: RigHandler = async (_j, _r, { signal }) => {
      runs++;
      return new Promise((_, rej) => signal.addEventListener('abort', () => rej(new Error(String(signal.reason)))));
    };
    // Default: a real rig shutting down reports the job it could not finish.
    const reporting = await start(blocking);
    await send(job('f1'));
    await waitFor(() => of('f1').some((e) => e.type === 'accepted'), 'accepted');
    await reporting.stop({ graceMs: 0 });
    expect(terminal('f1')).toMatchObject({ type: 'failed', reason: 'rig is shutting down' });
    rigs.splice(rigs.indexOf(reporting), 1);
    await expect(reporting.stop({ abandon: 'quietly' as 'silent' })).rejects.toThrow(`stop: abandon must be 'report' or 'silent', not "quietly"`);

    // Silent: neither the running job nor the queued one gets an event, and the rig's store does
    // not remember them, so the same (jobId, attempt) sent again runs again.
    const silent = await start(blocking, { stateDir: dir });
    await send(job('s1'));
    await send(job('s2'));
    await waitFor(() => of('s2').some((e) => e.type === 'accepted'), 'both accepted');
    await silent.stop({ graceMs: 0, abandon: 'silent' });
    expect(JSON.parse(broker.retained(topics.status('r1'))!.toString()).status).toBe('offline');
    rigs.splice(rigs.indexOf(silent), 1);
    await start(async () => ({ v: 1 }), { stateDir: dir });
    await send(job('s1'));
    await send(job('s2'));
    await waitFor(() => !!terminal('s1') && !!terminal('s2'), 'both run after the restart');
    expect(of('s1').map((e) => e.type)).toEqual(['accepted', 'accepted', 'result']);
    expect(of('s2').map((e) => e.type)).toEqual(['accepted', 'accepted', 'result']);
    expect(runs).toBe(2); // f1 and s1; s2 waited in the queue
  });

  it('rejects a job addressed to another rig; tells its author what the orchestrator rejected (#14)', async () => {
    const problems: string[] = [];
    await start(async () => ({ v: 1 }), { onProblem: (m) => problems.push(m) });
    await send(job('elsewhere', { rigId: 'r2' }));
    await send(job('mine', { rigId: 'r1' }));
    await waitFor(() => !!terminal('elsewhere') && !!terminal('mine'), 'both answered');
    expect(terminal('elsewhere')).toMatchObject({ type: 'rejected', reason: 'job addressed to rig r2, not to this rig (r1)' });
    expect(terminal('mine')).toMatchObject({ type: 'result' });
    const notice = { source: 'orchestrator', topic: topics.events('r1'), reason: 'result event for job x, which this orchestrator has not dispatched', at: new Date().toISOString(), protocol: PROTOCOL_VERSION };
    await ctl.publish(topics.rigErrors('r1'), JSON.stringify(notice));
    await waitFor(() => problems.some((m) => m.includes('which this orchestrator has not dispatched')), 'the notice reported');
    expect(problems.at(-1)).toBe(`the orchestrator rejected a message on ${topics.events('r1')}: ${notice.reason}`);
  });

  it('remembers at most MAX_REMEMBERED early cancels, forgetting the oldest first (#14)', async () => {
    await start(async () => ({ v: 1 }));
    // MAX_REMEMBERED + 1 cancels for jobs that never came: the first one is forgotten.
    for (let i = 0; i <= MAX_REMEMBERED; i++) await admin('cancel', { jobId: `ghost-${i}` });
    await send(job('ghost-0'));
    await send(job(`ghost-${MAX_REMEMBERED}`));
    await waitFor(() => !!terminal('ghost-0') && !!terminal(`ghost-${MAX_REMEMBERED}`), 'both answered');
    expect(terminal('ghost-0')!.type).toBe('result');
    expect(terminal(`ghost-${MAX_REMEMBERED}`)).toMatchObject({ type: 'cancelled', reason: 'cancelled before it arrived' });
  });

  it('offers a stable short client id within MQTT 3.1.1’s guaranteed 23 characters of 0-9a-zA-Z', () => {
    const a = shortClientId('lab-a', 'furnace-1');
    expect(a).toMatch(/^[0-9a-zA-Z]{1,23}$/);
    expect(a).toHaveLength(23);
    expect(shortClientId('lab-a', 'furnace-1')).toBe(a);
    expect(shortClientId('lab-a', 'furnace-2')).not.toBe(a);
    expect(shortClientId('lab-b', 'furnace-1')).not.toBe(a);
  });
});

const noMosquitto = skipWithout(await mosquittoMissing('binary'), 'oversized results over Mosquitto');

describe('rig SDK: results too big to send (security review, finding 3)', () => {
  const longNames = (n: number, len: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`capacity_cycle_${i}_`.padEnd(len, 'x'), i]));
  const job = (lab: string, jobId: string): RigJob => ({
    jobId, campaignId: 'c', trialId: 't', attempt: 1, capability: 'fabricate', params: { x: 1 }, deadline: new Date(Date.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION,
  });

  it('a result over maxPayloadBytes ends the job failed with the reason, and the rig keeps serving', async () => {
    const broker = createMemoryBroker();
    const ctl = await broker.connect({ clientId: 'ctl' });
    const got: RigEvent[] = [];
    await ctl.subscribe(topics.allEvents, (_t, p) => got.push(JSON.parse(p.toString())));
    const problems: string[] = [];
    const rig = createRig({ id: 'r1', lab, capabilities: ['fabricate'], maxPayloadBytes: 4096, onProblem: (m) => problems.push(m), broker: (c) => broker.connect(c),
      handle: async (j, report) => {
        if (j.jobId === 'prog') await report(0.5, undefined, longNames(100, 100)).catch((e: Error) => problems.push(`caught ${e.message}`));
        return j.jobId === 'small' ? { y: 1 } : longNames(100, 100);
      } });
    try {
      await rig.start();
      for (const id of ['big', 'prog', 'small']) await ctl.publish(topics.jobs('r1'), JSON.stringify(job(lab, id)), { qos: 1 });
      const terminal = (id: string) => got.find((e) => e.jobId === id && ['result', 'failed'].includes(e.type));
      await waitFor(() => ['big', 'prog', 'small'].every((id) => !!terminal(id)), 'three terminal events');
      expect(terminal('big')).toMatchObject({ type: 'failed', reason: expect.stringMatching(/^result event of \d+ bytes exceeds the message limit of 4096 bytes/) });
      expect(terminal('small')).toMatchObject({ type: 'result', measurements: { y: 1 } });
      expect(problems.some((m) => /caught report: progress event of \d+ bytes exceeds/.test(m))).toBe(true);
      expect(got.filter((e) => e.jobId === 'prog').map((e) => e.type)).toEqual(['accepted', 'failed']);
    } finally {
      await rig.stop({ graceMs: 0 });
    }
  });

  it('a measurement name over MAX_MEASUREMENT_NAME characters fails the job with a reason', async () => {
    const broker = createMemoryBroker();
    const ctl = await broker.connect({ clientId: 'ctl' });
    const got: RigEvent[] = [];
    await ctl.subscribe(topics.allEvents, (_t, p) => got.push(JSON.parse(p.toString())));
    const rig = createRig({ id: 'r1', lab, capabilities: ['fabricate'], broker: (c) => broker.connect(c), handle: async () => longNames(2, MAX_MEASUREMENT_NAME + 1) });
    try {
      await rig.start();
      await ctl.publish(topics.jobs('r1'), JSON.stringify(job(lab, 'n')), { qos: 1 });
      await waitFor(() => got.some((e) => e.type === 'failed'), 'failed');
      expect(got.find((e) => e.type === 'failed')!.reason).toMatch(new RegExp(`measurement name of ${MAX_MEASUREMENT_NAME + 1} characters .*at most ${MAX_MEASUREMENT_NAME}`));
    } finally {
      await rig.stop({ graceMs: 0 });
    }
  });

  it.skipIf(noMosquitto)('over Mosquitto with max_packet_size 70000, 100 measurements with 800-character names do not lock the rig out', async () => {
    const m = await startMosquitto({ extra: ['max_packet_size 70000'] });
    const lab2 = uniq('big');
    const t2 = topicsFor(lab2);
    const ctl = await connectMqtt({ url: m.url, clientId: uniq('ctl'), clean: true }, {});
    const got: RigEvent[] = [];
    const rig = createRig({ id: 'r1', lab: lab2, capabilities: ['fabricate'], broker: { url: m.url }, onProblem: () => undefined,
      handle: async (j) => (j.jobId === 'small' ? { y: 1 } : longNames(100, 800)) });
    try {
      await ctl.subscribe(t2.allEvents, (_t, p) => got.push(JSON.parse(p.toString())));
      await rig.start();
      for (const id of ['big', 'small']) await ctl.publish(t2.jobs('r1'), JSON.stringify(job(lab2, id)), { qos: 1 });
      await waitFor(() => got.some((e) => e.jobId === 'small' && e.type === 'result'), 'the next job measured', 30_000);
      expect(got.find((e) => e.jobId === 'big' && e.type !== 'accepted')).toMatchObject({ type: 'failed' });
    } finally {
      await rig.stop({ graceMs: 0 });
      await ctl.close();
      await m.close();
    }
  });
});
