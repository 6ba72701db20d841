import type { DocumentBodies } from '../ledger/documents.js';
import { IMPORT_AGENT, ledgerWallTimeS, pendingApproval } from '../ledger/export.js';
import type { CampaignRow, Ledger, TrialRow } from '../ledger/ledger.js';
import { createRng } from '../core/rng.js';
import { requirementsOf, unmetRequirements, type RequirementSet } from '../core/requirements.js';
import { campaignFront, frontTrials, measuredRows, objectiveSetOf } from '../reward/front.js';
import type { Goal } from '../reward/pareto.js';

/**
 * What an operator looks at (issue #18): one read model of a campaign, computed from the
 * ledger alone, shared by the live dashboard (`poreloop serve`) and the static report
 * (`poreloop report`), so the two always show the same numbers. Nothing here writes.
 */

export interface CampaignOverview {
  id: string;
  name: string;
  status: string;
  /** The xstate state of the persisted snapshot ('awaitingApproval.waiting', 'paused', …); null before the first step. */
  state: string | null;
  round: number;
  rounds: number;
  rigRuns: number;
  rigBudget: number | null;
  budgetLeft: number | null;
  stopReason: string | null;
  /** A `poreloop pause` waiting for the next step boundary (the end of the round). */
  pauseRequested: boolean;
  createdAt: string;
  updatedAt: string;
  /** From CampaignStarted to CampaignStopped (or the latest document while it runs), summed over resumes. */
  wallTimeS: number;
  agent: string;
  seed: number;
  configHash: string;
  source: string;
  versions: Record<string, string>;
  reward: string | null;
  objectives: Array<{ name: string; goal: Goal }>;
  trials: number;
  completed: number;
  infeasible: number;
  failed: number;
  abandoned: number;
  /** Earlier measurements imported by a warm start (not in the counts above). */
  imported: number;
}

/** One rig run (a trial sent to the rigs), in dispatch order. */
export interface RunPoint {
  run: number;
  trialId: string;
  round: number;
  status: string;
  /** Measured reward (null while running, for a failed job, or an infeasible result). */
  reward: number | null;
  feasible: boolean | null;
  /** Best measured reward after this run, of the feasible runs that meet every threshold and outcome constraint. */
  best: number | null;
  params: Record<string, number | string>;
  /** The thresholds and outcome constraints its measurements miss, in words ([] when none, or while it runs). */
  unmet: string[];
}

export interface BaselinePoint {
  run: number;
  best: number;
  /** Interquartile range across the shuffles (the permutation baseline only). */
  q1?: number;
  q3?: number;
  series: string;
}

export interface PredictionPoint {
  trialId: string;
  property: string;
  measured: number;
  /** What the reward used: corrected toward reality when a correction exists. */
  predicted: number;
  std: number;
  /**
   * Whether a reality correction had been trained (a ModelTrained `correction:<round>` earlier
   * in the ledger) when this trial was scored. Before the first one, `raw` is no evidence: the
   * runtime writes it whenever a correction is configured (reproducibility review, item a).
   */
  corrected: boolean;
  /** The P-model's own estimate, when a trained reality correction changed it. */
  raw: number | null;
  rawStd: number | null;
  /** The P-model's fidelity for this prediction ('prior', 'surrogate', 'simulation', …); null when none was recorded. */
  fidelity: string | null;
}

export interface ParetoPoint {
  trialId: string;
  values: number[];
  front: boolean;
}

/** A completed, feasible trial left out of the front because it misses a threshold or outcome constraint (dashboard review, 2026-12-07). */
export interface ParetoUnmet {
  trialId: string;
  /** Its measured objective values; NaN (null in JSON) where one was not measured. */
  values: number[];
  unmet: string[];
}

export interface FleetRig {
  rigId: string;
  status: string;
  capabilities: string[];
  /** Jobs the rig has accepted and not finished (ledger). */
  busyJobs: number;
  lastHeartbeat: string | null;
  failures: number;
  completed: number;
}

export interface ApprovalTrial {
  trialId: string;
  params: Record<string, number | string>;
  predictedReward: number | null;
  predicted: Record<string, { mean: number; std: number }>;
}

export interface SpaceParam {
  name: string;
  min?: number;
  max?: number;
  values?: Array<number | string>;
  unit?: string;
}

