import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compatibleProtocol, PROTOCOL_VERSION, topicMatches, topicsFor } from './topics.js';
import { jsonDepth, MAX_JSON_DEPTH, parseMessage, schemas } from './validate.js';

const at = new Date(0).toISOString();
const job = { jobId: 'j1', campaignId: 'c', trialId: 't', attempt: 1, capability: 'fabricate', params: { a: 1, b: 'x' }, deadline: at, protocol: '1.0' };

describe('topics', () => {
  it('builds and parses the per-rig topics of one lab', () => {
    const t = topicsFor('lab1');
    expect(t.jobs('r1')).toBe('poreloop/v1/lab1/rigs/r1/jobs');
    expect(t.parse('poreloop/v1/lab1/rigs/r1/events')).toEqual({ rigId: 'r1', kind: 'events' });
    expect(t.parse('poreloop/v1/lab2/rigs/r1/events')).toBeNull();
    expect(t.parse('poreloop/v1/lab1/rigs/r1/events/x')).toBeNull();
    expect(t.errors('orchestrator')).toBe('poreloop/v1/lab1/errors/orchestrator');
    expect(t.rigErrors('r1')).toBe('poreloop/v1/lab1/rigs/r1/errors');
    expect(t.parse('poreloop/v1/lab1/rigs/r1/errors')).toEqual({ rigId: 'r1', kind: 'errors' });
  });
  it('docs/rig-protocol.md shows robots/examples/rig.py as it is (below its three header comment lines)', () => {
    const read = (p: string) => readFileSync(fileURLToPath(new URL(p, import.meta.url)), 'utf8');
    const doc = read('../../docs/rig-protocol.md');
    const block = doc.slice(doc.indexOf('```python\n') + 10, doc.indexOf('```', doc.indexOf('```python\n') + 10));
    expect(block).toBe(read('../examples/rig.py').split('\n').slice(3).join('\n'));
  });
  it('refuses names that would break topic matching', () => {
    for (const bad of ['a/b', 'a+', '#', '', 'has space', 'x'.repeat(65)]) expect(() => topicsFor('lab').jobs(bad)).toThrow(/not allowed/);
  });
  it('matches MQTT filters as MQTT 3.1.1 §4.7 defines them', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('$share/g/a/+', 'a/b')).toBe(true);
  });
  it('negotiates by major version', () => {
    expect(compatibleProtocol('1.7')).toBe(true);
    expect(compatibleProtocol('2.0')).toBe(false);
    expect(PROTOCOL_VERSION).toMatch(/^1\./);
  });
});

describe('payload validation', () => {
  it('accepts a valid job and keeps unknown fields (minor versions add optional ones)', () => {
    const r = parseMessage('job', Buffer.from(JSON.stringify({ ...job, future: 1 })));
    expect(r.ok).toBe(true);
  });
  it('rejects oversized, non-JSON and schema-violating payloads with a reason', () => {
    const big = parseMessage('job', Buffer.alloc(100, 32), 50);
    expect(!big.ok && big.error.reason).toMatch(/100 bytes exceeds the limit of 50/);
    const nj = parseMessage('job', Buffer.from('{nope'));
    expect(!nj.ok && nj.error.reason).toMatch(/not JSON/);
    const miss = parseMessage('job', Buffer.from(JSON.stringify({ ...job, attempt: 0 })));
    expect(!miss.ok && miss.error.reason).toMatch(/\/attempt must be >= 1/);
    const date = parseMessage('job', Buffer.from(JSON.stringify({ ...job, deadline: 'tomorrow' })));
    expect(!date.ok && date.error.reason).toMatch(/deadline must match format "date-time"/);
  });
  it('requires measurements on a result and a reason on a failure', () => {
    const ev = { jobId: 'j', rigId: 'r', seq: 1, at, protocol: '1.0' };
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'result' }))).ok).toBe(false);
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'result', measurements: { x: 1 } }))).ok).toBe(true);
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'failed' }))).ok).toBe(false);
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'result', measurements: { x: 'NaN' } }))).ok).toBe(false);
    // Names are bounded (security review, finding 3): 256 of them at the limit still fit in 64 KiB.
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'result', measurements: { ['m'.repeat(129)]: 1 } }))).ok).toBe(false);
    const most = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`${i}`.padEnd(128, 'm'), -1.2345678901234567e-300]));
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, type: 'result', measurements: most }))).ok).toBe(true);
  });
  it('rejects a payload nested deeper than MAX_JSON_DEPTH before parsing it (security review, finding 1)', () => {
    const ev = { jobId: 'j', rigId: 'r', seq: 1, type: 'progress', progress: 0.5, at, protocol: '1.0' };
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const hostile = parseMessage('event', Buffer.from(JSON.stringify(ev).slice(0, -1) + `,"x":${deep(10_000)}}`));
    expect(!hostile.ok && hostile.error.reason).toMatch(new RegExp(`nests objects or arrays more than ${MAX_JSON_DEPTH} deep`));
    // Exactly at the limit (the event itself is one level) is fine; brackets inside strings do not count.
    expect(parseMessage('event', Buffer.from(JSON.stringify(ev).slice(0, -1) + `,"x":${deep(MAX_JSON_DEPTH - 1)}}`)).ok).toBe(true);
    expect(parseMessage('event', Buffer.from(JSON.stringify({ ...ev, reason: '{['.repeat(500) + '\\"{' }))).ok).toBe(true);
    expect(jsonDepth(Buffer.from('[[],[[1]],{"a":"]]]]"}]'))).toBe(3);
  });
  it('requires a jobId on cancel', () => {
    const cmd = { command: 'cancel', commandId: 'c1', at, protocol: '1.0' };
    expect(parseMessage('admin', Buffer.from(JSON.stringify(cmd))).ok).toBe(false);
    expect(parseMessage('admin', Buffer.from(JSON.stringify({ ...cmd, jobId: 'j' }))).ok).toBe(true);
  });
  it('publishes one schema per message kind', () => {
    expect(Object.keys(schemas).sort()).toEqual(['admin', 'error', 'event', 'job', 'status']);
  });
});
