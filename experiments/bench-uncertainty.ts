/**
 * `npm run bench -- uncertainty [--seeds N]`: how much one twin realisation tells about a
 * recipe (issue #13). For each twin, a recipe at the campaign size and at a larger size:
 * each key property over N twin seeds (default 20) — median and quartiles, mean, sample
 * standard deviation and CV — and the verdict of the representative-volume check
 * (src/predict/uncertainty.ts: CV over realisations > predict.rveMaxCv, default 0.2, means the
 * domain is too small). The campaign scores a candidate from a few realisations (predict.
 * realisations, min 2): the column "flagged with 2" is the share of the N/2 disjoint seed
 * pairs whose two-realisation CV the check flags — how often a single candidate shows the
 * warning, when the campaign as a whole sees it in its median over candidates.
 *
 * Sizes: fibre-gdl at 32×32×24 voxels (2 µm) — the size of issue #13's observation, CV 0.66
 * of through-plane conductivity — against 64×64×40 (the demo's) and 128×128×40 (4× the
 * demo's area at its thickness: limitingCurrent scales as 1/thickness, so only sizes of one
 * thickness estimate the same quantity); grain-electrode and sofc-anode at the 24×24×16 of
 * the hidden-truth tasks (experiments/campaign-tasks.ts) against 48×48×32 and 64×64×48. Every seed is fixed (1…N), so a rerun gives the same table.
 * Writes experiments/results/uncertainty.md and uncertainty.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Parameters, Shape3 } from '../src/core/protocols.js';
import { simulate } from '../src/physics/index.js';
import { DEFAULT_RVE_MAX_CV, summarise, realisationCv } from '../src/predict/uncertainty.js';
import { twinRegistry } from '../twins/index.js';
import { commitHash } from './provenance.js';

interface Case {
  twin: string;
  recipe: string;
  params: Parameters;
  voxelSize: number;
  sizes: Shape3[];
  properties: string[];
  context: Record<string, number>;
}

/** The GDL recipe at two porosities: near percolation (0.85) and below it (0.75). */
function gdlCase(porosity: number): Case {
  return {
    twin: 'fibre-gdl',
    recipe: `porosity ${porosity}, binder 0.2, PTFE 10 wt%, compression 0.1`,
    params: { fibreDiameter: 7, fibreDiameterCv: 0.1, porosity, binderFraction: 0.2, ptfeLoading: 10, compression: 0.1 },
    voxelSize: 2,
    sizes: [[32, 32, 24], [64, 64, 40], [128, 128, 40]],
    properties: ['porosity', 'tau_z', 'limitingCurrent', 'sigma_eff_z'],
    context: { sigma_1: 20000, sigma_2: 5000, sigma_3: 0 },
  };
}

const CASES: Case[] = [
  gdlCase(0.85),
  gdlCase(0.75),
  {
    twin: 'grain-electrode',
    recipe: 'porosity 0.35, CBD 0.1 (8 µm particles)',
    params: { particleDiameter: 8, particleDiameterCv: 0.25, castPorosity: 0.55, porosity: 0.35, cbdFraction: 0.1 },
    voxelSize: 1,
    sizes: [[24, 24, 16], [48, 48, 32], [64, 64, 48]],
    properties: ['porosity', 'sigma_ionic', 'sigma_electronic'],
    context: { sigma_1: 1, sigma_2: 100 },
  },
  {
    twin: 'sofc-anode',
    recipe: 'porosity 0.35, Ni fraction 0.5',
    params: { porosity: 0.35, niFraction: 0.5 },
    voxelSize: 0.1,
    sizes: [[24, 24, 16], [48, 48, 32], [64, 64, 48]],
    properties: ['porosity', 'tpbActiveDensity', 'sigma_eff_z'],
    context: { sigma_1: 1e5, sigma_2: 0 },
  },
];

interface Row {
  twin: string;
  recipe: string;
  size: string;
  property: string;
  n: number;
  p25: number;
  median: number;
  p75: number;
  min: number;
  max: number;
  mean: number;
  sd: number;
  cv: number;
  verdict: 'too small' | 'representative';
  flaggedWith2: number;
  seconds: number;
}

/** Lower-middle quantile (no interpolation), as the other benchmark tables. */
const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(q * (v.length - 1))];

