import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';
import { brokerUrlProblem } from '../core/broker-url.js';
import { BadInputError, PoreloopError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';

/**
 * The wire format of compute tasks over MQTT 5 (issue #21, docs/scale-out.md): topics, the
 * JSON codec that keeps typed arrays and non-finite numbers, and "blobs" — large typed arrays
 * (a voxel volume) that travel as gzip'd, content-addressed chunks on retained topics instead
 * of inside one huge message. The task then carries a reference (owner, sha256, size, chunk
 * count), and whichever worker the shared subscription picks fetches the chunks by subscribing.
 */

/**
 * The compute wire's version: every task, reply and status carries it, and a peer of another
 * version is refused by the schemas below with the field named. 2 since blob references carry
 * their owner (blob topics blobs/<owner>/<sha>, #21 review): a version-1 worker would wait for
 * chunks on the old topics until its fetch timed out, instead of refusing at once.
 */
export const COMPUTE_PROTOCOL = 2;
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
/**
 * Inline typed-array bytes per message, all arrays together: once reached, further arrays go
 * as blobs whatever their size, so typed arrays add at most 4/3 × 192 KiB = 256 KiB of base64
 * to a message (plain JSON — numbers, names — comes on top and is small in every task here).
 */
export const INLINE_TOTAL_MAX_BYTES = 192 * 1024;
/** Blob chunk size: one message per 256 KiB of gzip'd data; a 256³ volume is a few chunks. */
export const CHUNK_BYTES = 256 * 1024;
/**
 * Largest blob, uncompressed and gzip'd: 256 MiB, a 640³ one-byte volume or a 256³ Float64
 * field. Both ends refuse more (the producer when encoding, the worker before subscribing), and
 * gunzip stops at this size, so a reference cannot make a peer buffer more than this per blob.
 */
export const MAX_BLOB_BYTES = 256 * 1024 ** 2;
/** Blob references per task or result message (a task carries one or two volumes). */
export const MAX_BLOBS_PER_MESSAGE = 16;
/** gzip'd blob bytes per task or result message, all references together. */
export const MAX_MESSAGE_BLOB_BYTES = 512 * 1024 ** 2;
/** gzip'd bytes a fetcher keeps of recently fetched blobs (tasks of one candidate share a volume). */
export const BLOB_CACHE_BYTES = 256 * 1024 ** 2;

export function computeTopics(lab: string) {
  const root = `poreloop/v1/${lab}/compute`;
  return {
    root,
    tasks: (kind: string) => `${root}/tasks/${kind}`,
    sharedTasks: (kind: string) => `$share/${SHARE_GROUP}/${root}/tasks/${kind}`,
    replies: (producerId: string) => `${root}/replies/${producerId}`,
    status: (workerId: string) => `${root}/workers/${workerId}/status`,
    allStatus: `${root}/workers/+/status`,
    blobChunks: (ref: Pick<BlobRef, 'owner' | 'sha'>) => `${root}/blobs/${ref.owner}/${ref.sha}/+`,
    blobChunk: (ref: Pick<BlobRef, 'owner' | 'sha'>, i: number) => `${root}/blobs/${ref.owner}/${ref.sha}/${i}`,
  };
}

/** Why `s` cannot be one level of a topic (a producer id, a worker id, a blob owner), or undefined. */
export function topicLevelProblem(s: unknown): string | undefined {
  if (typeof s !== 'string' || s.length < 1 || s.length > 200 || /[/+#\u0000]/.test(s)) return 'expected 1–200 characters without /, +, # or NUL (one topic level)';
  return undefined;
}

/** A blob as a task or result refers to it. */
export interface BlobRef {
  /**
   * Who publishes and later clears it, and so the topic level above the sha: the producer's id
   * for task inputs, a per-result id for a worker's results. Content addressing alone put equal
   * bytes from two campaigns (a deterministic twin, the same seed) on one topic, and the first to
   * finish cleared it under the other (issue #21).
   */
  owner: string;
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

/**
 * Worker → producer, on the task's response topic. `attempt` echoes the task's: a late error
 * from the worker of an earlier attempt must not abandon the current one (issue #21). Optional,
 * so wire version 2 peers that do not send it are still understood.
 */
export type ReplyMessage = { v: number; workerId: string; attempt?: number } & (
  | { id: string; type: 'accepted' | 'progress' }
  | { id: string; type: 'busy' }
  | { id: string; type: 'result'; value: string; blobs: BlobRef[]; ms: number }
  | { id: string | null; type: 'error'; error: { name: string; message: string; data?: unknown } }
);

/** How often a worker publishes its status by default; the producer counts it gone after 3 of its intervals in silence. */
export const STATUS_EVERY_MS = 10_000;

/** Retained on workers/<id>/status; the Last Will sets `offline`. */
export interface WorkerStatus {
  v: number;
  workerId: string;
  status: 'online' | 'offline';
  kinds: ComputeKind[];
  tasks: string[];
  concurrency: number;
  /** How often it publishes this (default STATUS_EVERY_MS). */
  everyMs?: number;
  running?: number;
  completed?: number;
  host?: string;
  pid?: number;
  /** Random per worker process: a worker that hears another instance online under its own id stops (issue #21 scale review). */
  instance?: string;
  at: string;
}

export class WireError extends PoreloopError {}

/**
 * A blob's chunks did not arrive (expired, cleared, a broker restarted without persistence) or
 * disagree with their reference: the peer's or the broker's failure, not the task's. A worker
 * answers it by this name, and the producer uploads the blobs again and resends the task
 * instead of failing it as the task's own error (issue #21).
 */
export class BlobFetchError extends WireError {}

/** The error name a worker answers a task with when it arrived past its deadline. */
export const LATE_TASK_ERROR = 'DeadlineError';

/*
 * Schemas of what a producer receives (DESIGN.md rule 4: JSON with a schema, validated where it
 * enters). A reply or status that does not match is refused with the reason — the MQTT listener
 * never trusts a field's presence or type.
 */
const workerId = z.string().min(1).max(200);
const blobRefs = z.array(z.object({ owner: z.string(), sha: z.string(), size: z.number(), chunks: z.number() })).superRefine((refs, ctx) => {
  const problem = blobRefsProblem(refs);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const attempt = z.number().int().min(1).optional();
const replySchema = z.discriminatedUnion('type', [
  z.object({ v: z.literal(COMPUTE_PROTOCOL), id: z.string().min(1), type: z.literal('accepted'), workerId, attempt }),
  z.object({ v: z.literal(COMPUTE_PROTOCOL), id: z.string().min(1), type: z.literal('progress'), workerId, attempt }),
  z.object({ v: z.literal(COMPUTE_PROTOCOL), id: z.string().min(1), type: z.literal('busy'), workerId, attempt }),
  z.object({ v: z.literal(COMPUTE_PROTOCOL), id: z.string().min(1), type: z.literal('result'), workerId, attempt, value: z.string(), blobs: blobRefs, ms: z.number() }),
  z.object({ v: z.literal(COMPUTE_PROTOCOL), id: z.string().min(1).nullable(), type: z.literal('error'), workerId, attempt, error: z.object({ name: z.string(), message: z.string(), data: z.unknown().optional() }) }),
]);
const statusSchema = z.object({
  v: z.literal(COMPUTE_PROTOCOL),
  workerId,
  status: z.enum(['online', 'offline']),
  kinds: z.array(z.enum(COMPUTE_KINDS)),
  tasks: z.array(z.string()),
  concurrency: z.number().int().min(1).max(256),
  everyMs: z.number().int().min(1).optional(),
  running: z.number().int().nonnegative().optional(),
  completed: z.number().int().nonnegative().optional(),
  host: z.string().optional(),
  pid: z.number().int().optional(),
  instance: z.string().max(64).optional(),
  at: z.string(),
});

/** Parses a payload against a schema; the error names the first bad field (`reply.error.message: …`). */
function parseWith<T>(schema: z.ZodType<T>, payload: Buffer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new WireError(`${what}: not JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new WireError(`${[what, ...issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : String(k)))].join('.').replace(/\.\[/g, '[')}: ${issue.message}`);
  }
  return r.data;
}

/** A reply as the producer accepts it; throws a WireError naming the field otherwise. */
export const parseReply = (payload: Buffer): ReplyMessage => parseWith(replySchema, payload, 'reply') as ReplyMessage;
/** A worker's retained status; throws a WireError naming the field otherwise. */
export const parseWorkerStatus = (payload: Buffer): WorkerStatus => parseWith(statusSchema, payload, 'status') as WorkerStatus;

/**
 * JSON with typed arrays (inline base64 or a blob reference) and ±Infinity/NaN (a
 * non-percolating tortuosity is Infinity; plain JSON would turn it into null).
 */
export function encodeValue(value: unknown, inlineMax = INLINE_MAX_BYTES, inlineTotalMax = INLINE_TOTAL_MAX_BYTES): { json: string; blobs: Map<string, Buffer> } {
  const blobs = new Map<string, Buffer>();
  let inline = 0;
  let blobBytes = 0;
  const json = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const type = v.constructor.name;
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (bytes.length <= inlineMax && inline + bytes.length <= inlineTotalMax) {
        inline += bytes.length;
        return { $ta: type, b64: bytes.toString('base64') };
      }
      if (bytes.length > MAX_BLOB_BYTES) throw new WireError(`a ${type} of ${bytes.length} bytes is larger than a blob may be (${MAX_BLOB_BYTES} bytes)`);
      const sha = createHash('sha256').update(bytes).digest('hex');
      // Labelled volumes are long runs of few values: gzip makes them several times smaller.
      if (!blobs.has(sha)) {
        const gz = gzipSync(bytes, { level: 1 });
        blobs.set(sha, gz);
        blobBytes += gz.length;
        if (blobs.size > MAX_BLOBS_PER_MESSAGE) throw new WireError(`more than ${MAX_BLOBS_PER_MESSAGE} large arrays in one message`);
        if (blobBytes > MAX_MESSAGE_BLOB_BYTES) throw new WireError(`more than ${MAX_MESSAGE_BLOB_BYTES} gzip'd blob bytes in one message`);
      }
      return { $ta: type, blob: sha, bytes: bytes.length };
    }
    return v;
  });
  return { json: json ?? 'null', blobs };
}

/**
 * Why a message's blob references are unacceptable, or undefined: each one well-formed
 * (owner one topic level, sha256, gzip'd size 1..MAX_BLOB_BYTES, chunks = ceil(size / CHUNK_BYTES)), and at most
 * MAX_BLOBS_PER_MESSAGE of them with MAX_MESSAGE_BLOB_BYTES in all — so what a peer buffers for
 * one message is bounded before it subscribes to a single chunk.
 */
export function blobRefsProblem(refs: unknown): string | undefined {
  if (!Array.isArray(refs)) return 'expected a list of blob references';
  if (refs.length > MAX_BLOBS_PER_MESSAGE) return `expected at most ${MAX_BLOBS_PER_MESSAGE} blob references, got ${refs.length}`;
  let total = 0;
  for (const [i, r] of refs.entries()) {
    const ref = r as Partial<BlobRef> | null;
    if (!ref || typeof ref !== 'object') return `[${i}]: expected a blob reference (owner, sha, size, chunks)`;
    const ownerProblem = topicLevelProblem(ref.owner);
    if (ownerProblem) return `[${i}].owner: ${ownerProblem}`;
    if (typeof ref.sha !== 'string' || !/^[0-9a-f]{64}$/.test(ref.sha)) return `[${i}].sha: expected a sha256 in hex`;
    if (!Number.isInteger(ref.size) || ref.size! < 1 || ref.size! > MAX_BLOB_BYTES) return `[${i}].size: expected an integer from 1 to ${MAX_BLOB_BYTES}`;
    if (ref.chunks !== Math.ceil(ref.size! / CHUNK_BYTES)) return `[${i}].chunks: expected ceil(size / ${CHUNK_BYTES}) = ${Math.ceil(ref.size! / CHUNK_BYTES)}, got ${JSON.stringify(ref.chunks)}`;
    total += ref.size!;
  }
  if (total > MAX_MESSAGE_BLOB_BYTES) return `expected at most ${MAX_MESSAGE_BLOB_BYTES} blob bytes in all, got ${total}`;
  return undefined;
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
        // Own properties only: "toString" or "constructor" must be refused, not found on the prototype (issue #21).
        const Ctor = Object.hasOwn(TYPED, o.$ta) ? TYPED[o.$ta] : undefined;
        if (!Ctor) throw new WireError(`unknown typed array ${JSON.stringify(o.$ta.slice(0, 40))}; expected one of ${Object.keys(TYPED).join(', ')}`);
        let bytes: Buffer;
        if (typeof o.b64 === 'string') bytes = Buffer.from(o.b64, 'base64');
        else {
          const gz = blobs.get(String(o.blob));
          if (!gz) throw new WireError(`blob ${String(o.blob)} missing`);
          bytes = gunzipSync(gz, { maxOutputLength: MAX_BLOB_BYTES });
          if (createHash('sha256').update(bytes).digest('hex') !== o.blob) throw new WireError(`blob ${String(o.blob)} does not match its sha256`);
        }
        const el = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        // A length that is not whole elements is a damaged or forged value, not one to truncate.
        if (bytes.length % el !== 0) throw new WireError(`a ${o.$ta} of ${bytes.length} bytes: expected a multiple of ${el} bytes`);
        // Copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool).
        const ab = new ArrayBuffer(bytes.length);
        new Uint8Array(ab).set(bytes);
        return new Ctor(ab, 0, bytes.length / el);
      }
    }
    return v;
  });
}

