/**
 * `npm run bench -- solver-gpu [--crop N] [--axes x,y,z] [--repeats R] [--backends wasm,cpu] [--stencil slices|conv3d]`
 * (issue #20, "the GPU path when a GPU is present"): the tensor τ solver of
 * src/physics/transport-tfjs.ts side by side with the CPU solver (src/physics/transport.ts,
 * defaults: multigrid-preconditioned CG in the WebAssembly kernels) on an N³ corner crop of
 * TauFactor 2's 500³ benchmark volume (label 255, as in bench-solver500.ts), in one process.
 *
 * There is no GPU on these machines (tfjs-node-gpu cannot install; STACK.md), so the tensor
 * program runs on this machine's TensorFlow.js backends — wasm (SIMD, one thread) and
 * optionally cpu (plain JavaScript). These numbers say what the tensor program costs on a CPU
 * backend and that it agrees with the CPU solver; they say nothing about its GPU time, which
 * was not measured.
 *
 * Per axis and repeat: CPU solver, then the tensor solver on each backend; wall and CPU time
 * (process.cpuUsage: the machine is shared, CPU time is closer to a free core), iterations,
 * refinements, |Δτ|/τ against the CPU solver, tfjs peak memory. Medians and quartiles over the
 * repeats. Writes experiments/results/solver-gpu-crop<N>[-<backends>].md (+ .json), marked partial
 * until done. The cpu backend is slow (185 s for one 64³ solve on the loaded machine): run it on
 * one axis, `--axes x --repeats 1 --backends cpu`. Where tfjs-node-gpu and a GPU are installed,
 * `--backends tensorflow` times the GPU path itself (refused without a GPU).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Shape3 } from '../src/core/protocols.js';
import { tortuosity } from '../src/physics/transport.js';
import { probeGpu, solveTransportTfjs } from '../src/physics/transport-tfjs.js';
import { readTf500 } from './bench-solver500.js';
import { commitHash, machineLine } from './provenance.js';

const PHASE = 255;
type Axis = 'x' | 'y' | 'z';

interface Row {
  axis: Axis;
  repeat: number;
  solver: string;
  tau: number;
  iterations: number;
  refinements: number;
  wallS: number;
  cpuS: number;
  converged: boolean;
  fluxImbalance: number;
  memMiB: number;
}

function quartiles(v: number[]): [number, number, number] {
  const s = [...v].sort((a, b) => a - b);
  const q = (p: number): number => {
    const i = p * (s.length - 1);
    const lo = Math.floor(i);
    return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
  };
  return [q(0.25), q(0.5), q(0.75)];
}

async function timed<T>(f: () => Promise<T> | T): Promise<{ value: T; wallS: number; cpuS: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wallS = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wallS, cpuS: (c.user + c.system) / 1e6 };
}

export async function run(args: string[]): Promise<void> {
  const at = (k: string): string | undefined => {
    const i = args.indexOf(`--${k}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const crop = Number(at('crop') ?? 64);
  const axes = (at('axes') ?? 'x,y,z').split(',') as Axis[];
  const repeats = Number(at('repeats') ?? 3);
  const backends = (at('backends') ?? 'wasm').split(',');
  const stencil = (at('stencil') ?? 'slices') as 'slices' | 'conv3d';
  if (!(Number.isInteger(crop) && crop >= 8 && crop <= 500)) throw new Error(`--crop: expected 8..500, got ${crop}`);
  if (!axes.every((a) => ['x', 'y', 'z'].includes(a))) throw new Error(`--axes: expected x, y, z, got ${axes.join(',')}`);
  tf.enableProdMode();
  // `--backends tensorflow` times the GPU path itself where tfjs-node-gpu and a GPU are there
  // (e.g. `--crop 500 --backends tensorflow,wasm`); it refuses to run on anything else.
  let gpuLine = '';
  if (backends.includes('tensorflow')) {
    const probe = await probeGpu();
    if (!probe.available) throw new Error(`--backends tensorflow: ${probe.detail}`);
    gpuLine = probe.detail;
  }
  const { data, shape } = readTf500(crop);
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const name = `solver-gpu-crop${crop}` + (backends.join(',') === 'wasm' ? '' : `-${backends.join('-')}`) + (stencil === 'slices' ? '' : `-${stencil}`);
  const started = new Date().toISOString();
  const commit = commitHash();
  const machine = machineLine();
  const load0 = loadavg()[0];
  const t1 = performance.now();
  const rows: Row[] = [];
  const solvers = ['cpu-multigrid', ...backends.map((b) => `tfjs-${b}`)];
  const conductivity = new Float64Array(256);
  conductivity[PHASE] = 1;
  const porosity = data.reduce((s, v) => s + (v === PHASE ? 1 : 0), 0) / data.length;

  const report = (done: boolean): string => {
    const wallMin = (performance.now() - t1) / 60_000;
    writeFileSync(outDir + `${name}.json`, JSON.stringify({ date: started, commit, machine, shape, crop, repeats, backends, load: [load0, loadavg()[0]], wallMin, complete: done, rows }, null, 2) + '\n');
    const cpuTau = (a: Axis): number | undefined => rows.find((r) => r.axis === a && r.solver === 'cpu-multigrid')?.tau;
    const fmt = (v: number[], d = 2): string => {
      if (v.length === 0) return '—';
      const [q1, m, q3] = quartiles(v);
      return v.length > 1 ? `${m.toFixed(d)} [${q1.toFixed(d)}, ${q3.toFixed(d)}]` : m.toFixed(d);
    };
    const lines = [
      `# The tensor (GPU-path) τ solver vs the CPU solver on a ${shape.join('×')} crop of TauFactor's 500³ volume, on CPU backends (issue #20)`,
      '',
      `${started} · commit ${commit} · ${machine} · \`npm run bench -- solver-gpu ${args.join(' ')}\` (niced) · load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} ${done ? 'at the end' : 'when written'} · ${wallMin.toFixed(1)} min wall`,
      '',
      ...(done ? [] : [`**PARTIAL**: ${rows.length} of ${axes.length * repeats * solvers.length} solves finished when this was written.`, '']),
      ...(gpuLine
        ? [`GPU: ${gpuLine} (tfjs-tensorflow = the GPU path). Other tfjs-* rows ran on CPU backends (wasm = SIMD, one thread). cpu-multigrid =`]
        : [
            '**No GPU was available: the GPU time of the tensor solver was not measured.** The tensor program ran on TensorFlow.js',
            `backends of this CPU (${backends.join(', ')}; wasm = SIMD, one thread), which is what the tests run too. cpu-multigrid =`,
          ]),
      '`tortuosity()` with its defaults (multigrid-preconditioned CG, WebAssembly kernels, float64). tfjs-* = `solveTransportTfjs`',
      '(Jacobi-preconditioned CG in float32 tensor ops, float64 refinement on the host; defaults: tol 1e-5, fluxTol 1e-4,',
      `innerTol 1e-2, checkEvery 8, stencil ${stencil}). Times include labelling and setup. Median [quartiles] over the repeats; CPU = user + system`,
      'time of the process (the machine is shared by other jobs; wall time is an upper bound). Δτ is against cpu-multigrid.',
      '',
      `Porosity (label ${PHASE}) ${porosity.toFixed(4)}.`,
      '',
      '| axis | solver | τ | |Δτ|/τ | iterations | refinements | wall (s) | CPU (s) | tfjs peak (MiB) | converged |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ];
    for (const a of axes)
      for (const s of solvers) {
        const rs = rows.filter((r) => r.axis === a && r.solver === s);
        if (rs.length === 0) continue;
        const ref = cpuTau(a);
        const dt = ref === undefined ? '—' : Math.max(...rs.map((r) => (r.tau === ref ? 0 : Math.abs(r.tau - ref) / ref))).toExponential(1);
        lines.push(
          `| ${a} | ${s} | ${rs[0].tau.toFixed(6)} | ${s === 'cpu-multigrid' ? '—' : dt} | ${rs[0].iterations} | ${s === 'cpu-multigrid' ? '—' : rs[0].refinements} | ${fmt(rs.map((r) => r.wallS))} | ${fmt(rs.map((r) => r.cpuS))} | ${s === 'cpu-multigrid' ? '—' : rs[0].memMiB.toFixed(1)} | ${rs.every((r) => r.converged) ? 'yes' : 'NO'} |`,
        );
      }
    lines.push('');
    const md = lines.join('\n');
    writeFileSync(outDir + `${name}.md`, md);
    return md;
  };

  for (const axis of axes)
    for (let k = 0; k < repeats; k++) {
      const c = await timed(() => tortuosity(data, shape as Shape3, PHASE, axis));
      rows.push({ axis, repeat: k, solver: 'cpu-multigrid', tau: c.value.tau, iterations: c.value.iterations, refinements: 0, wallS: c.wallS, cpuS: c.cpuS, converged: c.value.converged, fluxImbalance: c.value.fluxImbalance, memMiB: c.value.bytes / 2 ** 20 });
      for (const backend of backends) {
        const g = await timed(() => solveTransportTfjs(data, shape as Shape3, { axis, conductivity, backend, stencil }));
        const r = g.value;
        rows.push({ axis, repeat: k, solver: `tfjs-${backend}`, tau: r.effective > 0 ? porosity / r.effective : Infinity, iterations: r.iterations, refinements: r.refinements, wallS: g.wallS, cpuS: g.cpuS, converged: r.converged, fluxImbalance: r.fluxImbalance, memMiB: r.bytes / 2 ** 20 });
      }
      const last = rows.slice(-solvers.length);
      process.stderr.write(`${axis} #${k}: ${last.map((r) => `${r.solver} τ ${r.tau.toFixed(6)} ${r.iterations} it ${r.wallS.toFixed(1)} s`).join(' · ')}\n`);
      report(false);
    }
  process.stdout.write(report(true));
}
