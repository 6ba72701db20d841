/**
 * The orchestrator's side of the rig protocol (docs/rig-protocol.md): turns `dispatch(job)`
 * into MQTT jobs for rigs with the needed capability and turns the rigs' events back into one
 * clean stream of RigEvents.
 *
 * - Rig registry from the retained `status` topics; offline on Last Will, graceful `offline`, or
 *   a heartbeat older than `heartbeatTimeoutMs`.
 * - Capability matching, protocol-version negotiation, per-rig concurrency (+ `prefetch`), one
 *   FIFO queue per capability for jobs that wait for a free rig.
 * - Per-attempt timeouts (each attempt has its full `timeoutMs` from its send), retries with
 *   increasing attempt numbers on another rig when one is free, re-assignment of a lost rig's
 *   jobs; a queued job fails at its deadline only when no capable rig is there to run it.
 * - Every inbound payload validated (size, JSON, schema, topic ↔ rigId); rejects go to the
 *   error topic, to the sending rig's `rigs/<rigId>/errors` topic and to `invalid$`. Duplicate
 *   events are suppressed by (jobId, attempt, rigId, seq).
 * - An event counts only when it is *bound* to an execution: the job was dispatched by this
 *   dispatcher and that attempt was sent to that rig (which had declared the job's capability).
 *   Anything else — a made-up rig, a rig guessing other jobs' ids, events that arrive before
 *   their job is dispatched — is rejected with a reason and never kept for later (issue #14:
 *   forged measurements). A flood of such events is recorded as a rate-limited sample
 *   (`unboundSample`); the rest are counted and dropped, so memory stays bounded.
 * - Liveness is judged only on ticks that follow an undisturbed interval: a tick that comes late
 *   because the event loop was blocked (the orchestrator's own stall) first lets the messages
 *   that arrived meanwhile be read, then judges on the next tick (issue #14).
 *
 * Contract with the orchestrator (what `onEvent` delivers, per dispatched jobId):
 * `accepted`/`progress` of any live attempt; terminal events carry `final`; exactly one event
 * with `final: true` ends the job (result, failed, rejected or cancelled). `failed`/`rejected`
 * with `final: false` say that an attempt ended and another follows. Events the dispatcher
 * synthesises (timeout, rig offline, deadline) have `origin: 'dispatcher'` and `seq: 0`.
 * A `result` of the rig and attempt a job was sent to that arrives after the job ended (e.g. after
 * its timeout) is still delivered, flagged `late: true` (the measurement is real; the
 * orchestrator decides), and also on `late$`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Subject, type Observable } from 'rxjs';
import type { Clock, Rig, RigEvent, RigInfo, RigJob, Transport } from '../src/core/protocols.js';
import { systemClock } from '../src/core/protocols.js';
import { createRng, hash32, type Rng } from '../src/core/rng.js';
import { compatibleProtocol, DEFAULT_MAX_PAYLOAD_BYTES, isName, PROTOCOL_VERSION, topicsFor } from './protocol/topics.js';
import { signatureProblem } from './protocol/signing.js';
import { checkOutbound, excerptOf, parseMessage, type AdminCommand, type AdminCommandName, type JobMessage, type StatusMessage } from './protocol/validate.js';

export interface DispatcherOptions {
  /** Per attempt, from sending the job until its terminal event (rig queue time included). */
  timeoutMs: number;
  /**
   * Sends per dispatch, first included (failed/rejected/timed-out/lost attempts count).
   * Default 1: the orchestrator retries with a new jobId (attempt + 1) and records each.
   */
  maxAttempts?: number;
  /**
   * A rig whose status (heartbeat) is older than this is treated as offline (default 15 000 ms,
   * 3 heartbeats of the rig SDK); for a rig that declares `heartbeatMs`, 3 × that when longer.
   */
  heartbeatTimeoutMs?: number;
  /** Jobs sent to a rig beyond its concurrency, to hide network latency (default 0). */
  prefetch?: number;
  /** Timer resolution for timeouts and heartbeats (default: a quarter of the smaller one, ≥ 10 ms). */
  tickMs?: number;
  maxPayloadBytes?: number;
  /**
   * How many *unbound* events (unknown job id, or a rig/attempt the job was not sent to) are
   * recorded (invalid$, error notices): `burst` at once, then `perSecond` (token bucket on the
   * injected clock). The rest are counted in `stats().unboundDropped` and dropped; the next
   * recorded one says how many were dropped. Default { burst: 100, perSecond: 5 }.
   */
  unboundSample?: { burst?: number; perSecond?: number };
  /**
   * Rigs kept in the registry (default 1000). When full, the oldest offline rig with nothing in
   * flight is forgotten to make room; if there is none, the new rig's status is rejected.
   */
  maxRigs?: number;
}

