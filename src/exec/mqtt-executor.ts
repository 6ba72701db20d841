import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { BadInputError, PoreloopError } from '../core/errors.js';
import type { TaskExecutor } from './executor.js';
import {
  BlobFetcher,
  BlobFetchError,
  blobRef,
  boundedId,
  brokerMaxPacket,
  clearBlob,
  COMPUTE_PROTOCOL,
  computeTopics,
  connectV5,
  decodeValue,
  encodeWithin,
  endClient,
  LATE_TASK_ERROR,
  parseReply,
  parseWorkerStatus,
  publishBlob,
  publishPacketBytes,
  STATUS_EVERY_MS,
  TASK_KINDS,
  topicLevelProblem,
  until,
  WireError,
  type BlobRef,
  type ComputeConnectOptions,
  type ComputeKind,
  type ReplyMessage,
  type TaskMessage,
  type WorkerStatus,
} from './mqtt-wire.js';
import { PoolClosedError, QueueFullError, TaskError } from './worker-pool.js';

/**
 * The producer side of the compute workers (issue #21): the same `run(task, payload)` as the
 * local WorkerPool, but the task goes to whichever `poreloop worker` the broker's shared
 * subscription picks. What it guarantees:
 *
 * - **Nothing lost.** A task is outstanding until its result arrives. No `accepted` within
 *   `ackTimeoutMs`, no heartbeat within `leaseMs`, or its worker's Last Will → the task is sent
 *   again (attempt + 1), up to `maxAttempts`; then `run` rejects with a WorkerLostError.
 * - **Nothing twice.** The first result for an id settles the task; later ones (a worker that
 *   was only slow) are counted in `stats.duplicates` and dropped. A caller that passes its own
 *   `id` gets the same promise for the same id.
 * - **Flow control from advertised capacity.** Tasks of a kind are on the wire only while the
 *   online workers of that kind (retained status) have free slots; the rest wait here, in a
 *   bounded queue, like the local pool's.
 * - **Large values as blobs** (./mqtt-wire.ts): retained, content-addressed gzip chunks with
 *   an MQTT 5 message expiry, on this producer's own topics (`blobs/<producerId>/<sha>`),
 *   uploaded when a task is first sent — and again on a later send once older than half the
 *   expiry, so a task that waited long for a worker still finds them — and cleared once no
 *   pending task of this producer refers to them.
 */

export class WorkerLostError extends PoreloopError {}

