/**
 * Compute workers over MQTT 5 (issue #21) against a real Mosquitto started for this file:
 * shared subscription, correlation data + response topic, blobs, a killed worker's task
 * finishing elsewhere exactly once, and a bad payload answered with an error.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, uniq, waitFor, type MosquittoProcess } from '../../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import { MqttExecutor, WorkerLostError } from './mqtt-executor.js';
import { computeTopics, decodeValue, encodeValue, type ComputeKind } from './mqtt-wire.js';
import { startMqttWorker, type MqttWorker } from './mqtt-worker.js';
import { TaskError } from './worker-pool.js';

const taskKinds: Record<string, ComputeKind> = { sum: 'physics', hold: 'physics', fail: 'physics' };

describe('wire codec', () => {
  it('keeps typed arrays (inline and as blobs) and non-finite numbers', () => {
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) % 3);
    const v = { tau: Infinity, nan: NaN, neg: -Infinity, small: new Float32Array([1.5, -2]), big };
    const enc = encodeValue(v);
    expect(enc.blobs.size).toBe(1);
    // gzip on a 3-label volume: far smaller than the raw bytes.
    expect([...enc.blobs.values()][0].length).toBeLessThan(big.length / 4);
    const back = decodeValue(enc.json, enc.blobs) as typeof v;
    expect(back.tau).toBe(Infinity);
    expect(back.neg).toBe(-Infinity);
    expect(Number.isNaN(back.nan)).toBe(true);
    expect(back.small).toBeInstanceOf(Float32Array);
    expect([...back.small]).toEqual([1.5, -2]);
    expect(back.big).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(back.big), Buffer.from(big))).toBe(0);
  });
});

const skip = skipWithout(await mosquittoMissing('binary'), 'MQTT compute workers');

describe.skipIf(skip)('MQTT 5 compute workers on Mosquitto', () => {
  let m: MosquittoProcess;
  beforeAll(async () => {
    m = await startMosquitto({});
  });
  afterAll(async () => {
    await m?.close();
  });

  const started: MqttWorker[] = [];
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined);
    for (const w of started) await w.kill().catch(() => undefined);
  });

  async function worker(lab: string, id: string, handlers: Record<string, (p: any) => unknown>, calls: string[]) {
    const wrapped = Object.fromEntries(Object.entries(handlers).map(([k, f]) => [k, (p: unknown) => (calls.push(`${id}:${k}`), f(p))]));
    const w = await startMqttWorker({ url: m.url, lab, workerId: id, kinds: ['physics'], handlers: wrapped, taskKinds, heartbeatMs: 200 });
    started.push(w);
    return w;
  }
  async function producer(lab: string) {
    const ex = await MqttExecutor.connect({ url: m.url, lab, kinds: taskKinds, ackTimeoutMs: 3000, leaseMs: 3000 });
    closers.push(() => ex.close());
    return ex;
  }

  it('a worker takes tasks from the shared subscription and answers each once, large arrays as blobs', async () => {
    const lab = uniq('share');
    const calls: string[] = [];
    const sum = (p: { data: Uint8Array; tag: number }) => ({ tag: p.tag, total: p.data.reduce((a, b) => a + b, 0), tau: Infinity, echo: p.data });
    await worker(lab, 'w1', { sum }, calls);
    await worker(lab, 'w2', { sum }, calls);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 2);
    const data = new Uint8Array(300_000).map((_, i) => i % 2);
    const results = await Promise.all(Array.from({ length: 6 }, (_, tag) => ex.run<ReturnType<typeof sum>>('sum', { data, tag })));
    expect(results.map((r) => r.tag)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const r of results) {
      expect(r.total).toBe(150_000);
      expect(r.tau).toBe(Infinity);
      expect(Buffer.compare(Buffer.from(r.echo), Buffer.from(data))).toBe(0);
    }
    // Each task ran once; the shared subscription spread them over both workers.
    expect(calls).toHaveLength(6);
    expect(new Set(calls.map((c) => c.split(':')[0]))).toEqual(new Set(['w1', 'w2']));
    expect(ex.stats.duplicates).toBe(0);
    // The same id while pending is the same task.
    const a = ex.run('sum', { data: new Uint8Array([1, 2]), tag: 9 }, { id: 'same' });
    const b = ex.run('sum', { data: new Uint8Array([1, 2]), tag: 9 }, { id: 'same' });
    expect(a).toBe(b);
    await a;
  });

  it('a worker killed mid-task: the task is sent again, finishes on another worker, and settles once', async () => {
    const lab = uniq('kill');
    const calls: string[] = [];
    // The first worker never finishes (as if its process hung and then died).
    const a = await worker(lab, 'dies', { hold: () => new Promise(() => {}) }, calls);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 1);
    const result = ex.run<{ by: string }>('hold', { x: 1 });
    await waitFor(() => calls.length === 1, 'the first worker took the task');
    // Start the survivor only now, so the first delivery surely went to the worker that dies.
    await worker(lab, 'lives', { hold: () => ({ by: 'lives' }) }, calls);
    await a.kill(); // no DISCONNECT: the broker publishes its Last Will (status offline)
    expect((await result).by).toBe('lives');
    expect(calls).toEqual(['dies:hold', 'lives:hold']);
    expect(ex.stats.redelivered).toBe(1);
    expect(ex.stats.completed).toBe(1);
    expect(ex.pending).toBe(0);
  });

  it('a task with a deadline and no worker to take it fails at the deadline, not never', async () => {
    const ex = await producer(uniq('deadline'));
    const err = (await ex.run('sum', { data: new Uint8Array(1) }, { deadlineMs: 300 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.message).toMatch(/passed its deadline/);
    expect(ex.pending).toBe(0);
  });

  it('a bad payload gets an error answer naming the field; the worker goes on serving', async () => {
    const lab = uniq('bad');
    const calls: string[] = [];
    const w = await worker(lab, 'w', { sum: (p: { data: Uint8Array }) => p.data.length, fail: () => { throw new RangeError('porosity out of range'); } }, calls);
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    const replies: Array<{ corr?: string; body: { type: string; error?: { message: string } } }> = [];
    const t = computeTopics(lab);
    raw.on('message', (_topic, payload, packet) => replies.push({ corr: packet.properties?.correlationData?.toString(), body: JSON.parse(payload.toString()) }));
    await raw.subscribeAsync(t.replies('raw'), { qos: 1 });
    const props = (c: string) => ({ qos: 1 as const, properties: { responseTopic: t.replies('raw'), correlationData: Buffer.from(c) } });
    await raw.publishAsync(t.tasks('physics'), 'this is not json', props('c1'));
    await raw.publishAsync(t.tasks('physics'), JSON.stringify({ v: 1, id: 'x', task: 'sum', payload: '{}' }), props('c2'));
    // A task whose deadline has passed (the broker's message expiry did not drop it: it was sent late).
    await raw.publishAsync(t.tasks('physics'), JSON.stringify({ v: 1, id: 'late', task: 'sum', payload: '{}', blobs: [], deadline: new Date(Date.now() - 1000).toISOString() }), props('c3'));
    await waitFor(() => replies.length === 3, 'three error replies');
    expect(replies.find((r) => r.corr === 'c1')!.body.error!.message).toMatch(/task: not JSON/);
    expect(replies.find((r) => r.corr === 'c2')!.body.error!.message).toMatch(/task\.blobs: expected a list/);
    expect(replies.find((r) => r.corr === 'c3')!.body.error!.message).toMatch(/arrived after its deadline/);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 1);
    // A handler that throws: the caller gets a TaskError with the handler's name and message.
    const err = (await ex.run('fail', {}).catch((e: unknown) => e)) as TaskError;
    expect(err).toBeInstanceOf(TaskError);
    expect(err.remoteName).toBe('RangeError');
    expect(err.message).toBe('porosity out of range');
    // And the worker is still there.
    expect(await ex.run('sum', { data: new Uint8Array([1, 2, 3]) })).toBe(3);
    expect(w.failed).toBe(4);
  });
});
