import { createHash } from 'node:crypto';
import { Subject, filter, firstValueFrom, map, merge, startWith } from 'rxjs';
import type { Agent, Clock, Evidence, FidelityObservation, Observation, ParameterSpace, Parameters, Predictor, PropertyEstimate, RealityCorrection, RealityModel, RewardModel, Rig, RigEvent, RigJob, ScoreOptions } from '../core/protocols.js';
import { FIDELITY_ORDER } from '../core/protocols.js';
import { learningSet } from '../core/learning-set.js';
import { withMinusInfinityStandIn } from '../core/reward-stand-in.js';
import { hash32, type Rng } from '../core/rng.js';
import { PoreloopError } from '../core/errors.js';
import { encode, isFeasible, paramKey } from '../core/space.js';
import { abandonConcernsRecipe, type DocumentBodies } from '../ledger/documents.js';
import { isBusy, LedgerBusyError, type JobRow, type Ledger, type TrialRow } from '../ledger/ledger.js';
import { CampaignView, isOpenJob } from '../ledger/view.js';
import type { ApprovalDecision, ApprovalRequestOutput, AssimilateOutput, AwaitInput, FinishInput, RoundInput, SelectOutput } from './campaign.machine.js';

/**
 * The effects of the campaign loop, written against the interfaces of src/core only (an
 * Agent, a Predictor, a Rig) and the ledger. src/compose builds one of these per campaign and
 * hands its methods to the machine as named actors.
 *
 * Two rules make a crash at any point harmless (DESIGN.md, issues #2 and #8):
 * 1. write-ahead: a document is committed before its effect leaves the process (a job is
 *    recorded as dispatched before it is published);
 * 2. every step first looks in the ledger for what it already did (documents carry
 *    idempotency keys), so a step re-run after `resume` continues instead of repeating.
 */

export interface ProgressEvent {
  phase: 'propose' | 'score' | 'select' | 'approval' | 'dispatch' | 'rigs' | 'assimilate' | 'finish';
  round: number;
  done: number;
  total: number;
  message?: string;
}

/** A simulated trial as the reality model's data is built from it (CampaignRuntimeDeps.simulationEvidence). */
export interface SimulatedTrial {
  params: Parameters;
  properties: Record<string, PropertyEstimate>;
  rewardOf: (means: Record<string, number>) => number;
}

/**
 * Issue #20 (docs/rig-protocol.md §12): a pipeline stage whose test may end before it measures
 * everything — a durability test stopped at the end of its early window, or cut at its planned
 * length before the cell died. Built in src/compose/durability.ts; the runtime only records
 * what it returns (EstimateRecorded) and never counts it as a measurement.
 */
export interface StageEstimator {
  /** The capability whose results it reads. */
  stage: string;
  /** Inputs every job of that stage carries (e.g. `stopAtCycle`: the test stops itself after the early window). */
  inputs: Readonly<Record<string, number>>;
  /** What the stage's result did not measure, predicted from what it did; null when nothing is missing. */
  estimate(measurements: Readonly<Record<string, number>>): Promise<Pick<DocumentBodies['EstimateRecorded'], 'estimates' | 'basis' | 'model'> | null>;
}

/** One stage of a trial as the ledger records it: the settings sent (JobDispatched) and what the rig measured (MeasurementRecorded). */
export interface StageRecord {
  stage: number;
  capability: string;
  params: Parameters;
  measurements: Record<string, number>;
  feasible: boolean;
}

/**
 * Issue #17 (docs/stages.md, docs/rig-protocol.md §13): stage-wise trials. Each stage's job
 * carries the settings a stage policy chose after the measurements of the stages before it
 * (recorded in JobDispatched before it is sent, so a resume re-sends the same), and the
 * completed trials' stage records are the real episodes the policy learns from. Built in
 * src/compose/stage-rigs.ts; the runtime only asks and records.
 */
export interface StagedExecution {
  /** The job of stage `stage` of a trial: its settings and inputs, given the records of the stages before it. */
  job(trialParams: Parameters, stage: number, before: readonly StageRecord[]): { params: Parameters; inputs?: Record<string, number> };
  /** Learns from every completed trial's stage records; returns the new policy version as a ModelTrained body. */
  learn(trials: ReadonlyArray<{ trialId: string; stages: StageRecord[]; measured: Record<string, number>; reward: number; feasible: boolean }>): Promise<DocumentBodies['ModelTrained']>;
}

export interface CampaignRuntimeDeps {
  ledger: Ledger;
  campaignId: string;
  agent: Agent;
  space: ParameterSpace;
  /**
   * `commit` (src/predict/predictor.ts, `commit: 'caller'`): called once the scores of a
   * `score` call (or the rows of `observe`) are in the ledger, and again when a resumed step
   * finds them there — the predictor's training rows and model follow the ledger, never run
   * ahead of it (reproducibility review, item 1).
   */
  predictor: Predictor & { commit?(options: { seed: number }): Promise<void> };
  /** Scalar reward of a set of properties (and the parameters that produced them). */
  rewardOf: (properties: Record<string, number>, params: Parameters) => number;
  /**
   * σ of the reward given the properties' estimates (issue #13: src/predict/uncertainty.ts
   * `rewardStd`, from the realisations where the estimates carry them), recorded in
   * TrialScored; omit to record none.
   */
  rewardStd?: (properties: Record<string, PropertyEstimate>, rewardOf: (means: Record<string, number>) => number) => number;
  /**
   * The simulated trials (raw P-model estimates, reward of their means) as the reality model's
   * data, each with the σ to weigh it by (src/predict/uncertainty.ts `simulationEvidence`: an
   * unknown or infinite σ is never taken as 0 — issue #13 review). Omit: no simulation gets a σ.
   */
  simulationEvidence?: (simulated: readonly SimulatedTrial[]) => FidelityObservation[];
  rig: Rig;
  /** Capabilities each selected trial passes through, in order. */
  pipeline: readonly string[];
  candidatesPerRound: number;
  /** Candidates of the first round when more than candidatesPerRound (config predict.screen, issue #13). */
  screenCandidates?: number;
  /** Trials per round (sync); the most trials in flight at once (async). */
  batchSize: number;
  /**
   * Issue #21 (docs/async.md): `async` gives a free rig slot the next candidate at once and
   * proposes with the pending trials taken into account; absent or `sync`: whole batches.
   */
  mode?: 'sync' | 'async';
  /**
   * Async only (config loop.warmup, issue #21): no freed slot is refilled until this many
   * selected trials have ended. With 20 in flight, a slot freed after 3 results otherwise got a
   * pick from a 3-result model, which arrived about 20 results later as if it were a late one
   * (docs/async.md). Derived from the ledger, so a resumed campaign waits exactly as well.
   */
  warmup?: number;
  timeoutMs: number;
  maxAttempts: number;
  seed: number;
  clock: Clock;
  rng: Rng;
  /** Parameters held fixed by the config (sent to rigs with every job). */
  fixed: Parameters;
  /** Rig protocol version stamped on every job. */
  protocol: string;
  /** A cheap reward model for model-based agents (the surrogate), passed as ctx.model. */
  model?: RewardModel;
  /** The reward update from the physical world (issue #6); omit to trust the P-model as is. */
  correction?: RealityCorrection;
  /**
   * The multi-fidelity model of the real reward (issue #13; twin campaigns): refitted from the
   * simulations and rig results after every scoring and every assimilation; the agents learn
   * from its estimates (history) and the rigs get the candidates of highest expected
   * improvement of the real reward under it (select). Omit: rank by the (corrected) P-model.
   */
  reality?: RealityModel;
  /**
   * Multi-objective campaigns (issue #16): the goal-signed objective vector and the outcome-
   * constraint slacks of a set of values (properties, with parameters); the agents see them as
   * Observation.objectives / .constraints. Omit for single-objective campaigns.
   */
  objectivesOf?: (values: Record<string, number>, params: Parameters) => { objectives: number[]; constraints: number[] };
  /**
   * Multi-objective campaigns (issue #16; built in src/compose/front-selection.ts): the front
   * decides instead of the scalar reward. `rank` orders a round's candidates (given best scalar
   * first, which breaks ties) for the rigs by greedy expected hypervolume improvement of their
   * predicted objectives over the measured front; `gained` says whether a round's measurements
   * added dominated hypervolume to the measured front (stop.noImprovementRounds counts rounds
   * without). Takes precedence over `reality` in select.
   */
  front?: {
    rank: (candidates: readonly TrialRow[], trials: readonly TrialRow[], round: number) => { index: number; value: number }[];
    gained: (trials: readonly TrialRow[], round: number) => boolean;
  };
  /** Rig measurements as training data (twin-less campaigns learn their P-model from them). */
  observe?: (rows: Array<{ params: Parameters; measured: Record<string, number> }>) => Promise<void>;
  /**
   * The names the rigs must report (`rigs.measure`): a trial whose measurements lack one is
   * abandoned with a reason naming it, instead of waiting forever (issue #14).
   */
  measure?: readonly string[];
  /** Issue #20: estimates of what a stage's test did not measure (early-stopped durability tests). */
  estimator?: StageEstimator;
  /** Issue #17: stage-wise trials, each stage's settings chosen after the last stage's measurement. */
  staged?: StagedExecution;
  onProgress?: (e: ProgressEvent) => void;
  log?: (line: string) => void;
}

/**
 * A caller's callback that cannot end the campaign (library review: a throw in `onProgress`
 * failed the campaign, and a failed campaign cannot be resumed). A throw is caught; the first
 * one is reported through `report`, naming the callback, and the campaign goes on — calling it
 * again, reporting no more of its throws.
 */
export function guardCallback<A extends unknown[]>(name: string, callback: ((...args: A) => void) | undefined, report: (line: string) => void): ((...args: A) => void) | undefined {
  if (!callback) return undefined;
  let reported = false;
  return (...args: A) => {
    try {
      callback(...args);
    } catch (e) {
      if (reported) return;
      reported = true;
      report(`the ${name} callback threw (${e instanceof Error ? e.message : String(e)}); the campaign goes on, and further throws of ${name} are not reported`);
    }
  };
}

/** Where a throwing `log` is reported: it cannot report itself. */
export const warnProcess = (line: string) => process.emitWarning(line, 'PoreloopWarning');

/**
 * How often one rig event is tried when the ledger is locked, the first try included. Each try
 * waits for the write lock already (Ledger.transaction: busy_timeout, BEGIN_ATTEMPTS times).
 */
const RECORD_ATTEMPTS = 2;

