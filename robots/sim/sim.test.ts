import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/rng.js';
import { analyticTruth } from './truth.js';
import { createFakeClock } from '../../src/core/fake-clock.js';
import { createDispatcher } from '../dispatcher.js';
import { PROTOCOL_VERSION } from '../protocol/topics.js';
import { createMemoryBroker } from '../transport/memory.js';
import { createSimulatedLab, jobKey, sampleLatency, type LatencySpec } from './index.js';

function moments(spec: LatencySpec, n = 40_000): { mean: number; sd: number; min: number } {
  const rng = createRng(3);
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  for (let i = 0; i < n; i++) {
    const x = sampleLatency(spec, rng);
    s += x;
    s2 += x * x;
    min = Math.min(min, x);
  }
  const mean = s / n;
  return { mean, sd: Math.sqrt(s2 / n - mean * mean), min };
}

describe('simulated latency distributions', () => {
  it('lognormal has the requested mean and sd (moment matching)', () => {
    const m = moments({ dist: 'lognormal', mean: 200, sd: 60 });
    expect(Math.abs(m.mean - 200) / 200).toBeLessThan(0.01);
    expect(Math.abs(m.sd - 60) / 60).toBeLessThan(0.03);
    expect(m.min).toBeGreaterThan(0);
  });
  it('exponential has mean = sd; fixed is fixed; normal is clipped at 0', () => {
    const e = moments({ dist: 'exponential', mean: 50 });
    expect(Math.abs(e.mean - 50) / 50).toBeLessThan(0.02);
    expect(Math.abs(e.sd - 50) / 50).toBeLessThan(0.03);
    expect(moments({ dist: 'fixed', mean: 7 }, 10)).toEqual({ mean: 7, sd: 0, min: 7 });
    expect(moments({ dist: 'normal', mean: 1, sd: 10 }).min).toBe(0);
  });
});

describe('analytic stand-in truth', () => {
  it('peaks at 0.5 in every parameter and calls negative loadings infeasible', async () => {
    expect((await analyticTruth({ a: 0.5, b: 0.5 }, 'characterise', {})).measurements.score).toBe(1);
    expect((await analyticTruth({ a: 1.5, b: 0.5 }, 'characterise', {})).measurements.score).toBeCloseTo(Math.exp(-1), 12);
    expect((await analyticTruth({ a: -0.1 }, 'fabricate', {})).feasible).toBe(false);
    expect((await analyticTruth({ a: 0.2, b: 'pvdf' }, 'fabricate', {})).measurements.mass).toBeCloseTo(1.2, 12);
  });
});

describe('simulated lab randomness (issue #13: same config and seed, same campaign)', () => {
  it('names a job by its place in its campaign', () => {
    expect(jobKey({ jobId: 'demo-20260101-a1b2c3-r2-1-s0', campaignId: 'demo-20260101-a1b2c3' })).toBe('r2-1-s0');
    expect(jobKey({ jobId: 'stray-job', campaignId: 'demo-20260101-a1b2c3' })).toBe('stray-job');
  });

  /** Runs three jobs through a fresh lab (same seed) for a campaign id, returns the measured scores. */
  async function measure(campaignId: string): Promise<number[]> {
    const broker = createMemoryBroker();
    const clock = createFakeClock();
    const sim = await createSimulatedLab({ transport: (o) => broker.connect(o), lab: 'noise', seed: 5, clock, rigs: [{ id: 'ch', capabilities: ['characterise'], noise: 0.05, latencyMs: { dist: 'lognormal', mean: 20, sd: 5 } }] });
    const d = createDispatcher({ transport: await broker.connect({ clientId: 'orch' }), lab: 'noise', campaignId, clock, options: { timeoutMs: 60_000, heartbeatTimeoutMs: 60_000, tickMs: 10 } });
    const results = new Map<string, number>();
    d.onEvent((e) => e.type === 'result' && e.final && results.set(e.jobId, e.measurements!.score));
    await d.start();
    await clock.advanceUntil(() => d.rigs().length === 1, 'rig seen', { stepMs: 10 });
    const ids = ['r1-0-s0', 'r1-1-s0', 'r2-0-s0'].map((k) => `${campaignId}-${k}`);
    for (const jobId of ids) {
      await d.dispatch({ jobId, campaignId, trialId: jobId.slice(0, -3), attempt: 1, capability: 'characterise', params: { a: 0.4, b: 0.6 }, deadline: new Date(clock.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION });
    }
    await clock.advanceUntil(() => results.size === ids.length, 'results', { stepMs: 10 });
    for (const stop of [() => d.stop(), () => sim.stop()]) {
      let done = false;
      const p = stop().finally(() => (done = true));
      await clock.advanceUntil(() => done, 'stop', { stepMs: 100 });
      await p;
    }
    return ids.map((id) => results.get(id)!);
  }

  it('draws the same noise for the same job of a campaign run again under a new id, different noise for other jobs', async () => {
    const a = await measure('gdl-20260101-0a0a0a');
    const b = await measure('gdl-20260102-1b1b1b');
    expect(b).toEqual(a);
    // Same recipe, three jobs: the noise differs between jobs (a constant would pass the line above too).
    expect(new Set(a).size).toBe(3);
  });
});
