import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError, SimulationError } from '../core/errors.js';
import type { Dataset, Parameters, Prediction, Surrogate, Voxels } from '../core/protocols.js';
import { err, ok } from '../core/result.js';
import { hash32 } from '../core/rng.js';
import { TRANSPORT_DESCRIPTORS, transportDescriptors } from '../surrogate/descriptors.js';
import { createPredictor, type ModelTrainedInfo } from './predictor.js';

// A fake twin: the "volume" carries the parameters; achieved porosity is a known function.
const voxelsOf = (p: Parameters): Voxels => ({ data: new Uint8Array([Number(p.a) * 100]), shape: [1, 1, 1], voxelSize: 1, phases: { 0: 'pore' } });
const generate = async (p: Parameters) => {
  if (Number(p.a) < 0) throw new BadInputError('a must be >= 0', 'params.a');
  return { voxels: voxelsOf(p), achieved: { porosity: 0.5 + 0.1 * Number(p.a) } };
};
// A fake simulator: y = 2a + 1, failing for a = 0.5.
let simulations = 0;
const simulate = async (v: Voxels, props: string[]) => {
  simulations++;
  const a = v.data[0] / 100;
  if (Math.abs(a - 0.5) < 1e-9) return err(new SimulationError('does not percolate', 'bad-input'));
  return ok({ properties: Object.fromEntries(props.map((p) => [p, 2 * a + 1])), units: {} });
};

/** A surrogate whose σ grows with a: lets the tests check the selection logic exactly. */
class FakeSurrogate implements Surrogate {
  readonly name = 'fake';
  fits: Dataset[] = [];
  async fit(data: Dataset) {
    this.fits.push(data);
    return { loss: 0, epochs: 1 };
  }
  async predict(x: number[][]): Promise<Prediction> {
    return { mean: x.map((r) => [2 * r[0] + 1]), std: x.map((r) => [r[0]]) };
  }
  async save() {}
  async load() {}
}

const cands = (as: number[]): Parameters[] => as.map((a) => ({ a }));
/** For the tests that count simulations per candidate: one twin realisation each (realisations are tested below). */
const oneRealisation = { realisations: { min: 1, max: 1 } };

describe('createPredictor, physics only', () => {
  it('simulates every candidate (two realisations by default), NaN for failed simulations and infeasible twins', async () => {
    simulations = 0;
    const pred = createPredictor({ properties: ['y'], generate, simulate });
    const progress: number[] = [];
    const s = await pred.score(cands([0, 0.25, 0.5, -1]), { seed: 1, onProgress: (d) => progress.push(d) });
    expect(simulations).toBe(6);
    expect(s.map((x) => x.fidelity)).toEqual(['simulation', 'simulation', 'simulation', 'simulation']);
    // The fake twin ignores its seed: both realisations agree, so the spread is truly 0.
    expect(s[0].properties.y).toEqual({ mean: 1, std: 0, spread: 0, n: 2, samples: [1, 1] });
    expect(s[1].properties.y).toEqual({ mean: 1.5, std: 0, spread: 0, n: 2, samples: [1.5, 1.5] });
    expect(s[1].achieved).toEqual({ porosity: 0.525 });
    expect(Number.isNaN(s[2].properties.y.mean)).toBe(true);
    expect(Number.isNaN(s[3].properties.y.mean)).toBe(true);
    expect(s[3].achieved).toBeUndefined();
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(pred.modelVersion).toBe(0);
  });

  it('rejects inconsistent options with BadInputError', () => {
    expect(() => createPredictor({ properties: [], generate, simulate })).toThrow(BadInputError);
    expect(() => createPredictor({ properties: ['y'], surrogate: () => new FakeSurrogate(), acquisition: 'ei', generate, simulate })).toThrow(/rewardOf/);
    expect(() => createPredictor({ properties: ['y'], features: 'parameters+achieved', surrogate: () => new FakeSurrogate() })).toThrow(/need a twin/);
  });

  it('without a twin and without a surrogate, every score is the prior', async () => {
    simulations = 0;
    const pred = createPredictor({ properties: ['y'], simulate });
    const s = await pred.score(cands([0.1, 0.2]), { seed: 1 });
    expect(simulations).toBe(0);
    // No model: the prior, never labelled a surrogate (review 2026-12-07, finding 4).
    expect(s[1].fidelity).toBe('prior');
    expect(Number.isNaN(s[1].properties.y.mean)).toBe(true);
    expect(s[1].properties.y.std).toBe(Infinity);
  });
});

