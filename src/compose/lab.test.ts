/**
 * `probeBroker` (what `poreloop doctor` shows, issue #21): compute workers' retained statuses
 * are read through the executor's schema — one that is not a status is counted as invalid
 * instead of breaking the worker line (a status without a kinds list made it throw).
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../robots/broker.js';
import { uniq } from '../../robots/testing/brokers.js';
import { computeTopics } from '../exec/mqtt-wire.js';
import { probeBroker } from './lab.js';

describe('probeBroker: compute workers', () => {
  it('lists valid worker statuses and counts the others as invalid', async () => {
    const b = await startEmbeddedBroker({ port: 0 });
    try {
      const lab = uniq('probe');
      const t = computeTopics(lab);
      const c = await mqtt.connectAsync(b.url, { clientId: uniq('pub') });
      const ok = { v: 2, workerId: 'w-ok', status: 'online', kinds: ['physics'], tasks: ['simulate'], concurrency: 2, at: new Date().toISOString() };
      await c.publishAsync(t.status('w-ok'), JSON.stringify(ok), { qos: 1, retain: true });
      await c.publishAsync(t.status('w-bad'), JSON.stringify({ ...ok, workerId: 'w-bad', kinds: 'physics' }), { qos: 1, retain: true });
      await c.endAsync();
      const probe = await probeBroker(b.url, lab, 500);
      expect(probe.connected).toBe(true);
      expect(probe.workers.map((w) => [w.workerId, w.kinds, w.concurrency])).toEqual([['w-ok', ['physics'], 2]]);
      expect(probe.invalid).toBe(1);
    } finally {
      await b.close();
    }
  });
});
