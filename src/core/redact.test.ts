import { describe, expect, it } from 'vitest';
import { redact } from '../../robots/transport/mqtt.js';
import { redactUrl as wireRedact } from '../exec/mqtt-wire.js';
import { redactSecrets, redactUrl } from './redact.js';

/** One rule for every place a broker URL is shown (diff review 2026-12-07: three copies had drifted). */
describe('redactUrl', () => {
  it('hides the password of a URL, an empty user\'s too, and a password holding @ in full', () => {
    expect(redactUrl('mqtts://rig:hunter2@broker:8883')).toBe('mqtts://rig:***@broker:8883');
    expect(redactUrl('mqtt://:secretpw@h')).toBe('mqtt://:***@h');
    expect(redactUrl('mqtts://u:p@ss@h:8883/x')).toBe('mqtts://u:***@h:8883/x');
    expect(redactUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
    expect(redactUrl('mqtt://user@broker:1883')).toBe('mqtt://user@broker:1883');
    expect(redactUrl('a mqtt://a:x@h1 and ws://b:y@h2/p')).toBe('a mqtt://a:***@h1 and ws://b:***@h2/p');
  });

  it('is the rule of the rig transport and the compute wire too', () => {
    for (const url of ['mqtt://:secretpw@h', 'mqtts://u:p@ss@h:8883']) {
      expect(redact(url)).toBe(redactUrl(url));
      expect(wireRedact(url)).toBe(redactUrl(url));
    }
  });

  it('redactSecrets masks every URL string in a config, leaving the rest', () => {
    expect(redactSecrets({ broker: { url: 'mqtts://o:pw@b' }, list: ['ws://a:b@c', 3], n: null })).toEqual({ broker: { url: 'mqtts://o:***@b' }, list: ['ws://a:***@c', 3], n: null });
  });
});