export class CampaignRuntime {
  private readonly changes = new Subject<void>();
  /**
   * Set when a rig event could not be recorded: the campaign stops (finish: `stopped`, so that
   * it can be resumed), and every step after refuses to run (review of two campaigns on one
   * ledger, 2026-12-07: the failure was logged and the result dropped; the round hung).
   */
  private unrecorded: Error | null = null;
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private closed = false;
  /** JSON of the last agent snapshot this process wrote to the ledger (appendAgentState). */
  private recordedSnapshot?: string;
  /** Jobs this process has sent (a resumed process re-sends the others once). */
  private readonly sent = new Set<string>();
  /** Indexed reads of this campaign's ledger (issue #15: no whole-table reads to find one row). */
  private readonly view: CampaignView;

  private readonly d: CampaignRuntimeDeps;

  constructor(deps: CampaignRuntimeDeps) {
    // The caller's callbacks cannot end the campaign (guardCallback).
    const log = guardCallback('log', deps.log, warnProcess);
    this.d = { ...deps, log, onProgress: guardCallback('onProgress', deps.onProgress, (line) => (log ?? warnProcess)(line)) };
    this.view = new CampaignView(deps.ledger, deps.campaignId, deps.fixed);
  }

  /**
   * Starts listening to rig events. Call once before running the machine. Timeouts, retries
   * with attempt numbers and re-assignment of a lost rig's jobs belong to the Rig (the MQTT
   * dispatcher): it reports each ended attempt (`final: false`) and exactly one final event.
   */
  start(): void {
    this.restoreAgent();
    // The correction is a deterministic function of the ledger's evidence: refit, don't store-and-load.
    this.d.correction?.update(this.evidence());
    this.refitReality();
    const events = this.d.rig.onEvent((e) => this.enqueue(() => this.recordRigEvent(e)));
    // Not queued: the record must be in the ledger before the job is on the wire (write-ahead).
    // A throw here went to the rig's event emitter, which reported it as an uncaught exception
    // and killed the process (review of two campaigns on one ledger, 2026-12-07); the job is
    // recorded (JobDispatched) either way, and a resume re-sends it.
    const sent = this.d.rig.onSent?.((s) => {
      if (this.closed) return;
      try {
        this.ledger.append(this.d.campaignId, 'JobSent', { jobId: s.jobId, attempt: s.attempt, rigId: s.rigId }, `${s.jobId}:${s.attempt}:${s.rigId}`);
      } catch (e) {
        // Review of 0e10d79: the lease guard's refusal is no reason to stop and say "resume continues it" — the new owner runs it.
        if (this.ownerElsewhere()) return;
        this.stopUnrecorded(`JobSent of job ${s.jobId} (attempt ${s.attempt}, rig ${s.rigId})`, e);
      }
    });
    this.unsubscribe = () => {
      events();
      sent?.();
    };
    this.enqueue(() => this.reconcile());
  }

  /**
   * After a resume: jobs the ledger records as dispatched but without an outcome are sent again
   * with the same jobId, preferring the rig that had them. Results that arrived while we were
   * down come through the persistent MQTT session; a rig that already finished a job answers
   * from its record of finished jobs instead of running it again (docs/rig-protocol.md).
   */
  private async reconcile(): Promise<void> {
    const open = this.view.openJobs();
    for (const j of open) {
      if (!this.sent.has(j.jobId)) await this.resend(j);
    }
    // A process killed after a stage's measurement was recorded but before the next step was
    // written left a trial with the rigs and no job open: its next stage was never dispatched,
    // or its last stage never completed it, and the round waited forever (found by the
    // SIGKILL fault suite, issue #15). Take the step the measurement called for.
    const busy = new Set(open.map((j) => j.trialId));
    for (const t of [...this.view.withStatus('dispatched'), ...this.view.withStatus('running')]) {
      if (busy.has(t.id)) continue;
      const m = this.view.lastMeasured(t.id);
      if (!m) continue;
      if (m.feasible && m.stage < this.d.pipeline.length - 1) await this.sendJob(t, m.stage + 1, 1, this.view.measuredOf(t.id));
      else await this.completeTrial(t, m.feasible);
    }
    // A round whose last trials were completed here gets no rig event to wake awaitRigs (#20 review).
    this.changes.next();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    await this.queue;
    this.changes.complete();
  }

