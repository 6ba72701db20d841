import { resolve } from 'node:path';
import { BadInputError } from '../core/errors.js';
import type { Parameters } from '../core/protocols.js';
import { requirementsOf, unmeasuredNames, unmetRequirements } from '../core/requirements.js';
import type { CampaignRow, Ledger } from './ledger.js';
import type { DocumentBodies, DocumentType } from './documents.js';

/**
 * The CampaignStopped reasons of an operator's stop — a signal to the campaign's process, or
 * `poreloop stop` — as src/compose/campaign.ts records them and the CLI's exit code reads them
 * (review of 0e10d79: the same free text was matched across modules). Ledgers written before
 * hold the same text, so they read alike.
 */
export const OPERATOR_STOP = { signal: 'operator signal', command: 'operator command' } as const;

/** Whether a campaign's stop reason is an operator's stop (OPERATOR_STOP). */
export const stoppedByOperator = (reason: string | null | undefined): boolean => reason === OPERATOR_STOP.signal || reason === OPERATOR_STOP.command;

/**
 * `poreloop export` (issue #2): every trial with its parameters, predictions, measurements and
 * provenance (config hash, seed, versions), one row per trial.
 */
export interface ExportDocument {
  campaign: { id: string; name: string; status: string; configHash: string; seed: number; source: string; versions: Record<string, string>; createdAt: string };
  trials: Array<{
    trialId: string;
    round: number;
    index: number;
    status: string;
    agent: string;
    params: Record<string, number | string>;
    /** Of the prediction (surrogate, simulation); `rig` for a warm-start import, a measurement (import review #4). */
    fidelity: string | null;
    /** A warm-start import's origin: the CSV, its sha256 and data row (import review #4); null for the campaign's own trials. */
    source: DocumentBodies['ObservationImported']['source'] | null;
    /** std: error of the mean; spread, n: over twin realisations (issue #13; absent in older ledgers). */
    predicted: Record<string, { mean: number; std: number; spread?: number; n?: number }>;
    predictedReward: number | null;
    /** σ of the predicted reward (issue #13); null when not recorded. */
    predictedRewardStd: number | null;
    /** Properties the domain was too small for (representative-volume check, issue #13). */
    rveWarnings: string[];
    selectedRank: number | null;
    jobs: Array<{ jobId: string; capability: string; attempt: number; status: string; rigId: string | null }>;
    measured: Record<string, number>;
    measuredReward: number | null;
    feasible: boolean | null;
    /** Issue #20 review: what was predicted, not measured (an early-stopped durability test's eol ± σ, fidelity early-life), or null. */
    estimate: Omit<DocumentBodies['EstimateRecorded'], 'trialId'> | null;
    /** Multi-objective campaigns (issue #16): on the measured Pareto front; HV of the front after this trial's round. */
    pareto?: boolean;
    roundHypervolume?: number | null;
  }>;
  /** Multi-objective campaigns (issue #16): the fronts and the hypervolume history (src/compose/pareto.ts). */
  pareto?: unknown;
}

/**
 * Each trial's P-model score as it stands: the TrialRescored of a trial edited at the approval
 * gate (issue #18 review) replaces the proposal's TrialScored.
 */
export function currentScores(ledger: Ledger, campaignId: string): Map<string, DocumentBodies['TrialScored']> {
  const out = new Map(ledger.documents(campaignId, 'TrialScored').map((d) => [d.body.trialId, d.body]));
  for (const d of ledger.documents(campaignId, 'TrialRescored')) out.set(d.body.trialId, d.body);
  return out;
}

/**
 * The campaign an export or summary is of, by its exact id; bad input naming the ledger when it
 * has none (library review: an unknown id was a TypeError reading `id` of undefined).
 */
function campaignOf(ledger: Ledger, campaignId: string): CampaignRow {
  const row = ledger.campaign(campaignId);
  if (row) return row;
  const ids = ledger.campaigns().map((c) => c.id);
  const known = ids.length === 0 ? 'it has none' : `its campaigns: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length} in all)` : ''}`;
  throw new BadInputError(`no campaign "${campaignId}" in ${ledger.path} (${known}); give a campaign's full id`, 'campaignId');
}

