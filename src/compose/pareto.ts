/**
 * The Pareto front of a campaign from its ledger (issue #16), for `status`, the export, the run
 * summary and `pick`: the stored (resolved) config names the objectives and outcome
 * constraints, the trials carry predictions and measurements (src/reward/front.ts computes).
 * Light on purpose — ledger and reward only — so that `status` and `export` need not load the
 * composition root's TF.js and physics.
 */
import type { ExportDocument } from '../ledger/export.js';
import type { Ledger } from '../ledger/ledger.js';
import { campaignFront, frontTrials, objectiveSetOf, type FrontReport } from '../reward/front.js';

export interface ParetoReport extends FrontReport {
  /** Trade-offs chosen with `poreloop pick`, oldest first. */
  picked: { trialId: string; values: Record<string, number>; onFront: boolean; by: string; note?: string; at: string }[];
}

/** The campaign's Pareto report, or null when it has fewer than two objectives. */
export function paretoOf(ledger: Ledger, campaignId: string): ParetoReport | null {
  const row = ledger.campaign(campaignId);
  const set = row ? objectiveSetOf(row.config) : null;
  if (!set) return null;
  const report = campaignFront(frontTrials(ledger.trials(campaignId)), set);
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
  // The history is by round, ascending (campaignFront): the entry of the last round up to a
  // trial's by binary search, not a reversed copy of the whole history per trial (scale
  // review: trials × rounds).
  const rounds = report.hypervolume.map((h) => h.round);
  const values = report.hypervolume.map((h) => h.hypervolume);
  const hvAfter = (round: number): number | null => {
    let lo = 0;
    let hi = rounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rounds[mid] <= round) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? values[lo - 1] : null;
  };
  return { ...doc, pareto: report, trials: doc.trials.map((t) => ({ ...t, pareto: onFront.has(t.trialId), roundHypervolume: hvAfter(t.round) })) };
}
