/**
 * In-process MQTT stand-in for unit tests (DESIGN.md style rule 11: every interface ships an
 * in-process fake). It keeps the MQTT semantics the rig protocol relies on: topic-filter
 * matching, retained messages, Last Will on an unclean drop, and persistent sessions that queue
 * QoS ≥ 1 messages while a client is away. Delivery is asynchronous, as over a network.
 */
import { Subject } from 'rxjs';
import { topicMatches } from '../protocol/topics.js';
import type { ConnectionEvent, MqttTransport, WillOptions } from './mqtt.js';

interface Session {
  subs: Map<string, 0 | 1 | 2>;
  queue: Array<{ topic: string; payload: Buffer }>;
  live: LiveClient | null;
}

interface LiveClient {
  handlers: Array<{ filter: string; handler: (topic: string, payload: Buffer) => void }>;
  parked: Array<{ topic: string; payload: Buffer }>;
  will?: WillOptions;
}

export interface MemoryBroker {
  connect(options: { clientId: string; clean?: boolean; will?: WillOptions }): Promise<MqttTransport>;
  /** Retained message on a topic, if any. */
  retained(topic: string): Buffer | undefined;
  /** Every message published so far (topic, payload), oldest first. */
  readonly history: ReadonlyArray<{ topic: string; payload: Buffer }>;
}

export function createMemoryBroker(): MemoryBroker {
  const sessions = new Map<string, Session>();
  const retained = new Map<string, Buffer>();
  const history: Array<{ topic: string; payload: Buffer }> = [];

  const deliver = (s: Session, topic: string, payload: Buffer) => {
    const live = s.live;
    if (!live) {
      s.queue.push({ topic, payload });
      return;
    }
    queueMicrotask(() => {
      let matched = false;
      for (const h of live.handlers.slice()) {
        if (topicMatches(h.filter, topic)) {
          matched = true;
          h.handler(topic, payload);
        }
      }
      if (!matched) live.parked.push({ topic, payload });
    });
  };

  const route = (topic: string, payload: Buffer, retain: boolean) => {
    history.push({ topic, payload });
    if (retain) {
      if (payload.length === 0) retained.delete(topic);
      else retained.set(topic, payload);
    }
    for (const s of sessions.values()) {
      let qos = -1;
      for (const [f, q] of s.subs) if (topicMatches(f, topic)) qos = Math.max(qos, q);
      if (qos < 0) continue;
      if (!s.live && qos === 0) continue;
      deliver(s, topic, payload);
    }
  };

  return {
    history,
    retained: (t) => retained.get(t),
    async connect({ clientId, clean = false, will }) {
      const old = sessions.get(clientId);
      if (old?.live) throw new Error(`memory broker: client id ${clientId} already connected`);
      const session: Session = clean || !old ? { subs: new Map(), queue: [], live: null } : old;
      sessions.set(clientId, session);
      const live: LiveClient = { handlers: [], parked: [], will };
      session.live = live;
      const events = new Subject<ConnectionEvent>();
      const queued = session.queue.splice(0);
      for (const m of queued) deliver(session, m.topic, m.payload);
      let closed = false;
      const end = (graceful: boolean) => {
        if (closed) return;
        closed = true;
        session.live = null;
        if (clean) sessions.delete(clientId);
        if (!graceful && live.will) route(live.will.topic, Buffer.from(live.will.payload), live.will.retain ?? false);
        events.next({ type: 'close' });
        events.complete();
      };
      queueMicrotask(() => events.next({ type: 'connect', sessionPresent: !!old && !clean }));
      return {
        clientId,
        protocolVersion: 4 as const,
        get connected() {
          return !closed;
        },
        events: events.asObservable(),
        async publish(topic, payload, opts) {
          if (closed) throw new Error('memory transport: closed');
          route(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), opts?.retain ?? false);
        },
        async subscribe(filter, handler, opts) {
          const entry = { filter, handler };
          live.handlers.push(entry);
          session.subs.set(filter, opts?.qos ?? 1);
          for (let i = 0; i < live.parked.length; ) {
            if (topicMatches(filter, live.parked[i].topic)) {
              const [m] = live.parked.splice(i, 1);
              handler(m.topic, m.payload);
            } else i++;
          }
          for (const [t, p] of retained) if (topicMatches(filter, t)) queueMicrotask(() => handler(t, p));
          return async () => {
            live.handlers.splice(live.handlers.indexOf(entry), 1);
            if (!live.handlers.some((h) => h.filter === filter)) session.subs.delete(filter);
          };
        },
        async close() {
          end(true);
        },
        async kill() {
          end(false);
        },
      };
    },
  };
}