  /** Named actors for `campaignMachine.provide({ actors })` (see src/compose). */
  actors() {
    // After a rig event that could not be recorded no step runs: the campaign goes to finish.
    // A step whose own writes found the ledger locked for good stops it the same way (`stopped`,
    // resumable: every step first looks in the ledger for what it already did), not `failed`.
    const live =
      <I, O>(name: string, step: (i: I) => Promise<O>) =>
      async (i: I): Promise<O> => {
        if (this.unrecorded) throw this.unrecorded;
        try {
          return await step(i);
        } catch (e) {
          if (!(isBusy(e) || e instanceof LedgerBusyError)) throw e;
          this.stopUnrecorded(`${name} step's work`, e);
          throw this.unrecorded;
        }
      };
    return {
      propose: live('propose', (i: RoundInput) => this.propose(i)),
      score: live('score', (i: RoundInput) => this.score(i)),
      select: live('select', (i: RoundInput & { remaining: number }) => this.select(i)),
      requestApproval: live('requestApproval', (i: RoundInput) => this.requestApproval(i)),
      dispatch: live('dispatch', (i: RoundInput) => this.dispatch(i)),
      awaitRigs: live('awaitRigs', (i: AwaitInput) => this.awaitRigs(i)),
      assimilate: live('assimilate', (i: RoundInput) => this.assimilate(i)),
      finish: (i: FinishInput) => this.finish(i),
    };
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────

  private get ledger(): Ledger {
    return this.d.ledger;
  }

  private progress(e: ProgressEvent): void {
    this.d.onProgress?.(e);
  }

  private enqueue(task: () => Promise<void> | void): void {
    this.queue = this.queue.then(task).catch((e) => this.d.log?.(`rig event handling failed: ${(e as Error).message}`));
  }

  /**
   * Records a rig event and its consequences (onRigEvent). A rig result must never be dropped
   * (issue #14), and it was when the ledger was locked by another process (review of two
   * campaigns on one ledger, 2026-12-07: logged, the job left `accepted`, the round waiting past
   * rigs.timeout). A locked ledger is tried again; then the campaign stops, loudly and in a
   * state `poreloop resume` continues: the job stays open in the ledger, the resumed process
   * re-sends it and the rig answers from its record of finished jobs (docs/rig-protocol.md) —
   * the dispatcher here has already ended the job and would not deliver the event again.
   * Every write of onRigEvent is keyed, so a second try records nothing twice; the reconcile
   * after it takes the step a measurement recorded by the first try called for.
   */
  private async recordRigEvent(e: RigEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.onRigEvent(e);
        if (attempt > 1) await this.reconcile();
        return;
      } catch (err) {
        // A write the lease guard refused (another process took the campaign over) is its owner's
        // to handle: src/compose stops this process, and the new owner re-sends the job.
        if (this.ownerElsewhere()) throw err;
        const locked = isBusy(err) || err instanceof LedgerBusyError;
        if (!locked || attempt >= RECORD_ATTEMPTS) return this.stopUnrecorded(`${e.type} event of job ${e.jobId} (rig ${e.rigId})`, err);
        this.d.log?.(`the ${e.type} event of job ${e.jobId} could not be recorded yet (${(err as Error).message}); trying again`);
      }
    }
  }

  /**
   * Whether a failed write is not this runtime's to handle: it is closed, or the lease guard
   * refuses writes because another process took the campaign over (src/compose stops this
   * process, and the new owner re-sends the open jobs). Shared by recordRigEvent and onSent.
   */
  private ownerElsewhere(): boolean {
    return this.closed || this.ledger.refusesWrites(this.d.campaignId);
  }

  /**
   * Stops the campaign because `what` could not be recorded (recordRigEvent, actors(); the
   * composition root's lease renewal, src/compose/campaign.ts); finish makes it `stopped`. A
   * machine in a waiting state (approval gate, paused) also needs the `campaign.stop` event.
   * An error that is not a lock (a rig.dispatch rejection for the next stage, …) is said to be
   * one the event "could not be handled" for, not a ledger that refused it (review of 0e10d79).
   */
  stopUnrecorded(what: string, err: unknown): void {
    if (this.unrecorded) return;
    const locked = isBusy(err) || err instanceof LedgerBusyError;
    this.unrecorded = new Error(
      `the ${what} could not be ${locked ? 'recorded in the ledger' : 'handled'} (${(err as Error)?.message ?? String(err)}); the campaign stops so that nothing is lost: ` +
        `"poreloop resume ${this.d.campaignId}" continues it from the ledger (open jobs are re-sent, and their rigs answer from their records)`,
      { cause: err },
    );
    this.d.log?.(this.unrecorded.message);
    // An awaitRigs that waits ends now; every later step refuses to run (actors()).
    this.changes.error(this.unrecorded);
  }

  /**
   * Everything observed so far, as the agent sees it. With a reality model (issue #13) a
   * simulated trial's reward is the model's current estimate of the REAL reward there, so the
   * agents optimise the corrected model, never the raw simulation (agents/common.ts learningSet).
   */
  private history(): Observation[] {
    const out: Observation[] = [];
    const trials = this.view.trials();
    const simulated = this.d.reality ? trials.filter((t) => t.fidelity === 'simulation') : [];
    const estimate = new Map(simulated.map((t, i) => [t.id, i]));
    const estimates = simulated.length ? this.d.reality!.estimate(simulated.map((t) => t.params)) : [];
    for (const t of trials) {
      if (t.predictedReward !== null || t.fidelity) {
        const e = estimate.get(t.id);
        out.push({ params: t.params, reward: e !== undefined ? estimates[e].mean : this.predictedRewardOf(t), fidelity: (t.fidelity as Observation['fidelity']) ?? 'simulation' });
      }
      const rig = t.status === 'completed' ? this.rigObservation(t) : undefined;
      if (rig) out.push(rig);
    }
    return this.withObjectives(out);
  }

  /**
   * Issue #16: each observation with its objectives and constraint slacks — from the P-model's
   * (corrected) estimates for a digital-space observation, from the measurements for a rig
   * observation (a trial whose objectives need a prediction of what the rigs did not measure has
   * no rig observation, restsOnPrediction; the predictions filled in here change nothing of one
   * that has); a failed manufacture has none.
   */
  private withObjectives(out: Observation[]): Observation[] {
    const of = this.d.objectivesOf;
    if (!of) return out;
    const values = new Map<string, { values: Record<string, number>; params: Parameters } | null>();
    for (const t of this.view.trials()) {
      const predicted = Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean]));
      const key = paramKey(t.params);
      if (t.prediction) values.set(`digital:${key}`, { values: predicted, params: this.view.paramsOf(t) });
      if (t.status === 'completed') values.set(`rig:${key}`, t.feasible === false ? null : { values: { ...predicted, ...(t.measured ?? {}) }, params: this.view.paramsOf(t) });
    }
    return out.map((o) => {
      const v = values.get(`${o.fidelity === 'rig' ? 'rig' : 'digital'}:${paramKey(o.params)}`);
      return v ? { ...o, ...of(v.values, v.params) } : o;
    });
  }

  /** A trial's P-model score as it stands: re-scored after an edit at the approval gate, else as proposed. */
  private scoredOf(trialId: string): DocumentBodies['TrialScored'] | undefined {
    // ±∞ means (JSON's null, named by `infinite`) are restored by the ledger as it reads the
    // document (withInfiniteMeans in src/ledger/ledger.ts; diff review 2026-12-07, item 5).
    return (this.view.document('TrialRescored', trialId) ?? this.view.document('TrialScored', trialId))?.body;
  }

  /**
   * The documents of P-model scores: corrected toward reality when a correction exists (the raw
   * estimates kept beside), with the reward's σ and the RVE warnings (issue #13).
   */
  private scoredBodies(todo: readonly TrialRow[], full: Parameters[], scores: Awaited<ReturnType<Predictor['score']>>): Array<DocumentBodies['TrialScored']> {
    const rewardOf = (means: Record<string, number>, params: Parameters) =>
      Object.values(means).every((v) => Number.isFinite(v) || v === Infinity) ? this.d.rewardOf(means, params) : Number.NaN;
    const corrected = this.d.correction?.apply(full, scores.map((s) => s.properties), rewardOf, this.worstReward());
    return todo.map((t, i) => {
      const s = scores[i];
      const means = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, v.mean]));
      const c = corrected?.[i];
      const properties = c?.properties ?? s.properties;
      const rewardStd = this.d.rewardStd?.(properties, (m) => rewardOf(m, full[i]));
      const infinite = infiniteMeans(properties);
      // A prior before any data predicts nothing (every mean NaN: stage-wise trials, a twin-less
      // campaign's first round): no fidelity is claimed (review 2026-12-07, finding 4).
      const predictsNothing = s.fidelity === 'prior' && Object.values(s.properties).every((e) => Number.isNaN(e.mean));
      return {
        trialId: t.id,
        properties,
        raw: c ? s.properties : undefined,
        ...(predictsNothing ? {} : { fidelity: s.fidelity }),
        reward: c?.reward ?? rewardOf(means, full[i]),
        ...(rewardStd === undefined ? {} : { rewardStd }),
        achieved: s.achieved,
        ...(s.rveWarnings ? { rveWarnings: s.rveWarnings } : {}),
        ...(infinite ? { infinite } : {}),
      };
    });
  }

  /**
   * Issue #18 review: a trial whose parameters an operator edited at the approval gate is scored
   * again by the P-model before it goes to the rigs — the same volume seed (its place in the
   * campaign), recorded as TrialRescored, its TrialScored left as the proposal's. So history(),
   * the objectives, the discrepancy correction's evidence, the reality model's simulation level,
   * the reward of unmeasured properties and the slice viewer pair the edited recipe with its own
   * prediction. Idempotent: a resumed dispatch re-scores only what has no TrialRescored yet.
   */
  private async rescoreEdited(round: number): Promise<void> {
    const edits = this.view.document('ApprovalGiven', `round:${round}`)?.body.edits ?? {};
    const todo = this.view.round(round).filter((t) => t.id in edits && t.status === 'selected' && !this.view.has('TrialRescored', t.id));
    // Recorded before a kill, the rows wait in the predictor: committed now (review item 1).
    if (todo.length === 0) return void (await this.d.predictor.commit?.({ seed: this.d.seed }));
    const full = todo.map((t) => this.view.paramsOf(t));
    const scores = await this.d.predictor.score(full, {
      seed: this.d.seed,
      seeds: todo.map((t) => trialVolumeSeed(this.d.seed, t.round, t.index)),
      onProgress: (done, total) => this.progress({ phase: 'score', round, done, total, message: 'edited trials re-scored' }),
    });
    const bodies = this.scoredBodies(todo, full, scores);
    this.ledger.transaction(() => todo.forEach((t, i) => this.ledger.append(this.d.campaignId, 'TrialRescored', bodies[i], t.id)));
    await this.d.predictor.commit?.({ seed: this.d.seed });
  }

  /**
   * A completed trial as the agent sees it: its measured reward at fidelity `rig` — or, when part
   * of it was predicted (issue #20: an early-stopped durability test), the reward with the
   * estimate at fidelity `early-life`, which agents that trust only measurements leave out. None
   * when its result rests on the twin's prediction of a property the rigs did not measure: a
   * NaN rig reward would be learnt as a failed manufacture (agents/common.ts trainingData), the
   * prediction as a measurement; the agents know the trial by its simulation already. A measured
   * reward of −∞ is given as −∞ (measuredRewardOf), which the agents learn as worse than any
   * finite reward, not as a failure (agents/common.ts trainingData).
   */
  private rigObservation(t: TrialRow): Observation | undefined {
    const est = this.view.document('EstimateRecorded', t.id)?.body;
    if (est) return { params: t.params, reward: est.reward, fidelity: est.fidelity, feasible: true };
    if (this.restsOnPrediction(t)) return undefined;
    return { params: t.params, reward: this.measuredRewardOf(t), fidelity: 'rig', feasible: t.feasible ?? true };
  }

  /**
   * A completed trial's measured reward. JSON stores ±∞ and NaN alike as null, so where the
   * ledger has none it is computed again from the measurements alone (the properties the rigs did
   * not measure unknown, NaN): −∞ when they give −∞ — computable and terrible, e.g.
   * sigma_eff_z = 0 under a log10 (review 2026-12-07: the reduced GDL demo's porosity-0.9
   * papers were taken for failures or dropped, and proposed again and again) — else NaN: not
   * computable (a failed manufacture, a reward resting on a prediction; 8643c45).
   */
  private measuredRewardOf(t: TrialRow): number {
    if (t.measuredReward !== null) return t.measuredReward;
    if (t.status !== 'completed' || t.feasible === false || this.view.has('EstimateRecorded', t.id)) return Number.NaN;
    const measured = t.measured ?? {};
    const unknown = Object.fromEntries(Object.keys(t.prediction ?? {}).filter((n) => !Object.hasOwn(measured, n)).map((n) => [n, Number.NaN]));
    return this.rewardOrNaN({ ...unknown, ...measured }, this.view.paramsOf(t)) === -Infinity ? -Infinity : Number.NaN;
  }

  /**
   * A trial's P-model reward as recorded, or −∞ where the recorded estimates give −∞ (stored as
   * null, as measuredRewardOf): a simulated −∞ tells the agent the region is bad, where NaN
   * would be taken for a failure.
   */
  private predictedRewardOf(t: TrialRow): number {
    if (t.predictedReward !== null) return t.predictedReward;
    const properties = this.scoredOf(t.id)?.properties;
    if (!properties) return Number.NaN;
    const means = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, typeof v.mean === 'number' ? v.mean : Number.NaN]));
    return this.rewardOrNaN(means, this.view.paramsOf(t)) === -Infinity ? -Infinity : Number.NaN;
  }

  /** The reward of `values`, NaN where the expression throws (a name it reads is missing). */
  private rewardOrNaN(values: Record<string, number>, params: Parameters): number {
    try {
      return this.d.rewardOf(values, params);
    } catch {
      return Number.NaN;
    }
  }

  /**
   * Whether a completed, feasible trial's result — its reward, or (issue #16) an objective or a
   * constraint slack — needs a property its prediction has and the rigs did not measure: the
   * values differ with that property's prediction unknown (NaN). A prediction must never become
   * a measurement (review 2026-12-07, as issue #20 for estimates; completeTrial records such a
   * trial's measured reward as NaN).
   */
  private restsOnPrediction(t: TrialRow): boolean {
    const measured = t.measured ?? {};
    const unmeasured = Object.keys(t.prediction ?? {}).filter((n) => !Object.hasOwn(measured, n));
    if (t.feasible === false || unmeasured.length === 0) return false;
    const params = this.view.paramsOf(t);
    const results = (values: Record<string, number>): number[] => {
      try {
        const o = this.d.objectivesOf?.(values, params);
        return [this.d.rewardOf(values, params), ...(o?.objectives ?? []), ...(o?.constraints ?? [])];
      } catch {
        return [Number.NaN];
      }
    };
    const predicted = Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean]));
    const without = results({ ...measured, ...Object.fromEntries(unmeasured.map((n) => [n, Number.NaN])) });
    const full = results({ ...predicted, ...measured });
    return full.length !== without.length || full.some((v, i) => !Object.is(v, without[i]));
  }

  /** Every completed trial's P-model prediction (uncorrected) next to what the rigs measured (not the trials with an estimate, issue #20). */
  private evidence(): Evidence[] {
    return this.view.withStatus('completed').filter((t) => !this.view.has('EstimateRecorded', t.id)).map((t) => {
      const scored = this.scoredOf(t.id);
      return {
        params: this.view.paramsOf(t),
        predicted: Object.fromEntries(Object.entries(scored?.raw ?? scored?.properties ?? {}).map(([k, v]) => [k, v.mean])),
        measured: t.measured ?? {},
        feasible: t.feasible ?? true,
      };
    });
  }

  /**
   * The two fidelities of the reward for the reality model: every simulated trial's UNCORRECTED
   * P-model reward (from its raw properties, with its σ when the P-model reports one — issue
   * #13 part A's realisation spread), and every completed trial's measured reward. Surrogate
   * predictions are not data; failed manufactures have no reward (the feasibility model of the
   * correction handles them). A reward of −∞, simulated or measured, is data: the stand-in below
   * the worst finite reward of its fidelity (src/core/reward-stand-in.ts, as the agents learn it;
   * review 2026-12-07: dropped, the model's estimate stayed high where the solid does not
   * conduct, and the agents, which learn that estimate, proposed there again and again).
   */
  private fidelityData(): { simulations: FidelityObservation[]; measurements: FidelityObservation[] } {
    const simulated: SimulatedTrial[] = [];
    const measurements: FidelityObservation[] = [];
    for (const t of this.view.trials()) {
      if (t.fidelity === 'simulation') {
        const body = this.scoredOf(t.id);
        const raw = body?.raw ?? body?.properties;
        if (raw) {
          const params = this.view.paramsOf(t);
          const reward = (means: Record<string, number>) => (Object.values(means).every((v) => Number.isFinite(v) || v === Infinity) ? this.d.rewardOf(means, params) : Number.NaN);
          simulated.push({ params: t.params, properties: raw, rewardOf: reward });
        }
      }
      const measured = t.status === 'completed' && t.feasible !== false ? this.measuredRewardOf(t) : Number.NaN;
      if (Number.isFinite(measured) || measured === -Infinity) measurements.push({ params: t.params, reward: measured });
    }
    const measuredRewards = withMinusInfinityStandIn(measurements.map((m) => m.reward));
    measurements.forEach((m, i) => (m.reward = measuredRewards[i]));
    // Without the P-model's rule no simulation gets a σ: all alike, their scatter left to the fitted noise.
    const simulations =
      this.d.simulationEvidence?.(simulated) ??
      withMinusInfinityStandIn(simulated.map((s) => s.rewardOf(Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, v.mean])))))
        .map((reward, i) => ({ params: simulated[i].params, reward }))
        .filter((s) => Number.isFinite(s.reward));
    return { simulations, measurements: measurements.filter((m) => Number.isFinite(m.reward)) };
  }

  /**
   * Issue #13 review: the P-model's adaptive realisations refine the boundary of the batch that
   * `select` will choose — by the reality model's acquisition given the simulated rewards, over
   * the same best rig result — not the raw reward's. The model is the one fitted from the ledger
   * before this round's scoring, so a resumed campaign ranks alike. Undefined without one.
   */
  private realityRanking(): ScoreOptions['ranking'] {
    const reality = this.d.reality;
    if (!reality?.rankingGiven) return undefined;
    const best = this.view.measuredReward('best', true) ?? -Infinity;
    return (candidates, rewards, z) => reality.rankingGiven!(candidates, rewards, best, z);
  }

  /** Refits the reality model from the ledger (deterministic: resume refits the same model). */
  private refitReality(): { update: ReturnType<RealityModel['update']>; data: ReturnType<CampaignRuntime['fidelityData']> } | null {
    if (!this.d.reality) return null;
    const data = this.fidelityData();
    return { update: this.d.reality.update(data.simulations, data.measurements), data };
  }

  /** The worst finite measured reward so far: what a failed manufacture is worth. */
  private worstReward(): number {
    return this.view.measuredReward('worst', false) ?? Number.NaN;
  }

  /**
   * On resume, the agent continues from its last recorded state rather than from scratch: the
   * later of the last learning's and the last proposal's (AgentProposed, #21 review).
   */
  private restoreAgent(): void {
    const learned = this.view.latest('AgentLearned', 'snapshot');
    const proposed = this.view.latest('AgentProposed', 'snapshot');
    const last = proposed && (!learned || proposed.seq > learned.seq) ? proposed : learned;
    if (last && this.d.agent.restore) this.d.agent.restore(last.body.snapshot);
    else if (this.view.latest('AgentLearned')) void this.d.agent.learn(this.history());
  }

  private recordLearning(round: number, fidelity: Observation['fidelity'], observations: number, key: string, trialIds?: string[]): void {
    this.appendAgentState('AgentLearned', { round, observations, fidelity, ...(trialIds ? { trialIds } : {}) }, key);
  }

  /**
   * Appends an agent-state document with the agent's snapshot, left out when it equals the last
   * snapshot this process wrote: restoreAgent reads the latest document that has one, so the
   * state restored is the same. Without this every round stored the state after its proposal
   * twice (AgentProposed, then the digital round's AgentLearned: no built-in agent's state takes
   * in estimates) — about 100 KB a round more for PPO, whose weights are in it (before-stop review).
   */
  private appendAgentState<T extends 'AgentProposed' | 'AgentLearned'>(type: T, body: Omit<DocumentBodies[T], 'snapshot'>, key: string): void {
    const snapshot = this.d.agent.snapshot?.();
    const json = snapshot === undefined ? undefined : JSON.stringify(snapshot);
    const fresh = json !== undefined && json !== this.recordedSnapshot;
    const written = this.ledger.append(this.d.campaignId, type, (fresh ? { ...body, snapshot } : body) as DocumentBodies[T], key);
    if (written && fresh) this.recordedSnapshot = json;
  }

  /**
   * The pending work (issue #21): trials selected for the rigs that have not ended (not
   * completed, not abandoned), whatever their round — the ledger is its only record, so a
   * resumed process sees the same.
   */
  private inFlight(): TrialRow[] {
    return this.view.trials().filter((t) => t.selectedRank !== null && t.status !== 'completed' && t.status !== 'abandoned');
  }

  /**
   * Async mode: the selected trials that ended at the rigs' end of the loop — completed, or
   * abandoned by a rig, the reward or the campaign's end. A trial a person rejected at the
   * approval gate never went to a rig and brings no result (#21 review): counted, rejecting 10
   * satisfied `loop.warmup: 10` with no result, and the next assimilation took the rejections as
   * a result round (budget.rounds, stop.noImprovementRounds). Sync mode counts neither.
   */
  private endedTrials(): TrialRow[] {
    const rejected = this.rejectedAtGate();
    return this.view.trials().filter((t) => t.selectedRank !== null && (t.status === 'completed' || (t.status === 'abandoned' && !rejected.has(t.id))));
  }

  /**
   * Trials a person rejected at the approval gate (TrialAbandoned whose kind, or for older
   * ledgers whose reason, says so; ledger/documents.ts abandonConcernsRecipe), in one read of the
   * abandonments: the warm-up test runs at every rig event.
   */
  private rejectedAtGate(): Set<string> {
    return new Set(this.ledger.documents(this.d.campaignId, 'TrialAbandoned').filter((d) => abandonConcernsRecipe(d.body)).map((d) => d.body.trialId));
  }

  /** Async mode: trials that ended (see `endedTrials`) and no assimilation has taken yet. */
  private unassimilated(): TrialRow[] {
    const taken = new Set(this.ledger.documents(this.d.campaignId, 'AgentLearned').flatMap((d) => d.body.trialIds ?? []));
    return this.endedTrials().filter((t) => !taken.has(t.id));
  }

  // ── actors ─────────────────────────────────────────────────────────────────────────────

  async propose({ campaignId, round }: RoundInput): Promise<{ proposed: number }> {
    // Every round gives timers, signals and MQTT I/O a turn: a run of rounds that never leaves
    // the microtask queue (proposals that return at once) starved SIGTERM and `poreloop stop`
    // (issue #14).
    await new Promise<void>((r) => setImmediate(r));
    const existing = this.view.round(round);
    // A round whose proposal is recorded (an AgentProposed even when the agent proposed nothing)
    // is not proposed again: the restored state is the one after it.
    if (existing.length > 0 || this.view.has('AgentProposed', `round:${round}`)) return { proposed: existing.length };
    this.ledger.append(campaignId, 'RoundStarted', { round }, `round:${round}`);
    // The first round may screen more of the space with the P-model before any rig run (issue #13).
    const perBatch = round === 1 ? Math.max(this.d.candidatesPerRound, this.d.screenCandidates ?? 0) : this.d.candidatesPerRound;
    const pending = this.inFlight().map((t) => t.params);
    // Async: as many candidates per free slot as a synchronous round has per batch member.
    const free = Math.max(1, this.d.batchSize - pending.length);
    const k = this.d.mode === 'async' ? Math.max(1, Math.ceil((perBatch * free) / this.d.batchSize)) : perBatch;
    this.progress({ phase: 'propose', round, done: 0, total: k });
    const proposedBefore = this.view.trials().map((t) => t.params);
    // Selected, then given up without a result (issue #21): told apart from never-selected
    // candidates — but only where the abandonment says something about the recipe (a person
    // rejected it at the approval gate). A rig that timed out or failed for good, the end of the
    // campaign or a result the reward could not use say nothing about it, and gp-bo keeps every
    // pick minDistance from ctx.abandoned for good (#21 review): such a recipe may be tried again.
    const rejected = this.rejectedAtGate();
    const abandoned = this.view
      .trials()
      .filter((t) => t.selectedRank !== null && t.status === 'abandoned' && rejected.has(t.id))
      .map((t) => t.params);
    const params = await this.d.agent.propose(
      {
        space: this.d.space,
        history: this.d.agent.pendingAware ? this.history() : withConstantLiar(this.history(), pending),
        proposed: proposedBefore,
        ...(pending.length ? { pending } : {}),
        ...(abandoned.length ? { abandoned } : {}),
        model: this.d.model,
        rng: this.d.rng.fork(`propose:${round}`),
      },
      k,
    );
    // Library review 2026-12-07 (item 1): a proposal is checked against the campaign's space
    // before anything is written. Only operator edits were (perTrialDecision): a registered
    // custom agent's binderFraction 0.55 for a space of [0.1, 0.3] went to the rigs, and a NaN
    // reached the ledger as `params.porosity: Invalid input`. The built-in agents never propose
    // an infeasible point (agents/common.ts: decode → repair → isFeasible, pool rows checked),
    // so one that does is a bug in the agent: the campaign fails, naming it, rather than
    // dropping the point and running on with a broken agent.
    checkProposals(this.d.agent.name, this.d.space, this.d.fixed, params, round);
    this.ledger.transaction(() => {
      params.forEach((p, index) => {
        const trialId = `${campaignId}-r${round}-${index}`;
        this.ledger.append(campaignId, 'TrialProposed', { trialId, round, index, params: p, agent: this.d.agent.name }, trialId);
      });
      // #21 review: the state after proposing, with the proposals. Saved first at `digital:R`
      // (after scoring), a kill in between resumed from the state before the proposal and
      // CMA-ES forgot the members it had handed out: the next proposals differed.
      if (this.d.agent.snapshot) this.appendAgentState('AgentProposed', { round, proposed: params.length }, `round:${round}`);
    });
    if (params.length < k) this.d.log?.(`round ${round}: the agent (${this.d.agent.name}) proposed ${params.length} of the ${k} candidates asked for`);
    this.progress({ phase: 'propose', round, done: params.length, total: params.length });
    return { proposed: params.length };
  }

  async score({ campaignId, round }: RoundInput): Promise<{ scored: number }> {
    const todo = this.view.round(round).filter((t) => t.status === 'proposed');
    if (todo.length > 0) {
      const full = todo.map((t) => this.view.paramsOf(t));
      const scores = await this.d.predictor.score(
        full,
        {
          seed: this.d.seed,
          // From the trial's place in the campaign, not its id (which carries the campaign id's
          // random suffix): the same config and seed reproduce the same volumes.
          seeds: todo.map((t) => trialVolumeSeed(this.d.seed, t.round, t.index)),
          onProgress: (done, total) => this.progress({ phase: 'score', round, done, total }),
          ranking: this.realityRanking(),
        },
      );
      const bodies = this.scoredBodies(todo, full, scores);
      this.ledger.transaction(() => todo.forEach((t, i) => this.ledger.append(campaignId, 'TrialScored', bodies[i], t.id)));
    }
    // Reproducibility review, item 1: the round's simulations become training rows (and may
    // retrain the surrogate) only now that the ledger holds its TrialScored — also when a resumed
    // step finds them recorded by a process killed before it committed. A kill before the
    // transaction leaves them pending, and scoring the round again drops them.
    await this.d.predictor.commit?.({ seed: this.d.seed });
    // The round's simulations join the reality model before selection and the next proposal.
    if (todo.length > 0) this.refitReality();
    if (!this.view.has('AgentLearned', `digital:${round}`)) {
      // A trial with no prediction (no fidelity, no reward) is no observation, as in history().
      const trials = this.view.round(round).filter((t) => t.predictedReward !== null || t.fidelity);
      const estimates = this.d.reality?.estimate(trials.map((t) => t.params));
      // With a reality model the agent learns its estimates of the real reward, as in history().
      const obs = trials.map((t, i) => ({ params: t.params, reward: estimates && t.fidelity === 'simulation' ? estimates[i].mean : this.predictedRewardOf(t), fidelity: (t.fidelity ?? 'simulation') as Observation['fidelity'] }));
      await this.d.agent.learn(obs);
      // Recorded with the best fidelity the round has: a round of surrogate estimates (a
      // twin-less campaign) is not a round of simulations (issue #12), nor one of the data's
      // mean before any model a round of surrogate estimates (review 2026-12-07, finding 4).
      const best = obs.reduce<Observation['fidelity']>((b, o) => (FIDELITY_ORDER.indexOf(o.fidelity) > FIDELITY_ORDER.indexOf(b) ? o.fidelity : b), 'prior');
      // …and with how many of them the agent learns from (reproducibility review, item 2: a
      // round of 4 simulations and 4 estimates read "observations 8, simulation").
      this.recordLearning(round, best, learningSet(obs).length, `digital:${round}`);
    }
    return { scored: todo.length };
  }

  async select({ campaignId, round, remaining }: RoundInput & { remaining: number }): Promise<SelectOutput> {
    const trials = this.view.round(round);
    const already = trials.filter((t) => t.selectedRank !== null).length;
    if (already > 0) return { selected: already, ...(this.d.mode === 'async' ? { inFlight: this.inFlight().length } : {}) };
    if (trials.length === 0) {
      const pool = this.d.space.pool;
      return { selected: 0, exhausted: pool ? `pool exhausted: all ${pool.length} rows of space.pool have been proposed` : `the agent (${this.d.agent.name}) proposed no candidates` };
    }
    // Async: only the free slots are filled (the trials in flight hold the others).
    const free = this.d.mode === 'async' ? this.d.batchSize - this.inFlight().length : this.d.batchSize;
    const k = Math.max(0, Math.min(free, remaining));
    if (k === 0 && this.d.mode === 'async') return { selected: 0, inFlight: this.inFlight().length };
    const earlier = this.view.selectedBefore(round);
    let ranked: TrialRow[];
    // Best predicted first; candidates without a finite prediction (a twin-less campaign before
    // its surrogate has data) follow in the agent's order, so the agent's choice decides.
    const finite = (t: TrialRow) => t.predictedReward !== null && Number.isFinite(t.predictedReward);
    const byScalar = [...trials.filter(finite).sort((a, b) => b.predictedReward! - a.predictedReward!), ...trials.filter((t) => !finite(t))];
    const acquisition = new Map<string, { name: string; value: number; mean: number; std: number }>();
    if (this.d.front) {
      const order = this.d.front.rank(byScalar, this.view.trials(), round);
      ranked = order.map((o) => byScalar[o.index]);
      order.forEach((o) => acquisition.set(byScalar[o.index].id, { name: 'qehvi-measured-front', value: o.value, mean: byScalar[o.index].predictedReward ?? Number.NaN, std: Number.NaN }));
    } else if (this.d.reality) {
      // Issue #13: by the expected improvement of the REAL reward over the best rig result,
      // under the multi-fidelity model, the batch chosen greedily (Kriging believer).
      // Only the candidates with a finite predicted reward are ranked by it; the others follow in
      // the agent's order, as in the scalar ranking (sofc-device review 2026-12-07: a twin that
      // could not make the recipe, or whose loss was infinite, is no data for the model, whose σ
      // there made these candidates its favourites — and the rigs then could not run them).
      const known = trials.filter(finite);
      const best = this.view.measuredReward('best', true) ?? -Infinity;
      const order = known.length ? this.d.reality.rank(known.map((t) => t.params), best) : [];
      ranked = [...order.map((o) => known[o.index]), ...trials.filter((t) => !finite(t))];
      // The Kriging believer (selectByExpectedImprovement) ranks by the mean only while its
      // incumbent — the best rig result, then each pick's believed mean — is −∞: before any rig
      // result, the first pick alone; the later ones are by ln EI (review finding 5).
      let incumbent = best;
      for (const o of order) {
        acquisition.set(known[o.index].id, { name: Number.isFinite(incumbent) ? 'log-ei-real' : 'mean-real', value: o.value, mean: o.mean, std: o.std });
        incumbent = Math.max(incumbent, o.mean);
      }
    } else {
      ranked = byScalar;
    }
    const pending = this.d.mode === 'async' ? this.inFlight().map((t) => t.params) : [];
    const chosen = selectDiverse(pending.length ? awayFromPending(ranked, pending, this.d.space) : ranked, k, this.d.space, earlier);
    this.ledger.transaction(() => {
      chosen.forEach((t, rank) => {
        const a = acquisition.get(t.id);
        this.ledger.append(campaignId, 'TrialSelected', { trialId: t.id, round, rank, predictedReward: a?.mean ?? t.predictedReward ?? Number.NaN, ...(a ? { acquisition: a } : {}) }, t.id);
      });
    });
    this.progress({ phase: 'select', round, done: chosen.length, total: k, message: `${chosen.length} of ${ranked.length} candidates go to the rigs` });
    // A short batch leaves rigs idle: said, never silent (issue #21; #12 "cut silently").
    // The reason said is the one that holds (#21 review): fewer candidates than slots, and/or
    // candidates refused as too close.
    if (chosen.length < k) {
      const refused = ranked.length - chosen.length;
      const tooClose = `within 0.05 of another candidate, a trial at the rigs or an earlier rig run`;
      const why =
        ranked.length >= k ? `${ranked.length} candidates, the other ${refused} ${tooClose}`
        : `the agent proposed ${ranked.length} candidate${ranked.length === 1 ? '' : 's'} for ${k} slots${refused > 0 ? `, of which ${refused} ${tooClose}` : ''}`;
      this.d.log?.(`round ${round}: ${chosen.length} of ${k} rig slots filled — ${why}`);
    }
    return { selected: chosen.length, ...(this.d.mode === 'async' ? { inFlight: this.inFlight().length } : {}) };
  }

  /**
   * The approval gate (issue #7): records that the round's batch waits for a person, and
   * returns the decision when the ledger already holds one (a resumed campaign). The machine
   * then waits in `awaitingApproval` for `approval.decided` (see `decideApproval`).
   */
  async requestApproval({ campaignId, round }: RoundInput): Promise<ApprovalRequestOutput> {
    const decided = this.approvalOf(round);
    if (decided) return { decided };
    this.ledger.append(campaignId, 'ApprovalRequested', { round, trialIds: this.view.round(round).filter((t) => t.status === 'selected').map((t) => t.id) }, `round:${round}`);
    this.announceApproval(round);
    return { decided: null };
  }

  /**
   * Says that `round`'s batch waits at the approval gate: its trials and the commands that decide
   * it. Also called by the composition root when a campaign resumes into the waiting state, where
   * requestApproval does not run again and the campaign otherwise waited silently
   * (reproducibility review, item 4). Says nothing once the round is decided.
   */
  announceApproval(round: number): void {
    if (this.approvalOf(round)) return;
    const trials = this.ledger.documents(this.d.campaignId, 'ApprovalRequested').find((d) => d.body.round === round)?.body.trialIds ?? [];
    const id = this.d.campaignId;
    this.progress({ phase: 'approval', round, done: 0, total: 1, message: `waiting for approval: round ${round}, ${trials.length} trial${trials.length === 1 ? '' : 's'} (${trials.join(', ')}); decide with "poreloop approve|reject ${id}"` });
  }

  /**
   * The decision on `round`'s batch, if there is one: a pending `poreloop approve|reject`
   * command (written by any process) is turned into the ApprovalGiven document — and, for a
   * rejection, the batch's trials are abandoned — in one transaction, so a crash leaves either
   * the command or the decision. The composition root calls this while the machine waits at
   * the gate and sends what it returns as `approval.decided`.
   */
  decideApproval(round: number): ApprovalDecision | null {
    const known = this.approvalOf(round);
    if (known) return known;
    // A decision counts only for the round it names (issue #18 review): a double click, a second
    // operator or an approve typed when nothing waited left a command that would have approved
    // the NEXT batch unseen. Such a command is consumed and its being ignored recorded, with why.
    const decisions = this.ledger.pendingCommands(this.d.campaignId).filter((x) => x.command === 'approve' || x.command === 'reject');
    let c: (typeof decisions)[number] | undefined;
    for (const x of decisions) {
      if (x.args?.round === round) {
        c = x;
        break;
      }
      const reason = typeof x.args?.round === 'number' ? `written for round ${x.args.round}; round ${round} waits` : `names no round (round ${round} waits); decide again`;
      this.ledger.transaction(() => {
        this.ledger.consumeCommand(x.seq);
        this.ledger.append(this.d.campaignId, 'CommandIgnored', { command: x.command, commandSeq: x.seq, reason });
      });
    }
    if (!c) return null;
    const ids = this.view.round(round).filter((t) => t.status === 'selected').map((t) => t.id);
    const d = perTrialDecision(c.command as 'approve' | 'reject', c.args, ids, this.d.space);
    this.ledger.transaction(() => {
      this.ledger.consumeCommand(c.seq);
      this.ledger.append(this.d.campaignId, 'ApprovalGiven', { round, decision: d.decision, trialIds: d.decision === 'reject' ? ids : d.approved, ...(d.edits ? { edits: d.edits } : {}), by: String(c.args?.by ?? 'operator') }, `round:${round}`);
      for (const [id, reason] of d.rejected) this.ledger.append(this.d.campaignId, 'TrialAbandoned', { trialId: id, reason, kind: 'approval' }, id);
    });
    return this.approvalOf(round);
  }

  private approvalOf(round: number): ApprovalDecision | null {
    const given = this.view.document('ApprovalGiven', `round:${round}`)?.body;
    if (!given) return null;
    const decision = given.decision === 'reject' ? 'reject' : 'approve';
    return { round, decision, approved: decision === 'reject' ? 0 : given.trialIds.length };
  }


  async dispatch({ round }: RoundInput): Promise<{ dispatched: number }> {
    await this.rescoreEdited(round);
    let sent = 0;
    for (const t of this.view.round(round)) {
      if (t.selectedRank === null || t.status === 'abandoned' || t.status === 'completed') continue;
      if (this.view.jobsOf(t.id).length === 0) {
        await this.sendJob(t, 0, 1, {});
        sent++;
      }
    }
    this.progress({ phase: 'dispatch', round, done: sent, total: sent });
    return { dispatched: sent };
  }

  /** The names rigs must report, carried in every job (rig-protocol.md §3, issue #14). */
  private expected(): string[] | undefined {
    return this.d.measure?.length ? [...this.d.measure] : undefined;
  }

  /**
   * A job's own deadline: how long it may wait for a capable rig to come online (review: the
   * dispatcher gives each attempt its full `timeoutMs` from its send, and a job queued behind
   * busy capable rigs waits its turn; rig-protocol.md §4). Recorded in JobDispatched; a resume
   * re-sends the job with a fresh one.
   */
  private jobDeadline(): string {
    return new Date(this.d.clock.now() + this.d.timeoutMs * this.d.maxAttempts).toISOString();
  }

  /** A trial's stages before `upTo` as recorded (issue #17): settings sent and measurements, in order. */
  private stageRecords(trialId: string, upTo: number): StageRecord[] {
    const out: StageRecord[] = [];
    for (let k = 0; k < upTo; k++) {
      const job = this.view.document('JobDispatched', `${trialId}-s${k}`)?.body;
      const m = this.view.document('MeasurementRecorded', `${trialId}:${k}`)?.body;
      if (!job || !m) break;
      out.push({ stage: k, capability: job.capability, params: job.params, measurements: m.measurements, feasible: m.feasible });
    }
    return out;
  }

  private buildJob(trial: TrialRow, stage: number, attempt: number, earlier: Record<string, number>): RigJob {
    const jobId = `${trial.id}-s${stage}`;
    // Issue #17: a stage-wise trial's settings for this stage, chosen after the stages before it.
    const plan = this.d.staged?.job(this.view.paramsOf(trial), stage, this.stageRecords(trial.id, stage));
    // Issue #20: the stop of an early-life test travels in the job (recorded in JobDispatched, so a resume re-sends it).
    const est = this.d.estimator;
    const base = plan ? (plan.inputs ?? {}) : earlier;
    const inputs = est && est.stage === this.d.pipeline[stage] ? { ...base, ...est.inputs } : base;
    return {
      jobId,
      campaignId: this.d.campaignId,
      trialId: trial.id,
      attempt,
      capability: this.d.pipeline[stage],
      params: plan?.params ?? this.view.paramsOf(trial),
      deadline: this.jobDeadline(),
      protocol: this.d.protocol,
      inputs: Object.keys(inputs).length ? inputs : undefined,
      measure: this.expected(),
    };
  }

  private async sendJob(trial: TrialRow, stage: number, attempt: number, inputs: Record<string, number>): Promise<void> {
    const job = this.buildJob(trial, stage, attempt, inputs);
    // Write-ahead: the ledger knows about the job before any rig can.
    const doc = this.ledger.append(this.d.campaignId, 'JobDispatched', {
      jobId: job.jobId, trialId: trial.id, stage, capability: job.capability, attempt, params: job.params, deadline: job.deadline, inputs: job.inputs,
    }, job.jobId);
    if (!doc) return; // already dispatched by an earlier run of this step
    this.sent.add(job.jobId);
    await this.d.rig.dispatch(job);
  }

  /**
   * Re-sends a job recorded before a crash, with the same jobId and to the rig that had it:
   * a rig that already ran it answers from its record of finished jobs instead of running it
   * again (rig protocol: duplicate-job suppression), so no experiment is repeated.
   */
  private async resend(job: JobRow): Promise<void> {
    const doc = this.view.document('JobDispatched', job.jobId);
    if (!doc) return;
    const b = doc.body;
    const { jobId, rigId } = job;
    this.sent.add(jobId);
    await this.d.rig.dispatch({
      // The attempt the ledger last recorded: the rig answers a (jobId, attempt) it knows from its record.
      jobId, campaignId: this.d.campaignId, trialId: b.trialId, attempt: job.attempt, capability: b.capability, params: b.params,
      // A fresh deadline: the timer of the crashed process no longer runs.
      deadline: this.jobDeadline(), protocol: this.d.protocol, inputs: b.inputs, measure: this.expected(),
      rigId: rigId ?? undefined,
    });
  }

  async awaitRigs({ round, remaining = Infinity, drain, below }: AwaitInput): Promise<{ done: number }> {
    // Async: on as soon as a slot is free for the rig runs left (after an empty selection: as
    // soon as a trial ends), or — draining, or with none left — once nothing is in flight.
    const slotFree = () => {
      const n = this.inFlight().length;
      this.progress({ phase: 'rigs', round, done: this.d.batchSize - n, total: this.d.batchSize, message: `${n} trials in flight` });
      const warm = !this.d.warmup || this.endedTrials().length >= this.d.warmup;
      const go = n === 0 || (!drain && remaining > 0 && warm && n < Math.min(this.d.batchSize, below ?? Infinity));
      return go ? this.d.batchSize - n : -1;
    };
    const isDone = this.d.mode === 'async' ? slotFree : () => {
      const sel = this.view.round(round).filter((t) => t.selectedRank !== null);
      const finished = sel.filter((t) => t.status === 'completed' || t.status === 'abandoned').length;
      this.progress({ phase: 'rigs', round, done: finished, total: sel.length });
      return finished === sel.length ? finished : -1;
    };
    return firstValueFrom(
      merge(this.changes).pipe(
        startWith(undefined),
        map(isDone),
        filter((n) => n >= 0),
        map((done) => ({ done })),
      ),
    );
  }

  async assimilate({ campaignId, round }: RoundInput): Promise<AssimilateOutput> {
    const async = this.d.mode === 'async';
    // Async: the trials that ended since the last assimilation, whatever their round (each
    // assimilation records which it took in its AgentLearned document); sync: the round's batch.
    // A pass that runs again after a kill (its AgentLearned written, the machine's step not)
    // takes the trials that document names, not those unassimilated now: more may have ended
    // meanwhile, and the resumed pass must count what the first one did (exact resume).
    const learned = async ? this.view.document('AgentLearned', `rig:${round}`) : undefined;
    const trials = learned
      ? (learned.body.trialIds ?? []).map((id) => this.view.trial(id)).filter((t): t is TrialRow => t !== undefined)
      : async
        ? this.unassimilated()
        : this.view.round(round).filter((t) => t.selectedRank !== null);
    const completed = trials.filter((t) => t.status === 'completed');
    // Async: a pass in which no trial ended (a slot was free at once) records no learning.
    if (!this.view.has('AgentLearned', `rig:${round}`) && (!async || trials.length > 0)) {
      const obs = completed.map((t) => this.rigObservation(t)).filter((o): o is Observation => o !== undefined);
      if (obs.length > 0) await this.d.agent.learn(obs);
      // Only measurements train the P-model (issue #20: not a trial whose result was partly predicted).
      await this.d.observe?.(completed.filter((t) => t.feasible && t.measured && !this.view.has('EstimateRecorded', t.id)).map((t) => ({ params: this.view.paramsOf(t), measured: t.measured! })));
      this.recordLearning(round, 'rig', obs.length, `rig:${round}`, async ? trials.map((t) => t.id) : undefined);
    }
    // The measured rows of `observe` are training rows once the round's learning is recorded (review item 1).
    await this.d.predictor.commit?.({ seed: this.d.seed });
    if (this.d.correction && completed.length > 0 && !this.view.has('ModelTrained', `correction:${round}`)) {
      const evidence = this.evidence();
      const models = this.d.correction.update(evidence);
      const dataHash = createHash('sha256').update(JSON.stringify(evidence)).digest('hex');
      this.ledger.transaction(() => {
        models.forEach((m, i) =>
          this.ledger.append(campaignId, 'ModelTrained', { kind: m.kind, version: round, dataHash, samples: m.samples, state: m.state }, i === 0 ? `correction:${round}` : `correction:${round}:${m.kind}`),
        );
      });
    }
    if (this.d.staged && completed.length > 0 && !this.view.has('ModelTrained', `stage-policy:${round}`)) {
      // Issue #17: the stage policy learns from every real episode so far (its stage records) and
      // the new version is recorded as a model; a resumed process restores the last one.
      const episodes = this.view.withStatus('completed').map((t) => ({ trialId: t.id, stages: this.stageRecords(t.id, this.d.pipeline.length), measured: t.measured ?? {}, reward: t.measuredReward ?? Number.NaN, feasible: t.feasible ?? true }));
      this.ledger.append(campaignId, 'ModelTrained', await this.d.staged.learn(episodes), `stage-policy:${round}`);
    }
    if (this.d.reality && completed.length > 0) {
      // Refitted in memory every time (a resumed process must have it), recorded once.
      const r = this.refitReality()!;
      if (!this.view.has('ModelTrained', `reality:${round}`)) {
        const dataHash = createHash('sha256').update(JSON.stringify(r.data)).digest('hex');
        this.ledger.append(campaignId, 'ModelTrained', { kind: r.update.kind, version: round, dataHash, samples: r.update.samples, state: r.update.state }, `reality:${round}`);
      }
    }
    const failed = trials.flatMap((t) => this.view.jobsOf(t.id)).filter((j) => this.view.has('JobFailed', j.jobId)).length;
    const best = this.view.measuredReward('best', true);
    this.progress({ phase: 'assimilate', round, done: completed.length, total: trials.length });
    const improved = this.d.front ? this.d.front.gained(this.view.trials(), round) : undefined;
    return {
      completed: completed.length, failed, bestReward: best, now: this.d.clock.now(),
      ...(improved !== undefined ? { improved } : {}),
      ...(async ? { inFlight: this.inFlight().length, ended: trials.length } : {}),
    };
  }

  async finish({ campaignId, status, reason }: FinishInput): Promise<void> {
    // A rig event that could not be recorded ends the campaign `stopped`, not `failed`: a failed
    // campaign cannot be resumed, and the resume is what records it (recordRigEvent).
    if (this.unrecorded) {
      status = 'stopped';
      reason = this.unrecorded.message;
    }
    // A campaign that ends with trials still at the rigs (async: the wall-time budget, which does
    // not wait for a drain; a pool exhausted while trials run) gives them up in the ledger and
    // asks the rigs to cancel them, rather than leaving them "in flight" for ever.
    const left = status === 'completed' ? this.inFlight() : [];
    if (left.length > 0) {
      const leaving = new Set(left.map((t) => t.id));
      const open = this.view.openJobs().filter((j) => leaving.has(j.trialId));
      this.ledger.transaction(() => {
        for (const t of left) this.ledger.append(campaignId, 'TrialAbandoned', { trialId: t.id, reason: `the campaign ended (${reason}) before its result`, kind: 'campaign-end' }, t.id);
        // Their jobs end here too, in the same transaction: the rigs' answers to the cancels below
        // usually arrive after the runtime has closed and would leave the jobs open in the ledger
        // (busy in the dashboard, re-sent by a reconcile after a kill before CampaignStopped).
        // A rig's answer that does arrive is then a duplicate of this JobFailed (review of 636da6c).
        for (const j of open) this.ledger.append(campaignId, 'JobFailed', { jobId: j.jobId, trialId: j.trialId, stage: j.stage, attempt: j.attempt, reason: `cancelled: the campaign ended (${reason})` }, j.jobId);
      });
      await Promise.allSettled(open.map((j) => this.d.rig.cancel(j.jobId)));
    }
    this.ledger.append(campaignId, 'CampaignStopped', { status, reason });
    this.progress({ phase: 'finish', round: 0, done: 1, total: 1, message: `${status}: ${reason}` });
  }

  // ── rig events ─────────────────────────────────────────────────────────────────────────

  private async onRigEvent(e: RigEvent): Promise<void> {
    if (this.closed) return;
    const job = this.view.job(e.jobId);
    if (!job) {
      // Not one of ours (another campaign on the same lab, or a stray id): recorded, ignored.
      this.ledger.append(this.d.campaignId, 'MessageRejected', { topic: `rigs/${e.rigId}/events`, reason: `unknown jobId ${e.jobId}`, payload: JSON.stringify(e).slice(0, 2000) });
      return;
    }
    const key = `${e.jobId}:${e.attempt ?? 1}:${e.origin ?? 'rig'}:${e.seq}:${e.type}`;
    const fresh = this.ledger.append(this.d.campaignId, 'RigEventReceived', e, key);
    const terminal = e.type === 'result' || e.type === 'failed' || e.type === 'rejected' || e.type === 'cancelled';
    // A duplicate delivery is ignored — unless it is the final event of a job the ledger still
    // has open: a process killed after recording the event but before recording its outcome
    // (the writes below) left it so, and the rig's replay after resume must finish that work,
    // or the round waits forever (the SIGKILL fault suite, issue #15). The writes below are
    // keyed, so doing them on a replay records nothing twice.
    if (!fresh && !(terminal && e.final !== false && isOpenJob(job.status))) return;
    const trial = this.view.trial(job.trialId)!;
    if (!terminal || e.final === false) {
      // accepted/progress, or an attempt that ended with another to follow: the RigEvent
      // document (with its attempt number) is the record of the retry.
      this.changes.next();
      return;
    }
    if (e.type === 'result' || (e.type === 'failed' && e.feasible === false)) {
      // A failed manufacture (feasible: false) is a result — the recipe is infeasible — not an error.
      const feasible = e.type === 'result' && e.feasible !== false;
      const m = this.ledger.append(this.d.campaignId, 'MeasurementRecorded', {
        jobId: e.jobId, trialId: job.trialId, stage: job.stage, capability: job.capability, rigId: e.rigId, measurements: e.measurements ?? {}, feasible,
      }, `${job.trialId}:${job.stage}`);
      const last = !feasible || job.stage === this.d.pipeline.length - 1;
      if (m && trial.status !== 'abandoned') {
        if (!last) await this.sendJob(trial, job.stage + 1, 1, this.view.measuredOf(job.trialId));
        else await this.completeTrial(trial, feasible);
      } else if (m && last && e.late) {
        // The rig that had the job answered after the dispatcher gave up on it (timeout, rig
        // judged offline). The measurement is real — the protocol promises it is never thrown
        // away (issue #14) — so the trial completes with it and the agent learns from it at its
        // next proposal. An earlier stage's late result is kept but starts no later stage: the
        // sample's round is over.
        await this.completeTrial(trial, feasible);
      }
    } else {
      this.ledger.transaction(() => {
        this.ledger.append(this.d.campaignId, 'JobFailed', { jobId: e.jobId, trialId: job.trialId, stage: job.stage, attempt: e.attempt ?? job.attempt, reason: e.reason ?? e.type }, e.jobId);
        // Keyed by trial: a trial already given up (the campaign ended and cancelled its job,
        // issue #21) keeps its first abandonment, and the rig's answer ends the job only.
        this.ledger.append(this.d.campaignId, 'TrialAbandoned', { trialId: job.trialId, reason: `stage ${job.capability}: ${e.reason ?? e.type}`, kind: 'rig' }, job.trialId);
      });
    }
    this.changes.next();
  }

  private async completeTrial(trial: TrialRow, feasible: boolean): Promise<void> {
    const measured = this.view.measuredOf(trial.id);
    const abandon = (reason: string) => this.ledger.append(this.d.campaignId, 'TrialAbandoned', { trialId: trial.id, reason, kind: 'result' }, trial.id);
    // Issue #20 review: an estimator that cannot read the result (e.g. a test shorter than the
    // model's early window) threw through here, the event queue only logged it and the trial
    // stayed running for good (a resume rethrew). The trial ends with what was measured; if the
    // reward needs what the estimate would have given, it is abandoned below, naming why.
    let estimate: Awaited<ReturnType<CampaignRuntime['estimateOf']>> = null;
    let unestimated = '';
    try {
      estimate = feasible ? await this.estimateOf(trial) : null;
    } catch (e) {
      unestimated = `; the ${this.d.estimator!.stage} result could not be estimated: ${(e as Error).message}`;
      this.d.log?.(`trial ${trial.id}: no early-life estimate${unestimated}`);
    }
    const estimated = Object.fromEntries(Object.entries(estimate?.estimates ?? {}).map(([k, v]) => [k, v.mean]));
    // A result without a measured name used to throw inside the reward, the error was
    // swallowed by the event queue and the trial never ended (issue #14). Say which name is
    // missing and which are expected, so that the rig's author can fix the keys.
    const missing = feasible ? (this.d.measure ?? []).filter((n) => !Object.hasOwn(measured, n) && !Object.hasOwn(estimated, n)) : [];
    if (missing.length > 0) {
      return void abandon(`the rigs' measurements lack ${missing.map((n) => `"${n}"`).join(', ')}: measurement keys must be the names in rigs.measure [${this.d.measure!.join(', ')}]; the rigs sent [${Object.keys(measured).join(', ')}]${unestimated}`);
    }
    const predicted = Object.fromEntries(Object.entries(trial.prediction ?? {}).map(([k, v]) => [k, v.mean]));
    // Issue #17: a stage-wise trial was made with the settings each stage's job carried, not the
    // plan it was proposed with — the reward and the ledger's trial are of what was run.
    const realised = this.d.staged ? Object.assign({}, ...this.d.pipeline.map((_, k) => this.view.document('JobDispatched', `${trial.id}-s${k}`)?.body.params ?? {})) as Parameters : undefined;
    const ran = realised ? { ...trial, params: realised } : trial;
    let reward = Number.NaN;
    try {
      // The reward with everything known of the trial: the estimate's reward (issue #20). Properties
      // the rigs did not measure keep their predicted values here, never in the measured reward below.
      if (feasible) reward = this.d.rewardOf({ ...predicted, ...measured, ...estimated }, this.view.paramsOf(ran));
    } catch (e) {
      return void abandon(`the reward could not be computed from the measurements [${Object.keys(measured).join(', ')}]: ${(e as Error).message}`);
    }
    const ranParams = realised ? { params: realised } : {};
    // Issue #20: a reward that rests on a prediction is not a measured reward — the trial has none
    // (NaN: best, worst, targets, the correction and the reality model count only measurements).
    // The same for the twin's prediction of a property the rigs left out (review 2026-12-07: with
    // no rigs.measure to refuse it at load, a rig that omitted sigma_eff_z gave a "measured"
    // reward made of the prediction, which the agents learnt as rig data). A reward that does not
    // use those names (the same value with them unknown, NaN) is measured all the same (#20 review).
    const unmeasured = [...new Set([...Object.keys(estimated), ...Object.keys(predicted).filter((n) => !Object.hasOwn(measured, n))])];
    const measuredReward = this.rewardWithout(unmeasured, measured, ran, reward);
    if (!estimate) {
      // Review 2026-12-07: the summary said nothing of why a reward was not finite; the reason is
      // recorded with the trial (JSON keeps no ±∞) and logged.
      // Review of 0e10d79: every feasible trial without a finite measured reward gets its reason —
      // 'not recorded' in the summary is for trials recorded before reasons were kept.
      let nonFinite: string | undefined;
      const sent = `they sent [${Object.keys(measured).join(', ')}]`;
      if (Number.isFinite(reward) && !Number.isFinite(measuredReward)) {
        const read = unmeasured.filter((n) => Number.isNaN(this.rewardWithout([n], { ...predicted, ...measured }, ran, reward)));
        // No one name alone may change the reward (only some of them together): said plainly, not "reads , which …".
        nonFinite = read.length > 0 ? `reads ${read.join(', ')}, which the rigs did not measure` : `rests on [${unmeasured.join(', ')}] together, which the rigs did not measure`;
        const names = read.length > 0 ? `reads ${read.map((n) => `"${n}"`).join(', ')}, which the rigs did not measure` : nonFinite;
        this.d.log?.(`trial ${trial.id}: no measured reward — the reward ${names} (${sent}); the agents do not learn it as rig data`);
      } else if (feasible && measuredReward === -Infinity) {
        nonFinite = this.nonFiniteReason(measured, predicted, this.view.paramsOf(ran));
        this.d.log?.(`trial ${trial.id}: measured ${nonFinite}; the agents and the reality model learn it as worse than any finite reward`);
      } else if (feasible && !Number.isFinite(measuredReward)) {
        // NaN from the measurements alone (0/0), +∞, or a non-finite reward that also rests on predictions.
        const value = Number.isNaN(reward) ? 'NaN' : reward > 0 ? '+∞' : '−∞';
        nonFinite = `reward ${value} from the measurements [${Object.keys(measured).join(', ')}]${unmeasured.length > 0 ? ` with the predictions of [${unmeasured.join(', ')}]` : ''}`;
        this.d.log?.(`trial ${trial.id}: no measured reward — ${nonFinite}`);
      }
      return void this.ledger.append(this.d.campaignId, 'TrialCompleted', { trialId: trial.id, measured, reward: measuredReward, feasible, ...ranParams, ...(nonFinite ? { nonFinite } : {}) }, trial.id);
    }
    // The estimate, its σ and the reward with it are their own document, in the same transaction.
    const rewardStd = this.d.rewardStd?.({ ...Object.fromEntries(Object.entries({ ...predicted, ...measured }).map(([k, v]) => [k, { mean: v, std: 0 }])), ...estimate.estimates }, (m) => this.d.rewardOf(m, this.view.paramsOf(ran)));
    this.ledger.transaction(() => {
      this.ledger.append(this.d.campaignId, 'EstimateRecorded', { trialId: trial.id, ...estimate, reward, ...(rewardStd === undefined ? {} : { rewardStd }) }, trial.id);
      this.ledger.append(this.d.campaignId, 'TrialCompleted', { trialId: trial.id, measured, reward: measuredReward, feasible, ...ranParams }, trial.id);
    });
  }

  /**
   * `reward` when the reward is the same with `names` unknown (NaN), else NaN: whether it rests on
   * them. A −∞ that the measurements alone give is kept (review 2026-12-07: it is a result).
   */
  private rewardWithout(names: readonly string[], known: Record<string, number>, trial: TrialRow, reward: number): number {
    const r = this.rewardOrNaN({ ...known, ...Object.fromEntries(names.map((n) => [n, Number.NaN])) }, this.view.paramsOf(trial));
    return (Number.isFinite(r) || r === -Infinity) && r === reward ? reward : Number.NaN;
  }

  /**
   * Why a measured reward is −∞ (review 2026-12-07): the first measured property whose value
   * alone makes it so ('sigma_eff_z = 0 → reward −∞': another value of it gives a finite
   * reward, the other properties as they are).
   */
  private nonFiniteReason(measured: Record<string, number>, others: Record<string, number>, params: Parameters): string {
    const values = { ...others, ...measured };
    const culprit = Object.entries(measured).find(([name, v]) => [1, Math.abs(v) + 1].some((probe) => Number.isFinite(this.rewardOrNaN({ ...values, [name]: probe }, params))));
    return culprit ? `${culprit[0]} = ${culprit[1]} → reward −∞` : 'reward −∞ from the measurements';
  }

  /**
   * Issue #20: the estimate of what the estimator's stage did not measure, from that stage's
   * measurement. (An estimate is recorded in one transaction with TrialCompleted, so a resumed
   * process never completes a trial that already has one.)
   */
  private async estimateOf(trial: TrialRow): Promise<Omit<DocumentBodies['EstimateRecorded'], 'reward' | 'rewardStd' | 'trialId'> | null> {
    const est = this.d.estimator;
    const stage = est ? this.d.pipeline.indexOf(est.stage) : -1;
    if (!est || stage < 0) return null;
    const m = this.view.document('MeasurementRecorded', `${trial.id}:${stage}`)?.body;
    if (!m) return null;
    const e = await est.estimate(m.measurements);
    return e && { stage, capability: est.stage, fidelity: 'early-life', ...e };
  }
}