export interface CampaignModel {
  overview: CampaignOverview;
  runs: RunPoint[];
  baseline: BaselinePoint[];
  predictions: PredictionPoint[];
  pareto: { objectives: Array<{ name: string; goal: Goal; unit?: string }>; points: ParetoPoint[]; unmet: ParetoUnmet[] } | null;
  fleet: {
    rigs: FleetRig[];
    queued: number;
    observedAt: string | null;
    /** Compute workers online when the fleet was last recorded (`exec: mqtt`, issue #21); empty otherwise. */
    workers: Array<{ workerId: string; kinds: string[]; concurrency: number; host?: string }>;
  };
  approval: { round: number; trials: ApprovalTrial[] } | null;
  space: SpaceParam[];
  /** Whether trials have microstructures a twin can regenerate (the slice viewer). */
  twin: { name: string; size: number[]; voxelSize: number } | null;
  /** Warm-start CSVs imported (import review #4): each file with its sha256 and the data rows taken. */
  imports: ImportSource[];
  /** The last document seq this model reflects. */
  seq: number;
}

export interface ImportSource {
  file: string;
  sha256: string;
  rows: number;
  firstRow: number;
  lastRow: number;
}

/** The provenance of a campaign's warm start, by file (ObservationImported sources). */
function imports(ledger: Ledger, campaignId: string): ImportSource[] {
  const out = new Map<string, ImportSource>();
  for (const { body } of ledger.documents(campaignId, 'ObservationImported')) {
    const { file, sha256, row } = body.source;
    const e = out.get(`${sha256} ${file}`);
    if (e) Object.assign(e, { rows: e.rows + 1, firstRow: Math.min(e.firstRow, row), lastRow: Math.max(e.lastRow, row) });
    else out.set(`${sha256} ${file}`, { file, sha256, rows: 1, firstRow: row, lastRow: row });
  }
  return [...out.values()];
}

interface StoredConfig {
  reward?: string;
  objectives?: Array<{ name: string; goal: Goal }>;
  agent?: { name?: string };
  budget?: { rigRuns?: number };
  space?: Record<string, unknown>;
  twin?: { name: string; size: number[]; voxelSize: number };
  rigs?: { simulate?: unknown };
}

const configOf = (c: CampaignRow) => (c.config ?? {}) as StoredConfig;

/** 'awaitingApproval.waiting' for xstate's `{ awaitingApproval: 'waiting' }`. */
export function stateLabel(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const [k, v] = Object.entries(value as Record<string, unknown>)[0] ?? [];
    return k === undefined ? null : [k, stateLabel(v)].filter(Boolean).join('.');
  }
  return String(value);
}

export function overview(ledger: Ledger, c: CampaignRow): CampaignOverview {
  const cfg = configOf(c);
  const snap = c.snapshot as { value?: unknown; context?: { round?: number; pauseRequested?: boolean } } | null;
  const counts = ledger.db
    .prepare(
      // Warm-start rows (agent import) are counted apart, as rigRuns leaves them out (issue #19 review).
      `SELECT sum(agent != ?) AS trials,
              sum(agent != ? AND status = 'completed') AS completed,
              sum(agent != ? AND status = 'completed' AND feasible = 0) AS infeasible,
              sum(agent != ? AND status = 'failed') AS failed,
              sum(agent != ? AND status = 'abandoned') AS abandoned,
              sum(agent = ?) AS imported
         FROM trials WHERE campaign_id = ?`,
    )
    .get(...Array<string>(6).fill(IMPORT_AGENT), c.id) as Record<string, number | null>;
  const budget = cfg.budget?.rigRuns ?? null;
  const ended = c.status !== 'running' && c.status !== 'paused';
  return {
    id: c.id,
    name: c.name,
    status: c.status,
    state: ended ? 'done' : stateLabel(snap?.value),
    round: snap?.context?.round ?? c.rounds,
    rounds: c.rounds,
    rigRuns: c.rigRuns,
    rigBudget: budget,
    budgetLeft: budget === null ? null : Math.max(0, budget - c.rigRuns),
    stopReason: c.stopReason,
    pauseRequested: !ended && snap?.context?.pauseRequested === true,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    wallTimeS: ledgerWallTimeS(ledger, c.id),
    agent: cfg.agent?.name ?? '?',
    seed: c.seed,
    configHash: c.configHash,
    source: c.source,
    versions: c.versions,
    reward: cfg.reward ?? null,
    objectives: cfg.objectives ?? [],
    trials: counts.trials ?? 0,
    completed: counts.completed ?? 0,
    infeasible: counts.infeasible ?? 0,
    failed: counts.failed ?? 0,
    abandoned: counts.abandoned ?? 0,
    imported: counts.imported ?? 0,
  };
}

