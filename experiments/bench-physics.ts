/**
 * Benchmark of the P-model physics (issue 4): `npm run bench -- physics [flags]`.
 *
 * - Tortuosity solver: wall and CPU time, iterations and memory of the multigrid-preconditioned
 *   CG at 64³, 128³, 256³ (and 500³ with --500) on the TauFactor reference volumes and on
 *   generated fibre volumes (best of three solves), with the WebAssembly kernels and, in the
 *   same run, the JavaScript kernels of the same solver, side by side with the in-run
 *   baseline, a Jacobi-preconditioned CG of the same discretisation (skipped at 256³ and above
 *   unless --full: it needs thousands of iterations there).
 * - Memory bandwidth of this machine (copy and triad loops over 256 MiB arrays, measured in
 *   the same run) and an estimate of the bytes one CG + multigrid iteration moves, to say how
 *   far an iteration is from the bandwidth limit.
 * - LBM permeability at 64³ and the Zick & Homsy validation at L = 64 voxels per unit cell
 *   (--zh-L <n> for another resolution, --no-zh to skip).
 * - Worker-pool throughput on the demo path (porosity, tau_z, limitingCurrent of 64×64×32
 *   fibre volumes) against the same work in one thread.
 * Flags: --quick (64³ and 128³ only), --full, --500, --no-zh (keeps the Zick–Homsy rows of the
 * previous physics.json, marked with their date), --zh-L <n>.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Shape3, Voxels } from '../src/core/protocols.js';
import { simulate } from '../src/physics/index.js';
import { labelComponents } from '../src/physics/labelling.js';
import { permeability } from '../src/physics/lbm.js';
import { phaseMask } from '../src/physics/morphology.js';
import { createPhysicsPool, simulateInPool } from '../src/physics/pool.js';
import { fibreVolume } from '../src/physics/test-volumes.js';
import { tortuosity } from '../src/physics/transport.js';
import { zickHomsyCase } from '../src/physics/zick-homsy.js';
import { decodeNpy } from '../src/voxel/npy.js';

const refDir = process.env.PORELOOP_SHARED
  ? `${process.env.PORELOOP_SHARED.replace(/\/$/, '')}/reference/`
  : fileURLToPath(new URL('../../shared/reference/', import.meta.url));
const outDir = fileURLToPath(new URL('./results/', import.meta.url));

/**
 * Estimated bytes one PCG iteration moves per padded fine cell (binary fine level, Float64
 * vectors; see docs/physics.md): A·p 17, x/r update 48, multigrid on the fine level 91
 * (zero fill 8, two sweeps 25 each, residual restriction 17, prolongation 16), p update 24,
 * coarse levels of the W-cycle ≈ 46. Jacobi-PCG: 17 + 48 + 24 (z = r/d) + 24.
 */
const BYTES_PER_CELL_ITER_MG = 226;
const BYTES_PER_CELL_ITER_JACOBI = 113;

function bandwidth(): { copyGBs: number; triadGBs: number } {
  const n = 32 * 1024 * 1024;
  const a = new Float64Array(n).fill(1);
  const b = new Float64Array(n).fill(2);
  const c = new Float64Array(n);
  let best = { copy: Infinity, triad: Infinity };
  for (let rep = 0; rep < 5; rep++) {
    let t = performance.now();
    c.set(a);
    best.copy = Math.min(best.copy, performance.now() - t);
    t = performance.now();
    for (let i = 0; i < n; i++) c[i] = a[i] + 3 * b[i];
    best.triad = Math.min(best.triad, performance.now() - t);
  }
  return { copyGBs: (2 * 8 * n) / (best.copy * 1e6), triadGBs: (3 * 8 * n) / (best.triad * 1e6) };
}

function reference(file: string): Voxels | null {
  if (!existsSync(refDir + file)) return null;
  const { data, shape } = decodeNpy(readFileSync(refDir + file), file);
  return { data, shape, voxelSize: 1, phases: { 0: 'solid', 1: 'pore' } };
}

/** A 64³ reference volume tiled periodically to n³ (mirrored tiles keep pores connected). */
function tiled(v: Voxels, n: number): Voxels {
  const [a, b, c] = v.shape;
  const data = new Uint8Array(n * n * n);
  const m = (i: number, k: number) => {
    const q = Math.floor(i / k);
    const r = i % k;
    return q % 2 === 0 ? r : k - 1 - r;
  };
  for (let x = 0; x < n; x++)
    for (let y = 0; y < n; y++)
      for (let z = 0; z < n; z++) data[(x * n + y) * n + z] = v.data[(m(x, a) * b + m(y, b)) * c + m(z, c)];
  return { ...v, data, shape: [n, n, n] };
}

