/**
 * Recipes the twin cannot make (config review, item 1: configs/sofc-device abandoned a trial
 * after 3 attempts at "cannot reach porosity 0.2597 … packing jammed at 0.352"): the simulated
 * rigs' hidden truth (campaignTruth) answers them infeasible with the twin's reason, and the
 * P-model's scoring says how many candidates it could not score and why (scoringFailures).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateTwinAsync } from '../../twins/async.js';
import { SimulationError } from '../core/errors.js';
import type { Parameters, Voxels } from '../core/protocols.js';
import { err, ok } from '../core/result.js';
import { loadCampaignFile } from '../config/load.js';
import { createPredictor } from '../predict/predictor.js';
import { campaignTruth, configRegistries, scoringFailures } from './campaign.js';

const config = fileURLToPath(new URL('../../configs/sofc-device.yaml', import.meta.url));
const fixed = { yszDiameter: 0.8, diameterCv: 0.2 };

describe('campaignTruth (rigs.simulate with a twin)', () => {
  it('answers a recipe the twin refuses (packing jammed) as infeasible with the reason, without running physics', async () => {
    let solved = 0;
    const truth = campaignTruth(loadCampaignFile(config, configRegistries(), {}, {}), async () => {
      solved++;
      return ok({ properties: {} } as never);
    });
    const out = await truth({ porosity: 0.26, niFraction: 0.7, niDiameter: 2, ...fixed }, 'characterise');
    expect(out.feasible).toBe(false);
    expect(out.measurements).toEqual({});
    expect(out.reason).toMatch(/^the twin cannot make this recipe: params\.porosity: cannot reach porosity 0\.26 .*packing jammed at porosity/);
    expect(solved).toBe(0);
  });

  it('still fails the job on anything else (a physics failure is not the recipe\'s fault)', async () => {
    const truth = campaignTruth(loadCampaignFile(config, configRegistries(), {}, {}), async () => err(new SimulationError('solver diverged', 'not-converged')));
    await expect(truth({ porosity: 0.45, niFraction: 0.5, niDiameter: 1, ...fixed }, 'characterise')).rejects.toThrow(/rig could not measure: solver diverged/);
  });
});

describe('scoringFailures (the P-model could not score a candidate)', () => {
  it('logs one line per score call with the count and the first reason; other members pass through', async () => {
    const lines: string[] = [];
    const scoring = scoringFailures((l) => lines.push(l));
    const failing = new WeakSet<Voxels>();
    const generate = scoring.generate(async (params: Parameters, seed: number) => {
      const g = await generateTwinAsync('sofc-anode', { ...params, ...fixed }, { seed, size: [32, 32, 32], voxelSize: 0.25 });
      if (params.niFraction === 0.4) failing.add(g.voxels);
      return g;
    });
    const simulate = scoring.simulate(async (v: Voxels, props: string[]) =>
      failing.has(v) ? err(new SimulationError('no percolating Ni path', 'bad-input')) : ok({ properties: Object.fromEntries(props.map((p) => [p, 1])), units: {} }),
    );
    const predictor = scoring.predictor(createPredictor({ properties: ['k'], generate, simulate }));
    const candidates = [
      { porosity: 0.45, niFraction: 0.5, niDiameter: 1 },
      { porosity: 0.25, niFraction: 0.7, niDiameter: 2 }, // packing jams: the twin refuses it
      { porosity: 0.45, niFraction: 0.4, niDiameter: 1 }, // made, but its physics fails
    ];
    const scores = await predictor.score(candidates, { seed: 3 });
    expect(scores.map((s) => Number.isNaN(s.properties.k.mean))).toEqual([false, true, true]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^P-model: \d+ twin\/physics runs failed scoring 3 candidates, 2 left without a prediction \(reward NaN\); first: the twin cannot make it: params\.porosity: cannot reach porosity 0\.25 .*packing jammed/);
    expect(predictor.trainingRows).toBe(0);
    // A call that fails nothing says nothing; the wrapped functions outside a score call record nothing.
    await predictor.score([candidates[0]], { seed: 4 });
    await generate(candidates[1], 1).catch(() => undefined);
    expect(lines).toHaveLength(1);
  });
});