/** The reference of `gz` (gzip'd bytes whose raw sha256 is `sha`) published by `owner`. */
export function blobRef(owner: string, sha: string, gz: Buffer): BlobRef {
  return { owner, sha, size: gz.length, chunks: Math.max(1, Math.ceil(gz.length / CHUNK_BYTES)) };
}

/**
 * Publishes a blob as retained chunks with an MQTT 5 message expiry, so that the broker drops
 * them by itself should their owner die before clearing them. The chunks' PUBLISHes are all
 * issued before this returns its promise, so a clear issued later lands after them.
 */
export async function publishBlob(client: MqttClient, topics: ReturnType<typeof computeTopics>, ref: BlobRef, gz: Buffer, expiryS: number): Promise<BlobRef> {
  await Promise.all(
    Array.from({ length: ref.chunks }, (_, i) =>
      client.publishAsync(topics.blobChunk(ref, i), gz.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), {
        qos: 1,
        retain: true,
        properties: { messageExpiryInterval: Math.max(1, Math.ceil(expiryS)), userProperties: { chunks: String(ref.chunks), size: String(gz.length) } },
      }),
    ),
  );
  return ref;
}

/** Removes a blob's retained chunks (an empty retained message clears the topic, MQTT 5 §3.3.1.3). */
export async function clearBlob(client: MqttClient, topics: ReturnType<typeof computeTopics>, ref: BlobRef): Promise<void> {
  await Promise.all(Array.from({ length: ref.chunks }, (_, i) => client.publishAsync(topics.blobChunk(ref, i), Buffer.alloc(0), { qos: 1, retain: true })));
}

