/**
 * `npm run bench -- solver500 [--axes x,y,z] [--crop N] [--precision auto|float32|float64] [--old DIR] [--solvers new,old,previous] [--repeat N]` (issue #20): τ of TauFactor 2's 500³
 * speed-benchmark volume (/work/shared/reference/real/taufactor-TF-500x500x500-1x2x6-v3.tiff.zip,
 * percolating phase = label 255, ε = 0.30) on one core, the new solver side by side with the
 * previous one in the same run:
 *
 * - new: `tortuosity(…)` with its defaults — at 500³ the f64 arena does not fit in wasm32's
 *   4 GiB, so precision 'auto' takes f32 storage of the fine level's CG vectors and the whole
 *   solve runs in the WebAssembly kernels (src/physics/kernels.wat, *32 functions).
 * - previous: `kernels: 'js'` — what 500³ ran before (f64 vectors do not fit in a wasm32
 *   memory, so the JavaScript kernels ran); it is also the float64 reference for |Δτ|.
 *
 * - old (only with `--old DIR`): `tortuosity(…)` with the same options as new, from the checkout
 *   at DIR (e.g. `git worktree add /tmp/start <commit>` plus a node_modules link): the code before
 *   a change, side by side in the same process and session (issue #20's second pass).
 *
 * Axis by axis, new and old in alternating order — the first axis new → old, the second old → new,
 * the third new → old (#20 review: old always second let a drifting load or a warmer heap favour
 * one side) — then the previous one; the process's peak RSS after the first (new) solve is the
 * new solver's (the previous one needs more). `--repeat N` (default 1) runs the whole sequence N
 * times, the order flipping again each time (so with N even every axis has each order equally
 * often); the tables then give median times over the repeats (every solve is in the JSON). Times: wall clock and CPU time
 * of the process (the machine is shared: CPU time is the better estimate of what a free core
 * does). Writes experiments/results/solver500.md (+ .json) after every solve, marked partial
 * until the run completes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import UTIF from 'utif2';
import type { Shape3 } from '../src/core/protocols.js';
import { tortuosity } from '../src/physics/transport.js';
import { commitHash, machineLine } from './provenance.js';

const ZIP = '/work/shared/reference/real/taufactor-TF-500x500x500-1x2x6-v3.tiff.zip';
/** Published over-converged τ (Kench et al., JOSS 2023, TauFactor 2), per our axis (see readTf500). */
const PUBLISHED: Record<'x' | 'y' | 'z', number> = { x: 4.2431, y: 1.1513, z: 1.3905 };
const PHASE = 255;

/** The first entry of a zip archive whose name ends with `suffix` (stored or deflated), via the central directory. */
function unzipEntry(zip: Buffer, suffix: string): Buffer {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  let at = zip.readUInt32LE(eocd + 16);
  const entries = zip.readUInt16LE(eocd + 10);
  for (let k = 0; k < entries; k++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    const commentLen = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (!name.endsWith(suffix) || name.startsWith('__MACOSX')) continue;
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(data, data + size);
    return method === 0 ? raw : inflateRawSync(raw);
  }
  throw new Error(`no *${suffix} entry in the zip`);
}

/**
 * The volume as labels in [page, row, column] order: our axis x = TIFF page, y = row (height),
 * z = column (width). TauFactor's published 4.2431 is along the page axis and 1.3905 along the
 * width axis (reference README), so 1.1513 along the height.
 */
export function readTf500(crop?: number): { data: Uint8Array; shape: Shape3 } {
  const tif = unzipEntry(readFileSync(ZIP), '.tiff');
  const buf = tif.buffer.slice(tif.byteOffset, tif.byteOffset + tif.byteLength) as ArrayBuffer;
  const ifds = UTIF.decode(buf);
  const pages = ifds.length;
  // ImageWidth (tag 256) and ImageLength (tag 257) of the first page.
  const w = Number((ifds[0] as unknown as { t256: number[] }).t256[0]);
  const h = Number((ifds[0] as unknown as { t257: number[] }).t257[0]);
  const n = crop ? [Math.min(crop, pages), Math.min(crop, h), Math.min(crop, w)] : [pages, h, w];
  const data = new Uint8Array(n[0] * n[1] * n[2]);
  for (let p = 0; p < n[0]; p++) {
    UTIF.decodeImage(buf, ifds[p]);
    const img = ifds[p].data as Uint8Array;
    if (img.length !== w * h) throw new Error(`page ${p}: expected ${w}×${h} 8-bit pixels, got ${img.length} bytes`);
    for (let r = 0; r < n[1]; r++) data.set(img.subarray(r * w, r * w + n[2]), (p * n[1] + r) * n[2]);
    (ifds[p] as { data?: unknown }).data = undefined;
  }
  return { data, shape: n as Shape3 };
}