export interface MqttExecutorOptions extends ComputeConnectOptions {
  lab: string;
  /** Unique per producer (default: a random id); names the response topic. */
  producerId?: string;
  /** Task name → worker kind; default TASK_KINDS. */
  kinds?: Record<string, ComputeKind>;
  /** No `accepted` within this long after a send → send again (default 5 s). */
  ackTimeoutMs?: number;
  /** No heartbeat from the worker within this long → send again (default 10 s; workers beat every 1 s). */
  leaseMs?: number;
  /** Sends of one task before giving up (default 5). */
  maxAttempts?: number;
  /** Tasks waiting for capacity (default 1024). */
  maxQueue?: number;
  /** Retained blob lifetime, a backstop if this process dies (default 1 h); a blob older than half of it is uploaded again before a send. */
  blobExpiryS?: number;
  blobTimeoutMs?: number;
  /**
   * close() waits this long at most for what it finishes (blobs cleared, results being
   * collected), and no longer once the connection is gone (default 10 s).
   */
  closeTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface RunOptions {
  /** Idempotency key: the same id while pending returns the same promise. */
  id?: string;
  /** The result is of no use after this long: message expiry on the broker, and the worker refuses it late. */
  deadlineMs?: number;
  /**
   * Fail with a WorkerLostError once the task has waited this long with no worker of its kind
   * online (default: wait for one as long as the deadline allows) — for callers that can do the
   * work themselves instead (the campaign's twin generation).
   */
  noWorkerMs?: number;
}

interface Job {
  id: string;
  task: string;
  kind: ComputeKind;
  payload: string;
  /** The sha256 of each blob of the payload (its bytes are in `blobUse`, held while this job is pending). */
  shas: string[];
  /** Their references as last uploaded (set before each send). */
  blobs: BlobRef[];
  deadline?: number;
  noWorkerMs?: number;
  /** Since when the task has waited with no worker of its kind online. */
  orphanSince?: number;
  attempt: number;
  state: 'uploading' | 'queued' | 'sent' | 'accepted';
  workerId?: string;
  heardAt: number;
  notBefore: number;
  bounces: number;
  promise: Promise<unknown>;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export interface ExecutorStats {
  sent: number;
  redelivered: number;
  bounced: number;
  duplicates: number;
  completed: number;
  failed: number;
  bytesOut: number;
  bytesIn: number;
  /** Replies and statuses refused by their schema (logged, otherwise ignored). */
  invalid: number;
}

/** Sent and not given up on: a worker may be running it (issue #21). */
function onWire(job: Job): boolean {
  return job.state === 'sent' || job.state === 'accepted';
}

/** An error of the wire's (the worker could not run this attempt), not the task's own. */
function isInfraError(name: string): boolean {
  return name === BlobFetchError.name || name === LATE_TASK_ERROR;
}

export class MqttExecutor implements TaskExecutor {
  readonly stats: ExecutorStats = { sent: 0, redelivered: 0, bounced: 0, duplicates: 0, completed: 0, failed: 0, bytesOut: 0, bytesIn: 0, invalid: 0 };
  private readonly jobs = new Map<string, Job>();
  private readonly settled = new Set<string>();
  /**
   * The payload blobs of the pending jobs, by sha: tasks on the same volume (property groups,
   * realisations scored twice) share one upload. `users` counts the pending jobs that refer to
   * it, from run() to settle — never across an await, so a job that settles mid-upload still
   * releases its blobs (issue #21); `ref` is the last upload, begun `at`.
   */
  private readonly blobUse = new Map<string, { gz: Buffer; users: number; ref?: Promise<BlobRef>; at: number }>();
  /** Online workers by id, with when their status was last heard here. */
  private readonly workerMap = new Map<string, { status: WorkerStatus; heardAt: number }>();
  private readonly topics;
  private readonly fetcher;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /**
   * Results being collected: their jobs are out of `jobs` already, so close() waits for these
   * before ending the client — else their input blobs were never cleared (retained until they
   * expire, 1 h) and nor were the results' (issue #21).
   */
  private readonly collecting = new Set<Promise<void>>();
  private seq = 0;
  private lastTick = Date.now();
  private warnedNoWorker = new Set<string>();

  private constructor(
    private readonly client: MqttClient,
    private readonly o: MqttExecutorOptions & { producerId: string },
  ) {
    this.topics = computeTopics(o.lab);
    this.fetcher = new BlobFetcher(client, this.topics);
    this.timer = setInterval(() => this.tick(), 100);
  }

  static async connect(options: MqttExecutorOptions): Promise<MqttExecutor> {
    const producerId = options.producerId ?? `p-${randomUUID().slice(0, 12)}`;
    // It names this producer's reply and blob topics: one level, no wildcards.
    const idProblem = topicLevelProblem(producerId);
    if (idProblem) throw new BadInputError(`${idProblem}, got ${JSON.stringify(producerId)}`, 'producerId');
    const client = await connectV5(options, boundedId('poreloop-producer-', producerId));
    const ex = new MqttExecutor(client, { ...options, producerId });
    client.on('message', (topic, payload, packet) => ex.onMessage(topic, payload, packet as never));
    // After a reconnect the workers are learnt afresh from their retained statuses (resubscribed):
    // one that stopped cleanly meanwhile left none, and was otherwise counted online for good —
    // tasks went nowhere and the noWorkerMs fallback never began (issue #21).
    client.on('connect', () => ex.workerMap.clear());
    await client.subscribeAsync([ex.topics.replies(producerId), ex.topics.allStatus], { qos: 1 });
    return ex;
  }

  /** Free slots are not known here; `size` is the advertised capacity of the online workers. */
  get size(): number {
    return this.workers().reduce((n, w) => n + w.concurrency, 0);
  }

  /** Workers whose retained status says online, heard from within 3 of their status intervals. */
  workers(): WorkerStatus[] {
    return [...this.workerMap.values()].map((w) => w.status);
  }

  get pending(): number {
    return this.jobs.size;
  }

