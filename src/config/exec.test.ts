/** Config of issue #21: `exec: local | mqtt` and `broker: { url, protocol: auto | 4 | 5 }`. */
import { describe, expect, it } from 'vitest';
import { resolveCampaign } from './load.js';
import { brokerSetting } from './schema.js';

const registries = { twins: {}, agents: ['random'] };
const base = (extra: Record<string, unknown> = {}) => ({
  name: 'exec',
  space: { x: { min: 0, max: 1 } },
  reward: 'x',
  agent: { name: 'random' },
  rigs: { pipeline: ['characterise'], measure: ['x'] },
  budget: { rigRuns: 2 },
  ...extra,
});

describe('exec and broker.protocol', () => {
  it('defaults: local threads; the embedded broker is 3.1.1, a URL is auto', () => {
    const r = resolveCampaign(base(), registries, {}, {});
    expect(r.config.exec).toBeUndefined();
    expect(brokerSetting(r.config)).toEqual({ url: 'embedded', protocol: 4 });
    expect(brokerSetting(resolveCampaign(base({ broker: 'mqtt://h:1883' }), registries, {}, {}).config)).toEqual({ url: 'mqtt://h:1883', protocol: 'auto' });
  });

  it('keeps broker.protocol when --broker or PORELOOP_BROKER overrides the URL', () => {
    const file = base({ broker: { url: 'mqtt://a:1883', protocol: 5 } });
    expect(brokerSetting(resolveCampaign(file, registries, { broker: 'mqtt://b:1883' }, {}).config)).toEqual({ url: 'mqtt://b:1883', protocol: 5 });
    expect(brokerSetting(resolveCampaign(file, registries, {}, { PORELOOP_BROKER: 'mqtt://c:1883' }).config)).toEqual({ url: 'mqtt://c:1883', protocol: 5 });
  });

  it.each([
    [{ exec: 'mqtt' }, /exec: compute workers need an MQTT 5 broker .*embedded broker \(aedes\) speaks only MQTT 3\.1\.1/],
    [{ exec: 'mqtt', broker: { url: 'mqtt://h:1883', protocol: 4 } }, /exec: compute workers need MQTT 5/],
    [{ exec: 'cluster' }, /exec: expected "local" or "mqtt"/],
    [{ broker: { url: 'mqtt://h:1883', protocol: 3 } }, /broker: expected "embedded", a broker URL, or \{ url, protocol: auto \| 4 \| 5 \}/],
    [{ broker: { url: 'file:///etc/passwd' } }, /broker\.url: .*scheme "file:" is not allowed/],
  ])('refuses %j naming the field', (extra, message) => {
    expect(() => resolveCampaign(base(extra), registries, {}, {})).toThrow(message);
  });

  it('accepts exec: mqtt on a broker URL', () => {
    expect(resolveCampaign(base({ exec: 'mqtt', broker: 'mqtt://h:1883' }), registries, {}, {}).config.exec).toBe('mqtt');
  });
});