/**
 * Collects the retained chunks of the referenced blobs. The caller routes every message on a
 * `blobs/…` topic to `offer`; `fetch` subscribes, waits for all chunks (or rejects after
 * `timeoutMs`) and unsubscribes.
 */
export class BlobFetcher {
  private readonly waiting = new Map<string, { ref: BlobRef; parts: Array<Buffer | undefined>; have: number; done(b: Buffer): void; fail(e: Error): void }>();
  /**
   * Fetches in progress, by owner and sha: one on another owner's topics may never finish (that
   * blob lost or cleared) while this owner's is there — a task that joined it waited out the
   * timeout and spent an attempt (issue #21).
   */
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  /** Blobs fetched, by sha alone: content-addressed, any owner's copy is the same bytes (decodeValue checks the sha). */
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly client: MqttClient,
    private readonly topics: ReturnType<typeof computeTopics>,
  ) {}

  /**
   * True when the message was a chunk of a blob being fetched. A chunk of the wrong length
   * (every chunk but the last is CHUNK_BYTES; the last makes the sum ref.size) fails that fetch:
   * the reference and the chunks disagree, and waiting would only buffer more. So does an empty
   * one: its owner cleared the blob, and it will not come back (issue #21).
   */
  offer(topic: string, payload: Buffer): boolean {
    const m = /\/blobs\/([^/]+\/([0-9a-f]{64}))\/(\d+)$/.exec(topic);
    if (!m) return false;
    const w = this.waiting.get(m[1]);
    if (!w) return true;
    const i = Number(m[3]);
    if (i >= w.ref.chunks || w.parts[i]) return true;
    const expected = i < w.ref.chunks - 1 ? CHUNK_BYTES : w.ref.size - (w.ref.chunks - 1) * CHUNK_BYTES;
    if (payload.length !== expected) {
      this.waiting.delete(m[1]);
      const what = payload.length === 0 ? 'cleared by its owner' : `${payload.length} bytes, expected ${expected} (size ${w.ref.size}, ${w.ref.chunks} chunks of ${CHUNK_BYTES})`;
      w.fail(new BlobFetchError(`blob ${m[2].slice(0, 12)} chunk ${i}: ${what}`));
      return true;
    }
    w.parts[i] = Buffer.from(payload);
    if (++w.have === w.ref.chunks) {
      this.waiting.delete(m[1]);
      w.done(Buffer.concat(w.parts as Buffer[]));
    }
    return true;
  }

  async fetch(refs: BlobRef[], timeoutMs: number): Promise<Map<string, Buffer>> {
    const problem = blobRefsProblem(refs);
    if (problem) throw new WireError(`blobs${problem.startsWith('[') ? '' : ': '}${problem}`);
    const got = await Promise.all(refs.map((ref) => this.fetchOne(ref, timeoutMs)));
    return new Map(refs.map((r, i) => [r.sha, got[i]]));
  }

  /** One blob; concurrent tasks on the same owner's blob share one fetch, and recent blobs are kept (BLOB_CACHE_BYTES). */
  private fetchOne(ref: BlobRef, timeoutMs: number): Promise<Buffer> {
    const known = this.cache.get(ref.sha);
    if (known) return Promise.resolve(known);
    const key = `${ref.owner}/${ref.sha}`;
    const fetching = this.inFlight.get(key);
    if (fetching) return fetching;
    const got = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const have = this.waiting.get(key)?.have ?? 0;
        this.waiting.delete(key);
        reject(new BlobFetchError(`blob ${ref.sha.slice(0, 12)} of ${ref.owner}: ${have} of ${ref.chunks} chunks within ${timeoutMs} ms (expired or cleared?)`));
      }, timeoutMs);
      this.waiting.set(key, {
        ref,
        parts: new Array(ref.chunks),
        have: 0,
        done: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
    const p = (async () => {
      await this.client.subscribeAsync(this.topics.blobChunks(ref), { qos: 1 });
      try {
        return await got;
      } finally {
        await this.client.unsubscribeAsync(this.topics.blobChunks(ref)).catch(() => undefined);
      }
    })();
    this.inFlight.set(key, p);
    p.then(
      (blob) => {
        this.inFlight.delete(key);
        this.keep(ref.sha, blob);
      },
      () => this.inFlight.delete(key),
    );
    return p;
  }

  /** Keeps a fetched blob; the oldest go first until the kept bytes fit (the newest always stays). */
  private keep(sha: string, blob: Buffer): void {
    this.cache.delete(sha);
    this.cache.set(sha, blob);
    let bytes = [...this.cache.values()].reduce((n, b) => n + b.length, 0);
    for (const [key, b] of this.cache) {
      if (bytes <= BLOB_CACHE_BYTES || b === blob) break;
      this.cache.delete(key);
      bytes -= b.length;
    }
  }
}

