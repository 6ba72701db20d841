/**
 * One contract for every Transport (DESIGN.md style rule 11): the in-memory fake must behave
 * like MQTT where the rig protocol relies on it, so tests written against the fake mean
 * something. Run against the fake, the embedded aedes broker and Mosquitto.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, uniq, waitFor, type TestBroker } from '../testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../testing/services.js';
import { createMemoryBroker } from './memory.js';
import { connectMqtt, type MqttTransport, type WillOptions } from './mqtt.js';

type Connect = (o: { clientId: string; clean?: boolean; will?: WillOptions }) => Promise<MqttTransport>;

const impls: Array<[string, () => Promise<{ connect: Connect; close(): Promise<void> }>]> = [
  ['memory', async () => {
    const b = createMemoryBroker();
    return { connect: (o) => b.connect(o), close: async () => undefined };
  }],
  ...(skipWithout(await mosquittoMissing('broker'), 'Transport contract: mosquitto') ? (['aedes'] as const) : (['aedes', 'mosquitto'] as const)).map((kind): [string, () => Promise<{ connect: Connect; close(): Promise<void> }>] => [
    kind,
    async () => {
      const b: TestBroker = await startTestBroker(kind);
      return { connect: (o) => connectMqtt({ url: b.url, ...o }), close: () => b.close() };
    },
  ]),
];

describe.each(impls)('Transport contract: %s', (_name, make) => {
  let env: { connect: Connect; close(): Promise<void> };
  const open: MqttTransport[] = [];
  const connect: Connect = async (o) => {
    const t = await env.connect(o);
    open.push(t);
    return t;
  };
  beforeAll(async () => {
    env = await make();
  });
  afterAll(async () => {
    for (const t of open) await t.close().catch(() => undefined);
    await env.close();
  });

  it('delivers by topic filter (+ and #) and stops after unsubscribe', async () => {
    const root = uniq('c');
    const a = await connect({ clientId: uniq('a'), clean: true });
    const got: string[] = [];
    const off = await a.subscribe(`${root}/+/x`, (t) => got.push(t));
    await a.subscribe(`${root}/#`, (t) => got.push(`#${t}`));
    await a.publish(`${root}/1/x`, 'p');
    await a.publish(`${root}/1/y`, 'p');
    await waitFor(() => got.length === 3, 'three deliveries');
    expect(got.sort()).toEqual([`#${root}/1/x`, `#${root}/1/y`, `${root}/1/x`].sort());
    await off();
    await a.publish(`${root}/2/x`, 'p');
    await waitFor(() => got.length === 4, 'only the # subscription');
    expect(got[3]).toBe(`#${root}/2/x`);
  });

  it('gives a new subscriber the retained message; an empty retained payload clears it', async () => {
    const topic = `${uniq('r')}/status`;
    const a = await connect({ clientId: uniq('a'), clean: true });
    await a.publish(topic, 'online', { qos: 1, retain: true });
    const b = await connect({ clientId: uniq('b'), clean: true });
    const got: string[] = [];
    await b.subscribe(topic, (_t, p) => got.push(p.toString()));
    await waitFor(() => got.length === 1, 'retained');
    expect(got).toEqual(['online']);
    await a.publish(topic, Buffer.alloc(0), { qos: 1, retain: true });
    const c = await connect({ clientId: uniq('c'), clean: true });
    const late: string[] = [];
    await c.subscribe(topic, (_t, p) => late.push(p.toString()));
    await new Promise((r) => setTimeout(r, 100));
    expect(late).toEqual([]);
  });

  it('keeps QoS 1 messages for a persistent session while the client is away', async () => {
    const topic = `${uniq('q')}/jobs`;
    const id = uniq('persistent');
    const rig = await connect({ clientId: id, clean: false });
    await rig.subscribe(topic, () => undefined, { qos: 1 });
    await rig.kill();
    const orch = await connect({ clientId: uniq('o'), clean: true });
    await orch.publish(topic, 'job-1', { qos: 1 });
    const back = await connect({ clientId: id, clean: false });
    const got: string[] = [];
    await back.subscribe(topic, (_t, p) => got.push(p.toString()), { qos: 1 });
    await waitFor(() => got.length === 1, 'queued message after reconnect');
    expect(got).toEqual(['job-1']);
    await back.close();
    await connect({ clientId: id, clean: true }); // end the session on a shared broker
  });

  it('publishes the Last Will on an unclean drop, not on a clean close', async () => {
    const topic = `${uniq('w')}/status`;
    const watcher = await connect({ clientId: uniq('watch'), clean: true });
    const got: string[] = [];
    await watcher.subscribe(topic, (_t, p) => got.push(p.toString()));
    const polite = await connect({ clientId: uniq('polite'), clean: true, will: { topic, payload: 'polite-gone', qos: 1 } });
    await polite.close();
    const crash = await connect({ clientId: uniq('crash'), clean: true, will: { topic, payload: 'crashed', qos: 1 } });
    await crash.kill();
    await waitFor(() => got.includes('crashed'), 'will');
    expect(got).toEqual(['crashed']);
  });
});
