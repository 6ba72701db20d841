import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { brokerUrlProblem } from '../core/broker-url.js';
import { BadInputError, PoreloopError } from '../core/errors.js';

/**
 * The wire format of compute tasks over MQTT 5 (issue #21, docs/scale-out.md): topics, the
 * JSON codec that keeps typed arrays and non-finite numbers, and "blobs" — large typed arrays
 * (a voxel volume) that travel as gzip'd, content-addressed chunks on retained topics instead
 * of inside one huge message. The task then carries a reference (sha256, size, chunk count),
 * and whichever worker the shared subscription picks fetches the chunks by subscribing.
 */

export const COMPUTE_PROTOCOL = 1;
/** The shared-subscription group every poreloop worker joins (MQTT 5 §4.8.2). */
export const SHARE_GROUP = 'poreloop-workers';
/** The kinds of compute a worker can serve. */
export const COMPUTE_KINDS = ['physics', 'twin', 'surrogate'] as const;
export type ComputeKind = (typeof COMPUTE_KINDS)[number];

/** Which kind of worker runs a task name (the names of src/physics/worker.ts and the twin tasks). */
export const TASK_KINDS: Record<string, ComputeKind> = {
  simulate: 'physics',
  tortuosity: 'physics',
  generate: 'twin',
  train: 'surrogate',
};

/**
 * Typed arrays up to this many bytes travel inline (base64 in the task's JSON); larger ones as
 * blobs. 64 KiB keeps every task and result message small enough for any broker's default
 * limit (EMQX 1 MiB, HiveMQ 256 MiB, Mosquitto unlimited by default) and cheap to bounce.
 */
export const INLINE_MAX_BYTES = 64 * 1024;
/** Blob chunk size: one message per 256 KiB of gzip'd data; a 256³ volume is a few chunks. */
export const CHUNK_BYTES = 256 * 1024;
/** Largest blob accepted (uncompressed): a 1024³ one-byte volume, the twins' size limit. */
export const MAX_BLOB_BYTES = 1024 ** 3;

export function computeTopics(lab: string) {
  const root = `poreloop/v1/${lab}/compute`;
  return {
    root,
    tasks: (kind: string) => `${root}/tasks/${kind}`,
    sharedTasks: (kind: string) => `$share/${SHARE_GROUP}/${root}/tasks/${kind}`,
    replies: (producerId: string) => `${root}/replies/${producerId}`,
    status: (workerId: string) => `${root}/workers/${workerId}/status`,
    allStatus: `${root}/workers/+/status`,
    blobChunks: (sha: string) => `${root}/blobs/${sha}/+`,
    blobChunk: (sha: string, i: number) => `${root}/blobs/${sha}/${i}`,
  };
}

/** A blob as a task or result refers to it. */
export interface BlobRef {
  sha: string;
  /** gzip'd bytes over all chunks. */
  size: number;
  chunks: number;
}

/** Producer → worker, on tasks/<kind>. The result goes to the MQTT 5 response topic with the correlation data (= id). */
export interface TaskMessage {
  v: number;
  id: string;
  task: string;
  attempt: number;
  /** JSON of the payload as encoded by `encodeValue`. */
  payload: string;
  blobs: BlobRef[];
  /** ISO time after which the result is of no use (also the message expiry). */
  deadline?: string;
}

/** Worker → producer, on the task's response topic. */
export type ReplyMessage =
  | { v: number; id: string; type: 'accepted' | 'progress'; workerId: string }
  | { v: number; id: string; type: 'busy'; workerId: string }
  | { v: number; id: string; type: 'result'; workerId: string; value: string; blobs: BlobRef[]; ms: number }
  | { v: number; id: string | null; type: 'error'; workerId: string; error: { name: string; message: string; data?: unknown } };

/** Retained on workers/<id>/status; the Last Will sets `offline`. */
export interface WorkerStatus {
  v: number;
  workerId: string;
  status: 'online' | 'offline';
  kinds: ComputeKind[];
  tasks: string[];
  concurrency: number;
  running?: number;
  completed?: number;
  host?: string;
  pid?: number;
  at: string;
}

export class WireError extends PoreloopError {}

/**
 * JSON with typed arrays (inline base64 or a blob reference) and ±Infinity/NaN (a
 * non-percolating tortuosity is Infinity; plain JSON would turn it into null).
 */