/**
 * Down-selection of a round's candidates to the batch sent to the rigs (issue #6: the agent
 * "sends only its best, *diverse* candidates"). Greedy in order of predicted reward: a
 * candidate joins the batch only if it lies at least `minDistance` (RMS over bounds-normalised
 * coordinates) from every candidate already in the batch and from every point sent to the rigs
 * in an earlier round.
 *
 * Guarantee: the members of a batch are pairwise ≥ minDistance apart, so the robots never run
 * near-duplicates side by side. When fewer than k candidates qualify the batch is smaller —
 * a rig run is worth more than filling the batch. Only when none qualifies (every candidate
 * lies near an earlier selection) is the best-ranked candidate sent, alone: an empty batch ends
 * the campaign (campaign.machine, `nothingSelected`), and near an earlier measurement it is a
 * replicate, which the discrepancy model can use.
 */
export function selectDiverse(ranked: TrialRow[], k: number, space: ParameterSpace, earlier: readonly Parameters[] = [], minDistance = 0.05): TrialRow[] {
  const norm = (p: Parameters) => encode(space, p);
  const chosen: TrialRow[] = [];
  const vecs: number[][] = earlier.map(norm);
  for (const t of ranked) {
    if (chosen.length >= k) break;
    const v = norm(t.params);
    if (vecs.every((u) => rms(u, v) >= minDistance)) {
      chosen.push(t);
      vecs.push(v);
    }
  }
  if (chosen.length === 0 && k > 0 && ranked.length > 0) chosen.push(ranked[0]);
  return chosen;
}

