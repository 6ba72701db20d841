/**
 * The Pareto front of a campaign from its ledger (issue #16), for `status`, the export, the run
 * summary and `pick`: the stored (resolved) config names the objectives and outcome
 * constraints, the trials carry predictions and measurements (src/reward/front.ts computes).
 * Light on purpose — ledger and reward only — so that `status` and `export` need not load the
 * composition root's TF.js and physics.
 */
import type { ExportDocument } from '../ledger/export.js';
import type { Ledger } from '../ledger/ledger.js';
import { campaignFront, type FrontReport, type FrontTrial } from '../reward/front.js';
import type { ObjectiveSpec, OutcomeConstraintSpec } from '../reward/objectives.js';

export interface ParetoReport extends FrontReport {
  /** Trade-offs chosen with `poreloop pick`, oldest first. */
  picked: { trialId: string; values: Record<string, number>; onFront: boolean; by: string; note?: string; at: string }[];
}

/** The objectives and outcome constraints of a stored config, or null for a single-objective campaign. */
export function objectiveSetOf(config: unknown): { objectives: ObjectiveSpec[]; constraints: OutcomeConstraintSpec[] } | null {
  const c = config as { objectives?: ObjectiveSpec[]; outcomeConstraints?: OutcomeConstraintSpec[] } | null;
  if (!c?.objectives || c.objectives.length < 2) return null;
  return { objectives: c.objectives, constraints: c.outcomeConstraints ?? [] };
}

export function frontTrials(ledger: Ledger, campaignId: string): FrontTrial[] {
  return ledger.trials(campaignId).map((t) => ({
    trialId: t.id,
    round: t.round,
    status: t.status,
    feasible: t.feasible,
    params: Object.fromEntries(Object.entries(t.params).filter((e): e is [string, number] => typeof e[1] === 'number')),
    predicted: Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean])),
    measured: t.measured ?? {},
  }));
}

/** The campaign's Pareto report, or null when it has fewer than two objectives. */
export function paretoOf(ledger: Ledger, campaignId: string): ParetoReport | null {
  const row = ledger.campaign(campaignId);
  const set = row ? objectiveSetOf(row.config) : null;
  if (!set) return null;
  const report = campaignFront(frontTrials(ledger, campaignId), set);
  const picked = ledger.documents(campaignId, 'TradeOffPicked').map((d) => ({ ...d.body, at: d.at }));
  return { ...report, picked };
}

/**
 * The export with the Pareto report (issue #16): every trial gets `pareto` (on the measured
 * front) and `roundHypervolume` (the front's hypervolume after its round; null before any
 * measured trial), the document the whole report (fronts, reference, history, picks).
 */
export function withParetoExport(doc: ExportDocument, report: ParetoReport | null): ExportDocument {
  if (!report) return doc;
  const onFront = new Set(report.measured.map((p) => p.trialId));
  const hvAfter = (round: number) => [...report.hypervolume].reverse().find((h) => h.round <= round)?.hypervolume ?? null;
  return { ...doc, pareto: report, trials: doc.trials.map((t) => ({ ...t, pareto: onFront.has(t.trialId), roundHypervolume: hvAfter(t.round) })) };
}
