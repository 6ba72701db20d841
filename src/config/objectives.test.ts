import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { resolveCampaign } from './load.js';

/** The objectives block of issue #16: thresholds, units, outcome constraints, clear errors. */
const registries = { twins: {}, agents: ['mobo'] };
const base = (patch: Record<string, unknown> = {}) => ({
  name: 'mo',
  space: { x: { min: 0, max: 1 } },
  objectives: [
    { name: 'limitingCurrent', goal: 'max', unit: 'A/m²' },
    { name: 'sigma_eff_z', goal: 'max', unit: 'S/m', threshold: 100 },
  ],
  outcomeConstraints: [{ name: 'porosity', min: 0.6, max: 0.88 }],
  agent: { name: 'mobo' },
  rigs: { pipeline: ['characterise'], measure: ['limitingCurrent', 'sigma_eff_z', 'porosity'] },
  budget: { rigRuns: 4 },
  ...patch,
});

describe('objectives in the campaign config (issue #16)', () => {
  it('accepts goal, threshold, unit, scale and outcome constraints', () => {
    const r = resolveCampaign(base(), registries, {}, {});
    expect(r.config.objectives![1]).toEqual({ name: 'sigma_eff_z', goal: 'max', unit: 'S/m', threshold: 100 });
    expect(r.config.outcomeConstraints).toEqual([{ name: 'porosity', min: 0.6, max: 0.88 }]);
  });

  it('names the field and what is allowed when an objective or constraint is wrong', () => {
    const bad = (patch: Record<string, unknown>) => () => resolveCampaign(base(patch), registries, {}, {});
    expect(bad({ outcomeConstraints: [{ name: 'porosity' }] })).toThrow(/outcomeConstraints\.0.*expected min, max or both/);
    expect(bad({ outcomeConstraints: [{ name: 'porosity', min: 0.9, max: 0.6 }] })).toThrow(/expected max > min/);
    expect(bad({ outcomeConstraints: [{ name: 'density', min: 1 }] })).toThrow(BadInputError);
    expect(bad({ outcomeConstraints: [{ name: 'density', min: 1 }] })).toThrow(/outcomeConstraints\.0\.name.*"density" is neither a property nor a parameter/);
    expect(bad({ objectives: [{ name: 'sigma_eff_z', goal: 'max', scale: -1 }] })).toThrow(/objectives\.0\.scale/);
    expect(bad({ objectives: undefined, reward: 'sigma_eff_z' })).toThrow(/outcomeConstraints: outcome constraints belong to a multi-objective campaign/);
  });

  it('refuses an objective, outcome constraint or reward name the rigs do not measure (dashboard review, 2026-12-07)', () => {
    const twinLess = { predict: { properties: ['limitingCurrent', 'sigma_eff_z', 'porosity'] } };
    const load = (patch: Record<string, unknown>) => () => resolveCampaign(base({ ...twinLess, ...patch }), registries, {}, {});
    // gdl-pareto with rigs.measure [porosity, limitingCurrent]: sigma_eff_z would only ever be predicted.
    const partial = { pipeline: ['characterise'], measure: ['porosity', 'limitingCurrent'] };
    expect(load({ rigs: partial })).toThrow(BadInputError);
    expect(load({ rigs: partial })).toThrow(/objectives\.1\.name: objective "sigma_eff_z" is not measured by the rigs \(rigs\.measure: \[porosity, limitingCurrent\]\)/);
    expect(load({ rigs: { ...partial, measure: ['limitingCurrent', 'sigma_eff_z'] } })).toThrow(/outcomeConstraints\.0\.name: outcome constraint "porosity" is not measured/);
    expect(load({ objectives: undefined, outcomeConstraints: undefined, reward: 'limitingCurrent + x + sigma_eff_z', rigs: partial })).toThrow(/reward: "sigma_eff_z" in the reward is not measured by the rigs/);
    // Measured names and parameters are fine; an empty rigs.measure leaves the names to the rigs.
    expect(load({ objectives: undefined, outcomeConstraints: undefined, reward: 'limitingCurrent + x', rigs: partial })).not.toThrow();
    expect(load({ rigs: { pipeline: ['characterise'] } })).not.toThrow();
  });
});
