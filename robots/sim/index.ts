/**
 * Simulated lab (issue 7): rigs built on the SDK, with capabilities, latency distributions,
 * measurement noise, a hidden truth injected by the caller (the composition root passes a
 * twin + physics truth with bias; see ./truth.ts for the standalone stand-in) and fault
 * injection: drop, hang, crash mid-job, duplicate events, late results after timeout, malformed
 * payloads. The lab keeps its own log of every job a rig saw, so reliability tests can compare
 * the orchestrator's ledger with what the rigs actually did.
 *
 * Randomness: one stream per (rig, job, attempt) forked from `seed`, so a job's latency and
 * faults do not depend on the order in which jobs arrive, and one per (job, attempt) for the
 * measurement noise, so it does not depend on which of several equal rigs took the job. A job
 * is named by its place in its campaign (`jobKey`), not by its globally unique jobId, which
 * carries the campaign id's random suffix: the same campaign config and seed, run again under
 * a fresh campaign id, meet the same rigs (issue #13, "Not reproducible").
 */
import type { Clock, RigJob } from '../../src/core/protocols.js';
import { systemClock } from '../../src/core/protocols.js';
import { createRng, type Rng } from '../../src/core/rng.js';
import { createRig, type RigHandle, type TransportFactory } from '../sdk/index.js';
import { connectMqtt, type MqttConnectOptions } from '../transport/mqtt.js';
import { topicsFor } from '../protocol/topics.js';
import { analyticTruth, type Truth } from './truth.js';
import { drawCell, runDurabilityTest, type DurabilityCell, type DurabilitySpec } from './durability.js';

export type { Truth, TruthOutput } from './truth.js';
export { analyticTruth } from './truth.js';
export { DEFAULT_DURABILITY, drawCell, earlyWindow, measureSeries, seriesKey, simulatedEolDataset, type DurabilityCell, type DurabilityPoint, type DurabilitySpec } from './durability.js';

export interface LatencySpec {
  dist: 'fixed' | 'uniform' | 'normal' | 'lognormal' | 'exponential';
  /** Mean in ms. */
  mean: number;
  /** Standard deviation in ms (normal, lognormal); half-width for uniform. */
  sd?: number;
}

/** Probabilities in [0, 1], drawn independently per (jobId, attempt). */
export interface FaultSpec {
  /** The job message is lost on the way in: no event at all (the dispatcher times out). */
  drop?: number;
  /** Accepted, then never finishes until cancelled. */
  hang?: number;
  /** The rig process dies half-way (Last Will fires) and restarts after `restartAfterMs`. */
  crashMidJob?: number;
  /** Every event of the job is published twice. */
  duplicateEvents?: number;
  /** The result arrives `lateByMs` after the job's deadline. */
  lateAfterTimeout?: number;
  /** A malformed event (bad JSON, schema violation or oversized) precedes the real result. */
  malformed?: number;
}

export interface SimRigConfig {
  id: string;
  capabilities: string[];
  concurrency?: number;
  latencyMs?: LatencySpec;
  /** Relative measurement noise: value · (1 + noise · N(0,1)). */
  noise?: number;
  faults?: FaultSpec;
  restartAfterMs?: number;
  lateByMs?: number;
  heartbeatMs?: number;
}

export interface SimulatedLabOptions {
  /** Broker URL; credentials for it come from `mqtt` or the environment. */
  brokerUrl?: string;
  mqtt?: Omit<MqttConnectOptions, 'url' | 'clientId' | 'will' | 'clean'>;
  /** Per-rig HMAC signing keys (opt-in; docs/security.md): a rig with a key signs what it publishes. */
  signingKeys?: ReadonlyMap<string, Uint8Array>;
  /** Per-rig login (e.g. a campaign's generated credentials for its embedded broker); wins over `mqtt`. */
  credentials?: (rigId: string) => { username: string; password: string };
  /** Instead of a URL: how each rig opens its connection (e.g. the in-memory broker). */
  transport?: TransportFactory;
  lab?: string;
  rigs: SimRigConfig[];
  /** The hidden truth (default: analyticTruth). */
  truth?: Truth;
  /**
   * Turns `durability` jobs into cycling tests with a degradation time series (issue #20,
   * ./durability.ts): intermediate measurements every `reportEvery` cycles, early stop on a
   * `stop` admin command or the job's `stopAtCycle` input. The rig's latency is the duration of
   * a full planned test. Without it, `durability` jobs ask `truth` like any other stage.
   */
  durability?: Partial<DurabilitySpec>;
  seed: number;
  /** Each rig keeps its record of finished jobs here (survives restarts of the lab). */
  stateDir?: string;
  clock?: Clock;
  onProblem?: (rigId: string, message: string) => void;
}

