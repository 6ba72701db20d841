/**
 * Rig SDK (issue 7): a lab integrates a rig by writing one function,
 *
 *   createRig({ id, capabilities, broker, handle: async (job, report) => measurements })
 *
 * and the SDK speaks the protocol of docs/rig-protocol.md: persistent session (clean start
 * false) so jobs sent while the rig is away are delivered when it returns; retained status with
 * a Last Will that marks the rig offline when it drops; heartbeats; duplicate-job suppression by
 * (jobId, attempt) with a persistent record of finished jobs; numbered events; admin commands
 * (pause, resume, cancel, safety-stop); graceful shutdown.
 */
import type { Clock, RigEvent, RigEventType, RigInfo, RigJob, Transport } from '../../src/core/protocols.js';
import { systemClock } from '../../src/core/protocols.js';
import eventSchema from '../protocol/schemas/event.schema.json' with { type: 'json' };
import statusSchema from '../protocol/schemas/status.schema.json' with { type: 'json' };
import { parseMessage, checkOutbound, type AdminCommand, type StatusMessage } from '../protocol/validate.js';
import { assertName, compatibleProtocol, DEFAULT_MAX_PAYLOAD_BYTES, PROTOCOL_VERSION, rigClientId, SUPPORTED_PROTOCOLS, topicsFor } from '../protocol/topics.js';
import { connectMqtt, payloadSizeProblem, type MqttConnectOptions, type WillOptions } from '../transport/mqtt.js';
import { MIN_KEY_BYTES, signPayload } from '../protocol/signing.js';
import { createFinishedStore, stateFileFor, type FinishedStore } from './store.js';

export type Measurements = Record<string, number>;
/** What a handler returns: measurements, or measurements with a feasibility verdict. */
export type HandlerResult = Measurements | { measurements: Measurements; feasible?: boolean };
/**
 * Reports progress in [0, 1] (published as a `progress` event), optionally with intermediate
 * measurements — e.g. a durability test's capacity at the current cycle (issue #20,
 * docs/rig-protocol.md "Intermediate measurements and early stop").
 */
export type Report = (fraction: number, note?: string, measurements?: Measurements) => Promise<void>;
export interface HandlerContext {
  /** Aborted on cancel, safety-stop or forced shutdown: stop the hardware and throw. */
  signal: AbortSignal;
  /**
   * Aborted by a `stop` admin command (issue #20): end the test now and *return* what has been
   * measured (a result, not a failure). A handler that cannot stop early may ignore it.
   */
  stop: AbortSignal;
  rigId: string;
}
export type RigHandler = (job: RigJob, report: Report, ctx: HandlerContext) => Promise<HandlerResult>;

/** Opens the rig's connection; given the client id, session mode and Last Will it must use. */
export type TransportFactory = (o: { clientId: string; clean: boolean; will: WillOptions }) => Promise<Transport & { kill?(): Promise<void> }>;

export interface CreateRigOptions {
  id: string;
  capabilities: string[];
  /** Broker URL, MQTT options (credentials default to the environment), or a transport factory. */
  broker: string | Omit<MqttConnectOptions, 'clientId' | 'will' | 'clean'> | TransportFactory;
  handle: RigHandler;
  lab?: string;
  /** Jobs run at the same time (default 1); further jobs wait in the rig's queue. */
  concurrency?: number;
  /** Directory for the record of finished jobs (survives restarts); omit to keep it in memory. */
  stateDir?: string;
  /** Status is republished this often as a heartbeat (default 5000 ms; kept within [100, 300 000] ms, status.schema.json). */
  heartbeatMs?: number;
  maxPayloadBytes?: number;
  clock?: Clock;
  /**
   * MQTT client id, stable across restarts (default `poreloop-rig-<lab>-<id>`). For a broker
   * that allows only the 23 characters MQTT 3.1.1 guarantees, pass `shortClientId(lab, id)`.
   */
  clientId?: string;
  /**
   * HMAC key shared with the orchestrator (opt-in, for brokers you do not control): the rig then
   * signs its status, events and Last Will (../protocol/signing.ts, docs/security.md).
   */
  signingKey?: string | Uint8Array;
  /** Called with anything the rig refused or could not do (also published on the error topic). */
  onProblem?: (message: string) => void;
}

