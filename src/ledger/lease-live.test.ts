import { describe, expect, it } from 'vitest';
import { CampaignLease } from './lease.js';
import { Ledger } from './ledger.js';

describe('CampaignLease.liveHolder (issue #18: commands need a process to act on them)', () => {
  it('is the holder only while its lease is unexpired and, on this host, its process exists', () => {
    const l = Ledger.open(':memory:');
    let now = 1_000_000;
    CampaignLease.acquire(l, 'c', { now: () => now, pid: 4242, host: 'here', ttlMs: 30_000 });
    const alive = new Set([4242]);
    const live = () => CampaignLease.liveHolder(l, 'c', { now: () => now, host: 'here', isAlive: (pid) => alive.has(pid) });
    expect(live()).toMatchObject({ pid: 4242, host: 'here' });
    // Killed (SIGKILL leaves its lease behind): not live, though the lease has not expired.
    alive.clear();
    expect(live()).toBeNull();
    // On another host only the expiry tells.
    const there = (t: number) => CampaignLease.liveHolder(l, 'c', { now: () => t, host: 'elsewhere', isAlive: () => false });
    expect(there(now + 1000)).toMatchObject({ pid: 4242 });
    expect(there(now + 30_000)).toBeNull();
    expect(CampaignLease.liveHolder(l, 'none')).toBeNull();
    l.close();
  });
});
