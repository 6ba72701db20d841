import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BadInputError } from './errors.js';
import type { ParameterSpace } from './protocols.js';
import { createRng } from './rng.js';
import { decode, dimension, encode, isFeasible, numericColumns, paramKey, parsePoolCsv, repair, sampleUniform, validateSpace } from './space.js';
import { propertyRuns } from '../../tests/property.js';

const mixed: ParameterSpace = {
  parameters: [
    { name: 'a', kind: 'continuous', min: -1, max: 3 },
    { name: 'k', kind: 'continuous', min: 1e-3, max: 10, log: true },
    { name: 'n', kind: 'integer', min: 2, max: 5 },
    { name: 'c', kind: 'categorical', values: ['x', 'y', 7] },
  ],
};

const composition: ParameterSpace = {
  parameters: [
    { name: 'f1', kind: 'continuous', min: 0, max: 1 },
    { name: 'f2', kind: 'continuous', min: 0, max: 0.5 },
    { name: 'f3', kind: 'continuous', min: 0.1, max: 1 },
    { name: 't', kind: 'continuous', min: 0, max: 100 },
  ],
  constraints: [
    { coefficients: { f1: 1, f2: 1, f3: 1 }, op: '==', rhs: 1 },
    { coefficients: { f1: 1, t: 0.01 }, op: '<=', rhs: 1.2 },
  ],
};

describe('encode/decode', () => {
  it('counts one coordinate per number and one per category', () => {
    expect(dimension(mixed)).toBe(6);
  });

  it('lists the coordinates of continuous and integer parameters, not the one-hot ones', () => {
    expect(numericColumns(mixed)).toEqual([0, 1, 2]);
    const categoricalFirst: ParameterSpace = { parameters: [mixed.parameters[3], mixed.parameters[0], { name: 'b', kind: 'categorical', values: [1, 2] }, mixed.parameters[2]] };
    expect(numericColumns(categoricalFirst)).toEqual([3, 6]);
  });

  it('maps by hand-computed values', () => {
    const u = encode(mixed, { a: 0, k: 0.1, n: 3, c: 'y' });
    expect(u[0]).toBeCloseTo(0.25, 12);
    expect(u[1]).toBeCloseTo(0.5, 12); // ln 0.1 is halfway between ln 1e-3 and ln 10
    expect(u[2]).toBeCloseTo(1.5 / 4, 12); // integer bin centre
    expect(u.slice(3)).toEqual([0, 1, 0]);
    expect(decode(mixed, u)).toEqual({ a: 0, k: expect.closeTo(0.1, 12), n: 3, c: 'y' });
  });

  it('round-trips every feasible point and lands in bounds from any u', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -2, max: 3, noNaN: true }), { minLength: 6, maxLength: 6 }), (u) => {
        const p = decode(mixed, u);
        expect(isFeasible(mixed, p).ok).toBe(true);
        const back = decode(mixed, encode(mixed, p));
        expect(back.n).toBe(p.n);
        expect(back.c).toBe(p.c);
        expect(back.a as number).toBeCloseTo(p.a as number, 9);
        expect(back.k as number).toBeCloseTo(p.k as number, 9);
      }),
      propertyRuns(),
    );
  });

  it('gives each integer the same share of the cube', () => {
    const rng = createRng(1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 8000; i++) {
      const n = sampleUniform(mixed, rng).n as number;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([2, 3, 4, 5]);
    for (const c of counts.values()) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });
});

describe('feasibility and repair', () => {
  it('names every violation', () => {
    const r = isFeasible(mixed, { a: 4, k: 0.1, n: 2.5, c: 'z', extra: 1 });
    expect(r.ok).toBe(false);
    expect(r.violations.join('\n')).toMatch(/extra/);
    expect(r.violations.join('\n')).toMatch(/a: 4 outside/);
    expect(r.violations.join('\n')).toMatch(/not an integer/);
    expect(r.violations.join('\n')).toMatch(/'z' is not one of/);
  });

  it('repair projects onto sum and linear constraints (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }), (u) => {
        const p = repair(composition, decode(composition, u));
        const r = isFeasible(composition, p);
        expect(r.violations).toEqual([]);
      }),
      propertyRuns(),
    );
  });

  it('repair is the Euclidean projection on a simplex (hand case)', () => {
    const s: ParameterSpace = {
      parameters: ['x', 'y', 'z'].map((name) => ({ name, kind: 'continuous' as const, min: 0, max: 1 })),
      constraints: [{ coefficients: { x: 1, y: 1, z: 1 }, op: '==', rhs: 1 }],
    };
    // (0.5, 0.5, 0.5) − 1/6 each → (1/3, 1/3, 1/3); (1, 0.6, 0) → (0.7, 0.3, 0).
    const a = repair(s, { x: 0.5, y: 0.5, z: 0.5 });
    for (const v of Object.values(a)) expect(v as number).toBeCloseTo(1 / 3, 10);
    const b = repair(s, { x: 1, y: 0.6, z: 0 });
    expect(b.x as number).toBeCloseTo(0.7, 10);
    expect(b.y as number).toBeCloseTo(0.3, 10);
    expect(b.z as number).toBeCloseTo(0, 10);
  });

  it('checks pool membership', () => {
    const s: ParameterSpace = { parameters: [{ name: 'x', kind: 'continuous', min: 0, max: 1 }], pool: [{ x: 0.25 }] };
    expect(isFeasible(s, { x: 0.25 }).ok).toBe(true);
    expect(isFeasible(s, { x: 0.5 }).violations).toEqual(['not a point of the candidate pool']);
  });

  it('rejects bad spaces with a named path', () => {
    expect(() => validateSpace({ parameters: [{ name: 'k', kind: 'continuous', min: 0, max: 1, log: true }] })).toThrow(/space.k: log scale needs min > 0/);
    expect(() => validateSpace({ parameters: [{ name: 'a', kind: 'continuous', min: 0, max: 1 }], constraints: [{ coefficients: { b: 1 }, op: '<=', rhs: 1 }] })).toThrow(BadInputError);
  });
});

describe('paramKey and pools', () => {
  it('is independent of key order and of -0', () => {
    expect(paramKey({ a: 1, b: 'x' })).toBe(paramKey({ b: 'x', a: 1 }));
    expect(paramKey({ a: -0 })).toBe(paramKey({ a: 0 }));
    expect(paramKey({ a: 1 })).not.toBe(paramKey({ a: '1' }));
  });

  it('parses a CSV pool with numbers, strings and quotes', () => {
    const rows = parsePoolCsv('\uFEFFx,solvent,"note"\r\n0.5,water,"a, b"\n\n1e-3,"eth""anol",c\n', 'pool.csv');
    expect(rows).toEqual([
      { x: 0.5, solvent: 'water', note: 'a, b' },
      { x: 0.001, solvent: 'eth"anol', note: 'c' },
    ]);
  });

  it('throws BadInputError naming file and line for malformed rows', () => {
    expect(() => parsePoolCsv('a,b\n1,2\n3\n', 'p.csv')).toThrow(/p.csv:3: expected 2 cells/);
    expect(() => parsePoolCsv('a,b\n1,\n', 'p.csv')).toThrow(/p.csv:2: empty cell in column 'b'/);
    expect(() => parsePoolCsv('a,a\n1,2\n', 'p.csv')).toThrow(/duplicate column/);
    expect(() => parsePoolCsv('\n\n', 'p.csv')).toThrow(BadInputError);
    expect(() => parsePoolCsv('a\n', 'p.csv')).toThrow(/no rows/);
  });
});
