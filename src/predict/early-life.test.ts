import { describe, expect, it } from 'vitest';
import { durabilityEstimates, type EarlyLifeModel } from './early-life.js';

/** A stand-in model: EOL = 1000 × capacity_20, σ 50 (enough to tell rows apart). */
const model: EarlyLifeModel = {
  async predictFrom(rows) {
    return { mean: rows.map((r) => [1000 * r.capacity_20]), std: rows.map(() => [50]) };
  },
};

describe('durability estimates (issue #20: a prediction is not a measurement)', () => {
  it('measured EOL is a rig measurement; a stopped test is an early-life prediction with σ; a censored one is floored at the cycles it survived', async () => {
    const [measured, stopped, censored] = await durabilityEstimates(
      [
        { cycles: 640, eolReached: 1, eol: 640, stoppedEarly: 0, capacity_20: 0.99 },
        { cycles: 200, eolReached: 0, stoppedEarly: 1, capacity_20: 0.99 },
        { cycles: 2000, eolReached: 0, stoppedEarly: 0, capacity_20: 0.98 },
      ],
      model,
    );
    expect(measured).toEqual({ eol: { mean: 640, std: 0 }, fidelity: 'rig', basis: 'measured', cycles: 640 });
    expect(stopped).toEqual({ eol: { mean: 990, std: 50 }, fidelity: 'early-life', basis: 'stopped-early', cycles: 200 });
    expect(censored.eol.mean).toBe(2000);
    expect(censored.fidelity).toBe('early-life');
  });

  it('needs a model for unfinished tests and refuses results that are not durability results', async () => {
    await expect(durabilityEstimates([{ cycles: 200, eolReached: 0, stoppedEarly: 1 }])).rejects.toThrow(/did not reach end of life and no early-life model/);
    await expect(durabilityEstimates([{ capacity: 0.9 }], model)).rejects.toThrow(/results\[0\]: not a durability result/);
    await expect(durabilityEstimates([{ cycles: 10, eolReached: 1 }], model)).rejects.toThrow(/eolReached = 1 needs eol/);
    // Measured-only batches need no model.
    expect((await durabilityEstimates([{ cycles: 10, eolReached: 1, eol: 10 }]))[0].fidelity).toBe('rig');
  });
});
