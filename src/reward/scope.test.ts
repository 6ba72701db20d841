import { describe, expect, it } from 'vitest';
import { compileReward } from './expression.js';
import { campaignReward, rewardNames, rewardScope } from './scope.js';

describe('reward scope', () => {
  it('declares properties, parameters and param_<name>; a property wins its plain name', () => {
    expect(rewardNames(['porosity', 'tau_z'], ['porosity', 'ptfe'])).toEqual(['porosity', 'tau_z', 'ptfe', 'param_porosity', 'param_ptfe']);
    const scope = rewardScope({ porosity: 0.6 }, { porosity: 0.7, ptfe: 10, coating: 'spray' }, { fibre: 7 });
    expect(scope).toEqual({ porosity: 0.6, param_porosity: 0.7, ptfe: 10, param_ptfe: 10, fibre: 7, param_fibre: 7 });
  });

  it('evaluates an expression, or goal-signed log objectives (issue #16), over that scope with twin.fixed joined', () => {
    const names = rewardNames(['k'], ['x', 'fibre']);
    const expr = campaignReward({ expression: compileReward('k * param_fibre - x', names, 'reward'), fixed: { fibre: 2 } });
    expect(expr({ k: 3 }, { x: 1 })).toBe(5);
    // A trial's own value never replaces a fixed one (issue #19 review: fixed config values win).
    expect(expr({ k: 3 }, { x: 1, fibre: 100 })).toBe(5);
    const obj = campaignReward({ objectives: [{ name: 'k', goal: 'max' }, { name: 'x', goal: 'min' }] });
    expect(obj({ k: 3 }, { x: 2 })).toBeCloseTo(Math.log(3) - Math.log(2), 12);
  });
});
