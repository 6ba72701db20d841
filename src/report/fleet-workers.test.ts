/** The dashboard's fleet lists the compute workers a campaign with `exec: mqtt` recorded (issue #21). */
import { describe, expect, it } from 'vitest';
import { Ledger } from '../ledger/ledger.js';
import { fleet } from './model.js';

describe('compute workers in the fleet', () => {
  it('come from the last RigFleetObserved; none when the campaign recorded none', () => {
    const l = Ledger.open(':memory:');
    l.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    l.append('c', 'RigFleetObserved', { rigs: [] });
    expect(fleet(l, 'c').workers).toEqual([]);
    const workers = [{ workerId: 'node7-1234', kinds: ['physics'], concurrency: 7, host: 'node7' }];
    l.append('c', 'RigFleetObserved', { rigs: [{ rigId: 'r1', status: 'online', capabilities: ['characterise'], inflight: 0 }], workers });
    expect(fleet(l, 'c').workers).toEqual(workers);
    // The document schema refuses a malformed worker entry.
    expect(() => l.append('c', 'RigFleetObserved', { rigs: [], workers: [{ workerId: 'w', kinds: 'physics', concurrency: 1 }] } as never)).toThrow(/workers/);
    l.close();
  });
});
