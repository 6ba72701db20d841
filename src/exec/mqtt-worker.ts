import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { MqttClient } from 'mqtt';
import { BadInputError } from '../core/errors.js';
import {
  BlobFetcher,
  BlobFetchError,
  blobRef,
  blobRefsProblem,
  boundedId,
  brokerMaxPacket,
  COMPUTE_PROTOCOL,
  computeTopics,
  connectV5,
  decodeValue,
  encodeWithin,
  endClient,
  errorData,
  LATE_TASK_ERROR,
  publishBlob,
  publishPacketBytes,
  redactUrl,
  STATUS_EVERY_MS,
  TASK_KINDS,
  topicLevelProblem,
  within,
  type ComputeConnectOptions,
  type ComputeKind,
  type ReplyMessage,
  type TaskMessage,
  type WorkerStatus,
} from './mqtt-wire.js';

/**
 * A compute worker (`poreloop worker`, issue #21): takes tasks of its kinds from the MQTT 5
 * shared subscription `$share/poreloop-workers/poreloop/v1/<lab>/compute/tasks/<kind>`, runs
 * them with the handlers it was given, and answers on the task's response topic with its
 * correlation data (MQTT 5 §4.10, request/response). The protocol, in brief:
 *
 * - `accepted` as soon as it takes a task, then `progress` every `heartbeatMs` while it runs
 *   (the handlers run on worker threads, so this loop stays free): the producer's lease. A
 *   worker that dies stops heartbeating, its Last Will marks it offline, and the producer
 *   sends the task again — to another worker, since the dead one's session is gone.
 * - `busy` when all `concurrency` slots are taken: Mosquitto picks group members round-robin
 *   without looking at their load, so the producer re-publishes the task and it lands on the
 *   next member.
 * - `error` for a payload it cannot read or a handler that throws: one bad task never takes
 *   the worker down.
 * - Tasks are idempotent by id: a task delivered again after it finished here is answered from
 *   a small record of recent results, not computed twice.
 */
export type ComputeHandler = (payload: any) => unknown;