/** RMS distance of two points of the bounds-normalised cube (the diverse selection's metric). */
function rms(u: readonly number[], v: readonly number[]): number {
  return Math.hypot(...u.map((x, i) => x - v[i])) / Math.sqrt(Math.max(1, u.length));
}

/**
 * Async mode (issue #21): the candidates at least `minDistance` from every trial still at the
 * rigs. selectDiverse may fall back to a candidate near an earlier selection — a replicate of
 * a measurement, which the discrepancy model can use — but never, here, to a near-duplicate
 * of a running trial: when every candidate is one, the slot waits for the next result.
 */
export function awayFromPending(ranked: TrialRow[], pending: readonly Parameters[], space: ParameterSpace, minDistance = 0.05): TrialRow[] {
  const running = pending.map((p) => encode(space, p));
  return ranked.filter((t) => {
    const v = encode(space, t.params);
    return running.every((u) => rms(u, v) >= minDistance);
  });
}

/**
 * A decision on a batch at the approval gate, per trial (issue #18, the dashboard's approval
 * panel): `approve` may carry `reject` (trial ids that do not go) and `edits` (trial id → the
 * parameters an operator changed). An edit outside the space (bounds, categories, constraints)
 * rejects that trial with the reason, rather than sending a recipe the space forbids. A
 * batch with nothing approved is a rejection.
 */
