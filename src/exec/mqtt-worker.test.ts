/**
 * Compute workers over MQTT 5 (issue #21) against a real Mosquitto started for this file:
 * shared subscription, correlation data + response topic, blobs, a killed worker's task
 * finishing elsewhere exactly once, and a bad payload answered with an error.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { uniq, waitFor } from '../../robots/testing/brokers.js';
import { useMosquitto } from '../../robots/testing/mosquitto-suite.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import { MqttExecutor, WorkerLostError } from './mqtt-executor.js';
import { BlobFetcher, BlobFetchError, blobRef, blobRefsProblem, boundedId, CHUNK_BYTES, CLIENT_ID_MAX, COMPUTE_PROTOCOL, computeTopics, connectV5, decodeValue, encodeValue, INLINE_MAX_BYTES, LATE_TASK_ERROR, MAX_BLOB_BYTES, MAX_BLOBS_PER_MESSAGE, parseReply, parseWorkerStatus, publishBlob, WireError, type ComputeKind } from './mqtt-wire.js';
import { parseTask, startMqttWorker, workerClientId, type MqttWorker } from './mqtt-worker.js';
import { TaskError } from './worker-pool.js';

const taskKinds: Record<string, ComputeKind> = { sum: 'physics', hold: 'physics', fail: 'physics' };

describe('wire codec', () => {
  it('refuses a status or reply of another wire version, naming the field (version 2: blob references carry their owner)', () => {
    const status = { workerId: 'w', status: 'online', kinds: ['physics'], tasks: ['sum'], concurrency: 1, at: new Date().toISOString() };
    expect(parseWorkerStatus(Buffer.from(JSON.stringify({ v: COMPUTE_PROTOCOL, ...status }))).workerId).toBe('w');
    expect(() => parseWorkerStatus(Buffer.from(JSON.stringify({ v: 1, ...status })))).toThrow(/^status\.v: /);
    expect(() => parseReply(Buffer.from(JSON.stringify({ v: 1, id: 'x', type: 'accepted', workerId: 'w' })))).toThrow(/^reply\.v: /);
    expect(COMPUTE_PROTOCOL).toBe(2);
    // Replies may echo the task's attempt (optional within version 2); a task's attempt, echoed, must be one.
    expect(parseReply(Buffer.from(JSON.stringify({ v: 2, id: 'x', type: 'accepted', workerId: 'w', attempt: 3 }))).attempt).toBe(3);
    expect(() => parseTask(Buffer.from(JSON.stringify({ v: 2, id: 'x', task: 'sum', payload: '{}', blobs: [], attempt: '2' })))).toThrow(/task\.attempt.*expected a positive integer, got "2"/);
  });

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

  it('caps the inline bytes of one message: many arrays at the inline limit go as blobs after the first few', () => {
    const arrays = Array.from({ length: 10 }, (_, i) => new Uint8Array(INLINE_MAX_BYTES).fill(i));
    const enc = encodeValue({ arrays });
    // 192 KiB of typed arrays inline (256 KiB of base64) and the rest by reference.
    expect(enc.json.length).toBeLessThan(256 * 1024 + 4096);
    expect(enc.blobs.size).toBe(7);
    const back = decodeValue(enc.json, enc.blobs) as { arrays: Uint8Array[] };
    expect(back.arrays.map((a) => a[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses typed-array names that are not its own and lengths that are not whole elements (issue #21)', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() => decodeValue(JSON.stringify({ $ta: name, b64: 'AAAA' })), name).toThrow(/unknown typed array.*expected one of Uint8Array/);
    }
    expect(() => decodeValue('{"$ta":"Float64Array","b64":"AAA="}')).toThrow(WireError);
    expect(() => decodeValue('{"$ta":"Float64Array","b64":"AAA="}')).toThrow(/Float64Array of 2 bytes: expected a multiple of 8/);
    expect([...(decodeValue('{"$ta":"Uint16Array","b64":"AQACAA=="}') as Uint16Array)]).toEqual([1, 2]);
  });

  it('client ids stay within 64 characters and distinct for ids that differ only past the cut (issue #21)', () => {
    const pod = 'poreloop-compute-physics-deployment-5f7d8c9b6-x2-';
    const a = boundedId('poreloop-worker-', `${pod}abcde-1`);
    const b = boundedId('poreloop-worker-', `${pod}fghij-1`);
    expect(a).not.toBe(b);
    for (const id of [a, b]) expect(id.length).toBeLessThanOrEqual(CLIENT_ID_MAX);
    expect(a.startsWith('poreloop-worker-poreloop-compute-physics')).toBe(true);
    // Short ids stay as they were, readable.
    expect(boundedId('poreloop-worker-', 'node7-1234')).toBe('poreloop-worker-node7-1234');
  });

  it("a worker's client id names its lab and id without /, + or #, which `%c` ACL patterns skip (diff review D, item 3)", () => {
    expect(workerClientId('lab-a', 'node7')).toBe('poreloop-worker-lab-a:node7');
    expect(workerClientId('lab-a', 'node7')).not.toBe(workerClientId('lab-b', 'node7'));
    expect(workerClientId('lab.a', 'x_1')).not.toMatch(/[/+#]/);
  });

  it('refuses blob references that would make a peer buffer without bound', () => {
    const sha = 'a'.repeat(64);
    const owner = 'p-1';
    expect(blobRefsProblem([{ owner, sha, size: 10, chunks: 1 }])).toBeUndefined();
    expect(blobRefsProblem([{ owner, sha, size: CHUNK_BYTES + 1, chunks: 2 }])).toBeUndefined();
    expect(blobRefsProblem([{ owner, sha, size: 10, chunks: 1_000_000 }])).toMatch(/\[0\]\.chunks: expected ceil\(size \/ 262144\) = 1, got 1000000/);
    expect(blobRefsProblem([{ owner, sha, size: MAX_BLOB_BYTES + 1, chunks: Math.ceil((MAX_BLOB_BYTES + 1) / CHUNK_BYTES) }])).toMatch(/\[0\]\.size: expected an integer from 1/);
    expect(blobRefsProblem([{ owner, sha: 'x', size: 1, chunks: 1 }])).toMatch(/\[0\]\.sha/);
    // The owner is one topic level of the blob's topics: no wildcard, no second level.
    for (const bad of [undefined, '', 'a/b', '+', '#', 'x'.repeat(201)]) expect(blobRefsProblem([{ owner: bad, sha, size: 1, chunks: 1 }]), String(bad)).toMatch(/\[0\]\.owner: expected 1–200 characters without/);
    expect(blobRefsProblem(Array.from({ length: MAX_BLOBS_PER_MESSAGE + 1 }, () => ({ owner, sha, size: 1, chunks: 1 })))).toMatch(/at most 16 blob references/);
    expect(blobRefsProblem(Array.from({ length: 3 }, () => ({ owner, sha, size: MAX_BLOB_BYTES, chunks: MAX_BLOB_BYTES / CHUNK_BYTES })))).toMatch(/blob bytes in all/);
    // The producer refuses to build such a message in the first place.
    const many = Array.from({ length: MAX_BLOBS_PER_MESSAGE + 4 }, (_, i) => new Uint8Array(INLINE_MAX_BYTES + 1).fill(i));
    expect(() => encodeValue(many)).toThrow(WireError);
  });
});

const skip = skipWithout(await mosquittoMissing('binary'), 'MQTT compute workers');

describe.skipIf(skip)('MQTT 5 compute workers on Mosquitto', () => {
  const m = useMosquitto();

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
    // At least one resend (the will, or the lease on a loaded machine, may both trigger one);
    // whatever the count, the task settled exactly once.
    expect(ex.stats.redelivered).toBeGreaterThanOrEqual(1);
    expect(ex.stats.completed).toBe(1);
    expect(ex.stats.failed).toBe(0);
    expect(ex.pending).toBe(0);
  });

  it('equal bytes still in use survive another task clearing them: another producer\'s volume, a result of this producer\'s (issue #21)', async () => {
    const lab = uniq('owners');
    const kinds: Record<string, ComputeKind> = { sum: 'physics', gen: 'twin' };
    const vol = new Uint8Array(300_000).map((_, i) => i % 7);
    const total = vol.reduce((a, b) => a + b, 0);
    const sum = (p: { v: Uint8Array }) => p.v.reduce((a, b) => a + b, 0);
    const start = async (workerId: string, kind: ComputeKind, handlers: Record<string, (p: any) => unknown>) => {
      const w = await startMqttWorker({ url: m.url, lab, workerId, kinds: [kind], handlers, taskKinds: kinds, heartbeatMs: 200, blobTimeoutMs: 2000 });
      started.push(w);
      return w;
    };
    const campaign = async () => {
      const ex = await MqttExecutor.connect({ url: m.url, lab, kinds, ackTimeoutMs: 3000, leaseMs: 3000 });
      closers.push(() => ex.close());
      return ex;
    };
    // B's task on the volume goes to a worker that then hangs: B's blob must stay for the next one.
    const holder = await start('holder', 'physics', { sum: () => new Promise(() => {}) });
    const b = await campaign();
    await b.waitForCapacity('physics', 1);
    const pb = b.run<number>('sum', { v: vol });
    await waitFor(() => holder.running === 1, 'the holder took B\'s task');
    // Campaign A sends the same bytes (a deterministic twin, the same seed), finishes, clears its blob.
    const quick = await start('quick', 'physics', { sum });
    const a = await campaign();
    await a.waitForCapacity('physics', 2);
    expect(await a.run('sum', { v: vol })).toBe(total);
    await quick.stop();
    // B gets the same bytes back as a result and clears those once collected.
    await start('twin', 'twin', { gen: () => vol });
    await b.waitForCapacity('twin', 1);
    expect(Buffer.compare(Buffer.from(await b.run<Uint8Array>('gen', {})), Buffer.from(vol))).toBe(0);
    // The holder dies; a fresh worker (nothing cached) takes B's task and fetches B's blob.
    await holder.kill();
    await start('late', 'physics', { sum });
    expect(await pb).toBe(total);
  });

  it('a task resent after more than half the blob expiry uploads its blob again before the send (issue #21)', async () => {
    const lab = uniq('expiry');
    const ex = await MqttExecutor.connect({ url: m.url, lab, kinds: taskKinds, blobExpiryS: 2 });
    closers.push(() => ex.close());
    // The first worker fetches the blob, then hangs on the task past the blob's expiry.
    const holder = await startMqttWorker({ url: m.url, lab, workerId: 'holder', kinds: ['physics'], handlers: { sum: () => new Promise(() => {}) }, taskKinds, heartbeatMs: 200 });
    started.push(holder);
    await ex.waitForCapacity('physics', 1);
    const data = new Uint8Array(300_000).map((_, i) => i % 2);
    const p = ex.run<number>('sum', { data });
    await waitFor(() => holder.running === 1, 'the holder took the task');
    await new Promise((r) => setTimeout(r, 3500)); // the blob, uploaded at the send, has expired on the broker
    // It dies; the resend goes to a fresh worker, which finds the blob uploaded again — not a
    // fetch that fails after its timeout and a further resend.
    const after = await startMqttWorker({ url: m.url, lab, workerId: 'after', kinds: ['physics'], handlers: { sum: (q: { data: Uint8Array }) => q.data.reduce((a, b) => a + b, 0) }, taskKinds, blobTimeoutMs: 5000 });
    started.push(after);
    await ex.waitForCapacity('physics', 2);
    await holder.kill();
    expect(await p).toBe(150_000);
    expect(after.failed).toBe(0);
    expect(ex.stats.redelivered).toBe(1);
  });

  it('a task settled mid-upload still clears its blob, and a failed upload is not reused (issue #21)', async () => {
    const lab = uniq('upload');
    const t = computeTopics(lab);
    await worker(lab, 'up', { sum: (p: { data: Uint8Array }) => p.data.length }, []);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 1);
    // The last message on each blob chunk topic says whether the chunk is still retained.
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    const chunks = new Map<string, number>();
    raw.on('message', (topic, payload) => chunks.set(topic, payload.length));
    await raw.subscribeAsync(`${t.root}/blobs/#`, { qos: 1 });
    // The producer's blob uploads: acknowledged only once `hold` settles (a slow link), or refused.
    const client = (ex as unknown as { client: MqttClient }).client;
    const publish = client.publishAsync.bind(client) as (topic: string, message: Buffer | string, o?: IClientPublishOptions) => Promise<unknown>;
    let hold: Promise<void> | undefined;
    let refuse = false;
    client.publishAsync = ((topic: string, message: Buffer | string, o?: IClientPublishOptions) => {
      if (!topic.startsWith(`${t.root}/blobs/`) || message.length === 0) return publish(topic, message, o);
      if (refuse) return Promise.reject(new Error('refused by the test'));
      const sent = publish(topic, message, o);
      return hold ? hold.then(() => sent) : sent;
    }) as never;
    let release!: () => void;
    hold = new Promise((r) => (release = r));
    const data = new Uint8Array(300_000).fill(5);
    await expect(ex.run('sum', { data }, { deadlineMs: 300 })).rejects.toBeInstanceOf(WorkerLostError);
    release();
    await waitFor(() => chunks.size > 0 && [...chunks.values()].every((n) => n === 0), 'the blob of the settled task cleared', 10_000);
    // An upload that failed fails its task; the next task on the same bytes uploads them again.
    refuse = true;
    await expect(ex.run('sum', { data })).rejects.toThrow(/refused by the test/);
    refuse = false;
    expect(await ex.run('sum', { data })).toBe(300_000);
  });

  it('a worker that cannot fetch the blobs or gets the task late is no task error: blobs uploaded again and resent, or WorkerLostError (issue #21)', async () => {
    const lab = uniq('infra');
    const t = computeTopics(lab);
    // A scripted worker: its answers to the task attempts, in order.
    const answers: Array<{ name: string; message: string } | 'result'> = [{ name: 'BlobFetchError', message: 'blob 0a1b: 0 of 1 chunks within 60000 ms (expired or cleared?)' }, 'result', { name: LATE_TASK_ERROR, message: 'task arrived after its deadline' }, { name: 'SimulationError', message: 'bad volume' }];
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('fake') });
    closers.push(() => raw.endAsync());
    let uploads = 0;
    raw.on('message', (topic, payload, packet) => {
      if (topic.includes('/blobs/')) return void (payload.length > 0 && uploads++);
      const task = JSON.parse(payload.toString()) as { id: string };
      const answer = answers.shift()!;
      const reply = answer === 'result' ? { type: 'result', value: '7', blobs: [], ms: 1 } : { type: 'error', error: answer };
      void raw.publishAsync(packet.properties!.responseTopic!, JSON.stringify({ v: 2, id: task.id, workerId: 'fake', ...reply }), { qos: 1, properties: { correlationData: packet.properties!.correlationData } });
    });
    await raw.subscribeAsync([t.sharedTasks('physics'), `${t.root}/blobs/#`], { qos: 1 });
    await raw.publishAsync(t.status('fake'), JSON.stringify({ v: 2, workerId: 'fake', status: 'online', kinds: ['physics'], tasks: ['sum'], concurrency: 1, at: new Date().toISOString() }), { qos: 1, retain: true });
    closers.push(async () => void (await raw.publishAsync(t.status('fake'), '', { qos: 1, retain: true })));
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 1);
    expect(await ex.run('sum', { data: new Uint8Array(300_000).fill(1) })).toBe(7);
    expect(ex.stats.redelivered).toBe(1);
    expect(uploads).toBe(2); // the blob went up again before the resend
    await expect(ex.run('sum', {})).rejects.toBeInstanceOf(WorkerLostError);
    // The task's own error stays the task's.
    const own = (await ex.run('sum', {}).catch((e: unknown) => e)) as TaskError;
    expect(own).toBeInstanceOf(TaskError);
    expect(own.remoteName).toBe('SimulationError');
  });

  /**
   * A scripted worker (one client standing for several worker ids, advertising 2 slots) and a
   * producer with a 3 s ack timeout: only an event loop stalled longer than that (a loaded CI
   * machine) could send an attempt the script does not expect. `onTask` gets each send and a
   * `reply` that answers it with the given body.
   */
  async function scripted(lab: string, onTask: (attempt: number, reply: (body: object) => Promise<unknown>) => void) {
    const t = computeTopics(lab);
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('fake') });
    closers.push(() => raw.endAsync());
    raw.on('message', (_topic, payload, packet) => {
      const task = JSON.parse(payload.toString()) as { id: string; attempt: number };
      onTask(task.attempt, (body) => raw.publishAsync(packet.properties!.responseTopic!, JSON.stringify({ v: 2, id: task.id, ...body }), { qos: 1, properties: { correlationData: packet.properties!.correlationData } }));
    });
    await raw.subscribeAsync(t.sharedTasks('physics'), { qos: 1 });
    await raw.publishAsync(t.status('fake'), JSON.stringify({ v: 2, workerId: 'fake', status: 'online', kinds: ['physics'], tasks: ['sum'], concurrency: 2, at: new Date().toISOString() }), { qos: 1, retain: true });
    closers.push(async () => void (await raw.publishAsync(t.status('fake'), '', { qos: 1, retain: true })));
    const ex = await MqttExecutor.connect({ url: m.url, lab, kinds: taskKinds, ackTimeoutMs: 3000 });
    closers.push(() => ex.close());
    await ex.waitForCapacity('physics', 1);
    return { raw, ex, t };
  }

  it('a late BlobFetchError from an earlier attempt\'s worker does not abandon the attempt another worker runs (issue #21)', async () => {
    // The first attempt goes unanswered (its worker slow to fetch); the second is accepted by w2,
    // and only then does w1's fetch failure arrive, with and without its attempt.
    const sends: number[] = [];
    const { ex } = await scripted(uniq('stale'), (attempt, send) => {
      sends.push(attempt);
      if (attempt !== 2) return;
      const late = { type: 'error', workerId: 'w1', error: { name: 'BlobFetchError', message: 'blob 0a1b: 0 of 1 chunks within 60000 ms' } };
      void (async () => {
        await send({ type: 'accepted', workerId: 'w2', attempt: 2 });
        await send(late);
        await send({ ...late, attempt: 1 });
        await send({ ...late, error: { name: LATE_TASK_ERROR, message: 'task arrived after its deadline' }, attempt: 1 });
        await send({ type: 'result', workerId: 'w2', attempt: 2, value: '7', blobs: [], ms: 1 });
      })();
    });
    expect(await ex.run('sum', {})).toBe(7);
    expect(ex.stats.redelivered).toBe(1); // the unanswered first attempt only
    expect(sends).toEqual([1, 2]);
  });

  it('a late busy or accepted from an earlier attempt\'s worker neither requeues the attempt now sent nor moves it to that worker (issue #21)', async () => {
    // The first attempt goes unanswered; once the second is sent, w1's busy for the first arrives
    // (it requeued the task and reused attempt 2's number: run twice), then w2 accepts the second,
    // w1's accepted for the first arrives (it made w1 the holder), and w1 goes offline (that
    // sent the task a third time while w2 ran it).
    const sends: number[] = [];
    const { raw, ex, t } = await scripted(uniq('stale-ack'), (attempt, send) => {
      sends.push(attempt);
      if (attempt !== 2 || sends.length !== 2) return;
      void (async () => {
        await send({ type: 'busy', workerId: 'w1', attempt: 1 });
        await send({ type: 'accepted', workerId: 'w2', attempt: 2 });
        await send({ type: 'accepted', workerId: 'w1', attempt: 1 });
        await raw.publishAsync(t.status('w1'), '', { qos: 1, retain: true });
        await send({ type: 'result', workerId: 'w2', attempt: 2, value: '7', blobs: [], ms: 1 });
      })();
    });
    expect(await ex.run('sum', {})).toBe(7);
    expect(ex.stats.bounced).toBe(0);
    expect(ex.stats.redelivered).toBe(1); // the unanswered first attempt only
    expect(sends).toEqual([1, 2]);
  });

  it('close() while a result is collected waits for it and clears its input blob; a result blob that cannot be fetched is cleared too (issue #21)', async () => {
    const lab = uniq('closing');
    const t = computeTopics(lab);
    // A scripted worker whose result names a blob of two chunks, of which only the first arrives.
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('fake') });
    closers.push(() => raw.endAsync());
    const result = { owner: 'fake.1', sha: 'e'.repeat(64), size: CHUNK_BYTES + 10, chunks: 2 };
    await raw.publishAsync(t.blobChunk(result, 0), Buffer.alloc(CHUNK_BYTES, 1), { qos: 1, retain: true });
    let replied = false;
    raw.on('message', (topic, payload, packet) => {
      if (topic.includes('/blobs/')) return;
      const task = JSON.parse(payload.toString()) as { id: string };
      const reply = { v: 2, id: task.id, workerId: 'fake', type: 'result', value: '1', blobs: [result], ms: 1 };
      void raw.publishAsync(packet.properties!.responseTopic!, JSON.stringify(reply), { qos: 1, properties: { correlationData: packet.properties!.correlationData } }).then(() => (replied = true));
    });
    await raw.subscribeAsync(t.sharedTasks('physics'), { qos: 1 });
    await raw.publishAsync(t.status('fake'), JSON.stringify({ v: 2, workerId: 'fake', status: 'online', kinds: ['physics'], tasks: ['sum'], concurrency: 1, at: new Date().toISOString() }), { qos: 1, retain: true });
    closers.push(async () => void (await raw.publishAsync(t.status('fake'), '', { qos: 1, retain: true })));
    // The last message on each blob chunk topic says whether the chunk is still retained.
    const chunks = new Map<string, number>();
    const watch = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('watch') });
    closers.push(() => watch.endAsync());
    watch.on('message', (topic, payload) => chunks.set(topic, payload.length));
    await watch.subscribeAsync(`${t.root}/blobs/#`, { qos: 1 });
    const ex = await MqttExecutor.connect({ url: m.url, lab, kinds: taskKinds, blobTimeoutMs: 1500 });
    closers.push(() => ex.close());
    await ex.waitForCapacity('physics', 1);
    const run = ex.run('sum', { data: new Uint8Array(300_000).fill(3) }).catch((e: unknown) => e);
    await waitFor(() => replied && ex.pending === 0, 'the result received, its blob being fetched', 10_000);
    await ex.close();
    expect(await run).toBeInstanceOf(BlobFetchError);
    // The task's input blob and the result's chunks (the one retained, the one never sent): cleared, not left for their expiry.
    await waitFor(() => chunks.size === 3 && [...chunks.values()].every((n) => n === 0), 'the input blob and both result chunks cleared', 10_000);
  });

  it('a blob the broker lost: the worker says so, the producer uploads it again, the same worker fetches it anew (issue #21)', async () => {
    const lab = uniq('lost');
    const t = computeTopics(lab);
    // Long enough for the refetch (a SUBACK, the chunks) on a loaded machine; what is checked is the outcome.
    const w = await startMqttWorker({ url: m.url, lab, workerId: 'only', kinds: ['physics'], handlers: { sum: (p: { data: Uint8Array }) => p.data.length }, taskKinds, blobTimeoutMs: 5000 });
    started.push(w);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 1);
    // The first upload reaches no broker (as if it restarted without persistence) but is acknowledged.
    const client = (ex as unknown as { client: MqttClient }).client;
    const publish = client.publishAsync.bind(client) as (topic: string, message: Buffer | string, o?: IClientPublishOptions) => Promise<unknown>;
    let lose = true;
    client.publishAsync = ((topic: string, message: Buffer | string, o?: IClientPublishOptions) => {
      if (lose && topic.startsWith(`${t.root}/blobs/`) && message.length > 0) return ((lose = false), Promise.resolve(undefined));
      return publish(topic, message, o);
    }) as never;
    expect(await ex.run('sum', { data: new Uint8Array(300_000).fill(2) })).toBe(300_000);
    expect(ex.stats.redelivered).toBeGreaterThanOrEqual(1);
    expect(w.completed).toBe(1);
  });

  it('after the producer reconnects, a worker that stopped cleanly meanwhile is no longer counted online (issue #21)', async () => {
    const lab = uniq('stale');
    const w = await worker(lab, 'gone', { sum: () => 1 }, []);
    await worker(lab, 'stays', { sum: () => 1 }, []);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 2);
    const client = (ex as unknown as { client: MqttClient }).client;
    client.stream.destroy(); // the producer's connection drops
    await w.stop(); // and the worker clears its status while the producer is away
    await waitFor(() => client.connected && ex.workers().map((x) => x.workerId).join() === 'stays', 'the producer back, knowing only the worker still online', 10_000);
    await expect(ex.run('sum', {}, { noWorkerMs: 60_000 })).resolves.toBe(1);
  });

  it('a worker silent for 3 of its status intervals is counted gone, whatever its retained status says; time this process stood still is no silence (issue #21)', async () => {
    const lab = uniq('silent');
    const t = computeTopics(lab);
    // A retained "online" whose worker died with its Last Will lost (the broker restarted meanwhile).
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    await raw.publishAsync(t.status('ghost'), JSON.stringify({ v: 2, workerId: 'ghost', status: 'online', kinds: ['physics'], tasks: ['sum'], concurrency: 1, everyMs: 1000, at: new Date().toISOString() }), { qos: 1, retain: true });
    closers.push(async () => void (await raw.publishAsync(t.status('ghost'), '', { qos: 1, retain: true })));
    let release!: (v: number) => void;
    const gate = new Promise<number>((r) => (release = r));
    const live = await startMqttWorker({ url: m.url, lab, workerId: 'live', kinds: ['physics'], handlers: { hold: () => gate }, taskKinds, statusEveryMs: 1000, heartbeatMs: 200 });
    started.push(live);
    const ex = await producer(lab);
    await ex.waitForCapacity('physics', 2);
    await waitFor(() => ex.workers().map((w) => w.workerId).join() === 'live', 'the silent worker dropped', 10_000);
    // The live one, refreshing every second, stays.
    await new Promise((r) => setTimeout(r, 1000));
    expect(ex.workers().map((w) => w.workerId)).toEqual(['live']);
    // Nor is it dropped, or its task sent again, for the time this process stood still.
    const task = ex.run('hold', {});
    await waitFor(() => live.running === 1, 'the task taken');
    await new Promise((r) => setTimeout(r, 300)); // its accepted and a heartbeat read here
    const until = Date.now() + 4000; // past 3 status intervals and the 3-s lease
    while (Date.now() < until); // a long synchronous step: nothing is read meanwhile
    await new Promise((r) => setTimeout(r, 300));
    release(1);
    expect(await task).toBe(1);
    expect(ex.stats.redelivered).toBe(0);
    expect(ex.workers().map((w) => w.workerId)).toEqual(['live']);
  });

  it('a crashed worker\'s Last Will (offline) expires like its online status, not retained for good (issue #21)', async () => {
    const lab = uniq('will');
    const t = computeTopics(lab);
    const w = await startMqttWorker({ url: m.url, lab, workerId: 'crashes', kinds: ['physics'], handlers: { sum: () => 1 }, taskKinds, statusEveryMs: 1000 });
    started.push(w);
    const retained = async () => {
      const c = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('look') });
      const got: string[] = [];
      c.on('message', (_topic, payload) => payload.length && got.push(JSON.parse(payload.toString()).status));
      await c.subscribeAsync(t.status('crashes'), { qos: 1 });
      // The retained message, if any, is sent before the reply to this round trip.
      await c.publishAsync(uniq('ping'), 'x', { qos: 1 });
      await c.endAsync();
      return got;
    };
    await w.kill();
    let seen: string[] = [];
    for (const until = Date.now() + 10_000; Date.now() < until && seen[0] !== 'offline'; ) seen = await retained();
    expect(seen).toEqual(['offline']);
    // 3 of its 1-s refreshes later the broker has dropped it.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await retained()).toEqual([]);
  });

  it('an error after the connect (a keepalive timeout) leaves the client connected, not ended', async () => {
    const c = await connectV5({ url: m.url }, uniq('err'));
    try {
      // mqtt.js emits this after a stalled event loop missed the PINGRESP; it then reconnects.
      c.emit('error', new Error('Keepalive timeout'));
      expect(c.disconnecting).toBe(false);
      await c.publishAsync(uniq('t'), 'still here', { qos: 1 });
    } finally {
      await c.endAsync(true);
    }
  });

  it('a task with noWorkerMs fails once no worker of its kind has been online that long', async () => {
    const ex = await producer(uniq('orphan'));
    const err = (await ex.run('sum', { data: new Uint8Array(1) }, { noWorkerMs: 300 }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(WorkerLostError);
    expect(err.message).toMatch(/no physics worker online for 300 ms/);
    expect(ex.pending).toBe(0);
    // A payload over the wire's limits is a rejection naming the limit (run never throws).
    const big = new Uint8Array(MAX_BLOB_BYTES + 1);
    await expect(ex.run('sum', { data: big })).rejects.toThrow(/task "sum": a Uint8Array of 268435457 bytes is larger than a blob may be \(268435456 bytes\); such payloads need exec: local/);
  });

  it('a chunk whose length disagrees with its reference fails the fetch at once, not after the timeout', async () => {
    const lab = uniq('chunk');
    const t = computeTopics(lab);
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    // A reference promising 10 bytes in one chunk, and a retained chunk of 1 000 bytes.
    const bad = { owner: 'o', sha: 'b'.repeat(64) };
    await raw.publishAsync(t.blobChunk(bad, 0), Buffer.alloc(1000, 7), { qos: 1, retain: true });
    const fetcher = new BlobFetcher(raw, t);
    raw.on('message', (topic, payload) => fetcher.offer(topic, payload));
    const err = (await fetcher.fetch([{ ...bad, size: 10, chunks: 1 }], 60_000).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(BlobFetchError);
    expect(err.message).toMatch(/chunk 0: 1000 bytes, expected 10/);
    // A well-formed blob of two chunks still comes through.
    const gz = Buffer.alloc(CHUNK_BYTES + 5, 3);
    const ref = await publishBlob(raw, t, blobRef('o', 'c'.repeat(64), gz), gz, 60);
    expect(ref.chunks).toBe(2);
    expect(Buffer.compare((await fetcher.fetch([ref], 60_000)).get(ref.sha)!, gz)).toBe(0);
    await raw.publishAsync(t.blobChunk(bad, 0), Buffer.alloc(0), { qos: 1, retain: true });
  });

  it('a fetch in progress is not shared across owners of equal bytes; a chunk cleared mid-fetch fails it at once (issue #21)', async () => {
    const lab = uniq('xowner');
    const t = computeTopics(lab);
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    const fetcher = new BlobFetcher(raw, t);
    raw.on('message', (topic, payload) => fetcher.offer(topic, payload));
    const enc = encodeValue({ v: new Uint8Array(300_000).map((_, i) => i % 5) });
    const [[sha, gz]] = [...enc.blobs];
    // A's upload never reached the broker; B's did. A's fetch waits; B's, begun after, does not join it.
    const a = fetcher.fetch([blobRef('prodA', sha, gz)], 60_000).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    const refB = await publishBlob(raw, t, blobRef('prodB', sha, gz), gz, 60);
    const b = await Promise.race([fetcher.fetch([refB], 60_000), new Promise((r) => setTimeout(r, 10_000, 'B still waiting'))]);
    expect(b).toBeInstanceOf(Map);
    expect(Buffer.compare((b as Map<string, Buffer>).get(sha)!, gz)).toBe(0);
    // A clears its blob (its task settled): A's fetch fails now, not after its 60-s timeout.
    await raw.publishAsync(t.blobChunk(blobRef('prodA', sha, gz), 0), Buffer.alloc(0), { qos: 1, retain: true });
    const err = (await Promise.race([a, new Promise((r) => setTimeout(r, 10_000, 'A still waiting'))])) as Error;
    expect(err).toBeInstanceOf(BlobFetchError);
    expect(err.message).toMatch(/chunk 0: cleared by its owner/);
    // A fetched blob is then served by its bytes, whoever owns the reference.
    expect((await fetcher.fetch([blobRef('prodC', sha, gz)], 1)).get(sha)).toBe((b as Map<string, Buffer>).get(sha));
    await raw.publishAsync(t.blobChunk(refB, 0), Buffer.alloc(0), { qos: 1, retain: true });
  });

  it('a worker answers only on its lab\'s reply topics', async () => {
    const lab = uniq('reply');
    const logs: string[] = [];
    const w = await startMqttWorker({ url: m.url, lab, workerId: 'rt', kinds: ['physics'], handlers: { sum: () => 1 }, taskKinds, log: (l) => logs.push(l) });
    started.push(w);
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    const t = computeTopics(lab);
    const got: string[] = [];
    raw.on('message', (topic) => got.push(topic));
    await raw.subscribeAsync([`poreloop/v1/${lab}/rigs/#`, t.replies('ok')], { qos: 1 });
    const task = JSON.stringify({ v: 2, id: 'x', task: 'sum', payload: '{}', blobs: [] });
    for (const responseTopic of [`poreloop/v1/${lab}/rigs/r1/events`, `${t.replies('a')}/b`, t.replies('+')]) {
      await raw.publishAsync(t.tasks('physics'), task, { qos: 1, properties: { responseTopic, correlationData: Buffer.from('c') } });
    }
    await waitFor(() => w.failed === 3, 'three refused tasks', 10_000);
    expect(logs.filter((l) => /task refused: response topic .* is not poreloop\/v1\/.*\/compute\/replies\/<producer id>/.test(l))).toHaveLength(3);
    // A proper one is answered (accepted, result), and nothing went anywhere else.
    await raw.publishAsync(t.tasks('physics'), task, { qos: 1, properties: { responseTopic: t.replies('ok'), correlationData: Buffer.from('c') } });
    await waitFor(() => got.length >= 2, 'accepted and result', 10_000);
    expect(new Set(got)).toEqual(new Set([t.replies('ok')]));
  });

  it('replies that fail their schema are counted and ignored; the executor goes on', async () => {
    const lab = uniq('replies');
    const logs: string[] = [];
    const ex = await MqttExecutor.connect({ url: m.url, lab, kinds: taskKinds, producerId: uniq('p'), log: (l) => logs.push(l) });
    closers.push(() => ex.close());
    const raw = await mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq('raw') });
    closers.push(() => raw.endAsync());
    const t = computeTopics(lab);
    const replyTopic = (ex as unknown as { o: { producerId: string } }).o.producerId;
    const bad = [
      'null',
      'not json',
      JSON.stringify({ v: 2, id: 'p-1', type: 'error', workerId: 'w' }),
      JSON.stringify({ v: 2, id: 'p-1', type: 'result', workerId: 'w', value: '1', ms: 1, blobs: [{ owner: 'w', sha: 'a'.repeat(64), size: 10, chunks: 99 }] }),
    ];
    for (const b of bad) await raw.publishAsync(t.replies(replyTopic), b, { qos: 1 });
    // And a worker status that is not one (kinds not a list).
    await raw.publishAsync(t.status('odd'), JSON.stringify({ v: 2, workerId: 'odd', status: 'online', kinds: 'physics', concurrency: 1 }), { qos: 1 });
    await waitFor(() => ex.stats.invalid === 5, 'five refused messages', 10_000);
    expect(logs.some((l) => /reply\.error: /.test(l))).toBe(true);
    expect(logs.some((l) => /reply\.blobs: \[0\]\.chunks/.test(l))).toBe(true);
    expect(ex.workers()).toEqual([]);
    await worker(lab, 'after', { sum: (p: { data: Uint8Array }) => p.data.length }, []);
    await ex.waitForCapacity('physics', 1);
    expect(await ex.run('sum', { data: new Uint8Array([1, 2]) })).toBe(2);
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
    await raw.publishAsync(t.tasks('physics'), JSON.stringify({ v: 2, id: 'x', task: 'sum', payload: '{}' }), props('c2'));
    // A task whose deadline has passed (the broker's message expiry did not drop it: it was sent late).
    await raw.publishAsync(t.tasks('physics'), JSON.stringify({ v: 2, id: 'late', task: 'sum', payload: '{}', blobs: [], deadline: new Date(Date.now() - 1000).toISOString() }), props('c3'));
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

describe.skipIf(skip)('compute workers under the committed Mosquitto ACL (configs/mosquitto/acl)', () => {
  const acl = readFileSync(fileURLToPath(new URL('../../configs/mosquitto/acl', import.meta.url)), 'utf8');
  const pw = { orchestrator: 'orch-secret', compute: 'compute-secret', r1: 'r1-secret' };
  const m = useMosquitto({ users: pw, acl });
  const as = (user: keyof typeof pw) => mqtt.connectAsync(m.url, { protocolVersion: 5, clientId: uniq(user), username: user, password: pw[user], reconnectPeriod: 0 });

  it('the worker login serves tasks (blobs both ways) and can touch nothing of the rigs; a rig cannot take tasks', async () => {
    const lab = uniq('aclw');
    const t = computeTopics(lab);
    const w = await startMqttWorker({ url: m.url, username: 'compute', password: pw.compute, lab, workerId: 'acl-w', kinds: ['physics'], handlers: { sum: (p: { data: Uint8Array }) => ({ echo: p.data }) }, taskKinds });
    const ex = await MqttExecutor.connect({ url: m.url, username: 'orchestrator', password: pw.orchestrator, lab, kinds: taskKinds });
    const orch = await as('orchestrator');
    const compute = await as('compute');
    const rig = await as('r1');
    try {
      await ex.waitForCapacity('physics', 1);
      const data = new Uint8Array(300_000).map((_, i) => i % 5);
      const r = await ex.run<{ echo: Uint8Array }>('sum', { data });
      expect(Buffer.compare(Buffer.from(r.echo), Buffer.from(data))).toBe(0);

      // Reading: the worker login subscribes to the rigs' topics and to the blobs; the
      // orchestrator publishes a rig job, then a blob chunk. Once the chunk arrives, the job
      // would have arrived too had the broker let it through.
      const computeGot: string[] = [];
      compute.on('message', (topic) => computeGot.push(topic));
      await compute.subscribeAsync([`poreloop/v1/${lab}/rigs/#`, `${t.root}/blobs/#`], { qos: 1 }).catch(() => undefined);
      // Writing: the worker login publishes a rig event; the orchestrator listens on the rigs' topics.
      const orchGot: string[] = [];
      orch.on('message', (topic) => orchGot.push(topic));
      await orch.subscribeAsync([`poreloop/v1/${lab}/rigs/#`, `${t.root}/replies/#`], { qos: 1 });
      // A rig subscribes to the tasks (shared and plain).
      const rigGot: string[] = [];
      rig.on('message', (topic) => rigGot.push(topic));
      await rig.subscribeAsync([t.sharedTasks('physics'), `${t.root}/tasks/#`, `poreloop/v1/${lab}/rigs/r1/jobs`], { qos: 1 }).catch(() => undefined);

      await compute.publishAsync(`poreloop/v1/${lab}/rigs/r1/events`, '{"forged":true}', { qos: 1 }).catch(() => undefined);
      await orch.publishAsync(`poreloop/v1/${lab}/rigs/r1/jobs`, '{}', { qos: 1 });
      await orch.publishAsync(t.tasks('physics'), JSON.stringify({ v: 2, id: 'for-rig', task: 'sum', payload: '{"data":null}', blobs: [] }), { qos: 1, properties: { responseTopic: t.replies('o'), correlationData: Buffer.from('x') } });
      await orch.publishAsync(`${t.root}/blobs/${'d'.repeat(64)}/0`, 'chunk', { qos: 1 });
      await compute.publishAsync(t.replies('o'), 'control', { qos: 1 });
      await waitFor(() => computeGot.includes(`${t.root}/blobs/${'d'.repeat(64)}/0`), 'the blob chunk at the worker login', 10_000);
      await waitFor(() => orchGot.includes(t.replies('o')), 'the worker login\'s control reply', 10_000);
      await waitFor(() => rigGot.includes(`poreloop/v1/${lab}/rigs/r1/jobs`), 'the rig\'s own job', 10_000);
      expect(computeGot.filter((x) => x.includes('/rigs/'))).toEqual([]);
      expect(orchGot.filter((x) => x.endsWith('/rigs/r1/events'))).toEqual([]);
      expect(rigGot.filter((x) => x.includes('/compute/'))).toEqual([]);
    } finally {
      await ex.close();
      await w.stop();
      for (const c of [orch, compute, rig]) await c.endAsync();
    }
  });
});