export interface RigHandle {
  readonly id: string;
  start(): Promise<void>;
  /**
   * Graceful: refuse new jobs, hand back queued ones (rejected), let running ones finish within
   * graceMs, then fail the rest (`failed`, final false). With `abandon: 'silent'` the queued and
   * unfinished jobs are dropped without an event and not remembered, as a killed process drops
   * them: for an embedded rig that stops because its campaign process stops, whose orchestrator
   * will re-dispatch the same attempt on resume (docs/rig-protocol.md §5).
   */
  stop(options?: { graceMs?: number; abandon?: 'report' | 'silent' }): Promise<void>;
  /** Drops the connection without DISCONNECT (broker fires the Last Will) and forgets running work. */
  crash(): Promise<void>;
  status(): RigInfo['status'];
  running(): number;
}

interface Execution {
  job: RigJob;
  key: string;
  seq: number;
  events: RigEvent[];
  state: 'queued' | 'running';
  abort: AbortController;
  /** Aborted by a `stop` admin command: the handler ends early and returns its measurements. */
  stop: AbortController;
  cancelled: boolean;
}

const SDK = 'poreloop-rig-sdk/1.0';
/**
 * Cancels for jobs not (yet) here, and admin command ids seen, are remembered up to this many
 * each, oldest forgotten first (rig-protocol.md §3: remembered cancels are bounded, so a stream
 * of cancels for made-up job ids cannot grow a rig's memory without end).
 */
export const MAX_REMEMBERED = 10_000;

/** Adds to an insertion-ordered set, forgetting the oldest entries beyond MAX_REMEMBERED. */
function remember(set: Set<string>, key: string): void {
  set.add(key);
  for (const old of set) {
    if (set.size <= MAX_REMEMBERED) break;
    set.delete(old);
  }
}

/** Most measurements one result may carry: read from event.schema.json, the normative definition, not repeated (review of 0e10d79). */
export const MAX_MEASUREMENTS: number = eventSchema.properties.measurements.maxProperties;
/** Longest measurement name, from event.schema.json (security review, finding 3: names had no limit). */
export const MAX_MEASUREMENT_NAME: number = eventSchema.properties.measurements.propertyNames.maxLength;
const RESULT_SHAPE = 'return measurements ({ name: number, … }) or { measurements: { name: number, … }, feasible?: boolean }';

const shown = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? `a string "${v.slice(0, 40)}"` : typeof v === 'undefined' ? 'undefined' : `${typeof v} ${String(v)}`);

/**
 * What a handler returned, as the fields of a `result` event, or why it cannot be one (review:
 * undefined, null, > 256 measurements or a non-boolean `feasible` made the SDK throw after the
 * job was forgotten, and the unhandled rejection killed the rig process).
 */
export function checkHandlerResult(out: unknown): { measurements: Measurements; feasible?: boolean } | string {
  if (out === null || typeof out !== 'object' || Array.isArray(out)) return `handler returned ${shown(out)}; ${RESULT_SHAPE}`;
  // A flat result may name a measurement `measurements` (a number); anything else there is the structured form.
  const structured = 'measurements' in out && typeof (out as { measurements: unknown }).measurements !== 'number';
  const measurements = structured ? (out as { measurements: unknown }).measurements : out;
  if (measurements === null || typeof measurements !== 'object' || Array.isArray(measurements)) return `handler returned measurements that are ${shown(measurements)}; ${RESULT_SHAPE}`;
  const entries = Object.entries(measurements);
  if (entries.length > MAX_MEASUREMENTS) return `handler returned ${entries.length} measurements; a result carries at most ${MAX_MEASUREMENTS}`;
  const long = entries.find(([k]) => k.length > MAX_MEASUREMENT_NAME);
  if (long) return `handler returned a measurement name of ${long[0].length} characters (${long[0].slice(0, 40)}…); names are at most ${MAX_MEASUREMENT_NAME}`;
  const bad = entries.find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
  if (bad) return `handler returned a non-finite measurement ${bad[0]}=${String(bad[1])}; each measurement must be a finite number`;
  const feasible: unknown = structured ? (out as { feasible?: unknown }).feasible : undefined;
  if (feasible !== undefined && typeof feasible !== 'boolean') return `handler returned feasible: ${shown(feasible)}; feasible must be true, false or left out`;
  return { measurements: measurements as Measurements, ...(feasible !== undefined ? { feasible } : {}) };
}

