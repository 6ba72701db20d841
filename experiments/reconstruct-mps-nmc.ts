/**
 * Issue #19: multiple-point statistics (direct sampling, src/reconstruct/mps.ts) on the NREL
 * NMC cathode, beside SAM (experiments/reconstruct-nmc.ts): the training image is the central
 * 160³ crop itself (3D → 3D; SAM worked from its 2D sections), realisations of 80³, compared
 * with the crop as SAM's were: phase fractions, S2 and lineal-path error per axis (lags 1…16,
 * non-periodic), τ per axis of the pore and of pore + CBD, wall time. Writes
 * experiments/results/reconstruction-mps[--tag].json and docs/images/reconstruction-nmc-mps-{z,x}.png.
 *
 *   nice -n 10 npx tsx experiments/reconstruct-mps-nmc.ts [--size 80] [--seeds 1,2] [--neighbours 16] [--threshold 0] [--scan 0.01] [--radius 10]
 */
import { writeFileSync } from 'node:fs';
import { createRng } from '../src/core/rng.js';
import { measureDescriptors } from '../src/reconstruct/correlation.js';
import { reconstructMps } from '../src/reconstruct/mps.js';
import { matchReport, tauPerAxis } from '../src/reconstruct/report.js';
import { readVolume } from '../src/voxel/io.js';
import { cropVolume } from '../src/voxel/transform.js';
import { commitHash, machineLine } from './provenance.js';
import { sideBySide } from './reconstruct-images.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const size = Number(arg('size', '80'));
const seeds = arg('seeds', '1,2').split(',').map(Number);
const neighbours = Number(arg('neighbours', '16'));
const threshold = Number(arg('threshold', '0'));
const scanFraction = Number(arg('scan', '0.01'));
const radius = Number(arg('radius', '10'));
const commit = commitHash();
const t0 = performance.now();

const full = readVolume('/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif', { voxelSize: 1, phases: { 0: 'pore', 1: 'NMC', 2: 'CBD' } });
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
const target = measureDescriptors(real, [0, 1, 2], 16);
const realTauPoreCbd = await tauPerAxis(real, [0, 2]);
const rows = [];
for (const seed of seeds) {
  const r = reconstructMps({ training: real, shape: [size, size, size], rng: createRng(seed), neighbours, threshold, scanFraction, radius });
  console.log(`seed ${seed}: ${(r.wallMs / 1000).toFixed(1)} s, accepted ${r.acceptedShare.toFixed(3)}, scanned ${r.meanScanned.toFixed(0)}`);
  const report = await matchReport(r.voxels, { target, volume: real }, { transport: [0] });
  const tauPoreCbd = await tauPerAxis(r.voxels, [0, 2]);
  rows.push({ seed, mpsMs: r.wallMs, acceptedShare: r.acceptedShare, meanScanned: r.meanScanned, meanDistance: r.meanDistance, report, tauPoreCbd });
  console.log(JSON.stringify(rows.at(-1)));
  if (seed === seeds[0]) {
    writeFileSync('docs/images/reconstruction-nmc-mps-z.png', sideBySide(real, r.voxels, 'z'));
    writeFileSync('docs/images/reconstruction-nmc-mps-x.png', sideBySide(real, r.voxels, 'x'));
  }
}
const doc = {
  command: `nice -n 10 npx tsx experiments/reconstruct-mps-nmc.ts --size ${size} --seeds ${seeds.join(',')} --neighbours ${neighbours} --threshold ${threshold} --scan ${scanFraction} --radius ${radius}${arg('tag', '') ? ` --tag ${arg('tag', '')}` : ''}`,
  commit,
  machine: machineLine(),
  date: new Date().toISOString(),
  real: { crop: 'a[45:205, 70:230, 70:230] (page, height, width)', shape: real.shape, tauPoreCbd: realTauPoreCbd },
  settings: { size, neighbours, threshold, scanFraction, radius, trainingImage: 'the 160³ crop itself' },
  rows,
  totalS: (performance.now() - t0) / 1000,
};
writeFileSync(`experiments/results/reconstruction-mps${arg('tag', '')}.json`, JSON.stringify(doc, null, 2) + '\n');
console.log(`done in ${doc.totalS.toFixed(0)} s`);
