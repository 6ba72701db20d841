/**
 * Contract of every registered agent: proposals always satisfy bounds, integrality,
 * categories and linear/sum constraints; a pool point is never proposed twice (nor one in
 * ctx.proposed or ctx.history); batches have the size asked for.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Parameters, ParameterSpace, ParameterSpec } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { paramKey, sampleUniform } from '../src/core/space.js';
import { agentRegistry } from './index.js';
import { runLoop } from './testing/harness.js';
import { FAST } from './testing/ppo-fast.js';

const NAMES = Object.keys(agentRegistry);
const OPTIONS: Record<string, Record<string, unknown>> = {
  sequence: { steps: [{ agent: 'sobol', trials: 4 }, { agent: 'cmaes' }] },
  ppo: FAST,
};
const make = (name: string) => agentRegistry[name](OPTIONS[name] ?? {});

/** A random space: k fractions summing to `total`, a log parameter, an integer, a category, and a linear cap. */
const spaceArb = fc.record({
  k: fc.integer({ min: 2, max: 4 }),
  total: fc.constantFrom(1, 100),
  upper: fc.double({ min: 0.5, max: 1, noNaN: true }),
  slack: fc.double({ min: 0.05, max: 1, noNaN: true }),
  cats: fc.integer({ min: 1, max: 3 }),
}).map(({ k, total, upper, slack, cats }): ParameterSpace => {
  // The smallest f0 the sum allows is total − (k − 1)·upper·total; leave `slack` above it.
  const cap = Math.max(0, 1 - (k - 1) * upper) + 0.001 + slack;
  const fr: ParameterSpec[] = Array.from({ length: k }, (_, i) => ({ name: `f${i}`, kind: 'continuous', min: 0, max: upper * total }));
  return {
    parameters: [
      ...fr,
      { name: 'temp', kind: 'continuous', min: 1, max: 1000, log: true },
      { name: 'layers', kind: 'integer', min: 1, max: 4 },
      { name: 'solvent', kind: 'categorical', values: ['water', 'ethanol', 'nmp'].slice(0, cats) },
    ],
    constraints: [
      { coefficients: Object.fromEntries(fr.map((p) => [p.name, 1])), op: '==', rhs: total },
      // f0/total + temp/1000 ≤ cap couples a fraction with a log-scaled parameter.
      { coefficients: { f0: 1 / total, temp: 1 / 1000 }, op: '<=', rhs: cap },
    ],
  };
});

const reward = (p: Parameters): number => -Object.values(p).reduce<number>((s, v) => s + (typeof v === 'number' ? Math.sin(v) : v.length), 0);

describe.each(NAMES)('agent %s', (name) => {
  it('never violates bounds, integrality, categories or linear/sum constraints', async () => {
    await fc.assert(
      fc.asyncProperty(spaceArb, fc.integer({ min: 1, max: 1000 }), async (space, seed) => {
        // runLoop throws on any infeasible proposal.
        const h = await runLoop(make(name), space, reward, { budget: 12, batch: 3, seed });
        expect(h).toHaveLength(12);
      }),
      { numRuns: 6 },
    );
  });

  it('proposes every pool point exactly once, then nothing', async () => {
    const base: ParameterSpace = {
      parameters: [
        { name: 'x', kind: 'continuous', min: 0, max: 1 },
        { name: 'n', kind: 'integer', min: 0, max: 3 },
        { name: 'c', kind: 'categorical', values: ['a', 'b'] },
      ],
    };
    const rng = createRng(1);
    const pool = Array.from({ length: 23 }, () => sampleUniform(base, rng));
    const space = { ...base, pool: [...pool, pool[0]] }; // a duplicate row counts once
    const agent = make(name);
    const h = await runLoop(agent, space, reward, { budget: 40, batch: 4, seed: 2 });
    expect(new Set(h.map((o) => paramKey(o.params))).size).toBe(23);
    expect(h).toHaveLength(23);
    expect(await agent.propose({ space, history: h, proposed: h.map((o) => o.params), rng }, 2)).toEqual([]);
  });

  it('never proposes a pool row that breaks the bounds or constraints', async () => {
    const space: ParameterSpace = {
      parameters: [
        { name: 'a', kind: 'continuous', min: 0, max: 1 },
        { name: 'b', kind: 'continuous', min: 0, max: 1 },
      ],
      constraints: [{ coefficients: { a: 1, b: 1 }, op: '<=', rhs: 1 }],
      pool: [{ a: 0.2, b: 0.3 }, { a: 0.9, b: 0.9 }, { a: 1.5, b: 0 }, { a: 0.5, b: 0.5 }],
    };
    const h = await runLoop(make(name), space, reward, { budget: 4, batch: 2, seed: 1 });
    expect(h.map((o) => o.params).sort((x, y) => Number(x.a) - Number(y.a))).toEqual([{ a: 0.2, b: 0.3 }, { a: 0.5, b: 0.5 }]);
  });

  it('skips pool points in ctx.proposed that are not yet observed', async () => {
    const space: ParameterSpace = { parameters: [{ name: 'x', kind: 'continuous', min: 0, max: 1 }], pool: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((x) => ({ x })) };
    const history = [0.1, 0.6].map((x) => ({ params: { x }, reward: -x, fidelity: 'rig' as const }));
    const pending = [{ x: 0.2 }, { x: 0.3 }];
    const agent = make(name);
    await agent.learn(history);
    const out = await agent.propose({ space, history, proposed: [...history.map((o) => o.params), ...pending], rng: createRng(3) }, 2);
    expect(out.map((p) => p.x).sort()).toEqual([0.4, 0.5]);
  });
});

describe('registry', () => {
  it('rejects unknown options and bad sequences with BadInputError', () => {
    expect(() => agentRegistry['gp-bo']({ nope: 1 })).toThrow(/agent.gp-bo: unknown option 'nope'; allowed:/);
    expect(() => agentRegistry.cmaes({ sigma0: 'big' })).toThrow(/agent.cmaes.sigma0: must be a number/);
    expect(() => agentRegistry.sequence({ steps: [{ agent: 'sobol' }, { agent: 'gp-bo' }] })).toThrow(/needs 'trials'/);
    expect(() => agentRegistry.sequence({ steps: [{ agent: 'magic', trials: 2 }] })).toThrow(/unknown agent 'magic'/);
  });

  it('sequence hands over after the given number of trials', async () => {
    const seq = agentRegistry.sequence({ steps: [{ agent: 'sobol', trials: 5 }, { agent: 'random' }] });
    const sobol = agentRegistry.sobol({});
    const space: ParameterSpace = { parameters: [{ name: 'x', kind: 'continuous', min: 0, max: 1 }] };
    const a = await runLoop(seq, space, reward, { budget: 8, batch: 3, seed: 6 });
    const b = await runLoop(sobol, space, reward, { budget: 8, batch: 3, seed: 6 });
    expect(a.slice(0, 5).map((o) => o.params)).toEqual(b.slice(0, 5).map((o) => o.params));
    expect(a[5].params).not.toEqual(b[5].params);
  });
});
