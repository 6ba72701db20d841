/**
 * A campaign against a simulated fleet, in simulated time (issue #21): the real runtime and
 * machine, the real dispatcher, simulated rigs (robots/sim) over the in-memory broker, a real
 * ledger, all on one fake clock (src/core/fake-clock.ts). Used by tests/async.test.ts and by
 * `npm run bench -- scale`.
 *
 * Time moves only while the digital space is idle: the driver advances the clock in small
 * steps and never while an actor other than `awaitRigs` runs, so a proposal takes no simulated
 * time however slow the machine — except `digitalMs`, a modelled cost of each propose → score
 * pass (issue #21: "2–8 s with a GP"), charged as simulated time after the real work. Rig
 * utilisation is therefore a property of the loop and the fleet, not of the computer running
 * it. The clock stops at every timer (FakeClock.nextAt), so no event is skipped over while an
 * actor computes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor, fromPromise, toPromise, type Snapshot } from 'xstate';
import { createDispatcher } from '../robots/dispatcher.js';
import { createSimulatedLab, type SimLogEntry, type SimRigConfig, type Truth } from '../robots/sim/index.js';
import { createMemoryBroker } from '../robots/transport/memory.js';
import { createFakeClock, type FakeClock } from '../src/core/fake-clock.js';
import type { Agent, ParameterSpace, Parameters, Predictor } from '../src/core/protocols.js';
import { createRng, hash32 } from '../src/core/rng.js';
import { Ledger } from '../src/ledger/ledger.js';
import { campaignMachine, type AssimilateOutput, type CampaignContext } from '../src/orchestrator/campaign.machine.js';
import { CampaignRuntime } from '../src/orchestrator/runtime.js';

export interface SimCampaignOptions {
  mode: 'sync' | 'async';
  seed: number;
  rigs: SimRigConfig[];
  capability: string;
  truth: Truth;
  agent: Agent;
  space: ParameterSpace;
  /** Reward of the measured properties. */
  rewardOf: (properties: Record<string, number>, params: Parameters) => number;
  measure: string[];
  batchSize: number;
  /** loop.warmup: trials that must end before a freed slot is refilled (async). */
  warmup?: number;
  candidates: number;
  rigRuns: number;
  targetReward?: number;
  /** Wall-time budget (simulated ms). */
  wallTimeMs?: number;
  /** Simulated ms charged per propose → score pass (default 0). */
  digitalMs?: number;
  /** Per-attempt rig timeout (simulated ms). */
  timeoutMs: number;
  /** Simulated ms per driver step (default 50). */
  stepMs?: number;
  /** Limit of simulated time (default 10 h). */
  limitMs?: number;
  /** Continue a campaign: its ledger file (the lab is started afresh with `labStateDir`). */
  db?: string;
  labStateDir?: string;
  /** Kill (stop everything without cleanup, as SIGKILL would) when this holds after a step. */
  killWhen?: (ctx: CampaignContext, state: string, ledger: Ledger) => boolean;
  /**
   * Kill right after an assimilation's work is in the ledger and before the machine takes its
   * output (the snapshot still says `assimilating`): the resumed process runs that pass again.
   */
  killAfterAssimilate?: (round: number, output: AssimilateOutput, ledger: Ledger) => boolean;
  /** Every assimilation's output, by round (what the machine counts). */
  onAssimilated?: (round: number, output: AssimilateOutput) => void;
  /**
   * Keep the temporary folder (ledger, lab state) this run made after a run that ends: the
   * caller reads `db` and then calls `cleanup()`. A killed run always keeps it (the caller
   * resumes from it); without `keep` an ended run removes it.
   */
  keep?: boolean;
}

export interface SimCampaignResult {
  db: string;
  labStateDir: string;
  /** Removes the temporary folder this run made (nothing when the caller gave db and labStateDir). */
  cleanup: () => void;
  status: 'completed' | 'stopped' | 'failed' | 'killed';
  context: CampaignContext;
  /** Every job the rigs saw (lab clock times). */
  log: SimLogEntry[];
  startedAt: number;
  endedAt: number;
  /** Rig utilisation: busy rig time / (rigs × (last finish − start)). */
  utilisation: number;
  /**
   * The same until the last rig run started (the budget spent): without the end of the
   * campaign, where every loop leaves rigs idle while the last runs finish.
   */
  utilisationUntilLastStart: number;
  /** Trials measured, in the order their results were recorded, with when (lab clock) the rig finished. */
  measured: Array<{ params: Parameters; reward: number; at: number }>;
  /** The maximum number of selected, unfinished trials seen at any selection. */
  maxInFlight: number;
  /**
   * For each selected trial (in order): its round, the trials in flight when it was selected,
   * and how many results (completed trials) the agent had then.
   */
  pendingAtSelection: Array<{ round: number; params: Parameters; pending: Parameters[]; results: number }>;
}

