import type { Fidelity, Parameters, PropertyEstimate, RigEvent } from '../core/protocols.js';

/**
 * The ledger's document types (DESIGN.md "Ledger"): append-only, the source of truth for
 * resume, replay and export. Every document is JSON; `key` (when given) makes an append
 * idempotent — a second document of the same type and key for the same campaign is ignored,
 * which is how re-delivered rig events and re-run effects after a resume stay harmless.
 */
export interface DocumentBodies {
  CampaignStarted: { name: string; config: unknown; configHash: string; seed: number; source: string; versions: Record<string, string> };
  CampaignResumed: { pid: number; fromState: string };
  RoundStarted: { round: number };
  TrialProposed: { trialId: string; round: number; index: number; params: Parameters; agent: string };
  TrialScored: {
    trialId: string;
    /** The estimates the reward used (corrected toward reality when a correction exists). */
    properties: Record<string, PropertyEstimate>;
    /** The P-model's own estimates, when a correction changed them. */
    raw?: Record<string, PropertyEstimate>;
    /** Absent when nothing was predicted: a `prior` before any data (stage-wise trials; review 2026-12-07). */
    fidelity?: Fidelity;
    reward: number;
    /**
     * σ of `reward` from the properties' σ (src/predict/uncertainty.ts `rewardStd`: from the
     * realisations where the estimates carry them; issue #13). Absent in ledgers written before it.
     */
    rewardStd?: number;
    achieved?: Record<string, number>;
    /** Properties the domain is too small for: CV over twin realisations above predict.rveMaxCv (issue #13). */
    rveWarnings?: string[];
    /**
     * The properties whose mean in `properties` (and `raw`) is ±∞ — an anode with no percolating
     * triple-phase boundary has an infinite loss: computable and terrible — which JSON stores as
     * null, like an unknown (NaN) mean (sofc-device review 2026-12-07: read back as "unknown").
     */
    infinite?: Record<string, 'Infinity' | '-Infinity'>;
  };
  /**
   * A trial scored again after an operator edited its parameters at the approval gate (issue #18
   * review): the edited recipe's own prediction, as TrialScored (which keeps the proposal's).
   */
  TrialRescored: DocumentBodies['TrialScored'];
  /**
   * The agent's state right after a round's proposal (its `snapshot`; #21 review), written in
   * one transaction with the round's TrialProposed documents, for agents that can snapshot:
   * proposing changes the state (CMA-ES hands out members of its generation), and a process
   * killed before the round's AgentLearned — scoring may take minutes of physics — must resume
   * from the state those proposals came from.
   */
  AgentProposed: { round: number; proposed: number; snapshot?: unknown };
  /** trialIds: async mode (issue #21), the ended trials this assimilation took. */
  AgentLearned: { round: number; observations: number; fidelity: Fidelity; snapshot?: unknown; trialIds?: string[] };
  TrialSelected: {
    trialId: string;
    round: number;
    rank: number;
    predictedReward: number;
    /**
     * Why it was chosen, when a reality model chose (issue #13): the acquisition (`log-ei-real`:
     * ln of the expected improvement of the real reward; `mean-real` before any rig result),
     * its value, and the estimate of the real reward (mean, σ) at the time.
     */
    acquisition?: { name: string; value: number; mean: number; std: number };
  };
  ApprovalRequested: { round: number; trialIds: string[] };
  ApprovalGiven: { round: number; decision: 'approve' | 'reject' | 'edit'; trialIds: string[]; edits?: Record<string, Parameters>; by: string };
  JobDispatched: {
    jobId: string;
    trialId: string;
    stage: number;
    capability: string;
    attempt: number;
    params: Parameters;
    deadline: string;
    inputs?: Record<string, number>;
  };
  /** Which rig an attempt of a job went to, written before the job is on the wire (Rig.onSent). */
  JobSent: { jobId: string; attempt: number; rigId: string };
  RigEventReceived: RigEvent;
  MeasurementRecorded: {
    jobId: string;
    trialId: string;
    stage: number;
    capability: string;
    rigId: string;
    measurements: Record<string, number>;
    feasible: boolean;
  };
  /** A job's final failure (attempts that the dispatcher retries are RigEventReceived with `final: false`). */
  JobFailed: { jobId: string; trialId: string; stage: number; attempt: number; reason: string };
  /**
   * `params` (issue #17, stage-wise trials): the settings the stages were run with — each stage's
   * JobDispatched params, chosen after the stages before it — which replace the trial's planned
   * parameters in the projection (export, reward, best); the plan stays in TrialProposed.
   * Stages never run (after an infeasible one) have no settings here.
   * `nonFinite` (review 2026-12-07): why a feasible trial's `reward` is not a finite number —
   * the first measured property that makes it −∞ ('sigma_eff_z = 0 → reward −∞'), or the
   * properties it reads that the rigs did not measure (NaN) — for status and the summary (JSON
   * stores ±∞ and NaN alike as null).
   */
  TrialCompleted: { trialId: string; measured: Record<string, number>; reward: number; feasible: boolean; params?: Parameters; nonFinite?: string };
  /**
   * `kind` (issue #21 review): what ended the trial, so that a reader can tell an abandonment
   * that says something about the recipe (`approval`: rejected at the approval gate) from one
   * that does not (`rig`: a stage failed for good — the protocol's recipe failure is an
   * infeasible *result*, never this; `campaign-end`; `result`: the reward could not use the
   * measurements). Absent in ledgers written before it: `abandonKind` infers it from `reason`.
   */
  TrialAbandoned: { trialId: string; reason: string; kind?: AbandonKind };
  /**
   * Issue #20 (docs/rig-protocol.md §12): what a durability test that did not reach end of life
   * (stopped early, or cut at its planned length) did not measure, *predicted* by the early-life
   * model from the test's early window — never a measurement. Written in one transaction with
   * the trial's TrialCompleted, whose reward is then NaN (no measured reward); `reward` and
   * `rewardStd` here are the reward with the estimate, which agents see at fidelity `early-life`.
   */
  EstimateRecorded: {
    trialId: string;
    stage: number;
    capability: string;
    fidelity: 'early-life';
    estimates: Record<string, { mean: number; std: number }>;
    basis: 'stopped-early' | 'censored';
    /** Provenance: the model's name, the hash of its training data and where it was loaded from. */
    model: { id: string; dataHash: string; path: string };
    reward: number;
    rewardStd?: number;
  };
  /**
   * Warm start (issue #19): an earlier measurement imported as a real (rig-fidelity)
   * observation — a completed trial of round 0 with agent "import", never proposed, scored or
   * dispatched — with where it came from: the file, its sha256 and the 1-based data row.
   */
  ObservationImported: { trialId: string; index: number; params: Parameters; measured: Record<string, number>; reward: number; feasible: boolean; source: { file: string; sha256: string; row: number } };
  ModelTrained: { kind: string; version: number; path?: string; dataHash: string; samples: number; metrics?: Record<string, number>; state?: unknown };
  MessageRejected: { topic: string; reason: string; payload: string };
  CommandIssued: { command: 'stop' | 'pause' | 'resume' | 'approve' | 'reject'; args?: Record<string, unknown>; by: string };
  /**
   * An operator command the campaign consumed without acting on it, and why (issue #18 review):
   * an approve/reject written for another round than the one waiting, or naming none.
   */
  CommandIgnored: { command: string; commandSeq: number; reason: string };
  /**
   * The rig fleet as the campaign process sees it (issue #18, the dashboard's fleet panel):
   * written when a rig's status changes and at least every FLEET_RECORD_MS while it runs.
   */
  RigFleetObserved: {
    rigs: Array<{ rigId: string; status: string; capabilities: string[]; inflight: number; lastSeenAt?: string }>;
    /** `exec: mqtt` (issue #21): the compute workers online for the campaign's lab, from their retained status. */
    workers?: Array<{ workerId: string; kinds: string[]; concurrency: number; host?: string }>;
  };
  CampaignStopped: { status: CampaignStatus; reason: string };
  /**
   * The machine reached `paused` at the end of `round - 1` (issue #18): the status is "paused"
   * until CampaignUnpaused (the same process goes on), CampaignResumed (a new process) or a stop.
   */
  CampaignPaused: { round: number };
  CampaignUnpaused: { round: number };
  /**
   * A trade-off chosen from a multi-objective campaign's results (`poreloop pick`, issue #16):
   * the trial, its objective values then, whether it was on the measured Pareto front, who chose.
   */
  TradeOffPicked: { trialId: string; values: Record<string, number>; onFront: boolean; by: string; note?: string };
}