/**
 * The trials that went to the rigs, in dispatch order, with the best-so-far curve.
 * `requirements` are the campaign's (requirementsOf its config), passed by the caller that
 * holds its row (review of 0e10d79: this re-read the row and re-parsed the config).
 */
export function rigRuns(ledger: Ledger, campaignId: string, requirements: RequirementSet | null): RunPoint[] {
  const trials = ledger.db
    .prepare(
      `SELECT t.*, min(j.rowid) AS first FROM trials t JOIN jobs j ON j.trial_id = t.id AND j.stage = 0
        WHERE t.campaign_id = ? GROUP BY t.id ORDER BY first`,
    )
    .all(campaignId) as Array<Record<string, unknown>>;
  // A run that misses a threshold or an outcome constraint is no candidate: it does not raise
  // the best (the dashboard's "best measured reward" showed one; dashboard review, 2026-12-07).
  let best: number | null = null;
  return trials.map((r, i) => {
    const done = r.status === 'completed';
    const reward = done && r.feasible === 1 && typeof r.measured_reward === 'number' ? r.measured_reward : null;
    const params = JSON.parse(String(r.params)) as Record<string, number | string>;
    const unmet = reward !== null && requirements ? unmetRequirements({ ...params, ...(JSON.parse(String(r.measured ?? 'null')) ?? {}) }, requirements) : [];
    if (reward !== null && unmet.length === 0 && (best === null || reward > best)) best = reward;
    return { run: i + 1, trialId: String(r.id), round: Number(r.round), status: String(r.status), reward, feasible: done ? r.feasible === 1 : null, best, params, unmet };
  });
}

/**
 * What the campaign is measured against. Campaigns in the same ledger run by the `random`
 * agent on the same problem (the config without agent, seed and name) are the random-search
 * baseline. Without one, the stand-in is the same rig runs in random order (median and
 * quartiles over 200 seeded shuffles): the curve the campaign would draw had the ORDER of its
 * runs carried no information. It draws from the recipes the agent chose, so it cannot show
 * whether the agent beats random search (issue #18 review; docs/dashboard.md says so).
 */
export function baselines(ledger: Ledger, c: CampaignRow, runs: RunPoint[]): BaselinePoint[] {
  const key = problemKey(c);
  const out: BaselinePoint[] = [];
  for (const other of ledger.campaigns()) {
    if (other.id === c.id || configOf(other).agent?.name !== 'random' || problemKey(other) !== key) continue;
    for (const p of rigRuns(ledger, other.id, requirementsOf(other.config))) if (p.best !== null) out.push({ run: p.run, best: p.best, series: `random search (${other.id})` });
  }
  if (out.length > 0) return out;
  // Runs that miss a threshold or constraint count as no reward, as in the campaign's own best.
  const rewards = runs.map((r) => (r.unmet.length ? null : r.reward));
  if (rewards.every((r) => r === null)) return [];
  // A fixed seed: the same ledger always draws the same band.
  const rng = createRng(20260418);
  const SHUFFLES = 200;
  const curves: Array<Array<number | null>> = [];
  for (let s = 0; s < SHUFFLES; s++) {
    const order = [...rewards];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let best: number | null = null;
    curves.push(order.map((r) => (best = r !== null && (best === null || r > best) ? r : best)));
  }
  for (let i = 0; i < rewards.length; i++) {
    const at = curves.map((cv) => cv[i]).filter((v): v is number => v !== null).sort((a, b) => a - b);
    // Only where most shuffles have found a feasible run, so the median is one.
    if (at.length * 2 <= SHUFFLES) continue;
    const q = (p: number) => at[Math.min(at.length - 1, Math.floor(p * (at.length - 1) + 0.5))];
    out.push({ run: i + 1, best: q(0.5), q1: q(0.25), q3: q(0.75), series: 'own runs shuffled (not random search)' });
  }
  return out;
}

function problemKey(c: CampaignRow): string {
  const { agent: _a, seed: _s, name: _n, ...rest } = (c.config ?? {}) as Record<string, unknown>;
  return JSON.stringify(rest);
}

