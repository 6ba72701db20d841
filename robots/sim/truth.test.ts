import { describe, expect, it } from 'vitest';
import { analyticTruth, biasFactor, simulatedTruth } from './truth.js';

describe('simulated truth of a campaign lab', () => {
  const sample = async (p: Record<string, number | string>) => ({ k: 10 * Number(p.x), tau: 2 });
  const truth = simulatedTruth({ infeasibleAbove: { ptfe: 30 }, bias: { k: -0.3 }, measuringStage: 'characterise', sample });

  it('fails manufacture above a limit, measures only at the last stage, applies the relative bias', async () => {
    expect(await truth({ x: 0.5, ptfe: 31 }, 'fabricate')).toEqual({ measurements: {}, feasible: false });
    expect(await truth({ x: 0.5, ptfe: 30 }, 'fabricate')).toEqual({ measurements: {}, feasible: true });
    const m = await truth({ x: 0.5, ptfe: 10 }, 'characterise');
    expect(m.feasible).toBe(true);
    expect(m.measurements.k).toBeCloseTo(3.5, 12);
    expect(m.measurements.tau).toBe(2);
  });

  it('a sample with no finite value is an infeasible result with the reason, never a measurement of ∞ (sofc-device review 2026-12-07)', async () => {
    const sample = async (p: Record<string, number | string>) => ({ loss: Number(p.x) > 0.5 ? Infinity : Number(p.x) < 0.1 ? NaN : 0.1, other: 1 });
    const t = simulatedTruth({ infeasibleAbove: {}, bias: { loss: 0.05 }, measuringStage: 'c', sample });
    const inf = await t({ x: 0.9 }, 'c');
    expect(inf.feasible).toBe(false);
    expect(inf.measurements).toEqual({});
    expect(inf.reason).toMatch(/loss = Infinity: no finite value/);
    const nan = await t({ x: 0.05 }, 'c');
    expect(nan.feasible).toBe(false);
    expect(nan.reason).toMatch(/loss = NaN: not computable/);
    const ok = await t({ x: 0.3 }, 'c');
    expect(ok.feasible).toBe(true);
    expect(ok.measurements.loss).toBeCloseTo(0.105, 12);
  });

  it('without a sample (no twin) is the analytic stand-in, biased alike', async () => {
    const t = simulatedTruth({ infeasibleAbove: {}, bias: { score: 0.5 }, measuringStage: 'characterise' });
    const p = { a: 0.2, b: 0.7 };
    const plain = await analyticTruth(p, 'characterise', {});
    const out = await t(p, 'characterise');
    expect(out.measurements.score).toBeCloseTo(1.5 * plain.measurements.score, 12);
    expect(out.measurements.porosity).toBe(plain.measurements.porosity);
  });

  it('a parameter-dependent bias can reverse a trend (issue #13, the misleading twin)', async () => {
    // The sample falls with x; the rigs see base + slope·x on top: rising with x.
    const sample = async (p: Record<string, number | string>) => ({ k: 10 - 5 * Number(p.x) });
    const t = simulatedTruth({ infeasibleAbove: {}, bias: { k: { base: -0.9, slope: { x: 2 } } }, measuringStage: 'c', sample });
    const lo = (await t({ x: 0 }, 'c')).measurements.k;
    const hi = (await t({ x: 1 }, 'c')).measurements.k;
    expect(lo).toBeCloseTo(10 * 0.1, 12);
    expect(hi).toBeCloseTo(5 * 2.1, 12);
    expect(hi).toBeGreaterThan(lo);
    expect(biasFactor(undefined, { x: 1 })).toBe(1);
    expect(biasFactor(-0.3, { x: 1 })).toBeCloseTo(0.7, 12);
  });
});
