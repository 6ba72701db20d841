/**
 * The embedded broker with credentials and the rig protocol's ACL (issue #14): the same rules
 * as a Mosquitto with configs/mosquitto/acl (robots/acl.integration.test.ts checks that one).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PACKET_BYTES, generateCredentials, startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { parseAcl, PORELOOP_ACL } from './protocol/acl.js';
import { PROTOCOL_VERSION, topicsFor } from './protocol/topics.js';
import { uniq, waitFor } from './testing/brokers.js';
import { connectMqtt, type MqttTransport } from './transport/mqtt.js';

const rules = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '' && !l.startsWith('#'));

describe('rig protocol ACL', () => {
  it('the embedded broker enforces the rules of the committed Mosquitto ACL file', () => {
    const committed = readFileSync(fileURLToPath(new URL('../configs/mosquitto/acl', import.meta.url)), 'utf8');
    expect(rules(PORELOOP_ACL)).toEqual(rules(committed));
  });

  it('grants a rig its own topics only, the orchestrator everything under poreloop/, anonymous nothing', () => {
    const acl = parseAcl(PORELOOP_ACL);
    const r1 = { username: 'r1', clientId: 'poreloop-rig-lab-r1' };
    const t = topicsFor('lab');
    expect(acl.canPublish(r1, t.events('r1'))).toBe(true);
    expect(acl.canPublish(r1, t.status('r1'))).toBe(true);
    expect(acl.canPublish(r1, t.errors('r1'))).toBe(true);
    expect(acl.canPublish(r1, t.events('r2'))).toBe(false);
    expect(acl.canPublish(r1, t.jobs('r1'))).toBe(false);
    expect(acl.canSubscribe(r1, t.jobs('r1'))).toBe(true);
    expect(acl.canSubscribe(r1, t.rigErrors('r1'))).toBe(true);
    expect(acl.canSubscribe(r1, t.jobs('r2'))).toBe(false);
    expect(acl.canSubscribe(r1, 'poreloop/v1/lab/rigs/+/jobs')).toBe(false);
    expect(acl.canSubscribe(r1, '#')).toBe(false);
    expect(acl.canRead(r1, t.jobs('r2'))).toBe(false);
    const orch = { username: 'orchestrator', clientId: 'x' };
    expect(acl.canSubscribe(orch, t.allEvents)).toBe(true);
    expect(acl.canPublish(orch, t.jobs('r1'))).toBe(true);
    expect(acl.canPublish(orch, 'elsewhere/x')).toBe(false);
    expect(acl.canPublish({ clientId: 'anon' }, t.events('r1'))).toBe(false);
    // A username with a wildcard must not widen the %u patterns (CVE-2017-7650).
    expect(acl.canPublish({ username: '+', clientId: 'c' }, 'poreloop/v1/lab/rigs/+/events')).toBe(false);
    expect(acl.canSubscribe({ username: '#', clientId: 'c' }, 'poreloop/v1/lab/rigs/#')).toBe(false);
    expect(() => parseAcl('topic rw poreloop/#')).toThrow(/unknown access/);
    expect(() => parseAcl('allow everything')).toThrow(/cannot parse/);
  });
});

describe('embedded broker with credentials and ACL', () => {
  let broker: EmbeddedBroker;
  const creds = generateCredentials(['r1', 'r2']);
  const lab = uniq('acl');
  const t = topicsFor(lab);
  const open: MqttTransport[] = [];
  const connect = async (o: { username?: string; password?: string }) => {
    const c = await connectMqtt({ url: broker.url, clientId: uniq('c'), clean: true, connectTimeoutMs: 3000, reconnectMs: 60_000, ...o }, {});
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ users: creds.users });
  });
  afterAll(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await broker?.close();
  });

  it('generates distinct strong passwords and listens on loopback', () => {
    expect(Object.keys(creds.users)).toEqual(['orchestrator', 'r1', 'r2']);
    expect(new Set(Object.values(creds.users)).size).toBe(3);
    expect(Object.values(creds.users).every((p) => p.length >= 24)).toBe(true);
    expect(broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(connect({})).rejects.toThrow(/cannot connect/);
    await expect(connect({ username: 'r1', password: 'guess' })).rejects.toThrow(/cannot connect/);
    await expect(connect({ username: 'mallory', password: creds.users.r1 })).rejects.toThrow(/cannot connect/);
  });

  it("a rig can neither read another rig's jobs nor publish for it; its own topics work", async () => {
    const orch = await connect(creds.of('orchestrator'));
    const seen: Array<{ topic: string; seq: number }> = [];
    await orch.subscribe(`${t.root}/rigs/+/events`, (topic, p) => seen.push({ topic, seq: JSON.parse(p.toString()).seq }));
    const r2 = await connect(creds.of('r2'));
    await expect(r2.subscribe(t.jobs('r1'), () => undefined)).rejects.toThrow(/Subscribe error|refused/); // SUBACK 0x80
    const notices: string[] = [];
    await r2.subscribe(t.rigErrors('r2'), (_topic, p) => notices.push(p.toString()));
    await orch.publish(t.rigErrors('r2'), JSON.stringify({ source: 'orchestrator', topic: t.events('r2'), reason: 'test', at: new Date().toISOString(), protocol: PROTOCOL_VERSION }), { qos: 1 });
    await waitFor(() => notices.length === 1, 'the notice on r2’s errors topic');
    const ev = (rigId: string, seq: number) => JSON.stringify({ jobId: 'j', rigId, seq, type: 'progress', at: new Date().toISOString(), protocol: PROTOCOL_VERSION });
    await r2.publish(t.events('r2'), ev('r2', 1), { qos: 1 });
    await waitFor(() => seen.some((x) => x.seq === 1), 'r2’s own event');
    // Forbidden: aedes closes the connection (Mosquitto would drop the message silently).
    // (QoS 0: a QoS 1 publish would wait for a PUBACK that never comes.)
    await r2.publish(t.events('r1'), ev('r1', 2), { qos: 0 }).catch(() => undefined);
    const r1 = await connect(creds.of('r1'));
    await r1.publish(t.events('r1'), ev('r1', 3), { qos: 1 });
    await waitFor(() => seen.some((x) => x.seq === 3), 'r1’s own event');
    expect(seen.filter((x) => x.seq === 2)).toEqual([]);
  });
});

describe('embedded broker packet size limit (security review, finding 2)', () => {
  /** MQTT 3.1.1 remaining length (§2.2.3). */
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n > 0) b |= 0x80;
      out.push(b);
    } while (n > 0);
    return Buffer.from(out);
  };

  it('disconnects a client whose PUBLISH announces more than max_packet_size, before buffering it', async () => {
    const broker = await startEmbeddedBroker();
    const sock = net.connect(broker.port, '127.0.0.1');
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    try {
      let connack = false;
      sock.on('data', (d) => (connack ||= d[0] === 0x20));
      // CONNECT: protocol "MQTT" level 4, clean session, keepalive 60, client id "big".
      const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 60, 0, 3]), Buffer.from('big')]);
      sock.write(Buffer.concat([Buffer.from([0x10]), varint(body.length), body]));
      await waitFor(() => connack, 'CONNACK');
      // A QoS 0 PUBLISH announcing 200 MB; its body streams in 64 KiB pieces until the broker hangs up.
      sock.write(Buffer.concat([Buffer.from([0x30]), varint(200_000_000), Buffer.from([0, 1]), Buffer.from('t')]));
      const piece = Buffer.alloc(65_536, 0x78);
      let sent = 0;
      while (!closed && sent < 8_000_000) {
        sent += piece.length;
        if (!sock.write(piece)) await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => closed, 'the broker closes the connection', 20_000);
    } finally {
      sock.destroy();
      await broker.close();
    }
  });

  it('still delivers a publish just under the limit', async () => {
    const broker = await startEmbeddedBroker();
    // Its own client may publish past poreloop's 64 KiB message guard: the broker's limit is tested.
    const a = await connectMqtt({ url: broker.url, clientId: uniq('big-a'), clean: true, maxPayloadBytes: DEFAULT_MAX_PACKET_BYTES }, {});
    try {
      const got: number[] = [];
      await a.subscribe('t/big', (_t, p) => got.push(p.length));
      const size = DEFAULT_MAX_PACKET_BYTES - 100;
      await a.publish('t/big', Buffer.alloc(size, 0x78), { qos: 1 });
      await waitFor(() => got.length === 1, 'delivery');
      expect(got).toEqual([size]);
    } finally {
      await a.close();
      await broker.close();
    }
  });
});
