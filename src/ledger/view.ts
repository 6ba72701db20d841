import type { Parameters, TrialStatus } from '../core/protocols.js';
import type { DocumentType, LedgerDocument } from './documents.js';
import { documentRow, jobRow, sql, trialRow, type DocumentRecord, type JobRow, type Ledger, type TrialRow } from './ledger.js';

/**
 * One campaign as the runtime reads it (issue #15): every question the loop asks about one
 * trial, job, round or document is an indexed query (primary keys, `trials_by_campaign`,
 * `trials_by_reward` (campaign, status, reward), `trials_selected`, `jobs_by_trial`, `jobs_by_status`,
 * `measurements_by_trial`, the documents' unique (campaign, type, key)), so its cost does not
 * grow with the number of trials in the ledger. The questions about *all* trials (the agent's
 * history, the points proposed so far) are answered from an in-memory copy that is brought up
 * to date by reading only the documents appended since the last call (by `seq`, including
 * documents written by other processes).
 *
 * It is also the one place where a campaign's fixed twin parameters (`twin.fixed`) are merged
 * into a trial's parameters: `paramsOf`.
 */
/** Whether a job is sent but without an outcome: the statuses CampaignView.openJobs selects. */
export const isOpenJob = (status: JobRow['status']): boolean => status === 'dispatched' || status === 'accepted' || status === 'running';

export class CampaignView {
  /** Every trial in proposal order, and where each sits in it. */
  private readonly list: TrialRow[] = [];
  private readonly at = new Map<string, number>();
  /** Last document seq reflected in `list` (0: not loaded yet). */
  private cursor = 0;

  constructor(
    private readonly ledger: Ledger,
    readonly campaignId: string,
    private readonly fixed: Parameters = {},
  ) {}

  private get db() {
    return this.ledger.db;
  }

  /**
   * The parameters a trial is made with: the agent's choice plus the config's fixed ones. The
   * fixed ones win: they are the config's (twin.fixed, and twin.model as `model`), and a trial
   * must not replace them (issue #19 review: a pool column `model` pointed the gan twin at any
   * folder; the loader now refuses such columns, and this order holds even for a ledger
   * written before that check).
   */
  paramsOf(trial: Pick<TrialRow, 'params'>): Parameters {
    return { ...trial.params, ...this.fixed };
  }

  trial(id: string): TrialRow | undefined {
    const r = sql(this.db, 'SELECT * FROM trials WHERE id = ? AND campaign_id = ?').get(id, this.campaignId) as Record<string, unknown> | undefined;
    return r ? trialRow(r) : undefined;
  }

  /** A round's trials in proposal order. */
  round(n: number): TrialRow[] {
    return (sql(this.db, 'SELECT * FROM trials WHERE campaign_id = ? AND round = ? ORDER BY idx').all(this.campaignId, n) as Record<string, unknown>[]).map(trialRow);
  }

  /** Trials in one lifecycle state, in proposal order. */
  withStatus(status: TrialStatus): TrialRow[] {
    return (sql(this.db, 'SELECT * FROM trials WHERE campaign_id = ? AND status = ? ORDER BY round, idx').all(this.campaignId, status) as Record<string, unknown>[]).map(trialRow);
  }

  /** Parameters of the trials sent to the rigs in rounds before `round` (bounded by the rig budget). */
  selectedBefore(round: number): Parameters[] {
    return (sql(this.db, 'SELECT params FROM trials WHERE campaign_id = ? AND round < ? AND selected_rank IS NOT NULL ORDER BY round, idx').all(this.campaignId, round) as Array<{ params: string }>).map((r) => JSON.parse(r.params));
  }

  /** Highest (or lowest) finite measured reward of a completed trial; null when there is none. */
  measuredReward(which: 'best' | 'worst', feasibleOnly: boolean): number | null {
    // Walks `trials_by_reward` from the end that answers; stops at the first (feasible) row.
    const r = sql(
      this.db,
      `SELECT measured_reward AS v FROM trials WHERE campaign_id = ? AND status = 'completed' AND measured_reward IS NOT NULL${feasibleOnly ? ' AND feasible = 1' : ''} ORDER BY measured_reward ${which === 'best' ? 'DESC' : 'ASC'} LIMIT 1`,
    ).get(this.campaignId) as { v: number } | undefined;
    return r?.v ?? null;
  }

  job(jobId: string): JobRow | undefined {
    const r = sql(this.db, 'SELECT * FROM jobs WHERE job_id = ? AND campaign_id = ?').get(jobId, this.campaignId) as Record<string, unknown> | undefined;
    return r ? jobRow(r) : undefined;
  }

  jobsOf(trialId: string): JobRow[] {
    return (sql(this.db, 'SELECT * FROM jobs WHERE campaign_id = ? AND trial_id = ? ORDER BY stage').all(this.campaignId, trialId) as Record<string, unknown>[]).map(jobRow);
  }

  /** Jobs recorded as sent but without an outcome (what a resumed process sends again; isOpenJob). */
  openJobs(): JobRow[] {
    return (sql(this.db, "SELECT * FROM jobs WHERE campaign_id = ? AND status IN ('dispatched', 'accepted', 'running') ORDER BY dispatched_at, job_id").all(this.campaignId) as Record<string, unknown>[]).map(jobRow);
  }

