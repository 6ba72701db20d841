import { describe, expect, it } from 'vitest';
import { requirementsOf, unmetRequirements } from './requirements.js';

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
});
