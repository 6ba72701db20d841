/**
 * Issue #19: calibrate the grain-electrode twin to the NREL NMC cathode (central 160³ crop)
 * with `calibrateTwin` (src/reconstruct/calibrate.ts) and CMA-ES, then check the best
 * parameters on twin seeds the fit never used, at the fit size and at the crop's own size.
 * Baseline, measured in the same run: the twin's default parameters with only the porosity
 * and CBD fraction set to the crop's measured values (what a user does without calibration).
 * With `--factor f` the fit runs against the crop downsampled f× (majority label per block,
 * voxel f), the twin at voxel f: f³ fewer voxels per evaluation, which is what makes a fit of
 * dozens of evaluations affordable on 2 shared cores; the best parameters are then checked at
 * full resolution against the crop itself.
 * Writes experiments/results/reconstruction-calibration.json and docs/images/calibration-nmc-*.png.
 *
 *   nice -n 10 npx tsx experiments/reconstruct-calibrate.ts [--size 64] [--factor 2] [--budget 64] [--seed 1] [--validate 2]
 */
import { writeFileSync } from 'node:fs';
import { agentRegistry } from '../agents/index.js';
import type { Parameters } from '../src/core/protocols.js';
import { calibrateTwin, measureCalibrationDescriptors, validateCalibration, type CalibrationEvaluation } from '../src/reconstruct/calibrate.js';
import { readVolume } from '../src/voxel/io.js';
import { cropVolume, downsampleVolume } from '../src/voxel/transform.js';
import { createGrainElectrode } from '../twins/grain-electrode.js';
import { commitHash, machineLine } from './provenance.js';
import { sideBySide } from './reconstruct-images.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const n = Number(arg('size', '64'));
const factor = Number(arg('factor', '2'));
const budget = Number(arg('budget', '64'));
const seed = Number(arg('seed', '1'));
const nValidate = Number(arg('validate', '2'));
const SRC = '/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif';
const commit = commitHash();
const t0 = performance.now();

// The file has no voxel size (72 dpi): everything is in voxels, the twin at 1 "µm" = 1 voxel.
const full = readVolume(SRC, { voxelSize: 1, phases: { 0: 'pore', 1: 'active', 2: 'cbd' } });
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
const coarse = factor > 1 ? downsampleVolume(real, factor) : real;
const twin = createGrainElectrode();
const transport = [[0], [0, 2]];
const size: [number, number, number] = [n, n, n];

const r = await calibrateTwin({
  twin,
  agent: agentRegistry.cmaes({}),
  target: coarse,
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
const tv = performance.now();
// Full resolution: the crop's own descriptors, the twin at voxel 1 and the crop's size.
const fullTarget = factor > 1 ? await measureCalibrationDescriptors(real, r.measure) : r.target;
// The baseline's fractions are the full-resolution crop's (a 2× majority filter shifts them:
// 0.4137 pore and 0.0736 CBD instead of 0.3978 and 0.0977).
const baseline: Parameters = { porosity: +fullTarget.fractions[0].toFixed(4), cbdFraction: +fullTarget.fractions[2].toFixed(4), castPorosity: 0.5 };
const atFit = { twin, target: coarse, size };
const atFull = { twin, target: real, size: real.shape };
const validation = {
  calibratedFitSize: await validateCalibration(atFit, r.params, r.measure, r.target, fitSeeds),
  baselineFitSize: await validateCalibration(atFit, baseline, r.measure, r.target, fitSeeds),
  calibratedFullSize: await validateCalibration(atFull, r.params, r.measure, fullTarget, fullSeeds),
  baselineFullSize: await validateCalibration(atFull, baseline, r.measure, fullTarget, fullSeeds),
};
const validateMs = performance.now() - tv;

const img = twin.generate(r.params, { seed: fullSeeds[0], size: real.shape, voxelSize: 1 }).voxels;
writeFileSync('docs/images/calibration-nmc-z.png', sideBySide(real, img, 'z'));
writeFileSync('docs/images/calibration-nmc-x.png', sideBySide(real, img, 'x'));

const slim = (e: CalibrationEvaluation) => ({ seed: e.index, loss: e.loss, error: e.error, terms: e.terms?.map((t) => ({ name: t.name, generated: t.generated, target: t.target, error: t.error, within: t.within })) });
const doc = {
  command: `nice -n 10 npx tsx experiments/reconstruct-calibrate.ts --size ${n} --factor ${factor} --budget ${budget} --seed ${seed} --validate ${nValidate}`,
  commit,
  machine: machineLine(),
  date: new Date().toISOString(),
  real: { file: SRC, crop: 'a[45:205, 70:230, 70:230] (page, height, width) = x 70…229, y 70…229, z 45…204', voxel: '1 (unknown; all lengths in voxels)', descriptors: fullTarget, fitDescriptors: r.target },
  settings: { twin: twin.name, agent: 'cmaes (defaults)', fitSize: size, fitVoxel: factor, downsample: `${factor}× majority`, budget, twinSeedOfFit: 1, agentSeed: seed, transport, props: r.measure.props, rmax: r.measure.rmax, baseline },
  fit: { wallS: r.wallMs / 1000, best: { index: r.best.index, loss: r.best.loss, params: r.params, terms: r.best.terms }, evaluations: r.evaluations.map((e) => ({ loss: e.loss, error: e.error, ms: Math.round(e.ms), params: e.params })) },
  validation: Object.fromEntries(Object.entries(validation).map(([k, v]) => [k, v.map(slim)])),
  validateS: validateMs / 1000,
  totalS: (performance.now() - t0) / 1000,
};
writeFileSync('experiments/results/reconstruction-calibration.json', JSON.stringify(doc, null, 2) + '\n');
console.log(`done in ${doc.totalS.toFixed(0)} s`);