export function encodeValue(value: unknown, inlineMax = INLINE_MAX_BYTES): { json: string; blobs: Map<string, Buffer> } {
  const blobs = new Map<string, Buffer>();
  const json = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const type = v.constructor.name;
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (bytes.length <= inlineMax) return { $ta: type, b64: bytes.toString('base64') };
      const sha = createHash('sha256').update(bytes).digest('hex');
      // Labelled volumes are long runs of few values: gzip makes them several times smaller.
      if (!blobs.has(sha)) blobs.set(sha, gzipSync(bytes, { level: 1 }));
      return { $ta: type, blob: sha, bytes: bytes.length };
    }
    return v;
  });
  return { json: json ?? 'null', blobs };
}

const TYPED: Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView> = {
  Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array, Uint8ClampedArray,
};

/** Inverse of encodeValue; `blobs` maps sha256 → the gzip'd bytes fetched for the references. */
export function decodeValue(json: string, blobs: Map<string, Buffer> = new Map()): unknown {
  return JSON.parse(json, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === 'string' && Object.keys(o).length === 1) return Number(o.$num);
      if (typeof o.$ta === 'string') {
        const Ctor = TYPED[o.$ta];
        if (!Ctor) throw new WireError(`unknown typed array "${o.$ta}"`);
        let bytes: Buffer;
        if (typeof o.b64 === 'string') bytes = Buffer.from(o.b64, 'base64');
        else {
          const gz = blobs.get(String(o.blob));
          if (!gz) throw new WireError(`blob ${String(o.blob)} missing`);
          bytes = gunzipSync(gz, { maxOutputLength: MAX_BLOB_BYTES });
          if (createHash('sha256').update(bytes).digest('hex') !== o.blob) throw new WireError(`blob ${String(o.blob)} does not match its sha256`);
        }
        // Copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool).
        const ab = new ArrayBuffer(bytes.length);
        new Uint8Array(ab).set(bytes);
        const el = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        return new Ctor(ab, 0, bytes.length / el);
      }
    }
    return v;
  });
}

/**
 * Publishes a blob as retained chunks with an MQTT 5 message expiry, so that the broker drops
 * them by itself should their owner die before clearing them.
 */
export async function publishBlob(client: MqttClient, topics: ReturnType<typeof computeTopics>, sha: string, gz: Buffer, expiryS: number): Promise<BlobRef> {
  const chunks = Math.max(1, Math.ceil(gz.length / CHUNK_BYTES));
  await Promise.all(
    Array.from({ length: chunks }, (_, i) =>
      client.publishAsync(topics.blobChunk(sha, i), gz.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: Math.max(1, Math.ceil(expiryS)), userProperties: { chunks: String(chunks), size: String(gz.length) } },
      }),
    ),
  );
  return { sha, size: gz.length, chunks };
}

/** Removes a blob's retained chunks (an empty retained message clears the topic, MQTT 5 §3.3.1.3). */
export async function clearBlob(client: MqttClient, topics: ReturnType<typeof computeTopics>, ref: BlobRef): Promise<void> {
  await Promise.all(Array.from({ length: ref.chunks }, (_, i) => client.publishAsync(topics.blobChunk(ref.sha, i), Buffer.alloc(0), { qos: 1, retain: true })));
}

/**
 * Collects the retained chunks of the referenced blobs. The caller routes every message on a
 * `blobs/…` topic to `offer`; `fetch` subscribes, waits for all chunks (or rejects after
 * `timeoutMs`) and unsubscribes.
 */