export interface MqttWorkerOptions extends ComputeConnectOptions {
  lab: string;
  workerId: string;
  kinds: ComputeKind[];
  /** Tasks run at once (default 1). */
  concurrency?: number;
  /** Task name → handler; only tasks of the served kinds are subscribed. */
  handlers: Record<string, ComputeHandler>;
  /** Task name → kind; default TASK_KINDS (the producer must use the same map). */
  taskKinds?: Record<string, ComputeKind>;
  heartbeatMs?: number;
  /** Retained status refresh (running / completed counts), default STATUS_EVERY_MS (10 s); a producer that hears none for 3 of these counts the worker gone. */
  statusEveryMs?: number;
  /** How long result blobs stay retained if the producer never collects them (default 1 h). */
  blobExpiryS?: number;
  blobTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface MqttWorker {
  readonly workerId: string;
  /** Random per process, in its status: tells two workers started with one id apart. */
  readonly instance: string;
  readonly running: number;
  readonly completed: number;
  /** Tasks answered with an error (bad payload, failing handler). */
  readonly failed: number;
  /**
   * Resolves, with the reason, once the worker has stopped serving by itself: another client
   * connected with its client id (`--id` given twice) and took its session over. It does not
   * reconnect then — two of them took the session from each other without end, silently
   * (issue #21 scale review); `poreloop worker` exits non-zero.
   */
  readonly lost: Promise<Error>;
  /** Stops taking tasks, lets running ones finish, clears the retained status, disconnects; does not wait on a broker that is unreachable. */
  stop(): Promise<void>;
  /** Drops the connection without DISCONNECT, as a crash would: the broker publishes the Last Will. */
  kill(): Promise<void>;
}

const RECENT_RESULTS = 1000;

export async function startMqttWorker(o: MqttWorkerOptions): Promise<MqttWorker> {
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new BadInputError(`expected an integer from 1 to 256, got ${concurrency}`, 'concurrency');
  if (o.kinds.length === 0) throw new BadInputError('expected at least one kind (physics, twin, surrogate)', 'kinds');
  const idProblem = topicLevelProblem(o.workerId);
  if (idProblem) throw new BadInputError(`${idProblem}, got ${JSON.stringify(o.workerId)}`, 'workerId');
  const tasks = Object.keys(o.handlers).filter((t) => o.kinds.includes((o.taskKinds ?? TASK_KINDS)[t]));
  const topics = computeTopics(o.lab);
  const replyPrefix = topics.replies('');
  const log = o.log ?? (() => {});
  const heartbeatMs = o.heartbeatMs ?? 1000;
  const blobExpiryS = o.blobExpiryS ?? 3600;
  const everyMs = o.statusEveryMs ?? STATUS_EVERY_MS;
  const instance = randomBytes(8).toString('hex');
  const started = new Date().toISOString();
  const status = (s: 'online' | 'offline'): OwnStatus => ({
    v: COMPUTE_PROTOCOL, workerId: o.workerId, status: s, kinds: o.kinds, tasks, concurrency, everyMs, running, completed, host: hostname(), pid: process.pid, instance, started, at: new Date().toISOString(),
  });
  let refresh: NodeJS.Timeout | undefined;
  let reconnected = false;
  let lose!: (e: Error) => void;
  const lost = new Promise<Error>((r) => (lose = r));
  let running = 0;
  let completed = 0;
  let failed = 0;
  let stopping = false;
  const active = new Set<string>();
  const recent = new Map<string, ReplyMessage>();
  // Its status, online or the Last Will's offline, expires as a producer would count the worker
  // gone (3 refreshes): a status left by a worker whose Last Will was lost (a broker restarted
  // meanwhile) does not show it online for good, and each crashed worker id (a new pod name each
  // time) does not leave an `offline` retained for good (issue #21).
  const statusExpiryS = Math.ceil((3 * everyMs) / 1000);
  // The lab is part of the client id: the same --id on two labs of one broker is no duplicate,
  // and each took the other's session over and stopped (diff review 55d5660, item 3).
  const clientId = workerClientId(o.lab, o.workerId);
  const client: MqttClient = await connectV5(o, clientId, { topic: topics.status(o.workerId), payload: Buffer.from(JSON.stringify(status('offline'))), expiryS: statusExpiryS });
  const blobs = new BlobFetcher(client, topics);

  const reply = (responseTopic: string, correlation: Buffer | undefined, msg: ReplyMessage) =>
    client.publishAsync(responseTopic, JSON.stringify(msg), { qos: 1, properties: { correlationData: correlation, userProperties: { worker: o.workerId } } }).catch((e) => log(`reply to ${responseTopic} failed: ${(e as Error).message}`));
  // Only while connected: a status queued offline would be sent on the reconnect ahead of the
  // resubscription, and this worker would read its own status back instead of the other
  // instance's Last Will (below).
  const publishStatus = async () =>
    client.connected && client.publishAsync(topics.status(o.workerId), JSON.stringify(status('online')), { qos: 1, retain: true, properties: { messageExpiryInterval: statusExpiryS } }).catch(() => undefined);

  async function onTask(payload: Buffer, packet: { properties?: { responseTopic?: string; correlationData?: Buffer } }): Promise<void> {
    const responseTopic = packet.properties?.responseTopic;
    const correlation = packet.properties?.correlationData;
    if (!responseTopic) {
      failed++;
      log('task without a response topic (MQTT 5 property) dropped: nobody to answer');
      return;
    }
    // Answers go only to this lab's reply topics: a task naming any other topic would make the
    // worker publish (results, blobs' references) wherever a sender likes, under its own login.
    const problem = responseTopicProblem(responseTopic, replyPrefix);
    if (problem) {
      failed++;
      log(`task refused: ${problem}`);
      return;
    }
    let t: TaskMessage;
    try {
      t = parseTask(payload);
    } catch (e) {
      failed++;
      log(`bad task: ${(e as Error).message}`);
      await reply(responseTopic, correlation, { v: COMPUTE_PROTOCOL, id: correlation?.toString() ?? null, type: 'error', workerId: o.workerId, error: { name: 'BadTaskError', message: (e as Error).message } });
      return;
    }
    const base = { v: COMPUTE_PROTOCOL, id: t.id, workerId: o.workerId, attempt: t.attempt };
    const done = recent.get(t.id);
    if (done) return void (await reply(responseTopic, correlation, { ...done, attempt: t.attempt }));
    if (active.has(t.id)) return void (await reply(responseTopic, correlation, { ...base, type: 'accepted' }));
    if (stopping || running >= concurrency) return void (await reply(responseTopic, correlation, { ...base, type: 'busy' }));
    const handler = o.handlers[t.task];
    if (!handler || !tasks.includes(t.task)) {
      failed++;
      return void (await reply(responseTopic, correlation, { ...base, type: 'error', error: { name: 'BadTaskError', message: `task "${t.task}": this worker serves ${tasks.join(', ') || 'nothing'}` } }));
    }
    if (t.deadline && Date.parse(t.deadline) < Date.now()) {
      failed++;
      return void (await reply(responseTopic, correlation, { ...base, type: 'error', error: { name: LATE_TASK_ERROR, message: `task ${t.id} arrived after its deadline ${t.deadline}` } }));
    }
    running++;
    active.add(t.id);
    await reply(responseTopic, correlation, { ...base, type: 'accepted' });
    const beat = setInterval(() => void reply(responseTopic, correlation, { ...base, type: 'progress' }), heartbeatMs);
    const started = Date.now();
    let answer: ReplyMessage;
    try {
      const input = decodeValue(t.payload, await blobs.fetch(t.blobs, o.blobTimeoutMs ?? 60_000));
      const value = await handler(input);
      // Each result's blobs get an owner of their own: the producer that collects them clears
      // them, and must not clear equal bytes this worker returned for another task (issue #21).
      const owner = `${boundedId('', o.workerId, 48)}.${randomBytes(6).toString('hex')}`;
      // Inline arrays only while the result fits the broker's Maximum Packet Size (issue #21 scale review).
      const enc = encodeWithin(value, brokerMaxPacket(client), (e) =>
        publishPacketBytes(responseTopic, JSON.stringify({ ...base, type: 'result', value: e.json, blobs: [...e.blobs].map(([sha, gz]) => blobRef(owner, sha, gz)), ms: 0 }), { correlationData: correlation, userProperties: { worker: o.workerId } }) + 16,
      );
      const refs = await Promise.all([...enc.blobs].map(([sha, gz]) => publishBlob(client, topics, blobRef(owner, sha, gz), gz, blobExpiryS)));
      answer = { ...base, type: 'result', value: enc.json, blobs: refs, ms: Date.now() - started };
      completed++;
    } catch (e) {
      failed++;
      answer = { ...base, type: 'error', error: errorData(e) };
    } finally {
      clearInterval(beat);
      running--;
      active.delete(t.id);
    }
    // Blobs not fetched are not an answer to keep: the producer uploads them again and resends,
    // and this worker (the only one, perhaps) must then fetch anew (issue #21).
    if (answer.type !== 'error' || answer.error.name !== BlobFetchError.name) {
      recent.set(t.id, answer);
      if (recent.size > RECENT_RESULTS) recent.delete(recent.keys().next().value as string);
    }
    await reply(responseTopic, correlation, answer);
  }

  let ownEcho = false;
  client.on('message', (topic, payload, packet) => {
    if (topic === topics.status(o.workerId)) return onOwnStatus(payload);
    if (blobs.offer(topic, payload)) return;
    void onTask(payload, packet as never).catch((e) => log(`task handling failed: ${(e as Error).message}`));
  });
  await client.subscribeAsync(o.kinds.map((k) => topics.sharedTasks(k)), { qos: 1 });
  // Its own status topic too: another instance there has this worker's id (below). Needs read
  // access to it: an ACL that lets the login only write there (configs/mosquitto/acl did, diff
  // review 55d5660, item 1) turns the duplicate-id check off — refused with a SUBACK failure
  // code (≥ 0x80, MQTT 5 §3.9.3; mqtt.js rejects then) by some brokers, silently by Mosquitto,
  // which grants and then delivers nothing: its own status never comes back (checked below).
  const noRead = `the broker does not let this login read its own status topic ${topics.status(o.workerId)}, so a second worker started with this --id goes unnoticed and the two take the session from each other without end; give the login read access there (configs/mosquitto/acl: topic readwrite poreloop/v1/+/compute/workers/+/status)`;
  await client.subscribeAsync(topics.status(o.workerId), { qos: 1 }).catch((e: Error & { code?: number }) => {
    if (typeof e.code !== 'number' || e.code < 0x80) throw e;
    ownEcho = true; // warned already
    log(`worker ${o.workerId}: warning: subscription refused (reason 0x${e.code.toString(16)}): ${noRead}`);
  });
  await publishStatus();
  // After a dropped connection the broker has published the Last Will (offline): say online again.
  client.on('connect', () => void publishStatus());
  let refreshes = 0;
  refresh = setInterval(() => {
    // Its retained status comes back at once where the login may read it; two refreshes
    // without it (connected meanwhile) mean it may not.
    if (!ownEcho && client.connected && ++refreshes === 2) {
      ownEcho = true;
      log(`worker ${o.workerId}: warning: its own status did not come back: ${noRead}`);
    }
    void publishStatus();
  }, everyMs);
  /** Leaves for good: the other instance keeps the id. */
  function takenOver(other: Partial<OwnStatus>): void {
    if (stopping) return;
    const e = new BadInputError(`another worker connected with the same id "${o.workerId}" (client id ${clientId}; ${describe(other)}, started ${other.started ?? 'before this one'}) and took this one's session over; this one, started earlier (${started}), stops: give each worker its own --id`, 'workerId');
    log(`worker ${o.workerId}: ${e.message}`);
    stopping = true;
    clearInterval(refresh);
    // No reconnect from here on (a reconnect would take the session back), and no Last Will: a
    // DISCONNECT while connected. It leaves the status topic alone, which holds the other
    // instance's status or its Last Will: that one says online on its next connect.
    client.options.reconnectPeriod = 0;
    void endClient(client).then(() => lose(e));
  }
  const describe = (s: Partial<OwnStatus>) => `instance ${s.instance}${s.host ? ` on ${s.host}` : ''}${s.pid ? ` pid ${s.pid}` : ''}`;
  /**
   * Another worker with this id (`--id` given twice) has this worker's client id: each connect
   * takes the session from the other, and both reconnected without end, silently (issue #21
   * scale review). After a reconnect, the broker holds on this worker's status topic either its
   * own Last Will (only the network dropped) or the other instance's status or Last Will (this
   * reconnect took the session from it). Exactly one of the two must leave, and each decides
   * alone, from the two statuses, by a rule both compute alike: the earlier-started one leaves
   * (by `started`, then by `instance` at equal times). Earlier-started because that is what MQTT
   * itself does — a new connection takes the session over and the older one is closed (MQTT 5
   * §3.1.4, DISCONNECT 0x8E) — so a worker restarted while the old process hangs on replaces it,
   * and because a status left by a dead process (a crashed predecessor's Last Will) is always
   * the earlier one and never makes the live worker leave. Leaving on any other instance, as
   * before, made both leave when the one leaving was slow to disconnect: the other reconnected,
   * read its Last Will and left too (diff review 55d5660, item 2). DISCONNECT 0x8E (brokers that
   * send it; Mosquitto 2.0 just closes the connection) does not decide by itself: the one taken
   * over may be the later-started one, back from a network drop; its reconnect reads the other's
   * Last Will and decides by the rule.
   */
  function onOwnStatus(payload: Buffer): void {
    if (payload.length === 0) return;
    let s: Partial<OwnStatus>;
    try {
      s = JSON.parse(payload.toString('utf8')) as Partial<OwnStatus>;
    } catch {
      return;
    }
    if (typeof s?.instance !== 'string' || s.instance === instance) {
      if (s?.instance === instance) ownEcho = true;
      return;
    }
    // The first subscription's retained status is a previous process's (a crashed one's Last
    // Will, perhaps) or an earlier-started one's, which leaves on its reconnect: no reason to
    // leave, nor to say anything yet.
    if (!reconnected) return;
    if (startedFirst({ started, instance }, s)) return takenOver(s);
    log(`worker ${o.workerId}: another instance's status under this id (${describe(s)}, started ${s.started ?? 'before this one'}): that one started earlier and is the one to leave; this one stays`);
  }
  client.on('disconnect', (packet) => {
    if (packet.reasonCode === 0x8e && !stopping) log(`worker ${o.workerId}: another client connected with client id ${clientId} and took the session over (DISCONNECT 0x8E); reconnecting, the earlier-started of the two leaves`);
  });
  client.on('connect', () => (reconnected = true));
  log(`worker ${o.workerId}: ${o.kinds.join(', ')} × ${concurrency} on ${redactUrl(o.url)} lab ${o.lab}`);

  return {
    workerId: o.workerId,
    instance,
    get running() {
      return running;
    },
    get completed() {
      return completed;
    },
    get failed() {
      return failed;
    },
    lost,
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(refresh);
      // Each step only while connected, and bounded: mqtt.js holds an UNSUBSCRIBE or a QoS 1
      // PUBLISH until the broker is back, and SIGTERM left the worker waiting for a broker that
      // was down (issue #21 scale review). The broker then publishes the Last Will (offline).
      if (client.connected) await within(client.unsubscribeAsync(o.kinds.map((k) => topics.sharedTasks(k))), 5000);
      while (running > 0) await new Promise((r) => setTimeout(r, 20));
      // A clean stop leaves no retained status behind (a crash leaves "offline", from the will).
      if (client.connected) await within(client.publishAsync(topics.status(o.workerId), Buffer.alloc(0), { qos: 1, retain: true }), 5000);
      await endClient(client);
    },
    async kill() {
      stopping = true;
      clearInterval(refresh);
      await client.endAsync(true);
    },
  };
}

