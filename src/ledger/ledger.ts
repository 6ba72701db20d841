import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BadInputError, LedgerError, TrialLifecycleError } from '../core/errors.js';
import { TRIAL_TRANSITIONS, type TrialStatus } from '../core/protocols.js';
import type { CampaignStatus, DocumentBodies, DocumentType, LedgerDocument } from './documents.js';
import { documentProblem } from './schema.js';

/**
 * The campaign ledger: one SQLite file (better-sqlite3, WAL), append-only documents plus the
 * derived tables the CLI reads (campaigns, trials, jobs, measurements, models). Every append
 * and its projection run in one transaction, so the derived tables never disagree with the
 * documents, and a crash leaves either both or neither. Triggers make `documents` append-only.
 * A body is validated against its type's schema (schema.ts) before anything is written, and a
 * trial's status changes only along TRIAL_TRANSITIONS (`moveTrial`, issue #15). The runtime
 * reads through the indexed queries of view.ts.
 */

const SCHEMA_VERSION = 1;

/** How often a write transaction tries to begin, each waiting busy_timeout for the write lock. */
export const BEGIN_ATTEMPTS = 3;
const BUSY_TIMEOUT_MS = 5000;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_SNAPSHOT, …): another connection holds the file. */
export const isBusy = (e: unknown): boolean => /^SQLITE_BUSY/.test(String((e as { code?: unknown } | null)?.code ?? ''));

/** A write that could not begin: another process held the ledger's write lock all the while. */
export class LedgerBusyError extends LedgerError {
  constructor(path: string, attempts: number, cause: unknown) {
    super(`ledger ${path}: another process held its write lock through ${attempts} tries to write, each waiting up to ${BUSY_TIMEOUT_MS / 1000} s; is a process holding a long transaction on it?`, { cause });
  }
}

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id TEXT NOT NULL,
  type TEXT NOT NULL,
  key TEXT,
  at TEXT NOT NULL,
  body TEXT NOT NULL CHECK (json_valid(body)),
  UNIQUE (campaign_id, type, key)
);
CREATE INDEX IF NOT EXISTS documents_by_campaign ON documents (campaign_id, type);
CREATE TRIGGER IF NOT EXISTS documents_append_only_u BEFORE UPDATE ON documents
  BEGIN SELECT RAISE(ABORT, 'ledger documents are append-only'); END;
CREATE TRIGGER IF NOT EXISTS documents_append_only_d BEFORE DELETE ON documents
  BEGIN SELECT RAISE(ABORT, 'ledger documents are append-only'); END;