/**
 * A fake twin whose realisations differ: y = 2a + 1 + noise·u(seed), u uniform in [−½, ½]
 * from the seed's hash — a stand-in for a domain whose property varies between twin seeds.
 */
function noisyTwin(noise: number | ((a: number) => number)) {
  const noiseOf = typeof noise === 'number' ? () => noise : noise;
  const value = new WeakMap<Voxels, number>();
  const seeds: number[] = [];
  let simulations = 0;
  return {
    seeds,
    simulations: () => simulations,
    generate: async (p: Parameters, seed: number) => {
      seeds.push(seed);
      const voxels: Voxels = { data: new Uint8Array(1), shape: [1, 1, 1], voxelSize: 1, phases: { 0: 'pore' } };
      value.set(voxels, 2 * Number(p.a) + 1 + noiseOf(Number(p.a)) * (hash32(`u:${seed}`) / 2 ** 32 - 0.5));
      return { voxels, achieved: {} };
    },
    simulate: async (v: Voxels, props: string[]) => {
      simulations++;
      return ok({ properties: Object.fromEntries(props.map((p) => [p, value.get(v)!])), units: {} });
    },
  };
}

describe('createPredictor, twin realisations (issue #13)', () => {
  it('a simulated score is the mean over realisations with σ = its standard error and the spread recorded; realisation 0 is the trial seed', async () => {
    const twin = noisyTwin(0.5);
    const pred = createPredictor({ properties: ['y'], generate: twin.generate, simulate: twin.simulate });
    const s = await pred.score(cands([0, 1]), { seed: 1, seeds: [11, 22] });
    expect(twin.seeds.slice(0, 2)).toEqual([11, 22]);
    for (const x of s) {
      const y = x.properties.y;
      expect(y.n).toBe(2);
      expect(y.spread).toBeGreaterThan(0);
      expect(y.std).toBeCloseTo(y.spread! / Math.sqrt(2), 12);
    }
    // Same seeds, same realisations: a resumed campaign rescoring the trials gets the same scores.
    const again = createPredictor({ properties: ['y'], generate: twin.generate, simulate: twin.simulate });
    expect(await again.score(cands([0, 1]), { seed: 1, seeds: [11, 22] })).toEqual(s);
  });

  it('adds realisations where the top of the ranking is uncertain, not where it is clear', async () => {
    const run = async (as: number[]) => {
      const twin = noisyTwin(0.5);
      const pred = createPredictor({ properties: ['y'], generate: twin.generate, simulate: twin.simulate, rewardOf: (p) => p.y, realisations: { min: 2, max: 4 }, top: 1 });
      const s = await pred.score(cands(as), { seed: 3, seeds: as.map((_, i) => 100 + i) });
      return { n: s.map((x) => x.properties.y.n), simulations: twin.simulations() };
    };
    // Well separated (Δy ≥ 4 against a spread of ~0.15): every candidate keeps the minimum.
    expect(await run([5, 2, 0])).toEqual({ n: [2, 2, 2], simulations: 6 });
    // Two candidates 0.04 apart at the top: they get realisations up to the maximum; the far one does not.
    expect(await run([5, 5.02, 0])).toEqual({ n: [4, 4, 2], simulations: 10 });
  });

  it('refines the boundary of the ranking the caller selects by (ScoreOptions.ranking), not the raw reward’s', async () => {
    const calls: Array<{ simulated: boolean[]; z: number }> = [];
    // What selects the batch ranks opposite to the P-model (a twin whose trend the rigs reversed).
    const reversed = (_c: Parameters[], r: ReadonlyArray<{ mean: number; std: number; simulated: boolean }>, z: number) => {
      calls.push({ simulated: r.map((x) => x.simulated), z });
      return r.map((x) => ({ value: -x.mean, lower: -(x.mean + z * x.std), upper: -(x.mean - z * x.std) }));
    };
    const run = async (as: number[], ranking?: typeof reversed | (() => null)) => {
      const twin = noisyTwin(0.5);
      const pred = createPredictor({ properties: ['y'], generate: twin.generate, simulate: twin.simulate, rewardOf: (p) => p.y, realisations: { min: 2, max: 4 }, top: 1 });
      const s = await pred.score(cands(as), { seed: 3, seeds: as.map((_, i) => 100 + i), ranking });
      return s.map((x) => x.properties.y.n);
    };
    // The raw reward's top (a = 5) is clear; the reversed ranking's (a = 0 against a = 0.02) is not.
    expect(await run([5, 0, 0.02])).toEqual([2, 2, 2]);
    expect(await run([5, 0, 0.02], reversed)).toEqual([2, 4, 4]);
    expect(calls[0]).toEqual({ simulated: [true, true, true], z: 1.96 });
    // And the other way round; a ranking that cannot tell (null) leaves the reward's.
    expect(await run([5, 5.02, 0], reversed)).toEqual([2, 2, 2]);
    expect(await run([5, 5.02, 0], () => null)).toEqual([4, 4, 2]);
  });

  it('the representative-volume check warns, and records, when the property varies too much between realisations', async () => {
    const run = async (noise: number | ((a: number) => number)) => {
      const twin = noisyTwin(noise);
      const warnings: string[] = [];
      const pred = createPredictor({ properties: ['y'], generate: twin.generate, simulate: twin.simulate, rveMaxCv: 0.2, onWarning: (m) => void warnings.push(m) });
      const s = await pred.score(cands([0, 0.1, 0.2, 0.3]), { seed: 5, seeds: [1, 2, 3, 4] });
      return { flagged: s.filter((x) => x.rveWarnings?.includes('y')).length, warnings };
    };
    // y ≈ 1.3 ± a uniform noise of width 4 (CV ~ 0.9): too small a domain.
    const small = await run(4);
    expect(small.flagged).toBeGreaterThan(0);
    expect(small.warnings).toHaveLength(1);
    expect(small.warnings[0]).toMatch(/representative volume: y .* too small for y/);
    // Width 0.02 (CV ~ 0.005): representative.
    expect(await run(0.02)).toEqual({ flagged: 0, warnings: [] });
    // One recipe that scatters (a near-percolation recipe) is recorded, but the round's median
    // CV is small: no warning that the domain is too small.
    const one = await run((a) => (a === 0.3 ? 8 : 0.02));
    expect(one.flagged).toBe(1);
    expect(one.warnings).toEqual([]);
  });
});

