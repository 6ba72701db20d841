/**
 * The rig protocol end to end over real MQTT (issue 7, "Must show"), once against the embedded
 * aedes broker and once against Mosquitto: job round trip, QoS 1 redelivery after a peer
 * reconnects, Last Will → offline → re-assignment, duplicates recorded once, late results after
 * a timeout, malformed and oversized payloads rejected without a crash.
 */
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { RigEvent, RigJob } from '../src/core/protocols.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions, type InvalidMessage } from './dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from './protocol/topics.js';
import { createSimulatedLab, type SimRigConfig, type SimulatedLab } from './sim/index.js';
import { analyticTruth } from './sim/truth.js';
import { cleanupLab, startTestBroker, uniq, waitFor, type BrokerKind, type TestBroker } from './testing/brokers.js';
import { mosquittoMissing, skipWithout } from './testing/services.js';
import { connectMqtt, type MqttTransport } from './transport/mqtt.js';

const noMosquitto = skipWithout(await mosquittoMissing('broker'), 'rig protocol over Mosquitto');
const kinds: BrokerKind[] = noMosquitto ? ['aedes'] : ['aedes', 'mosquitto'];

describe.each(kinds)('rig protocol over %s', (kind) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  interface Setup {
    broker: TestBroker;
    lab: string;
    sim: SimulatedLab;
    d: Dispatcher;
    transport: MqttTransport;
    orchestratorId: string;
    events: RigEvent[];
    invalid: InvalidMessage[];
    finals: () => RigEvent[];
    job: (n: number, o?: Partial<RigJob>) => RigJob;
  }

  async function setup(rigs: Array<Omit<SimRigConfig, 'id'> & { id: string }>, options: Partial<DispatcherOptions> = {}): Promise<Setup> {
    const broker = await startTestBroker(kind);
    cleanups.push(() => broker.close());
    const lab = uniq('lab');
    const ids = rigs.map((r) => r.id);
    const orchestratorId = uniq('orch');
    cleanups.push(() => cleanupLab(broker.url, lab, ids, [orchestratorId]));
    const sim = await createSimulatedLab({ brokerUrl: broker.url, lab, seed: 7, rigs: rigs.map((r) => ({ heartbeatMs: 200, ...r })) });
    cleanups.push(() => sim.stop());
    const transport = await connectMqtt({ url: broker.url, clientId: orchestratorId, clean: false });
    cleanups.push(() => transport.close());
    const d = createDispatcher({ transport, lab, campaignId: 'c1', options: { timeoutMs: 5000, maxAttempts: 1, heartbeatTimeoutMs: 2000, ...options } });
    const events: RigEvent[] = [];
    const invalid: InvalidMessage[] = [];
    d.onEvent((e) => events.push(e));
    d.invalid$.subscribe((m) => invalid.push(m));
    await d.start();
    cleanups.push(() => d.stop());
    await waitFor(() => d.rigs().filter((r) => r.status === 'online').length === rigs.length, 'rigs online');
    const job = (n: number, o: Partial<RigJob> = {}): RigJob => ({
      jobId: `${lab}-j${n}`,
      campaignId: 'c1',
      trialId: `t${n}`,
      attempt: 1,
      capability: 'characterise',
      params: { a: 0.25, b: 0.75 },
      deadline: new Date(Date.now() + 30_000).toISOString(),
      protocol: PROTOCOL_VERSION,
      ...o,
    });
    return { broker, lab, sim, d, transport, orchestratorId, events, invalid, finals: () => events.filter((e) => e.final), job };
  }

  it('round trip: accepted → progress → result with the truth, and an infeasible recipe is a result', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['fabricate', 'characterise'], latencyMs: { dist: 'fixed', mean: 20 } }]);
    await s.d.dispatch(s.job(1));
    await s.d.dispatch(s.job(2, { capability: 'fabricate', params: { a: -1 } }));
    await waitFor(() => s.finals().length === 2, 'two final events');
    const mine = s.events.filter((e) => e.jobId === `${s.lab}-j1`);
    expect(mine.map((e) => [e.type, e.seq])).toEqual([['accepted', 1], ['progress', 2], ['result', 3]]);
    const truth = await analyticTruth({ a: 0.25, b: 0.75 }, 'characterise', {});
    expect(mine[2].measurements).toEqual(truth.measurements);
    expect(mine[2]).toMatchObject({ rigId: 'r1', attempt: 1, final: true, origin: 'rig' });
    const fab = s.finals().find((e) => e.jobId === `${s.lab}-j2`)!;
    expect(fab).toMatchObject({ type: 'result', feasible: false, final: true });
  });

  it('QoS 1 redelivery: a job sent while the rig is away and a result sent while the orchestrator is away both arrive', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 300 } }]);
    const topics = topicsFor(s.lab);
    // (1) The orchestrator drops while the rig works; it comes back with the same client id
    // (persistent session) and re-dispatches the same jobId, as a resumed campaign does.
    await s.d.dispatch(s.job(1));
    await waitFor(() => s.events.some((e) => e.type === 'accepted'), 'accepted');
    await s.d.stop();
    await s.transport.kill();
    await waitFor(() => s.sim.log().some((e) => e.outcome === 'result'), 'rig finished while the orchestrator was away');
    const t2 = await connectMqtt({ url: s.broker.url, clientId: s.orchestratorId, clean: false });
    cleanups.push(() => t2.close());
    const d2 = createDispatcher({ transport: t2, lab: s.lab, campaignId: 'c1', options: { timeoutMs: 5000, heartbeatTimeoutMs: 2000 } });
    const ev2: RigEvent[] = [];
    d2.onEvent((e) => ev2.push(e));
    await d2.start();
    cleanups.push(() => d2.stop());
    await waitFor(() => d2.rigs().length === 1, 'rig known again');
    await d2.dispatch(s.job(1));
    await waitFor(() => ev2.some((e) => e.final), 'result after reconnect');
    expect(ev2.find((e) => e.final)).toMatchObject({ type: 'result', jobId: `${s.lab}-j1` });
    expect(s.sim.log().filter((e) => e.jobId === `${s.lab}-j1` && e.executed)).toHaveLength(1);

    // (2) The rig drops (no DISCONNECT: Last Will); a job published meanwhile reaches it when it
    // reconnects with its persistent session.
    await s.sim.rig('r1').crash();
    await waitFor(() => d2.rigs()[0].status === 'offline', 'Last Will seen');
    const wire = { ...s.job(2), jobId: `${s.lab}-direct` };
    await t2.publish(topics.jobs('r1'), JSON.stringify(wire), { qos: 1 });
    await s.sim.rig('r1').start();
    await waitFor(() => s.sim.log().some((e) => e.jobId === wire.jobId && e.outcome === 'result'), 'queued job ran after reconnect');
  });

  it('Last Will: a rig that dies mid-job goes offline and its job is re-assigned to another rig', async () => {
    const s = await setup(
      [
        { id: 'r1', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 200 }, faults: { crashMidJob: 1 }, restartAfterMs: 60_000 },
        { id: 'r2', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 20 } },
      ],
      { maxAttempts: 2, heartbeatTimeoutMs: 60_000 },
    );
    await s.d.dispatch(s.job(1, { rigId: 'r1' }));
    await waitFor(() => s.finals().length === 1, 'final event');
    const final = s.finals()[0];
    expect(final).toMatchObject({ type: 'result', rigId: 'r2', attempt: 2 });
    const lost = s.events.find((e) => e.origin === 'dispatcher')!;
    expect(lost).toMatchObject({ type: 'failed', rigId: 'r1', attempt: 1, final: false });
    expect(lost.reason).toMatch(/went offline/);
    expect(s.d.rigs().find((r) => r.rigId === 'r1')!.status).toBe('offline');
    expect(s.sim.log().map((e) => [e.rigId, e.outcome])).toEqual([['r1', 'crashed'], ['r2', 'result']]);
  });

  it('duplicate events (QoS 1 re-sends) are delivered once', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], concurrency: 4, latencyMs: { dist: 'fixed', mean: 10 }, faults: { duplicateEvents: 1 } }]);
    for (let i = 0; i < 6; i++) await s.d.dispatch(s.job(i));
    await waitFor(() => s.finals().length === 6, 'six finals');
    await new Promise((r) => setTimeout(r, 100)); // let trailing duplicates arrive
    const results = s.events.filter((e) => e.type === 'result');
    expect(results).toHaveLength(6);
    expect(new Set(results.map((e) => e.jobId)).size).toBe(6);
    expect(s.d.stats().duplicatesSuppressed).toBeGreaterThanOrEqual(6 * 3);
  });

  it('late result after timeout: the job ends timed out, the late result is delivered flagged late', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], faults: { lateAfterTimeout: 1 }, lateByMs: 600 }], { timeoutMs: 300 });
    const late: RigEvent[] = [];
    s.d.late$.subscribe((e) => late.push(e));
    await s.d.dispatch(s.job(1));
    await waitFor(() => late.length === 1, 'late result');
    const finals = s.finals();
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ type: 'failed', origin: 'dispatcher', final: true });
    expect(finals[0].reason).toMatch(/timed out/);
    const after = s.events.slice(s.events.indexOf(finals[0]) + 1);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ type: 'result', late: true, rigId: 'r1' });
    expect(s.d.stats().late).toBe(1);
  });

  it('a late result while a retry is still running ends the job; the retry is cancelled', async () => {
    const s = await setup(
      [
        // r1 answers 500 ms after its attempt timed out (at 1 s), while attempt 2 on the slow r2
        // (which would answer after 3 s) is running and its own timeout (2 s) has not come.
        { id: 'r1', capabilities: ['characterise'], faults: { lateAfterTimeout: 1 }, lateByMs: 500 },
        { id: 'r2', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 3000 } },
      ],
      { timeoutMs: 1000, maxAttempts: 2 },
    );
    await s.d.dispatch(s.job(1, { rigId: 'r1' }));
    await waitFor(() => s.finals().length === 1, 'final');
    expect(s.finals()[0]).toMatchObject({ type: 'result', rigId: 'r1', attempt: 1 });
    await waitFor(() => s.sim.log().some((e) => e.rigId === 'r2' && e.outcome === 'cancelled'), 'retry cancelled on r2');
  });

  it('malformed, oversized and spoofed payloads are rejected with a reason and the lab keeps working', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 10 }, faults: { malformed: 1 } }]);
    const topics = topicsFor(s.lab);
    const errors: string[] = [];
    await s.transport.subscribe(topics.allErrors, (_t, p) => errors.push(JSON.parse(p.toString()).reason));
    for (let i = 0; i < 3; i++) await s.d.dispatch(s.job(i));
    await waitFor(() => s.finals().length === 3, 'all jobs finish despite malformed events');
    expect(s.invalid.length).toBeGreaterThanOrEqual(3);
    const n0 = s.invalid.length;
    await s.transport.publish(topics.events('r1'), 'not json at all');
    // Over the 64 KiB message limit, under the brokers' 70 000-byte packet limit (a bigger packet
    // gets its publisher disconnected by the broker: robots/broker.security.test.ts). From a client
    // of its own: poreloop's transports refuse to publish over 64 KiB.
    const hostile = await connectMqtt({ url: s.broker.url, clientId: `${s.orchestratorId}-hostile`, clean: true, maxPayloadBytes: 70_000 });
    await hostile.publish(topics.events('r1'), Buffer.alloc(66_000, 0x7b));
    await hostile.close();
    await s.transport.publish(topics.events('r1'), JSON.stringify({ jobId: 'x', rigId: 'r2', seq: 1, type: 'result', measurements: {}, at: new Date().toISOString(), protocol: '1.0' }));
    await s.transport.publish(topics.status('r9'), JSON.stringify({ rigId: 'r9', status: 'exploded', protocol: '1.0' }));
    // and the rig side: a garbage job is reported on the rig's error topic, not run.
    await s.transport.publish(topics.jobs('r1'), JSON.stringify({ jobId: 'bad', attempt: 0 }));
    await waitFor(() => s.invalid.length === n0 + 4 && errors.some((e) => /job payload/.test(e)), 'rejections recorded');
    const reasons = s.invalid.slice(n0).map((m) => m.reason);
    expect(reasons[0]).toMatch(/not JSON/);
    expect(reasons[1]).toMatch(/exceeds the limit/);
    expect(reasons[2]).toMatch(/published on the topic of rig r1/);
    expect(reasons[3]).toMatch(/status payload does not match/);
    await s.d.dispatch(s.job(9));
    await waitFor(() => s.finals().length === 4, 'still dispatching after the garbage');
  });

  it('a job too big to publish fails at once with the reason; nothing is sent, the connection stays (diff review 2026-12-07, item 2)', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 20 } }]);
    // The job schema allows this (long string params); the wire message is over 64 KiB.
    const big = s.job(1, { params: { a: 0.25, b: 0.75, note: 'x'.repeat(30_000), note2: 'y'.repeat(30_000), note3: 'z'.repeat(10_000) } });
    await s.d.dispatch(big);
    await waitFor(() => s.finals().length === 1, 'the big job ends');
    expect(s.finals()[0]).toMatchObject({ jobId: big.jobId, type: 'failed', origin: 'dispatcher', final: true });
    expect(s.finals()[0].reason).toMatch(/job not sent to rig r1: refusing to publish on .*payload of \d+ bytes exceeds the message limit of 65536 bytes/);
    expect(s.transport.connected).toBe(true);
    // The orchestrator goes on dispatching: the next job runs.
    await s.d.dispatch(s.job(2));
    await waitFor(() => s.finals().length === 2, 'the next job ends');
    expect(s.finals()[1]).toMatchObject({ jobId: s.job(2).jobId, type: 'result' });
    expect(s.sim.log().map((e) => e.jobId)).toEqual([s.job(2).jobId]);
  });

  it('a deeply nested event for a live job is rejected and the orchestrator lives on (security review, finding 1)', async () => {
    const s = await setup([{ id: 'r1', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 1500 } }]);
    const topics = topicsFor(s.lab);
    const job = s.job(1);
    await s.d.dispatch(job);
    await waitFor(() => s.events.some((e) => e.jobId === job.jobId && e.type === 'accepted'), 'job accepted');
    // As a compromised rig controller would: a progress event of its own live attempt, with an
    // extra member of 10 000 nested objects (60 KB, under the size limit).
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const head = JSON.stringify({ jobId: job.jobId, rigId: 'r1', attempt: 1, seq: 77, type: 'progress', progress: 0.5, at: new Date().toISOString(), protocol: PROTOCOL_VERSION });
    await s.transport.publish(topics.events('r1'), `${head.slice(0, -1)},"x":${deep}}`);
    await waitFor(() => s.invalid.some((m) => /nests objects or arrays more than/.test(m.reason)), 'depth rejection');
    await waitFor(() => s.finals().length === 1, 'the job still finishes');
    expect(s.finals()[0].type).toBe('result');
  });
});

