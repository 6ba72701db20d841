import { describe, expect, it } from 'vitest';
import { constraintSlacks, meetsConstraints, requirementsOf, unmetRequirements } from './requirements.js';

describe('thresholds, outcome constraints and measured objectives (dashboard review, 2026-12-07)', () => {
  const set = requirementsOf({
    objectives: [{ name: 'limitingCurrent', goal: 'max', unit: 'A/m²' }, { name: 'sigma_eff_z', goal: 'max', unit: 'S/m', threshold: 100 }],
    outcomeConstraints: [{ name: 'porosity', min: 0.6, max: 0.88 }],
  })!;

  it('names what a trial misses, from its measured values', () => {
    expect(unmetRequirements({ limitingCurrent: 2e4, sigma_eff_z: 120, porosity: 0.7 }, set)).toEqual([]);
    expect(unmetRequirements({ limitingCurrent: 2e4, sigma_eff_z: 74.7, porosity: 0.912 }, set)).toEqual(['sigma_eff_z 74.7 S/m < threshold 100 S/m', 'porosity 0.912 > max 0.88']);
  });

  it('an objective without a measurement is missed, threshold or not: its part of the reward was a prediction', () => {
    expect(unmetRequirements({ sigma_eff_z: 150, porosity: 0.7 }, set)).toEqual(['limitingCurrent not measured']);
    expect(unmetRequirements({ limitingCurrent: 2e4, porosity: 0.7 }, set)).toEqual(['sigma_eff_z not measured (threshold 100 S/m)']);
  });

  it('a reward expression alone requires nothing', () => {
    expect(requirementsOf({ reward: 'a' })).toBeNull();
  });

  it('the agents\' slacks and the words are one rule: met exactly when nothing is named (review of 0e10d79)', () => {
    const thresholds = { objectives: set.objectives.filter((o) => o.threshold !== undefined), constraints: set.constraints };
    for (const v of [{ sigma_eff_z: 120, porosity: 0.7 }, { sigma_eff_z: 100, porosity: 0.88 }, { sigma_eff_z: 99, porosity: 0.7 }, { sigma_eff_z: 120, porosity: 0.5 }, { sigma_eff_z: 120 }, { sigma_eff_z: Number.POSITIVE_INFINITY, porosity: 0.7 }]) {
      expect(meetsConstraints(constraintSlacks(v, thresholds))).toBe(unmetRequirements(v, thresholds).length === 0);
    }
    expect(constraintSlacks({ sigma_eff_z: 150, porosity: 0.7 }, set)).toHaveLength(3);
  });
});