export type SimOutcome = 'result' | 'infeasible' | 'failed' | 'hung' | 'crashed' | 'late' | 'dropped' | 'cancelled';

export interface SimLogEntry {
  rigId: string;
  jobId: string;
  attempt: number;
  trialId: string;
  capability: string;
  /** ms since epoch (lab clock) */
  startedAt: number;
  finishedAt?: number;
  outcome?: SimOutcome;
  /** The rig physically ran the job (false for a dropped message). */
  executed: boolean;
  faults: string[];
}

export interface SimulatedLab {
  readonly rigs: readonly RigHandle[];
  rig(id: string): RigHandle;
  /** Every job the rigs saw, in arrival order (a copy). */
  log(): SimLogEntry[];
  /**
   * Stops every rig at once (no grace). `abandon` as in RigHandle.stop: 'report' (default) fails
   * the running jobs like a real rig's graceful shutdown; 'silent' drops them like a killed
   * process, for a lab embedded in a campaign process that is stopping (determinism review).
   */
  stop(options?: { abandon?: 'report' | 'silent' }): Promise<void>;
}

export function sampleLatency(spec: LatencySpec, rng: Rng): number {
  const sd = spec.sd ?? 0;
  switch (spec.dist) {
    case 'fixed':
      return spec.mean;
    case 'uniform':
      return Math.max(0, spec.mean + (2 * rng.next() - 1) * sd);
    case 'normal':
      return Math.max(0, spec.mean + sd * rng.normal());
    case 'exponential':
      return -spec.mean * Math.log(1 - rng.next());
    case 'lognormal': {
      // Parameters of ln X from the mean and sd of X (moment matching).
      if (spec.mean <= 0) return 0;
      const s2 = Math.log(1 + (sd * sd) / (spec.mean * spec.mean));
      return Math.exp(Math.log(spec.mean) - s2 / 2 + Math.sqrt(s2) * rng.normal());
    }
  }
}

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error(String(signal.reason)));
    signal.addEventListener('abort', () => reject(new Error(String(signal.reason))), { once: true });
  });

/**
 * A job's name within its campaign: the jobId without the `<campaignId>-` prefix the
 * orchestrator puts on every job (`<campaignId>-r<round>-<index>-s<stage>` → `r<round>-<index>-s<stage>`);
 * other ids are taken whole.
 */
export function jobKey(job: Pick<RigJob, 'jobId' | 'campaignId'>): string {
  return job.campaignId && job.jobId.startsWith(`${job.campaignId}-`) ? job.jobId.slice(job.campaignId.length + 1) : job.jobId;
}

/**
 * The hidden cell a lab of `seed` tests for a durability job (issue #20): the trial's sample,
 * the same whichever attempt or rig tests it. What only a simulation can know — benches and
 * tests compare early-life estimates with its end of life.
 */
export function durabilityCell(seed: number, job: Pick<RigJob, 'jobId' | 'campaignId' | 'params'>, spec?: Partial<DurabilitySpec>): DurabilityCell {
  return drawCell(job.params, createRng(seed).fork(`cell:${jobKey(job)}`).int(2 ** 31), spec);
}

