/**
 * The embedded broker with LevelDB persistence: retained status and a persistent session's
 * queued QoS 1 message survive a restart of the broker (DESIGN.md: "with the level
 * persistence it survives a kill").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from './broker.js';
import { createSimulatedLab } from './sim/index.js';
import { waitFor } from './testing/brokers.js';
import { connectMqtt } from './transport/mqtt.js';

describe('embedded broker', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps retained messages and queued QoS 1 messages of persistent sessions across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aedes-'));
    dirs.push(dir);
    let broker = await startEmbeddedBroker({ port: 0, persistenceDir: dir });
    const sub = await connectMqtt({ url: broker.url, clientId: 'sub', clean: false }, {});
    await sub.subscribe('t/queued', () => undefined, { qos: 1 });
    await sub.close();
    const pub = await connectMqtt({ url: broker.url, clientId: 'pub', clean: true }, {});
    await pub.publish('t/status', 'online', { qos: 1, retain: true });
    await pub.publish('t/queued', 'while you were away', { qos: 1 });
    await pub.close();
    await broker.close();

    broker = await startEmbeddedBroker({ port: 0, persistenceDir: dir });
    try {
      const got: Array<[string, string]> = [];
      const back = await connectMqtt({ url: broker.url, clientId: 'sub', clean: false }, {});
      await back.subscribe('t/#', (t, p) => got.push([t, p.toString()]), { qos: 1 });
      await waitFor(() => got.length === 2, 'queued + retained');
      expect(got.sort()).toEqual([
        ['t/queued', 'while you were away'],
        ['t/status', 'online'],
      ]);
      await back.close();
    } finally {
      await broker.close();
    }
  });

  it('refuses MQTT 5 clients (aedes speaks 3.1.1 only) with a clear error', async () => {
    const broker = await startEmbeddedBroker();
    try {
      await expect(connectMqtt({ url: broker.url, clientId: 'v5', protocolVersion: 5, connectTimeoutMs: 2000 }, {})).rejects.toThrow(/cannot connect/);
    } finally {
      await broker.close();
    }
  });

  it('rigs still shut down when the broker is already gone', async () => {
    const broker = await startEmbeddedBroker();
    const lab = await createSimulatedLab({ brokerUrl: broker.url, lab: 'gone', seed: 1, rigs: [{ id: 'r1', capabilities: ['x'] }] });
    await broker.close();
    await lab.stop(); // must return (bounded waits), not hang on the missing PUBACK
    expect(lab.rig('r1').status()).toBe('offline');
  }, 15_000);
});
