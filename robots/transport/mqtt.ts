/**
 * MQTT transport (MQTT.js) for the rig protocol: at-least-once QoS 1 delivery, persistent
 * sessions, Last Will, reconnect with exponential back-off, and credentials/TLS taken from the
 * environment so that no secret ever sits in a committed config (docs/security.md).
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { Subject, type Observable } from 'rxjs';
import type { Transport } from '../../src/core/protocols.js';
import { brokerUrlProblem } from '../../src/core/broker-url.js';
import { BadInputError } from '../../src/core/errors.js';
import { redactUrl } from '../../src/core/redact.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, topicMatches } from '../protocol/topics.js';

/**
 * Why a payload may not be published, for its size, or undefined. The one packet-size rule of
 * both sides of the rig protocol (diff review 2026-12-07, item 2): a message over the limit is
 * refused by every peer, and over a broker's max_packet_size (Mosquitto recipe and embedded
 * broker: 70 000) it gets the sender disconnected, and MQTT.js resends the unacknowledged packet
 * after every reconnect, so the sender is locked out. The SDK wraps it to fail a job instead.
 */
export function payloadSizeProblem(bytes: number, limit: number, what = 'payload'): string | undefined {
  return bytes > limit ? `${what} of ${bytes} bytes exceeds the message limit of ${limit} bytes (maxPayloadBytes), so it was not sent` : undefined;
}

/** publish() refused a payload for its size: nothing was sent, the connection is untouched. */
export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
  constructor(
    readonly topic: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`refusing to publish on ${topic}: ${payloadSizeProblem(bytes, limit)}`);
  }
}

export interface WillOptions {
  topic: string;
  payload: string | Buffer;
  qos?: 0 | 1 | 2;
  retain?: boolean;
}

export interface MqttConnectOptions {
  /** mqtt://host:1883, mqtts://host:8883, ws://… */
  url: string;
  /** Stable per peer: the broker keys persistent sessions and ACL patterns (%c) on it. */
  clientId: string;
  /** Default: $PORELOOP_MQTT_USERNAME. */
  username?: string;
  /** Default: $PORELOOP_MQTT_PASSWORD, else the contents of $PORELOOP_MQTT_PASSWORD_FILE. */
  password?: string;
  /** PEM contents or a file path; default $PORELOOP_MQTT_CA / _CERT / _KEY (file paths). */
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /**
   * 4 = MQTT 3.1.1 (default, works with every broker incl. the embedded one), 5 = MQTT 5,
   * 'auto' = try 5 and fall back to 4 when the broker refuses it (issue #21: aedes answers a v5
   * CONNECT with "unacceptable protocol version"). The transport's protocolVersion says which.
   */
  protocolVersion?: 4 | 5 | 'auto';
  /** false (default) = persistent session: QoS 1 messages sent while we are away are kept. */
  clean?: boolean;
  will?: WillOptions;
  keepaliveS?: number;
  /** MQTT 5 session expiry (default 1 day) for persistent sessions. */
  sessionExpiryS?: number;
  /** Give up the *first* connection after this long (default 10 s); later drops reconnect forever. */
  connectTimeoutMs?: number;
  /** First reconnect delay; doubles per failed try up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
  /**
   * Largest payload publish() sends (default DEFAULT_MAX_PAYLOAD_BYTES, 64 KiB, what the peers
   * accept); a bigger one is refused with PayloadTooLargeError before it reaches the socket.
   */
  maxPayloadBytes?: number;
}

export type ConnectionEvent =
  | { type: 'connect'; sessionPresent: boolean }
  | { type: 'reconnect'; delayMs: number }
  | { type: 'offline' }
  | { type: 'close' }
  | { type: 'error'; error: Error }
  /** A subscription handler threw on a message (logged and dropped; the connection stays). */
  | { type: 'handlerError'; topic: string; error: Error };