/** Starts every rig (connected, status published) before resolving. */
export async function createSimulatedLab(options: SimulatedLabOptions): Promise<SimulatedLab> {
  const lab = options.lab ?? 'default';
  const topics = topicsFor(lab);
  const clock = options.clock ?? systemClock;
  const truth = options.truth ?? analyticTruth;
  const root = createRng(options.seed);
  const entries: SimLogEntry[] = [];
  // jobId → jobKey, for the rig's outbound events (they carry the jobId only).
  const keys = new Map<string, string>();
  const keyOf = (job: Pick<RigJob, 'jobId' | 'campaignId'>): string => {
    const k = jobKey(job);
    keys.set(job.jobId, k);
    return k;
  };
  const handles: RigHandle[] = [];
  // Stops what the faults keep alive (late instruments, pending restarts) when the lab stops.
  const halt = new AbortController();
  if (!options.transport && !options.brokerUrl) throw new Error('createSimulatedLab: give brokerUrl or transport');

  for (const cfg of options.rigs) {
    const faults = cfg.faults ?? {};
    const latency = cfg.latencyMs ?? { dist: 'fixed', mean: 50 };
    const rngFor = (kind: string, jobId: string, attempt: number) => root.fork(`${cfg.id}:${keys.get(jobId) ?? jobId}:${attempt}:${kind}`);
    const hit = (p: number | undefined, kind: string, jobId: string, attempt: number) => (p ?? 0) > 0 && rngFor(kind, jobId, attempt).next() < p!;
    const jobsTopic = topics.jobs(cfg.id);
    const eventsTopic = topics.events(cfg.id);

    const open: TransportFactory = async (o) => {
      // The malformed fault publishes a 66 000-byte event on purpose (over the protocol's 64 KiB,
      // under the brokers' 70 000-byte packets): its transport is let past the 64 KiB guard that
      // every transport keeps before publishing; the rig SDK's own check still holds its events.
      const guard = faults.malformed ? { maxPayloadBytes: 70_000 } : {};
      const t = options.transport ? await options.transport(o) : await connectMqtt({ ...options.mqtt, ...options.credentials?.(cfg.id), url: options.brokerUrl!, ...o, ...guard, reconnectMs: 100, maxReconnectMs: 2000 });
      const peek = (payload: Buffer): RigJob | undefined => {
        try {
          return JSON.parse(payload.toString()) as RigJob;
        } catch {
          return undefined;
        }
      };
      return {
        ...t,
        kill: (t as { kill?: () => Promise<void> }).kill,
        close: () => t.close(),
        subscribe: (filter, handler, so) =>
          t.subscribe(
            filter,
            (topic, payload) => {
              const job = topic === jobsTopic ? peek(payload) : undefined;
              if (job?.jobId) keyOf(job);
              if (job?.jobId && hit(faults.drop, 'drop', job.jobId, job.attempt)) {
                const now = clock.now();
                entries.push({ rigId: cfg.id, jobId: job.jobId, attempt: job.attempt, trialId: job.trialId, capability: job.capability, startedAt: now, finishedAt: now, outcome: 'dropped', executed: false, faults: ['drop'] });
                return;
              }
              handler(topic, payload);
            },
            so,
          ),
        publish: async (topic, payload, po) => {
          if (topic === eventsTopic) {
            const ev = JSON.parse(payload.toString()) as { jobId: string; attempt?: number; type: string };
            const attempt = ev.attempt ?? 1;
            if (ev.type === 'result' && hit(faults.malformed, 'malformed', ev.jobId, attempt)) {
              const variant = rngFor('malformed-kind', ev.jobId, attempt).int(3);
              const bad = variant === 0 ? '{"jobId": "' + ev.jobId + '", "type": "res' : variant === 1 ? JSON.stringify({ ...ev, seq: -1, type: 'finished' }) : JSON.stringify({ ...ev, reason: 'x'.repeat(66_000) }); // over the 64 KiB message limit, under the brokers' 70 000-byte packet limit (a bigger packet gets the rig disconnected)
              await t.publish(topic, bad, po);
            }
            await t.publish(topic, payload, po);
            if (hit(faults.duplicateEvents, 'dup', ev.jobId, attempt)) await t.publish(topic, payload, po);
            return;
          }
          return t.publish(topic, payload, po);
        },
      };
    };

    let handle: RigHandle;
    handle = createRig({
      id: cfg.id,
      capabilities: cfg.capabilities,
      concurrency: cfg.concurrency,
      lab,
      broker: open,
      stateDir: options.stateDir,
      heartbeatMs: cfg.heartbeatMs,
      signingKey: options.signingKeys?.get(cfg.id),
      clock,
      onProblem: (m) => options.onProblem?.(cfg.id, m),
      handle: async (job, report, ctx) => {
        const { signal } = ctx;
        const a = job.attempt;
        const key = keyOf(job);
        const entry: SimLogEntry = { rigId: cfg.id, jobId: job.jobId, attempt: a, trialId: job.trialId, capability: job.capability, startedAt: clock.now(), executed: true, faults: [] };
        entries.push(entry);
        const end = (outcome: SimOutcome) => {
          entry.outcome = outcome;
          entry.finishedAt = clock.now();
        };
        if (hit(faults.duplicateEvents, 'dup', job.jobId, a)) entry.faults.push('duplicateEvents');
        const rng = rngFor('work', job.jobId, a);
        const ms = sampleLatency(latency, rng);
        try {
          if (hit(faults.hang, 'hang', job.jobId, a)) {
            entry.faults.push('hang');
            end('hung');
            return await never(signal);
          }
          if (hit(faults.crashMidJob, 'crash', job.jobId, a)) {
            entry.faults.push('crashMidJob');
            await clock.sleep(ms / 2, signal);
            end('crashed');
            // Die as a process would (no DISCONNECT ⇒ Last Will), come back with the same
            // persistent session a little later.
            void (async () => {
              await handle.crash();
              await clock.sleep(cfg.restartAfterMs ?? 200, halt.signal).catch(() => undefined);
              if (halt.signal.aborted) return;
              await handle.start().catch((e) => options.onProblem?.(cfg.id, `restart failed: ${(e as Error).message}`));
            })();
            return await never(signal);
          }
          if (options.durability && job.capability === 'durability') {
            // The cell is the trial's sample (same cell whichever attempt or rig tests it); the
            // measurement noise is the attempt's.
            const cell = durabilityCell(options.seed, job, options.durability);
            const stopAt = job.inputs?.stopAtCycle;
            const measurements = await runDurabilityTest(cell, root.fork(`noise:${key}:${a}`).int(2 ** 31), options.durability, {
              sleep: (t) => clock.sleep(t, signal),
              report: (f, note, m) => report(f, note, m),
              stop: ctx.stop,
              durationMs: ms,
              ...(typeof stopAt === 'number' ? { stopAtCycle: stopAt } : {}),
            });
            end('result');
            return { measurements, feasible: true };
          }
          const late = hit(faults.lateAfterTimeout, 'late', job.jobId, a);
          if (late) {
            entry.faults.push('lateAfterTimeout');
            // Ignores cancellation on purpose: a slow instrument that finishes anyway.
            await clock.sleep(Math.max(ms, Date.parse(job.deadline) - clock.now() + (cfg.lateByMs ?? 100)), halt.signal);
          } else {
            if (ms > 0) await clock.sleep(ms / 2, signal);
            await report(0.5, 'half-way');
            if (ms > 0) await clock.sleep(ms / 2, signal);
          }
          const out = await truth(job.params, job.capability, job.inputs ?? {});
          const noise = cfg.noise ?? 0;
          const noiseRng = root.fork(`noise:${key}:${a}`);
          const measurements = Object.fromEntries(Object.entries(out.measurements).map(([k, v]) => [k, noise > 0 ? v * (1 + noise * noiseRng.normal()) : v]));
          end(late ? 'late' : out.feasible ? 'result' : 'infeasible');
          return { measurements, feasible: out.feasible };
        } catch (e) {
          if (!entry.outcome) end(signal.aborted && String(signal.reason) === 'cancelled' ? 'cancelled' : 'failed');
          throw e;
        }
      },
    });
    handles.push(handle);
  }
  await Promise.all(handles.map((h) => h.start()));

  return {
    rigs: handles,
    rig(id) {
      const h = handles.find((x) => x.id === id);
      if (!h) throw new Error(`no simulated rig ${id}; rigs: ${handles.map((x) => x.id).join(', ')}`);
      return h;
    },
    log: () => entries.map((e) => ({ ...e, faults: [...e.faults] })),
    async stop({ abandon = 'report' } = {}) {
      halt.abort('lab stopped');
      await Promise.all(handles.map((h) => h.stop({ graceMs: 0, abandon })));
    },
  };
}
