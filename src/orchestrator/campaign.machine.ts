import { and, assign, fromPromise, not, or, raise, setup } from 'xstate';

/**
 * The campaign state machine (xstate v5), after the autonomous optimisation route of Niu et
 * al., EES 14 (2021) 2549, Fig. 13. It *declares* the loop; every effect is an actor referenced
 * by name and supplied at the edge with `machine.provide({ actors })` (src/compose) — this
 * file imports no implementation and does no I/O (DESIGN.md style rule 3).
 *
 *   proposing → scoring → selecting → [awaitingApproval] → dispatching → awaitingRigs
 *       ▲                     │ (rejected) │                                  │
 *       └──────────── deciding ◀───────────┴──── assimilating ◀───────────────┘
 *                        │ budget / target / no improvement / failures / stop
 *                        ▼
 *                     stopping → done            paused ⇄ (campaign.pause / campaign.resume)
 *
 * Every actor is idempotent for its round (it first looks in the ledger for what it already
 * did), because restoring a persisted snapshot restarts the invoked actor of the current
 * state (STACK.md): that is what makes `resume` after a SIGKILL exact.
 *
 * Asynchronous mode (issue #21, docs/async.md; `mode: 'async'`): the same states, but a round is
 * as small as the rigs that are free. `awaitRigs` returns as soon as a trial slot is free
 * (the runtime keeps at most its batch size of trials in flight) and `select` fills only the
 * free slots, so a rig that finishes gets the next candidate after one assimilate → propose →
 * score → select → dispatch pass instead of waiting for the slowest rig of its batch. The
 * trials still in flight are the pending work (in the ledger: selected, not yet completed or
 * abandoned); the agent proposes with them taken into account. A stop for budget, target, round
 * budget or no improvement first drains the in-flight trials (no new proposal; `awaitingRigs`
 * and `assimilating` until none is left), so a completed campaign leaves no rig run behind.
 */

export interface CampaignLimits {
  rigRuns: number;
  rounds?: number;
  wallTimeMs?: number;
  noImprovementRounds?: number;
  targetReward?: number;
  failures: number;
  approval: boolean;
}

export interface CampaignInput {
  campaignId: string;
  limits: CampaignLimits;
  /** Synchronous rounds (absent: the default) or asynchronous ones (issue #21). */
  mode?: 'sync' | 'async';
  /** Epoch ms the campaign started (wall-time budget). */
  startedAt: number;
}

export interface CampaignContext extends CampaignInput {
  round: number;
  rigRuns: number;
  /**
   * Trials selected for the rigs and not yet completed or abandoned, as the runtime last
   * reported (async mode decides with it; absent in snapshots written before issue #21: 0).
   */
  inFlight?: number;
  /** Async mode: a reason to stop came while trials were in flight; no new proposals. */
  draining?: boolean;
  /** Async mode: the last selection was empty; awaitRigs waits for a result (AwaitInput.below). */
  waitResult?: boolean;
  /**
   * Async mode: passes that assimilated at least one ended trial — the rounds `budget.rounds`
   * counts there (each pass is a ledger round, but one in which a slot was free at once brought
   * no result). Absent in snapshots written before it: 0.
   */
  resultRounds?: number;
  bestReward: number | null;
  roundsWithoutImprovement: number;
  failures: number;
  /** Latest time reported by an actor (from the injected clock). */
  lastSeenAt: number;
  pauseRequested: boolean;
  stopReason: string | null;
  finalStatus: 'completed' | 'stopped' | 'failed' | null;
  error: string | null;
}

