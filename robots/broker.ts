/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1): a new user's first run needs nothing but npm
 * (DESIGN.md "Rig protocol"). With `persistenceDir`, retained messages, persistent sessions and
 * offline QoS 1 queues live in a LevelDB directory and survive a restart of the broker.
 * aedes speaks MQTT 3.1.1 only (STACK.md): MQTT 5 clients are refused, `$share` delivers nothing.
 *
 * With `users`, it is as safe as the production Mosquitto recipe (issue #14; docs/security.md):
 * every client must log in with one of those username/password pairs, and the rig protocol's
 * topic ACL (./protocol/acl.ts, the same rules as configs/mosquitto/acl) decides what each may
 * publish, subscribe to and receive. A campaign's embedded broker always runs so, with
 * credentials generated for that run (`generateCredentials`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { Aedes } from 'aedes';
// aedes 1.x wants a persistence whose setup() is async: the package's async class, not its
// callback wrapper (aedes-persistence-level/persistence.js).
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { Level } from 'level';
import { parseAcl, PORELOOP_ACL, type AclClient } from './protocol/acl.js';

export interface EmbeddedBrokerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: '127.0.0.1' | string;
  /** LevelDB directory for retained messages, sessions and queues (omit: in memory). */
  persistenceDir?: string;
  /**
   * username → password. Given: anonymous clients and wrong passwords are refused and `acl`
   * applies. Omitted: an open broker (any local client may do anything; docs/security.md).
   */
  users?: Record<string, string>;
  /** ACL in Mosquitto acl_file syntax (default: the rig protocol's, PORELOOP_ACL). Only with `users`. */
  acl?: string;
  /**
   * Largest MQTT packet a client may send, in bytes (fixed header included), as Mosquitto's
   * `max_packet_size`; a client that announces a bigger one is disconnected before its body is
   * read. Default DEFAULT_MAX_PACKET_BYTES (70 000, the Mosquitto recipe's value).
   */
  maxPacketBytes?: number;
}

/** configs/mosquitto's `max_packet_size`: the 64 KiB payload limit plus room for topic and header. */
export const DEFAULT_MAX_PACKET_BYTES = 70_000;

/**
 * aedes has no packet size limit: its parser (mqtt-packet) buffers a PUBLISH until all of its
 * announced length has arrived, so six parallel 200 MB publishes grew the broker process to
 * 2.5 GB before anything checked their size (security review, finding 2). This reads the fixed
 * header of every packet (MQTT 3.1.1 §2.2: one type byte, then the remaining length in 1-4
 * bytes of 7 bits each) as the bytes pass from the socket to aedes, and destroys the socket as
 * soon as a packet announces more than `max` bytes, so at most one socket read past the header
 * is ever buffered. It listens to 'data', which a socket read by aedes (`'readable'` + read())
 * emits for every chunk read, before aedes parses it, without changing the flow.
 */
function limitPacketSize(socket: net.Socket, max: number): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let lengthBytes = 0;
  let remaining = 0;
  socket.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !socket.destroyed) {
      if (state === 'body') {
        const n = Math.min(remaining, chunk.length - i);
        remaining -= n;
        i += n;
        if (remaining === 0) state = 'type';
      } else if (state === 'type') {
        i++;
        state = 'length';
        length = 0;
        lengthBytes = 0;
      } else {
        const b = chunk[i++];
        length += (b & 0x7f) * 128 ** lengthBytes++;
        if (b & 0x80) {
          if (lengthBytes === 4) socket.destroy(); // malformed remaining length (§2.2.3)
        } else if (1 + lengthBytes + length > max) {
          socket.destroy();
        } else {
          remaining = length;
          state = remaining > 0 ? 'body' : 'type';
        }
      }
    }
  });
}

/** Credentials for one campaign's embedded broker: the orchestrator and each simulated rig. */
export interface BrokerCredentials {
  users: Record<string, string>;
  /** { username, password } of one user (a rig's username is its rig id). */
  of(username: string): { username: string; password: string };
}

