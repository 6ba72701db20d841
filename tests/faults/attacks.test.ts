/**
 * Issue #14 attacks on a running dispatcher over real brokers: the embedded aedes broker and a
 * private Mosquitto, each with per-rig credentials and the rig ACL (configs/mosquitto/acl),
 * and each also open/anonymous. The forged-measurement count must be 0 on every one:
 *
 * - a made-up rig (no credential on a secured broker; its own made-up topic on an open one);
 * - a real rig with its own valid credential guessing other jobs' ids, including a fabricate
 *   stage it cannot do, on its own topic (the dispatcher rejects it) and on the victims'
 *   topics (the broker's ACL stops it).
 *
 * Also: broker URLs other than mqtt, mqtts, ws, wss are refused before anything connects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCredentials, startEmbeddedBroker, type BrokerCredentials } from '../../robots/broker.js';
import { createDispatcher, type Dispatcher, type InvalidMessage } from '../../robots/dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from '../../robots/protocol/topics.js';
import { createRig, type RigHandle } from '../../robots/sdk/index.js';
import { cleanupLab, startMosquitto, uniq, waitFor } from '../../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import { connectMqtt, type MqttTransport } from '../../robots/transport/mqtt.js';
import { BadInputError } from '../../src/core/errors.js';
import type { RigEvent, RigJob } from '../../src/core/protocols.js';
import { loadCampaign } from '../../src/compose/campaign.js';
import { tmp } from '../helpers.js';

const acl = readFileSync(fileURLToPath(new URL('../../configs/mosquitto/acl', import.meta.url)), 'utf8');

type Kind = 'aedes' | 'mosquitto';
interface Lab {
  url: string;
  creds?: BrokerCredentials;
  close(): Promise<void>;
}

async function startBroker(kind: Kind, secured: boolean, rigIds: string[]): Promise<Lab> {
  const creds = secured ? generateCredentials(rigIds) : undefined;
  if (kind === 'aedes') {
    const b = await startEmbeddedBroker({ users: creds?.users });
    return { url: b.url, creds, close: () => b.close() };
  }
  const m = await startMosquitto(creds ? { users: creds.users, acl } : {});
  return { url: m.url, creds, close: () => m.close() };
}

// The Mosquitto cases start a private broker from the binary: without one they skip with a
// reason (or fail under PORELOOP_REQUIRE_SERVICES=1, as in CI; issue #15).
const noMosquitto = skipWithout(await mosquittoMissing('binary'), 'forged measurements on mosquitto');

describe.each(([
  ['aedes', true],
  ['mosquitto', true],
  ['aedes', false],
  ['mosquitto', false],
] as Array<[Kind, boolean]>).filter(([kind]) => kind === 'aedes' || !noMosquitto))('forged measurements on %s (credentials and ACL: %s)', (kind, secured) => {
  const lab = uniq('atk');
  const topics = topicsFor(lab);
  const rigIds = ['ch1', 'fab', 'ch2'];
  let broker: Lab;
  let orch: MqttTransport;
  let d: Dispatcher;
  let rigs: RigHandle[] = [];
  const extra: MqttTransport[] = [];
  const events: RigEvent[] = [];
  const invalid: InvalidMessage[] = [];
  const gates: Array<() => void> = [];
  let released = false;
  const login = (user: string) => (broker.creds ? broker.creds.of(user) : {});
  const open = async (user: string | undefined, clientId = uniq(user ?? 'anon')) => {
    const t = await connectMqtt({ url: broker.url, clientId, clean: true, connectTimeoutMs: 3000, reconnectMs: 60_000, ...(user ? login(user) : {}) }, {});
    extra.push(t);
    return t;
  };
  const jobs: RigJob[] = [];
  const result = (jobId: string, rigId: string, attempt: number) =>
    JSON.stringify({ jobId, rigId, attempt, seq: 2, type: 'result', measurements: { forged: 1e9 }, feasible: true, at: new Date().toISOString(), protocol: PROTOCOL_VERSION });

  beforeAll(async () => {
    broker = await startBroker(kind, secured, rigIds);
    orch = await connectMqtt({ url: broker.url, clientId: uniq('orch'), clean: true, ...login('orchestrator') }, {});
    d = createDispatcher({ transport: orch, lab, campaignId: 'c', options: { timeoutMs: 120_000, heartbeatTimeoutMs: 60_000 } });
    d.onEvent((e) => events.push(e));
    d.invalid$.subscribe((m) => invalid.push(m));
    await d.start();
    // Real rigs whose jobs wait for the test to release them, so that forgeries race real work.
    const hold = (signal: AbortSignal) =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const go = () => resolve({ real: 1 });
        if (released) go();
        else gates.push(go);
        signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      });
    rigs = [
      createRig({ id: 'ch1', lab, capabilities: ['characterise'], concurrency: 4, broker: { url: broker.url, ...login('ch1') }, handle: (_j, _r, { signal }) => hold(signal) }),
      createRig({ id: 'fab', lab, capabilities: ['fabricate'], broker: { url: broker.url, ...login('fab') }, handle: (_j, _r, { signal }) => hold(signal) }),
    ];
    for (const r of rigs) await r.start();
    await waitFor(() => d.rigs().filter((r) => r.status === 'online').length === 2, 'both rigs online');
    const deadline = new Date(Date.now() + 600_000).toISOString();
    for (let i = 0; i < 4; i++) jobs.push({ jobId: `t${i}-s1`, campaignId: 'c', trialId: `t${i}`, attempt: 1, capability: 'characterise', params: { x: i }, deadline, protocol: PROTOCOL_VERSION, rigId: 'ch1' });
    jobs.push({ jobId: 't0-s0', campaignId: 'c', trialId: 't0', attempt: 1, capability: 'fabricate', params: { x: 0 }, deadline, protocol: PROTOCOL_VERSION, rigId: 'fab' });
    for (const j of jobs) await d.dispatch(j);
    await waitFor(() => events.filter((e) => e.type === 'accepted').length === 5, 'all five jobs accepted');
  });

  afterAll(async () => {
    for (const r of rigs) await r.stop({ graceMs: 0 });
    await d?.stop();
    for (const t of extra) await t.close().catch(() => undefined);
    await orch?.close();
    if (!secured && kind === 'mosquitto') await cleanupLab(broker.url, lab, rigIds).catch(() => undefined);
    await broker?.close();
  });

  const ids = () => [...jobs.map((j) => j.jobId), 't9-s1'];

  it(secured ? 'a made-up rig cannot even connect' : 'a made-up rig that reports results for every job on its own topic forges nothing', async () => {
    if (secured) {
      await expect(open(undefined)).rejects.toThrow(/cannot connect/);
      await expect(connectMqtt({ url: broker.url, clientId: uniq('m'), username: 'mallory', password: 'guess', connectTimeoutMs: 3000, reconnectMs: 60_000 }, {})).rejects.toThrow(/cannot connect/);
      return;
    }
    const mallory = await open(undefined);
    const before = invalid.length;
    for (const id of ids()) for (const a of [1, 2]) await mallory.publish(topics.events('mallory'), result(id, 'mallory', a), { qos: 1 });
    await waitFor(() => invalid.length - before === 12, '12 rejections');
    expect(events.filter((e) => e.type === 'result')).toEqual([]);
    expect(invalid.slice(before).every((m) => m.rigId === 'mallory' && /has not dispatched|was not sent that attempt/.test(m.reason))).toBe(true);
  });

  it('a real rig guessing other jobs’ ids forges nothing, and learns why on its errors topic', async () => {
    // ch2 logs in with its own, valid credential (on an open broker: as anyone could).
    const ch2 = await open('ch2', `poreloop-rig-${lab}-ch2`);
    const notices: string[] = [];
    await ch2.subscribe(topics.rigErrors('ch2'), (_t, p) => notices.push(JSON.parse(p.toString()).reason), { qos: 1 });
    if (secured) {
      // It cannot read ch1's jobs to learn their ids: refused (aedes) or never delivered (Mosquitto).
      const stolen: string[] = [];
      await ch2.subscribe(topics.jobs('ch1'), (t) => stolen.push(t)).catch(() => undefined);
      expect(stolen).toEqual([]);
    }
    const before = invalid.length;
    // Own topic: 6 ids × 2 attempts, a fabricate stage among them that ch2 cannot do.
    for (const id of ids()) for (const a of [1, 2]) await ch2.publish(topics.events('ch2'), result(id, 'ch2', a), { qos: 1 });
    await waitFor(() => invalid.length - before === 12 && notices.length === 12, '12 rejections and 12 notices to ch2');
    expect(notices.every((r) => /has not dispatched|was not sent that attempt/.test(r))).toBe(true);
    expect(events.filter((e) => e.type === 'result')).toEqual([]);

    if (secured) {
      // The victims' topics: the ACL stops it (Mosquitto drops the messages; aedes closes the
      // connection), so nothing arrives to be judged at all.
      const spoof = await open('ch2');
      for (const j of jobs) {
        const victim = j.capability === 'fabricate' ? 'fab' : 'ch1';
        await spoof.publish(topics.events(victim), result(j.jobId, victim, 1), { qos: kind === 'mosquitto' ? 1 : 0 }).catch(() => undefined);
      }
      if (kind === 'aedes') await waitFor(() => !spoof.connected, 'aedes to close the forbidden client');
      // Control: a later message on ch2's own topic arrives, so the forbidden ones would have too.
      await ch2.publish(topics.events('ch2'), result('control', 'ch2', 1), { qos: 1 });
      await waitFor(() => invalid.some((m) => m.jobId === 'control'), 'the control message');
      expect(invalid.filter((m) => m.rigId === 'ch1' || m.rigId === 'fab')).toEqual([]);
    }
    expect(events.filter((e) => e.type === 'result')).toEqual([]);
  });

  it('the real rigs’ own results still complete every job (forged count 0)', async () => {
    released = true;
    for (const go of gates.splice(0)) go();
    await waitFor(() => events.filter((e) => e.final).length === 5, 'five finished jobs');
    const finals = events.filter((e) => e.final);
    expect(finals.every((e) => e.type === 'result' && e.measurements?.real === 1 && e.measurements?.forged === undefined)).toBe(true);
    expect(finals.map((e) => e.rigId).sort()).toEqual(['ch1', 'ch1', 'ch1', 'ch1', 'fab']);
  });
});

describe('broker URLs (#14)', () => {
  it('only mqtt, mqtts, ws and wss: the config, and the transport before it connects', async () => {
    const dir = tmp('poreloop-url-');
    const demo = readFileSync(fileURLToPath(new URL('../../configs/demo-gdl.yaml', import.meta.url)), 'utf8');
    const path = join(dir, 'c.yaml');
    writeFileSync(path, demo);
    for (const bad of ['file:///etc/passwd', 'http://broker:1883', 'tcp://broker:1883', 'broker:1883', 'mqtt://']) {
      expect(() => loadCampaign(path, { broker: bad }), bad).toThrow(BadInputError);
      await expect(connectMqtt({ url: bad, clientId: 'x', connectTimeoutMs: 500 }, {}), bad).rejects.toThrow(BadInputError);
    }
    expect(() => loadCampaign(path, { broker: 'file:///etc/passwd' })).toThrow(/scheme "file:" is not allowed; use mqtt:\/\/, mqtts:\/\/, ws:\/\/, wss:\/\//);
    for (const good of ['embedded', 'mqtt://127.0.0.1:1883', 'mqtts://broker.lab:8883', 'ws://h:9001', 'wss://h/mqtt']) expect(loadCampaign(path, { broker: good }).config.broker).toBe(good);
  });
});