/**
 * Predicted (corrected and raw) against measured, per property, for every feasible completed trial.
 * A prediction counts as corrected only when its score (TrialScored, or TrialRescored after an
 * edit at the gate) follows the first trained correction in the ledger: the runtime records
 * `raw` whenever a correction is configured, also in round 1 when none was fitted yet and it
 * equals the prediction, and the plot showed those as corrected (reproducibility review, item a).
 * Ledger order, not equal values, decides: a trained correction can leave an estimate unchanged.
 */
export function predictions(ledger: Ledger, campaignId: string): PredictionPoint[] {
  const out: PredictionPoint[] = [];
  const firstCorrection = (
    ledger.db.prepare("SELECT min(seq) AS s FROM documents WHERE campaign_id = ? AND type = 'ModelTrained' AND key LIKE 'correction:%'").get(campaignId) as { s: number | null }
  ).s;
  // currentScores' rule (a TrialRescored replaces the TrialScored), keeping each document's seq.
  const scored = new Map<string, { seq: number; body: DocumentBodies['TrialScored'] }>();
  for (const d of ledger.documents(campaignId, 'TrialScored')) scored.set(d.body.trialId, d);
  for (const d of ledger.documents(campaignId, 'TrialRescored')) scored.set(d.body.trialId, d);
  for (const t of ledger.trials(campaignId)) {
    // An infeasible run made no sample: what it reports is no measurement of the recipe.
    if (t.status !== 'completed' || !t.feasible || !t.measured) continue;
    const d = scored.get(t.id);
    if (!d) continue;
    const s = d.body;
    const corrected = s.raw !== undefined && firstCorrection !== null && d.seq > firstCorrection;
    for (const [property, est] of Object.entries(s.properties)) {
      const m = t.measured[property];
      if (typeof m !== 'number' || !Number.isFinite(m) || !Number.isFinite(est.mean)) continue;
      // Shown beside the prediction only where the correction moved it (JSON compares NaN/null σ alike).
      const r = corrected ? s.raw?.[property] : undefined;
      const raw = r && Number.isFinite(r.mean) && JSON.stringify([r.mean, r.std]) !== JSON.stringify([est.mean, est.std]) ? r : undefined;
      out.push({
        trialId: t.id,
        property,
        measured: m,
        predicted: est.mean,
        std: Number.isFinite(est.std) ? est.std : 0,
        corrected,
        raw: raw ? raw.mean : null,
        rawStd: raw && Number.isFinite(raw.std) ? raw.std : null,
        fidelity: s.fidelity ?? null,
      });
    }
  }
  return out;
}

/**
 * The trials that count for the measured Pareto front and which are on it (issue #16): the one
 * front of src/reward/front.ts that `status`, the export and the run summary show — completed,
 * feasible trials meeting every threshold and outcome constraint, by their measured values (and
 * parameters) only — in the objectives' own units. Beside them, the completed, feasible trials
 * that miss a threshold or constraint, with what they miss: the plot shows them apart instead
 * of dropping them silently (dashboard review, 2026-12-07).
 */
export function pareto(ledger: Ledger, c: CampaignRow): CampaignModel['pareto'] {
  const set = objectiveSetOf(c.config);
  if (!set) return null;
  const trials = frontTrials(ledger.trials(c.id));
  const onFront = new Set(campaignFront(trials, set).measured.map((p) => p.trialId));
  const rows = measuredRows(trials, set);
  const counted = new Set(rows.map((r) => r.t.trialId));
  const points = rows.map(({ t, y }) => ({ trialId: t.trialId, values: y.map((v, i) => (set.objectives[i].goal === 'max' ? v : -v)), front: onFront.has(t.trialId) }));
  const unmet = trials
    .filter((t) => t.status === 'completed' && t.feasible === true && !counted.has(t.trialId))
    .map((t) => {
      const values = { ...t.params, ...t.measured };
      return { trialId: t.trialId, values: set.objectives.map((o) => (Number.isFinite(values[o.name]) ? values[o.name] : Number.NaN)), unmet: unmetRequirements(values, set) };
    });
  return { objectives: set.objectives.map((o) => ({ name: o.name, goal: o.goal, ...(o.unit ? { unit: o.unit } : {}) })), points, unmet };
}

/**
 * The rig fleet as the campaign process last saw it (RigFleetObserved documents: status and
 * last heartbeat per rig), with what the ledger says each rig did (busy jobs, failures).
 */