export async function run(args: string[]): Promise<void> {
  const commit = commitHash(); // as the run starts: the code it loaded (experiments/provenance.ts)
  const at = args.indexOf('--seeds');
  const seeds = at >= 0 ? Number(args[at + 1]) : 20;
  if (!Number.isInteger(seeds) || seeds < 2) throw new Error(`--seeds must be an integer >= 2 (got ${args[at + 1]})`);
  const rows: Row[] = [];
  for (const c of CASES) {
    for (const size of c.sizes) {
      const t0 = performance.now();
      const values: Record<string, number[]> = Object.fromEntries(c.properties.map((p) => [p, []]));
      for (let s = 1; s <= seeds; s++) {
        const out = twinRegistry[c.twin]().generate(c.params, { seed: s, size, voxelSize: c.voxelSize });
        const r = await simulate(out.voxels, { properties: c.properties, context: c.context });
        if (!r.ok) throw new Error(`${c.twin} ${size.join('×')} seed ${s}: ${r.error.message}`);
        for (const p of c.properties) values[p].push(r.value.properties[p]);
      }
      const seconds = (performance.now() - t0) / 1000;
      for (const p of c.properties) {
        const v = values[p];
        const e = summarise(v);
        const cv = realisationCv(e);
        // Disjoint pairs (1,2), (3,4), …: what one candidate scored from two realisations shows.
        const pairs = Array.from({ length: Math.floor(v.length / 2) }, (_, k) => realisationCv(summarise([v[2 * k], v[2 * k + 1]])));
        const finite = v.filter(Number.isFinite);
        rows.push({
          twin: c.twin,
          recipe: c.recipe,
          size: size.join('×'),
          property: p,
          n: v.length,
          p25: quantile(v, 0.25),
          median: quantile(v, 0.5),
          p75: quantile(v, 0.75),
          min: Math.min(...finite),
          max: Math.max(...finite),
          mean: e.mean,
          sd: e.spread!,
          cv,
          verdict: cv > DEFAULT_RVE_MAX_CV ? 'too small' : 'representative',
          flaggedWith2: pairs.filter((x) => x > DEFAULT_RVE_MAX_CV).length / pairs.length,
          seconds,
        });
      }
      process.stderr.write(`${c.twin} ${size.join('×')}: ${seconds.toFixed(1)} s for ${seeds} realisations\n`);
    }
  }
  const machine = `${cpus()[0]?.model ?? 'unknown'} · ${availableParallelism()} cores · Node ${process.version} · load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`;
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(outDir + 'uncertainty.json', JSON.stringify({ date: new Date().toISOString(), commit, machine, seeds, rveMaxCv: DEFAULT_RVE_MAX_CV, rows }, null, 2) + '\n');
  const f = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-2 && x !== 0) ? x.toExponential(2) : x.toPrecision(3)) : String(x));
  const md = [
    '# P-model uncertainty: property spread over twin realisations (issue #13)',
    '',
    `${new Date().toISOString()} · commit ${commit} · ${machine} · \`npm run bench -- uncertainty\``,
    '',
    `Each row: one recipe, one domain size, ${seeds} twin seeds (1…${seeds}), one simulation each. Median and quartiles by the`,
    'lower-middle rule; CV = sample standard deviation / |mean| over the seeds. Verdict: the representative-volume check of',
    `src/predict/uncertainty.ts with the default threshold predict.rveMaxCv = ${DEFAULT_RVE_MAX_CV} (too small when CV > ${DEFAULT_RVE_MAX_CV}). "flagged with 2":`,
    `share of the ${Math.floor(seeds / 2)} disjoint seed pairs whose two-realisation CV exceeds the threshold — what one candidate scored with the`,
    'default predict.realisations.min = 2 shows. Time: generation + simulation of all seeds of the size, one core.',
    '',
    '| twin | recipe | size (voxels) | property | median | quartiles | min–max | CV | verdict | flagged with 2 | time (s) |',
    '| --- | --- | --- | --- | ---: | --- | --- | ---: | --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.twin} | ${r.recipe} | ${r.size} | ${r.property} | ${f(r.median)} | ${f(r.p25)}–${f(r.p75)} | ${f(r.min)}–${f(r.max)} | ${r.cv.toFixed(3)} | ${r.verdict} | ${(100 * r.flaggedWith2).toFixed(0)} % | ${r.seconds.toFixed(1)} |`),
    '',
  ];
  writeFileSync(outDir + 'uncertainty.md', md.join('\n'));
  process.stdout.write(md.join('\n'));
}