export interface MqttTransport extends Transport {
  readonly connected: boolean;
  readonly clientId: string;
  readonly protocolVersion: 4 | 5;
  readonly events: Observable<ConnectionEvent>;
  /**
   * Drops the connection without DISCONNECT, as a crash or a pulled cable would: the broker
   * then publishes the Last Will. Used by fault injection and tests.
   */
  kill(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** Credentials and TLS material from the environment (never from committed configs). */
export function credentialsFromEnv(env: Env = process.env): Pick<MqttConnectOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> {
  const out: Pick<MqttConnectOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> = {};
  if (env.PORELOOP_MQTT_USERNAME) out.username = env.PORELOOP_MQTT_USERNAME;
  if (env.PORELOOP_MQTT_PASSWORD) out.password = env.PORELOOP_MQTT_PASSWORD;
  else if (env.PORELOOP_MQTT_PASSWORD_FILE) out.password = readSecret(env.PORELOOP_MQTT_PASSWORD_FILE, 'PORELOOP_MQTT_PASSWORD_FILE').trim();
  if (env.PORELOOP_MQTT_CA) out.ca = env.PORELOOP_MQTT_CA;
  if (env.PORELOOP_MQTT_CERT) out.cert = env.PORELOOP_MQTT_CERT;
  if (env.PORELOOP_MQTT_KEY) out.key = env.PORELOOP_MQTT_KEY;
  return out;
}

function readSecret(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInputError(`cannot read ${path}: ${(e as Error).message}`, what);
  }
}

function pem(v: string | Buffer | undefined, what: string): Buffer | undefined {
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  return v.includes('-----BEGIN') ? Buffer.from(v) : Buffer.from(readSecret(v, what));
}

/** Credentials with the TLS files read, for MQTT clients other than connectMqtt (the compute workers, issue #21). */
export function connectionFromEnv(env: Env = process.env): { username?: string; password?: string; ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const c = credentialsFromEnv(env);
  return { username: c.username, password: c.password, ca: pem(c.ca, 'PORELOOP_MQTT_CA'), cert: pem(c.cert, 'PORELOOP_MQTT_CERT'), key: pem(c.key, 'PORELOOP_MQTT_KEY') };
}

/** Connects (resolving after the first CONNACK) and keeps reconnecting with back-off afterwards. */
export async function connectMqtt(options: MqttConnectOptions, env: Env = process.env): Promise<MqttTransport> {
  if (options.protocolVersion === 'auto') {
    try {
      return await connectMqtt({ ...options, protocolVersion: 5 }, env);
    } catch (e) {
      if (e instanceof BadInputError || /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|Not authorized|Bad User Name or Password/i.test((e as Error).message)) throw e;
      // Any refusal of the v5 CONNECT (a 3.1.1-only broker, a proxy that drops it): try 3.1.1.
      return connectMqtt({ ...options, protocolVersion: 4 }, env);
    }
  }
  // Before anything else: MQTT.js connects an unknown scheme (file://…) to localhost (issue #14).
  const problem = brokerUrlProblem(options.url);
  if (problem) throw new BadInputError(problem, 'broker');
  const o = { ...credentialsFromEnv(env), ...stripUndefined(options) } as MqttConnectOptions;
  const protocolVersion: 4 | 5 = o.protocolVersion === 5 ? 5 : 4;
  const clean = o.clean ?? false;
  const maxPayloadBytes = o.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const baseReconnect = o.reconnectMs ?? 250;
  const maxReconnect = o.maxReconnectMs ?? 10_000;
  const opts: IClientOptions = {
    clientId: o.clientId,
    protocolVersion,
    clean,
    keepalive: o.keepaliveS ?? 30,
    reconnectPeriod: baseReconnect,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    resubscribe: true,
    username: o.username,
    password: o.password,
    ca: pem(o.ca, 'PORELOOP_MQTT_CA'),
    cert: pem(o.cert, 'PORELOOP_MQTT_CERT'),
    key: pem(o.key, 'PORELOOP_MQTT_KEY'),
  };
  if (o.will) opts.will = { topic: o.will.topic, payload: Buffer.from(o.will.payload), qos: o.will.qos ?? 1, retain: o.will.retain ?? false };
  if (protocolVersion === 5 && !clean) opts.properties = { sessionExpiryInterval: o.sessionExpiryS ?? 86_400 };

  const events = new Subject<ConnectionEvent>();
  const handlers: Array<{ filter: string; handler: (topic: string, payload: Buffer) => void }> = [];
  // A persistent session delivers queued messages right after CONNACK, before our code has
  // re-registered its handlers; keep them until a matching subscribe() arrives.
  const parked: Array<{ topic: string; payload: Buffer }> = [];
  const MAX_PARKED = 100_000;

  // A handler that throws must not take the process down with it: this runs in MQTT.js's socket
  // callback, so the throw would be an uncaught exception (security review, finding 1: one deeply
  // nested rig event killed the orchestrator). Log it; the message is lost to that handler only.
  const deliver = (handler: (topic: string, payload: Buffer) => void, topic: string, payload: Buffer) => {
    try {
      handler(topic, payload);
    } catch (e) {
      events.next({ type: 'handlerError', topic, error: e as Error });
      console.error(`poreloop: the handler of a message on ${topic} (${payload.length} bytes) failed and the message was dropped: ${(e as Error).message}`);
    }
  };

  const client: MqttClient = mqtt.connect(o.url, opts);
  let period = baseReconnect;
  client.on('connect', (ack) => {
    // Small QoS 1 messages and their acks otherwise wait on Nagle + delayed ACK (~40 ms per hop).
    (client.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true);
    period = baseReconnect;
    client.options.reconnectPeriod = period;
    events.next({ type: 'connect', sessionPresent: !!ack.sessionPresent });
  });
  client.on('reconnect', () => {
    events.next({ type: 'reconnect', delayMs: period });
    period = Math.min(maxReconnect, period * 2);
    client.options.reconnectPeriod = period;
  });
  client.on('offline', () => events.next({ type: 'offline' }));
  client.on('close', () => events.next({ type: 'close' }));
  client.on('error', (error) => events.next({ type: 'error', error }));
  client.on('message', (topic, payload) => {
    let matched = false;
    for (const h of handlers.slice()) {
      if (topicMatches(h.filter, topic)) {
        matched = true;
        deliver(h.handler, topic, payload);
      }
    }
    if (!matched && parked.length < MAX_PARKED) parked.push({ topic, payload });
  });

  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      cleanup();
      client.end(true);
      reject(new Error(`cannot connect to MQTT broker ${redact(o.url)} as ${o.clientId}: ${e.message}`));
    };
    const timer = setTimeout(() => fail(new Error(`no CONNACK within ${opts.connectTimeout} ms`)), opts.connectTimeout);
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (e: Error) => fail(e);
    const cleanup = () => {
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });

  let closed = false;
  const transport: MqttTransport = {
    get connected() {
      return client.connected;
    },
    clientId: o.clientId,
    protocolVersion,
    events: events.asObservable(),
    async publish(topic, payload, popts) {
      const bytes = Buffer.isBuffer(payload) ? payload.length : Buffer.byteLength(payload);
      if (payloadSizeProblem(bytes, maxPayloadBytes)) throw new PayloadTooLargeError(topic, bytes, maxPayloadBytes);
      const p: mqtt.IClientPublishOptions = { qos: popts?.qos ?? 1, retain: popts?.retain ?? false };
      if (protocolVersion === 5 && popts?.properties) {
        const { messageExpiryInterval, correlationData, userProperties } = popts.properties;
        p.properties = {
          ...(messageExpiryInterval !== undefined ? { messageExpiryInterval: Math.max(1, Math.ceil(messageExpiryInterval)) } : {}),
          ...(correlationData !== undefined ? { correlationData: Buffer.from(correlationData) } : {}),
          ...(userProperties ? { userProperties } : {}),
        };
      }
      await client.publishAsync(topic, payload, p);
    },
    async subscribe(filter, handler, sopts) {
      const entry = { filter, handler };
      handlers.push(entry);
      const granted = await client.subscribeAsync(filter, { qos: sopts?.qos ?? 1 });
      // MQTT 3.1.1 §3.9.3: 0x80 is a refusal (Mosquitto answers so when the ACL forbids it).
      if (granted.some((g) => g.qos === 128)) {
        handlers.splice(handlers.indexOf(entry), 1);
        throw new Error(`broker refused subscription to ${filter} (not authorised?)`);
      }
      for (let i = 0; i < parked.length; ) {
        if (topicMatches(filter, parked[i].topic)) {
          const [m] = parked.splice(i, 1);
          deliver(handler, m.topic, m.payload);
        } else i++;
      }
      return async () => {
        const i = handlers.indexOf(entry);
        if (i >= 0) handlers.splice(i, 1);
        if (!handlers.some((h) => h.filter === filter) && client.connected) await client.unsubscribeAsync(filter).catch(() => undefined);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      // A graceful end waits for in-flight QoS 1 messages; with the broker gone that would be
      // forever, so give it a moment and then drop the connection.
      if (!client.connected) {
        await client.endAsync(true);
        events.complete();
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([client.endAsync(false).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2000)))]);
      clearTimeout(timer);
      if (!ended) await client.endAsync(true);
      events.complete();
    },
    async kill() {
      if (closed) return;
      closed = true;
      await client.endAsync(true);
      events.complete();
    },
  };
  return transport;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Hides a password embedded in a URL before it reaches a log or error message (src/core/redact.ts). */
export const redact = redactUrl;
