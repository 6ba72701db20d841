/**
 * Issue #19: SliceGAN-style generation (src/reconstruct/gan.ts) of the NREL NMC cathode, beside
 * SAM and MPS (experiments/reconstruct-nmc.ts, reconstruct-mps-nmc.ts): trained on 2D slices
 * (along x, y, z; one discriminator per axis) of the same central 160³ crop, conditioned on
 * the porosity of the 32³ training cube the slices come from; then an 80³ volume generated at
 * the crop's porosity and compared with the crop exactly as SAM's and MPS's were (phase
 * fractions, S2 / lineal-path error per axis, lags 1…16, non-periodic; τ per axis of pore and
 * of pore + CBD), plus the porosity of volumes generated at the ends of the conditioning
 * range (does the condition steer the porosity?). One training at a time, seed by seed.
 * Writes experiments/results/reconstruction-gan.json and docs/images/reconstruction-nmc-gan-{z,x}.png.
 *
 *   nice -n 10 npx tsx experiments/reconstruct-gan-nmc.ts [--epochs 7] [--iters 25] [--critic 5] [--lr 1e-4] [--size 80] [--seeds 1,2] [--tag T]
 */
import { writeFileSync } from 'node:fs';
import { measureDescriptors } from '../src/reconstruct/correlation.js';
import { generateGan, saveGan, trainGan, useGanBackend } from '../src/reconstruct/gan.js';
import { matchReport, tauPerAxis } from '../src/reconstruct/report.js';
import { readVolume } from '../src/voxel/io.js';
import { cropVolume } from '../src/voxel/transform.js';
import { phaseFractions } from '../src/voxel/voxels.js';
import { commitHash, machineLine } from './provenance.js';
import { sideBySide } from './reconstruct-images.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const epochs = Number(arg('epochs', '7'));
const itersPerEpoch = Number(arg('iters', '25'));
const criticIters = Number(arg('critic', '5'));
const learningRate = Number(arg('lr', '1e-4'));
const size = Number(arg('size', '80'));
const seeds = arg('seeds', '1,2').split(',').map(Number);
const tag = arg('tag', '');
const commit = commitHash();
const t0 = performance.now();
const backend = await useGanBackend();

const full = readVolume('/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif', { voxelSize: 1, phases: { 0: 'pore', 1: 'NMC', 2: 'CBD' } });
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
const porosity = phaseFractions(real)[0];
const target = measureDescriptors(real, [0, 1, 2], 16);
const realTau = { pore: await tauPerAxis(real, [0]), poreCbd: await tauPerAxis(real, [0, 2]) };
console.log('real', porosity, realTau);
const rows = [];
for (const seed of seeds) {
  const { model, history } = await trainGan({
    volumes: [real],
    condition: { mode: 'fraction', name: 'porosity', label: 0 },
    epochs,
    itersPerEpoch,
    criticIters,
    learningRate,
    seed,
    source: 'nrel-nmc1-cal-cbd-bridge.tif a[45:205, 70:230, 70:230]',
    onProgress: (p) => console.log(`seed ${seed} epoch ${p.epoch}/${p.epochs} W ${p.wasserstein.toFixed(3)} lossD ${p.lossD.toFixed(3)} lossG ${p.lossG.toFixed(3)} fractions ${p.fractions.map((f) => f.toFixed(3)).join('/')} ${(p.elapsedMs / 1000).toFixed(0)} s`),
  });
  saveGan(model, `/tmp/gan19-nmc-model-seed${seed}`);
  const tg = performance.now();
  const gen = generateGan(model, { shape: [size, size, size], seed: 1000 + seed, condition: porosity });
  const genMs = performance.now() - tg;
  const report = await matchReport(gen, { target, volume: real }, { transport: [0] });
  const tauPoreCbd = await tauPerAxis(gen, [0, 2]);
  const range = model.metadata.condition!;
  const steer = [range.min, range.max].map((c) => ({ condition: c, porosity: phaseFractions(generateGan(model, { shape: [48, 48, 48], seed: 2000 + seed, condition: c }))[0] ?? 0 }));
  rows.push({ seed, trainMs: model.metadata.training.wallMs, generateMs: genMs, history, condition: range, report, tauPoreCbd, steer });
  console.log(JSON.stringify(rows.at(-1)));
  if (seed === seeds[0]) {
    writeFileSync(`docs/images/reconstruction-nmc-gan${tag}-z.png`, sideBySide(real, gen, 'z'));
    writeFileSync(`docs/images/reconstruction-nmc-gan${tag}-x.png`, sideBySide(real, gen, 'x'));
  }
}
const doc = {
  command: `nice -n 10 npx tsx experiments/reconstruct-gan-nmc.ts --epochs ${epochs} --iters ${itersPerEpoch} --critic ${criticIters} --lr ${learningRate} --size ${size} --seeds ${seeds.join(',')}${tag ? ` --tag ${tag}` : ''}`,
  commit,
  machine: machineLine(),
  backend,
  date: new Date().toISOString(),
  real: { crop: 'a[45:205, 70:230, 70:230] (page, height, width)', shape: real.shape, porosity, tau: realTau },
  settings: { epochs, itersPerEpoch, criticIters, learningRate, side: 32, batch: 2, slicesPerVolume: 8, generated: size, condition: 'porosity of the 32³ training cube' },
  rows,
  totalS: (performance.now() - t0) / 1000,
};
writeFileSync(`experiments/results/reconstruction-gan${tag}.json`, JSON.stringify(doc, null, 2) + '\n');
console.log(`done in ${doc.totalS.toFixed(0)} s`);