export function exportCampaign(ledger: Ledger, campaignId: string): ExportDocument {
  const c = campaignOf(ledger, campaignId);
  // Grouped by trial once: a filter of every job per trial made the export grow with trials²
  // (scale review: 5.7 s at 20 000 trials).
  const jobsOf = new Map<string, ReturnType<Ledger['jobs']>>();
  for (const j of ledger.jobs(campaignId)) {
    const id = j.trialId;
    const list = jobsOf.get(id);
    if (list) list.push(j);
    else jobsOf.set(id, [j]);
  }
  // The reward's σ and the RVE warnings live in the TrialScored documents only (the trials
  // table predates them): read them from there, so ledgers of any age export alike.
  const scored = currentScores(ledger, campaignId);
  const estimates = new Map(ledger.documents(campaignId, 'EstimateRecorded').map(({ body: { trialId, ...e } }) => [trialId, e]));
  const imported = new Map(ledger.documents(campaignId, 'ObservationImported').map((d) => [d.body.trialId, d.body.source]));
  return {
    campaign: { id: c.id, name: c.name, status: c.status, configHash: c.configHash, seed: c.seed, source: c.source, versions: c.versions, createdAt: c.createdAt },
    trials: ledger.trials(campaignId).map((t) => ({
      trialId: t.id,
      round: t.round,
      index: t.index,
      status: t.status,
      agent: t.agent,
      params: t.params,
      fidelity: t.fidelity ?? (imported.has(t.id) ? 'rig' : null),
      source: imported.get(t.id) ?? null,
      predicted: t.prediction ?? {},
      predictedReward: t.predictedReward,
      predictedRewardStd: num(scored.get(t.id)?.rewardStd),
      rveWarnings: scored.get(t.id)?.rveWarnings ?? [],
      selectedRank: t.selectedRank,
      jobs: (jobsOf.get(t.id) ?? []).map((j) => ({ jobId: j.jobId, capability: j.capability, attempt: j.attempt, status: j.status, rigId: j.rigId })),
      measured: t.measured ?? {},
      measuredReward: t.measuredReward,
      feasible: t.feasible,
      estimate: estimates.get(t.id) ?? null,
    })),
  };
}

