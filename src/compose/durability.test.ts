import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawCell, runDurabilityTest, simulatedEolDataset } from '../../robots/sim/durability.js';
import { campaignSchema } from '../config/schema.js';
import { BadInputError } from '../core/errors.js';
import { EolSurrogate } from '../surrogate/eol.js';
import { loadCampaign } from './campaign.js';
import { durabilityEstimator } from './durability.js';

/** Issue #20: the campaign's durability estimator (src/compose/durability.ts) on a small trained model and the simulated rig's results. */
const dir = mkdtempSync(join(tmpdir(), 'poreloop-durability-unit-'));
const modelDir = join(dir, 'model');

beforeAll(async () => {
  const model = new EolSurrogate({ epochs: 15, patience: 5, log: () => undefined });
  await model.fit(simulatedEolDataset(77, 120), { seed: 3 });
  await model.save(modelDir);
  model.dispose();
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The result the simulated cycler sends for `cell`, stopped after `stopAtCycle` (or run to EOL / 2000 cycles). */
const result = (params: Record<string, number>, seed: number, stopAtCycle?: number) =>
  runDurabilityTest(drawCell(params, seed), seed + 1, {}, { sleep: async () => undefined, report: async () => undefined, durationMs: 0, ...(stopAtCycle ? { stopAtCycle } : {}) });

describe('durabilityEstimator', () => {
  it('stops tests at the end of the model’s window, and only with earlyStop', async () => {
    const on = await durabilityEstimator({ stage: 'durability', model: 'm', earlyStop: true }, modelDir);
    const off = await durabilityEstimator({ stage: 'durability', model: 'm', earlyStop: false }, modelDir);
    expect(on.inputs).toEqual({ stopAtCycle: 200 });
    expect(off.inputs).toEqual({});
    expect(on.stage).toBe('durability');
  });

  it('estimates the EOL of a stopped test (σ, provenance) and leaves a measured one alone', async () => {
    const est = await durabilityEstimator({ stage: 'durability', model: 'm', earlyStop: true }, modelDir);
    const stopped = await result({ x0: 0.5, x1: 0.5 }, 5, 200);
    expect(stopped).toMatchObject({ cycles: 200, stoppedEarly: 1, eolReached: 0 });
    const e = await est.estimate(stopped);
    expect(e).toMatchObject({ basis: 'stopped-early', model: { id: expect.stringMatching(/^eol-lstm@[0-9a-f]{12}$/), path: modelDir } });
    expect(e!.estimates.eol.mean).toBeGreaterThanOrEqual(200);
    expect(e!.estimates.eol.std).toBeGreaterThan(0);
    // A short-lived recipe (far from the stand-in's optimum) reaches EOL within the planned test: measured, nothing to estimate.
    const full = await result({ x0: 0, x1: 0 }, 6);
    expect(full.eolReached).toBe(1);
    expect(await est.estimate(full)).toBeNull();
  });

  it('refuses a folder without a saved model, naming durability.model once', async () => {
    await expect(durabilityEstimator({ stage: 'durability', model: 'nope', earlyStop: true }, join(dir, 'nope'))).rejects.toThrow(BadInputError);
    await expect(durabilityEstimator({ stage: 'durability', model: 'nope', earlyStop: true }, join(dir, 'nope'))).rejects.toThrow(/^durability\.model: cannot load/);
  });

  /** A campaign config in `dir` (beside the model) with the given durability and simulated-lab settings. */
  const config = (name: string, durability: unknown, lab: Record<string, number> = {}) => {
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify({
      name, seed: 1, space: { x0: { min: 0, max: 1 } }, reward: 'eol / 1000', agent: { name: 'random', batchSize: 1 },
      rigs: { pipeline: ['durability'], measure: ['eol'], simulate: { rigs: [{ id: 'c', capabilities: ['durability'], latencyMs: 10 }], durability: lab } },
      budget: { rigRuns: 1 }, durability,
    }));
    return path;
  };

  /** The start of an error about the config file `path`: the file first (review 2026-12-07), then the key. */
  const inFile = (path: string, rest: string) => new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${rest}`);

  it('loadCampaign refuses a durability.model that is not a saved model, before anything runs, naming the file (#20 review)', () => {
    for (const model of ['nope', '.']) {
      const path = config(`bad-${model === '.' ? 'dot' : model}`, { model });
      expect(() => loadCampaign(path)).toThrow(inFile(path, 'durability\\.model: cannot read an early-life model .*metadata\\.json'));
    }
    expect(() => loadCampaign(config('good', { model: 'model' }))).not.toThrow();
  });

  it('loadCampaign refuses a simulated lab whose tests never report the model’s early window (#20 review)', () => {
    // The model reads cycles 10…200; a 1000-cycle test reports its series up to cycle 100.
    const short = config('short', { model: 'model' }, { cycles: 1000 });
    expect(() => loadCampaign(short)).toThrow(inFile(short, 'rigs\\.simulate\\.durability: ')); // the file, as for the loader's own checks (review 2026-12-07)
    expect(() => loadCampaign(short)).toThrow(/rigs\.simulate\.durability: the early-life model reads cycles 10…200, .* up to cycle 100 .*never sends cycle 110; plan longer tests \(rigs\.simulate\.durability\.cycles ≥ 2000\)/);
    // Reported every 20 cycles, cycle 10 never comes.
    expect(() => loadCampaign(config('sparse', { model: 'model' }, { reportEvery: 20 }))).toThrow(/never sends cycle 10;/);
    expect(() => loadCampaign(config('long', { model: 'model' }, { cycles: 3000 }))).not.toThrow();
  });

  it('loadCampaign names the config file in an error of the agent\'s options (review 2026-12-07)', () => {
    const path = join(dir, 'bad-agent.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(config('base', { model: 'model' }), 'utf8')), agent: { name: 'random', batchSize: 1, options: { nope: 1 } } }));
    expect(() => loadCampaign(path)).toThrow(inFile(path, "agent\\.random: unknown option 'nope'; random takes no options")); // a709a49: an agent without options says so
  });

  it('the config refuses a durability stage that is not in the pipeline', () => {
    const base = { name: 'd', space: { x: { min: 0, max: 1 } }, reward: 'eol', agent: { name: 'random' }, budget: { rigRuns: 1 } };
    const bad = campaignSchema.safeParse({ ...base, rigs: { pipeline: ['fabricate'], measure: ['eol'] }, durability: { model: 'm' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toContain('durability.stage');
    const good = campaignSchema.safeParse({ ...base, rigs: { pipeline: ['fabricate', 'durability'], measure: ['eol'] }, durability: { model: 'm' } });
    expect(good.success).toBe(true);
    expect(good.data!.durability).toEqual({ model: 'm', stage: 'durability', earlyStop: true });
  });
});