export function perTrialDecision(
  command: 'approve' | 'reject',
  args: Record<string, unknown> | null,
  batch: readonly string[],
  space: ParameterSpace,
): { decision: 'approve' | 'reject' | 'edit'; approved: string[]; rejected: Array<[string, string]>; edits?: Record<string, Parameters> } {
  if (command === 'reject') return { decision: 'reject', approved: [], rejected: batch.map((id) => [id, 'rejected at the approval gate']) };
  const no = new Set(Array.isArray(args?.reject) ? (args.reject as unknown[]).map(String) : []);
  const rejected: Array<[string, string]> = [];
  const edits: Record<string, Parameters> = {};
  for (const [id, p] of Object.entries((args?.edits ?? {}) as Record<string, Parameters>)) {
    if (!batch.includes(id) || no.has(id)) continue;
    const problems = isFeasible(space, p).violations;
    if (problems.length > 0) {
      no.add(id);
      rejected.push([id, `edited parameters refused at the approval gate: ${problems.join('; ')}`]);
    } else edits[id] = p;
  }
  for (const id of batch) if (no.has(id) && !rejected.some(([r]) => r === id)) rejected.push([id, 'rejected at the approval gate']);
  const approved = batch.filter((id) => !no.has(id));
  const edited = Object.keys(edits).length > 0;
  return { decision: approved.length === 0 ? 'reject' : edited ? 'edit' : 'approve', approved, rejected, ...(edited ? { edits } : {}) };
}