interface SolveRow {
  volume: string;
  n: number;
  phase: number;
  porosity: number;
  tau: number;
  mg: {
    kernels: string;
    ms: number;
    cpuMs: number;
    setupMs: number;
    iterations: number;
    MiB: number;
    levels: number;
    bytesPerIterGB: number;
    msPerIter: number;
    fractionOfBandwidth: number;
  };
  /** The same solver with the JavaScript kernels (kernels: 'js'), one solve. */
  mgJs: { ms: number; cpuMs: number; iterations: number; tau: number };
  jacobi?: { ms: number; iterations: number; tau: number; msPerIter: number };
  speedup?: number;
}

/** One solve, timed by the wall clock and by this thread's CPU time (less sensitive to load). */
function timedSolve(v: Voxels, phase: number, options: Parameters<typeof tortuosity>[4]): { r: ReturnType<typeof tortuosity>; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = tortuosity(v.data, v.shape, phase, 'z', options);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { r, ms, cpuMs: (c.user + c.system) / 1000 };
}

function solveRow(name: string, v: Voxels, phase: number, bw: number, withJacobi: boolean): SolveRow {
  // Labelling included in every timed solve (the whole cost of a τ from a volume), best of 3.
  const runs = [0, 1, 2].map(() => timedSolve(v, phase, {}));
  const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const r = best.r;
  const js = timedSolve(v, phase, { kernels: 'js' });
  const components = labelComponents(phaseMask(v.data, phase), v.shape);
  const cells = (v.shape[0] + 2) * (v.shape[1] + 2) * (v.shape[2] + 2);
  // Per iteration: the solve after the setup (labelling, assembly, hierarchy).
  const msPerIter = (best.ms - r.setupMs) / Math.max(1, r.iterations);
  const gb = (cells * BYTES_PER_CELL_ITER_MG) / 1e9;
  const row: SolveRow = {
    volume: name,
    n: v.shape[0],
    phase,
    porosity: r.porosity,
    tau: r.tau,
    mgJs: { ms: Math.round(js.ms), cpuMs: Math.round(js.cpuMs), iterations: js.r.iterations, tau: js.r.tau },
    mg: {
      kernels: r.kernels,
      ms: Math.round(best.ms),
      cpuMs: Math.round(best.cpuMs),
      setupMs: Math.round(r.setupMs),
      iterations: r.iterations,
      MiB: Math.round(r.bytes / 2 ** 20),
      levels: r.levels,
      bytesPerIterGB: gb,
      msPerIter,
      // Share of the copy bandwidth an iteration reaches (1 = at the memory-bandwidth limit).
      fractionOfBandwidth: gb / bw / (msPerIter / 1000),
    },
  };
  if (withJacobi) {
    const j = tortuosity(v.data, v.shape, phase, 'z', { components, preconditioner: 'jacobi', maxIterations: 50_000 });
    row.jacobi = { ms: Math.round(j.wallMs), iterations: j.iterations, tau: j.tau, msPerIter: j.wallMs / Math.max(1, j.iterations) };
    row.speedup = j.wallMs / best.ms;
  }
  return row;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const full = args.includes('--full');
  const big = args.includes('--500');
  const zh = !args.includes('--no-zh') && !quick;
  const zhAt = args.indexOf('--zh-L');
  const zhL = zhAt >= 0 ? Number(args[zhAt + 1]) : 64;
  const log = (s: string) => process.stderr.write(s + '\n');
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), memGiB: +(totalmem() / 2 ** 30).toFixed(1), os: `${platform()} ${release()}`, node: process.version };
  const date = new Date().toISOString();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB`);

  const bw = bandwidth();
  log(`bandwidth: copy ${bw.copyGBs.toFixed(1)} GB/s, triad ${bw.triadGBs.toFixed(1)} GB/s`);

  // ── Tortuosity ──
  const rows: SolveRow[] = [];
  const cases: Array<[string, () => Voxels | null, number, boolean]> = [
    ['blobs_e50 (reference)', () => reference('blobs_e50_N64.npy'), 1, true],
    ['fibres_xy_e78 (reference)', () => reference('fibres_xy_e78_N64.npy'), 1, true],
    ['fibre GDL (generated)', () => fibreVolume([64, 64, 64], 80, 4, 1), 0, true],
    ['blobs_e50 (reference)', () => reference('blobs_e50_N128.npy'), 1, true],
    ['fibres_xy_e78 (reference)', () => reference('fibres_xy_e78_N128.npy'), 1, true],
    ['fibre GDL (generated)', () => fibreVolume([128, 128, 128], 320, 6, 2), 0, true],
  ];
  if (!quick) {
    cases.push(
      ['blobs_e50 N64 mirrored-tiled to 256³', () => (reference('blobs_e50_N64.npy') ? tiled(reference('blobs_e50_N64.npy')!, 256) : null), 1, full],
      ['fibre GDL (generated)', () => fibreVolume([256, 256, 256], 1300, 8, 3), 0, full],
    );
  }
  if (big) cases.push(['blobs_e50 N64 mirrored-tiled to 500³', () => (reference('blobs_e50_N64.npy') ? tiled(reference('blobs_e50_N64.npy')!, 500) : null), 1, false]);
  for (const [name, make, phase, jac] of cases) {
    const v = make();
    if (!v) {
      log(`skip ${name}: reference data not found at ${refDir}`);
      continue;
    }
    // The streaming limit is the copy (memcpy) bandwidth: the JavaScript triad loop is itself
    // limited by instruction throughput, not by memory.
    const row = solveRow(name, v, phase, bw.copyGBs, jac);
    rows.push(row);
    log(
      `${name} ${v.shape.join('×')}: τ_z ${row.tau.toFixed(4)}, MG-PCG ${row.mg.ms} ms / ${row.mg.iterations} it / ${row.mg.MiB} MiB` +
        (row.jacobi ? `; Jacobi-PCG ${row.jacobi.ms} ms / ${row.jacobi.iterations} it (×${row.speedup!.toFixed(1)})` : ''),
    );
  }

  // ── Permeability at 64³ ──
  const gdl = fibreVolume([64, 64, 64], 80, 4, 1);
  const perm = permeability(phaseMask(gdl.data, 0), gdl.shape, { axis: 'z', buffer: 4 });
  const permRow = { volume: 'fibre GDL 64³ (generated), z, 4-layer buffers', kM2: perm.kLattice * (gdl.voxelSize * 1e-6) ** 2, steps: perm.steps, ms: Math.round(perm.wallMs), fluidNodes: perm.fluidNodes, converged: perm.converged, mlups: (perm.fluidNodes * perm.steps) / (perm.wallMs * 1e3) };
  log(`permeability 64³: k = ${permRow.kM2.toExponential(3)} m², ${perm.steps} steps, ${permRow.ms} ms (${permRow.mlups.toFixed(1)} MLUPS)`);

  let zhRows: Array<Record<string, number>> = [];
  let zhFrom = date;
  if (!zh && existsSync(outDir + 'physics.json')) {
    // Keep the validation rows of the last run that computed them (about 9 minutes of LBM).
    const prev = JSON.parse(readFileSync(outDir + 'physics.json', 'utf8')) as { date: string; zickHomsy?: Array<Record<string, number>>; zickHomsyFrom?: string };
    zhRows = prev.zickHomsy ?? [];
    zhFrom = prev.zickHomsyFrom ?? prev.date;
  }
  if (zh) {
    for (const c of [0.1, 0.125, 0.216, 0.343, 0.45, 0.5]) {
      const r = zickHomsyCase(zhL, c);
      zhRows.push({ L: zhL, c, solidFraction: r.solidFraction, radius: r.radius, K: r.K, reference: r.reference, relError: r.relError, steps: r.lbm.steps, ms: Math.round(r.lbm.wallMs) });
      log(`Zick–Homsy L=${zhL} c=${c}: K ${r.K.toFixed(3)} vs ${r.reference.toFixed(3)} (${(100 * r.relError).toFixed(2)}%)`);
    }
  }

  // ── Worker pool throughput on the demo path ──
  const demo = Array.from({ length: 24 }, (_, i) => fibreVolume([64, 64, 32], 40, 4, 100 + i));
  const request = { properties: ['porosity', 'tau_z', 'limitingCurrent'] };
  let t = performance.now();
  for (const v of demo) await simulate(v, request);
  const serialMs = performance.now() - t;
  const size = Math.max(1, availableParallelism());
  const pool = createPhysicsPool({ size });
  // Warm-up: several tasks per worker, so that both sides run JIT-compiled code.
  await Promise.all(Array.from({ length: 4 * size }, (_, i) => simulateInPool(pool, demo[i % demo.length], request)));
  t = performance.now();
  await Promise.all(demo.map((v) => simulateInPool(pool, v, request)));
  const poolMs = performance.now() - t;
  await pool.close();
  const poolRow = { volumes: demo.length, shape: [64, 64, 32], serialMs: Math.round(serialMs), poolMs: Math.round(poolMs), workers: size, serialPerS: demo.length / (serialMs / 1000), poolPerS: demo.length / (poolMs / 1000) };
  log(`pool: ${poolRow.serialPerS.toFixed(1)} volumes/s in one thread, ${poolRow.poolPerS.toFixed(1)} volumes/s on ${size} workers`);

  // ── Write results ──
  mkdirSync(outDir, { recursive: true });
  const doc = { suite: 'physics', date, machine, flags: args, bandwidth: bw, tortuosity: rows, permeability: permRow, zickHomsy: zhRows, zickHomsyFrom: zhFrom, pool: poolRow };
  writeFileSync(outDir + 'physics.json', JSON.stringify(doc, null, 2) + '\n');
  const f = (x: number, d = 0) => x.toFixed(d);
  const md: string[] = [
    '# Physics benchmark (issue 4)',
    '',
    `${date} · ${machine.cpu} · ${machine.cores} cores · ${machine.memGiB} GiB · Node ${machine.node} · flags: ${args.join(' ') || '(none)'}`,
    '',
    'Single-threaded solver runs on a machine shared with other jobs: wall times are upper bounds.',
    `Memory bandwidth measured in this run: copy ${f(bw.copyGBs, 1)} GB/s, triad ${f(bw.triadGBs, 1)} GB/s.`,
    '',
    '## Tortuosity factor along z (TauFactor discretisation, residual 1e-5 + flux conservation 1e-4)',
    '',
    '| volume | n³ | ε | τ_z | MG-PCG kernels | wall ms | CPU ms | setup ms | it | ms/it | MiB | share of copy bandwidth | same solver, JS kernels: wall ms (CPU) | Jacobi-PCG ms | it | speed-up over Jacobi |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.volume} | ${r.n} | ${f(r.porosity, 3)} | ${f(r.tau, 4)} | ${r.mg.kernels} | ${r.mg.ms} | ${r.mg.cpuMs} | ${r.mg.setupMs} | ${r.mg.iterations} | ${f(r.mg.msPerIter, 1)} | ${r.mg.MiB} | ${f(100 * r.mg.fractionOfBandwidth)}% | ${r.mgJs.ms} (${r.mgJs.cpuMs}), ×${f(r.mgJs.ms / r.mg.ms, 1)} | ${r.jacobi ? r.jacobi.ms : '—'} | ${r.jacobi ? r.jacobi.iterations : '—'} | ${r.speedup ? '×' + f(r.speedup, 1) : '—'} |`,
    ),
    '',
    'Times include everything from the volume to τ: labelling, removal of non-spanning clusters, assembly, multigrid hierarchy and the solve; best of three solves for the MG-PCG column, one solve for the others. CPU ms is the CPU time of the solving thread (user + system), which other jobs on the machine inflate much less than the wall time.',
    '',
    `"setup ms": labelling, cluster removal, assembly, multigrid hierarchy and initial residual, inside the wall time. "ms/it" = (wall − setup) / iterations. "Share of copy bandwidth": (${BYTES_PER_CELL_ITER_MG} B per padded cell per iteration, the estimated traffic of one CG + W-cycle iteration) / (ms per iteration) / (copy GB/s, the memcpy bandwidth measured in this run). A Jacobi-PCG iteration moves about ${BYTES_PER_CELL_ITER_JACOBI} B per cell.`,
    '',
    '## Permeability (LBM D3Q19 TRT)',
    '',
    `${permRow.volume}: k_z = ${permRow.kM2.toExponential(3)} m², ${permRow.steps} steps, ${permRow.ms} ms, ${f(permRow.mlups, 1)} million fluid-node updates per second, converged: ${permRow.converged}.`,
    '',
  ];
  if (zhRows.length) {
    md.push(
      `### Zick & Homsy (1982), simple-cubic sphere arrays, L = ${zhRows[0].L} voxels per unit cell`,
      '',
      zhFrom === date ? 'Computed in this run.' : `Computed in the run of ${zhFrom} (this run used --no-zh; the LBM has not changed since).`,
      '',
      '| nominal c | voxelised c | radius (vox) | K (LBM) | K (Z&H, interpolated) | error | steps | ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...zhRows.map((r) => `| ${r.c} | ${f(r.solidFraction, 4)} | ${f(r.radius, 2)} | ${f(r.K, 3)} | ${f(r.reference, 3)} | ${f(100 * r.relError, 2)}% | ${r.steps} | ${r.ms} |`),
      '',
    );
  }
  md.push(
    '## Worker pool (demo path: porosity, tau_z, limitingCurrent of 64×64×32 volumes)',
    '',
    `| volumes | one thread (volumes/s) | pool of ${poolRow.workers} workers (volumes/s) | ratio |`,
    '| --- | --- | --- | --- |',
    `| ${poolRow.volumes} | ${f(poolRow.serialPerS, 1)} | ${f(poolRow.poolPerS, 1)} | ×${f(poolRow.poolPerS / poolRow.serialPerS, 2)} |`,
    '',
  );
  writeFileSync(outDir + 'physics.md', md.join('\n'));
  log(`wrote ${outDir}physics.md and physics.json`);
}