type Tortuosity = typeof tortuosity;

interface Solve {
  axis: 'x' | 'y' | 'z';
  /** 0-based repeat (--repeat). */
  repeat: number;
  solver: 'new' | 'old' | 'previous';
  tau: number;
  iterations: number;
  wallS: number;
  cpuS: number;
  setupS: number;
  kernels: string;
  precision: string;
  bytesGiB: number;
  converged: boolean;
  fluxImbalance: number;
}

function solve(data: Uint8Array, shape: Shape3, axis: 'x' | 'y' | 'z', solver: 'new' | 'old' | 'previous', precision: 'auto' | 'float32' | 'float64' = 'auto', oldTortuosity?: Tortuosity): Solve {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const f = solver === 'old' ? oldTortuosity! : tortuosity;
  const r = f(data, shape, PHASE, axis, solver === 'previous' ? { kernels: 'js' } : { precision });
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { axis, repeat: 0, solver, tau: r.tau, iterations: r.iterations, wallS, cpuS: (c.user + c.system) / 1e6, setupS: r.setupMs / 1000, kernels: r.kernels, precision: r.precision, bytesGiB: r.bytes / 2 ** 30, converged: r.converged, fluxImbalance: r.fluxImbalance };
}

export async function run(args: string[]): Promise<void> {
  if (!existsSync(ZIP)) throw new Error(`reference volume not found: ${ZIP}`);
  const at = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const axes = (at('axes') ?? 'x,y,z').split(',') as Array<'x' | 'y' | 'z'>;
  const crop = at('crop') ? Number(at('crop')) : undefined;
  /** The new solver's precision (default auto; `--precision float32` forces f32 storage on a crop that would fit in f64). */
  const precision = (at('precision') ?? 'auto') as 'auto' | 'float32' | 'float64';
  /** Another checkout whose solver runs as 'old' beside the new one (default: none). */
  const oldDir = at('old');
  const oldTortuosity = oldDir ? ((await import(pathToFileURL(`${oldDir}/src/physics/transport.ts`).href)) as { tortuosity: Tortuosity }).tortuosity : undefined;
  const oldCommit = oldDir ? execFileSync('git', ['-C', oldDir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim() : '';
  /** `--solvers new,old` leaves out the previous (f64 JavaScript) solver, e.g. for a quick new-vs-old run at 500³. */
  const solvers = (at('solvers')?.split(',') ?? (oldDir ? ['new', 'old', 'previous'] : ['new', 'previous'])) as Array<'new' | 'old' | 'previous'>;
  if (solvers.includes('old') && !oldDir) throw new Error('--solvers old needs --old DIR');
  /** `--repeat N`: the whole sequence N times (default 1). */
  const repeats = at('repeat') === undefined ? 1 : Number(at('repeat'));
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`--repeat needs an integer ≥ 1, got ${at('repeat')}`);
  /** The solve order on the i-th axis: new and old swap places on every other axis (previous stays where it is). */
  const order = (i: number): Array<'new' | 'old' | 'previous'> =>
    i % 2 === 0 || !(solvers.includes('new') && solvers.includes('old')) ? solvers : solvers.map((s) => (s === 'new' ? 'old' : s === 'old' ? 'new' : s));
  const log = (s: string) => process.stderr.write(s + '\n');
  const t0 = performance.now();
  const { data, shape } = readTf500(crop);
  let count = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === PHASE) count++;
  log(`TF-500 ${shape.join('×')} read in ${((performance.now() - t0) / 1000).toFixed(1)} s; ε(255) = ${(count / data.length).toFixed(4)}`);
  const load0 = loadavg()[0];
  const rows: Solve[] = [];
  const commit = commitHash();
  const machine = machineLine();
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const name = (crop ? `solver500-crop${crop}${precision === 'auto' ? '' : '-' + precision}` : 'solver500') + (oldDir ? '-vs-old' : '');
  const started = new Date().toISOString();
  const t1 = performance.now();
  let rssNewGiB = 0;
  const median = (v: number[]): number => {
    const o = [...v].sort((a, b) => a - b);
    const m = o.length >> 1;
    return o.length % 2 ? o[m] : 0.5 * (o[m - 1] + o[m]);
  };
  /**
   * One solver's solves of an axis, times as medians over the repeats done so far; τ, iterations
   * and memory are the first repeat's (the same code on the same volume: deterministic).
   */
  const find = (axis: string, solver: string): Solve | undefined => {
    const rs = rows.filter((r) => r.axis === axis && r.solver === solver);
    if (!rs.length) return undefined;
    return { ...rs[0], wallS: median(rs.map((r) => r.wallS)), cpuS: median(rs.map((r) => r.cpuS)), setupS: median(rs.map((r) => r.setupS)) };
  };
  /** Writes the results so far (after every solve: a run cut short still leaves its finished solves, marked partial). */
  const report = (done: boolean): string => {
    const rssAllGiB = process.resourceUsage().maxRSS / 2 ** 20;
    const load1 = loadavg()[0];
    const wallMin = (performance.now() - t1) / 60_000;
    writeFileSync(outDir + `${name}.json`, JSON.stringify({ date: started, commit, oldCommit: oldCommit || undefined, machine, shape, load: [load0, load1], wallMin, complete: done, rssNewGiB, rssAllGiB, rows }, null, 2) + '\n');
    const done2 = axes.filter((a) => find(a, 'new') && find(a, 'previous'));
    const mean = (solver: 'new' | 'previous', key: 'wallS' | 'cpuS') => (done2.reduce((s, a) => s + find(a, solver)![key], 0) / done2.length).toFixed(1);
    const md = [
      `# τ of TauFactor's ${shape.join('×')} benchmark volume: new solver vs previous, one core (issue #20)`,
      '',
      `${started} · commit ${commit} · ${machine} · \`npm run bench -- solver500${args.length ? ' ' + args.join(' ') : ''}\`${getPriority() > 0 ? ' (niced)' : ''} · load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} ${done ? 'at the end' : 'when written'} · ${wallMin.toFixed(1)} min wall`,
      '',
      ...(done ? [] : [`**PARTIAL**: ${rows.length} of ${solvers.length * axes.length * repeats} solves finished when this was written (the run did not complete).`, '']),
      `new = ${precision === 'auto' ? 'defaults' : `precision '${precision}' (--precision), otherwise defaults`} (f32 storage of the fine level's CG vectors — r, z, p: q = Ap is recomputed and x kept at the inlet/outlet cells only —`,
      'all kernels in WebAssembly; the fine level\'s multigrid cycle in two fused passes — f32 Gauss–Seidel from z = 0 + restriction,',
      'prolongation + backward sweep — kernels.wat);',
      'previous = `kernels: \'js\'` (f64, JavaScript kernels: what 500³ ran before the f32 WebAssembly path; also the float64 reference for Δτ;',
      'it shares the new branch-free assembly). Times include labelling, cluster removal, assembly, the multigrid hierarchy and the solve.',
      'CPU = user + system time of the process during the solve (the machine is shared by other jobs, so wall time is an upper bound;',
      'CPU time is closer to what a free core takes, though cache and memory-bandwidth contention still inflate it).',
      ...(repeats > 1 ? [`Times are medians over ${repeats} repeats of the whole sequence (each solve in the JSON's rows).`] : []),
      '',
      '| axis | τ new | τ previous (f64) | |Δτ|/τ | τ published (TauFactor 2) | it new / prev | wall new (s) | wall prev (s) | CPU new (s) | CPU prev (s) | CPU ratio prev/new | arrays new (GiB) |',
      '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...axes.map((a) => {
        const n = find(a, 'new');
        const p = find(a, 'previous');
        const f = (r: Solve | undefined, g: (r: Solve) => string) => (r ? g(r) : '—');
        return `| ${a} | ${f(n, (r) => r.tau.toFixed(5))} | ${f(p, (r) => r.tau.toFixed(5))} | ${n && p ? (Math.abs(n.tau - p.tau) / p.tau).toExponential(1) : '—'} | ${crop ? '—' : PUBLISHED[a].toFixed(4)} | ${f(n, (r) => String(r.iterations))} / ${f(p, (r) => String(r.iterations))} | ${f(n, (r) => r.wallS.toFixed(1))} | ${f(p, (r) => r.wallS.toFixed(1))} | ${f(n, (r) => r.cpuS.toFixed(1))} | ${f(p, (r) => r.cpuS.toFixed(1))} | ${n && p ? '×' + (p.cpuS / n.cpuS).toFixed(2) : '—'} | ${f(n, (r) => r.bytesGiB.toFixed(2))} |`;
      }),
      '',
      !solvers.includes('previous') ? 'The previous solver was not run (`--solvers`): no f64 reference in this run.' : done2.length ? `Mean over the axes with both solves (${done2.join(', ')}): new ${mean('new', 'wallS')} s wall / ${mean('new', 'cpuS')} s CPU; previous ${mean('previous', 'wallS')} s wall / ${mean('previous', 'cpuS')} s CPU.` : 'No axis has both solves yet.',
      ...(oldDir ? oldTable() : []),
      `Peak RSS of the process after the first (new) solve: ${rssNewGiB ? rssNewGiB.toFixed(2) + ' GiB' : '—'} (volume and labels included); over the whole run (every solver included): ${rssAllGiB.toFixed(2)} GiB.`,
      '',
    ].join('\n');
    writeFileSync(outDir + `${name}.md`, md);
    return md;
  };
  /** The new solver against the old checkout's, same options, same process. */
  function oldTable(): string[] {
    return [
      '',
      `old = the same call (same options) from the checkout at ${oldDir} (commit ${oldCommit}), in the same process, alternating with new: ${axes.map((a, i) => `${a} ${order(i).filter((s) => s !== 'previous').join(' → ')}`).join(', ')}${repeats > 1 ? ' (reversed on every other repeat)' : ''}.`,
      '',
      '| axis | τ new | τ old | |Δτ|/τ new vs old | it new / old | CPU new (s) | CPU old (s) | CPU ratio old/new | setup wall new / old (s) | arrays new / old (GiB) |',
      '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |',
      ...axes.map((a) => {
        const n = find(a, 'new');
        const o = find(a, 'old');
        if (!n || !o) return `| ${a} | — | — | — | — | — | — | — | — | — |`;
        return `| ${a} | ${n.tau.toFixed(6)} | ${o.tau.toFixed(6)} | ${(Math.abs(n.tau - o.tau) / o.tau).toExponential(1)} | ${n.iterations} / ${o.iterations} | ${n.cpuS.toFixed(2)} | ${o.cpuS.toFixed(2)} | ×${(o.cpuS / n.cpuS).toFixed(2)} | ${n.setupS.toFixed(2)} / ${o.setupS.toFixed(2)} | ${n.bytesGiB.toFixed(2)} / ${o.bytesGiB.toFixed(2)} |`;
      }),
      '',
    ];
  }
  // Axis by axis, new and old alternating (see the header), then previous, so that a run cut short
  // still has complete pairs. The new solver's peak RSS is read after its first solve (the first
  // axis runs new first), before any previous solve (which needs more); its later solves allocate
  // the same arrays again.
  for (let k = 0; k < repeats; k++) {
    for (const [i, axis] of axes.entries()) {
      for (const solver of order(i + k)) {
        rows.push({ ...solve(data, shape, axis, solver, precision, oldTortuosity), repeat: k });
        const r = rows.at(-1)!;
        log(`${repeats > 1 ? `[${k + 1}/${repeats}] ` : ''}${solver} ${axis}: τ ${r.tau.toFixed(6)} · ${r.iterations} it · ${r.wallS.toFixed(1)} s wall · ${r.cpuS.toFixed(1)} s CPU · ${r.kernels}/${r.precision} · ${r.bytesGiB.toFixed(2)} GiB`);
        if (rows.length === 1 && solver === 'new') rssNewGiB = process.resourceUsage().maxRSS / 2 ** 20;
        report(false);
      }
    }
  }
  process.stdout.write(report(true));
}