/**
 * Throws, naming the agent, the round, the candidate, the parameter, its value and what the
 * space allows, when `proposals` is not a list of points of `space` (isFeasible: bounds,
 * integers, categories, constraints, pool membership; library review 2026-12-07, item 1).
 * A parameter held fixed by the config is not the agent's to propose: the message says so.
 */
export function checkProposals(agent: string, space: ParameterSpace, fixed: Parameters, proposals: unknown, round: number): asserts proposals is Parameters[] {
  const who = `the agent '${agent}'`;
  if (!Array.isArray(proposals)) throw new PoreloopError(`${who} returned ${typeof proposals} from propose in round ${round}, not a list of parameter sets`);
  proposals.forEach((p, i) => {
    const where = `${who} proposed, in round ${round} (candidate ${i + 1} of ${proposals.length}), a recipe outside the campaign's space`;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new PoreloopError(`${where}: ${JSON.stringify(p) ?? String(p)} is not a set of parameters`);
    const { violations } = isFeasible(space, p as Parameters);
    if (violations.length === 0) return;
    const names = space.parameters.map((q) => q.name);
    const said = violations.map((v) => {
      // A parameter's violation reads `name: …`; a constraint's or the pool's names none.
      const colon = v.indexOf(':');
      const name = colon < 0 ? '' : v.slice(0, colon);
      const spec = space.parameters.find((q) => q.name === name);
      if (!spec) {
        if (!Object.hasOwn(p, name)) return v;
        if (Object.hasOwn(fixed, name)) return `${name}: held fixed by the config (twin.fixed), not a parameter the agent proposes`;
        return `${v} (its parameters: ${names.join(', ')})`;
      }
      const value = (p as Parameters)[name];
      const allowed = spec.kind === 'categorical' ? `one of ${JSON.stringify(spec.values)}` : `${spec.kind === 'integer' ? 'an integer in ' : ''}[${spec.min}, ${spec.max}]`;
      if (value === undefined) return `${name}: missing (allowed: ${allowed})`;
      return `${name} = ${typeof value === 'number' ? String(value) : JSON.stringify(value)} (allowed: ${allowed})`;
    });
    throw new PoreloopError(`${where}: ${said.join('; ')}. A proposal must be a point of the space the agent is given (ctx.space); nothing of it was recorded or sent to a rig (docs/agents.md)`);
  });
}