describe('createPredictor, active learning', () => {
  it("features 'parameters+volume': the generated volume's transport descriptors join the features", async () => {
    // A 2×2×3 volume, all pore but for a solid voxel in the middle slice when a > 0.5.
    const vol = (p: Parameters): Voxels => {
      const data = new Uint8Array(12);
      if (Number(p.a) > 0.5) data[1] = 1;
      return { data, shape: [2, 2, 3], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
    };
    const gen = async (p: Parameters) => ({ voxels: vol(p), achieved: { porosity: 0.5 } });
    const sim = async (v: Voxels) => ok({ properties: { y: v.data.filter((x) => x === 0).length }, units: {} });
    const fake = new FakeSurrogate();
    const pred = createPredictor({ properties: ['y'], generate: gen, simulate: sim, surrogate: () => fake, physicsPerRound: 2, retrainEvery: 2, minTrainingRows: 2, features: 'parameters+volume' });
    const s = await pred.score(cands([0.2, 0.9]), { seed: 1 });
    const volume = (p: Parameters) => Object.fromEntries(Object.entries(transportDescriptors(vol(p))).map(([k, v]) => [`volume.${k}`, v]));
    expect(s[1].achieved).toEqual({ porosity: 0.5, ...volume({ a: 0.9 }) });
    expect(s[1].achieved!['volume.sliceMin_z']).toBe(0.75);
    expect(fake.fits).toHaveLength(1);
    const names = ['porosity', ...TRANSPORT_DESCRIPTORS.map((n) => `volume.${n}`)].sort();
    expect(fake.fits[0].inputs).toEqual(['a', ...names.map((n) => `achieved.${n}`)]);
    expect(fake.fits[0].x.find((r) => r[0] === 0.9)).toEqual([0.9, ...names.map((n) => ({ porosity: 0.5, ...volume({ a: 0.9 }) })[n])]);
    expect(() => createPredictor({ properties: ['y'], surrogate: () => fake, features: 'parameters+volume' })).toThrow(/need a twin/);
  });

  it('cold start: physics on physicsPerRound spread-out candidates, prior for the rest', async () => {
    simulations = 0;
    const fake = new FakeSurrogate();
    const pred = createPredictor({ properties: ['y'], generate, simulate, surrogate: () => fake, physicsPerRound: 3, retrainEvery: 100, features: 'parameters', ...oneRealisation });
    const as = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 0.05];
    const s = await pred.score(cands(as), { seed: 1 });
    expect(simulations).toBe(3);
    const sim = as.filter((_, i) => s[i].fidelity === 'simulation').sort();
    // Farthest-point selection: the two ends, then the middle.
    expect(sim).toEqual([0.05, 0.6, 1.0]);
    // No surrogate has been trained: the others are the prior, not surrogate estimates (review 2026-12-07).
    const rest = s.filter((x) => x.fidelity === 'prior');
    expect(rest).toHaveLength(7);
    expect(Number.isNaN(rest[0].properties.y.mean)).toBe(true);
    expect(rest[0].properties.y.std).toBe(Infinity);
    expect(pred.trainingRows).toBe(3);
    // The second round's prior is the data so far; new picks avoid the simulated points.
    const s2 = await pred.score(cands([0.05, 1.0, 0.3]), { seed: 2 });
    expect(s2[0].fidelity).toBe('prior');
    expect(s2[0].properties.y.mean).toBeCloseTo((1.1 + 2.2 + 3) / 3, 10);
    expect(s2[2].fidelity).toBe('simulation');
  });

  it('surrogate {members}, retrainEvery 2, physicsPerRound 2: the data mean is `prior` until a surrogate exists (8 rows), `surrogate` after (review 2026-12-07, finding 4)', async () => {
    const fake = new FakeSurrogate();
    const trained: ModelTrainedInfo[] = [];
    const pred = createPredictor({ properties: ['y'], generate, simulate, surrogate: () => fake, physicsPerRound: 2, retrainEvery: 2, features: 'parameters', onModelTrained: (i) => void trained.push(i), ...oneRealisation });
    const labels: string[][] = [];
    for (let round = 0; round < 5; round++) {
      const s = await pred.score(cands([0.1, 0.2, 0.3, 0.4].map((a) => a + round * 0.01 + 0.55 * (round % 2))), { seed: round + 1 });
      labels.push(s.filter((x) => x.fidelity !== 'simulation').map((x) => x.fidelity));
    }
    // Rounds 1–4 simulate 2 each: the first model is trained after round 4 (8 rows, max(retrainEvery, 8)).
    expect(trained[0]?.trainingRows).toBe(8);
    expect(labels.slice(0, 4)).toEqual([['prior', 'prior'], ['prior', 'prior'], ['prior', 'prior'], ['prior', 'prior']]);
    expect(labels[4].every((f) => f === 'surrogate')).toBe(true);
    expect(labels[4].length).toBeGreaterThan(0);
  });

  it('after training: surrogate scores for all, physics on the most uncertain worth simulating', async () => {
    const fake = new FakeSurrogate();
    const trained: ModelTrainedInfo[] = [];
    const pred = createPredictor({
      properties: ['y'],
      generate,
      simulate,
      surrogate: () => fake,
      physicsPerRound: 2,
      retrainEvery: 2,
      minTrainingRows: 2,
      features: 'parameters',
      onModelTrained: (i) => void trained.push(i),
      ...oneRealisation,
    });
    await pred.score(cands([0, 1]), { seed: 1 });
    expect(trained).toHaveLength(1);
    expect(trained[0]).toMatchObject({ version: 1, trainingRows: 2, surrogate: 'fake', inputs: ['a'], properties: ['y'] });
    expect(trained[0].dataHash).toMatch(/^[0-9a-f]{64}$/);
    expect(fake.fits[0].x).toEqual([[0], [1]]);
    expect(fake.fits[0].y).toEqual([[1], [3]]);
    // Data spread of y is 1; σ = a, so relative σ = a: a = 0.01 is below minRelativeStd (0.05).
    simulations = 0;
    const s = await pred.score(cands([0.01, 0.3, 0.9, 0.7]), { seed: 2 });
    expect(s.map((x) => x.fidelity)).toEqual(['surrogate', 'surrogate', 'simulation', 'simulation']);
    expect(s[1].properties.y).toEqual({ mean: 1.6, std: 0.3 });
    // One realisation: its spread, and so the error of the mean, is unknown.
    expect(s[2].properties.y).toEqual({ mean: 2.8, std: NaN, spread: NaN, n: 1, samples: [2.8] });
    expect(simulations).toBe(2);
    // Two new rows → retrained (version 2).
    expect(trained.map((t) => t.version)).toEqual([1, 2]);
    simulations = 0;
    await pred.score(cands([0.01, 0.02]), { seed: 3 });
    expect(simulations).toBe(0);
  });

  it('ei prefers the surest improvement; ucb simulates only candidates that could beat the best', async () => {
    const make = (acquisition: 'ei' | 'ucb') =>
      createPredictor({ properties: ['y'], generate, simulate, surrogate: () => new FakeSurrogate(), physicsPerRound: 1, retrainEvery: 1000, minTrainingRows: 1, acquisition, rewardOf: (p) => -p.y, features: 'parameters', ...oneRealisation });
    // Reward −y, best seen −1.4. Predicted y = 2a + 1 ± a: a = 0.001 is a near-sure improvement
    // (EI ≈ 0.4); a = 1 (−3 ± 1) and a = 0.9 (−2.8 ± 0.9) almost surely are not.
    const ei = make('ei');
    await ei.observe([{ params: { a: 0.2 }, properties: { y: 1.4 }, fidelity: 'rig' }]);
    simulations = 0;
    const s = await ei.score(cands([1, 0.9, 0.001]), { seed: 4 });
    expect(simulations).toBe(1);
    expect(s.map((x) => x.fidelity)).toEqual(['surrogate', 'surrogate', 'simulation']);
    // μ + 2σ of the reward is −(2a + 1) + 2a = −1 for every a: below a best of −0.2, no
    // candidate could win, so none is worth a simulation.
    const ucb = make('ucb');
    await ucb.observe([{ params: { a: 0.2 }, properties: { y: 0.2 }, fidelity: 'rig' }]);
    simulations = 0;
    await ucb.score(cands([1, 0.9, 0.001]), { seed: 4 });
    expect(simulations).toBe(0);
  });

  it('rig-data only: observe() trains on encoded parameters and estimate() scores', async () => {
    const fake = new FakeSurrogate();
    const pred = createPredictor({ properties: ['y'], surrogate: () => fake, retrainEvery: 2, minTrainingRows: 2 });
    expect((await pred.estimate([{ a: 0.5, b: 1 }], { seed: 1 }))[0].properties.y.std).toBe(Infinity);
    await pred.observe([
      { params: { a: 0.1, b: 2 }, properties: { y: 1.2 }, fidelity: 'rig' },
      { params: { a: 0.4, b: 3 }, properties: { y: 1.8 }, fidelity: 'rig' },
    ]);
    expect(pred.modelVersion).toBe(1);
    expect(fake.fits[0].inputs).toEqual(['a', 'b']);
    const s = await pred.score([{ a: 0.25, b: 1 }], { seed: 1 });
    expect(s[0]).toEqual({ properties: { y: { mean: 1.5, std: 0.25 } }, fidelity: 'surrogate' });
    const model = pred.rewardModel(1);
    expect(model).toBeUndefined();
  });
});

