/**
 * The compute wire against a broker that refuses or goes away (issue #21 scale review), each
 * on a Mosquitto of its own: a broker's Maximum Packet Size (max_packet_size) read from its
 * CONNACK, close() and stop() with the broker gone, and two workers started with one --id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoProcess } from '../../robots/testing/brokers.js';
import { uniq } from '../../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import { MqttExecutor } from './mqtt-executor.js';
import { MIN_BROKER_PACKET_BYTES, type ComputeKind } from './mqtt-wire.js';
import { startMqttWorker, type MqttWorker } from './mqtt-worker.js';
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
  async function broker(extra: string[] = []) {
    const b = await startMosquitto({ extra });
    brokers.push(b);
    return b;
  }
  async function worker(url: string, lab: string, workerId: string, log?: (l: string) => void) {
    const w = await startMqttWorker({ url, lab, workerId, kinds: ['physics'], handlers: { echo }, taskKinds, heartbeatMs: 200, log });
    cleanups.push(() => w.kill());
    return w;
  }
  async function producer(url: string, lab: string, more: { ackTimeoutMs?: number; maxAttempts?: number } = {}) {
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

  it('close() after the broker went away resolves too', async () => {
    const b = await broker();
    const lab = uniq('gone');
    await worker(b.url, lab, 'gw2');
    const ex = await producer(b.url, lab);
    await ex.waitForCapacity('physics', 1);
    await b.close();
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

  it('two workers with the same id take the session from each other: one says so and stops, instead of taking it back without end', async () => {
    const b = await broker();
    const lab = uniq('dup');
    const lines: string[] = [];
    const first: MqttWorker = await worker(b.url, lab, 'same', (l) => lines.push(l));
    const second: MqttWorker = await worker(b.url, lab, 'same', (l) => lines.push(l));
    const e = await Promise.race([first.lost, second.lost]);
    expect(e.message).toMatch(/another worker connected with the same id "same".*give each worker its own --id/);
    expect(lines.some((l) => l.includes('took this one\'s session over'))).toBe(true);
    expect(lines.filter((l) => l.includes('session over'))).toHaveLength(1);
    // The other keeps the session and serves.
    const ex = await producer(b.url, lab);
    await ex.waitForCapacity('physics', 1);
    expect(await ex.run('echo', { x: 1 })).toEqual({ x: 1 });
  }, 60_000);
});