/** Random passwords (144 bits each) for `orchestrator` and the given rig ids. */
export function generateCredentials(rigIds: readonly string[]): BrokerCredentials {
  // A rig named like the orchestrator would share its login and its access to every topic.
  if (rigIds.includes('orchestrator')) throw new Error("rig id 'orchestrator' is reserved for the orchestrator's broker login");
  const users: Record<string, string> = {};
  for (const u of ['orchestrator', ...rigIds]) users[u] = randomBytes(18).toString('base64url');
  return {
    users,
    of(username) {
      const password = users[username];
      if (password === undefined) throw new Error(`no broker credentials for ${username}`);
      return { username, password };
    },
  };
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Login and per-topic authorisation with the aedes hooks (aedes docs/Aedes.md, "Handler: …"). */
function secure(broker: Aedes, users: Record<string, string>, aclText: string): void {
  const acl = parseAcl(aclText);
  const who = new WeakMap<object, AclClient>();
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  broker.authenticate = (client, username, password, done) => {
    const known = username !== undefined && Object.hasOwn(users, username);
    if (!known || !password || !same(users[username!], password.toString())) {
      // CONNACK 4 (bad user name or password), as Mosquitto answers.
      const e = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
      return done(e as never, false);
    }
    who.set(client, { username, clientId: client.id });
    done(null, true);
  };
  // A forbidden publish closes the connection (aedes has no silent drop, unlike Mosquitto, which
  // acknowledges and discards it): either way nothing reaches a subscriber. The Last Will is
  // checked here too, when it fires.
  broker.authorizePublish = (client, packet, done) => {
    const c = client ? who.get(client) : undefined;
    if (!c || !acl.canPublish(c, packet.topic)) return done(new Error(`not authorised to publish on ${packet.topic}`));
    done(null);
  };
  broker.authorizeSubscribe = (client, sub, done) => {
    const c = who.get(client);
    // null: SUBACK 0x80 (failure) for this filter; the connection stays up.
    done(null, c && acl.canSubscribe(c, sub.topic) ? sub : null);
  };
  // Per message as well (Mosquitto checks read access on delivery too): retained messages and
  // anything a subscription check could have missed.
  broker.authorizeForward = (client, packet) => {
    const c = who.get(client);
    return c && acl.canRead(c, packet.topic) ? packet : null;
  };
}

/**
 * Works around aedes 1.2 dropping QoS 0/1 messages (lost rig jobs: 27 of 320 first attempts in
 * the durability campaign bench, experiments/results/durability-campaign.md; aedes issues #955
 * and #994, both open). aedes numbers every publish (`brokerCounter`) as it arrives, then runs
 * it through the persistence (retained store, offline queues of persistent sessions) before it
 * hands it to the subscribers; with LevelDB these steps take variable time, so a later message
 * can reach a subscriber first. The subscriber's `dedupe` (lib/client.js) then treats every
 * message with a lower counter than the last one delivered as a duplicate and drops it without
 * a trace: a job never reaches its rig, a rig's event or status never reaches the orchestrator.
 * So publishes pass the persistence one at a time, in arrival order: the next one starts when
 * the previous one has been handed to the subscribers (`mq.emit`) or has failed. Counters then
 * reach every subscriber in increasing order and `dedupe` drops nothing. Delivery to a persistent
 * session takes one more persistence step per message (`outgoingUpdate`, which gives it its
 * message id) that can also finish out of order; chained per client, the messages go out in the
 * order MQTT 3.1.1 §4.6 requires (per publisher and topic), which the unfixed broker broke too.
 * Cost: one publish in the persistence at a time (robots/broker.test.ts: bursts of 1200).
 */
function keepEveryMessage(broker: Aedes): () => Promise<void> {
  type Done = (error?: Error) => void;
  const inner = broker as unknown as { publish(packet: unknown, client?: unknown, done?: Done): void; mq: { emit(packet: unknown, done?: Done): void } };
  const publish = inner.publish.bind(broker);
  const emit = inner.mq.emit.bind(inner.mq);
  let tail: Promise<void> = Promise.resolve();
  // The release of the one publish between its start and its hand-over (at most one at a time).
  let handedOver: (() => void) | undefined;
  inner.mq.emit = (packet, done) => {
    const release = handedOver;
    handedOver = undefined;
    release?.();
    emit(packet, done);
  };
  const persistence = (broker as unknown as { persistence: { outgoingUpdate(client: { id: string }, packet: unknown): Promise<unknown> } }).persistence;
  const update = persistence.outgoingUpdate.bind(persistence);
  const lastUpdate = new Map<string, Promise<unknown>>();
  persistence.outgoingUpdate = (client, packet) => {
    const done = (lastUpdate.get(client.id) ?? Promise.resolve()).then(() => update(client, packet));
    const settled = done.catch(() => undefined);
    lastUpdate.set(client.id, settled);
    // Forget an idle client's chain (clients come and go under many ids).
    void settled.then(() => {
      if (lastUpdate.get(client.id) === settled) lastUpdate.delete(client.id);
    });
    return done;
  };
  inner.publish = (packet, client, done) => {
    if (typeof client === 'function') [client, done] = [null, client as Done];
    const turn = tail;
    let release!: () => void;
    tail = new Promise<void>((r) => (release = r));
    void turn.then(() => {
      handedOver = release;
      publish(packet, client, (err?: Error) => {
        // Ended without reaching the subscribers (refused, or failed in the persistence).
        if (handedOver === release) {
          handedOver = undefined;
          release();
        }
        done?.(err);
      });
    });
  };
  // Settles when every publish that has arrived so far has passed the persistence (stored,
  // queued for offline sessions, handed over) or failed: close() waits for it, see there.
  return () => tail;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  let db: Level<string, Buffer> | undefined;
  let persistence: unknown;
  if (options.persistenceDir) {
    mkdirSync(options.persistenceDir, { recursive: true });
    db = new Level<string, Buffer>(options.persistenceDir);
    persistence = new AsyncLevelPersistence(db);
  }
  const broker = await Aedes.createBroker(persistence ? { persistence } : {});
  const settled = keepEveryMessage(broker);
  if (options.users) secure(broker, options.users, options.acl ?? PORELOOP_ACL);
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // Without it, small QoS 1 packets wait on Nagle + delayed ACK (~40 ms per hop).
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
    // After handle(): aedes' 'readable' listener then keeps controlling the flow.
    limitPacketSize(socket, maxPacketBytes);
  });
  // A client that sends garbage must not bring the broker down; aedes reports it as an event.
  broker.on('clientError', () => undefined);
  broker.on('connectionError', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (e) {
    // A busy port: release what was opened, or its timers keep the process alive (issue #14).
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (db && db.status === 'open') await db.close();
    throw e;
  }
  const port = (server.address() as net.AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        // aedes acknowledges a QoS 1 publish (PUBACK) before it stores it (lib/handlers/publish.js:
        // write PubAck, then broker.publish), so a publisher can be told "delivered" while the
        // message is still on its way into the retained store or a persistent session's queue.
        // Closing the store then lost it (robots/broker.test.ts, the restart test, failed under
        // load): let the publishes that have arrived finish first, bounded in case one hangs.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([settled(), new Promise<void>((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        if (db && db.status === 'open') await db.close();
      })();
      return closing;
    },
  };
}
