import { describe, expect, it } from 'vitest';
import { campaignReward } from './scope.js';
import { configuredReference, constraintSlacks, inferReference, meetsConstraints, normaliser, objectiveVector, objectivesReward, type ObjectiveSpec } from './objectives.js';

const gdl: ObjectiveSpec[] = [
  { name: 'limitingCurrent', goal: 'max', unit: 'A/m²' },
  { name: 'sigma_eff_z', goal: 'max', unit: 'S/m', threshold: 100 },
];

describe('objectives are never summed raw (issue #16)', () => {
  it('the issue example: a 1 % gain in limiting current no longer outweighs losing 40 % of the conductivity', () => {
    const a = { limitingCurrent: 1_232_833, sigma_eff_z: 164 };
    const b = { limitingCurrent: 1_232_833 * 1.01, sigma_eff_z: 100 };
    // The raw sum (the old behaviour) preferred b by 12 164: conductivity counted for ~1e-4.
    expect(b.limitingCurrent + b.sigma_eff_z).toBeGreaterThan(a.limitingCurrent + a.sigma_eff_z);
    expect(objectivesReward(a, gdl)).toBeGreaterThan(objectivesReward(b, gdl));
    // Doubling either objective adds the same (ln 2), whatever its unit.
    const base = objectivesReward(a, gdl);
    expect(objectivesReward({ ...a, limitingCurrent: 2 * a.limitingCurrent }, gdl) - base).toBeCloseTo(Math.LN2, 12);
    expect(objectivesReward({ ...a, sigma_eff_z: 2 * a.sigma_eff_z }, gdl) - base).toBeCloseTo(Math.LN2, 12);
    // campaignReward with objectives alone uses it.
    expect(campaignReward({ objectives: gdl })(a, {})).toBeCloseTo(base, 12);
  });

  it('min goals, linear scale, and non-positive values without scale', () => {
    expect(objectivesReward({ c: 4 }, [{ name: 'c', goal: 'min' }])).toBeCloseTo(-Math.log(4), 12);
    expect(objectivesReward({ c: -3 }, [{ name: 'c', goal: 'min', scale: 2 }])).toBeCloseTo(1.5, 12);
    expect(Number.isNaN(objectivesReward({ c: 0 }, [{ name: 'c', goal: 'max' }]))).toBe(true);
  });

  it('normalisation from the data maps each objective onto [0, 1]', () => {
    const ys = [objectiveVector({ limitingCurrent: 1e6, sigma_eff_z: 300 }, gdl), objectiveVector({ limitingCurrent: 1.3e6, sigma_eff_z: 100 }, gdl)];
    const n = normaliser(ys, 2);
    expect(n.apply(ys[0])).toEqual([0, 1]);
    expect(n.apply(ys[1])).toEqual([1, 0]);
    // min goals are negated before normalising: the smaller value maps to 1.
    const m = normaliser([objectiveVector({ c: 2 }, [{ name: 'c', goal: 'min' }]), objectiveVector({ c: 5 }, [{ name: 'c', goal: 'min' }])], 1);
    expect(m.apply([-2])).toEqual([1]);
  });
});

describe('reference points and outcome constraints', () => {
  it('infers the reference as nadir − 10 % of the front range, configured values win', () => {
    const ys = [[0, 1], [1, 0], [0.2, 0.2]];
    expect(inferReference(ys)).toEqual([-0.1, -0.1]);
    expect(inferReference(ys, [undefined, -5])).toEqual([-0.1, -5]);
    // Threshold (goal-signed) serves as reference when none is given.
    expect(configuredReference([{ name: 'a', goal: 'min', threshold: 3 }, { name: 'b', goal: 'max' }])).toEqual([-3, undefined]);
  });

  it('thresholds and property ranges become slacks, feasible when all ≥ 0', () => {
    const set = { objectives: gdl, constraints: [{ name: 'porosity', min: 0.6, max: 0.85 }] };
    const ok = constraintSlacks({ limitingCurrent: 1, sigma_eff_z: 120, porosity: 0.7 }, set);
    expect(ok).toHaveLength(3);
    expect(meetsConstraints(ok)).toBe(true);
    expect(meetsConstraints(constraintSlacks({ limitingCurrent: 1, sigma_eff_z: 90, porosity: 0.7 }, set))).toBe(false);
    expect(meetsConstraints(constraintSlacks({ limitingCurrent: 1, sigma_eff_z: 120, porosity: 0.9 }, set))).toBe(false);
    expect(meetsConstraints(constraintSlacks({ limitingCurrent: 1, sigma_eff_z: 120 }, set))).toBe(false);
  });
});
