import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/core/errors.js';
import { startEmbeddedBroker } from '../broker.js';
import { credentialsFromEnv, connectMqtt, PayloadTooLargeError, redact } from './mqtt.js';

describe('MQTT credentials from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the password from a secrets file unless PORELOOP_MQTT_PASSWORD is set', () => {
    const file = join(dir, 'pw');
    writeFileSync(file, 's3cret\n');
    expect(credentialsFromEnv({ PORELOOP_MQTT_USERNAME: 'rig-1', PORELOOP_MQTT_PASSWORD_FILE: file })).toEqual({ username: 'rig-1', password: 's3cret' });
    expect(credentialsFromEnv({ PORELOOP_MQTT_PASSWORD: 'direct', PORELOOP_MQTT_PASSWORD_FILE: file }).password).toBe('direct');
    expect(credentialsFromEnv({ PORELOOP_MQTT_CA: '/etc/ca.crt' })).toEqual({ ca: '/etc/ca.crt' });
    expect(credentialsFromEnv({})).toEqual({});
  });
  it('names the variable when the secrets file is missing', () => {
    expect(() => credentialsFromEnv({ PORELOOP_MQTT_PASSWORD_FILE: join(dir, 'nope') })).toThrow(BadInputError);
    expect(() => credentialsFromEnv({ PORELOOP_MQTT_PASSWORD_FILE: join(dir, 'nope') })).toThrow(/PORELOOP_MQTT_PASSWORD_FILE/);
  });
  it('redacts a password embedded in a URL', () => {
    expect(redact('mqtts://rig:hunter2@broker:8883')).toBe('mqtts://rig:***@broker:8883');
    expect(redact('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});

describe('MQTT transport message handlers', () => {
  it('a handler that throws is logged and does not crash the process or starve the other handlers (security review, finding 1)', async () => {
    const broker = await startEmbeddedBroker();
    const t = await connectMqtt({ url: broker.url, clientId: `throwing-${process.pid}`, clean: true });
    const logged: string[] = [];
    const origError = console.error;
    console.error = (...a: unknown[]) => void logged.push(a.join(' '));
    try {
      const got: string[] = [];
      await t.subscribe('t/+', () => {
        throw new RangeError('Maximum call stack size exceeded');
      });
      await t.subscribe('t/#', (_topic, p) => got.push(p.toString()));
      await t.publish('t/a', 'one');
      await t.publish('t/a', 'two');
      const until = Date.now() + 30_000;
      while (got.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['one', 'two']);
      expect(logged.some((l) => /handler of a message on t\/a .* failed .*Maximum call stack/.test(l))).toBe(true);
    } finally {
      console.error = origError;
      await t.close();
      await broker.close();
    }
  });
});

describe('MQTT transport packet-size guard (diff review 2026-12-07, item 2)', () => {
  it('refuses a payload over maxPayloadBytes before publishing it, and the connection stays up', async () => {
    const broker = await startEmbeddedBroker();
    const t = await connectMqtt({ url: broker.url, clientId: `big-${process.pid}`, clean: true });
    try {
      const got: number[] = [];
      await t.subscribe('t/#', (_topic, p) => got.push(p.length));
      // 66 000 bytes: over the 64 KiB default, under the broker's 70 000-byte packet limit, so
      // without the guard it was sent (and a peer rejected it); 80 000 got us disconnected.
      for (const n of [66_000, 80_000]) {
        const e = await t.publish('t/a', Buffer.alloc(n, 0x20)).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(PayloadTooLargeError);
        expect((e as Error).message).toMatch(new RegExp(`payload of ${n} bytes exceeds the message limit of 65536 bytes`));
      }
      await t.publish('t/a', Buffer.alloc(65_536, 0x20));
      const until = Date.now() + 30_000;
      while (got.length < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual([65_536]);
      expect(t.connected).toBe(true);
    } finally {
      await t.close();
      await broker.close();
    }
  });
});