/** A small real surrogate on one realisation per candidate, persisted (with artifactsDir): the persistence and commit tests. */
const persisted = {
  properties: ['y'],
  generate,
  simulate,
  surrogate: { members: 2, epochs: 20, architecture: { kind: 'mlp' as const, trunk: [8], head: [], activation: 'tanh' as const } },
  physicsPerRound: 4,
  retrainEvery: 4,
  minTrainingRows: 4,
  ...oneRealisation,
};

describe('createPredictor, persistence', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a resumed predictor reloads the latest model and data instead of retraining', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poreloop-pred-'));
    dirs.push(dir);
    const opts = { ...persisted, artifactsDir: dir };
    const trained: ModelTrainedInfo[] = [];
    const a = createPredictor({ ...opts, onModelTrained: (i) => void trained.push(i) });
    await a.score(cands([0, 0.3, 0.7, 1]), { seed: 5 });
    expect(trained).toHaveLength(1);
    expect(trained[0].dir).toBe(join(dir, 'surrogate', 'v1'));
    const probe = cands([0.1, 0.9]);
    const before = await a.estimate(probe, { seed: 6 });

    const again: ModelTrainedInfo[] = [];
    const b = createPredictor({ ...opts, onModelTrained: (i) => void again.push(i) });
    expect(await b.resume()).toBe(true);
    expect(b.modelVersion).toBe(1);
    expect(b.trainingRows).toBe(4);
    expect(await b.estimate(probe, { seed: 6 })).toEqual(before);
    expect(again).toHaveLength(0);
  });
});

