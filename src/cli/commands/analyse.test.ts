import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { simulate } from '../../physics/index.js';
import { probeGpu } from '../../physics/transport-tfjs.js';
import { encodeNpy } from '../../voxel/npy.js';
import { main } from '../main.js';
import { checkVolume, createAnalyseProgress, valueEntry } from './analyse.js';
import { createOutput } from '../common.js';

// The real simulate(), counted (diff review 2026-12-07, item 4: one call per in-process run).
vi.mock('../../physics/index.js', async (actual) => {
  const m = await actual<typeof import('../../physics/index.js')>();
  return { ...m, simulate: vi.fn(m.simulate) };
});

const dir = mkdtempSync(join(tmpdir(), 'poreloop-analyse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const io = captureOutput();

/** 12³ volume: pore (0) layers normal to z, 4 voxels pore then 2 solid (1). */
function layers(): string {
  const data = new Uint8Array(12 ** 3);
  for (let i = 0; i < data.length; i++) data[i] = i % 12 % 6 < 4 ? 0 : 1;
  const path = join(dir, 'layers.npy');
  writeFileSync(path, encodeNpy(data, [12, 12, 12]));
  return path;
}

interface Doc {
  shape: number[];
  voxelSize: number;
  properties: Record<string, { value: number | null; unit: string; infinite?: boolean; iterations?: number; residual?: number; wallMs?: number }>;
}

describe('poreloop analyse', () => {
  it('prints every property with unit, iterations, residual and wall time as one JSON document', async () => {
    const code = await main(['analyse', layers(), '--props', 'porosity,ssa,tortuosity', '--voxel', '2', '--json']);
    expect(code).toBe(0);
    const doc = JSON.parse(io.stdout) as Doc;
    expect(doc.voxelSize).toBe(2);
    expect(doc.properties.porosity).toMatchObject({ value: 8 / 12, unit: '1' });
    expect(doc.properties.tau_x.value).toBeCloseTo(1, 4);
    // The solver's linear initial guess is exact for these straight channels: 0 iterations.
    expect(doc.properties.tau_x.iterations).toBe(0);
    expect(doc.properties.tau_x.residual).toBeLessThan(1e-5);
    expect(doc.properties.tau_x.wallMs).toBeGreaterThanOrEqual(0);
    // Blocked through-plane: JSON has no Infinity, so null + infinite.
    expect(doc.properties.tau_z).toMatchObject({ value: null, infinite: true, unit: '1' });
    expect(doc.properties.deff_z.value).toBe(0);
    // 3 pore–solid faces in each of the 144 z-columns, × 2/3, per 12³ voxels of 2 µm.
    expect(doc.properties.ssa.unit).toBe('m^-1');
    expect(doc.properties.ssa.value).toBeCloseTo(((2 / 3) * 432) / (1728 * 2e-6), 3);
  });

  it('restricts per-axis groups to --axis and takes the transporting label from --phase', async () => {
    expect(await main(['analyse', layers(), '--props', 'tortuosity', '--axis', 'z', '--phase', '1', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as Doc;
    expect(Object.keys(doc.properties)).toEqual(['tau_z', 'deff_z']);
    expect(doc.properties.tau_z.infinite).toBe(true);
  });

  it('runs multi-axis solves on the worker pool with the same answers', async () => {
    expect(await main(['analyse', layers(), '--props', 'tortuosity', '--workers', '2', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as Doc;
    expect(doc.properties.tau_y.value).toBeCloseTo(1, 4);
    expect(doc.properties.tau_z.infinite).toBe(true);
  });

  it('exits 2 with a clear message on bad input', async () => {
    const good = layers();
    const allSolid = join(dir, 'solid.npy');
    writeFileSync(allSolid, encodeNpy(new Uint8Array(64).fill(1), [4, 4, 4]));
    const allPore = join(dir, 'pore.npy');
    writeFileSync(allPore, encodeNpy(new Uint8Array(64), [4, 4, 4]));
    const bogus = join(dir, 'v.hdf5');
    writeFileSync(bogus, 'x');
    const cases: Array<[string[], RegExp]> = [
      [['analyse', bogus], /unknown volume extension ".hdf5"/],
      [['analyse', good, '--phase', '7'], /label 7 \(--phase\) is not in the volume; labels present: 0, 1/],
      [['analyse', allSolid], /label 0 \(--phase\) is not in the volume/],
      [['analyse', allPore], /only label 0.*empty volume/],
      [['analyse', good, '--props', 'porosity,tortuousity'], /unknown property or group "tortuousity"/],
      [['analyse', good, '--props', 'tpb'], /exactly three labels/],
      [['analyse', good, '--props', 'conductivity'], /sigma_<label>/],
      [['analyse', good, '--voxel', '-1'], /voxel size must be > 0/],
      // Review 2026-12-07: these went into the models and came out as NaN, printed "Infinity",
      // or (sigma_1 = -5) as "sigma_eff needs context sigma_<label>".
      [['analyse', good, '--props', 'pemfc,liion', '--axis', 'z', '--set', 'temperature=-10', '--set', 'thickness=0'], /--set: context temperature = -10: must be > 0 K/],
      [['analyse', good, '--props', 'pemfc', '--set', 'thickness=0'], /--set: context thickness = 0: must be > 0 m/],
      [['analyse', good, '--props', 'conductivity', '--set', 'sigma_1=-5'], /context sigma_1 = -5: negative conductivities are refused; must be ≥ 0 S\/m/],
      [['analyse', good, '--set', 'oxygenFraction=1.5'], /context oxygenFraction = 1.5: must be from 0 to 1/],
    ];
    for (const [argv, re] of cases) {
      io.stderr = '';
      expect(await main(argv), argv.join(' ')).toBe(2);
      expect(io.stderr, argv.join(' ')).toMatch(re);
    }
  });

  it('reports NaN as NaN, not as infinite (review 2026-12-07)', () => {
    expect(valueEntry(NaN, 'A/m^2')).toEqual({ value: null, nan: true, unit: 'A/m^2' });
    expect(valueEntry(Infinity, '1')).toEqual({ value: null, infinite: true, unit: '1' });
    expect(valueEntry(-Infinity, 'Pa')).toEqual({ value: null, infinite: true, negative: true, unit: 'Pa' });
    expect(valueEntry(2.5, 'm')).toEqual({ value: 2.5, unit: 'm' });
  });

  it('--device (issue #20): auto takes the GPU path only where the probe finds a GPU; gpu without one exits 2 saying what to install', async () => {
    // Branch on the real probe, so the expectation is right on a machine with tfjs-node-gpu
    // and a GPU as well as here (where it cannot be installed: STACK.md) — #20 review.
    const gpu = (await probeGpu()).available;
    expect(await main(['analyse', layers(), '--props', 'tortuosity', '--axis', 'x', '--device', 'auto', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as Doc & { properties: Record<string, { solver?: string; device?: string }> };
    expect(doc.properties.tau_x.value).toBeCloseTo(1, 4);
    expect(doc.properties.tau_x.device).toBe(gpu ? 'gpu' : 'cpu');
    expect(doc.properties.tau_x.solver).toBe(gpu ? 'tfjs-jacobi-pcg' : 'pcg-multigrid');
    io.stdout = '';
    io.stderr = '';
    const onGpu = await main(['analyse', layers(), '--props', 'tortuosity', '--axis', 'x', '--device', 'gpu', '--json']);
    if (gpu) {
      expect(onGpu).toBe(0);
      expect((JSON.parse(io.stdout) as { properties: Record<string, { device?: string }> }).properties.tau_x.device).toBe('gpu');
    } else {
      expect(onGpu).toBe(2);
      expect(io.stderr).toMatch(/tfjs-node-gpu.*CUDA 11\.2.*TFJS_NODE_BASE_URI/s);
    }
    const cases: Array<[string[], RegExp]> = [
      [['analyse', layers(), '--device', 'tpu'], /device/],
      [['analyse', layers(), '--device', 'auto', '--workers', '2'], /--workers.*in-process/],
    ];
    for (const [argv, re] of cases) {
      io.stderr = '';
      expect(await main(argv), argv.join(' ')).toBe(2);
      expect(io.stderr, argv.join(' ')).toMatch(re);
    }
  });

  it('refuses a volume whose solver would not fit in memory', () => {
    const data = new Uint8Array(1000);
    data[0] = 1;
    const v = { data, shape: [10, 10, 10] as [number, number, number], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } };
    // LBM needs ~300 B per voxel: 300 kB is more than 80% of a 256 kB machine, 90 kB (transport) is not.
    expect(() => checkVolume(v, 0, ['permeability_z'], 'v.npy', 256_000)).toThrow(/needs about .* GiB for permeability_z, more than 80%/);
    expect(() => checkVolume(v, 0, ['tau_z'], 'v.npy', 256_000)).not.toThrow();
  });

  it('takes repeated --props and --axis (issue #19: they crashed with exit 1) and warns when the file has no voxel size', async () => {
    io.stdout = '';
    io.stderr = '';
    const code = await main(['analyse', layers(), '--props', 'porosity', '--props', 'tortuosity', '--axis', 'x', '--axis', 'y', '--json']);
    expect(code).toBe(0);
    const doc = JSON.parse(io.stdout) as Doc;
    expect(Object.keys(doc.properties).sort()).toEqual(['deff_x', 'deff_y', 'porosity', 'tau_x', 'tau_y']);
    expect(io.stderr).toMatch(/warning: .*states no voxel size; assuming 1 µm/);
    io.stderr = '';
    expect(await main(['analyse', layers(), '--axis', 'x', '--axis', 'w'])).toBe(2);
    expect(io.stderr).toMatch(/--axis: expected x, y, z or all, got "w"/);
  });

  it('reports each solve group on stderr, in-process and on the pool; --json stdout holds only the document (analyse review 4)', async () => {
    const f = layers();
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'tortuosity', '--workers', '0', '--json'])).toBe(0);
    expect(() => JSON.parse(io.stdout)).not.toThrow();
    expect(io.stderr).toContain('analyse: 12×12×12 voxels; 3 groups: axis x (tau_x, deff_x); axis y (tau_y, deff_y); axis z (tau_z, deff_z)\n');
    expect(io.stderr).toContain('analyse: [1/3] solving axis x (tau_x, deff_x) …\n');
    expect(io.stderr).toMatch(/analyse: \[3\/3\] done axis z \(tau_z, deff_z\) in \d+\.\d s \(diffusion_z: \d+ it, residual [\d.e+-]+\)\n/);
    io.stderr = '';
    io.stdout = '';
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'tortuosity', '--workers', '2', '--json'])).toBe(0);
    expect(() => JSON.parse(io.stdout)).not.toThrow();
    expect(io.stderr.match(/analyse: \[\d\/3\] done axis [xyz]/g)).toHaveLength(3);
    io.stderr = '';
    // One axis: one run, one line before and one after.
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'porosity,tortuosity', '--axis', 'x'])).toBe(0);
    expect(io.stderr).toMatch(/^analyse: 12×12×12 voxels; solving: porosity, tau_x, deff_x\nanalyse: \[1\/1\] done porosity, tau_x, deff_x in \d+\.\d s \(diffusion_x: /);
    io.stderr = '';
    // No solve, no progress.
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'porosity'])).toBe(0);
    expect(io.stderr).toBe('');
  });

  it('runs several axis groups in-process as one simulate() call, with the same lines and numbers as the pool (diff review 2026-12-07, item 4)', async () => {
    const f = layers();
    const calls = vi.mocked(simulate);
    calls.mockClear();
    io.stderr = '';
    io.stdout = '';
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'porosity,tortuosity,psd', '--workers', '0', '--json'])).toBe(0);
    // One call (the pore labelling done once), not one per group.
    expect(calls).toHaveBeenCalledTimes(1);
    const inProcess = JSON.parse(io.stdout) as Doc;
    // Each group starts and ends in turn, its solves on its end line.
    const lines = io.stderr.split('\n').filter((l) => /\[\d\/4\]/.test(l));
    expect(lines.map((l) => l.replace(/ in \d+\.\d s.*/, ''))).toEqual([
      'analyse: [1/4] solving other (porosity, poreDiameterMean, poreDiameterD50) …',
      'analyse: [1/4] done other (porosity, poreDiameterMean, poreDiameterD50)',
      'analyse: [2/4] solving axis x (tau_x, deff_x) …',
      'analyse: [2/4] done axis x (tau_x, deff_x)',
      'analyse: [3/4] solving axis y (tau_y, deff_y) …',
      'analyse: [3/4] done axis y (tau_y, deff_y)',
      'analyse: [4/4] solving axis z (tau_z, deff_z) …',
      'analyse: [4/4] done axis z (tau_z, deff_z)',
    ]);
    expect(lines[1]).toMatch(/ in \d+\.\d s$/); // local thickness: no "undefined it, residual NaN"
    expect(lines[3]).toMatch(/ in \d+\.\d s \(diffusion_x: 0 it, residual [\d.e+-]+\)$/);
    io.stdout = '';
    expect(await main(['analyse', f, '--voxel', '1', '--props', 'porosity,tortuosity,psd', '--workers', '2', '--json'])).toBe(0);
    const pooled = JSON.parse(io.stdout) as Doc;
    for (const [name, p] of Object.entries(pooled.properties)) expect(inProcess.properties[name].value, name).toBe(p.value);
    expect(Object.keys(inProcess.properties)).toEqual(Object.keys(pooled.properties));
  });

  it('shows a bar on a TTY (stderr), not log lines', () => {
    let bar = '';
    const stream = { isTTY: true, columns: 120, write: (s: string) => ((bar += s), true), cursorTo: () => true, clearLine: () => true, moveCursor: () => true } as unknown as NodeJS.WriteStream;
    const logged: string[] = [];
    const out = { ...createOutput(false), log: (l: string) => logged.push(l) };
    const p = createAnalyseProgress(out, [4, 4, 4], [['x', ['tau_x']]], stream);
    p.start('x');
    p.iteration('x', { solve: 'diffusion_x', iterations: 40, residual: 3.2e-4 });
    p.done('x', 1000, { properties: {}, units: {} });
    p.stop();
    expect(logged).toEqual([]);
    expect(bar).toMatch(/analyse \| done axis x \(tau_x\) .* 1\/1/);
  });
});
