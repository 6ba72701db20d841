import { describe, expect, it } from 'vitest';
import type { RigEvent } from '../../src/core/protocols.js';
import { createFakeClock } from '../../src/core/fake-clock.js';
import { createDispatcher } from '../dispatcher.js';
import { PROTOCOL_VERSION } from '../protocol/topics.js';
import { createMemoryBroker } from '../transport/memory.js';
import { capacityAt, DEFAULT_DURABILITY, drawCell, earlyWindow, endOfLife, measureSeries, runDurabilityTest, seriesKey } from './durability.js';
import { createSimulatedLab } from './index.js';

describe('durability truth (issue #20)', () => {
  it('has a knee: capacity falls several times faster after it than before, and EOL is where Q = 0.8', () => {
    for (let seed = 0; seed < 20; seed++) {
      const cell = drawCell({ x: 0.3 }, seed);
      const k = cell.nKnee;
      const before = (capacityAt(cell, 0.5 * k) - capacityAt(cell, 0.9 * k)) / (0.4 * k);
      const after = (capacityAt(cell, k + 0.2 * cell.tau) - capacityAt(cell, k + 0.3 * cell.tau)) / (0.1 * cell.tau);
      expect(after).toBeGreaterThan(3 * before);
      expect(capacityAt(cell, cell.eol)).toBeCloseTo(0.8, 9);
      expect(cell.eol).toBeGreaterThan(k);
      expect(endOfLife(cell, 0.9)).toBeLessThan(cell.eol);
    }
  });

  it('is seeded per cell, varies from cell to cell, and worse recipes (larger lifeFactor) die sooner', () => {
    expect(drawCell({ x: 0.2 }, 7)).toEqual(drawCell({ x: 0.2 }, 7));
    const eols = Array.from({ length: 200 }, (_, s) => drawCell({ x: 0.5 }, s).eol).sort((a, b) => a - b);
    expect(eols[150] / eols[50]).toBeGreaterThan(1.3); // cell-to-cell spread
    const median = (f: number) => Array.from({ length: 201 }, (_, s) => drawCell({}, s, { lifeFactor: () => f }).eol).sort((a, b) => a - b)[100];
    expect(median(1.3)).toBeLessThan(0.5 * median(0.7));
    expect(() => drawCell({}, 1, { lifeFactor: () => -1 })).toThrow(/lifeFactor must be a positive number/);
  });

  it('measures a noisy series that a shorter test sees as a prefix, ending at the first point below EOL', () => {
    const cell = drawCell({ x: 0.9 }, 3);
    const full = measureSeries(cell, 11, { cycles: 10_000 });
    expect(full.at(-1)!.capacity).toBeLessThan(0.81);
    expect(full.at(-1)!.cycle).toBeGreaterThanOrEqual(cell.eol);
    expect(full.at(-1)!.cycle - cell.eol).toBeLessThan(10);
    expect(measureSeries(cell, 11, { cycles: 10_000 }, 200)).toEqual(full.slice(0, 20));
    const noise = full.slice(0, 50).map((p) => p.capacity / capacityAt(cell, p.cycle) - 1);
    const sd = Math.sqrt(noise.reduce((s, x) => s + x * x, 0) / noise.length);
    expect(sd).toBeGreaterThan(0.0005);
    expect(sd).toBeLessThan(0.002);
    // The resistance rises as SEI fills the pores.
    expect(full.at(-1)!.resistance).toBeGreaterThan(full[0].resistance * 1.1);
    expect(earlyWindow()).toBe(200);
  });
});

