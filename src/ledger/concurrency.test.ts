import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CampaignLease } from './lease.js';
import { Ledger } from './ledger.js';

/**
 * Several processes write one ledger file: campaigns of their own (each under its lease), and
 * `stop`, `approve`, `serve` (README). Two connections on one real SQLite file stand for two
 * processes here; the two-process runs are in tests/faults.
 */
describe('ledger: several writers on one file (review of two campaigns on one ledger, 2026-12-07)', () => {
  const path = () => join(mkdtempSync(join(tmpdir(), 'poreloop-concurrency-')), 'l.db');
  const start = (l: Ledger, c: string) => l.append(c, 'CampaignStarted', { name: c, config: {}, configHash: 'h', seed: 1, source: 's.yaml', versions: {} }, 'start');
  const fleet = { rigs: [] };
  /** Two connections on one new file, each with its campaign; `b` does not wait for a lock (busy_timeout 0). */
  const twoWriters = () => {
    const file = path();
    const a = Ledger.open(file);
    const b = Ledger.open(file);
    start(a, 'ca');
    start(b, 'cb');
    b.db.pragma('busy_timeout = 0');
    return { a, b };
  };

  it('a write that reads first (the lease guard) is not lost when another connection commits between its read and its write', () => {
    // The other "process" does not wait here: its attempt shows whether it could write in between.
    const { a, b } = twoWriters();
    const lease = CampaignLease.acquire(a, 'ca');
    let other: string | undefined;
    a.guardWrites('ca', () => {
      expect(lease.holds()).toBe(true);
      if (other !== undefined) return;
      try {
        b.append('cb', 'RigFleetObserved', fleet);
        other = 'committed';
      } catch (e) {
        other = (e as Error).message;
      }
    });
    // Deferred, the read above began a snapshot; the other connection's commit made it stale and
    // the insert failed at once with SQLITE_BUSY_SNAPSHOT, whatever busy_timeout said.
    expect(a.append('ca', 'RigFleetObserved', fleet)).not.toBeNull();
    // IMMEDIATE: the other writer found the file locked and waits its turn (busy_timeout, here
    // 0) instead; still locked after its tries, it says so.
    expect(other).toMatch(/another process held its write lock through 3 tries to write/);
    expect(b.append('cb', 'RigFleetObserved', fleet)).not.toBeNull();
    expect(a.documents('ca', 'RigFleetObserved')).toHaveLength(1);
    expect(b.documents('cb', 'RigFleetObserved')).toHaveLength(1);
    lease.release();
    a.close();
    b.close();
  });

  it('a read-only view (read) does not lock other writers out, and refuses a write inside it', () => {
    const { a, b } = twoWriters();
    const seen = a.read(() => {
      const before = a.documents('cb', 'RigFleetObserved').length;
      b.append('cb', 'RigFleetObserved', fleet);
      // One snapshot: the other connection's commit is not seen inside it.
      return [before, a.documents('cb', 'RigFleetObserved').length];
    });
    expect(seen).toEqual([0, 0]);
    expect(a.documents('cb', 'RigFleetObserved')).toHaveLength(1);
    expect(() => a.read(() => a.append('ca', 'RigFleetObserved', fleet))).toThrow(/inside a read/);
    a.close();
    b.close();
  });
});
