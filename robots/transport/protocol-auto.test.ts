/**
 * `protocolVersion: 'auto'` (issue #21, `broker.protocol: auto`): MQTT 5 where the broker speaks
 * it (Mosquitto 2), MQTT 3.1.1 where it does not (the embedded aedes refuses a v5 CONNECT).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../broker.js';
import { uniq, waitFor } from '../testing/brokers.js';
import { useMosquitto } from '../testing/mosquitto-suite.js';
import { mosquittoMissing, skipWithout } from '../testing/services.js';
import { connectMqtt } from './mqtt.js';

describe('MQTT protocol auto on the embedded broker (aedes)', () => {
  let b: EmbeddedBroker;
  beforeAll(async () => {
    b = await startEmbeddedBroker({ port: 0 });
  });
  afterAll(async () => {
    await b?.close();
  });

  it('falls back to 3.1.1, and the connection works', async () => {
    const t = await connectMqtt({ url: b.url, clientId: uniq('auto'), protocolVersion: 'auto', clean: true }, {});
    try {
      expect(t.protocolVersion).toBe(4);
      const got: string[] = [];
      await t.subscribe('auto/x', (_topic, p) => got.push(p.toString()));
      await t.publish('auto/x', 'hello');
      await waitFor(() => got.length > 0, 'the message back', 10_000);
      expect(got).toEqual(['hello']);
    } finally {
      await t.close();
    }
  });

  it('asking for 5 explicitly fails with the broker\'s refusal', async () => {
    await expect(connectMqtt({ url: b.url, clientId: uniq('v5'), protocolVersion: 5, clean: true, connectTimeoutMs: 3000 }, {})).rejects.toThrow(/protocol version/i);
  });
});

const skip = skipWithout(await mosquittoMissing('binary'), 'MQTT protocol auto on Mosquitto');

describe.skipIf(skip)('MQTT protocol auto on Mosquitto', () => {
  const m = useMosquitto();

  it('picks MQTT 5', async () => {
    const t = await connectMqtt({ url: m.url, clientId: uniq('auto'), protocolVersion: 'auto', clean: true }, {});
    expect(t.protocolVersion).toBe(5);
    await t.close();
  });
});