export function fleet(ledger: Ledger, campaignId: string): CampaignModel['fleet'] {
  const seen = ledger.db
    .prepare("SELECT at, body FROM documents WHERE campaign_id = ? AND type = 'RigFleetObserved' ORDER BY seq DESC LIMIT 1")
    .get(campaignId) as { at: string; body: string } | undefined;
  const observed = seen ? (JSON.parse(seen.body) as DocumentBodies['RigFleetObserved']) : null;
  const perRig = ledger.db
    .prepare(
      `SELECT rig_id AS rigId, sum(status IN ('accepted', 'running')) AS busy, sum(status = 'completed') AS completed
         FROM jobs WHERE campaign_id = ? AND rig_id IS NOT NULL GROUP BY rig_id`,
    )
    .all(campaignId) as Array<{ rigId: string; busy: number; completed: number }>;
  const failures = ledger.db
    .prepare(
      `SELECT json_extract(body, '$.rigId') AS rigId, count(*) AS n FROM documents
        WHERE campaign_id = ? AND type = 'RigEventReceived' AND json_extract(body, '$.type') IN ('failed', 'rejected') GROUP BY rigId`,
    )
    .all(campaignId) as Array<{ rigId: string; n: number }>;
  const queued = (ledger.db.prepare("SELECT count(*) AS n FROM jobs WHERE campaign_id = ? AND status = 'dispatched'").get(campaignId) as { n: number }).n;
  const rigs = new Map<string, FleetRig>();
  const rig = (id: string): FleetRig => {
    let r = rigs.get(id);
    if (!r) rigs.set(id, (r = { rigId: id, status: 'unknown', capabilities: [], busyJobs: 0, lastHeartbeat: null, failures: 0, completed: 0 }));
    return r;
  };
  for (const r of observed?.rigs ?? []) Object.assign(rig(r.rigId), { status: r.status, capabilities: r.capabilities, lastHeartbeat: r.lastSeenAt ?? null });
  for (const r of perRig) Object.assign(rig(r.rigId), { busyJobs: r.busy ?? 0, completed: r.completed ?? 0 });
  for (const r of failures) if (r.rigId) rig(r.rigId).failures = r.n;
  return { rigs: [...rigs.values()].sort((a, b) => a.rigId.localeCompare(b.rigId)), queued, observedAt: seen?.at ?? null, workers: observed?.workers ?? [] };
}

export function approval(ledger: Ledger, campaignId: string, trials: TrialRow[]): CampaignModel['approval'] {
  const pending = pendingApproval(ledger, campaignId);
  if (!pending) return null;
  const byId = new Map(trials.map((t) => [t.id, t]));
  return {
    round: pending.round,
    trials: pending.trialIds.map((id) => {
      const t = byId.get(id);
      return { trialId: id, params: t?.params ?? {}, predictedReward: t?.predictedReward ?? null, predicted: t?.prediction ?? {} };
    }),
  };
}

export function spaceOf(c: CampaignRow): SpaceParam[] {
  const out: SpaceParam[] = [];
  for (const [name, spec] of Object.entries(configOf(c).space ?? {})) {
    if (name === 'pool' || name === 'constraints' || typeof spec !== 'object' || spec === null) continue;
    const s = spec as { min?: number; max?: number; values?: Array<number | string>; unit?: string };
    out.push({ name, min: s.min, max: s.max, values: s.values, unit: s.unit });
  }
  return out;
}

/** The whole read model of one campaign (`poreloop serve` /api, `poreloop report`). */
export function campaignModel(ledger: Ledger, campaignId: string): CampaignModel {
  return ledger.transaction(() => {
    const c = ledger.campaign(campaignId);
    if (!c) throw new Error(`no campaign ${campaignId}`);
    const runs = rigRuns(ledger, c.id, requirementsOf(c.config));
    const twin = configOf(c).twin;
    return {
      overview: overview(ledger, c),
      runs,
      baseline: baselines(ledger, c, runs),
      predictions: predictions(ledger, c.id),
      pareto: pareto(ledger, c),
      fleet: fleet(ledger, c.id),
      approval: c.status === 'running' || c.status === 'paused' ? approval(ledger, c.id, ledger.trials(c.id)) : null,
      space: spaceOf(c),
      twin: twin ? { name: twin.name, size: twin.size, voxelSize: twin.voxelSize } : null,
      imports: imports(ledger, c.id),
      seq: (ledger.db.prepare('SELECT max(seq) AS s FROM documents').get() as { s: number | null }).s ?? 0,
    };
  });
}