/** A stored number (JSON keeps NaN and ±∞ as null), or null. */
const num = (v: number | null | undefined): number | null => (typeof v === 'number' ? v : null);

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  // ±∞ (an infinite loss: computable and terrible) is written as Infinity/-Infinity, which
  // pandas, R and spreadsheets read as numbers; NaN (unknown) stays blank (diff review
  // 2026-12-07, item 5: an infinite prediction was blank, like an unknown one).
  const s = typeof v === 'number' ? (Number.isNaN(v) ? '' : String(v)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/**
 * RFC 4180 CSV: fixed provenance columns, then params, predictions and measurements. Per
 * predicted property: mean, std (its error, what the reward used), spread and n over twin
 * realisations (issue #13; empty for surrogate estimates and older ledgers); the reward's std
 * follows the predicted reward, and `rve_warnings` lists the properties the domain was too
 * small for, separated by ';'. With a warm start, source_file, source_sha256 and source_row
 * say which CSV line each imported trial came from (import review #4). With early-life
 * estimates (issue #20), beside the measurements: est_<property> and est_<property>_std per
 * estimated property, est_reward(_std) (the reward with the estimate), est_fidelity and
 * est_basis — estimates, never meas_ columns (dashboard review, 2026-12-07: the CSV, the
 * default format, left them out while the JSON had them).
 */
export function toCsv(doc: ExportDocument): string {
  const params = [...new Set(doc.trials.flatMap((t) => Object.keys(t.params)))];
  const preds = [...new Set(doc.trials.flatMap((t) => Object.keys(t.predicted)))];
  const meas = [...new Set(doc.trials.flatMap((t) => Object.keys(t.measured)))];
  const sourced = doc.trials.some((t) => t.source);
  const estimated = [...new Set(doc.trials.flatMap((t) => Object.keys(t.estimate?.estimates ?? {})))];
  const anyEstimate = doc.trials.some((t) => t.estimate);
  const header = [
    'campaign_id', 'config_hash', 'seed', 'poreloop_version', 'trial_id', 'round', 'index', 'status', 'agent', 'fidelity',
    ...params.map((p) => `param_${p}`),
    ...preds.flatMap((p) => [`pred_${p}`, `pred_${p}_std`, `pred_${p}_spread`, `pred_${p}_n`]),
    'predicted_reward', 'predicted_reward_std', 'rve_warnings', 'selected_rank', 'rig_jobs', 'attempts',
    ...meas.map((m) => `meas_${m}`),
    'measured_reward', 'feasible',
    ...(anyEstimate ? [...estimated.flatMap((p) => [`est_${p}`, `est_${p}_std`]), 'est_reward', 'est_reward_std', 'est_fidelity', 'est_basis'] : []),
    // Issue #16: multi-objective campaigns only.
    ...(doc.trials.some((t) => t.pareto !== undefined) ? ['pareto', 'round_hypervolume'] : []),
    // Import review #4: campaigns with a warm start only.
    ...(sourced ? ['source_file', 'source_sha256', 'source_row'] : []),
  ];
  const lines = [header.join(',')];
  for (const t of doc.trials) {
    lines.push(
      [
        doc.campaign.id, doc.campaign.configHash, doc.campaign.seed, doc.campaign.versions.poreloop, t.trialId, t.round, t.index, t.status, t.agent, t.fidelity,
        ...params.map((p) => t.params[p]),
        ...preds.flatMap((p) => [t.predicted[p]?.mean, t.predicted[p]?.std, t.predicted[p]?.spread, t.predicted[p]?.n]),
        t.predictedReward, t.predictedRewardStd, t.rveWarnings.join(';'), t.selectedRank, t.jobs.length, t.jobs.reduce((s, j) => s + j.attempt, 0),
        ...meas.map((m) => t.measured[m]),
        t.measuredReward, t.feasible === null ? '' : String(t.feasible),
        ...(anyEstimate ? [...estimated.flatMap((p) => [t.estimate?.estimates[p]?.mean, t.estimate?.estimates[p]?.std]), t.estimate?.reward, t.estimate?.rewardStd, t.estimate?.fidelity, t.estimate?.basis] : []),
        ...(t.pareto !== undefined ? [String(t.pareto), t.roundHypervolume] : []),
        ...(sourced ? [t.source?.file, t.source?.sha256, t.source?.row] : []),
      ].map(cell).join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * JSON.stringify's replacer for documents that carry ±∞ (an export, a summary): ±∞ as the
 * strings "Infinity" and "-Infinity" — JSON has no ∞, and its null reads as "unknown" (diff
 * review 2026-12-07, item 5). NaN stays null.
 */
export function infinityAsString(_key: string, v: unknown): unknown {
  return v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v;
}

/** `poreloop export --format json`: the document, ±∞ written as "Infinity"/"-Infinity" (infinityAsString). */
export function toJson(doc: ExportDocument): string {
  return JSON.stringify(doc, infinityAsString, 2) + '\n';
}

export interface TrialSummary {
  trialId: string;
  round: number;
  params: Parameters;
  predicted: Record<string, number>;
  measured: Record<string, number>;
  predictedReward: number | null;
  /** σ of the predicted reward (issue #13); null when not recorded. */
  predictedRewardStd: number | null;
  /**
   * The fidelity of the prediction, as the ledger's (re)scoring recorded it (`simulation`,
   * `surrogate`, …; review 2026-12-07: `status` printed "pred 14.06 ± 3.5" without saying what
   * made it); null when the trial was not scored.
   */
  predictedFidelity: string | null;
  measuredReward: number | null;
  feasible: boolean | null;
  /** The thresholds and outcome constraints its measurements miss, in words ([] when it meets them all; src/core/requirements.ts). */
  unmet: string[];
}

/**
 * How sure the P-model's simulated scores were (issue #13), over a campaign's TrialScored
 * documents at simulation fidelity: realisations per trial, the reward's σ, and per property
 * the realisation CV (spread / |mean|) and how many trials the representative-volume check
 * flagged. Null when no trial was simulated, or none recorded any of it (a ledger written
 * before issue #13).
 */
export interface UncertaintySummary {
  simulated: number;
  realisations: { median: number; min: number; max: number } | null;
  rewardStd: { median: number; p25: number; p75: number } | null;
  properties: Record<string, { medianCv: number | null; rveFlagged: number }>;
}

/** Quartiles by the lower-middle rule of the benchmarks (no interpolation), or null for none. */
function quartiles(values: number[]): { p25: number; median: number; p75: number } | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const at = (q: number) => v[Math.floor(q * (v.length - 1))];
  return { p25: at(0.25), median: at(0.5), p75: at(0.75) };
}

export function summariseUncertainty(ledger: Ledger, campaignId: string): UncertaintySummary | null {
  const docs = [...currentScores(ledger, campaignId).values()].filter((b) => b.fidelity === 'simulation');
  if (docs.length === 0) return null;
  // The P-model's own estimates (raw, when a correction replaced them) carry the realisations.
  const own = docs.map((b) => b.raw ?? b.properties);
  const ns = own.map((p) => Math.max(0, ...Object.values(p).map((e) => e.n ?? 0))).filter((n) => n > 0);
  if (ns.length === 0 && docs.every((b) => b.rewardStd === undefined)) return null;
  const r = quartiles(ns);
  const names = [...new Set(own.flatMap((p) => Object.keys(p)))];
  const properties = Object.fromEntries(
    names.map((name) => {
      const cvs = own.map((p) => p[name]).filter((e) => e && typeof e.spread === 'number' && typeof e.mean === 'number').map((e) => (e.spread === 0 ? 0 : e.spread! / Math.abs(e.mean)));
      return [name, { medianCv: quartiles(cvs)?.median ?? null, rveFlagged: docs.filter((b) => b.rveWarnings?.includes(name)).length }];
    }),
  );
  const s = quartiles(docs.map((b) => b.rewardStd ?? NaN));
  return {
    simulated: docs.length,
    realisations: r && { median: r.median, min: Math.min(...ns), max: Math.max(...ns) },
    rewardStd: s,
    properties,
  };
}

export interface CampaignSummary {
  campaignId: string;
  name: string;
  status: string;
  stopReason: string | null;
  rounds: number;
  rigRuns: number;
  trials: number;
  /** The best trial by measured reward that meets every threshold and outcome constraint. */
  best: TrialSummary | null;
  /** The five best trials by measured reward (feasible, completed) that meet every threshold and outcome constraint. */
  top: TrialSummary[];
  /** The five best by measured reward that miss a threshold or outcome constraint (each `unmet` says which): no candidates, shown apart. */
  unmetTop: TrialSummary[];
  /**
   * The objectives and outcome-constrained properties that no completed, feasible trial has a
   * measured value of (nor a parameter by that name); [] before any such trial. `status` names
   * them when no trial meets every requirement — for single-objective campaigns too (review of
   * c7ab457: read from the Pareto report, which exists only for two objectives or more).
   */
  unmeasured: string[];
  ledger: string;
  wallTimeS: number;
  /** The batch that waits at the approval gate for `poreloop approve|reject`, if any (issue #14). */
  awaitingApproval: { round: number; trialIds: string[] } | null;
  /** How sure the simulated scores were (issue #13); null when nothing was simulated. */
  uncertainty: UncertaintySummary | null;
  /** What became of the trials sent to the rigs (issue #18: the summary counts infeasible runs). */
  /** The campaign's own trials (rig runs); earlier measurements imported by a warm start are `imported`, apart. */
  outcomes: { measured: number; feasible: number; infeasible: number; noReward: number; failed: number; abandoned: number; imported: number; estimated: number };
  /**
   * Why the `outcomes.noReward` trials have no finite measured reward (review 2026-12-07: the
   * reduced GDL demo scored 12 of 20 rig runs −∞ and said nothing of why): each reason the
   * runtime recorded (TrialCompleted.nonFinite: 'sigma_eff_z = 0 → reward −∞', 'reward NaN
   * from the measurements [a, b]', or the unmeasured properties the reward reads), with how many trials and the first of them, most
   * frequent first. Trials recorded before the reason was kept are counted under 'not recorded'.
   */
  noRewardReasons: Array<{ reason: string; trials: number; first: string }>;
  /**
   * Why the `outcomes.abandoned` trials were abandoned, as noRewardReasons (review 2026-12-07:
   * a campaign whose every trial was abandoned for one handler error ended "completed — rig-run
   * budget spent", the error seen only in `status`): their TrialAbandoned reasons, most frequent first.
   */
  abandonReasons: Array<{ reason: string; trials: number; first: string }>;
  /**
   * Issue #20 review: completed trials whose result was partly predicted (an early-stopped
   * durability test) — counted in `outcomes.estimated`, not as measured — with the estimate
   * (fidelity early-life, mean ± σ per property) and the reward with it.
   */
  estimates: Array<Pick<DocumentBodies['EstimateRecorded'], 'trialId' | 'fidelity' | 'basis' | 'estimates' | 'reward'> & { rewardStd: number | null }>;
  /** The reward expression, or null when the campaign has objectives only. */
  reward: string | null;
  objectives: Array<{ name: string; goal: 'max' | 'min' }>;
  /** Units of the parameters, from the config's space (`unit:`). */
  units: Record<string, string>;
}

/** Documents written by other processes than the campaign's own (`poreloop approve|stop|…`, serve, pick). */
const NOT_BY_THE_CAMPAIGN: readonly DocumentType[] = ['CommandIssued', 'TradeOffPicked'];

/**
 * Wall time from the ledger's own timestamps: each process's run (from CampaignStarted or
 * CampaignResumed to the last document before the next one), summed — a campaign killed and
 * resumed an hour later is not charged the hour (issue #18: a finished campaign showed 0.0 s).
 */
export function ledgerWallTimeS(ledger: Ledger, campaignId: string): number {
  // The run starts through the (campaign, type) index; each run's last document through the
  // same index alone (its entries carry the rowid): no document body is read, so the dashboard
  // can ask for every campaign of a large ledger on each update.
  const starts = ledger.db
    .prepare("SELECT seq, at FROM documents WHERE campaign_id = ? AND type IN ('CampaignStarted', 'CampaignResumed') ORDER BY seq")
    .all(campaignId) as Array<{ seq: number; at: string }>;
  // A run ends at the last document its own process wrote: commands from the CLI or the
  // dashboard (a late `poreloop approve`, a stop of a killed campaign) and trade-offs picked
  // afterwards do not stretch it (issue #18 review).
  const lastBefore = ledger.db.prepare(
    `SELECT at FROM documents WHERE seq = (SELECT max(seq) FROM documents WHERE campaign_id = ? AND seq < ? AND type NOT IN (${NOT_BY_THE_CAMPAIGN.map((t) => `'${t}'`).join(', ')}))`,
  );
  let total = 0;
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].seq : Number.MAX_SAFE_INTEGER;
    const last = lastBefore.get(campaignId, end) as { at: string } | undefined;
    if (last) total += Date.parse(last.at) - Date.parse(s.at);
  });
  return total / 1000;
}