/** Errors crossing the wire as plain data. */
export function errorData(e: unknown): { name: string; message: string; data?: unknown } {
  const error = e instanceof Error ? e : new Error(String(e));
  return { name: error.name, message: error.message, data: (error as { data?: unknown }).data };
}

/** Hides a password embedded in a broker URL: the one rule of src/core/redact.ts. */
export { redactUrl };

/** Client ids are kept to this many characters (a broker must accept 23, MQTT 5 §3.1.3.1; Mosquitto, EMQX and HiveMQ take 64 and more). */
export const CLIENT_ID_MAX = 64;

/**
 * `<prefix><id>` when that fits in `max` characters, else the head of it and a hash of the whole
 * id: two ids that differ only past the cut must not share a client id — two workers on long pod
 * names (pid 1 in every pod) took each other's session over, back and forth (issue #21).
 */
export function boundedId(prefix: string, id: string, max = CLIENT_ID_MAX): string {
  const full = `${prefix}${id}`;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return `${full.slice(0, max - hash.length - 1)}-${hash}`;
}

/** The largest packet MQTT can frame (a 4-byte remaining length of 268 435 455 bytes plus the fixed header, MQTT 5 §2.1.4): the limit when a broker advertises none. */
export const MQTT_MAX_PACKET_BYTES = 268_435_460;
/** A blob chunk's packet beyond its CHUNK_BYTES of payload: fixed header, topic (owner up to 200 characters), packet id, expiry and user properties — under 1 KiB. */
export const CHUNK_PACKET_OVERHEAD = 1024;
/**
 * The smallest Maximum Packet Size a compute peer works with: one blob chunk and its topic.
 * A broker that advertises less (Mosquitto's max_packet_size) drops the connection at every
 * chunk — and at every task with its inline arrays — the sender reconnects and resends it, and
 * the producer blamed the workers for never accepting the task (issue #21 scale review).
 */