export interface InvalidMessage {
  topic: string;
  reason: string;
  bytes: number;
  excerpt: string;
  /** Same as excerpt (the start of the rejected payload), under the name the ledger uses. */
  payload: string;
  rigId?: string;
  jobId?: string;
  at: string;
}

export interface SentJob {
  jobId: string;
  attempt: number;
  rigId: string;
  /** Clock time of the publish (ms). */
  at: number;
}

export interface DispatcherStats {
  queued: number;
  active: number;
  done: number;
  sent: number;
  retries: number;
  duplicatesSuppressed: number;
  invalid: number;
  late: number;
  /** Events rejected because they were not bound to an execution this dispatcher sent. */
  unbound: number;
  /** Unbound events dropped without a record (beyond the rate-limited sample). */
  unboundDropped: number;
  /** Ticks that came late (event loop blocked) and therefore judged nothing. */
  stalledTicks: number;
}

export interface Dispatcher extends Rig {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Every rejected inbound message (what compose records as MessageRejected). */
  readonly invalid$: Observable<InvalidMessage>;
  /** Results that arrived for a job that had already ended (also delivered to onEvent, `late: true`). */
  readonly late$: Observable<RigEvent>;
  /** Every job message sent to a rig (which rig got which attempt, and when). */
  readonly sent$: Observable<SentJob>;
  /** Sends an admin command to a rig (cancel needs jobId). */
  admin(rigId: string, command: AdminCommandName, options?: { jobId?: string; attempt?: number; reason?: string }): Promise<void>;
  stats(): DispatcherStats;
}

export interface CreateDispatcherOptions {
  transport: Transport;
  lab: string;
  campaignId: string;
  clock?: Clock;
  rng?: Rng;
  options: DispatcherOptions;
  /**
   * Rig id → HMAC key (opt-in; ./protocol/signing.ts). Given, every status and event on a rig's
   * topics must be signed with that rig's key, and a rig without a key is not heard at all:
   * for brokers you do not control, where anyone may publish as any rig.
   */
  keys?: ReadonlyMap<string, Uint8Array>;
}

interface RigState {
  info: RigInfo;
  protocols: string[];
  /** The rig's declared heartbeat interval (status `heartbeatMs`), if it declared one. */
  heartbeatMs?: number;
  lastSeen: number;
  inflight: Set<string>;
}

interface Execution {
  attempt: number;
  rigId: string;
  sentAt: number;
  deadlineAt: number;
  state: 'live' | 'ended';
}

interface JobState {
  job: RigJob;
  execs: Map<string, Execution>;
  sends: number;
  nextAttempt: number;
  exclude: Set<string>;
  /** Events seen, by (attempt, rigId, seq): their type and content fingerprint (contentOf). */
  seen: Map<string, { type: RigEvent['type']; content: string }>;
  cancelRequested: boolean;
  final?: RigEvent;
  queued: boolean;
}

/**
 * An event's content, for telling a resend from a different event under the same seq: without
 * its time (a resend may be stamped anew) and signature, keys in order, hashed to stay small.
 */
function contentOf(ev: RigEvent): string {
  const { at: _at, sig: _sig, ...rest } = ev as RigEvent & { sig?: unknown };
  // JSON.stringify recurses, which is safe here: every event passed parseMessage's depth check
  // (MAX_JSON_DEPTH, security review finding 1) before it gets here; an explicit-stack rewrite
  // was therefore reverted as unneeded (diff review 2026-12-07, item 6).
  const sorted = (_k: string, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v);
  return createHash('sha256').update(JSON.stringify(rest, sorted)).digest('base64');
}

const execKey = (attempt: number, rigId: string) => `${attempt}@${rigId}`;
/** A tick later than its interval by more than this (and by more than one interval) follows a stall. */
const STALL_MS = 100;