export interface RoundInput {
  campaignId: string;
  round: number;
}
export interface SelectOutput {
  selected: number;
  /** Trials in flight after this selection (async mode). */
  inFlight?: number;
  /** Set when nothing is left to try (a finite pool fully proposed): why; the campaign ends with it. */
  exhausted?: string;
}
/** A person's decision on a round's batch at the approval gate (issue #7, #15). */
export interface ApprovalDecision {
  round: number;
  decision: 'approve' | 'reject';
  /** Trials that go to the rigs: the batch when approved, 0 when rejected. */
  approved: number;
}
export interface ApprovalRequestOutput {
  /** The decision already in the ledger (a resumed campaign), else null: the machine waits. */
  decided: ApprovalDecision | null;
}
export interface AssimilateOutput {
  completed: number;
  failed: number;
  bestReward: number | null;
  /**
   * Whether the round improved the campaign's result, when the runtime decides it (issue #16:
   * an objectives campaign counts a gain in dominated hypervolume of the measured front);
   * absent: a better best reward is the improvement.
   */
  improved?: boolean;
  /** The injected clock's time when assimilation finished (wall-time budget; no Date.now() here). */
  now: number;
  /** Trials still in flight (async mode). */
  inFlight?: number;
  /**
   * Async mode: trials that ended and this pass assimilated. A pass with none (a slot was free
   * at once) is not a round for `budget.rounds` nor for `stop.noImprovementRounds`.
   */
  ended?: number;
}
/** awaitRigs' input: the rig runs left, so that async mode knows whether to wait for a free slot or for all. */
export interface AwaitInput extends RoundInput {
  /** Rig runs left in the budget (absent: unbounded). */
  remaining?: number;
  /** Async mode, stopping: wait until no trial is in flight. */
  drain?: boolean;
  /**
   * Async mode after an empty selection (every candidate a near-duplicate of a running trial):
   * wait until fewer than this many trials are in flight — a new result — not just for a free slot.
   */
  below?: number;
}
export interface FinishInput {
  campaignId: string;
  status: 'completed' | 'stopped' | 'failed';
  reason: string;
}

export type CampaignEvent =
  | { type: 'campaign.stop'; reason?: string }
  /**
   * A budget spent, as found outside the loop (src/compose checks the wall time every 250 ms, so
   * a round that cannot finish ends too, issue #14): ends the campaign as the machine's own rule
   * for that budget does — completed, and `finish` gives up the trials in flight (issue #21).
   */
  | { type: 'campaign.budgetSpent'; reason: string }
  | { type: 'campaign.pause' }
  | { type: 'campaign.resume' }
  | ({ type: 'approval.decided' } & ApprovalDecision);

function notProvided<O, I>(name: string) {
  return fromPromise<O, I>(async () => {
    throw new Error(`actor "${name}" was not provided (compose the machine with machine.provide)`);
  });
}