export const MIN_BROKER_PACKET_BYTES = CHUNK_BYTES + CHUNK_PACKET_OVERHEAD;

/** The Maximum Packet Size each client's broker advertised in its latest CONNACK (MQTT 5 §3.2.2.3.6). */
const brokerPacketLimits = new WeakMap<MqttClient, number>();

/** The largest packet `client`'s broker accepts, as its CONNACK said (MQTT_MAX_PACKET_BYTES when it said nothing). */
export function brokerMaxPacket(client: MqttClient): number {
  return brokerPacketLimits.get(client) ?? MQTT_MAX_PACKET_BYTES;
}

/** Bytes of the MQTT 5 PUBLISH packet of `payload` on `topic` with these properties, an upper bound (MQTT 5 §3.3). */
export function publishPacketBytes(topic: string, payload: string | Buffer, properties: { responseTopic?: string; correlationData?: Buffer; userProperties?: Record<string, string>; messageExpiryInterval?: number } = {}): number {
  const str = (s: string) => 2 + Buffer.byteLength(s);
  let props = 0;
  if (properties.responseTopic !== undefined) props += 1 + str(properties.responseTopic);
  if (properties.correlationData !== undefined) props += 1 + 2 + properties.correlationData.length;
  if (properties.messageExpiryInterval !== undefined) props += 5;
  for (const [k, v] of Object.entries(properties.userProperties ?? {})) props += 1 + str(k) + str(v);
  // Fixed header (1 + up to 4), topic, packet id, property length (up to 4), properties, payload.
  return 5 + str(topic) + 2 + 4 + props + (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length);
}