export function createDispatcher(init: CreateDispatcherOptions): Dispatcher {
  const { transport, lab, campaignId } = init;
  const opts = { ...init.options, maxAttempts: init.options.maxAttempts ?? 1, heartbeatTimeoutMs: init.options.heartbeatTimeoutMs ?? 15_000 };
  const clock = init.clock ?? systemClock;
  const rng = init.rng ?? createRng(hash32(`dispatcher:${campaignId}`));
  const topics = topicsFor(lab);
  const maxBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const prefetch = Math.max(0, opts.prefetch ?? 0);
  const maxRigs = opts.maxRigs ?? 1000;
  const tickMs = opts.tickMs ?? Math.max(10, Math.floor(Math.min(opts.timeoutMs, opts.heartbeatTimeoutMs) / 4));
  const iso = () => new Date(clock.now()).toISOString();

  const rigs = new Map<string, RigState>();
  const jobs = new Map<string, JobState>();
  // FIFO per capability; entries whose job left the queue otherwise (finished, cancelled) are
  // dropped lazily when met, so that removal is O(1).
  const queues = new Map<string, JobState[]>();
  let queuedCount = 0;
  const events$ = new Subject<RigEvent>();
  const invalid$ = new Subject<InvalidMessage>();
  const late$ = new Subject<RigEvent>();
  const sent$ = new Subject<SentJob>();
  const stats = { sent: 0, retries: 0, duplicatesSuppressed: 0, invalid: 0, late: 0, unbound: 0, unboundDropped: 0, stalledTicks: 0 };
  // Token bucket for the record of unbound events (issue #14: 10 000 × 60 kB of events for
  // unknown job ids took the orchestrator to 2 GB; now nothing of them is held, and only a sample
  // reaches the ledger).
  const sample = { burst: opts.unboundSample?.burst ?? 100, perSecond: opts.unboundSample?.perSecond ?? 5 };
  let tokens = sample.burst;
  let tokensAt = clock.now();
  let droppedSinceRecord = 0;
  let lastTick = clock.now();
  let skippedLast = false;
  const unsubs: Array<() => Promise<void>> = [];
  // The tick runs on the injected clock (not setInterval) so that a test's fake clock drives
  // timeouts, heartbeat loss and retries deterministically (issue #15).
  let ticking: AbortController | undefined;
  const tickLoop = async (signal: AbortSignal) => {
    while (!signal.aborted) {
      try {
        await clock.sleep(tickMs, signal);
      } catch {
        return; // stop() aborted the sleep
      }
      tick(); // a throw here surfaces as an unhandled rejection, as it did from setInterval
    }
  };

  /**
   * Makes room in a full registry by forgetting the oldest rig that is offline and has no
   * attempt in flight (issue #14, bounded resources: on an open broker anyone can announce rigs
   * under any number of made-up ids).
   */
  const forgetIdleOfflineRig = (): boolean => {
    for (const [id, r] of rigs) {
      if (r.info.status === 'offline' && r.inflight.size === 0) return rigs.delete(id);
    }
    return false;
  };

  /**
   * How long a rig may be silent before it counts as offline: three of its declared heartbeats,
   * at least `heartbeatTimeoutMs` (review: a rig declaring 30-s heartbeats was declared offline
   * after 15 s and its experiments cancelled).
   */
  const silenceLimit = (r: RigState) => Math.max(opts.heartbeatTimeoutMs, 3 * (r.heartbeatMs ?? 0));

  const available = (r: RigState) => r.info.status === 'online' || r.info.status === 'busy';

  const reject = (topic: string, reason: string, bytes: number, excerpt: string, extra: { rigId?: string; jobId?: string } = {}) => {
    stats.invalid++;
    const notice: InvalidMessage = { topic, reason, bytes, excerpt, payload: excerpt, ...extra, at: iso() };
    invalid$.next(notice);
    const { payload: _p, ...rest } = notice;
    const doc = JSON.stringify({ source: 'orchestrator', protocol: PROTOCOL_VERSION, ...rest, excerpt: excerpt.slice(0, 200), reason: reason.slice(0, 2000) });
    void transport.publish(topics.errors('orchestrator'), doc, { qos: 1 }).catch(() => undefined);
    // The sender learns of it too, on a topic its ACL lets it read (rig-protocol.md §3).
    const rigTopic = extra.rigId && isName(extra.rigId) ? topics.rigErrors(extra.rigId) : undefined;
    if (rigTopic) void transport.publish(rigTopic, doc, { qos: 1 }).catch(() => undefined);
  };

  /** Rejects an event that is not bound to an execution: recorded while the bucket has tokens. */
  const rejectUnbound = (topic: string, payload: Buffer, ev: { rigId: string; jobId?: string }, reason: string) => {
    stats.unbound++;
    const now = clock.now();
    tokens = Math.min(sample.burst, tokens + ((now - tokensAt) * sample.perSecond) / 1000);
    tokensAt = now;
    if (tokens < 1) {
      stats.unboundDropped++;
      droppedSinceRecord++;
      return;
    }
    tokens--;
    const dropped = droppedSinceRecord > 0 ? ` (${droppedSinceRecord} more such events were dropped unrecorded before this one: rate limit)` : '';
    droppedSinceRecord = 0;
    reject(topic, reason + dropped, payload.length, excerptOf(payload), { rigId: ev.rigId, jobId: ev.jobId });
  };

  const emit = (ev: RigEvent) => events$.next(ev);

  const release = (js: JobState, ex: Execution) => {
    if (ex.state === 'ended') return;
    ex.state = 'ended';
    rigs.get(ex.rigId)?.inflight.delete(`${js.job.jobId}|${execKey(ex.attempt, ex.rigId)}`);
  };

  const liveExecs = (js: JobState) => [...js.execs.values()].filter((e) => e.state === 'live');

  const sendAdmin = async (rigId: string, command: AdminCommandName, o: { jobId?: string; attempt?: number; reason?: string } = {}) => {
    const cmd: AdminCommand = { command, commandId: randomUUID(), ...o, at: iso(), protocol: PROTOCOL_VERSION };
    checkOutbound('admin', cmd);
    await transport.publish(topics.admin(rigId), JSON.stringify(cmd), { qos: 1 });
  };

  /** Ends the job with `ev` (final: true) and cancels its other live attempts. */
  const finishJob = (js: JobState, ev: RigEvent) => {
    const final: RigEvent = { ...ev, final: true };
    js.final = final;
    if (js.queued) {
      js.queued = false;
      queuedCount--;
    }
    for (const ex of liveExecs(js)) {
      if (ex.rigId === ev.rigId && ex.attempt === (ev.attempt ?? 1)) continue;
      void sendAdmin(ex.rigId, 'cancel', { jobId: js.job.jobId, attempt: ex.attempt, reason: 'another attempt finished the job' }).catch(() => undefined);
    }
    for (const ex of js.execs.values()) release(js, ex);
    emit(final);
    pump();
  };

  const synth = (js: JobState, type: 'failed' | 'cancelled', reason: string, ex?: Execution): RigEvent => ({
    jobId: js.job.jobId,
    rigId: ex?.rigId ?? '',
    attempt: ex?.attempt ?? js.nextAttempt - 1,
    seq: 0,
    type,
    at: iso(),
    protocol: PROTOCOL_VERSION,
    reason,
    origin: 'dispatcher',
  });

  /** An attempt ended without a result: retry if allowed, else end the job with `ev`. */
  const attemptEnded = (js: JobState, ev: RigEvent) => {
    if (js.final) return;
    if (js.cancelRequested && liveExecs(js).length === 0) return finishJob(js, { ...ev, type: 'cancelled' });
    // Review: a retry is not refused for the time attempts and queueing took; the retry waits in
    // the queue, where the deadline ends it only when no capable rig is online (tick()).
    const canRetry = js.sends < opts.maxAttempts;
    if (liveExecs(js).length > 0) return emit({ ...ev, final: false });
    if (!canRetry) return finishJob(js, ev);
    emit({ ...ev, final: false });
    stats.retries++;
    enqueue(js);
  };

  const enqueue = (js: JobState) => {
    if (js.queued || js.final) return;
    js.queued = true;
    queuedCount++;
    const q = queues.get(js.job.capability) ?? [];
    q.push(js);
    queues.set(js.job.capability, q);
    pump();
  };

  const hasRoom = (r: RigState) => available(r) && r.inflight.size < (r.info.concurrency ?? 1) + prefetch && r.protocols.some((p) => compatibleProtocol(p));

  /** A rig from `free` (rigs with room) for the job, least loaded first, ties broken by rng. */
  const pick = (js: JobState, free: RigState[]): RigState | undefined => {
    const fits = (r: RigState) => r.info.capabilities.includes(js.job.capability);
    const preferred = js.job.rigId ? rigs.get(js.job.rigId) : undefined;
    // The preferred rig (first send only) is waited for while it is up and able to do the job.
    if (preferred && available(preferred) && fits(preferred) && js.sends === 0) return free.includes(preferred) ? preferred : undefined;
    const all = free.filter(fits);
    const fresh = all.filter((r) => !js.exclude.has(r.info.rigId));
    const pool = fresh.length > 0 ? fresh : all;
    if (pool.length === 0) return undefined;
    const load = (r: RigState) => r.inflight.size / (r.info.concurrency ?? 1);
    const best = Math.min(...pool.map(load));
    const ties = pool.filter((r) => load(r) === best);
    return ties[rng.int(ties.length)];
  };

  const send = (js: JobState, rig: RigState) => {
    const now = clock.now();
    const attempt = js.nextAttempt++;
    js.sends++;
    // Review: every attempt has its full timeout from its send. Capped by the job's deadline,
    // the 2nd job of a batch queued 6 s behind a busy rig got 4 s of a 10-s timeout and was
    // abandoned while the rig worked on it.
    const deadlineAt = now + opts.timeoutMs;
    const ex: Execution = { attempt, rigId: rig.info.rigId, sentAt: now, deadlineAt, state: 'live' };
    js.execs.set(execKey(attempt, rig.info.rigId), ex);
    rig.inflight.add(`${js.job.jobId}|${execKey(attempt, rig.info.rigId)}`);
    const version = rig.protocols.find((p) => compatibleProtocol(p)) ?? PROTOCOL_VERSION;
    // On the wire `rigId` names the addressee (the preference it carried here is ours alone).
    const wire: JobMessage = { ...js.job, rigId: rig.info.rigId, attempt, sentAt: new Date(now).toISOString(), deadline: new Date(deadlineAt).toISOString(), protocol: version.split('.')[0] === PROTOCOL_VERSION.split('.')[0] ? PROTOCOL_VERSION : version };
    stats.sent++;
    sent$.next({ jobId: js.job.jobId, attempt, rigId: rig.info.rigId, at: now });
    void transport
      .publish(topics.jobs(rig.info.rigId), JSON.stringify(wire), {
        qos: 1,
        properties: { messageExpiryInterval: (deadlineAt - now) / 1000, correlationData: js.job.jobId, userProperties: { protocol: wire.protocol, campaign: campaignId } },
      })
      .catch((e) => {
        // The transport refused the job for its size (PayloadTooLargeError, robots/transport/
        // mqtt.ts): no rig can be sent it, so the job fails now with the reason instead of
        // timing out and retrying the same refusal (diff review 2026-12-07, item 2). Matched by
        // name: the dispatcher works over any transport and does not load the MQTT client.
        if ((e as Error).name === 'PayloadTooLargeError') {
          if (js.final) return;
          release(js, ex);
          return finishJob(js, synth(js, 'failed', `job not sent to rig ${rig.info.rigId}: ${(e as Error).message}`, ex));
        }
        // The broker connection is down; MQTT.js queues QoS 1 while reconnecting, so this is
        // a hard failure (closed transport): the attempt times out and is retried.
        reject(topics.jobs(rig.info.rigId), `publish failed: ${(e as Error).message}`, 0, '', { rigId: rig.info.rigId, jobId: js.job.jobId });
      });
  };

  /**
   * Why no rig can run a job of `capability`, or undefined when an online rig that speaks our
   * protocol offers it — busy or not: a job queued behind busy rigs waits its turn and never
   * expires for queueing (review). The reason says which case it is and names the rigs.
   */
  const noRigFor = (capability: string): string | undefined => {
    const capable = [...rigs.values()].filter((r) => r.info.capabilities.includes(capability));
    const up = capable.filter(available);
    if (up.some((r) => r.protocols.some((p) => compatibleProtocol(p)))) return undefined;
    const list = (xs: RigState[], what: (r: RigState) => string) => xs.map((r) => `${r.info.rigId} (${what(r)})`).join(', ');
    if (up.length > 0) return `the online rigs offering ${capability} speak no protocol version compatible with ${PROTOCOL_VERSION}: ${list(up, (r) => r.protocols.join(', '))}`;
    const held = capable.filter((r) => r.info.status !== 'offline');
    if (held.length > 0) return `no rig offering ${capability} takes jobs: ${list(held, (r) => r.info.status)}`;
    if (capable.length > 0) return `no rig offering ${capability} is online; offline: ${capable.map((r) => r.info.rigId).join(', ')}`;
    return `no rig offering ${capability} is online, and none has announced it`;
  };

  const pump = () => {
    if (queuedCount === 0) return;
    const free = [...rigs.values()].filter(hasRoom);
    for (const [capability, q] of queues) {
      if (!free.some((r) => r.info.capabilities.includes(capability))) continue;
      // Look a bounded way down the queue past jobs waiting for their preferred rig.
      for (let i = 0, scanned = 0; i < q.length && scanned < 256; ) {
        const js = q[i];
        if (!js.queued) {
          q.splice(i, 1);
          continue;
        }
        scanned++;
        const rig = pick(js, free);
        if (!rig) {
          i++;
          continue;
        }
        q.splice(i, 1);
        js.queued = false;
        queuedCount--;
        send(js, rig);
        if (!hasRoom(rig)) free.splice(free.indexOf(rig), 1);
        if (free.length === 0) return;
      }
    }
  };

  const rigOffline = (r: RigState, why: string) => {
    if (r.info.status === 'offline') return;
    r.info = { ...r.info, status: 'offline' };
    for (const js of jobs.values()) {
      if (js.final) continue;
      for (const ex of liveExecs(js)) {
        if (ex.rigId !== r.info.rigId) continue;
        release(js, ex);
        js.exclude.add(ex.rigId);
        // Queued in its session, the cancel reaches the rig when it returns, so it does not run
        // a job that was re-assigned meanwhile.
        void sendAdmin(ex.rigId, 'cancel', { jobId: js.job.jobId, attempt: ex.attempt, reason: `re-assigned: ${why}` }).catch(() => undefined);
        attemptEnded(js, synth(js, 'failed', `rig ${ex.rigId} ${why}; attempt ${ex.attempt} lost`, ex));
      }
    }
  };

  /** With signing on: why this rig message is not to be believed, else undefined. */
  const unsigned = (kind: 'status' | 'event', rigId: string, payload: Buffer): string | undefined => {
    if (!init.keys) return undefined;
    // The size check comes first, as docs/security.md orders them: a payload over the limit is
    // rejected unread, not hashed (security review, finding 2). parseMessage's own first check
    // gives the reason (one rule), and the caller rate-limits it like any other message it cannot
    // believe: passed on to the plain reject, a flood of oversized forgeries was recorded in full
    // while small ones were sampled (diff review 2026-12-07, item 1).
    if (payload.length > maxBytes) {
      const sized = parseMessage(kind, payload, maxBytes);
      return sized.ok ? undefined : sized.error.reason;
    }
    const key = init.keys.get(rigId);
    return key ? signatureProblem(payload, key) : `rig ${rigId} has no signing key here: with signing on, only rigs with a key are heard`;
  };

  const onStatus = (topic: string, payload: Buffer) => {
    const where = topics.parse(topic);
    if (!where) return;
    if (payload.length === 0) {
      // An empty payload carries no signature: with signing on, it cannot remove a rig (anyone
      // on a broker we do not control could knock rigs out); the rig then ages out by heartbeat.
      if (init.keys) return rejectUnbound(topic, payload, { rigId: where.rigId }, `empty status for rig ${where.rigId} is unsigned: with signing on, a rig leaves by a signed offline status or by missing heartbeats`);
      // Retained status cleared (rig decommissioned).
      const r = rigs.get(where.rigId);
      if (r) rigOffline(r, 'was removed');
      rigs.delete(where.rigId);
      return;
    }
    const forged = unsigned('status', where.rigId, payload);
    // Rate-limited like forged events: anyone on the broker could otherwise grow the ledger.
    if (forged) return rejectUnbound(topic, payload, { rigId: where.rigId }, forged);
    const parsed = parseMessage('status', payload, maxBytes);
    if (!parsed.ok) return reject(topic, parsed.error.reason, parsed.error.bytes, parsed.error.excerpt, { rigId: where.rigId });
    const s: StatusMessage = parsed.value;
    if (s.rigId !== where.rigId) return reject(topic, `status for rig ${s.rigId} published on the topic of rig ${where.rigId}`, payload.length, '', { rigId: where.rigId });
    const prev = rigs.get(s.rigId);
    if (!prev && rigs.size >= maxRigs && !forgetIdleOfflineRig()) {
      return rejectUnbound(topic, payload, { rigId: s.rigId }, `the rig registry is full (${maxRigs} rigs, none offline and idle): rig ${s.rigId} is not registered`);
    }
    const info: RigInfo = {
      rigId: s.rigId,
      status: s.status,
      capabilities: s.capabilities ?? prev?.info.capabilities ?? [],
      concurrency: s.concurrency ?? prev?.info.concurrency ?? 1,
    };
    const r: RigState = prev ?? { info, protocols: [], lastSeen: 0, inflight: new Set() };
    r.protocols = s.protocols ?? [s.protocol];
    // As sent: a status without it means the default again, not the last one declared (review of 0e10d79).
    r.heartbeatMs = s.heartbeatMs;
    r.lastSeen = clock.now();
    rigs.set(s.rigId, r);
    if (s.status === 'offline') {
      // Last Will or graceful shutdown: re-assign whatever it was doing.
      r.info = { ...info, status: prev ? prev.info.status : 'offline' };
      rigOffline(r, 'went offline');
      return;
    }
    r.info = info;
    pump();
  };

  const onEventMsg = (topic: string, payload: Buffer) => {
    const where = topics.parse(topic);
    if (!where) return;
    const forged = unsigned('event', where.rigId, payload);
    if (forged) return rejectUnbound(topic, payload, { rigId: where.rigId }, forged);
    const parsed = parseMessage('event', payload, maxBytes);
    if (!parsed.ok) return reject(topic, parsed.error.reason, parsed.error.bytes, parsed.error.excerpt, { rigId: where.rigId });
    const raw = parsed.value;
    if (raw.rigId !== where.rigId) return reject(topic, `event of rig ${raw.rigId} published on the topic of rig ${where.rigId}`, payload.length, '', { rigId: where.rigId, jobId: raw.jobId });
    const ev: RigEvent = { ...raw, attempt: raw.attempt ?? 1, origin: 'rig' };
    const r = rigs.get(ev.rigId);
    if (r) r.lastSeen = clock.now();
    const js = jobs.get(ev.jobId);
    // Not dispatched by this process: such events are never kept. After a restart the
    // orchestrator re-dispatches the job to the rig that had it, which answers from its record
    // of finished jobs (rig-protocol.md §6); holding them instead let anyone pre-load results
    // that completed later jobs at once (issue #14).
    if (!js) return rejectUnbound(topic, payload, ev, `${ev.type} event for job ${ev.jobId}, which this orchestrator has not dispatched: events are accepted only after their job was sent, and only from the rig it was sent to`);
    // Bound to an execution: this attempt was sent to this rig, which was chosen because it had
    // declared the job's capability (pick()); so a rig can report only on its own work.
    const ex = js.execs.get(execKey(ev.attempt!, ev.rigId));
    if (!ex) return rejectUnbound(topic, payload, ev, `${ev.type} event for job ${ev.jobId} attempt ${ev.attempt} from rig ${ev.rigId}, which was not sent that attempt: only the rig and attempt a job was dispatched to may report on it`);
    const dupKey = `${ev.attempt}|${ev.rigId}|${ev.seq}`;
    const before = js.seen.get(dupKey);
    const content = contentOf(ev);
    if (before?.content === content) {
      stats.duplicatesSuppressed++;
      return;
    }
    // Review: a rig numbering every event 1 had its result dropped as a "duplicate" of its
    // `accepted`, silently, and the trial was abandoned for want of a terminal event.
    if (before) {
      const what = before.type === ev.type ? `another ${ev.type} event with different content` : `its ${before.type} event`;
      return reject(topic, `${ev.type} event seq ${ev.seq} of job ${ev.jobId} attempt ${ev.attempt} reuses the seq of ${what}, so it is ignored: number the events of an attempt 1, 2, 3, … and resend an event only unchanged (rig-protocol.md §3, "Sequence numbers")`, payload.length, excerptOf(payload), { rigId: ev.rigId, jobId: ev.jobId });
    }
    js.seen.set(dupKey, { type: ev.type, content });
    handleEvent(js, ex, ev);
  };

  const handleEvent = (js: JobState, ex: Execution, ev: RigEvent) => {
    if (js.final) {
      if (ev.type === 'result' && !(js.final.type === 'result' && js.final.rigId === ev.rigId && js.final.attempt === ev.attempt)) {
        stats.late++;
        const late = { ...ev, late: true };
        late$.next(late);
        emit(late);
      }
      return;
    }
    switch (ev.type) {
      case 'accepted':
      case 'progress':
        if (ex.state === 'live') emit(ev);
        return;
      case 'result':
        // Any sent attempt's result ends the job, also one that arrives after its attempt timed
        // out while a retry is still running: the measurement is real (rig-protocol.md).
        return finishJob(js, ev);
      case 'failed':
      case 'rejected':
      case 'cancelled':
        if (ex.state === 'ended') return;
        release(js, ex);
        if (ev.feasible === false) return finishJob(js, ev); // infeasible recipe: a result
        if (ev.type === 'cancelled' && js.cancelRequested) return attemptEnded(js, ev);
        js.exclude.add(ev.rigId);
        return attemptEnded(js, ev.type === 'cancelled' ? { ...ev, type: 'failed', reason: `rig cancelled the job: ${ev.reason ?? ''}` } : ev);
    }
  };

  const tick = () => {
    const now = clock.now();
    const late = now - lastTick - tickMs;
    const afterStall = late > Math.max(tickMs, STALL_MS) && !skippedLast;
    lastTick = now;
    skippedLast = afterStall;
    if (afterStall) {
      // The event loop was blocked (e.g. a long proposal): messages that arrived meanwhile wait
      // unread in the socket, and timers run before I/O. Judging now would count our own stall
      // against the rigs (issue #14: a heartbeating rig declared offline and its result, 40 ms
      // later, thrown away). Read first, judge on the next tick. Never two skips in a row, so a
      // loop that is always late still times jobs out.
      stats.stalledTicks++;
      return pump();
    }
    for (const r of rigs.values()) {
      if (r.info.status !== 'offline') {
        const limit = silenceLimit(r);
        if (now - r.lastSeen > limit) rigOffline(r, `missed heartbeats for ${now - r.lastSeen} ms (offline after ${limit} ms)`);
      }
    }
    for (const js of jobs.values()) {
      if (js.final) continue;
      for (const ex of liveExecs(js)) {
        if (now < ex.deadlineAt) continue;
        release(js, ex);
        js.exclude.add(ex.rigId);
        void sendAdmin(ex.rigId, 'cancel', { jobId: js.job.jobId, attempt: ex.attempt, reason: 'timed out' }).catch(() => undefined);
        attemptEnded(js, synth(js, 'failed', `timed out: no terminal event from rig ${ex.rigId} within ${Math.round(ex.deadlineAt - ex.sentAt)} ms (attempt ${ex.attempt})`, ex));
      }
      if (!js.final && js.queued && now >= Date.parse(js.job.deadline)) {
        const why = noRigFor(js.job.capability);
        if (why) finishJob(js, synth(js, 'failed', `deadline ${js.job.deadline} passed with no rig to run the job: ${why}`));
      }
    }
    pump();
  };

  return {
    invalid$: invalid$.asObservable(),
    late$: late$.asObservable(),
    sent$: sent$.asObservable(),
    async start() {
      unsubs.push(await transport.subscribe(topics.allStatus, onStatus, { qos: 1 }));
      unsubs.push(await transport.subscribe(topics.allEvents, onEventMsg, { qos: 1 }));
      lastTick = clock.now();
      ticking?.abort();
      ticking = new AbortController();
      void tickLoop(ticking.signal);
    },
    async stop() {
      ticking?.abort('dispatcher stopped');
      for (const u of unsubs.splice(0)) await u().catch(() => undefined);
    },
    async dispatch(job) {
      const known = jobs.get(job.jobId);
      if (known) {
        if (known.final) emit(known.final);
        return;
      }
      checkOutbound('job', job);
      const js: JobState = { job, execs: new Map(), sends: 0, nextAttempt: job.attempt, exclude: new Set(), seen: new Map(), cancelRequested: false, queued: false };
      jobs.set(job.jobId, js);
      enqueue(js);
    },
    async cancel(jobId) {
      const js = jobs.get(jobId);
      if (!js || js.final) return;
      js.cancelRequested = true;
      const lives = liveExecs(js);
      if (lives.length === 0) return finishJob(js, synth(js, 'cancelled', 'cancelled before it was sent to a rig'));
      for (const ex of lives) await sendAdmin(ex.rigId, 'cancel', { jobId, attempt: ex.attempt, reason: 'cancelled by the orchestrator' });
    },
    onEvent(handler) {
      const sub = events$.subscribe(handler);
      return () => sub.unsubscribe();
    },
    onSent(handler) {
      const sub = sent$.subscribe(handler);
      return () => sub.unsubscribe();
    },
    rigs: () => [...rigs.values()].map((r) => ({ ...r.info, lastSeenAt: r.lastSeen, inflight: r.inflight.size })),
    admin: (rigId, command, o) => sendAdmin(rigId, command, o),
    stats() {
      let done = 0;
      for (const js of jobs.values()) if (js.final) done++;
      return { queued: queuedCount, active: jobs.size - done - queuedCount, done, ...stats };
    },
  };
}
