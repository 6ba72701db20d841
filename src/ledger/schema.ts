import { z } from 'zod';
import type { DocumentBodies, DocumentType } from './documents.js';

/**
 * The schema of every ledger document (DESIGN.md style rule 4: everything that crosses a
 * boundary is JSON with a schema, validated where it enters; issue #15). `Ledger.append`
 * checks a body against its type's schema before anything is written. Each schema is typed
 * against `DocumentBodies`, so the two cannot drift apart without a compile error.
 *
 * Numbers that may legitimately be NaN or ±∞ (rewards, estimates, measurements: a candidate
 * the P-model could not score has reward NaN; JSON stores it as null) accept any number;
 * counters and positions must be non-negative integers.
 */
const anyNumber = z.custom<number>((v) => typeof v === 'number', { message: 'expected a number' });
const count = z.number().int().nonnegative();
const id = z.string().min(1);
const params = z.record(z.string(), z.union([z.number(), z.string()]));
const numbers = z.record(z.string(), anyNumber);
// spread, n and samples (issue #13) are absent from older ledgers' estimates, which stay valid.
const estimates = z.record(z.string(), z.object({ mean: anyNumber, std: anyNumber, spread: anyNumber.optional(), n: count.optional(), samples: z.array(anyNumber).optional() }));
const fidelity = z.enum(['prior', 'surrogate', 'simulation', 'early-life', 'rig']);
const campaignStatus = z.enum(['running', 'paused', 'stopped', 'completed', 'failed']);

const rigEvent = z.object({
  jobId: id,
  rigId: z.string(),
  seq: count,
  type: z.enum(['accepted', 'progress', 'result', 'failed', 'rejected', 'cancelled']),
  at: z.string(),
  protocol: z.string(),
  progress: anyNumber.optional(),
  measurements: numbers.optional(),
  feasible: z.boolean().optional(),
  reason: z.string().optional(),
  attempt: count.optional(),
  final: z.boolean().optional(),
  origin: z.enum(['rig', 'dispatcher']).optional(),
  late: z.boolean().optional(),
});

const trialScored = z.object({
  trialId: id,
  properties: estimates,
  raw: estimates.optional(),
  // Absent when nothing was predicted (a stage-wise trial: no twin, no data; review 2026-12-07).
  fidelity: fidelity.optional(),
  reward: anyNumber,
  rewardStd: anyNumber.optional(),
  achieved: numbers.optional(),
  rveWarnings: z.array(z.string()).optional(),
  infinite: z.record(z.string(), z.enum(['Infinity', '-Infinity'])).optional(),
});

export const DOCUMENT_SCHEMAS: { [T in DocumentType]: z.ZodType<DocumentBodies[T]> } = {
  CampaignStarted: z.object({ name: z.string(), config: z.unknown(), configHash: z.string(), seed: count, source: z.string(), versions: z.record(z.string(), z.string()) }),
  CampaignResumed: z.object({ pid: count, fromState: z.string() }),
  RoundStarted: z.object({ round: count }),
  TrialProposed: z.object({ trialId: id, round: count, index: count, params, agent: z.string() }),
  TrialScored: trialScored,
  TrialRescored: trialScored,
  AgentProposed: z.object({ round: count, proposed: count, snapshot: z.unknown().optional() }),
  AgentLearned: z.object({ round: count, observations: count, fidelity, snapshot: z.unknown().optional(), trialIds: z.array(id).optional() }),
  TrialSelected: z.object({ trialId: id, round: count, rank: count, predictedReward: anyNumber, acquisition: z.object({ name: z.string(), value: anyNumber, mean: anyNumber, std: anyNumber }).optional() }),
  ApprovalRequested: z.object({ round: count, trialIds: z.array(id) }),
  ApprovalGiven: z.object({ round: count, decision: z.enum(['approve', 'reject', 'edit']), trialIds: z.array(id), edits: z.record(z.string(), params).optional(), by: z.string() }),
  JobDispatched: z.object({ jobId: id, trialId: id, stage: count, capability: z.string(), attempt: count, params, deadline: z.string(), inputs: numbers.optional() }),
  JobSent: z.object({ jobId: id, attempt: count, rigId: z.string() }),
  RigEventReceived: rigEvent,
  MeasurementRecorded: z.object({ jobId: id, trialId: id, stage: count, capability: z.string(), rigId: z.string(), measurements: numbers, feasible: z.boolean() }),
  JobFailed: z.object({ jobId: id, trialId: id, stage: count, attempt: count, reason: z.string() }),
  TrialCompleted: z.object({ trialId: id, measured: numbers, reward: anyNumber, feasible: z.boolean(), params: params.optional() }),
  TrialAbandoned: z.object({ trialId: id, reason: z.string(), kind: z.enum(['approval', 'rig', 'campaign-end', 'result']).optional() }),
  EstimateRecorded: z.object({
    trialId: id, stage: count, capability: z.string(), fidelity: z.literal('early-life'), estimates, basis: z.enum(['stopped-early', 'censored']),
    model: z.object({ id: z.string(), dataHash: z.string(), path: z.string() }), reward: anyNumber, rewardStd: anyNumber.optional(),
  }),
  ObservationImported: z.object({ trialId: id, index: count, params, measured: numbers, reward: anyNumber, feasible: z.boolean(), source: z.object({ file: z.string(), sha256: z.string(), row: count }) }),
  ModelTrained: z.object({ kind: z.string(), version: count, path: z.string().optional(), dataHash: z.string(), samples: count, metrics: numbers.optional(), state: z.unknown().optional() }),
  MessageRejected: z.object({ topic: z.string(), reason: z.string(), payload: z.string() }),
  CommandIssued: z.object({ command: z.enum(['stop', 'pause', 'resume', 'approve', 'reject']), args: z.record(z.string(), z.unknown()).optional(), by: z.string() }),
  CommandIgnored: z.object({ command: z.string(), commandSeq: count, reason: z.string() }),
  CampaignStopped: z.object({ status: campaignStatus, reason: z.string() }),
  CampaignPaused: z.object({ round: count }),
  CampaignUnpaused: z.object({ round: count }),
  TradeOffPicked: z.object({ trialId: id, values: numbers, onFront: z.boolean(), by: z.string(), note: z.string().optional() }),
  RigFleetObserved: z.object({
    rigs: z.array(z.object({ rigId: z.string(), status: z.string(), capabilities: z.array(z.string()), inflight: count, lastSeenAt: z.string().optional() })),
    workers: z.array(z.object({ workerId: z.string(), kinds: z.array(z.string()), concurrency: count, host: z.string().optional() })).optional(),
  }),
};

/** Why `body` is not a valid `type` document, or null when it is. */
export function documentProblem(type: string, body: unknown): string | null {
  const schema = (DOCUMENT_SCHEMAS as Record<string, z.ZodType | undefined>)[type];
  if (!schema) return `unknown document type "${type}"; known: ${Object.keys(DOCUMENT_SCHEMAS).join(', ')}`;
  const r = schema.safeParse(body);
  if (r.success) return null;
  return r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}