/**
 * encodeValue, with typed arrays inline as usual when the message then fits (`packetBytes` of
 * the encoding ≤ `maxPacket`), else every one of them as a blob; a WireError when even that is
 * too large. The broker's Maximum Packet Size decides, not a constant: a message over it is
 * dropped with the sender's connection (issue #21 scale review).
 */
export function encodeWithin(value: unknown, maxPacket: number, packetBytes: (enc: { json: string; blobs: Map<string, Buffer> }) => number): { json: string; blobs: Map<string, Buffer> } {
  const enc = encodeValue(value);
  if (packetBytes(enc) <= maxPacket) return enc;
  const byRef = encodeValue(value, 0, 0);
  const bytes = packetBytes(byRef);
  if (bytes <= maxPacket) return byRef;
  throw new WireError(`a message of ${bytes} bytes, with every typed array sent as a blob, is over the broker's Maximum Packet Size of ${maxPacket} bytes (Mosquitto's max_packet_size; docs/scale-out.md)`);
}

/** Resolves once `cond()` holds or after `ms`, whichever is first (polled every 20 ms; no timer left behind). */
export function until(cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const end = Date.now() + ms;
    const poll = () => (cond() || Date.now() >= end ? resolve() : void setTimeout(poll, 20));
    poll();
  });
}

