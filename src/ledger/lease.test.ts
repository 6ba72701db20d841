import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { CampaignLease } from './lease.js';
import { Ledger } from './ledger.js';

/** One writer per campaign (issue #14); the two-process form is in tests/faults/liveness.test.ts. */
describe('campaign lease', () => {
  const db = () => join(mkdtempSync(join(tmpdir(), 'poreloop-lease-')), 'l.db');

  it('refuses a second live owner, naming the holder; takes over an expired lease or a dead owner on this host', () => {
    const path = db();
    const a = Ledger.open(path);
    const b = Ledger.open(path);
    let t = 1_000_000;
    const now = () => t;
    const alive = new Set([101, 202]);
    const opts = (pid: number, host = 'lab-pc') => ({ pid, host, now, ttlMs: 30_000, isAlive: (p: number) => alive.has(p) });
    const first = CampaignLease.acquire(a, 'c1', opts(101));
    expect(() => CampaignLease.acquire(b, 'c1', opts(202))).toThrow(BadInputError);
    expect(() => CampaignLease.acquire(b, 'c1', opts(202))).toThrow(/campaign c1 is being run by process 101 on lab-pc/);
    // Another campaign in the same file is independent.
    CampaignLease.acquire(b, 'c2', opts(202)).release();

    // Renewed, the lease outlives its first TTL; from another host it holds until it expires.
    t += 25_000;
    expect(first.renew()).toBe(true);
    t += 25_000;
    expect(() => CampaignLease.acquire(b, 'c1', opts(303, 'other-pc'))).toThrow(/expires in 5 s unless/);
    t += 6_000;
    const remote = CampaignLease.acquire(b, 'c1', opts(303, 'other-pc'));
    // The old holder learns it lost the lease when it next renews, and must stop.
    expect(first.renew()).toBe(false);
    remote.release();

    // A dead owner on this host is taken over at once, without waiting for expiry.
    const dying = CampaignLease.acquire(a, 'c1', opts(101));
    alive.delete(101);
    const taker = CampaignLease.acquire(b, 'c1', opts(202));
    expect(CampaignLease.holder(b, 'c1')).toMatchObject({ pid: 202, host: 'lab-pc' });
    // Releasing a lease that is no longer ours leaves the new holder's alone.
    dying.release();
    expect(CampaignLease.holder(b, 'c1')).toMatchObject({ pid: 202 });
    taker.release();
    expect(CampaignLease.holder(b, 'c1')).toBeNull();
    a.close();
    b.close();
  });

  it('a write guarded by the lease is refused, with nothing written, once another process took it over — before any renewal notices', () => {
    const path = db();
    const a = Ledger.open(path);
    const b = Ledger.open(path);
    let t = 1_000_000;
    const now = () => t;
    a.append('c1', 'CampaignStarted', { name: 'c1', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    const mine = CampaignLease.acquire(a, 'c1', { pid: 101, host: 'lab-pc', now, ttlMs: 30_000 });
    const unguard = a.guardWrites('c1', () => {
      if (!mine.holds()) throw new Error('lease lost');
    });
    a.append('c1', 'RoundStarted', { round: 1 }, 'round:1');
    t += 31_000;
    CampaignLease.acquire(b, 'c1', { pid: 202, host: 'other-pc', now, ttlMs: 30_000 });
    const count = () => b.documents('c1').length;
    const before = count();
    expect(() => a.append('c1', 'RoundStarted', { round: 2 }, 'round:2')).toThrow('lease lost');
    expect(() => a.saveSnapshot('c1', { value: 'x' })).toThrow('lease lost');
    expect(count()).toBe(before);
    // Other campaigns in the file are not guarded; an unguarded ledger writes again.
    unguard();
    expect(a.append('c1', 'RoundStarted', { round: 2 }, 'round:2')).not.toBeNull();
    a.close();
    b.close();
  });
});