export const campaignMachine = setup({
  types: {
    context: {} as CampaignContext,
    input: {} as CampaignInput,
    events: {} as CampaignEvent,
  },
  actors: {
    propose: notProvided<{ proposed: number }, RoundInput>('propose'),
    score: notProvided<{ scored: number }, RoundInput>('score'),
    select: notProvided<SelectOutput, RoundInput & { remaining: number }>('select'),
    requestApproval: notProvided<ApprovalRequestOutput, RoundInput>('requestApproval'),
    dispatch: notProvided<{ dispatched: number }, RoundInput>('dispatch'),
    awaitRigs: notProvided<{ done: number }, AwaitInput>('awaitRigs'),
    assimilate: notProvided<AssimilateOutput, RoundInput>('assimilate'),
    finish: notProvided<void, FinishInput>('finish'),
  },
  actions: {
    recordFailure: assign(({ event }) => {
      const e = (event as { error?: unknown }).error;
      const msg = e instanceof Error ? e.message : String(e);
      return { finalStatus: 'failed' as const, error: msg, stopReason: `error: ${msg}` };
    }),
  },
  guards: {
    approvalRequired: ({ context }) => context.limits.approval,
    nothingSelected: (_, params: { selected: number }) => params.selected === 0,
    alreadyDecided: (_, params: ApprovalRequestOutput) => params.decided !== null,
    decisionForThisRound: ({ context, event }) => event.type === 'approval.decided' && event.round === context.round,
    batchRejected: ({ event }) => event.type === 'approval.decided' && event.decision === 'reject',
    exhausted: (_, params: SelectOutput) => params.selected === 0 && params.exhausted !== undefined,
    failureBudgetSpent: ({ context }) => context.failures > context.limits.failures,
    rigBudgetSpent: ({ context }) => context.rigRuns >= context.limits.rigRuns,
    roundBudgetSpent: ({ context }) =>
      context.limits.rounds !== undefined && (context.mode === 'async' ? (context.resultRounds ?? 0) : context.round) >= context.limits.rounds,
    wallTimeSpent: ({ context }) => context.limits.wallTimeMs !== undefined && context.lastSeenAt - context.startedAt >= context.limits.wallTimeMs,
    targetReached: ({ context }) =>
      context.limits.targetReward !== undefined && context.bestReward !== null && context.bestReward >= context.limits.targetReward,
    noImprovement: ({ context }) =>
      context.limits.noImprovementRounds !== undefined && context.roundsWithoutImprovement >= context.limits.noImprovementRounds,
    pauseRequested: ({ context }) => context.pauseRequested,
    /** Async mode with trials at the rigs: a stop drains them first; an empty selection waits for a free rig. */
    asyncInFlight: ({ context }) => context.mode === 'async' && (context.inFlight ?? 0) > 0,
    asyncWaiting: ({ context }, params: SelectOutput) => context.mode === 'async' && params.selected === 0 && (params.inFlight ?? 0) > 0,
  },
}).createMachine({
  id: 'campaign',
  context: ({ input }) => ({
    ...input,
    round: 1,
    rigRuns: 0,
    bestReward: null,
    roundsWithoutImprovement: 0,
    failures: 0,
    lastSeenAt: input.startedAt,
    inFlight: 0,
    pauseRequested: false,
    stopReason: null,
    finalStatus: null,
    error: null,
  }),
  initial: 'proposing',
  on: {
    // An operator stop ends the campaign from any working state; what is in flight stays in
    // the ledger (dispatched jobs keep their records) so a later `resume` can pick it up.
    'campaign.stop': {
      target: '.stopping',
      actions: assign({ stopReason: ({ event }) => event.reason ?? 'operator stop', finalStatus: () => 'stopped' as const }),
    },
    // Not a stop (issue #21 review): sent as `campaign.stop`, the wall-time budget ended an async
    // campaign `stopped` with its trials left in flight — never abandoned, never cancelled — and a
    // resume stopped again at once, so they never ended. A budget completes the campaign.
    'campaign.budgetSpent': {
      target: '.stopping',
      actions: assign({ stopReason: ({ event }) => event.reason, finalStatus: () => 'completed' as const }),
    },
    'campaign.pause': { actions: assign({ pauseRequested: () => true }) },
    // A resume that arrives before the round ends withdraws the pending pause (in `paused` the
    // state's own handler wins and the loop goes on). Without it xstate dropped the event, the
    // poll loop had consumed the command, and the campaign paused anyway (issue #18 review).
    'campaign.resume': { actions: assign({ pauseRequested: () => false }) },
  },
  states: {
    proposing: {
      invoke: {
        src: 'propose',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round }),
        onDone: 'scoring',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    scoring: {
      invoke: {
        src: 'score',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round }),
        onDone: 'selecting',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    selecting: {
      invoke: {
        src: 'select',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round, remaining: context.limits.rigRuns - context.rigRuns }),
        onDone: [
          // Without this a 3-row pool with rigRuns: 10 ran 26 149 empty rounds in 10 min (issue #14).
          {
            guard: { type: 'exhausted', params: ({ event }) => event.output },
            target: 'stopping',
            actions: assign({ stopReason: ({ event }) => event.output.exhausted ?? 'nothing left to try', finalStatus: () => 'completed' as const }),
          },
          // Async: every slot is taken (or nothing new qualified) while trials run — wait for a rig.
          {
            guard: { type: 'asyncWaiting', params: ({ event }) => event.output },
            target: 'awaitingRigs',
            actions: assign({ inFlight: ({ event }) => event.output.inFlight ?? 0, waitResult: () => true }),
          },
          { guard: { type: 'nothingSelected', params: ({ event }) => event.output }, target: 'deciding' },
          // A batch that waits for a person spends no rig runs until it is approved (issue #14).
          { guard: 'approvalRequired', target: 'awaitingApproval' },
          {
            target: 'dispatching',
            actions: assign({ rigRuns: ({ context, event }) => context.rigRuns + event.output.selected, inFlight: ({ context, event }) => event.output.inFlight ?? context.inFlight }),
          },
        ],
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    // The approval gate waits in a state, not in an actor: `approval.decided` (sent by the
    // composition root when the ledger holds the decision of `poreloop approve|reject`, from
    // any process) moves it on. A rejected batch goes to no rig; the loop decides afresh.
    awaitingApproval: {
      initial: 'requesting',
      states: {
        requesting: {
          invoke: {
            src: 'requestApproval',
            input: ({ context }) => ({ campaignId: context.campaignId, round: context.round }),
            onDone: [
              {
                guard: { type: 'alreadyDecided', params: ({ event }) => event.output },
                target: 'waiting',
                actions: raise(({ event }) => ({ type: 'approval.decided' as const, ...event.output.decided! })),
              },
              { target: 'waiting' },
            ],
            onError: { target: '#campaign.failed', actions: 'recordFailure' },
          },
        },
        waiting: {},
      },
      on: {
        // A decision about another round (a stale event) changes nothing.
        'approval.decided': [
          { guard: and(['decisionForThisRound', 'batchRejected']), target: 'deciding' },
          {
            guard: 'decisionForThisRound',
            target: 'dispatching',
            actions: assign({ rigRuns: ({ context, event }) => context.rigRuns + (event as ApprovalDecision).approved }),
          },
        ],
      },
    },
    dispatching: {
      invoke: {
        src: 'dispatch',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round }),
        onDone: 'awaitingRigs',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    awaitingRigs: {
      invoke: {
        src: 'awaitRigs',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round, remaining: context.limits.rigRuns - context.rigRuns, drain: context.draining === true, ...(context.waitResult ? { below: context.inFlight } : {}) }),
        onDone: 'assimilating',
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    assimilating: {
      invoke: {
        src: 'assimilate',
        input: ({ context }) => ({ campaignId: context.campaignId, round: context.round }),
        onDone: {
          target: 'deciding',
          actions: assign(({ context, event }) => {
            const { bestReward, failed, now } = event.output;
            const better = bestReward !== null && (context.bestReward === null || bestReward > context.bestReward);
            const improved = event.output.improved ?? better;
            const counts = event.output.ended === undefined || event.output.ended > 0;
            return {
              bestReward: better ? bestReward : context.bestReward,
              roundsWithoutImprovement: improved ? 0 : context.roundsWithoutImprovement + (counts ? 1 : 0),
              resultRounds: (context.resultRounds ?? 0) + (counts ? 1 : 0),
              failures: context.failures + failed,
              lastSeenAt: now,
              inFlight: event.output.inFlight ?? 0,
            };
          }),
        },
        onError: { target: 'failed', actions: 'recordFailure' },
      },
    },
    deciding: {
      always: [
        { guard: 'failureBudgetSpent', target: 'failed', actions: assign({ stopReason: () => 'failure budget spent', finalStatus: () => 'failed' as const }) },
        // Async: a reason to stop with trials at the rigs waits for them (no new proposal).
        {
          guard: and(['asyncInFlight', not('wallTimeSpent'), or(['targetReached', 'rigBudgetSpent', 'roundBudgetSpent', 'noImprovement'])]),
          target: 'awaitingRigs',
          actions: assign({ round: ({ context }) => context.round + 1, draining: () => true, waitResult: () => false }),
        },
        { guard: 'targetReached', target: 'stopping', actions: assign({ stopReason: () => 'target reward reached', finalStatus: () => 'completed' as const }) },
        { guard: 'rigBudgetSpent', target: 'stopping', actions: assign({ stopReason: () => 'rig-run budget spent', finalStatus: () => 'completed' as const }) },
        { guard: 'roundBudgetSpent', target: 'stopping', actions: assign({ stopReason: () => 'round budget spent', finalStatus: () => 'completed' as const }) },
        { guard: 'wallTimeSpent', target: 'stopping', actions: assign({ stopReason: () => 'wall-time budget spent', finalStatus: () => 'completed' as const }) },
        { guard: 'noImprovement', target: 'stopping', actions: assign({ stopReason: () => 'no improvement', finalStatus: () => 'completed' as const }) },
        // A drain whose last results took the reason to stop away (an improvement) goes on proposing.
        { guard: 'pauseRequested', target: 'paused', actions: assign({ round: ({ context }) => context.round + 1, pauseRequested: () => false, draining: () => false, waitResult: () => false }) },
        { target: 'proposing', actions: assign({ round: ({ context }) => context.round + 1, draining: () => false, waitResult: () => false }) },
      ],
    },
    paused: {
      // A second pause while paused changes nothing: it must not pause again after the next round.
      on: { 'campaign.resume': 'proposing', 'campaign.pause': {} },
    },
    stopping: {
      on: { 'campaign.stop': {}, 'campaign.budgetSpent': {}, 'campaign.pause': {} },
      invoke: {
        src: 'finish',
        input: ({ context }) => ({ campaignId: context.campaignId, status: context.finalStatus ?? 'stopped', reason: context.stopReason ?? 'stopped' }),
        onDone: 'done',
        onError: 'done',
      },
    },
    failed: {
      on: { 'campaign.stop': {}, 'campaign.budgetSpent': {}, 'campaign.pause': {} },
      invoke: {
        src: 'finish',
        input: ({ context }) => ({ campaignId: context.campaignId, status: 'failed' as const, reason: context.stopReason ?? context.error ?? 'failed' }),
        onDone: 'done',
        onError: 'done',
      },
    },
    done: { type: 'final' },
  },
});

export type CampaignMachine = typeof campaignMachine;