const settle = () => new Promise<void>((r) => setImmediate(r));

/** The prior and nothing else (a rig-only campaign without a surrogate): the agent's order decides. */
const noPrediction = (names: string[]): Predictor => ({
  score: async (cs) => cs.map(() => ({ properties: Object.fromEntries(names.map((n) => [n, { mean: Number.NaN, std: Infinity }])), fidelity: 'surrogate' as const })),
});

export async function runSimCampaign(o: SimCampaignOptions): Promise<SimCampaignResult> {
  const clock: FakeClock = createFakeClock();
  const broker = createMemoryBroker();
  const lab = 'sim';
  const dir = o.db && o.labStateDir ? null : mkdtempSync(join(tmpdir(), 'poreloop-async-'));
  const db = o.db ?? join(dir!, 'ledger.db');
  const labStateDir = o.labStateDir ?? join(dir!, 'lab');
  const cleanup = () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  const sim = await createSimulatedLab({ transport: (c) => broker.connect(c), lab, seed: hash32(`lab:${o.seed}`), clock, rigs: o.rigs, truth: o.truth, stateDir: labStateDir });
  const t = await broker.connect({ clientId: 'orchestrator' });
  const dispatcher = createDispatcher({
    transport: t, lab, campaignId: 'c', clock, rng: createRng(hash32(`dispatch:${o.seed}`)),
    options: { timeoutMs: o.timeoutMs, maxAttempts: 2, heartbeatTimeoutMs: 120_000, tickMs: 1000 },
  });
  await dispatcher.start();
  await clock.advanceUntil(() => dispatcher.rigs().length === o.rigs.length, 'every rig seen', { stepMs: 10, limitMs: 60_000 });

  // One clock for the whole lab: the runtime, dispatcher and rigs run on `clock`, so the ledger's
  // timestamps (JobSent, results, snapshots) do too — a sim campaign's ledger reads in lab time
  // rather than mixing the wall clock with the lab's (issue #21).
  const ledger = Ledger.open(db, { now: () => new Date(clock.now()) });
  const resumed = ledger.campaign('c');
  if (!resumed) ledger.append('c', 'CampaignStarted', { name: 'c', config: { loop: { mode: o.mode } }, configHash: 'h', seed: o.seed, source: 'sim', versions: {} }, 'start');
  const runtime = new CampaignRuntime({
    ledger, campaignId: 'c', agent: o.agent, space: o.space, predictor: noPrediction(o.measure),
    rewardOf: (p, params) => o.rewardOf(p, params), rig: dispatcher, pipeline: [o.capability], candidatesPerRound: o.candidates, batchSize: o.batchSize,
    mode: o.mode, warmup: o.warmup, timeoutMs: o.timeoutMs, maxAttempts: 2, seed: o.seed, clock, rng: createRng(o.seed), fixed: {}, protocol: '1.0', measure: o.measure,
  });
  // Actors other than awaitRigs are "computing": the clock stands still while one runs.
  let busy = 0;
  let killedInActor = false;
  const timed = (name: string, f: (i: unknown) => Promise<unknown>) => async (i: unknown) => {
    if (name === 'awaitRigs') return f(i);
    busy++;
    let out: unknown;
    try {
      out = await f(i);
    } finally {
      busy--;
    }
    if (name === 'score' && o.digitalMs) await clock.sleep(o.digitalMs);
    if (name === 'assimilate') {
      const round = (i as { round: number }).round;
      o.onAssimilated?.(round, out as AssimilateOutput);
      if (!killedInActor && o.killAfterAssimilate?.(round, out as AssimilateOutput, ledger)) {
        killedInActor = true;
        return new Promise<never>(() => {});
      }
    }
    return out;
  };
  const machine = campaignMachine.provide({
    actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => timed(k, f as (i: unknown) => Promise<unknown>)(input))])) as never,
  });
  runtime.start();
  const startedAt = clock.now();
  const input = { campaignId: 'c', startedAt: clock.now(), mode: o.mode, limits: { rigRuns: o.rigRuns, failures: 10, approval: false, targetReward: o.targetReward, wallTimeMs: o.wallTimeMs } };
  const snapshot = resumed?.snapshot as Snapshot<unknown> | undefined;
  const actor = createActor(machine, snapshot ? { snapshot: snapshot as never, input } : { input });
  actor.subscribe((snap) => {
    if (!['stopping', 'failed', 'done'].includes(String(snap.value))) ledger.saveSnapshot('c', actor.getPersistedSnapshot());
  });
  let done = false;
  actor.start();
  const finished = toPromise(actor).finally(() => (done = true));
  const limit = clock.now() + (o.limitMs ?? 36_000_000);
  let killed = false;
  while (!done) {
    if (killedInActor) {
      killed = true;
      break;
    }
    if (busy > 0) {
      await settle();
      continue;
    }
    if (o.killWhen?.(actor.getSnapshot().context, JSON.stringify(actor.getSnapshot().value), ledger)) {
      killed = true;
      break;
    }
    if (clock.now() >= limit) throw new Error(`simulated campaign did not end within ${o.limitMs ?? 36_000_000} ms of simulated time`);
    // To the next timer (or one step when none is sooner): after each event the loop above
    // sees whether an actor started computing before time moves on.
    const next = clock.nextAt();
    await clock.advance(Math.max(0, Math.min(o.stepMs ?? 50, next === undefined ? Infinity : next - clock.now())));
  }
  if (!killed) await finished;
  const context = actor.getSnapshot().context;
  // A kill: no CampaignStopped, no clean shutdown of the runtime's state.
  actor.stop();
  await runtime.close();
  const log = sim.log();
  let stopped = false;
  const stopping = Promise.all([dispatcher.stop(), sim.stop()]).finally(() => (stopped = true));
  await clock.advanceUntil(() => stopped, 'the lab to stop', { stepMs: 100 });
  await stopping;
  const result = summarise(ledger, log, o.rigs.length, startedAt);
  ledger.close();
  if (!killed && !o.keep) cleanup();
  return { db, labStateDir, cleanup, status: killed ? 'killed' : (context.finalStatus ?? 'stopped'), context, log, startedAt, ...result };
}

