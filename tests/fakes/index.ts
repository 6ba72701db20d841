import { createActor, type AnyStateMachine } from 'xstate';
import type { Agent, Parameters, Predictor, Rig, RigEvent, RigJob, Score } from '../../src/core/protocols.js';

/**
 * In-process fakes of the core interfaces (DESIGN.md style rule 11), for unit tests of the
 * orchestrator. Real components (MQTT, rigs, twins, physics) are exercised by the
 * integration tests in tests/.
 */

/** Proposes seeded points of x ∈ [0, 1]; counts its proposals and what it learned. */
export function fakeAgent(): Agent & { learned: number } {
  let n = 0;
  const agent = {
    name: 'fake',
    learned: 0,
    async propose(ctx: { rng: { next(): number } }, k: number): Promise<Parameters[]> {
      // Points of the runtime tests' space only (x in [0, 1]): tests/contracts/fakes.contract.test.ts.
      n += k;
      return Array.from({ length: k }, () => ({ x: Math.round(ctx.rng.next() * 1000) / 1000 }));
    },
    async learn(obs: readonly unknown[]) {
      agent.learned += obs.length;
    },
    snapshot: () => ({ n, learned: agent.learned }),
    restore: (s: unknown) => {
      n = (s as { n: number }).n;
      agent.learned = (s as { learned: number }).learned;
    },
  };
  return agent as Agent & { learned: number };
}

/** y = 1 − (x − 0.7)², with σ = 0.01. */
export function fakePredictor(): Predictor & { calls: number } {
  const p = {
    calls: 0,
    async score(candidates: Parameters[]): Promise<Score[]> {
      p.calls += candidates.length;
      return candidates.map((c) => ({ properties: { y: { mean: 1 - (Number(c.x) - 0.7) ** 2, std: 0.01 } }, fidelity: 'simulation' as const }));
    },
  };
  return p;
}

export type Behaviour = (job: RigJob, emit: (e: Partial<RigEvent> & { type: RigEvent['type'] }) => void) => void;

export const FAKE_RIG_CAPABILITIES = ['make', 'measure'];

/**
 * A rig that answers every job through `behaviour` (default: accepted then result y = truth).
 * It keeps the promises of the real dispatcher that tests/contracts/rig.contract.test.ts checks
 * on both: one execution per jobId (a re-dispatch of a finished job re-delivers its final
 * event), cancel ends a live job with a final `cancelled` and nothing after it, and a job for
 * a capability it lacks ends `failed`. `executions` counts dispatch() calls per jobId, so a test still sees a runtime
 * that sends a job twice.
 */
export function fakeRig(behaviour?: Behaviour): Rig & { jobs: RigJob[]; executions: Map<string, number>; setBehaviour(b: Behaviour): void } {
  const handlers = new Set<(e: RigEvent) => void>();
  const sentHandlers = new Set<(s: { jobId: string; attempt: number; rigId: string }) => void>();
  const jobs: RigJob[] = [];
  const executions = new Map<string, number>();
  const live = new Map<string, { final?: RigEvent; cancelled?: boolean; emit: (e: Partial<RigEvent> & { type: RigEvent['type'] }) => void }>();
  let b: Behaviour =
    behaviour ??
    ((job, emit) => {
      emit({ type: 'accepted' });
      emit({ type: 'result', measurements: { y: 0.9 * (1 - (Number(job.params.x) - 0.7) ** 2) }, final: true });
    });
  const rig = {
    jobs,
    executions,
    setBehaviour: (nb: Behaviour) => {
      b = nb;
    },
    async dispatch(job: RigJob) {
      jobs.push(job);
      executions.set(job.jobId, (executions.get(job.jobId) ?? 0) + 1);
      sentHandlers.forEach((h) => h({ jobId: job.jobId, attempt: job.attempt, rigId: 'rig-1' }));
      const known = live.get(job.jobId);
      if (known) {
        if (known.final) known.emit(known.final);
        return;
      }
      let seq = 0;
      const state: { final?: RigEvent; cancelled?: boolean; emit: (e: Partial<RigEvent> & { type: RigEvent['type'] }) => void } = {
        emit: (e) => {
          // After a cancel the job is over; otherwise a behaviour may misbehave on purpose
          // (duplicates, events after the end) to test the runtime.
          if (state.cancelled && e.type !== 'cancelled') return;
          const ev: RigEvent = { jobId: job.jobId, rigId: 'rig-1', seq: ++seq, at: new Date().toISOString(), protocol: '1.0', ...e };
          if (ev.final) state.final = ev;
          queueMicrotask(() => handlers.forEach((h) => h(ev)));
        },
      };
      live.set(job.jobId, state);
      if (!FAKE_RIG_CAPABILITIES.includes(job.capability)) {
        setTimeout(() => state.emit({ type: 'failed', origin: 'dispatcher', final: true, reason: `no rig for capability ${job.capability}` }), 1);
        return;
      }
      setTimeout(() => b(job, state.emit), 1);
    },
    async cancel(jobId: string) {
      const state = live.get(jobId);
      if (!state || state.final) return;
      state.cancelled = true;
      state.emit({ type: 'cancelled', final: true, reason: 'cancelled by the orchestrator' });
    },
    onEvent(h: (e: RigEvent) => void) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    onSent(h: (s: { jobId: string; attempt: number; rigId: string }) => void) {
      sentHandlers.add(h);
      return () => sentHandlers.delete(h);
    },
    rigs: () => [{ rigId: 'rig-1', capabilities: [...FAKE_RIG_CAPABILITIES], status: 'online' as const }],
  };
  return rig;
}

/** The fake clock lives in src/core so that unit tests beside any room can use it. */
export { createFakeClock, FAKE_EPOCH, type FakeClock } from '../../src/core/fake-clock.js';

/**
 * Runs a campaign machine until it waits for the rigs, then stops it the way a crash does (no
 * CampaignStopped, no cleanup), the persisted snapshot saved at every step: what the resume
 * tests start from. `s` is a test's composition (runtime, machine, its input, the ledger).
 */
export async function killWhileAwaitingRigs(s: {
  runtime: { start(): void; close(): Promise<void> };
  machine: AnyStateMachine;
  input: unknown;
  ledger: { saveSnapshot(campaignId: string, snapshot: unknown): void };
}): Promise<void> {
  s.runtime.start();
  const actor = createActor(s.machine, { input: s.input });
  actor.subscribe(() => s.ledger.saveSnapshot('c', actor.getPersistedSnapshot()));
  actor.start();
  await new Promise<void>((resolve) => actor.subscribe((snap) => snap.value === 'awaitingRigs' && resolve()));
  actor.stop();
  await s.runtime.close();
}
