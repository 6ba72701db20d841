/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1): a new user's first run needs nothing but npm
 * (DESIGN.md "Rig protocol"). With `persistenceDir`, retained messages, persistent sessions and
 * offline QoS 1 queues live in a LevelDB directory and survive a restart of the broker.
 * aedes speaks MQTT 3.1.1 only (STACK.md): MQTT 5 clients are refused, `$share` delivers nothing.
 */
import net from 'node:net';
import { mkdirSync } from 'node:fs';
import { Aedes } from 'aedes';
// aedes 1.x wants a persistence whose setup() is async: the package's async class, not its
// callback wrapper (aedes-persistence-level/persistence.js).
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { Level } from 'level';

export interface EmbeddedBrokerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: '127.0.0.1' | string;
  /** LevelDB directory for retained messages, sessions and queues (omit: in memory). */
  persistenceDir?: string;
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
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
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    // Without it, small QoS 1 packets wait on Nagle + delayed ACK (~40 ms per hop).
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  // A client that sends garbage must not bring the broker down; aedes reports it as an event.
  broker.on('clientError', () => undefined);
  broker.on('connectionError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
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
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        if (db && db.status === 'open') await db.close();
      })();
      return closing;
    },
  };
}
