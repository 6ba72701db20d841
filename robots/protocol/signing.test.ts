import { describe, expect, it } from 'vitest';
import { parseRigKeys, signatureProblem, signPayload } from './signing.js';

const key = Buffer.from('k'.repeat(32));

describe('rig message signatures (HMAC-SHA256, opt-in)', () => {
  const body = JSON.stringify({ jobId: 'j', rigId: 'r1', seq: 2, type: 'result', measurements: { tau: 1.5 }, protocol: '1.0' });

  it('a signed message is still the same JSON object, plus "sig", and verifies', () => {
    const wire = signPayload(body, key);
    expect(JSON.parse(wire)).toEqual({ ...JSON.parse(body), sig: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(signatureProblem(Buffer.from(wire), key)).toBeUndefined();
  });

  it('refuses unsigned messages, altered ones and another key’s signature', () => {
    const wire = signPayload(body, key);
    expect(signatureProblem(Buffer.from(body), key)).toMatch(/^unsigned/);
    expect(signatureProblem(Buffer.from(wire.replace('1.5', '9.5')), key)).toMatch(/^bad signature/);
    expect(signatureProblem(Buffer.from(signPayload(body, Buffer.from('x'.repeat(32)))), key)).toMatch(/^bad signature/);
    // A "sig" anywhere but last does not count.
    expect(signatureProblem(Buffer.from(JSON.stringify({ sig: JSON.parse(wire).sig, ...JSON.parse(body) })), key)).toMatch(/^unsigned/);
  });

  it('reads rigId:key lines and refuses short keys', () => {
    expect(parseRigKeys('# keys\nr1:0123456789abcdef\n\nr2:a:b:c:d:e:f:g:h:i\n', 'keys')).toEqual(
      new Map([
        ['r1', Buffer.from('0123456789abcdef')],
        ['r2', Buffer.from('a:b:c:d:e:f:g:h:i')],
      ]),
    );
    expect(() => parseRigKeys('r1:short\n', 'keys')).toThrow(/keys line 1: expected rigId:key with a key of at least 16 bytes/);
    expect(() => parseRigKeys(':0123456789abcdef\n', 'keys')).toThrow(/line 1/);
  });
});