describe("createPredictor, commit 'caller' (reproducibility review, item 1)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const rounds = [cands([0, 0.3, 0.7, 1]), cands([0.1, 0.4, 0.8, 0.9]), cands([0.2, 0.6, 0.35, 0.65]), cands([0.15, 0.45, 0.55, 0.85])];
  const seeds = (r: number) => rounds[r].map((_, i) => hash32(`t:${r}:${i}`));
  const make = async (dir: string, trained: ModelTrainedInfo[]) => {
    const p = createPredictor({ ...persisted, artifactsDir: dir, commit: 'caller', onModelTrained: (i) => void trained.push(i) });
    await p.resume();
    return p;
  };
  /** What the campaign runtime does per round: score, record TrialScored (here: keep the scores), commit. */
  const round = async (p: Awaited<ReturnType<typeof make>>, r: number, record = true) => {
    const s = await p.score(rounds[r], { seed: 9, seeds: seeds(r) });
    if (record) await p.commit({ seed: 9 });
    return s;
  };
  const summary = (t: ModelTrainedInfo[]) => t.map((i) => ({ version: i.version, rows: i.trainingRows, dataHash: i.dataHash, loss: i.loss }));

  it('a kill after scoring, before the scores were recorded: the resumed predictor has the ledger’s rows and model, and scores as an uninterrupted one', async () => {
    const straightDir = await mkdtemp(join(tmpdir(), 'poreloop-pred-'));
    const killedDir = await mkdtemp(join(tmpdir(), 'poreloop-pred-'));
    dirs.push(straightDir, killedDir);

    const straightTrained: ModelTrainedInfo[] = [];
    const straight = await make(straightDir, straightTrained);
    const straightScores = [];
    for (let r = 0; r < 4; r++) straightScores.push(await round(straight, r));

    const killedTrained: ModelTrainedInfo[] = [];
    const first = await make(killedDir, killedTrained);
    await round(first, 0);
    await round(first, 1, false); // killed here: rows saved (pending), TrialScored never written
    // Before the fix these 4 rows were training rows in state.json and a v2 was trained on them.
    expect(first.trainingRows).toBe(4);
    expect(first.pendingRows).toBe(4);
    expect(killedTrained.map((t) => t.trainingRows)).toEqual([4]);

    const resumed = await make(killedDir, killedTrained);
    expect(resumed.trainingRows).toBe(4);
    expect(resumed.modelVersion).toBe(1);
    const resumedScores = [straightScores[0]];
    for (let r = 1; r < 4; r++) resumedScores.push(await round(resumed, r));

    expect(resumed.trainingRows).toBe(straight.trainingRows);
    expect(resumed.trainingRows).toBe(16);
    expect(resumed.modelVersion).toBe(straight.modelVersion);
    expect(summary(killedTrained)).toEqual(summary(straightTrained));
    expect(straightTrained.map((t) => t.trainingRows)).toEqual([4, 8, 12, 16]);
    expect(resumedScores).toEqual(straightScores);
    const probe = cands([0.05, 0.5, 0.95]);
    expect(await resumed.estimate(probe, { seed: 3 })).toEqual(await straight.estimate(probe, { seed: 3 }));
  });

  it('a kill after the scores were recorded, before commit: the resumed step’s commit adds the rows and retrains once', async () => {
    const straightDir = await mkdtemp(join(tmpdir(), 'poreloop-pred-'));
    const killedDir = await mkdtemp(join(tmpdir(), 'poreloop-pred-'));
    dirs.push(straightDir, killedDir);
    const straightTrained: ModelTrainedInfo[] = [];
    const straight = await make(straightDir, straightTrained);
    for (let r = 0; r < 3; r++) await round(straight, r);

    const killedTrained: ModelTrainedInfo[] = [];
    const first = await make(killedDir, killedTrained);
    await round(first, 0);
    await round(first, 1, false); // TrialScored recorded, then killed before commit
    const resumed = await make(killedDir, killedTrained);
    await resumed.commit({ seed: 9 }); // the resumed score step finds the round scored
    await resumed.commit({ seed: 9 }); // idempotent
    await round(resumed, 2);
    expect(resumed.trainingRows).toBe(straight.trainingRows);
    expect(summary(killedTrained)).toEqual(summary(straightTrained));
  });

  it("commit 'auto' (the default) keeps rows and retrains at once, as before", async () => {
    const trained: ModelTrainedInfo[] = [];
    const p = createPredictor({ properties: ['y'], generate, simulate, surrogate: () => new FakeSurrogate(), physicsPerRound: 4, retrainEvery: 4, minTrainingRows: 4, onModelTrained: (i) => void trained.push(i), ...oneRealisation });
    await p.score(rounds[0], { seed: 1 });
    expect(p.trainingRows).toBe(4);
    expect(p.pendingRows).toBe(0);
    expect(trained).toHaveLength(1);
    expect(() => createPredictor({ properties: ['y'], commit: 'later' as never })).toThrow(BadInputError);
  });
});