export function createRig(options: CreateRigOptions): RigHandle {
  const id = assertName('rig id', options.id);
  const lab = options.lab ?? 'default';
  const topics = topicsFor(lab);
  const capabilities = options.capabilities.map((c) => assertName('capability', c));
  if (capabilities.length === 0) throw new Error(`rig ${id}: declare at least one capability`);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  // Within status.schema.json's [minimum, maximum]: a status outside it would be refused.
  const heartbeatMs = Math.min(statusSchema.properties.heartbeatMs.maximum, Math.max(statusSchema.properties.heartbeatMs.minimum, options.heartbeatMs ?? 5000));
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const clock = options.clock ?? systemClock;
  const store: FinishedStore = createFinishedStore(options.stateDir ? stateFileFor(options.stateDir, lab, id) : undefined);
  const clientId = options.clientId ?? rigClientId(lab, id);
  const iso = () => new Date(clock.now()).toISOString();
  const key = options.signingKey === undefined ? undefined : typeof options.signingKey === 'string' ? Buffer.from(options.signingKey, 'utf8') : options.signingKey;
  if (key && key.length < MIN_KEY_BYTES) throw new Error(`rig ${id}: signingKey must have at least ${MIN_KEY_BYTES} bytes`);
  /** What goes on the wire: the JSON, signed when the rig has a key. */
  const wire = (doc: object) => (key ? signPayload(JSON.stringify(doc), key) : JSON.stringify(doc));

  let transport: (Transport & { kill?(): Promise<void> }) | null = null;
  let beating: AbortController | undefined;
  let mode: 'online' | 'paused' | 'safety-stop' = 'online';
  let stopping = false;
  const live = new Map<string, Execution>();
  const queue: Execution[] = [];
  const cancelledEarly = new Set<string>();
  const seenCommands = new Set<string>();
  const settled = new Set<Promise<void>>();

  const problem = (message: string) => options.onProblem?.(message);
  // Heartbeats wait on the injected clock (not setInterval) so that a test's fake clock
  // decides when a rig beats, in step with the dispatcher's heartbeat timeout (issue #15).
  const heartbeatLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      try {
        await clock.sleep(heartbeatMs, signal);
      } catch {
        return; // stop() or crash() aborted the sleep
      }
      await publishStatus();
    }
  };
  const running = () => [...live.values()].filter((e) => e.state === 'running').length;

  const statusDoc = (status: RigInfo['status']): StatusMessage => ({
    rigId: id,
    status,
    protocol: PROTOCOL_VERSION,
    protocols: [...SUPPORTED_PROTOCOLS],
    capabilities,
    concurrency,
    running: running(),
    heartbeatMs,
    at: iso(),
    sdk: SDK,
  });
  const currentStatus = (): RigInfo['status'] => (mode !== 'online' ? mode : running() >= concurrency ? 'busy' : 'online');

  const publishStatus = async (status: RigInfo['status'] = currentStatus()) => {
    const t = transport;
    if (!t) return;
    await t.publish(topics.status(id), wire(statusDoc(status)), { qos: 1, retain: true }).catch((e) => problem(`status publish failed: ${e.message}`));
  };

  const publishError = async (topic: string, reason: string, extra: { jobId?: string; bytes?: number; excerpt?: string } = {}) => {
    problem(reason);
    const t = transport;
    if (!t) return;
    const doc = { source: id, topic, reason: reason.slice(0, 2000), rigId: id, ...extra, at: iso(), protocol: PROTOCOL_VERSION };
    await t.publish(topics.errors(id), JSON.stringify(doc), { qos: 1 }).catch(() => undefined);
  };

  const send = async (t: Transport | null, ev: RigEvent, payload = wire(ev)) => {
    if (!t) return;
    await t.publish(topics.events(id), payload, { qos: 1, properties: { correlationData: ev.jobId, userProperties: { protocol: PROTOCOL_VERSION } } }).catch((e) =>
      problem(`event publish failed for ${ev.jobId}: ${e.message}`),
    );
  };

  const emit = async (x: Execution, type: RigEventType, extra: Partial<RigEvent> = {}) => {
    const ev: RigEvent = { jobId: x.job.jobId, rigId: id, attempt: x.job.attempt, seq: x.seq + 1, type, at: iso(), protocol: PROTOCOL_VERSION, ...extra };
    // The seq is spent only on an event that passed the check, as in `finish`: a refused
    // progress must not leave a gap in the stream (rig-protocol.md §3; review of 0e10d79).
    checkOutbound('event', ev);
    const payload = wire(ev);
    const tooBig = oversized(ev, payload);
    if (tooBig) throw new Error(`report: ${tooBig}`);
    x.seq++;
    x.events.push(ev);
    await send(transport, ev, payload);
  };

  /**
   * Why an event cannot be sent for its size, if so. A message over the limit is refused by every
   * peer, and over a broker's max_packet_size (the embedded broker: 70 000 bytes) it gets the rig disconnected;
   * MQTT.js resends the unacknowledged packet after each reconnect (with stateDir even after a
   * restart), so one oversized result locked the rig out of the broker for good (security review,
   * finding 3). The schema bounds a result well below the limit; this holds for anything else.
   */
  const oversized = (ev: RigEvent, payload: string): string | undefined => {
    // The transport's rule (payloadSizeProblem, diff review 2026-12-07 item 2), checked here
    // too so that a result too big becomes a failed event, whatever transport the rig was given.
    return payloadSizeProblem(Buffer.byteLength(payload), maxBytes, `${ev.type} event`);
  };

  /** Terminal event: remember the execution as finished so a redelivery is answered, not rerun. */
  const finish = async (x: Execution, type: 'result' | 'failed' | 'rejected' | 'cancelled', extra: Partial<RigEvent>) => {
    const t = transport;
    let ev: RigEvent = { jobId: x.job.jobId, rigId: id, attempt: x.job.attempt, seq: x.seq + 1, type, at: iso(), protocol: PROTOCOL_VERSION, ...extra };
    // Checked before the job is forgotten: a refused event must not leave a job that no one ends.
    checkOutbound('event', ev);
    let payload = wire(ev);
    const tooBig = oversized(ev, payload);
    if (tooBig) {
      // The job ends failed, with the reason, and the rig keeps serving.
      problem(`job ${x.job.jobId}: ${tooBig}`);
      ev = { jobId: x.job.jobId, rigId: id, attempt: x.job.attempt, seq: x.seq + 1, type: 'failed', at: ev.at, protocol: PROTOCOL_VERSION, reason: tooBig };
      payload = wire(ev);
    }
    x.seq++;
    live.delete(x.key);
    x.events.push(ev);
    store.put(x.key, [ev]);
    await send(t, ev, payload);
    void publishStatus();
    pump();
  };

  const pump = () => {
    if (mode !== 'online' || stopping) return;
    while (running() < concurrency && queue.length > 0) {
      const x = queue.shift()!;
      if (!live.has(x.key)) continue;
      x.state = 'running';
      // Review (rig crash-loop): whatever escapes the execution ends the job failed and is
      // reported; an unhandled rejection would kill the rig process and its Last Will fire.
      const p = execute(x)
        .catch((e) => {
          const reason = `rig SDK could not finish job ${x.job.jobId}: ${(e as Error)?.message ?? String(e)}`.slice(0, 2000);
          problem(reason);
          if (live.has(x.key)) return finish(x, 'failed', { reason });
        })
        .catch((e) => problem(`rig SDK could not report the failure of job ${x.job.jobId}: ${(e as Error)?.message ?? String(e)}`))
        .finally(() => settled.delete(p));
      settled.add(p);
    }
    void publishStatus();
  };

  const execute = async (x: Execution) => {
    const report: Report = async (fraction, note, measurements) => {
      if (x.abort.signal.aborted || !live.has(x.key)) return;
      const bad = measurements && Object.entries(measurements).find(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad) throw new Error(`report: intermediate measurement ${bad[0]}=${String(bad[1])} is not a finite number`);
      await emit(x, 'progress', { progress: Math.min(1, Math.max(0, fraction)), ...(note ? { reason: note.slice(0, 2000) } : {}), ...(measurements ? { measurements } : {}) });
    };
    let out: HandlerResult;
    try {
      out = await options.handle(x.job, report, { signal: x.abort.signal, stop: x.stop.signal, rigId: id });
    } catch (e) {
      if (!live.has(x.key)) return; // crashed meanwhile: nothing to report
      if (x.cancelled) return finish(x, 'cancelled', { reason: 'cancelled by admin command' });
      const reason = x.abort.signal.aborted ? String(x.abort.signal.reason ?? 'aborted') : `handler failed: ${(e as Error)?.message ?? String(e)}`;
      return finish(x, 'failed', { reason: reason.slice(0, 2000) });
    }
    if (!live.has(x.key)) return;
    // A handler that returns despite a cancel has measured something real: report it as a
    // result and let the orchestrator decide (docs/rig-protocol.md, "Late results").
    const checked = checkHandlerResult(out);
    if (typeof checked === 'string') {
      problem(`job ${x.job.jobId}: ${checked}`);
      return finish(x, 'failed', { reason: checked.slice(0, 2000) });
    }
    return finish(x, 'result', checked);
  };

  const onJob = async (topic: string, payload: Buffer) => {
    const parsed = parseMessage('job', payload, maxBytes);
    if (!parsed.ok) return publishError(topic, parsed.error.reason, { bytes: parsed.error.bytes, excerpt: parsed.error.excerpt });
    const job = parsed.value;
    const key = `${job.jobId}#${job.attempt}`;
    // Idempotency (docs/rig-protocol.md §Idempotency): a finished (jobId, attempt) is answered
    // with its stored terminal event; one in progress is answered with its accepted event.
    const done = store.get(key);
    if (done) {
      for (const ev of done) await send(transport, ev);
      return;
    }
    const current = live.get(key);
    if (current) {
      if (current.events[0]) await send(transport, current.events[0]);
      return;
    }
    const x: Execution = { job, key, seq: 0, events: [], state: 'queued', abort: new AbortController(), stop: new AbortController(), cancelled: false };
    live.set(key, x);
    const reject = (reason: string) => finish(x, 'rejected', { reason });
    if (!compatibleProtocol(job.protocol)) return reject(`unsupported protocol ${job.protocol}; this rig speaks ${SUPPORTED_PROTOCOLS.join(', ')}`);
    if (job.rigId !== undefined && job.rigId !== id) return reject(`job addressed to rig ${job.rigId}, not to this rig (${id})`);
    if (!capabilities.includes(job.capability)) return reject(`capability ${job.capability} not offered; this rig offers ${capabilities.join(', ')}`);
    if (cancelledEarly.has(job.jobId) || cancelledEarly.has(key)) return finish(x, 'cancelled', { reason: 'cancelled before it arrived' });
    if (Date.parse(job.deadline) <= clock.now()) {
      // Review: a rig whose clock runs ahead rejected every job with no word about its clock.
      const sent = job.sentAt === undefined ? NaN : Date.parse(job.sentAt);
      const skew = Number.isFinite(sent)
        ? `the job was sent at ${job.sentAt} by the orchestrator's clock, ${clock.now() - sent} ms before this rig's clock reads now: unless it took that long to arrive, this rig's clock is ahead by up to ${clock.now() - sent} ms`
        : 'if the job arrived promptly, this rig\'s clock is ahead of the orchestrator\'s';
      const reason = `deadline ${job.deadline} has passed by this rig's clock (${iso()}); ${skew}: check its time synchronisation (NTP)`;
      problem(`job ${job.jobId}: ${reason}`);
      return reject(reason);
    }
    if (mode === 'safety-stop') return reject('rig is in safety stop');
    if (stopping) return reject('rig is shutting down');
    // Queue first: an admin command handled while `accepted` is being published must find it.
    queue.push(x);
    await emit(x, 'accepted');
    pump();
  };

  const onAdmin = async (topic: string, payload: Buffer) => {
    const parsed = parseMessage('admin', payload, maxBytes);
    if (!parsed.ok) return publishError(topic, parsed.error.reason, { bytes: parsed.error.bytes, excerpt: parsed.error.excerpt });
    const cmd: AdminCommand = parsed.value;
    if (seenCommands.has(cmd.commandId)) return;
    remember(seenCommands, cmd.commandId);
    switch (cmd.command) {
      case 'pause':
        mode = mode === 'safety-stop' ? mode : 'paused';
        break;
      case 'resume':
        mode = 'online';
        pump();
        break;
      case 'safety-stop':
        mode = 'safety-stop';
        for (const x of queue.splice(0)) await finish(x, 'failed', { reason: `safety stop: ${cmd.reason ?? 'operator command'}` });
        for (const x of live.values()) if (x.state === 'running') x.abort.abort(`safety stop: ${cmd.reason ?? 'operator command'}`);
        break;
      case 'stop':
      case 'cancel': {
        const matches = [...live.values()].filter((x) => x.job.jobId === cmd.jobId && (cmd.attempt === undefined || x.job.attempt === cmd.attempt));
        if (matches.length === 0) remember(cancelledEarly, cmd.attempt === undefined ? cmd.jobId! : `${cmd.jobId}#${cmd.attempt}`);
        for (const x of matches) {
          // Stop (issue #20): a running test ends early and reports what it measured; a queued
          // one has measured nothing, so a stop cancels it like a cancel.
          if (cmd.command === 'stop' && x.state === 'running') {
            x.stop.abort(cmd.reason ?? 'stopped by admin command');
            continue;
          }
          x.cancelled = true;
          if (x.state === 'queued') {
            const i = queue.indexOf(x);
            if (i >= 0) queue.splice(i, 1);
            await finish(x, 'cancelled', { reason: cmd.reason ?? 'cancelled by admin command' });
          } else x.abort.abort('cancelled');
        }
        break;
      }
    }
    await publishStatus();
  };

  const connect = async (): Promise<Transport & { kill?(): Promise<void> }> => {
    const will: WillOptions = { topic: topics.status(id), payload: wire({ rigId: id, status: 'offline', protocol: PROTOCOL_VERSION, capabilities, sdk: SDK }), qos: 1, retain: true };
    const b = options.broker;
    if (typeof b === 'function') return b({ clientId, clean: false, will });
    const o = typeof b === 'string' ? { url: b } : b;
    return connectMqtt({ maxPayloadBytes: maxBytes, ...o, clientId, clean: false, will });
  };

  return {
    id,
    async start() {
      if (transport) return;
      stopping = false;
      transport = await connect();
      await transport.subscribe(topics.jobs(id), (t, p) => void onJob(t, p).catch((e) => problem(`job handling failed: ${e.message}`)), { qos: 1 });
      await transport.subscribe(topics.admin(id), (t, p) => void onAdmin(t, p).catch((e) => problem(`admin handling failed: ${e.message}`)), { qos: 1 });
      // The orchestrator's notices about this rig's messages (rejected events or status, e.g. a
      // result for a job it was not sent). Not fatal when refused: a broker with an older ACL
      // (no read on rigs/<id>/errors) still runs the rig, which then only misses the notices.
      await transport
        .subscribe(topics.rigErrors(id), (_t, p) => {
          const n = parseMessage('error', p, maxBytes);
          problem(n.ok ? `the orchestrator rejected a message on ${n.value.topic}: ${n.value.reason}` : `unreadable error notice: ${n.error.reason}`);
        }, { qos: 1 })
        .catch((e) => problem(`cannot subscribe to ${topics.rigErrors(id)}: ${(e as Error).message}`));
      await publishStatus();
      beating?.abort();
      beating = new AbortController();
      void heartbeatLoop(beating.signal);
    },
    async stop({ graceMs = 30_000, abandon = 'report' } = {}) {
      if (abandon !== 'report' && abandon !== 'silent') throw new Error(`stop: abandon must be 'report' or 'silent', not ${JSON.stringify(abandon)}`);
      if (!transport || stopping) return;
      stopping = true;
      // Silent: a job forgotten here ends without an event (execute and report check `live`).
      // Determinism review 2026-12-07: the embedded lab's `failed` for its aborted job waited in
      // the orchestrator's persistent session and the resumed campaign retried it as a new attempt.
      const silent = abandon === 'silent';
      for (const x of queue.splice(0)) {
        if (silent) live.delete(x.key);
        else await finish(x, 'rejected', { reason: 'rig is shutting down' });
      }
      const deadline = clock.now() + graceMs;
      while (settled.size > 0 && clock.now() < deadline) await Promise.race([Promise.all(settled), clock.sleep(Math.min(100, graceMs))]);
      for (const x of [...live.values()]) {
        if (silent) live.delete(x.key);
        x.abort.abort('rig is shutting down');
      }
      await Promise.all(settled);
      beating?.abort('rig stopped');
      // Not forever: with the broker gone the Last Will (or the heartbeat timeout) says it.
      if ((transport as { connected?: boolean }).connected !== false) await Promise.race([publishStatus('offline'), clock.sleep(2000)]);
      const t = transport;
      transport = null;
      await t.close();
    },
    async crash() {
      const t = transport;
      if (!t) return;
      transport = null;
      beating?.abort('rig stopped');
      for (const x of live.values()) x.abort.abort('crash');
      live.clear();
      queue.length = 0;
      if (t.kill) await t.kill();
      else await t.close();
    },
    status: () => (transport ? currentStatus() : 'offline'),
    running,
  };
}