function summarise(ledger: Ledger, log: SimLogEntry[], rigs: number, startedAt: number) {
  const ran = log.filter((e) => e.executed && e.finishedAt !== undefined);
  const endedAt = Math.max(startedAt, ...ran.map((e) => e.finishedAt!));
  const busyMs = ran.reduce((s, e) => s + (e.finishedAt! - e.startedAt), 0);
  const utilisation = endedAt > startedAt ? busyMs / (rigs * (endedAt - startedAt)) : 0;
  const lastStart = Math.max(startedAt, ...ran.map((e) => e.startedAt));
  const busyBefore = ran.reduce((s, e) => s + Math.max(0, Math.min(e.finishedAt!, lastStart) - e.startedAt), 0);
  const utilisationUntilLastStart = lastStart > startedAt ? busyBefore / (rigs * (lastStart - startedAt)) : 0;
  const trials = new Map(ledger.trials('c').map((tr) => [tr.id, tr]));
  const finished = new Map<string, number>();
  for (const e of ran) finished.set(e.trialId, Math.max(finished.get(e.trialId) ?? -Infinity, e.finishedAt!));
  const measured: SimCampaignResult['measured'] = [];
  const inFlight = new Map<string, Parameters>();
  const pendingAtSelection: SimCampaignResult['pendingAtSelection'] = [];
  let maxInFlight = 0;
  // Replay the ledger in order: selections open a slot, completions and abandonments close it.
  for (const d of ledger.documents('c')) {
    const body = d.body as { trialId?: string; reward?: number };
    if (d.type === 'TrialSelected') {
      const tr = trials.get(body.trialId!)!;
      pendingAtSelection.push({ round: tr.round, params: tr.params, pending: [...inFlight.values()], results: measured.length });
      inFlight.set(tr.id, tr.params);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
    } else if (d.type === 'TrialCompleted' || d.type === 'TrialAbandoned') {
      if (inFlight.delete(body.trialId!) && d.type === 'TrialCompleted') measured.push({ params: trials.get(body.trialId!)!.params, reward: body.reward ?? Number.NaN, at: finished.get(body.trialId!) ?? Number.NaN });
    }
  }
  return { endedAt, utilisation, utilisationUntilLastStart, measured, maxInFlight, pendingAtSelection };
}
