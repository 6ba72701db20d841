import { hostname } from 'node:os';
import { BadInputError } from '../core/errors.js';
import type { Ledger } from './ledger.js';

/**
 * One writer per campaign (issue #14): `resume` of a campaign whose process still ran made two
 * orchestrators share one MQTT client id (287 session takeovers), hung the first and lost 4
 * real results. The process that runs a campaign holds a lease in the ledger file — owner pid,
 * host and start time — renews it while it runs and releases it when it ends. A second
 * process is refused (exit 2) while the lease is live; a lease is taken over when it has
 * expired (its owner stopped renewing: killed, frozen, or on a host that lost the file), or at
 * once when its owner is on this host and no longer exists.
 *
 * The lease is coordination state, not history: it lives in a table of its own (`leases`),
 * outside the append-only documents, and a process that finds it gone or taken while renewing
 * stops its campaign rather than write beside another.
 */

/** A lease not renewed for this long is stale. */
export const LEASE_TTL_MS = 30_000;
/** How often the holder renews (a sixth of the TTL: five missed renewals before it expires). */
export const LEASE_RENEW_MS = 5_000;

export interface LeaseOwner {
  pid: number;
  host: string;
  /** ISO time the owner took the lease. */
  startedAt: string;
}

export interface LeaseOptions {
  ttlMs?: number;
  /** Wall-clock ms (the lease is shared between processes: never a test's fake clock by default). */
  now?: () => number;
  pid?: number;
  host?: string;
  /** Whether a process of this host exists (default: signal 0). */
  isAlive?: (pid: number) => boolean;
}

const DDL = `CREATE TABLE IF NOT EXISTS leases (
  campaign_id TEXT PRIMARY KEY,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  started_at TEXT NOT NULL,
  expires_at INTEGER NOT NULL
)`;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LeaseRow {
  pid: number;
  host: string;
  started_at: string;
  expires_at: number;
}

export class CampaignLease {
  private released = false;

  private constructor(
    private readonly ledger: Ledger,
    readonly campaignId: string,
    readonly owner: LeaseOwner,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /** Takes the campaign's lease, or throws a BadInputError naming the process that holds it. */
  static acquire(ledger: Ledger, campaignId: string, options: LeaseOptions = {}): CampaignLease {
    const now = options.now ?? Date.now;
    const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    const me = { pid: options.pid ?? process.pid, host: options.host ?? hostname() };
    const alive = options.isAlive ?? processAlive;
    const db = ledger.db;
    db.exec(DDL);
    // IMMEDIATE (Ledger.transaction): two processes starting together cannot both read "free" and both write.
    return ledger.transaction(() => {
      const t = now();
      const held = db.prepare('SELECT pid, host, started_at, expires_at FROM leases WHERE campaign_id = ?').get(campaignId) as LeaseRow | undefined;
      if (held && !(held.pid === me.pid && held.host === me.host)) {
        const expired = held.expires_at <= t;
        const deadHere = held.host === me.host && !alive(held.pid);
        if (!expired && !deadHere) {
          throw new BadInputError(
            `campaign ${campaignId} is being run by process ${held.pid} on ${held.host} (since ${held.started_at}); ` +
              `one process runs a campaign at a time: stop it with "poreloop stop ${campaignId}", or wait for it to end` +
              (held.host === me.host ? '' : ` (a lease held from another host expires in ${Math.ceil((held.expires_at - t) / 1000)} s unless its owner renews it)`),
            'campaignId',
          );
        }
      }
      const owner: LeaseOwner = { ...me, startedAt: new Date(t).toISOString() };
      db.prepare('INSERT OR REPLACE INTO leases (campaign_id, pid, host, started_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(campaignId, owner.pid, owner.host, owner.startedAt, t + ttlMs);
      return new CampaignLease(ledger, campaignId, owner, ttlMs, now);
    });
  }

  /** Extends the lease; false when another process has taken it (the caller must stop). */
  renew(): boolean {
    if (this.released) return false;
    const r = this.ledger.db
      .prepare('UPDATE leases SET expires_at = ? WHERE campaign_id = ? AND pid = ? AND host = ? AND started_at = ?')
      .run(this.now() + this.ttlMs, this.campaignId, this.owner.pid, this.owner.host, this.owner.startedAt);
    return r.changes === 1;
  }

  /** Whether this process still holds the lease (read in the caller's transaction: no race with a takeover). */
  holds(): boolean {
    if (this.released) return false;
    return !!this.ledger.db
      .prepare('SELECT 1 FROM leases WHERE campaign_id = ? AND pid = ? AND host = ? AND started_at = ?')
      .get(this.campaignId, this.owner.pid, this.owner.host, this.owner.startedAt);
  }

  /** Gives the lease up (only if still ours). */
  release(): void {
    if (this.released || !this.ledger.db.open) return;
    this.released = true;
    this.ledger.db
      .prepare('DELETE FROM leases WHERE campaign_id = ? AND pid = ? AND host = ? AND started_at = ?')
      .run(this.campaignId, this.owner.pid, this.owner.host, this.owner.startedAt);
  }

  /**
   * The holder when a live process runs the campaign: an unexpired lease whose process, when it
   * is on this host, still exists (the test `acquire` makes). `poreloop resume` of a paused
   * campaign and the dashboard's commands need a process to act on them (issue #18).
   */
  static liveHolder(ledger: Ledger, campaignId: string, options: Pick<LeaseOptions, 'now' | 'host' | 'isAlive'> = {}): (LeaseOwner & { expiresAt: number }) | null {
    const h = CampaignLease.holder(ledger, campaignId);
    if (!h || h.expiresAt <= (options.now ?? Date.now)()) return null;
    if (h.host === (options.host ?? hostname()) && !(options.isAlive ?? processAlive)(h.pid)) return null;
    return h;
  }

  /** Who holds the campaign's lease now, if anyone (for `status` and `doctor`). */
  static holder(ledger: Ledger, campaignId: string): (LeaseOwner & { expiresAt: number }) | null {
    const exists = ledger.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leases'").get();
    if (!exists) return null;
    const r = ledger.db.prepare('SELECT pid, host, started_at, expires_at FROM leases WHERE campaign_id = ?').get(campaignId) as LeaseRow | undefined;
    return r ? { pid: r.pid, host: r.host, startedAt: r.started_at, expiresAt: r.expires_at } : null;
  }
}
