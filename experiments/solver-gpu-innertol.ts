/**
 * `npx tsx experiments/solver-gpu-innertol.ts` (issue #20): how the default `innerTol` of the
 * tensor τ solver (src/physics/transport-tfjs.ts) was chosen — total CG iterations and the
 * error against a tightly converged CPU solve, on development volumes that neither the tests
 * (src/physics/transport-tfjs.test.ts) nor the benchmark (bench-solver-gpu.ts, TauFactor's
 * volume) use: fibres (test-volumes.ts) seeds 1 and 2 at 48³ and 64³, uniform random seed 3 at
 * 32³, a ball of radius 9 at 24³; axes x and z; wasm backend. Writes
 * experiments/results/solver-gpu-innertol.md (+ .json).
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Shape3 } from '../src/core/protocols.js';
import { ballVolume, fibreVolume } from '../src/physics/test-volumes.js';
import { solveTransport } from '../src/physics/transport.js';
import { solveTransportTfjs } from '../src/physics/transport-tfjs.js';
import { commitHash, machineLine } from './provenance.js';

function random(shape: Shape3, solid: number, seed: number): Uint8Array {
  let s = seed;
  const d = new Uint8Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    d[i] = s / 4294967296 < solid ? 1 : 0;
  }
  return d;
}

const cases: Array<[string, Uint8Array, Shape3]> = [
  ['random 32³ seed 3', random([32, 32, 32], 0.35, 3), [32, 32, 32]],
  ['fibres 48³ seed 1', fibreVolume([48, 48, 48], 30, 5, 1).data, [48, 48, 48]],
  ['ball 24³ r 9', ballVolume(24, 9).data, [24, 24, 24]],
  ['fibres 64³ seed 2', fibreVolume([64, 64, 64], 60, 5, 2).data, [64, 64, 64]],
];
const tols = [1e-2, 1e-3, 1e-4];

tf.enableProdMode();
const conductivity = new Float64Array(256);
conductivity[0] = 1;
const rows: Array<{ volume: string; axis: string; innerTol: number; iterations: number; refinements: number; relErr: number; converged: boolean }> = [];
for (const [volume, data, shape] of cases)
  for (const axis of ['x', 'z'] as const) {
    const exact = solveTransport(data, shape, { axis, conductivity, tol: 1e-11, fluxTol: 1e-9 }).effective;
    for (const innerTol of tols) {
      const r = await solveTransportTfjs(data, shape, { axis, conductivity, innerTol, backend: 'wasm' });
      rows.push({ volume, axis, innerTol, iterations: r.iterations, refinements: r.refinements, relErr: (r.effective - exact) / exact, converged: r.converged });
      process.stderr.write(`${volume} ${axis} innerTol ${innerTol}: ${r.iterations} it, ${r.refinements} refinements, err ${rows.at(-1)!.relErr.toExponential(1)}\n`);
    }
  }
const out = new URL('./results/', import.meta.url);
writeFileSync(new URL('solver-gpu-innertol.json', out), JSON.stringify({ date: new Date().toISOString(), commit: commitHash(), machine: machineLine(), rows }, null, 2) + '\n');
const total = (t: number): number => rows.filter((r) => r.innerTol === t).reduce((s, r) => s + r.iterations, 0);
const worst = (t: number): number => Math.max(...rows.filter((r) => r.innerTol === t).map((r) => Math.abs(r.relErr)));
writeFileSync(
  new URL('solver-gpu-innertol.md', out),
  [
    '# innerTol of the tensor τ solver on development volumes (issue #20)',
    '',
    `${new Date().toISOString()} · commit ${commitHash()} · ${machineLine()} · \`npx tsx experiments/solver-gpu-innertol.ts\` · wasm backend`,
    '',
    'Volumes not used by the tests or the benchmark; axes x and z; defaults otherwise (tol 1e-5, fluxTol 1e-4, checkEvery 8).',
    'Error: D_eff against the CPU solver at tol 1e-11, fluxTol 1e-9.',
    '',
    '| innerTol | total CG iterations (8 solves) | max |error| | all converged |',
    '| ---: | ---: | ---: | --- |',
    ...tols.map((t) => `| ${t} | ${total(t)} | ${worst(t).toExponential(1)} | ${rows.filter((r) => r.innerTol === t).every((r) => r.converged) ? 'yes' : 'NO'} |`),
    '',
    '| volume | axis | ' + tols.map((t) => `it / refinements @ ${t}`).join(' | ') + ' |',
    '| --- | --- | ' + tols.map(() => '---').join(' | ') + ' |',
    ...cases.flatMap(([v]) =>
      (['x', 'z'] as const).map((a) => `| ${v} | ${a} | ` + tols.map((t) => rows.find((r) => r.volume === v && r.axis === a && r.innerTol === t)!).map((r) => `${r.iterations} / ${r.refinements}`).join(' | ') + ' |'),
    ),
    '',
  ].join('\n'),
);