/** The latest batch put before the approval gate that has no decision yet, or null. */
export function pendingApproval(ledger: Ledger, campaignId: string): { round: number; trialIds: string[] } | null {
  const r = ledger.db.prepare("SELECT body FROM documents WHERE campaign_id = ? AND type = 'ApprovalRequested' ORDER BY seq DESC LIMIT 1").get(campaignId) as { body: string } | undefined;
  if (!r) return null;
  const req = JSON.parse(r.body) as DocumentBodies['ApprovalRequested'];
  return ledger.hasDocument(campaignId, 'ApprovalGiven', `round:${req.round}`) ? null : { round: req.round, trialIds: req.trialIds };
}

/** The agent name of warm-start rows (ObservationImported, issue #19). */
export const IMPORT_AGENT = 'import';

/**
 * The reasons of the trials `ids` as counted for CampaignSummary.noRewardReasons
 * (TrialCompleted.nonFinite) and .abandonReasons (TrialAbandoned.reason): the latest document
 * of `type` for each trial gives its reason.
 */
function reasonsOf<T extends 'TrialCompleted' | 'TrialAbandoned'>(ledger: Ledger, campaignId: string, ids: readonly string[], type: T, field: keyof DocumentBodies[T]): Array<{ reason: string; trials: number; first: string }> {
  if (ids.length === 0) return [];
  return countReasons(ids, new Map(ledger.documents(campaignId, type).map((d) => [d.body.trialId, d.body[field] as string | undefined])));
}