/** `p`, or undefined after `ms` if it has not settled by then (its rejection swallowed). */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Ends a client without hanging (issue #21 scale review): a DISCONNECT once its QoS 1 packets
 * are acknowledged, waiting for that at most `graceMs` and only while connected; else the socket
 * is dropped. mqtt.js's end(false) waits for every unacknowledged publish, and on a connection
 * that is gone, or that the broker keeps refusing, it never resolved — the campaign's close
 * awaited it and Node exited on the unsettled await: no summary, exit status 0.
 */
export async function endClient(client: MqttClient, graceMs = 2000): Promise<void> {
  const unacked = () => Object.keys(client.outgoing).length > 0;
  await until(() => !client.connected || !unacked(), graceMs);
  const force = !client.connected || unacked();
  if ((await within(client.endAsync(force).then(() => true), graceMs)) === undefined) client.stream?.destroy();
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
export async function connectV5(o: ComputeConnectOptions, clientId: string, will?: { topic: string; payload: Buffer; expiryS: number }): Promise<MqttClient> {
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
    will: will ? { topic: will.topic, payload: will.payload, qos: 1, retain: true, properties: { messageExpiryInterval: will.expiryS } } : undefined,
  });
  client.on('connect', (connack) => brokerPacketLimits.set(client, connack.properties?.maximumPacketSize ?? MQTT_MAX_PACKET_BYTES));
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      client.end(true);
      reject(new PoreloopError(`cannot connect to MQTT 5 broker ${redactUrl(o.url)} as ${clientId}: ${e.message} (compute workers need MQTT 5 with shared subscriptions: Mosquitto 2, EMQX, HiveMQ; the embedded aedes broker speaks only 3.1.1)`));
    };
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${o.connectTimeoutMs ?? 10_000} ms`)), o.connectTimeoutMs ?? 10_000);
    const onError = (e: Error) => {
      clearTimeout(timer);
      fail(e);
    };
    client.once('connect', () => {
      clearTimeout(timer);
      const max = brokerMaxPacket(client);
      if (max < MIN_BROKER_PACKET_BYTES) {
        client.off('error', onError);
        client.end(true);
        reject(
          new PoreloopError(
            `MQTT broker ${redactUrl(o.url)} accepts packets of at most ${max} bytes (its CONNACK's Maximum Packet Size; Mosquitto's max_packet_size), and compute tasks need at least ${MIN_BROKER_PACKET_BYTES}: a blob chunk is ${CHUNK_BYTES} bytes. Raise it on the broker (configs/mosquitto/mosquitto.conf has 1048576; docs/scale-out.md)`,
          ),
        );
        return;
      }
      // Only a failed first connect ends the client: a later error (mqtt.js emits one on a
      // keepalive timeout, e.g. after the event loop stalled) must leave it reconnecting —
      // with this listener left in place it ended the client for good (issue #21).
      client.off('error', onError);
      (client.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true);
      resolve();
    });
    client.once('error', onError);
  });
  client.on('error', () => undefined);
  return client;
}
