/**
 * Security against a real Mosquitto with the committed ACL (configs/mosquitto/acl) and a
 * password file made by `mosquitto_passwd -b`: rigs work, but a rig can neither publish for
 * another rig nor read another rig's jobs, and a wrong password is refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RigEvent } from '../src/core/protocols.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from './protocol/topics.js';
import { createRig, type RigHandle } from './sdk/index.js';
import { startMosquitto, uniq, waitFor, type MosquittoProcess } from './testing/brokers.js';
import { mosquittoMissing, skipWithout } from './testing/services.js';
import { connectMqtt, type MqttTransport } from './transport/mqtt.js';

const acl = readFileSync(fileURLToPath(new URL('../configs/mosquitto/acl', import.meta.url)), 'utf8');
const pw = { orchestrator: 'orch-secret', r1: 'r1-secret', r2: 'r2-secret' };

const skip = skipWithout(await mosquittoMissing('binary'), 'Mosquitto ACL + password file');

describe.skipIf(skip)('Mosquitto ACL + password file', () => {
  let m: MosquittoProcess;
  let orch: MqttTransport;
  let d: Dispatcher;
  let rigs: RigHandle[];
  const lab = uniq('acl');
  const topics = topicsFor(lab);
  const events: RigEvent[] = [];

  beforeAll(async () => {
    m = await startMosquitto({ users: pw, acl });
    orch = await connectMqtt({ url: m.url, clientId: uniq('orch'), username: 'orchestrator', password: pw.orchestrator }, {});
    d = createDispatcher({ transport: orch, lab, campaignId: 'c', options: { timeoutMs: 5000, heartbeatTimeoutMs: 5000 } });
    d.onEvent((e) => events.push(e));
    await d.start();
    rigs = (['r1', 'r2'] as const).map((id) =>
      createRig({ id, lab, capabilities: ['characterise'], heartbeatMs: 500, broker: { url: m.url, username: id, password: pw[id] }, handle: async () => ({ v: 1 }) }),
    );
    for (const r of rigs) await r.start();
    await waitFor(() => d.rigs().filter((r) => r.status === 'online').length === 2, 'both rigs online');
  });
  afterAll(async () => {
    for (const r of rigs ?? []) await r.stop({ graceMs: 0 });
    await d?.stop();
    await orch?.close();
    await m?.close();
  });

  const job = (jobId: string, rigId: string) => ({
    jobId, campaignId: 'c', trialId: 't', attempt: 1, capability: 'characterise', params: {}, deadline: new Date(Date.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION, rigId,
  });

  it('rigs with their own credentials complete jobs', async () => {
    await d.dispatch(job('ok-1', 'r1'));
    await d.dispatch(job('ok-2', 'r2'));
    await waitFor(() => events.filter((e) => e.final && e.type === 'result').length === 2, 'two results');
  });

  it("a rig cannot read another rig's jobs", async () => {
    const r2 = await connectMqtt({ url: m.url, clientId: uniq('r2-spy'), username: 'r2', password: pw.r2 }, {});
    const stolen: string[] = [];
    // Mosquitto either refuses the subscription (SUBACK 0x80) or grants it and delivers
    // nothing; both mean "cannot read". What must never happen is a delivered message.
    await r2.subscribe(topics.jobs('r1'), (t) => stolen.push(t)).catch(() => undefined);
    await d.dispatch(job('secret-1', 'r1'));
    await waitFor(() => events.some((e) => e.jobId === 'secret-1' && e.final), 'the job finished');
    await r2.close();
    expect(events.find((e) => e.jobId === 'secret-1' && e.final)!.rigId).toBe('r1');
    expect(stolen).toEqual([]);
  });

  it('a rig cannot publish events or status for another rig', async () => {
    const seen: Array<{ topic: string; doc: { seq?: number; status?: string } }> = [];
    await orch.subscribe(`${topics.root}/rigs/+/+`, (topic, p) => seen.push({ topic, doc: JSON.parse(p.toString()) }));
    const r2 = await connectMqtt({ url: m.url, clientId: uniq('r2-raw'), username: 'r2', password: pw.r2 }, {});
    const fake = { jobId: 'ok-1', rigId: 'r1', seq: 99, type: 'result', measurements: { v: -1 }, at: new Date().toISOString(), protocol: PROTOCOL_VERSION };
    await r2.publish(topics.events('r1'), JSON.stringify(fake), { qos: 1 });
    await r2.publish(topics.status('r1'), JSON.stringify({ rigId: 'r1', status: 'offline', protocol: PROTOCOL_VERSION }), { qos: 1, retain: true });
    // Control: the same client may publish on its own topic; once that arrives, the earlier
    // (denied) messages would have arrived too had the broker let them through.
    await r2.publish(topics.events('r2'), JSON.stringify({ ...fake, rigId: 'r2', jobId: 'control' }), { qos: 1 });
    await waitFor(() => seen.some((x) => x.topic === topics.events('r2') && x.doc.seq === 99), 'control message');
    await r2.close();
    // r1's own heartbeats do arrive; the forged messages do not.
    expect(seen.filter((x) => (x.topic === topics.events('r1') && x.doc.seq === 99) || (x.topic === topics.status('r1') && x.doc.status === 'offline'))).toEqual([]);
    expect(d.rigs().find((r) => r.rigId === 'r1')!.status).toBe('online');
    expect(events.filter((e) => e.jobId === 'ok-1' && e.type === 'result')).toHaveLength(1);
  });

  it('a wrong password is refused', async () => {
    await expect(connectMqtt({ url: m.url, clientId: uniq('bad'), username: 'r1', password: 'wrong', connectTimeoutMs: 3000 }, {})).rejects.toThrow(/cannot connect/);
  });
});