/** The seed of the volume the P-model generates for a trial (also what the dashboard's slice viewer regenerates, issue #18). */
export function trialVolumeSeed(campaignSeed: number, round: number, index: number): number {
  return hash32(`${campaignSeed}:${round}:${index}`);
}

/**
 * The generic way an agent takes pending trials into account (issue #21, docs/async.md): the
 * "constant liar" of Ginsbourger, Le Riche & Carraro (2010) — each pending trial joins the
 * history as a rig observation whose reward is the worst finite rig reward so far (CL-min), so
 * an agent that learns from the history steers away from what is already running rather than
 * proposing it again. Agents that handle `ctx.pending` themselves (Agent.pendingAware, e.g.
 * gp-bo's Kriging believer) get the history as it is. Before any finite rig reward there is no
 * lie to tell: the history is unchanged (the diverse down-selection still keeps new proposals
 * away from pending ones).
 */
export function withConstantLiar(history: Observation[], pending: readonly Parameters[]): Observation[] {
  if (pending.length === 0) return history;
  const rig = history.filter((o) => o.fidelity === 'rig' && !o.fantasy && Number.isFinite(o.reward)).map((o) => o.reward);
  if (rig.length === 0) return history;
  const lie = Math.min(...rig);
  return [...history, ...pending.map((params) => ({ params, reward: lie, fidelity: 'rig' as const, feasible: true, fantasy: true as const }))];
}

/**
 * The properties whose mean is ±∞, as TrialScored records them beside the null JSON makes of
 * them (sofc-device review 2026-12-07); undefined when there are none.
 */
export function infiniteMeans(properties: Record<string, PropertyEstimate>): Record<string, 'Infinity' | '-Infinity'> | undefined {
  const out = Object.entries(properties).filter(([, e]) => e.mean === Infinity || e.mean === -Infinity);
  return out.length ? Object.fromEntries(out.map(([k, e]) => [k, e.mean > 0 ? ('Infinity' as const) : ('-Infinity' as const)])) : undefined;
}
