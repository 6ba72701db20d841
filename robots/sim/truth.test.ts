import { describe, expect, it } from 'vitest';
import { analyticTruth, simulatedTruth } from './truth.js';

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

  it('without a sample (no twin) is the analytic stand-in, biased alike', async () => {
    const t = simulatedTruth({ infeasibleAbove: {}, bias: { score: 0.5 }, measuringStage: 'characterise' });
    const p = { a: 0.2, b: 0.7 };
    const plain = await analyticTruth(p, 'characterise', {});
    const out = await t(p, 'characterise');
    expect(out.measurements.score).toBeCloseTo(1.5 * plain.measurements.score, 12);
    expect(out.measurements.porosity).toBe(plain.measurements.porosity);
  });
});