/** A worker's status as it publishes it: `started` is read only by other instances under its id. */
type OwnStatus = WorkerStatus & { started: string };

/**
 * The MQTT client id of worker `workerId` on `lab` (":" is in neither name, src/core/names.ts, so
 * no two pairs share one). Not "/": Mosquitto and robots/protocol/acl.ts skip `%c` ACL patterns
 * for client ids holding "/", "+" or "#" (diff review D, item 3).
 */
export function workerClientId(lab: string, workerId: string): string {
  return boundedId('poreloop-worker-', `${lab}:${workerId}`);
}

/**
 * Whether `a` started before `b` (and so leaves, of two workers with one id): by `started`, then
 * by `instance`; a status without `started` (a worker before this rule) counts as the earlier.
 */
export function startedFirst(a: { started?: string; instance?: string }, b: { started?: string; instance?: string }): boolean {
  const t = (s: { started?: string }) => (s.started ? Date.parse(s.started) : Number.NEGATIVE_INFINITY);
  if (t(a) !== t(b)) return t(a) < t(b);
  return (a.instance ?? '') < (b.instance ?? '');
}

/** Why a task's response topic is not one a worker answers on (`<root>/replies/<producer>`), or undefined. */
export function responseTopicProblem(topic: string, replyPrefix: string): string | undefined {
  const producer = topic.startsWith(replyPrefix) ? topic.slice(replyPrefix.length) : undefined;
  if (producer && !/[/+#\u0000]/.test(producer)) return undefined;
  return `response topic ${JSON.stringify(topic.slice(0, 200))} is not ${replyPrefix}<producer id> (one level, no wildcards): a worker answers only on its lab's reply topics`;
}

/** Validates a task message; the error names the field. */
export function parseTask(payload: Buffer): TaskMessage {
  let t: Partial<TaskMessage>;
  try {
    t = JSON.parse(payload.toString('utf8')) as Partial<TaskMessage>;
  } catch (e) {
    throw new BadInputError(`not JSON (${(e as Error).message})`, 'task');
  }
  if (!t || typeof t !== 'object') throw new BadInputError('expected a JSON object', 'task');
  if (t.v !== COMPUTE_PROTOCOL) throw new BadInputError(`expected protocol ${COMPUTE_PROTOCOL}, got ${JSON.stringify(t.v)}`, 'task.v');
  if (typeof t.id !== 'string' || t.id.length === 0 || t.id.length > 200) throw new BadInputError('expected a string of 1–200 characters', 'task.id');
  if (typeof t.task !== 'string') throw new BadInputError('expected a task name', 'task.task');
  if (typeof t.payload !== 'string') throw new BadInputError('expected the encoded payload as a string', 'task.payload');
  const blobProblem = blobRefsProblem(t.blobs);
  if (blobProblem) throw new BadInputError(blobProblem.replace(/^\[\d+\]\.\w+: /, ''), `task.blobs${/^\[\d+\]\.\w+/.exec(blobProblem)?.[0] ?? ''}`);
  // Echoed in the replies, where the producer's schema checks it.
  if (t.attempt !== undefined && (!Number.isInteger(t.attempt) || t.attempt < 1)) throw new BadInputError(`expected a positive integer, got ${JSON.stringify(t.attempt)}`, 'task.attempt');
  if (t.deadline !== undefined && Number.isNaN(Date.parse(t.deadline))) throw new BadInputError('expected an ISO time', 'task.deadline');
  return { attempt: 1, ...t } as TaskMessage;
}
