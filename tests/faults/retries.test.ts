/**
 * Issue #14, "Timed-out jobs are never retried": a campaign (runtime + the real dispatcher +
 * simulated rigs over the in-memory broker, on a fake clock) with one hung rig and one healthy
 * rig. Every job the hung rig gets must time out and be re-dispatched, with attempt 2 and its
 * own deadline, to the healthy rig — up to `rigs.maxAttempts`. Before the fix the job's
 * deadline was its first attempt's, so those trials were abandoned at attempt 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { createDispatcher } from '../../robots/dispatcher.js';
import { createSimulatedLab } from '../../robots/sim/index.js';
import { createMemoryBroker } from '../../robots/transport/memory.js';
import { createFakeClock } from '../../src/core/fake-clock.js';
import type { RigJob } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { campaignMachine } from '../../src/orchestrator/campaign.machine.js';
import { CampaignRuntime } from '../../src/orchestrator/runtime.js';
import { fakeAgent, fakePredictor } from '../fakes/index.js';

describe('timed-out jobs are retried (#14)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  it('a hung rig beside a healthy one: every trial completes, the hung rig’s jobs at attempt 2 on the other rig', async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker();
    const lab = 'retry';
    const sim = await createSimulatedLab({
      transport: (o) => broker.connect(o),
      lab,
      seed: 5,
      clock,
      rigs: [
        { id: 'hung', capabilities: ['characterise'], faults: { hang: 1 }, heartbeatMs: 500 },
        { id: 'ok', capabilities: ['characterise'], latencyMs: { dist: 'fixed', mean: 200 }, heartbeatMs: 500 },
      ],
    });
    const t = await broker.connect({ clientId: 'orch' });
    const TIMEOUT = 1000;
    const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, options: { timeoutMs: TIMEOUT, maxAttempts: 2, heartbeatTimeoutMs: 5000, tickMs: 10 } });
    const sent: Array<RigJob & { topic: string }> = [];
    await t.subscribe(`poreloop/v1/${lab}/rigs/+/jobs`, (topic, p) => sent.push({ ...JSON.parse(p.toString()), topic }));
    await d.start();
    await clock.advanceUntil(() => d.rigs().length === 2, 'rigs seen');

    const ledger = Ledger.open(join(mkdtempSync(join(tmpdir(), 'poreloop-retry-')), 'l.db'));
    ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    const runtime = new CampaignRuntime({
      ledger, campaignId: 'c', agent: fakeAgent(), space: { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] },
      predictor: fakePredictor(), rewardOf: (p) => p.y, rig: d, pipeline: ['characterise'], candidatesPerRound: 4, batchSize: 2,
      timeoutMs: TIMEOUT, maxAttempts: 2, seed: 1, clock, rng: createRng(1), fixed: {}, protocol: '1.0', measure: ['score'],
    });
    const machine = campaignMachine.provide({
      actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => (f as (i: unknown) => Promise<unknown>)(input))])) as never,
    });
    runtime.start();
    const actor = createActor(machine, { input: { campaignId: 'c', startedAt: clock.now(), limits: { rigRuns: 4, failures: 10, approval: false } } });
    actor.start();
    let done = false;
    const finished = toPromise(actor).finally(() => (done = true));
    await clock.advanceUntil(() => done, 'the campaign to end', { stepMs: 10, limitMs: 120_000 });
    await finished;
    stops.push(async () => {
      await runtime.close();
      let stopped = false;
      const p = Promise.all([d.stop(), sim.stop()]).finally(() => (stopped = true));
      await clock.advanceUntil(() => stopped, 'stop', { stepMs: 100 });
      await p;
      ledger.close();
    });

    const selected = ledger.trials('c').filter((tr) => tr.selectedRank !== null);
    expect(selected).toHaveLength(4);
    expect(selected.map((tr) => tr.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    // Every job names the measurements the campaign needs and the rig it was sent to (rig-protocol.md §3).
    expect(sent.every((j) => j.measure?.join() === 'score' && j.topic === `poreloop/v1/${lab}/rigs/${j.rigId}/jobs`)).toBe(true);
    const toHung = sent.filter((j) => sim.log().some((e) => e.rigId === 'hung' && e.jobId === j.jobId && e.attempt === j.attempt));
    expect(toHung.length).toBeGreaterThan(0);
    for (const j of toHung) {
      // Each hung attempt was followed by attempt 2 of the same job on the healthy rig, with a
      // deadline of its own (a full timeout after it was sent).
      const retry = sent.find((r) => r.jobId === j.jobId && r.attempt === 2)!;
      expect(retry).toBeDefined();
      expect(sim.log().find((e) => e.jobId === j.jobId && e.attempt === 2)).toMatchObject({ rigId: 'ok', outcome: 'result' });
      expect(Date.parse(retry.deadline) - Date.parse(j.deadline)).toBeGreaterThanOrEqual(TIMEOUT);
    }
  });
});