export class BlobFetcher {
  private readonly waiting = new Map<string, { ref: BlobRef; parts: Array<Buffer | undefined>; have: number; done(b: Buffer): void }>();
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly client: MqttClient,
    private readonly topics: ReturnType<typeof computeTopics>,
  ) {}

  /** True when the message was a chunk of a blob being fetched. */
  offer(topic: string, payload: Buffer): boolean {
    const m = /\/blobs\/([0-9a-f]{64})\/(\d+)$/.exec(topic);
    if (!m) return false;
    const w = this.waiting.get(m[1]);
    if (!w) return true;
    const i = Number(m[2]);
    if (i < w.ref.chunks && !w.parts[i] && payload.length > 0) {
      w.parts[i] = Buffer.from(payload);
      if (++w.have === w.ref.chunks) {
        this.waiting.delete(m[1]);
        w.done(Buffer.concat(w.parts as Buffer[]));
      }
    }
    return true;
  }

  async fetch(refs: BlobRef[], timeoutMs: number): Promise<Map<string, Buffer>> {
    const got = await Promise.all(refs.map((ref) => this.fetchOne(ref, timeoutMs)));
    return new Map(refs.map((r, i) => [r.sha, got[i]]));
  }

  /** One blob; concurrent tasks on the same volume share one fetch, and recent blobs are kept. */
  private fetchOne(ref: BlobRef, timeoutMs: number): Promise<Buffer> {
    if (!/^[0-9a-f]{64}$/.test(ref.sha) || !(ref.chunks >= 1) || !(ref.size <= MAX_BLOB_BYTES)) {
      return Promise.reject(new WireError(`bad blob reference ${JSON.stringify(ref).slice(0, 200)}`));
    }
    const known = this.cache.get(ref.sha);
    if (known) return known;
    const got = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const have = this.waiting.get(ref.sha)?.have ?? 0;
        this.waiting.delete(ref.sha);
        reject(new WireError(`blob ${ref.sha.slice(0, 12)}: ${have} of ${ref.chunks} chunks within ${timeoutMs} ms (expired or cleared?)`));
      }, timeoutMs);
      this.waiting.set(ref.sha, {
        ref,
        parts: new Array(ref.chunks),
        have: 0,
        done: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      });
    });
    const p = (async () => {
      await this.client.subscribeAsync(this.topics.blobChunks(ref.sha), { qos: 1 });
      try {
        return await got;
      } finally {
        await this.client.unsubscribeAsync(this.topics.blobChunks(ref.sha)).catch(() => undefined);
      }
    })();
    this.cache.set(ref.sha, p);
    p.catch(() => this.cache.delete(ref.sha));
    // A few recent volumes: the tasks of one candidate (property groups, axes) share one.
    while (this.cache.size > 8) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }
}

/** Errors crossing the wire as plain data. */
export function errorData(e: unknown): { name: string; message: string; data?: unknown } {
  const error = e instanceof Error ? e : new Error(String(e));
  return { name: error.name, message: error.message, data: (error as { data?: unknown }).data };
}

/** Hides a password embedded in a broker URL (as robots/transport/mqtt.ts `redact`, which src/exec may not import). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

/** How a compute peer reaches the broker; credentials come from the composing code (compose reads the environment). */
export interface ComputeConnectOptions {
  url: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** First connection only (default 10 s); later drops reconnect. */
  connectTimeoutMs?: number;
}

/**
 * An MQTT 5 connection with Clean Start and session expiry 0: when a worker dies its session
 * ends with it, so the broker takes it out of the shared subscription at once instead of
 * queueing further tasks for a client that will not return (Mosquitto round-robins a share
 * group over its sessions, offline ones included).
 */
export async function connectV5(o: ComputeConnectOptions, clientId: string, will?: { topic: string; payload: Buffer }): Promise<MqttClient> {
  const problem = brokerUrlProblem(o.url);
  if (problem) throw new BadInputError(problem, 'broker');
  const client = mqtt.connect(o.url, {
    clientId,
    protocolVersion: 5,
    clean: true,
    keepalive: 10,
    reconnectPeriod: 500,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    resubscribe: true,
    username: o.username,
    password: o.password,
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    properties: { sessionExpiryInterval: 0 },
    will: will ? { topic: will.topic, payload: will.payload, qos: 1, retain: true } : undefined,
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      client.end(true);
      reject(new PoreloopError(`cannot connect to MQTT 5 broker ${redactUrl(o.url)} as ${clientId}: ${e.message} (compute workers need MQTT 5 with shared subscriptions: Mosquitto 2, EMQX, HiveMQ; the embedded aedes broker speaks only 3.1.1)`));
    };
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${o.connectTimeoutMs ?? 10_000} ms`)), o.connectTimeoutMs ?? 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      (client.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true);
      resolve();
    });
    client.once('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
  });
  client.on('error', () => undefined);
  return client;
}
