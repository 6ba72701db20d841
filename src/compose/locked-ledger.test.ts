import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CampaignLease, LEASE_RENEW_MS, LEASE_TTL_MS } from '../ledger/lease.js';
import { Ledger } from '../ledger/ledger.js';
import { closeUnderGuard, LeaseRenewal, LockedLedgerWork, shutDown } from './campaign.js';

/**
 * Review 2026-12-07 (follow-up of 6dbca97): the composition root's ledger writes in callbacks and
 * its 250 ms poll threw uncaught — ending the process — when another process kept the ledger
 * locked past its tries. Two connections on one real SQLite file stand for the two processes (as
 * src/ledger/concurrency.test.ts); this one waits no busy_timeout, so a held lock refuses at once.
 */
describe('compose: a ledger locked by another process (review 2026-12-07)', () => {
  const open = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'poreloop-locked-')), 'l.db');
    const a = Ledger.open(file);
    a.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 's.yaml', versions: {} }, 'start');
    a.db.pragma('busy_timeout = 0');
    const b = Ledger.open(file);
    return { a, b, hold: () => b.db.exec('BEGIN IMMEDIATE'), release: () => b.db.exec('COMMIT') };
  };
  const rejected = (a: Ledger, topic: string) => () => void a.append('c', 'MessageRejected', { topic, reason: 'bad json', payload: '{' });

  it('work the lock refuses waits, is done in order once it is writable, and never throws', () => {
    const { a, b, hold, release } = open();
    const lines: string[] = [];
    const work = new LockedLedgerWork((l) => lines.push(l));
    hold();
    expect(() => work.run('rejected:0', rejected(a, 't0'))).not.toThrow();
    work.run('state', () => a.saveSnapshot('c', { n: 1 }));
    work.run('rejected:1', rejected(a, 't1'));
    work.run('state', () => a.saveSnapshot('c', { n: 2 })); // the newest state replaces the waiting one
    expect(work.retry()).toBe(false);
    expect(lines).toEqual([expect.stringMatching(/^the ledger is locked by another process \(ledger .*another process held its write lock through 3 tries/)]);
    expect(a.documents('c', 'MessageRejected')).toEqual([]);
    release();
    expect(work.retry()).toBe(true);
    expect(a.documents('c', 'MessageRejected').map((d) => d.body.topic)).toEqual(['t0', 't1']);
    expect(a.campaign('c')!.snapshot).toEqual({ n: 2 });
    expect(lines[1]).toMatch(/^the ledger is writable again/);
    // Nothing waits: new work is done at once.
    work.run('rejected:2', rejected(a, 't2'));
    expect(a.documents('c', 'MessageRejected')).toHaveLength(3);
    // An error that is not a lock is not swallowed; one to drop (the lease guard's) ends its work.
    expect(() => work.run('x', () => { throw new Error('disk full'); })).toThrow('disk full');
    const lost = new Error('lease lost');
    const dropping = new LockedLedgerWork(() => {}, (e) => e === lost);
    dropping.run('y', () => { throw lost; });
    expect(dropping.retry()).toBe(true);
    a.close();
    b.close();
  });

  it('at shutdown waiting work is tried once more; what the lock still refuses is logged by kind, not dropped silently (review of 0e10d79, issue #7)', () => {
    const { a, b, hold, release } = open();
    const lines: string[] = [];
    const work = new LockedLedgerWork((l) => lines.push(l));
    hold();
    work.run('MessageRejected:0', rejected(a, 't0'));
    work.run('MessageRejected:1', rejected(a, 't1'));
    work.run('campaign state', () => a.saveSnapshot('c', { n: 1 }));
    expect(Object.fromEntries(work.pending())).toEqual({ MessageRejected: 2, 'campaign state': 1 });
    expect(() => work.close()).not.toThrow();
    expect(lines.at(-1)).toMatch(/^shutdown: not written to the ledger \(locked by another process since .*\): 2 MessageRejected, 1 campaign state$/);
    release();
    // A lock let go by then: the last try writes it all, and nothing is said to be lost.
    const later = new LockedLedgerWork((l) => lines.push(l));
    hold();
    later.run('MessageRejected:2', rejected(a, 't2'));
    release();
    const before = lines.length;
    later.close();
    expect(a.documents('c', 'MessageRejected').map((d) => d.body.topic)).toEqual(['t2']);
    expect(later.pending().size).toBe(0);
    expect(lines.slice(before).some((l) => /not written/.test(l))).toBe(false);
    a.close();
    b.close();
  });

  it('work that comes after close is tried once; what the lock refuses is logged, not queued for a poll that no longer runs (review of 80dedbb)', () => {
    const { a, b, hold, release } = open();
    const lines: string[] = [];
    const work = new LockedLedgerWork((l) => lines.push(l));
    work.close();
    hold();
    expect(() => work.run('MessageRejected:0', rejected(a, 't0'))).not.toThrow();
    expect(lines.at(-1)).toMatch(/^shutdown: not written to the ledger \(locked by another process: .*\): 1 MessageRejected$/);
    expect(work.pending().size).toBe(0);
    release();
    work.run('MessageRejected:1', rejected(a, 't1'));
    expect(a.documents('c', 'MessageRejected').map((d) => d.body.topic)).toEqual(['t1']);
    a.close();
    b.close();
  });

  it('the last try of waiting work at shutdown runs while the lease guard still refuses writes (issue #14, review of 80dedbb)', () => {
    const { a, b, hold, release } = open();
    const lost = new Error('lease lost');
    let taken = false;
    const work = new LockedLedgerWork(() => {}, (e) => e === lost);
    hold();
    work.run('MessageRejected:0', rejected(a, 't0'));
    release();
    // Another process takes the campaign over before the shutdown.
    const unguard = a.guardWrites('c', () => {
      if (taken) throw lost;
    });
    taken = true;
    closeUnderGuard(work, unguard)();
    expect(a.documents('c', 'MessageRejected')).toEqual([]);
    expect(work.pending().size).toBe(0);
    // Then the guard is gone.
    rejected(a, 't1')();
    expect(a.documents('c', 'MessageRejected').map((d) => d.body.topic)).toEqual(['t1']);
    a.close();
    b.close();
  });

  it('every closer of a shutdown runs while the lease guard still refuses writes; the guard goes last (closing note of the fifth session)', async () => {
    const { a, b } = open();
    const lost = new Error('lease lost');
    let taken = false;
    const work = new LockedLedgerWork(() => {}, (e) => e === lost);
    const unguard = a.guardWrites('c', () => {
      if (taken) throw lost;
    });
    taken = true;
    const logged: string[] = [];
    // A closer registered before the guard (the dispatcher's stop, the embedded lab's) that
    // records a late rig event, and one that fails asynchronously: both logged, neither recorded.
    await shutDown([rejected(a, 'late'), async () => Promise.reject(new Error('broker gone'))], (l) => logged.push(l), closeUnderGuard(work, unguard));
    expect(a.documents('c', 'MessageRejected')).toEqual([]);
    expect(logged).toEqual(['shutdown: broker gone', 'shutdown: lease lost']);
    // Then the guard is gone.
    rejected(a, 't1')();
    expect(a.documents('c', 'MessageRejected').map((d) => d.body.topic)).toEqual(['t1']);
    a.close();
    b.close();
  });

  it('a lease renewal the lock refuses is tried again; after half the lease\'s life it says the campaign must stop', () => {
    const { a, b, hold, release } = open();
    let t = 1_000_000;
    const lease = CampaignLease.acquire(a, 'c');
    const renewal = new LeaseRenewal(lease, () => t);
    expect(renewal.due()).toBe(false);
    t += LEASE_RENEW_MS;
    expect(renewal.due()).toBe(true);
    hold();
    const r = renewal.renew();
    expect(r).toMatchObject({ expiring: false, locked: { code: expect.stringMatching(/^SQLITE_BUSY/) } });
    expect(renewal.due()).toBe(true); // not renewed: tried at the next tick
    t += LEASE_TTL_MS / 2 - LEASE_RENEW_MS;
    expect(renewal.renew()).toMatchObject({ expiring: true });
    release();
    expect(renewal.renew()).toBe('held');
    expect(renewal.due()).toBe(false);
    b.db.prepare('DELETE FROM leases').run(); // another process took the campaign over
    expect(renewal.renew()).toBe('lost');
    a.close();
    b.close();
  });
});