  /** The last pipeline stage a trial has a measurement of, and whether it was feasible. */
  lastMeasured(trialId: string): { stage: number; feasible: boolean } | undefined {
    const r = sql(this.db, 'SELECT stage, feasible FROM measurements WHERE campaign_id = ? AND trial_id = ? ORDER BY stage DESC LIMIT 1').get(this.campaignId, trialId) as { stage: number; feasible: number } | undefined;
    return r ? { stage: r.stage, feasible: r.feasible === 1 } : undefined;
  }

  /** Everything a trial's stages measured, later stages overriding earlier ones. */
  measuredOf(trialId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of sql(this.db, 'SELECT measurements FROM measurements WHERE campaign_id = ? AND trial_id = ? ORDER BY stage').all(this.campaignId, trialId) as Array<{ measurements: string }>) {
      Object.assign(out, JSON.parse(r.measurements));
    }
    return out;
  }

  /** The document of a type with an idempotency key, if written. */
  document<T extends DocumentType>(type: T, key: string): LedgerDocument<T> | undefined {
    const r = sql(this.db, 'SELECT * FROM documents WHERE campaign_id = ? AND type = ? AND key = ?').get(this.campaignId, type, key) as DocumentRecord | undefined;
    return r ? documentRow<T>(r) : undefined;
  }

  /**
   * The latest document of a type, or the latest that has `field` at its top level (a JSON
   * null counts; an omitted field does not). Walks the (campaign, type) index from its end.
   */
  latest<T extends DocumentType>(type: T, field?: string): LedgerDocument<T> | undefined {
    const r = sql(this.db, 'SELECT * FROM documents WHERE campaign_id = @c AND type = @t AND (@path IS NULL OR json_type(body, @path) IS NOT NULL) ORDER BY seq DESC LIMIT 1').get({
      c: this.campaignId,
      t: type,
      path: field === undefined ? null : `$.${field}`,
    }) as DocumentRecord | undefined;
    return r ? documentRow<T>(r) : undefined;
  }

  has(type: DocumentType, key: string): boolean {
    return this.ledger.hasDocument(this.campaignId, type, key);
  }

  /** Every trial of the campaign in proposal order (the agent's history); do not modify. */
  trials(): readonly TrialRow[] {
    this.refresh();
    return this.list;
  }

  private remember(t: TrialRow): void {
    const i = this.at.get(t.id);
    if (i === undefined) {
      this.at.set(t.id, this.list.length);
      this.list.push(t);
    } else this.list[i] = t;
  }

  /**
   * Brings the in-memory copy up to date: the trials named by documents appended after
   * `cursor` are read again by primary key. `NOT INDEXED` makes SQLite walk the documents by
   * `seq` (the rowid) from the cursor instead of through the (campaign, type) index, which
   * would visit every document of the campaign. One read snapshot that locks no other writer
   * out (Ledger.read).
   */
  private refresh(): void {
    this.ledger.read(() => {
      if (this.cursor === 0) {
        this.cursor = (sql(this.db, 'SELECT max(seq) AS s FROM documents').get() as { s: number | null }).s ?? 0;
        for (const r of sql(this.db, 'SELECT * FROM trials WHERE campaign_id = ? ORDER BY round, idx').all(this.campaignId) as Record<string, unknown>[]) this.remember(trialRow(r));
        return;
      }
      const touched = sql(
        this.db,
        `SELECT d.seq AS seq, coalesce(json_extract(d.body, '$.trialId'), j.trial_id) AS trial
           FROM documents AS d NOT INDEXED LEFT JOIN jobs AS j ON d.type = 'RigEventReceived' AND j.job_id = json_extract(d.body, '$.jobId')
          WHERE d.seq > ? AND d.campaign_id = ? AND d.type IN (${TRIAL_DOCUMENTS.map((t) => `'${t}'`).join(', ')})
          ORDER BY d.seq`,
      ).all(this.cursor, this.campaignId) as Array<{ seq: number; trial: string | null }>;
      const ids = new Set(touched.map((r) => r.trial).filter((x): x is string => x !== null));
      // An approval that edited parameters changes those trials' rows too (ledger.ts, issue #18).
      const edited = sql(
        this.db,
        `SELECT e.key AS trial FROM documents AS d NOT INDEXED, json_each(d.body, '$.edits') AS e
          WHERE d.seq > ? AND d.campaign_id = ? AND d.type = 'ApprovalGiven'`,
      ).all(this.cursor, this.campaignId) as Array<{ trial: string }>;
      for (const r of edited) ids.add(r.trial);
      for (const id of ids) {
        const t = this.trial(id);
        if (t) this.remember(t);
      }
      this.cursor = Math.max(this.cursor, (sql(this.db, 'SELECT max(seq) AS s FROM documents').get() as { s: number | null }).s ?? 0);
    });
  }
}

/** The document types whose projection changes a trial row (see `project` in ledger.ts). */
const TRIAL_DOCUMENTS: readonly DocumentType[] = ['TrialProposed', 'TrialScored', 'TrialRescored', 'TrialSelected', 'JobDispatched', 'RigEventReceived', 'JobFailed', 'TrialCompleted', 'TrialAbandoned', 'ObservationImported'];
