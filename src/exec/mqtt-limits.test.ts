/**
 * The compute wire against a broker that refuses or goes away (issue #21 scale review), each
 * on a Mosquitto of its own: a broker's Maximum Packet Size (max_packet_size) read from its
 * CONNACK, close() and stop() with the broker gone, and two workers started with one --id
 * (diff review 55d5660: exactly one leaves, under the committed ACL too; a lab's own client ids).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoProcess } from '../../robots/testing/brokers.js';
import { uniq, waitFor } from '../../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import { MqttExecutor } from './mqtt-executor.js';
import { COMPUTE_PROTOCOL, computeTopics, MIN_BROKER_PACKET_BYTES, type ComputeKind, type WorkerStatus } from './mqtt-wire.js';
import { startedFirst, startMqttWorker, workerClientId, type MqttWorker } from './mqtt-worker.js';
import { PoolClosedError } from './worker-pool.js';

const taskKinds: Record<string, ComputeKind> = { echo: 'physics' };
const echo = (p: unknown) => p;

const skip = skipWithout(await mosquittoMissing('binary'), 'MQTT compute limits');

describe.skipIf(skip)('compute wire: broker limits and a broker gone', () => {
  const brokers: MosquittoProcess[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c().catch(() => undefined);
    for (const b of brokers.splice(0)) await b.close();
  });
  async function broker(extra: string[] = [], secure: { users?: Record<string, string>; acl?: string } = {}) {
    const b = await startMosquitto({ extra, ...secure });
    brokers.push(b);
    return b;
  }
  async function worker(url: string, lab: string, workerId: string, log?: (l: string) => void, statusEveryMs?: number, auth: { username?: string; password?: string } = {}) {
    const w = await startMqttWorker({ url, lab, workerId, kinds: ['physics'], handlers: { echo }, taskKinds, heartbeatMs: 200, log, statusEveryMs, ...auth });
    cleanups.push(() => w.kill());
    return w;
  }
  async function producer(url: string, lab: string, more: { ackTimeoutMs?: number; maxAttempts?: number; username?: string; password?: string } = {}) {
    const ex = await MqttExecutor.connect({ url, lab, kinds: taskKinds, ...more });
    cleanups.push(() => ex.close());
    return ex;
  }

  it('a broker whose Maximum Packet Size cannot carry a blob chunk is refused at connect, by both ends, naming the setting', async () => {
    const b = await broker(['max_packet_size 70000']);
    await expect(MqttExecutor.connect({ url: b.url, lab: 'small', kinds: taskKinds })).rejects.toThrow(/at most 70000 bytes.*max_packet_size.*at least 263168/);
    await expect(startMqttWorker({ url: b.url, lab: 'small', workerId: 'w', kinds: ['physics'], handlers: { echo }, taskKinds })).rejects.toThrow(/at most 70000 bytes/);
    expect(MIN_BROKER_PACKET_BYTES).toBe(263168);
  });

  it('a task and a result over the broker\'s Maximum Packet Size send their arrays as blobs instead of being dropped with the connection', async () => {
    // Room for a blob chunk, not for 180 kB of inline arrays (240 kB of base64) plus 40 kB of plain JSON.
    const b = await broker(['max_packet_size 270000']);
    const lab = uniq('fit');
    await worker(b.url, lab, 'fw');
    const ex = await producer(b.url, lab, { ackTimeoutMs: 2000, maxAttempts: 2 });
    await ex.waitForCapacity('physics', 1);
    const arrays = Array.from({ length: 3 }, (_, i) => new Uint8Array(60_000).fill(i + 1));
    const plain = Array.from({ length: 20_000 }, (_, i) => i % 10);
    const back = await ex.run<{ arrays: Uint8Array[]; plain: number[] }>('echo', { arrays, plain });
    expect(back.arrays.map((a) => [a.length, a[0]])).toEqual([[60_000, 1], [60_000, 2], [60_000, 3]]);
    expect(back.plain).toEqual(plain);
    expect(ex.stats.redelivered).toBe(0);
  });

  it('close() with a task the broker never acknowledges resolves, and fails the task (no unsettled await)', async () => {
    const b = await broker();
    const lab = uniq('gone');
    await worker(b.url, lab, 'gw');
    const ex = await producer(b.url, lab);
    await ex.waitForCapacity('physics', 1);
    // The broker stops answering (as one that drops the connection at each packet, or a dead
    // host before the keepalive notices): the task is published, and never acknowledged.
    process.kill(b.pid!, 'SIGSTOP');
    cleanups.push(async () => process.kill(b.pid!, 'SIGCONT'));
    const outcome = ex.run('echo', { a: new Uint8Array(10) }).then(() => 'resolved', (e: Error) => e);
    await new Promise((r) => setTimeout(r, 100));
    await ex.close();
    expect(await outcome).toBeInstanceOf(PoolClosedError);
  }, 60_000);

  it('a worker stops (SIGTERM) while its broker is unreachable, without waiting for the broker to return', async () => {
    const b = await broker();
    const w = await worker(b.url, uniq('down'), 'dw');
    await b.close();
    await w.stop();
    expect(w.running).toBe(0);
  }, 60_000);

  /** Statuses seen on a lab's worker status topics, in arrival order. */
  async function watchStatus(url: string, lab: string, auth: { username?: string; password?: string } = {}) {
    const seen: Array<Partial<WorkerStatus> & { topic: string }> = [];
    const c = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: uniq('watch'), reconnectPeriod: 0, ...auth });
    cleanups.push(() => c.endAsync(true));
    c.on('message', (topic, payload) => seen.push({ topic, ...(payload.length ? (JSON.parse(payload.toString()) as WorkerStatus) : {}) }));
    await c.subscribeAsync(computeTopics(lab).allStatus, { qos: 1 });
    return seen;
  }
  /**
   * Two workers with one id: waits until one has stopped and the other has then said online
   * twice (a reconnect after the leaver's last connect, and a refresh: by then it has read
   * whatever the leaver left on the topic), then checks that exactly one stopped.
   */
  async function exactlyOneLeaves(url: string, lab: string, a: MqttWorker, b: MqttWorker, lines: string[], seen: Array<Partial<WorkerStatus>>, auth: { username?: string; password?: string } = {}) {
    let aLost = false;
    let bLost = false;
    void a.lost.then(() => (aLost = true));
    void b.lost.then(() => (bLost = true));
    const e = await Promise.race([a.lost, b.lost]);
    expect(e.message).toMatch(/another worker connected with the same id "same".*started earlier.*give each worker its own --id/);
    const [leaver, stayer] = aLost ? [a, b] : [b, a];
    const mark = seen.length;
    await waitFor(() => seen.slice(mark).filter((s) => s.instance === stayer.instance && s.status === 'online').length >= 2, 'two online statuses of the worker that stays, after the other left');
    expect(aLost && bLost).toBe(false);
    expect(lines.filter((l) => l.includes('session over'))).toHaveLength(1);
    // The earlier-started one left (the rule both compute alike), and the other serves.
    expect(startedFirst(statusOf(seen, leaver), statusOf(seen, stayer))).toBe(true);
    const ex = await producer(url, lab, auth.username ? { username: 'orchestrator', password: 'orch-secret' } : {});
    await ex.waitForCapacity('physics', 1);
    expect(await ex.run('echo', { x: 1 })).toEqual({ x: 1 });
  }
  const statusOf = (seen: Array<Partial<WorkerStatus>>, w: MqttWorker) => seen.find((s) => s.instance === w.instance) as { started?: string; instance?: string };

  it('two workers with the same id take the session from each other: exactly one, the earlier-started, says so and stops, instead of taking it back without end', async () => {
    const b = await broker();
    const lab = uniq('dup');
    const seen = await watchStatus(b.url, lab);
    const lines: string[] = [];
    const first = await worker(b.url, lab, 'same', (l) => lines.push(l), 1000);
    const second = await worker(b.url, lab, 'same', (l) => lines.push(l), 1000);
    await exactlyOneLeaves(b.url, lab, first, second, lines, seen);
  }, 60_000);

  it('a worker that reads an earlier-started instance\'s Last Will under its id stays: that one leaves (a leaver slow to disconnect made both leave)', async () => {
    const b = await broker();
    const lab = uniq('slow');
    const t = computeTopics(lab);
    const lines: string[] = [];
    const w = await worker(b.url, lab, 'same', (l) => lines.push(l));
    let lost = false;
    void w.lost.then(() => (lost = true));
    // The other instance, started a minute earlier, connects with the worker's client id (taking
    // its session) and then is too busy to leave: the worker reconnects, takes the session back,
    // and reads this one's Last Will.
    const will = { v: COMPUTE_PROTOCOL, workerId: 'same', status: 'offline', kinds: ['physics'], tasks: ['echo'], concurrency: 1, instance: 'older', started: new Date(Date.now() - 60_000).toISOString(), at: new Date().toISOString() };
    const older = await mqtt.connectAsync(b.url, { protocolVersion: 5, clientId: workerClientId(lab, 'same'), reconnectPeriod: 0, will: { topic: t.status('same'), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true } });
    cleanups.push(() => older.endAsync(true));
    await waitFor(() => lines.some((l) => l.includes('instance older')) || lost, 'the worker reading the other instance\'s Last Will', 20_000);
    expect(lines.filter((l) => l.includes('session over'))).toEqual([]);
    expect(lines.find((l) => l.includes('instance older'))).toMatch(/that one started earlier and is the one to leave; this one stays/);
    const ex = await producer(b.url, lab);
    await ex.waitForCapacity('physics', 1);
    expect(await ex.run('echo', { x: 2 })).toEqual({ x: 2 });
    expect(lost).toBe(false);
  }, 60_000);

  it('a worker that reads a later-started instance\'s status under its id leaves, naming it', async () => {
    const b = await broker();
    const lab = uniq('newer');
    const t = computeTopics(lab);
    const w = await worker(b.url, lab, 'same');
    const will = { v: COMPUTE_PROTOCOL, workerId: 'same', status: 'offline', kinds: ['physics'], tasks: ['echo'], concurrency: 1, instance: 'newer', host: 'elsewhere', started: new Date(Date.now() + 60_000).toISOString(), at: new Date().toISOString() };
    const newer = await mqtt.connectAsync(b.url, { protocolVersion: 5, clientId: workerClientId(lab, 'same'), reconnectPeriod: 0, will: { topic: t.status('same'), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true } });
    cleanups.push(() => newer.endAsync(true));
    expect((await w.lost).message).toMatch(/instance newer on elsewhere.*this one, started earlier .*, stops/);
  }, 60_000);

  it('under the committed ACL (configs/mosquitto/acl), two workers with one id on the compute login: exactly one stops', async () => {
    const acl = readFileSync(fileURLToPath(new URL('../../configs/mosquitto/acl', import.meta.url)), 'utf8');
    const pw = { orchestrator: 'orch-secret', compute: 'compute-secret' };
    const b = await broker([], { users: pw, acl });
    const lab = uniq('acldup');
    const seen = await watchStatus(b.url, lab, { username: 'orchestrator', password: pw.orchestrator });
    const lines: string[] = [];
    const auth = { username: 'compute', password: pw.compute };
    const first = await worker(b.url, lab, 'same', (l) => lines.push(l), 1000, auth);
    const second = await worker(b.url, lab, 'same', (l) => lines.push(l), 1000, auth);
    expect(lines.filter((l) => l.includes('warning'))).toEqual([]);
    await exactlyOneLeaves(b.url, lab, first, second, lines, seen, auth);
  }, 60_000);

  it('a login that may only write its status topic (the ACL before): the worker warns that the duplicate-id check is off', async () => {
    const acl = 'user compute\ntopic read poreloop/v1/+/compute/tasks/#\ntopic write poreloop/v1/+/compute/replies/+\ntopic readwrite poreloop/v1/+/compute/blobs/#\ntopic write poreloop/v1/+/compute/workers/+/status\n';
    const b = await broker([], { users: { compute: 'c' }, acl });
    const lines: string[] = [];
    await worker(b.url, uniq('wo'), 'w', (l) => lines.push(l), 200, { username: 'compute', password: 'c' });
    await waitFor(() => lines.some((l) => l.includes('warning')), 'a warning', 20_000);
    expect(lines.find((l) => l.includes('warning'))).toMatch(/own status did not come back: the broker does not let this login read .*topic readwrite poreloop\/v1\/\+\/compute\/workers\/\+\/status/);
  }, 60_000);

  it('the same --id on two labs of one broker: two client ids, no takeover', async () => {
    expect(workerClientId('lab-a', 'same')).not.toBe(workerClientId('lab-b', 'same'));
    const long = 'x'.repeat(60);
    expect(workerClientId(`${long}1`, 'w')).not.toBe(workerClientId(`${long}2`, 'w'));
    const b = await broker();
    const [labA, labB] = [uniq('la'), uniq('lb')];
    const seenA = await watchStatus(b.url, labA);
    const seenB = await watchStatus(b.url, labB);
    const a = await worker(b.url, labA, 'same');
    await waitFor(() => seenA.some((s) => s.status === 'online'), 'lab A online');
    const w2 = await worker(b.url, labB, 'same');
    // Had the second connect taken the first's session, lab A's Last Will (offline) would have
    // been published before the second's CONNACK, so before its online status arrives.
    await waitFor(() => seenB.some((s) => s.instance === w2.instance && s.status === 'online'), 'lab B online');
    expect(seenA.filter((s) => s.instance === a.instance).map((s) => s.status)).toEqual(['online']);
  }, 60_000);
});
