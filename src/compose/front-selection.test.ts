import { describe, expect, it } from 'vitest';
import { normCdf } from '../surrogate/gp.js';
import { predictedObjectives } from './front-selection.js';

describe('predicted objectives of a candidate for the front selection (issue #16)', () => {
  const set = {
    objectives: [{ name: 'lc', goal: 'max' as const }, { name: 'sigma', goal: 'max' as const, threshold: 100 }, { name: 'ptfe', goal: 'min' as const }],
    constraints: [{ name: 'porosity', min: 0.6, max: 0.88 }],
  };

  it('goal-signs the means, keeps the σ of properties, and parameters are exact', () => {
    const p = predictedObjectives({ lc: { mean: 5e5, std: 1e4 }, sigma: { mean: 120, std: 10 }, porosity: { mean: 0.7, std: 0 } }, { ptfe: 12 }, set);
    expect(p.mean).toEqual([5e5, 120, -12]);
    expect(p.std).toEqual([1e4, 10, 0]);
    // P(sigma ≥ 100) · P(0.6 ≤ porosity ≤ 0.88) with porosity known inside the range.
    expect(p.feasibility).toBeCloseTo(normCdf(2), 12);
  });

  it('an outcome range with σ: P(min ≤ v ≤ max); outside it with σ 0: infeasible', () => {
    const est = (porosity: { mean: number; std: number }) => ({ lc: { mean: 1, std: 0 }, sigma: { mean: 200, std: 0 }, porosity });
    expect(predictedObjectives(est({ mean: 0.74, std: 0.07 }), { ptfe: 1 }, set).feasibility).toBeCloseTo(normCdf(2) - normCdf(-2), 12);
    expect(predictedObjectives(est({ mean: 0.9, std: 0 }), { ptfe: 1 }, set).feasibility).toBe(0);
    // Fixed parameters join the scope (an objective may be a fixed parameter).
    expect(predictedObjectives(est({ mean: 0.7, std: 0 }), {}, set, { ptfe: 3 }).mean[2]).toBe(-3);
  });
});