describe.skipIf(noMosquitto)('MQTT 5 extras over Mosquitto', () => {
  it('jobs carry message expiry, correlation data and user properties; rigs and dispatcher still interoperate', async () => {
    const broker = await startTestBroker('mosquitto');
    const lab = uniq('v5');
    const topics = topicsFor(lab);
    const orchestratorId = uniq('orch5');
    const spy = await mqtt.connectAsync(broker.url, { clientId: uniq('spy'), protocolVersion: 5, reconnectPeriod: 0 }, false);
    const seen: Array<{ topic: string; props: Record<string, unknown> | undefined }> = [];
    spy.on('message', (topic, _p, packet) => seen.push({ topic, props: packet.properties as Record<string, unknown> | undefined }));
    await spy.subscribeAsync(topics.jobs('r5'), { qos: 1 });
    const sim = await createSimulatedLab({ brokerUrl: broker.url, mqtt: { protocolVersion: 5 }, lab, seed: 1, rigs: [{ id: 'r5', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 5 } }] });
    const t = await connectMqtt({ url: broker.url, clientId: orchestratorId, protocolVersion: 5 });
    const d = createDispatcher({ transport: t, lab, campaignId: 'c5', options: { timeoutMs: 5000 } });
    const finals: RigEvent[] = [];
    d.onEvent((e) => e.final && finals.push(e));
    try {
      await d.start();
      await waitFor(() => d.rigs().length === 1, 'rig');
      await d.dispatch({ jobId: `${lab}-j`, campaignId: 'c5', trialId: 't', attempt: 1, capability: 'characterise', params: { a: 1 }, deadline: new Date(Date.now() + 20_000).toISOString(), protocol: PROTOCOL_VERSION });
      await waitFor(() => finals.length === 1 && seen.length === 1, 'result and spied job');
      expect(finals[0].type).toBe('result');
      const props = seen[0].props!;
      expect(props.messageExpiryInterval).toBeGreaterThan(0);
      expect(props.messageExpiryInterval).toBeLessThanOrEqual(5);
      expect(Buffer.from(props.correlationData as Buffer).toString()).toBe(`${lab}-j`);
      expect(props.userProperties).toMatchObject({ protocol: PROTOCOL_VERSION, campaign: 'c5' });
    } finally {
      await d.stop();
      await t.close();
      await sim.stop();
      await spy.endAsync();
      await cleanupLab(broker.url, lab, ['r5'], [orchestratorId]);
      await broker.close();
    }
  });
});
