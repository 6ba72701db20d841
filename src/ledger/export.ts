import { resolve } from 'node:path';
import type { Parameters } from '../core/protocols.js';
import type { Ledger } from './ledger.js';
import type { DocumentBodies } from './documents.js';

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
    fidelity: string | null;
    predicted: Record<string, { mean: number; std: number }>;
    predictedReward: number | null;
    selectedRank: number | null;
    jobs: Array<{ jobId: string; capability: string; attempt: number; status: string; rigId: string | null }>;
    measured: Record<string, number>;
    measuredReward: number | null;
    feasible: boolean | null;
  }>;
}

export function exportCampaign(ledger: Ledger, campaignId: string): ExportDocument {
  const c = ledger.campaign(campaignId)!;
  const jobs = ledger.jobs(campaignId);
  return {
    campaign: { id: c.id, name: c.name, status: c.status, configHash: c.configHash, seed: c.seed, source: c.source, versions: c.versions, createdAt: c.createdAt },
    trials: ledger.trials(campaignId).map((t) => ({
      trialId: t.id,
      round: t.round,
      index: t.index,
      status: t.status,
      agent: t.agent,
      params: t.params,
      fidelity: t.fidelity,
      predicted: t.prediction ?? {},
      predictedReward: t.predictedReward,
      selectedRank: t.selectedRank,
      jobs: jobs.filter((j) => j.trialId === t.id).map((j) => ({ jobId: j.jobId, capability: j.capability, attempt: j.attempt, status: j.status, rigId: j.rigId })),
      measured: t.measured ?? {},
      measuredReward: t.measuredReward,
      feasible: t.feasible,
    })),
  };
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** RFC 4180 CSV: fixed provenance columns, then params, predictions (mean, std) and measurements. */
export function toCsv(doc: ExportDocument): string {
  const params = [...new Set(doc.trials.flatMap((t) => Object.keys(t.params)))];
  const preds = [...new Set(doc.trials.flatMap((t) => Object.keys(t.predicted)))];
  const meas = [...new Set(doc.trials.flatMap((t) => Object.keys(t.measured)))];
  const header = [
    'campaign_id', 'config_hash', 'seed', 'poreloop_version', 'trial_id', 'round', 'index', 'status', 'agent', 'fidelity',
    ...params.map((p) => `param_${p}`),
    ...preds.flatMap((p) => [`pred_${p}`, `pred_${p}_std`]),
    'predicted_reward', 'selected_rank', 'rig_jobs', 'attempts',
    ...meas.map((m) => `meas_${m}`),
    'measured_reward', 'feasible',
  ];
  const lines = [header.join(',')];
  for (const t of doc.trials) {
    lines.push(
      [
        doc.campaign.id, doc.campaign.configHash, doc.campaign.seed, doc.campaign.versions.poreloop, t.trialId, t.round, t.index, t.status, t.agent, t.fidelity,
        ...params.map((p) => t.params[p]),
        ...preds.flatMap((p) => [t.predicted[p]?.mean, t.predicted[p]?.std]),
        t.predictedReward, t.selectedRank, t.jobs.length, t.jobs.reduce((s, j) => s + j.attempt, 0),
        ...meas.map((m) => t.measured[m]),
        t.measuredReward, t.feasible === null ? '' : String(t.feasible),
      ].map(cell).join(','),
    );
  }
  return lines.join('\n') + '\n';
}

export interface TrialSummary {
  trialId: string;
  round: number;
  params: Parameters;
  predicted: Record<string, number>;
  measured: Record<string, number>;
  predictedReward: number | null;
  measuredReward: number | null;
  feasible: boolean | null;
}

export interface CampaignSummary {
  campaignId: string;
  name: string;
  status: string;
  stopReason: string | null;
  rounds: number;
  rigRuns: number;
  trials: number;
  best: TrialSummary | null;
  /** The five best trials by measured reward (feasible, completed). */
  top: TrialSummary[];
  ledger: string;
  wallTimeS: number;
  /** The batch that waits at the approval gate for `poreloop approve|reject`, if any (issue #14). */
  awaitingApproval: { round: number; trialIds: string[] } | null;
}

/** The latest batch put before the approval gate that has no decision yet, or null. */
export function pendingApproval(ledger: Ledger, campaignId: string): { round: number; trialIds: string[] } | null {
  const r = ledger.db.prepare("SELECT body FROM documents WHERE campaign_id = ? AND type = 'ApprovalRequested' ORDER BY seq DESC LIMIT 1").get(campaignId) as { body: string } | undefined;
  if (!r) return null;
  const req = JSON.parse(r.body) as DocumentBodies['ApprovalRequested'];
  return ledger.hasDocument(campaignId, 'ApprovalGiven', `round:${req.round}`) ? null : { round: req.round, trialIds: req.trialIds };
}

/** The closing summary of a campaign (CLI table, `--json` document, library result). */
export function summariseCampaign(ledger: Ledger, campaignId: string, wallTimeS: number): CampaignSummary {
  const row = ledger.campaign(campaignId)!;
  const trials = ledger.trials(campaignId);
  const toSummary = (t: (typeof trials)[number]): TrialSummary => ({
    trialId: t.id,
    round: t.round,
    params: t.params,
    predicted: Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean])),
    measured: t.measured ?? {},
    predictedReward: t.predictedReward,
    measuredReward: t.measuredReward,
    feasible: t.feasible,
  });
  const measured = trials.filter((t) => t.status === 'completed' && t.feasible && t.measuredReward !== null).sort((a, b) => b.measuredReward! - a.measuredReward!);
  return {
    campaignId,
    name: row.name,
    status: row.status,
    stopReason: row.stopReason,
    rounds: row.rounds,
    rigRuns: row.rigRuns,
    trials: trials.length,
    best: measured[0] ? toSummary(measured[0]) : null,
    top: measured.slice(0, 5).map(toSummary),
    ledger: resolve(ledger.path),
    wallTimeS,
    awaitingApproval: row.status === 'running' || row.status === 'paused' ? pendingApproval(ledger, campaignId) : null,
  };
}