CREATE TABLE IF NOT EXISTS campaigns (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  config TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  seed INTEGER NOT NULL,
  source TEXT NOT NULL,
  versions TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  rounds INTEGER NOT NULL DEFAULT 0,
  rig_runs INTEGER NOT NULL DEFAULT 0,
  stop_reason TEXT,
  snapshot TEXT
);
CREATE TABLE IF NOT EXISTS trials (
  id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  agent TEXT NOT NULL,
  prediction TEXT,
  achieved TEXT,
  fidelity TEXT,
  predicted_reward REAL,
  measured TEXT,
  measured_reward REAL,
  feasible INTEGER,
  selected_rank INTEGER,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS trials_by_campaign ON trials (campaign_id, round, idx);
CREATE INDEX IF NOT EXISTS trials_by_reward ON trials (campaign_id, status, measured_reward);
CREATE INDEX IF NOT EXISTS trials_selected ON trials (campaign_id, round) WHERE selected_rank IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  trial_id TEXT NOT NULL,
  stage INTEGER NOT NULL,
  capability TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  rig_id TEXT,
  deadline TEXT NOT NULL,
  dispatched_at TEXT NOT NULL,
  finished_at TEXT,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_trial ON jobs (campaign_id, trial_id, stage);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (campaign_id, status);
CREATE TABLE IF NOT EXISTS measurements (
  job_id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  trial_id TEXT NOT NULL,
  stage INTEGER NOT NULL,
  capability TEXT NOT NULL,
  rig_id TEXT NOT NULL,
  measurements TEXT NOT NULL,
  feasible INTEGER NOT NULL,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS measurements_by_trial ON measurements (campaign_id, trial_id, stage);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  campaign_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  version INTEGER NOT NULL,
  path TEXT,
  data_hash TEXT NOT NULL,
  samples INTEGER NOT NULL,
  metrics TEXT,
  at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  seq INTEGER PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  command TEXT NOT NULL,
  args TEXT,
  at TEXT NOT NULL,
  consumed INTEGER NOT NULL DEFAULT 0
);
`;

export interface CampaignRow {
  id: string;
  name: string;
  status: CampaignStatus;
  config: unknown;
  configHash: string;
  seed: number;
  source: string;
  versions: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  rounds: number;
  rigRuns: number;
  stopReason: string | null;
  snapshot: unknown;
}

/** A campaign that has ended for good: resuming it gives only its summary (completed or failed; a stopped one continues). */
export const campaignFinished = (row: CampaignRow): boolean => row.status === 'completed' || row.status === 'failed';

export interface TrialRow {
  id: string;
  campaignId: string;
  round: number;
  index: number;
  params: Record<string, number | string>;
  status: string;
  agent: string;
  prediction: Record<string, { mean: number; std: number }> | null;
  achieved: Record<string, number> | null;
  fidelity: string | null;
  predictedReward: number | null;
  measured: Record<string, number> | null;
  measuredReward: number | null;
  feasible: boolean | null;
  selectedRank: number | null;
}

export interface JobRow {
  jobId: string;
  campaignId: string;
  trialId: string;
  stage: number;
  capability: string;
  attempt: number;
  status: 'dispatched' | 'accepted' | 'running' | 'completed' | 'failed' | 'cancelled';
  rigId: string | null;
  deadline: string;
  dispatchedAt: string;
  finishedAt: string | null;
  reason: string | null;
}

export interface LedgerOptions {
  readonly?: boolean;
  /**
   * Refuse a missing file instead of creating one (implied by `readonly`). The CLI's operator
   * commands write (pause, stop, approve, …) but only into a ledger a campaign made: a typo in
   * --db must not leave an empty ledger behind and answer "no campaign".
   */
  mustExist?: boolean;
  /** Injected clock for document timestamps (tests). */
  now?: () => Date;
}

/** A `documents` table row as stored. */
export interface DocumentRecord {
  seq: number;
  campaign_id: string;
  type: string;
  key: string | null;
  at: string;
  body: string;
}

/** A `documents` row as a LedgerDocument (the one place the row is parsed). */
export function documentRow<T extends DocumentType>(r: DocumentRecord): LedgerDocument<T> {
  const body = JSON.parse(r.body) as DocumentBodies[T];
  const scored = r.type === 'TrialScored' || r.type === 'TrialRescored';
  return { seq: r.seq, campaignId: r.campaign_id, type: r.type as T, key: r.key, at: r.at, body: scored ? (withInfiniteMeans(body as DocumentBodies['TrialScored']) as DocumentBodies[T]) : body };
}

type Scored = DocumentBodies['TrialScored'];
type Estimates = Scored['properties'];

/**
 * A (re)scoring as recorded, its ±∞ property means restored: JSON stores them as null, like an
 * unknown (NaN) mean, and `infinite` names which were ±∞ (an anode that does not percolate has
 * an infinite loss: computable and terrible). Restored here, where every document and trial row
 * is read, so the runtime, export, status and the report all see ∞ and not "unknown" (diff
 * review 2026-12-07, item 5: only the runtime restored them). A body without `infinite` (every
 * ledger written before it) is returned as it is.
 */
export function withInfiniteMeans(body: Scored): Scored {
  const inf = body.infinite;
  if (!inf) return body;
  const restore = (ps: Estimates): Estimates =>
    Object.fromEntries(Object.entries(ps).map(([k, e]) => [k, (typeof e.mean !== 'number' || !Number.isFinite(e.mean)) && inf[k] ? { ...e, mean: Number(inf[k]) } : e]));
  return { ...body, properties: restore(body.properties), ...(body.raw ? { raw: restore(body.raw) } : {}) };
}

/**
 * The trials table's `prediction`: the estimates as JSON, a ±∞ mean that `infinite` names kept
 * as the string 'Infinity' or '-Infinity' (read back by `trialRow`); any other non-finite mean
 * is null, as JSON.stringify of the document made it, so the row stays a function of the
 * document as stored.
 */
function predictionJson(body: Scored): string {
  const inf = body.infinite ?? {};
  return JSON.stringify(
    Object.fromEntries(Object.entries(body.properties).map(([k, e]) => [k, typeof e.mean === 'number' && Number.isFinite(e.mean) ? e : { ...e, mean: inf[k] ?? null }])),
  );
}

/** Reads `prediction` back: the strings 'Infinity'/'-Infinity' of a mean are ±∞ (predictionJson). */
const reviveMean = (key: string, v: unknown): unknown => (key === 'mean' && (v === 'Infinity' || v === '-Infinity') ? Number(v) : v);

export class Ledger {
  readonly db: Database.Database;
  private readonly now: () => Date;
  private readonly insertDoc: Database.Statement;
  private readonly writeGuards = new Map<string, () => void>();
  /** Inside read(): writes are refused. */
  private reading = false;

  private constructor(readonly path: string, db: Database.Database, options: LedgerOptions) {
    this.db = db;
    this.now = options.now ?? (() => new Date());
    this.insertDoc = db.prepare('INSERT OR IGNORE INTO documents (campaign_id, type, key, at, body) VALUES (?, ?, ?, ?, ?)');
  }

  /**
   * Opens (or creates) a ledger. Runs `PRAGMA quick_check` on an existing file and refuses a
   * corrupt one with a message saying what to do (issue #8): the engine never writes into a
   * damaged record.
   */
  static open(path: string, options: LedgerOptions = {}): Ledger {
    const existed = path !== ':memory:' && existsSync(path);
    const mustExist = options.readonly === true || options.mustExist === true;
    if (mustExist && !existed) throw new LedgerError(`no ledger at ${path}; run a campaign first or pass --db <file>`);
    // A new ledger in a folder that is not there is the caller's path to fix (exit 2), not a
    // ledger fault (review of the CLI, 2026-12-07: `run --db /nonexist/dir/x.db` exited 1).
    const folder = dirname(resolve(path));
    if (!existed && path !== ':memory:' && !(existsSync(folder) && statSync(folder).isDirectory())) {
      throw new BadInputError(`cannot create ledger ${path}: the folder ${folder} does not exist; create it, or name another file with --db`);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: mustExist });
      if (existed) {
        const rows = db.pragma('quick_check') as Array<{ quick_check: string }>;
        if (rows.length !== 1 || rows[0].quick_check !== 'ok') {
          db.close();
          const what = rows.map((r) => r.quick_check.replace(/\s*\n\s*/g, ' ')).slice(0, 3).join('; ');
          throw new LedgerError(`ledger ${path} failed its integrity check (${what}); restore it from a backup or start a new --db file`);
        }
      }
    } catch (e) {
      if (e instanceof LedgerError) throw e;
      // A path SQLite cannot open (a folder, no permission) is the caller's to fix too.
      if ((e as { code?: unknown }).code === 'SQLITE_CANTOPEN') throw new BadInputError(`cannot open ledger ${path}: ${(e as Error).message}; name a file you may write, in a folder you may write (--db)`, undefined, { cause: e });
      throw new LedgerError(`cannot open ledger ${path}: ${(e as Error).message} (is it a poreloop SQLite file?)`, { cause: e });
    }
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // FULL: a committed transaction survives power loss, not just a process crash (issue #8).
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // One transaction: a reader never sees half a schema. IMMEDIATE, as every write (transaction()):
      // it reads the version before it writes it, while other processes may write the file.
      const v = db
        .transaction(() => {
          db.exec(DDL);
          const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
          if (!row) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
          return row;
        })
        .immediate();
      if (v && Number(v.value) > SCHEMA_VERSION) {
        db.close();
        throw new LedgerError(`ledger ${path} has schema version ${v.value}, newer than this poreloop understands (${SCHEMA_VERSION}); upgrade poreloop`);
      }
    } else {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      const hasDocs = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'documents'").get();
      if (!hasDocs) {
        db.close();
        throw new LedgerError(`${path} is not a poreloop ledger (no documents table)`);
      }
    }
    return new Ledger(path, db, options);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * A check run inside every write of this campaign's documents and snapshot, in the write's own
   * transaction; it throws to refuse the write. The process that runs a campaign guards with its
   * lease, so that once another process has taken the campaign over nothing more is written by
   * this one — not even a rig event that arrives before the next renewal notices (issue #14).
   * Returns the function that removes the guard.
   */
  guardWrites(campaignId: string, check: () => void): () => void {
    this.writeGuards.set(campaignId, check);
    return () => {
      if (this.writeGuards.get(campaignId) === check) this.writeGuards.delete(campaignId);
    };
  }

  /**
   * Whether the campaign's write guard refuses writes now (a process that lost its lease): a
   * failed write is then the guard's doing, for the guard's owner to handle, not a ledger fault.
   */
  refusesWrites(campaignId: string): boolean {
    try {
      this.writeGuards.get(campaignId)?.();
      return false;
    } catch {
      return true;
    }
  }

  /**
   * Runs `fn` in one write transaction (nested calls join the outer one). It begins IMMEDIATE,
   * taking the file's write lock before `fn` reads anything. Several processes write one ledger
   * (campaigns under their own leases, `stop`, `approve`, `serve`), and a deferred transaction
   * that read first — the lease guard of every append — then wrote after another process had
   * committed failed at once with SQLITE_BUSY_SNAPSHOT, busy_timeout notwithstanding: rig results
   * were dropped and campaigns hung or crashed (review of two campaigns on one ledger,
   * 2026-12-07). BEGIN IMMEDIATE waits busy_timeout for the lock instead; a BEGIN still refused
   * after that is tried again (BEGIN_ATTEMPTS in all) — `fn` has not run then, so nothing is
   * repeated — and then fails with a LedgerBusyError that says so.
   */
  transaction<T>(fn: () => T): T {
    if (this.reading) throw new LedgerError('a ledger write inside a read(): writes need a transaction of their own (Ledger.transaction)');
    if (this.db.inTransaction) return this.db.transaction(fn).immediate();
    for (let attempt = 1; ; attempt++) {
      let began = false;
      try {
        return this.db
          .transaction(() => {
            began = true;
            return fn();
          })
          .immediate();
      } catch (e) {
        if (began || !isBusy(e)) throw e;
        if (attempt >= BEGIN_ATTEMPTS) throw new LedgerBusyError(this.path, attempt, e);
      }
    }
  }

  /**
   * Runs `fn`, which only reads, in one deferred transaction: one consistent snapshot of the
   * ledger that does not lock other writers out (view.ts refreshes its copy with it). A write
   * inside it is refused: it would upgrade a snapshot another process may have made stale.
   */
  read<T>(fn: () => T): T {
    if (this.reading || this.db.inTransaction) return fn();
    this.reading = true;
    try {
      return this.db.transaction(fn).deferred();
    } finally {
      this.reading = false;
    }
  }

  /**
   * Appends a document and applies its projection, atomically. Returns the document, or null
   * when a document of the same (campaign, type, key) already exists (idempotent re-delivery).
   */
  append<T extends DocumentType>(campaignId: string, type: T, body: DocumentBodies[T], key?: string): LedgerDocument<T> | null {
    // Validated before anything is written (schema.ts): a malformed document never enters.
    const problem = documentProblem(type, body);
    if (problem !== null) throw new LedgerError(`refused ${type} document for campaign ${campaignId}: ${problem}`);
    return this.transaction(() => {
      this.writeGuards.get(campaignId)?.();
      const at = this.now().toISOString();
      const info = this.insertDoc.run(campaignId, type, key ?? null, at, JSON.stringify(body));
      if (info.changes === 0) return null;
      const doc: LedgerDocument<T> = { seq: Number(info.lastInsertRowid), campaignId, type, key: key ?? null, at, body };
      project(this.db, doc);
      return doc;
    });
  }

  documents<T extends DocumentType>(campaignId: string, type?: T): LedgerDocument<T>[] {
    const rows = (
      type
        ? this.db.prepare('SELECT * FROM documents WHERE campaign_id = ? AND type = ? ORDER BY seq').all(campaignId, type)
        : this.db.prepare('SELECT * FROM documents WHERE campaign_id = ? ORDER BY seq').all(campaignId)
    ) as DocumentRecord[];
    return rows.map((r) => documentRow<T>(r));
  }

  hasDocument(campaignId: string, type: DocumentType, key: string): boolean {
    return !!this.db.prepare('SELECT 1 FROM documents WHERE campaign_id = ? AND type = ? AND key = ?').get(campaignId, type, key);
  }

  campaign(id: string): CampaignRow | undefined {
    const r = this.db.prepare('SELECT * FROM campaigns WHERE id = ?').get(id) as Record<string, any> | undefined;
    return r ? campaignRow(r) : undefined;
  }

  /** Finds a campaign by full id or unique prefix (as `git` does for commits). */
  findCampaign(idOrPrefix: string): CampaignRow | undefined {
    const rows = this.campaignMatches(idOrPrefix);
    return rows.length === 1 ? rows[0] : undefined;
  }

  /**
   * The campaign with this id, else every campaign whose id starts with it, compared character
   * for character — not by LIKE, where `%` and `_` are wildcards and ASCII case is ignored
   * (`poreloop stop %` acted on the one campaign of a ledger; review of requireCampaign, 2026-12-07).
   */
  private campaignMatches(idOrPrefix: string): CampaignRow[] {
    const exact = this.campaign(idOrPrefix);
    if (exact) return [exact];
    const rows = this.db.prepare('SELECT * FROM campaigns WHERE substr(id, 1, length(@p)) = @p ORDER BY created_at').all({ p: idOrPrefix }) as Record<string, any>[];
    return rows.map(campaignRow);
  }

  /**
   * findCampaign for a command: the one campaign, or bad input that says what was wrong — no
   * campaign with that id or prefix, or a prefix several campaigns share (which findCampaign
   * cannot tell from none). One message for the CLI and the API, so that they cannot drift apart
   * (review of the CLI commands, 2026-12-07). `db` names the ledger in the message.
   */
  requireCampaign(idOrPrefix: string, db: string): CampaignRow {
    const rows = this.campaignMatches(idOrPrefix);
    if (rows.length === 1) return rows[0];
    const ids = rows.map((r) => r.id);
    if (ids.length > 1) {
      throw new BadInputError(`"${idOrPrefix}" is the start of ${ids.length} campaigns in ${db} (${ids.join(', ')}): give more of the id`, 'campaignId');
    }
    throw new BadInputError(`no campaign "${idOrPrefix}" in ${db}; see "poreloop status --db ${db}"`, 'campaignId');
  }

  campaigns(): CampaignRow[] {
    return (this.db.prepare('SELECT * FROM campaigns ORDER BY created_at').all() as Record<string, any>[]).map(campaignRow);
  }

  trials(campaignId: string): TrialRow[] {
    return (this.db.prepare('SELECT * FROM trials WHERE campaign_id = ? ORDER BY round, idx').all(campaignId) as Record<string, any>[]).map(trialRow);
  }

  jobs(campaignId: string): JobRow[] {
    return (this.db.prepare('SELECT * FROM jobs WHERE campaign_id = ? ORDER BY dispatched_at, job_id').all(campaignId) as Record<string, any>[]).map(jobRow);
  }

  measurements(campaignId: string): Array<{ jobId: string; trialId: string; stage: number; capability: string; rigId: string; measurements: Record<string, number>; feasible: boolean; at: string }> {
    return (this.db.prepare('SELECT * FROM measurements WHERE campaign_id = ? ORDER BY at, job_id').all(campaignId) as Record<string, any>[]).map((r) => ({
      jobId: r.job_id,
      trialId: r.trial_id,
      stage: r.stage,
      capability: r.capability,
      rigId: r.rig_id,
      measurements: JSON.parse(r.measurements),
      feasible: !!r.feasible,
      at: r.at,
    }));
  }

  models(campaignId: string): Array<{ kind: string; version: number; path: string | null; dataHash: string; samples: number; metrics: unknown; at: string }> {
    return (this.db.prepare('SELECT * FROM models WHERE campaign_id = ? ORDER BY id').all(campaignId) as Record<string, any>[]).map((r) => ({
      kind: r.kind,
      version: r.version,
      path: r.path,
      dataHash: r.data_hash,
      samples: r.samples,
      metrics: r.metrics ? JSON.parse(r.metrics) : null,
      at: r.at,
    }));
  }

  /** The machine snapshot is derived state (resume point), kept beside the documents. */
  saveSnapshot(campaignId: string, snapshot: unknown): void {
    // The guard in the write's own transaction, as append's: no takeover between check and write.
    this.transaction(() => {
      this.writeGuards.get(campaignId)?.();
      this.db.prepare('UPDATE campaigns SET snapshot = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(snapshot), this.now().toISOString(), campaignId);
    });
  }

  /** Operator commands (stop, pause, approve…) written by another process; consumed once. */
  pendingCommands(campaignId: string): Array<{ seq: number; command: string; args: Record<string, unknown> | null }> {
    return (this.db.prepare('SELECT seq, command, args FROM commands WHERE campaign_id = ? AND consumed = 0 ORDER BY seq').all(campaignId) as Array<{ seq: number; command: string; args: string | null }>).map((r) => ({
      seq: r.seq,
      command: r.command,
      args: r.args ? JSON.parse(r.args) : null,
    }));
  }

  consumeCommand(seq: number): void {
    this.transaction(() => this.db.prepare('UPDATE commands SET consumed = 1 WHERE seq = ?').run(seq));
  }

  /** Integrity summary used by `doctor` and at start: SQLite check + document/derived counts. */
  integrity(): { ok: boolean; sqlite: string; documents: number; campaigns: number; problems: string[] } {
    const check = (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    const problems: string[] = check[0] === 'ok' ? [] : check.slice(0, 5);
    const documents = (this.db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
    const campaigns = (this.db.prepare('SELECT count(*) AS n FROM campaigns').get() as { n: number }).n;
    const started = (this.db.prepare("SELECT count(*) AS n FROM documents WHERE type = 'CampaignStarted'").get() as { n: number }).n;
    if (started !== campaigns) problems.push(`${started} CampaignStarted documents but ${campaigns} campaign rows`);
    // A trial row comes from a TrialProposed document or, for a warm-start import, an ObservationImported one (issue #19).
    const proposed = (this.db.prepare("SELECT count(*) AS n FROM documents WHERE type IN ('TrialProposed', 'ObservationImported')").get() as { n: number }).n;
    const trials = (this.db.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n;
    if (proposed !== trials) problems.push(`${proposed} TrialProposed and ObservationImported documents but ${trials} trial rows`);
    const recorded = (this.db.prepare("SELECT count(*) AS n FROM documents WHERE type = 'MeasurementRecorded'").get() as { n: number }).n;
    const meas = (this.db.prepare('SELECT count(*) AS n FROM measurements').get() as { n: number }).n;
    if (recorded !== meas) problems.push(`${recorded} MeasurementRecorded documents but ${meas} measurement rows`);
    return { ok: problems.length === 0, sqlite: check[0], documents, campaigns, problems };
  }
}

/**
 * Writes an operator command for a running campaign (from another process: `poreloop stop`).
 * `approve` and `reject` must carry `args.round`, the round of the batch waiting at the gate:
 * the campaign ignores (and records as CommandIgnored) a decision for any other round or none.
 */
export function issueCommand(ledger: Ledger, campaignId: string, command: string, args?: Record<string, unknown>): void {
  ledger.transaction(() => {
    ledger.db.prepare('INSERT INTO commands (campaign_id, command, args, at) VALUES (?, ?, ?, ?)').run(campaignId, command, args ? JSON.stringify(args) : null, new Date().toISOString());
    ledger.append(campaignId, 'CommandIssued', { command: command as DocumentBodies['CommandIssued']['command'], args, by: `pid ${process.pid}` });
  });
}

function campaignRow(r: Record<string, any>): CampaignRow {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    config: JSON.parse(r.config),
    configHash: r.config_hash,
    seed: r.seed,
    source: r.source,
    versions: JSON.parse(r.versions),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    rounds: r.rounds,
    rigRuns: r.rig_runs,
    stopReason: r.stop_reason,
    snapshot: r.snapshot ? JSON.parse(r.snapshot) : null,
  };
}

export function trialRow(r: Record<string, any>): TrialRow {
  const j = (s: string | null) => (s ? JSON.parse(s) : null);
  return {
    id: r.id,
    campaignId: r.campaign_id,
    round: r.round,
    index: r.idx,
    params: JSON.parse(r.params),
    status: r.status,
    agent: r.agent,
    prediction: r.prediction ? JSON.parse(r.prediction, reviveMean) : null,
    achieved: j(r.achieved),
    fidelity: r.fidelity,
    predictedReward: r.predicted_reward,
    measured: j(r.measured),
    measuredReward: r.measured_reward,
    feasible: r.feasible === null ? null : !!r.feasible,
    selectedRank: r.selected_rank,
  };
}

export function jobRow(r: Record<string, any>): JobRow {
  return {
    jobId: r.job_id,
    campaignId: r.campaign_id,
    trialId: r.trial_id,
    stage: r.stage,
    capability: r.capability,
    attempt: r.attempt,
    status: r.status,
    rigId: r.rig_id,
    deadline: r.deadline,
    dispatchedAt: r.dispatched_at,
    finishedAt: r.finished_at,
    reason: r.reason,
  };
}

/** Finite numbers only: JSON has no Infinity/NaN, and a reward of ±∞ must not sort first. */
const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Prepared statements, one per SQL text and connection: preparing costs more than most runs. */
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
export function sql(db: Database.Database, text: string): Database.Statement {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let st = m.get(text);
  if (!st) m.set(text, (st = db.prepare(text)));
  return st;
}

/**
 * Moves a trial to `to`, enforcing the lifecycle of core/protocols.ts (TRIAL_TRANSITIONS):
 * the one place that writes a trial's status. An edge the table lacks throws
 * TrialLifecycleError, which rolls back the append that caused it (issue #15).
 */
function moveTrial(db: Database.Database, doc: LedgerDocument, trialId: string, to: TrialStatus, at: string): void {
  const row = sql(db, 'SELECT status FROM trials WHERE id = ?').get(trialId) as { status: TrialStatus } | undefined;
  if (!row) throw new TrialLifecycleError(trialId, null, to, doc.type);
  const allowed = TRIAL_TRANSITIONS[row.status];
  if (!allowed.includes(to)) throw new TrialLifecycleError(trialId, row.status, to, doc.type, allowed);
  sql(db, 'UPDATE trials SET status = ?, updated_at = ? WHERE id = ?').run(to, at, trialId);
}

/** Applies one document to the derived tables. Must stay a pure function of the documents. */
function project(db: Database.Database, doc: LedgerDocument): void {
  const { campaignId: c, at } = doc;
  switch (doc.type) {
    case 'CampaignStarted': {
      const b = doc.body as DocumentBodies['CampaignStarted'];
      sql(db, 'INSERT INTO campaigns (id, name, status, config, config_hash, seed, source, versions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        c, b.name, 'running', JSON.stringify(b.config), b.configHash, b.seed, b.source, JSON.stringify(b.versions), at, at,
      );
      break;
    }
    case 'CampaignResumed':
      sql(db, "UPDATE campaigns SET status = 'running', stop_reason = NULL, updated_at = ? WHERE id = ?").run(at, c);
      break;
    case 'RoundStarted':
      sql(db, 'UPDATE campaigns SET rounds = max(rounds, ?), updated_at = ? WHERE id = ?').run((doc.body as DocumentBodies['RoundStarted']).round, at, c);
      break;
    case 'TrialProposed': {
      const b = doc.body as DocumentBodies['TrialProposed'];
      sql(db, 'INSERT INTO trials (id, campaign_id, round, idx, params, status, agent, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(b.trialId, c, b.round, b.index, JSON.stringify(b.params), 'proposed', b.agent, at);
      break;
    }
    case 'TrialScored':
    case 'TrialRescored': {
      const b = doc.body as DocumentBodies['TrialScored'];
      // A re-score (an edit at the approval gate, issue #18 review) replaces the prediction; the status stays.
      if (doc.type === 'TrialScored') moveTrial(db, doc, b.trialId, 'scored', at);
      sql(db, 'UPDATE trials SET prediction = ?, achieved = ?, fidelity = ?, predicted_reward = ? WHERE id = ? AND campaign_id = ?').run(
        predictionJson(b), b.achieved ? JSON.stringify(b.achieved) : null, b.fidelity ?? null, num(b.reward), b.trialId, c,
      );
      break;
    }
    case 'TrialSelected': {
      const b = doc.body as DocumentBodies['TrialSelected'];
      moveTrial(db, doc, b.trialId, 'selected', at);
      sql(db, 'UPDATE trials SET selected_rank = ? WHERE id = ?').run(b.rank, b.trialId);
      break;
    }
    case 'JobDispatched': {
      const b = doc.body as DocumentBodies['JobDispatched'];
      sql(db, "INSERT INTO jobs (job_id, campaign_id, trial_id, stage, capability, attempt, status, deadline, dispatched_at) VALUES (?, ?, ?, ?, ?, ?, 'dispatched', ?, ?)").run(
        b.jobId, c, b.trialId, b.stage, b.capability, b.attempt, b.deadline, at,
      );
      // A later pipeline stage is dispatched while the trial is still with the rigs
      // (dispatched/running): its status stays. The first stage is the trial's rig run — what
      // the rig-run budget counts (issue #14: a batch rejected at the approval gate spends none).
      const t = sql(db, 'SELECT status FROM trials WHERE id = ?').get(b.trialId) as { status: TrialStatus } | undefined;
      if (t?.status !== 'dispatched' && t?.status !== 'running') moveTrial(db, doc, b.trialId, 'dispatched', at);
      if (b.stage === 0) sql(db, 'UPDATE campaigns SET rig_runs = rig_runs + 1, updated_at = ? WHERE id = ?').run(at, c);
      break;
    }
    case 'JobSent': {
      // The rig and attempt a resumed process re-sends the job to (runtime.resend).
      const b = doc.body as DocumentBodies['JobSent'];
      sql(db, 'UPDATE jobs SET rig_id = ?, attempt = max(attempt, ?) WHERE job_id = ?').run(b.rigId, b.attempt, b.jobId);
      break;
    }
    case 'RigEventReceived': {
      const b = doc.body as DocumentBodies['RigEventReceived'];
      if ((b.type === 'failed' || b.type === 'rejected' || b.type === 'cancelled') && b.final === false) {
        // One attempt ended and the dispatcher retries: the job carries the next attempt number.
        sql(db, "UPDATE jobs SET attempt = max(attempt, ?), status = 'dispatched' WHERE job_id = ?").run((b.attempt ?? 1) + 1, b.jobId);
      } else if (b.type === 'accepted' || b.type === 'progress') {
        sql(db, "UPDATE jobs SET status = CASE WHEN status IN ('dispatched', 'accepted') THEN ? ELSE status END, rig_id = ? WHERE job_id = ?").run(b.type === 'accepted' ? 'accepted' : 'running', b.rigId, b.jobId);
        const t = sql(db, 'SELECT t.id, t.status FROM trials t JOIN jobs j ON j.trial_id = t.id WHERE j.job_id = ?').get(b.jobId) as { id: string; status: TrialStatus } | undefined;
        if (t?.status === 'dispatched') moveTrial(db, doc, t.id, 'running', at);
      }
      break;
    }
    case 'MeasurementRecorded': {
      const b = doc.body as DocumentBodies['MeasurementRecorded'];
      sql(db, 'INSERT OR IGNORE INTO measurements (job_id, campaign_id, trial_id, stage, capability, rig_id, measurements, feasible, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        b.jobId, c, b.trialId, b.stage, b.capability, b.rigId, JSON.stringify(b.measurements), b.feasible ? 1 : 0, at,
      );
      sql(db, "UPDATE jobs SET status = 'completed', rig_id = ?, finished_at = ? WHERE job_id = ?").run(b.rigId, at, b.jobId);
      break;
    }
    case 'JobFailed': {
      const b = doc.body as DocumentBodies['JobFailed'];
      sql(db, "UPDATE jobs SET status = 'failed', finished_at = ?, reason = ? WHERE job_id = ?").run(at, b.reason, b.jobId);
      // A job that ends after its trial was given up (issue #21: the rig answers the cancel sent
      // when the campaign ended) closes the job only. Moving the trial abandoned → failed was
      // refused, the transaction rolled back with this JobFailed, and the job stayed open, so a
      // resume re-sent it.
      const t = sql(db, 'SELECT status FROM trials WHERE id = ?').get(b.trialId) as { status: TrialStatus } | undefined;
      if (t?.status !== 'abandoned') moveTrial(db, doc, b.trialId, 'failed', at);
      break;
    }
    case 'TrialCompleted': {
      const b = doc.body as DocumentBodies['TrialCompleted'];
      moveTrial(db, doc, b.trialId, 'completed', at);
      sql(db, 'UPDATE trials SET measured = ?, measured_reward = ?, feasible = ? WHERE id = ?').run(JSON.stringify(b.measured), num(b.reward), b.feasible ? 1 : 0, b.trialId);
      // A stage-wise trial's realised settings replace its plan (issue #17), as an approval's edits do.
      if (b.params) sql(db, 'UPDATE trials SET params = ? WHERE id = ?').run(JSON.stringify(b.params), b.trialId);
      break;
    }
    case 'ApprovalGiven': {
      // Parameters an operator edited at the approval gate replace the agent's (issue #18): the
      // rigs make, the agent learns and the export shows the recipe that was made. The agent's
      // proposal stays in its TrialProposed document.
      const b = doc.body as DocumentBodies['ApprovalGiven'];
      for (const [trialId, params] of Object.entries(b.edits ?? {})) sql(db, 'UPDATE trials SET params = ?, updated_at = ? WHERE id = ? AND campaign_id = ?').run(JSON.stringify(params), at, trialId, c);
      break;
    }
    case 'ObservationImported': {
      // A warm-start measurement enters as a trial that is already completed (issue #19).
      const b = doc.body as DocumentBodies['ObservationImported'];
      sql(db, 'INSERT INTO trials (id, campaign_id, round, idx, params, status, agent, measured, measured_reward, feasible, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        b.trialId, c, b.index, JSON.stringify(b.params), 'completed', 'import', JSON.stringify(b.measured), num(b.reward), b.feasible ? 1 : 0, at,
      );
      break;
    }
    case 'TrialAbandoned':
      moveTrial(db, doc, (doc.body as DocumentBodies['TrialAbandoned']).trialId, 'abandoned', at);
      break;
    case 'ModelTrained': {
      const b = doc.body as DocumentBodies['ModelTrained'];
      sql(db, 'INSERT INTO models (campaign_id, kind, version, path, data_hash, samples, metrics, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        c, b.kind, b.version, b.path ?? null, b.dataHash, b.samples, b.metrics ? JSON.stringify(b.metrics) : null, at,
      );
      break;
    }
    case 'CampaignPaused':
      sql(db, "UPDATE campaigns SET status = 'paused', updated_at = ? WHERE id = ? AND status = 'running'").run(at, c);
      break;
    case 'CampaignUnpaused':
      sql(db, "UPDATE campaigns SET status = 'running', updated_at = ? WHERE id = ? AND status = 'paused'").run(at, c);
      break;
    case 'CampaignStopped': {
      const b = doc.body as DocumentBodies['CampaignStopped'];
      sql(db, 'UPDATE campaigns SET status = ?, stop_reason = ?, updated_at = ? WHERE id = ?').run(b.status, b.reason, at, c);
      break;
    }
    default:
      break;
  }
}