  /** Waits until workers serving `kind` advertise at least `capacity` slots. */
  async waitForCapacity(kind: ComputeKind, capacity: number, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.capacity(kind) < capacity) {
      if (Date.now() > until) throw new WorkerLostError(`only ${this.capacity(kind)} of ${capacity} ${kind} worker slots online after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  run<T>(task: string, payload: unknown, options: RunOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new PoolClosedError('MQTT executor is closed'));
    const kind = (this.o.kinds ?? TASK_KINDS)[task];
    if (!kind) return Promise.reject(new BadInputError(`unknown task "${task}"; known: ${Object.keys(this.o.kinds ?? TASK_KINDS).join(', ')}`, 'task'));
    const id = options.id ?? `${this.o.producerId}-${++this.seq}`;
    const existing = this.jobs.get(id);
    if (existing) return existing.promise as Promise<T>;
    if (this.jobs.size >= (this.o.maxQueue ?? 1024)) return Promise.reject(new QueueFullError(`MQTT executor queue is full (${this.jobs.size} tasks); retry later or raise maxQueue`));
    let enc: ReturnType<typeof encodeWithin>;
    try {
      // Inline arrays only while the task fits the broker's Maximum Packet Size (its CONNACK):
      // one over it made the broker drop this connection at every send, and the task was resent
      // until it failed as if no worker had taken it (issue #21 scale review).
      const deadline = options.deadlineMs !== undefined ? Date.now() + options.deadlineMs : undefined;
      enc = encodeWithin(payload, brokerMaxPacket(this.client), (e) => {
        const blobs = [...e.blobs].map(([sha, gz]) => blobRef(this.o.producerId, sha, gz));
        return this.taskPacketBytes({ id, task, kind, payload: e.json, blobs, attempt: this.o.maxAttempts ?? 5, deadline });
      });
    } catch (e) {
      // Over the wire's limits (a volume above MAX_BLOB_BYTES): a rejection, never a throw from run().
      return Promise.reject(e instanceof WireError ? new WireError(`task "${task}": ${e.message}; such payloads need exec: local`) : (e as Error));
    }
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const job: Job = {
      id, task, kind, payload: enc.json, shas: [...enc.blobs.keys()], blobs: [], attempt: 0, state: 'queued', heardAt: 0, notBefore: 0, bounces: 0, promise, resolve, reject,
      deadline: options.deadlineMs !== undefined ? Date.now() + options.deadlineMs : undefined,
      noWorkerMs: options.noWorkerMs,
    };
    for (const [sha, gz] of enc.blobs) {
      const use = this.blobUse.get(sha);
      if (use) use.users++;
      else this.blobUse.set(sha, { gz, users: 1, at: 0 });
    }
    this.jobs.set(id, job);
    this.pump();
    return promise as Promise<T>;
  }

  /**
   * Fails the pending tasks, finishes what is under way (their blobs cleared, results being
   * collected) while connected and for at most `closeTimeoutMs`, and ends the connection. It
   * always resolves: a close that waited on a publish the broker would never acknowledge (the
   * connection gone) left the campaign's last await unsettled, and Node exited with status 0
   * and no summary (issue #21 scale review).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // Every pending task rejected at once (settle rejects before its first await).
    const settling = [...this.jobs.values()].map((job) => this.settle(job, new PoolClosedError('MQTT executor closed before the task finished')));
    let finished = false;
    void Promise.all([...settling, ...this.collecting]).finally(() => (finished = true));
    await until(() => finished || !this.client.connected, this.o.closeTimeoutMs ?? 10_000);
    await endClient(this.client);
  }

  /** Remembers settled ids (bounded), to tell a late duplicate result from a stray message. */
  private markSettled(id: string): void {
    this.settled.add(id);
    if (this.settled.size > 100_000) this.settled.delete(this.settled.values().next().value as string);
  }

  /**
   * The blob as uploaded for a send: the upload in flight or done, unless it began more than half
   * the expiry ago — a task that waited for a worker longer than the expiry found its blobs gone
   * (issue #21). A failed upload is forgotten, so the next send tries again.
   */
  private upload(sha: string): Promise<BlobRef> {
    const use = this.blobUse.get(sha)!;
    const expiryS = this.o.blobExpiryS ?? 3600;
    if (use.ref && Date.now() - use.at < (expiryS * 1000) / 2) return use.ref;
    use.at = Date.now();
    this.stats.bytesOut += use.gz.length;
    const ref = publishBlob(this.client, this.topics, blobRef(this.o.producerId, sha, use.gz), use.gz, expiryS);
    use.ref = ref;
    ref.catch(() => {
      if (use.ref === ref) use.ref = undefined;
    });
    return ref;
  }

  /** Uploads the job's blobs as needed, then sends it; a failed upload fails the task. */
  private dispatch(job: Job): void {
    job.state = 'uploading';
    void Promise.all(job.shas.map((sha) => this.upload(sha))).then(
      (refs) => {
        if (this.jobs.get(job.id) !== job || job.state !== 'uploading') return; // settled meanwhile
        job.blobs = refs;
        this.send(job);
      },
      (e) => this.settle(job, e as Error),
    );
  }

  /** Slots advertised by the online workers of `kind`. */
  capacity(kind: ComputeKind): number {
    return this.workers().filter((w) => w.kinds.includes(kind)).reduce((n, w) => n + w.concurrency, 0);
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    const inFlight = new Map<ComputeKind, number>();
    for (const j of this.jobs.values()) if (j.state !== 'queued') inFlight.set(j.kind, (inFlight.get(j.kind) ?? 0) + 1);
    for (const j of this.jobs.values()) {
      if (j.state !== 'queued' || j.notBefore > now) continue;
      const cap = this.capacity(j.kind);
      if (cap === 0 && !this.warnedNoWorker.has(j.kind)) {
        this.warnedNoWorker.add(j.kind);
        this.o.log?.(`no ${j.kind} worker online on lab ${this.o.lab}: tasks wait (start one with: poreloop worker --broker … --kinds ${j.kind})`);
      }
      if ((inFlight.get(j.kind) ?? 0) >= cap) continue;
      inFlight.set(j.kind, (inFlight.get(j.kind) ?? 0) + 1);
      this.dispatch(j);
    }
  }

  /** A task's message: its body and PUBLISH properties (send, and the size check of run). */
  private taskMessage(job: Pick<Job, 'id' | 'task' | 'payload' | 'blobs' | 'attempt' | 'deadline'>) {
    const msg: TaskMessage = {
      v: COMPUTE_PROTOCOL, id: job.id, task: job.task, attempt: job.attempt, payload: job.payload, blobs: job.blobs,
      deadline: job.deadline !== undefined ? new Date(job.deadline).toISOString() : undefined,
    };
    const expiry = job.deadline !== undefined ? Math.max(1, Math.ceil((job.deadline - Date.now()) / 1000)) : undefined;
    const properties = {
      responseTopic: this.topics.replies(this.o.producerId),
      correlationData: Buffer.from(job.id),
      userProperties: { task: job.task, attempt: String(job.attempt) },
      ...(expiry !== undefined ? { messageExpiryInterval: expiry } : {}),
    };
    return { body: JSON.stringify(msg), properties };
  }

  private taskPacketBytes(job: Pick<Job, 'id' | 'task' | 'kind' | 'payload' | 'blobs' | 'attempt' | 'deadline'>): number {
    const { body, properties } = this.taskMessage(job);
    return publishPacketBytes(this.topics.tasks(job.kind), body, properties);
  }

  private send(job: Job): void {
    job.attempt++;
    job.state = 'sent';
    job.heardAt = Date.now();
    job.workerId = undefined;
    const { body, properties } = this.taskMessage(job);
    this.stats.sent++;
    this.stats.bytesOut += body.length;
    void this.client
      .publishAsync(this.topics.tasks(job.kind), body, { qos: 1, properties })
      .catch((e) => this.o.log?.(`publishing task ${job.id} failed: ${(e as Error).message}; the ack timeout sends it again`));
  }

  /** Sends a task again (its worker died, or never answered), or gives up after maxAttempts. */
  private redeliver(job: Job, why: string): void {
    if (job.attempt >= (this.o.maxAttempts ?? 5)) {
      void this.settle(job, new WorkerLostError(`task ${job.id} (${job.task}): ${why}, ${job.attempt} attempts made`));
      return;
    }
    this.stats.redelivered++;
    this.o.log?.(`task ${job.id}: ${why}; sending it again`);
    job.state = 'queued';
    job.notBefore = 0;
  }

  private tick(): void {
    const now = Date.now();
    // Time this process stood still (a long synchronous step; ticks are 100 ms apart) is no
    // worker's silence: their statuses and heartbeats wait unread in the socket (issue #21).
    const stalled = now - this.lastTick > 1000 ? now - this.lastTick : 0;
    this.lastTick = now;
    // Silent for 3 of its status intervals: gone, whatever its last retained status said (its
    // Last Will lost with a restarted broker; issue #21).
    for (const [id, w] of this.workerMap) {
      w.heardAt += stalled;
      const everyMs = w.status.everyMs ?? STATUS_EVERY_MS;
      if (now - w.heardAt > 3 * everyMs) this.workerGone(id, `worker ${id} sent no status for ${3 * everyMs} ms`);
    }
    for (const j of this.jobs.values()) {
      j.heardAt += stalled;
      if (j.deadline !== undefined && now > j.deadline) void this.settle(j, new WorkerLostError(`task ${j.id} (${j.task}) passed its deadline`));
      else if (this.orphaned(j, now)) void this.settle(j, new WorkerLostError(`task ${j.id} (${j.task}): no ${j.kind} worker online for ${j.noWorkerMs} ms`));
      else if (j.state === 'sent' && now - j.heardAt > (this.o.ackTimeoutMs ?? 5000)) this.redeliver(j, `no worker accepted it within ${this.o.ackTimeoutMs ?? 5000} ms`);
      else if (j.state === 'accepted' && now - j.heardAt > (this.o.leaseMs ?? 10_000)) this.redeliver(j, `worker ${j.workerId} went silent for ${this.o.leaseMs ?? 10_000} ms`);
    }
    this.pump();
  }

  /** True once a queued task with `noWorkerMs` has waited that long with no worker of its kind online. */
  private orphaned(j: Job, now: number): boolean {
    if (j.noWorkerMs === undefined || j.state !== 'queued' || this.capacity(j.kind) > 0) {
      j.orphanSince = undefined;
      return false;
    }
    j.orphanSince ??= now;
    return now - j.orphanSince >= j.noWorkerMs;
  }

  /** Never throws: a bad message from the broker is counted, logged and ignored (the campaign goes on). */
  private onMessage(topic: string, payload: Buffer, packet: { properties?: { correlationData?: Buffer } }): void {
    try {
      if (this.fetcher.offer(topic, payload)) return;
      if (topic.endsWith('/status')) return this.onStatus(topic, payload);
      this.onReply(payload, packet);
    } catch (e) {
      this.stats.invalid++;
      this.o.log?.(`ignored a message on ${topic}: ${(e as Error).message}`);
    }
  }

  private onReply(payload: Buffer, packet: { properties?: { correlationData?: Buffer } }): void {
    this.stats.bytesIn += payload.length;
    const m = parseReply(payload);
    const id = m.id ?? packet.properties?.correlationData?.toString();
    const job = id ? this.jobs.get(id) : undefined;
    if (!job) {
      if (m.type === 'result' && id && this.settled.has(id)) {
        this.stats.duplicates++;
        void Promise.all(m.blobs.map((b) => clearBlob(this.client, this.topics, b))).catch(() => undefined);
      }
      return;
    }
    // The task's outcome — its result or its own error — is final from any attempt (the task is
    // idempotent; the first one wins). Any other reply is about one attempt, and one from an
    // earlier attempt's worker is late: it must neither requeue, move nor abandon the attempt now
    // running, nor count as its heartbeat (issue #21).
    const outcome = m.type === 'result' || (m.type === 'error' && !isInfraError(m.error.name));
    if (!outcome && !this.current(job, m)) return;
    job.heardAt = Date.now();
    switch (m.type) {
      case 'accepted':
      case 'progress':
        job.state = 'accepted';
        job.workerId = m.workerId;
        return;
      case 'busy':
        this.stats.bounced++;
        job.bounces++;
        job.state = 'queued';
        job.attempt--; // a bounce is not a failed attempt
        // Round-robin will try the next member; back off a little if every one is busy.
        job.notBefore = Date.now() + Math.min(500, 5 * job.bounces);
        return;
      case 'result': {
        const collected = this.collect(job, m);
        this.collecting.add(collected);
        void collected.finally(() => this.collecting.delete(collected));
        return;
      }
      case 'error':
        return this.onError(job, m);
    }
  }

  /**
   * Whether a reply other than the task's outcome belongs to the attempt now on the wire, decided
   * once for all of them (issue #21). A `busy` answers a send no worker has taken yet; the others,
   * one not given up on. Past that, the echoed `attempt` decides; a peer that does not echo it
   * (older, within wire version 2) leaves only the state to go by: an error from another worker
   * than the one that accepted the task is late.
   */
  private current(job: Job, m: ReplyMessage): boolean {
    if (m.type === 'busy' ? job.state !== 'sent' : !onWire(job)) return false;
    if (m.attempt !== undefined) return m.attempt === job.attempt;
    return m.type !== 'error' || job.state !== 'accepted' || m.workerId === job.workerId;
  }

  /**
   * A worker's `error` of the current attempt (onReply), or the task's own from any. The task's
   * own (bad input, a failing handler) fails it as a TaskError. The others are the wire's: as
   * TaskErrors they stopped the campaign where its fallback (WireError, WorkerLostError) would
   * have done the work here (issue #21). Blobs the worker could not fetch → uploaded again and
   * the task resent (an attempt; WorkerLostError after maxAttempts); a task that reached the
   * worker late → a WorkerLostError, as the producer's own deadline check gives.
   */
  private onError(job: Job, m: Extract<ReplyMessage, { type: 'error' }>): void {
    if (m.error.name === BlobFetchError.name) {
      for (const sha of job.shas) this.blobUse.get(sha)!.ref = undefined;
      this.redeliver(job, `worker ${m.workerId} could not fetch its blobs (${m.error.message})`);
      return;
    }
    const error = m.error.name === LATE_TASK_ERROR ? new WorkerLostError(`task ${job.id} (${job.task}) passed its deadline: ${m.error.message} (worker ${m.workerId})`) : new TaskError(m.error.message, m.error.name, m.error.data);
    void this.settle(job, error);
  }

  private async collect(job: Job, m: Extract<ReplyMessage, { type: 'result' }>): Promise<void> {
    // Settle once: mark first, so a second result arriving while blobs load is a duplicate.
    if (!this.jobs.has(job.id)) return;
    this.jobs.delete(job.id);
    this.markSettled(job.id);
    let answer: () => void;
    try {
      const blobs = await this.fetcher.fetch(m.blobs, this.o.blobTimeoutMs ?? 60_000);
      for (const b of blobs.values()) this.stats.bytesIn += b.length;
      const value = decodeValue(m.value, blobs);
      answer = () => (this.stats.completed++, job.resolve(value));
    } catch (e) {
      answer = () => (this.stats.failed++, job.reject(e as Error));
    }
    // Fetched or not, the result's blobs are of no further use: cleared either way (issue #21).
    await Promise.all(m.blobs.map((b) => clearBlob(this.client, this.topics, b))).catch(() => undefined);
    answer();
    await this.releaseBlobs(job);
    this.pump();
  }

  private async settle(job: Job, error: Error): Promise<void> {
    if (!this.jobs.has(job.id)) return;
    this.jobs.delete(job.id);
    this.markSettled(job.id);
    this.stats.failed++;
    job.reject(error);
    await this.releaseBlobs(job);
    this.pump();
  }

  /** Clears the blobs no pending job of this producer refers to any longer (uploaded or being uploaded). */
  private async releaseBlobs(job: Job): Promise<void> {
    for (const sha of job.shas) {
      const use = this.blobUse.get(sha);
      if (!use || --use.users > 0) continue;
      this.blobUse.delete(sha);
      if (use.at === 0) continue; // never uploaded
      if (!this.closed || this.client.connected) await clearBlob(this.client, this.topics, blobRef(this.o.producerId, sha, use.gz)).catch(() => undefined);
    }
  }

  private onStatus(topic: string, payload: Buffer): void {
    const workerId = topic.split('/').at(-2)!;
    // An empty retained message is a clean stop; anything else must be a valid status.
    const s = payload.length ? parseWorkerStatus(payload) : undefined;
    if (s && s.status === 'online') {
      this.workerMap.set(workerId, { status: s, heardAt: Date.now() });
      this.warnedNoWorker.clear();
      this.pump();
      return;
    }
    // Offline (Last Will) or cleared: its tasks go to someone else now, not after the lease.
    this.workerGone(workerId, `worker ${workerId} went offline`);
  }

  private workerGone(workerId: string, why: string): void {
    this.workerMap.delete(workerId);
    for (const j of this.jobs.values()) if (onWire(j) && j.workerId === workerId) this.redeliver(j, why);
    this.pump();
  }
}
