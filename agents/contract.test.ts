/**
 * Contract of every registered agent: proposals always satisfy bounds, integrality,
 * categories and linear/sum constraints; a pool point is never proposed twice (nor one in
 * ctx.proposed or ctx.history); batches have the size asked for.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Observation, Parameters, ParameterSpace, ParameterSpec, RewardModel } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { paramKey, sampleUniform } from '../src/core/space.js';
import { agentRegistry } from './index.js';
import { runLoop } from './testing/harness.js';
import { FAST } from './testing/ppo-fast.js';
import { propertyRuns } from '../tests/property.js';

const NAMES = Object.keys(agentRegistry);
const OPTIONS: Record<string, Record<string, unknown>> = {
  sequence: { steps: [{ agent: 'sobol', trials: 4 }, { agent: 'cmaes' }] },
  ppo: FAST,
  // The contract is about which points may be proposed, not how well: 256 candidates go through
  // the same constrained sampling and repair as the default 2000, at an eighth of the scoring.
  'gp-bo': { candidates: 256 },
};
const make = (name: string, extra: Record<string, unknown> = {}) => agentRegistry[name]({ ...(OPTIONS[name] ?? {}), ...extra });

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
      propertyRuns(6),
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

/** A 2-D box and points in it, for the learning contracts below. */
const box: ParameterSpace = { parameters: [{ name: 'x', kind: 'continuous', min: 0, max: 1 }, { name: 'y', kind: 'continuous', min: 0, max: 1 }] };
const bowl = (p: Parameters): number => -((Number(p.x) - 0.7) ** 2) - (Number(p.y) - 0.2) ** 2;
const measured = (n: number, seed: number): Observation[] => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const params = sampleUniform(box, rng);
    return { params, reward: bowl(params), fidelity: 'rig' as const };
  });
};
/** What a twin-less campaign's history also holds: the surrogate's estimate of each measured point, here contradicting it, and no estimate at all before the model exists. */
const estimatesOf = (obs: Observation[]): Observation[] => obs.flatMap((o, i) => [{ ...o, reward: 10 - o.reward, fidelity: 'surrogate' as const }, ...(i < 2 ? [{ ...o, reward: NaN, fidelity: 'surrogate' as const }] : [])]);
const optimistic: RewardModel = async (ps) => ps.map((p) => ({ mean: -bowl(p), std: 0.1 }));

describe.each(NAMES)('agent %s learns from evaluations, not estimates (issue #12)', (name) => {
  it("a surrogate's estimates next to the measurements change no proposal", async () => {
    const rig = measured(6, 11);
    const mixed = [...estimatesOf(rig), ...rig];
    const propose = async (history: Observation[]) => {
      const agent = make(name);
      await agent.learn(history);
      return agent.propose({ space: box, history, proposed: history.map((o) => o.params), rng: createRng(5) }, 2);
    };
    expect(await propose(mixed)).toEqual(await propose(rig));
  });
});

/** Agents that learn a model (or a search distribution) from observations, with the shared initial design. */
const LEARNING = ['gp-bo', 'ppo', 'cmaes'];

describe.each(LEARNING)('agent %s: the initial design (issue #12)', (name) => {
  const propose = async (history: Observation[], model?: RewardModel) =>
    make(name, { initialPoints: 4 }).propose({ space: box, history, proposed: history.map((o) => o.params), model, rng: createRng(9) }, 2);
  const randomly = async (history: Observation[]) => agentRegistry.random({}).propose({ space: box, history, proposed: history.map((o) => o.params), rng: createRng(9) }, 2);

  it('proposes at random until initialPoints measurements exist, with or without a reward model; estimates do not count', async () => {
    const three = measured(3, 21);
    const history = [...estimatesOf(measured(5, 22)), ...estimatesOf(three), ...three];
    expect(await propose(history)).toEqual(await randomly(history));
    expect(await propose(history, optimistic)).toEqual(await randomly(history));
    // With the fourth measurement the design is done: what it proposes now comes from what it learnt.
    const four = [...history, ...measured(1, 23)];
    expect(await propose(four, optimistic)).not.toEqual(await randomly(four));
  });
});

describe('registry', () => {
  it('initialPoints means the same for every agent that takes it, and the others refuse it', () => {
    // mobo takes it too; its initial design counts observations with objectives (agents/mobo.test.ts).
    for (const name of NAMES) {
      if ([...LEARNING, 'mobo'].includes(name)) expect(() => make(name, { initialPoints: 3 })).not.toThrow();
      else expect(() => make(name, { initialPoints: 3 }), name).toThrow(/initialPoints|unknown option/);
    }
  });

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