/** Each reason of `ids` with how many trials and the first of them, most frequent first. */
function countReasons(ids: readonly string[], recorded: ReadonlyMap<string, string | undefined>): Array<{ reason: string; trials: number; first: string }> {
  const out = new Map<string, { reason: string; trials: number; first: string }>();
  for (const id of ids) {
    const reason = recorded.get(id) ?? 'not recorded';
    const r = out.get(reason) ?? { reason, trials: 0, first: id };
    r.trials++;
    out.set(reason, r);
  }
  return [...out.values()].sort((a, b) => b.trials - a.trials);
}

/** The closing summary of a campaign (CLI table, `--json` document, library result). */
export function summariseCampaign(ledger: Ledger, campaignId: string, wallTimeS?: number): CampaignSummary {
  const row = campaignOf(ledger, campaignId);
  wallTimeS ??= ledgerWallTimeS(ledger, campaignId);
  const trials = ledger.trials(campaignId);
  const scores = currentScores(ledger, campaignId);
  const rewardStd = new Map([...scores].map(([id, b]) => [id, num(b.rewardStd)]));
  const toSummary = (t: (typeof trials)[number]): TrialSummary => ({
    trialId: t.id,
    round: t.round,
    params: t.params,
    predicted: Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean])),
    measured: t.measured ?? {},
    predictedReward: t.predictedReward,
    predictedRewardStd: rewardStd.get(t.id) ?? null,
    predictedFidelity: scores.get(t.id)?.fidelity ?? null,
    measuredReward: t.measuredReward,
    feasible: t.feasible,
    unmet: unmet.get(t.id) ?? [],
  });
  // A trial that misses a threshold or an outcome constraint is no candidate, however high its
  // reward: it was ranked best in status and on the dashboard (dashboard review, 2026-12-07).
  // Judged once per ranked trial (review of 0e10d79: it ran up to three times).
  const requirements = requirementsOf(row.config);
  const ranked = trials.filter((t) => t.status === 'completed' && t.feasible && t.measuredReward !== null).sort((a, b) => b.measuredReward! - a.measuredReward!);
  const unmet = new Map(ranked.map((t) => [t.id, requirements ? unmetRequirements({ ...t.params, ...t.measured }, requirements) : []]));
  const measured = ranked.filter((t) => unmet.get(t.id)!.length === 0);
  const completed = trials.filter((t) => t.status === 'completed' && t.feasible === true).map((t) => ({ ...t.params, ...t.measured }));
  const unmeasured = requirements ? unmeasuredNames(completed, requirements) : [];
  // Warm-start rows (agent import) may be the best candidates, but they are not this
  // campaign's proposals or rig runs: counted apart (issue #19 review).
  const own = trials.filter((t) => t.agent !== IMPORT_AGENT);
  const estimates = ledger.documents(campaignId, 'EstimateRecorded').map((d) => d.body);
  const estimated = new Set(estimates.map((e) => e.trialId));
  const done = own.filter((t) => t.status === 'completed' && !estimated.has(t.id));
  const noReward = done.filter((t) => t.feasible && t.measuredReward === null);
  const abandoned = own.filter((t) => t.status === 'abandoned');
  const cfg = (row.config ?? {}) as { reward?: unknown; objectives?: Array<{ name: string; goal: 'max' | 'min' }>; space?: Record<string, unknown> };
  return {
    campaignId,
    name: row.name,
    status: row.status,
    stopReason: row.stopReason,
    rounds: row.rounds,
    rigRuns: row.rigRuns,
    trials: own.length,
    best: measured[0] ? toSummary(measured[0]) : null,
    top: measured.slice(0, 5).map(toSummary),
    unmetTop: ranked.filter((t) => unmet.get(t.id)!.length > 0).slice(0, 5).map(toSummary),
    unmeasured,
    ledger: resolve(ledger.path),
    wallTimeS,
    awaitingApproval: row.status === 'running' || row.status === 'paused' ? pendingApproval(ledger, campaignId) : null,
    uncertainty: summariseUncertainty(ledger, campaignId),
    outcomes: {
      measured: done.length,
      feasible: done.filter((t) => t.feasible && t.measuredReward !== null).length,
      infeasible: done.filter((t) => t.feasible === false).length,
      noReward: noReward.length,
      failed: own.filter((t) => t.status === 'failed').length,
      abandoned: abandoned.length,
      imported: trials.length - own.length,
      estimated: estimated.size,
    },
    noRewardReasons: reasonsOf(ledger, campaignId, noReward.map((t) => t.id), 'TrialCompleted', 'nonFinite'),
    abandonReasons: reasonsOf(ledger, campaignId, abandoned.map((t) => t.id), 'TrialAbandoned', 'reason'),
    estimates: estimates.map((e) => ({ trialId: e.trialId, fidelity: e.fidelity, basis: e.basis, estimates: e.estimates, reward: e.reward, rewardStd: e.rewardStd ?? null })),
    reward: typeof cfg.reward === 'string' ? cfg.reward : null,
    objectives: cfg.objectives ?? [],
    units: Object.fromEntries(Object.entries(cfg.space ?? {}).flatMap(([k, v]) => (v && typeof v === 'object' && typeof (v as { unit?: unknown }).unit === 'string' ? [[k, (v as { unit: string }).unit]] : []))),
  };
}
