/**
 * The runtime's unit tests (src/orchestrator/runtime.test.ts) run on fakeAgent and
 * fakePredictor; like fakeRig (rig.contract.test.ts), they must keep the promises of the
 * interfaces they stand in for, or those tests prove nothing (issue #15, DESIGN.md rule 11).
 * The space is the runtime tests' own: one continuous x in [0, 1].
 */
import { describe, expect, it } from 'vitest';
import { runLoop } from '../../agents/testing/harness.js';
import type { ParameterSpace } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { fakeAgent, fakePredictor } from '../fakes/index.js';

const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] };
const reward = (p: Record<string, number | string>) => -((Number(p.x) - 0.7) ** 2);

describe('Agent contract: fakeAgent (tests/fakes)', () => {
  it('proposes feasible points of the space, as many as asked for, and learns what it is told', async () => {
    for (const seed of [1, 2, 3]) {
      const agent = fakeAgent();
      // runLoop throws on a point outside the space (bounds, unknown or missing parameters).
      const h = await runLoop(agent, space, reward, { budget: 12, batch: 3, seed });
      expect(h).toHaveLength(12);
      expect(agent.learned).toBe(12);
    }
  });

  it('same rng, same proposals; snapshot/restore continues where it was', async () => {
    const a = fakeAgent();
    const b = fakeAgent();
    const ctx = (seed: number) => ({ space, history: [], rng: createRng(seed) });
    expect(await a.propose(ctx(5), 4)).toEqual(await b.propose(ctx(5), 4));
    const c = fakeAgent();
    c.restore!(a.snapshot!());
    expect(c.snapshot!()).toEqual(a.snapshot!());
  });
});

describe('Predictor contract: fakePredictor (tests/fakes)', () => {
  it('one score per candidate, in order: finite means, non-negative spreads, a fidelity tag', async () => {
    const p = fakePredictor();
    const cands = [{ x: 0 }, { x: 0.7 }, { x: 1 }];
    const scores = await p.score(cands, { seed: 1 });
    expect(scores).toHaveLength(3);
    for (const s of scores) {
      expect(['surrogate', 'simulation', 'rig']).toContain(s.fidelity);
      for (const e of Object.values(s.properties)) {
        expect(Number.isFinite(e.mean)).toBe(true);
        expect(e.std).toBeGreaterThanOrEqual(0);
      }
    }
    expect(scores[1].properties.y.mean).toBeGreaterThan(scores[0].properties.y.mean);
    expect(await p.score(cands, { seed: 1 })).toEqual(scores); // deterministic
  });
});