export type DocumentType = keyof DocumentBodies;

export type CampaignStatus = 'running' | 'paused' | 'stopped' | 'completed' | 'failed';

export interface LedgerDocument<T extends DocumentType = DocumentType> {
  seq: number;
  campaignId: string;
  type: T;
  key: string | null;
  at: string;
  body: DocumentBodies[T];
}

/** What ended an abandoned trial (TrialAbandoned.kind, issue #21 review). */
export type AbandonKind = 'approval' | 'rig' | 'campaign-end' | 'result';

/**
 * The kind of a TrialAbandoned document: its `kind`, or — for ledgers written before the field
 * existed — inferred from the reason texts the runtime wrote (src/orchestrator/runtime.ts), so
 * that a resumed old campaign treats its abandonments as a new one would.
 */
export function abandonKind(body: DocumentBodies['TrialAbandoned']): AbandonKind {
  if (body.kind) return body.kind;
  const r = body.reason;
  if (/^(rejected|edited parameters refused) at the approval gate/.test(r)) return 'approval';
  if (r.startsWith('the campaign ended')) return 'campaign-end';
  if (r.startsWith('stage ')) return 'rig';
  return 'result';
}

/** Whether an abandonment says something about the recipe itself: only a person's rejection at the approval gate (issue #21 review). */
export const abandonConcernsRecipe = (body: DocumentBodies['TrialAbandoned']): boolean => abandonKind(body) === 'approval';
