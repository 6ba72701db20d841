/**
 * Issue #19: simulated-annealing reconstruction (Yeong–Torquato) of the NREL NMC cathode from
 * 2D information — the three central orthogonal slices of the real volume — and how the 3D
 * result compares with the real volume: phase fractions, S2 and lineal-path error per axis,
 * τ per axis (src/physics), time taken. Writes experiments/results/reconstruction.{json,md}
 * and side-by-side slice images in docs/images/.
 *
 *   nice -n 10 npx tsx experiments/reconstruct-nmc.ts [--size 96] [--sweeps 40] [--rmax 20] [--seeds 1,2,3] [--slices all|N]
 */
import { execSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Voxels } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { descriptorsFromSlices } from '../src/reconstruct/correlation.js';
import { matchReport, tauPerAxis } from '../src/reconstruct/report.js';
import { reconstructSam } from '../src/reconstruct/sam.js';
import { readVolume } from '../src/voxel/io.js';
import { cropVolume } from '../src/voxel/transform.js';
import { sideBySide } from './reconstruct-images.js';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
};
const size = Number(arg('size', '96'));
const sweeps = Number(arg('sweeps', '40'));
const rmax = Number(arg('rmax', '20'));
const seeds = arg('seeds', '1').split(',').map(Number);
/** Planes per orientation the targets come from: 'all' (every section, SliceGAN's training set) or a count. */
const slicesArg = arg('slices', 'all');
const slices = slicesArg === 'all' ? Infinity : Number(slicesArg);
const SRC = '/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif';

const full = readVolume(SRC, { voxelSize: 1, phases: { 0: 'pore', 1: 'NMC', 2: 'CBD' } });
// The README's central 160³ crop a[45:205, 70:230, 70:230] (page, height, width) = x 70…229, y 70…229, z 45…204.
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
const phases = [0, 1, 2];
const target = descriptorsFromSlices(real, phases, rmax, slices);

const t0 = performance.now();
const realTau = { pore: await tauPerAxis(real, [0]), poreCbd: await tauPerAxis(real, [0, 2]) };
const realTauMs = performance.now() - t0;
console.log('real τ', realTau, `${(realTauMs / 1000).toFixed(1)} s`);

interface Row {
  seed: number;
  samMs: number;
  energy0: number;
  energy: number;
  acceptance: number;
  report: Awaited<ReturnType<typeof matchReport>>;
  tauPoreCbd: Record<string, number>;
}
const rows: Row[] = [];
let firstRecon: Voxels | undefined;
for (const seed of seeds) {
  const r = reconstructSam({
    shape: [size, size, size],
    target,
    rng: createRng(seed),
    sweeps,
    voxelSize: 1,
    phaseNames: real.phases,
    onStage: (s) => {
      if (s.stage % 10 === 0) console.log(`seed ${seed} stage ${s.stage}/${s.stages} T=${s.temperature.toExponential(2)} E=${s.energy.toExponential(3)} acc=${s.acceptance.toFixed(3)}`);
    },
  });
  console.log(`seed ${seed}: SAM ${(r.wallMs / 1000).toFixed(1)} s, E ${r.energy0.toExponential(2)} → ${r.energy.toExponential(2)}`);
  const report = await matchReport(r.voxels, { target, volume: real }, { transport: [0], periodicGenerated: false });
  const tauPoreCbd = await tauPerAxis(r.voxels, [0, 2]);
  rows.push({ seed, samMs: r.wallMs, energy0: r.energy0, energy: r.energy, acceptance: r.accepted / r.swaps, report, tauPoreCbd });
  console.log(JSON.stringify(rows.at(-1)));
  firstRecon ??= r.voxels;
}

if (firstRecon) {
  writeFileSync('docs/images/reconstruction-nmc-sam-z.png', sideBySide(real, firstRecon, 'z'));
  writeFileSync('docs/images/reconstruction-nmc-sam-x.png', sideBySide(real, firstRecon, 'x'));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
} catch {
  /* not a checkout */
}
const doc = {
  command: `npx tsx experiments/reconstruct-nmc.ts --size ${size} --sweeps ${sweeps} --rmax ${rmax} --seeds ${seeds.join(',')} --slices ${slicesArg}`,
  commit,
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.versions.node },
  date: new Date().toISOString(),
  real: { crop: 'a[45:205, 70:230, 70:230] (page, height, width)', shape: real.shape, fractions: rows[0]?.report.fractions.reference, tau: realTau, tauMs: Math.round(realTauMs) },
  settings: { size, sweeps, rmax, targets: `S2 and lineal path of labels 0, 1, 2 along x, y, z from ${slicesArg} 2D sections per orientation of the 160³ crop` },
  rows,
};
const tag = arg('tag', '');
writeFileSync(`experiments/results/reconstruction${tag}.json`, JSON.stringify(doc, null, 2) + '\n');
const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '∞');
const lines = [
  '| seed | SAM time (s) | porosity (label 0) | S2 err x / y / z | L err x / y / z | τ pore x / y / z | τ err pore x / y / z | τ pore+CBD x / y / z |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => {
    const e = r.report;
    const t = e.tau!;
    return `| ${r.seed} | ${f(r.samMs / 1000, 1)} | ${f(e.fractions.generated[0], 4)} | ${['x', 'y', 'z'].map((a) => f(100 * e.s2Error[a], 1) + ' %').join(' / ')} | ${['x', 'y', 'z'].map((a) => f(100 * e.lpError[a], 1) + ' %').join(' / ')} | ${['x', 'y', 'z'].map((a) => f(t.generated[a])).join(' / ')} | ${['x', 'y', 'z'].map((a) => f(100 * t.relativeError![a], 1) + ' %').join(' / ')} | ${['x', 'y', 'z'].map((a) => f(r.tauPoreCbd[a])).join(' / ')} |`;
  }),
];
writeFileSync(`experiments/results/reconstruction${tag}-table.md`, lines.join('\n') + '\n');
console.log(lines.join('\n'));
console.log('median SAM s', median(rows.map((r) => r.samMs / 1000)));