describe('durability stage of the simulated lab (issue #20; docs/rig-protocol.md)', () => {
  async function setup() {
    const broker = createMemoryBroker();
    const clock = createFakeClock();
    const sim = await createSimulatedLab({
      transport: (o) => broker.connect(o),
      lab: 'dur',
      seed: 9,
      clock,
      durability: {},
      rigs: [{ id: 'cycler', capabilities: ['durability'], latencyMs: { dist: 'fixed', mean: 20_000 } }],
    });
    const campaignId = 'dur-20260101-aaaaaa';
    const d = createDispatcher({ transport: await broker.connect({ clientId: 'orch' }), lab: 'dur', campaignId, clock, options: { timeoutMs: 600_000, heartbeatTimeoutMs: 600_000, tickMs: 10 } });
    const events: RigEvent[] = [];
    d.onEvent((e) => events.push(e));
    await d.start();
    await clock.advanceUntil(() => d.rigs().length === 1, 'rig seen', { stepMs: 10 });
    const dispatch = (k: string, inputs?: Record<string, number>) =>
      d.dispatch({ jobId: `${campaignId}-${k}`, campaignId, trialId: k, attempt: 1, capability: 'durability', params: { x: 0.5 }, ...(inputs ? { inputs } : {}), deadline: new Date(clock.now() + 600_000).toISOString(), protocol: PROTOCOL_VERSION });
    const result = (k: string) => events.find((e) => e.jobId === `${campaignId}-${k}` && e.type === 'result' && e.final);
    const close = async () => {
      for (const stop of [() => d.stop(), () => sim.stop()]) {
        let done = false;
        const p = stop().finally(() => (done = true));
        await clock.advanceUntil(() => done, 'stop', { stepMs: 100 });
        await p;
      }
    };
    return { d, clock, events, dispatch, result, close, campaignId };
  }

  it('streams intermediate measurements and stops at the job\'s stopAtCycle with the early window in the result', async () => {
    const { clock, events, dispatch, result, close, campaignId } = await setup();
    await dispatch('r1-0-s0', { stopAtCycle: 200 });
    await clock.advanceUntil(() => result('r1-0-s0') !== undefined, 'result', { stepMs: 50 });
    const m = result('r1-0-s0')!.measurements!;
    expect(m.stoppedEarly).toBe(1);
    expect(m.eolReached).toBe(0);
    expect(m.cycles).toBe(200);
    for (let c = 10; c <= 200; c += 10) expect(m[seriesKey('capacity', c)]).toBeGreaterThan(0.9);
    expect(Object.keys(m).filter((k) => k.startsWith('capacity_'))).toHaveLength(20);
    const progress = events.filter((e) => e.jobId === `${campaignId}-r1-0-s0` && e.type === 'progress');
    expect(progress).toHaveLength(20);
    expect(progress.map((e) => e.measurements!.cycle)).toEqual(Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
    expect(progress[19].measurements!.capacity).toBe(m.capacity_200);
    await close();
  });

  it('a stop admin command ends a running test with a result of what was measured; a full test reaches EOL', async () => {
    const { d, clock, dispatch, result, close, campaignId } = await setup();
    await dispatch('r1-0-s0');
    await dispatch('r1-1-s0');
    // 20 s for 2000 cycles: after 1.5 s about 150 cycles are measured.
    await clock.advance(1_500);
    await d.admin('cycler', 'stop', { jobId: `${campaignId}-r1-0-s0`, reason: 'early-life prediction suffices' });
    await clock.advanceUntil(() => result('r1-0-s0') !== undefined, 'stopped result', { stepMs: 10 });
    const m = result('r1-0-s0')!.measurements!;
    expect(m.stoppedEarly).toBe(1);
    expect(m.cycles).toBeGreaterThanOrEqual(100);
    expect(m.cycles).toBeLessThan(300);
    await clock.advanceUntil(() => result('r1-1-s0') !== undefined, 'full result', { stepMs: 200 });
    const full = result('r1-1-s0')!.measurements!;
    expect(full.stoppedEarly).toBe(0);
    // Either the cell reached EOL within the planned 2000 cycles or the test ran to its end.
    if (full.eolReached === 1) expect(full.capacity).toBeLessThanOrEqual(0.8);
    else expect(full.cycles).toBe(2000);
    await close();
  });
});

describe('durability end of life: one criterion for the series and the result (issue #20, review)', () => {
  it('a test that ended before its planned length reached EOL on its measured capacity; never "censored" short of the plan', async () => {
    const run = { sleep: async () => undefined, report: async () => undefined, durationMs: 0 };
    let disagree = 0; // cells whose noise-free capacity crosses EOL at another point than the measured one
    for (let seed = 0; seed < 300; seed++) {
      const cell = drawCell({ x: 0.9 }, seed);
      const series = measureSeries(cell, seed + 1000);
      const m = await runDurabilityTest(cell, seed + 1000, {}, run);
      const last = series.at(-1)!;
      expect(m.cycles).toBe(last.cycle);
      expect(m.stoppedEarly).toBe(0);
      if (m.eolReached === 1) {
        expect(m.eol).toBe(m.cycles);
        expect(m.capacity).toBeLessThanOrEqual(0.8);
        expect(series.slice(0, -1).every((p) => p.capacity > 0.8)).toBe(true);
      } else {
        expect(m.cycles).toBe(DEFAULT_DURABILITY.cycles);
        expect(series.every((p) => p.capacity > 0.8)).toBe(true);
      }
      const noiseFree = series.find((p) => capacityAt(cell, p.cycle) <= 0.8);
      if (noiseFree && noiseFree !== last) disagree++;
      else if (!noiseFree && m.eolReached === 1) disagree++;
    }
    // The case the review found (noise-free and measured capacity on either side of 0.8) occurs in this sample.
    expect(disagree).toBeGreaterThan(0);
  });
});
