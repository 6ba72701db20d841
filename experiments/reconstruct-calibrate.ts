/**
 * Issue #19: calibrate the grain-electrode twin to the NREL NMC cathode (central 160³ crop)
 * with `calibrateTwin` (src/reconstruct/calibrate.ts) and CMA-ES, then check the best
 * parameters on twin seeds the fit never used, at the fit size and at the crop's own size.
 * Baseline, measured in the same run: the twin's default parameters with only the porosity
 * and CBD fraction set to the crop's measured values (what a user does without calibration).
 * Writes experiments/results/reconstruction-calibration.json and docs/images/calibration-nmc-*.png.
 *
 *   nice -n 10 npx tsx experiments/reconstruct-calibrate.ts [--size 96] [--budget 96] [--seed 1] [--validate 3]
 */
import { writeFileSync } from 'node:fs';
import { agentRegistry } from '../agents/index.js';
import type { Parameters } from '../src/core/protocols.js';
import { calibrateTwin, validateCalibration, type CalibrationEvaluation } from '../src/reconstruct/calibrate.js';
import { readVolume } from '../src/voxel/io.js';
import { cropVolume } from '../src/voxel/transform.js';
import { createGrainElectrode } from '../twins/grain-electrode.js';
import { commitHash, machineLine } from './provenance.js';
import { sideBySide } from './reconstruct-images.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const n = Number(arg('size', '96'));
const budget = Number(arg('budget', '96'));
const seed = Number(arg('seed', '1'));
const nValidate = Number(arg('validate', '3'));
const SRC = '/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif';
const commit = commitHash();
const t0 = performance.now();

// The file has no voxel size (72 dpi): everything is in voxels, the twin at 1 "µm" = 1 voxel.
const full = readVolume(SRC, { voxelSize: 1, phases: { 0: 'pore', 1: 'active', 2: 'cbd' } });
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
const twin = createGrainElectrode();
const transport = [[0], [0, 2]];
const size: [number, number, number] = [n, n, n];

const r = await calibrateTwin({
  twin,
  agent: agentRegistry.cmaes({}),
  target: real,
  budget,
  batch: 8,
  size,
  twinSeed: 1,
  seed,
  transport,
  onEvaluation: (e) => console.log(`eval ${e.index + 1}/${budget} loss ${Number.isFinite(e.loss) ? e.loss.toFixed(3) : 'failed: ' + e.error} ${(e.ms / 1000).toFixed(1)} s ${JSON.stringify(e.params)}`),
});
console.log('best', r.best.loss, r.params, `${(r.wallMs / 1000).toFixed(0)} s`);

const fitSeeds = Array.from({ length: nValidate }, (_, i) => 1001 + i);
const fullSeeds = Array.from({ length: nValidate }, (_, i) => 2001 + i);
const baseline: Parameters = { porosity: +r.target.fractions[0].toFixed(4), cbdFraction: +r.target.fractions[2].toFixed(4), castPorosity: 0.5 };
const at = (s: [number, number, number]) => ({ twin, target: real, size: s });
const tv = performance.now();
const validation = {
  calibratedFitSize: await validateCalibration(at(size), r.params, r.measure, r.target, fitSeeds),
  calibratedFullSize: await validateCalibration(at(real.shape), r.params, r.measure, r.target, fullSeeds),
  baselineFitSize: await validateCalibration(at(size), baseline, r.measure, r.target, fitSeeds),
  baselineFullSize: await validateCalibration(at(real.shape), baseline, r.measure, r.target, fullSeeds),
};
const validateMs = performance.now() - tv;

const img = twin.generate(r.params, { seed: fullSeeds[0], size: real.shape, voxelSize: 1 }).voxels;
writeFileSync('docs/images/calibration-nmc-z.png', sideBySide(real, img, 'z'));
writeFileSync('docs/images/calibration-nmc-x.png', sideBySide(real, img, 'x'));

const slim = (e: CalibrationEvaluation) => ({ seed: e.index, loss: e.loss, error: e.error, terms: e.terms?.map((t) => ({ name: t.name, generated: t.generated, target: t.target, error: t.error, within: t.within })) });
const doc = {
  command: `nice -n 10 npx tsx experiments/reconstruct-calibrate.ts --size ${n} --budget ${budget} --seed ${seed} --validate ${nValidate}`,
  commit,
  machine: machineLine(),
  date: new Date().toISOString(),
  real: { file: SRC, crop: 'a[45:205, 70:230, 70:230] (page, height, width) = x 70…229, y 70…229, z 45…204', voxel: '1 (unknown; all lengths in voxels)', descriptors: r.target },
  settings: { twin: twin.name, agent: 'cmaes (defaults)', fitSize: size, budget, twinSeedOfFit: 1, agentSeed: seed, transport, props: r.measure.props, rmax: r.measure.rmax, baseline },
  fit: { wallS: r.wallMs / 1000, best: { index: r.best.index, loss: r.best.loss, params: r.params, terms: r.best.terms }, evaluations: r.evaluations.map((e) => ({ loss: e.loss, error: e.error, ms: Math.round(e.ms), params: e.params })) },
  validation: Object.fromEntries(Object.entries(validation).map(([k, v]) => [k, v.map(slim)])),
  validateS: validateMs / 1000,
  totalS: (performance.now() - t0) / 1000,
};
writeFileSync('experiments/results/reconstruction-calibration.json', JSON.stringify(doc, null, 2) + '\n');
console.log(`done in ${doc.totalS.toFixed(0)} s`);
