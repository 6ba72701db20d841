/**
 * `npm run bench -- twins [--quick] [--repeats N]`: generation time and peak memory of every
 * twin at 128³ and 256³ (issue 3). Target: 256³ fibre-gdl ≤ 2 s on one core.
 *
 * Each case runs in a fresh child process (same Node flags, so tsx works), so that its peak
 * resident set (process.resourceUsage().maxRSS) belongs to that case alone. Generation is
 * synchronous and single-threaded: each number is one core's work. The in-run baseline is
 * one read pass over a volume of the same size (counting labels), so the ratio column says
 * how many "volume passes" a twin costs, on whatever machine runs this.
 * Writes experiments/results/twins.md and twins.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Parameters, Shape3 } from '../src/core/protocols.js';
import { twinRegistry } from '../twins/index.js';

interface Case {
  twin: string;
  label: string;
  params: Parameters;
  voxelSize: number;
  n: number;
}

const CASES: Omit<Case, 'n'>[] = [
  { twin: 'fibre-gdl', label: 'defaults (lay + bind)', params: {}, voxelSize: 1 },
  { twin: 'fibre-gdl', label: 'all stages (PTFE 20 wt%, compression 0.2)', params: { ptfeLoading: 20, compression: 0.2 }, voxelSize: 1 },
  { twin: 'grain-electrode', label: 'defaults (10 µm particles)', params: {}, voxelSize: 0.5 },
  { twin: 'sofc-anode', label: 'defaults (1.0/0.8 µm Ni/YSZ)', params: {}, voxelSize: 0.1 },
];

interface ChildResult {
  times: number[];
  baselineMs: number;
  maxRssMiB: number;
  idleRssMiB: number;
  achieved: Record<string, number>;
}

/** Runs in the child: one case, `repeats` times; prints one JSON line. */
function child(c: Case, repeats: number): ChildResult {
  const idle = process.memoryUsage().rss;
  const shape: Shape3 = [c.n, c.n, c.n];
  const twin = twinRegistry[c.twin]();
  const times: number[] = [];
  let achieved: Record<string, number> = {};
  let data: Uint8Array = new Uint8Array(0);
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    const out = twin.generate(c.params, { seed: 1 + r, size: shape, voxelSize: c.voxelSize });
    times.push(performance.now() - t);
    achieved = out.achieved;
    data = out.voxels.data;
  }
  // Baseline: one pass over the volume, counting labels (best of 3).
  let baselineMs = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const counts = new Float64Array(256);
    for (let i = 0; i < data.length; i++) counts[data[i]]++;
    baselineMs = Math.min(baselineMs, performance.now() - t);
    if (counts[0] < 0) throw new Error('unreachable');
  }
  return { times, baselineMs, maxRssMiB: process.resourceUsage().maxRSS / 1024, idleRssMiB: idle / 2 ** 20, achieved };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const ri = args.indexOf('--repeats');
  const repeats = ri >= 0 ? Math.max(1, Number(args[ri + 1])) : 3;
  const sizes = quick ? [64, 128] : [128, 256];
  const self = fileURLToPath(import.meta.url);
  const rows: Array<Case & { medianMs: number; minMs: number; baselineMs: number; maxRssMiB: number; idleRssMiB: number; achieved: Record<string, number> }> = [];
  for (const n of sizes) {
    for (const c of CASES) {
      const cs: Case = { ...c, n };
      const reps = n >= 256 ? Math.min(repeats, 2) : repeats;
      process.stderr.write(`twins: ${c.twin} ${n}³ ${c.label} × ${reps}… `);
      const outText = execFileSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify(cs), String(reps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const r = JSON.parse(outText.trim().split('\n').pop()!) as ChildResult;
      rows.push({ ...cs, medianMs: median(r.times), minMs: Math.min(...r.times), baselineMs: r.baselineMs, maxRssMiB: r.maxRssMiB, idleRssMiB: r.idleRssMiB, achieved: r.achieved });
      process.stderr.write(`${median(r.times).toFixed(0)} ms, peak RSS ${r.maxRssMiB.toFixed(0)} MiB\n`);
    }
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const meta = { date: new Date().toISOString(), node: process.version, cpu, cores: os.cpus().length, loadavg: os.loadavg().map((x) => +x.toFixed(2)), repeats };
  const target = rows.find((r) => r.twin === 'fibre-gdl' && r.n === 256 && Object.keys(r.params).length === 0);
  const lines = [
    '# Twin generation benchmark (issue 3)',
    '',
    `${meta.date} · ${cpu} · ${meta.cores} cores (generation uses one) · Node ${meta.node} · load average ${meta.loadavg.join(' / ')}`,
    '',
    'Each case in a fresh process; time = median of the repeats (seeds 1, 2, …; the lower middle for an even count), peak memory = the',
    "process's maximum resident set (includes Node itself: idle RSS shown). Baseline = one read pass",
    'over a volume of the same size; ratio = generation time / baseline.',
    '',
    '| twin | case | size | voxel (µm) | time (ms) | min (ms) | baseline (ms) | ratio | peak RSS (MiB) | idle RSS (MiB) | porosity |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.twin} | ${r.label} | ${r.n}³ | ${r.voxelSize} | ${r.medianMs.toFixed(0)} | ${r.minMs.toFixed(0)} | ${r.baselineMs.toFixed(1)} | ${(r.medianMs / r.baselineMs).toFixed(0)} | ${r.maxRssMiB.toFixed(0)} | ${r.idleRssMiB.toFixed(0)} | ${r.achieved.porosity} |`,
    ),
    '',
    target ? `Target 256³ fibre-gdl ≤ 2000 ms on one core: **${target.medianMs.toFixed(0)} ms — ${target.medianMs <= 2000 ? 'met' : 'NOT met'}**.` : '(256³ not run: --quick)',
    '',
  ];
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}twins.md`, lines.join('\n'));
  writeFileSync(`${dir}twins.json`, JSON.stringify({ meta, rows }, null, 2) + '\n');
  process.stderr.write(`wrote ${dir}twins.md and twins.json\n`);
}

if (process.argv[2] === '--child' && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const c = JSON.parse(process.argv[3]) as Case;
  process.stdout.write(JSON.stringify(child(c, Number(process.argv[4]))) + '\n');
}
