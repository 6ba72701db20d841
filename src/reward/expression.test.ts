import { describe, expect, it } from 'vitest';
import { compileReward } from './expression.js';

describe('reward expression sandbox', () => {
  const names = ['limitingCurrent', 'permeability_z', 'tau_z', 'ptfeLoading'];

  it('evaluates arithmetic, functions and conditionals over declared names', () => {
    const r = compileReward('limitingCurrent / 1e4 - 0.5 * max(0, 1e-12 / permeability_z - 1)', names);
    expect(r.evaluate({ limitingCurrent: 2e4, permeability_z: 5e-13, tau_z: 1, ptfeLoading: 0 })).toBeCloseTo(2 - 0.5, 12);
    const c = compileReward('tau_z > 2 ? -tau_z : 1 / tau_z', names);
    expect(c.evaluate({ tau_z: 4 })).toBe(-4);
    expect(c.evaluate({ tau_z: 1.25 })).toBe(0.8);
    expect(compileReward('-2^2 + pi*0', []).evaluate({})).toBe(-4);
    expect(compileReward('(1 < 2) and not (3 <= 2)', []).evaluate({})).toBe(1);
    expect(new Set(c.names)).toEqual(new Set(['tau_z']));
  });

  it.each([
    ['tau_z = 3', /assignment/],
    ['f(x) = x^2', /function definition/],
    ['import({a: 1})', /function "import"/],
    ['evaluate("1+1")', /constant "1\+1"|function "evaluate"/],
    ['tau_z.constructor', /property or index access/],
    ['tau_z["constructor"]', /property or index access/],
    ['{a: 1}', /object literal/],
    ['[1, 2]', /array/],
    ['1:3', /range/],
    ['a; b', /several statements|unknown name/],
    ['unknownThing * 2', /unknown name "unknownThing"/],
    ['createUnit("x")', /function "createUnit"/],
    ['3 mm', /unknown name "mm"/],
    ['toString(1)', /function "toString"/],
    ['toString', /unknown name "toString"/],
    ['constructor * 2', /unknown name "constructor"/],
    ['"text"', /only numbers/],
    ['1 +', /cannot parse/],
  ])('rejects %s at load time', (src, msg) => {
    expect(() => compileReward(src, names)).toThrow(msg);
  });

  it('names the config path in its errors', () => {
    expect(() => compileReward('x = 1', names, 'reward')).toThrow(/^reward: assignment is not allowed/);
  });

  it('rejects absurd nesting instead of overflowing the stack', () => {
    const deep = '('.repeat(300) + '1' + ')'.repeat(300);
    expect(() => compileReward(deep, [])).toThrow(/nesting|cannot parse/);
  });
});
