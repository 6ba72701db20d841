import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-calibrate-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();
// 32×24×16 crop of the NREL NMC cathode (tests/fixtures/real, BSD-3-Clause).
const real = new URL('../../../tests/fixtures/real/nmc-packbits-u8.tif', import.meta.url).pathname;

describe('poreloop twin calibrate (issue #19)', () => {
  it('fits grain-electrode to a real crop, reports every descriptor and writes a config twin generate reads', async () => {
    const cfg = join(dir, 'nmc.yaml');
    const args = ['twin', 'calibrate', 'grain-electrode', '--to', real, '--transport', '0,2', '--fit', 'porosity,particleDiameter', '--budget', '4', '--rmax', '6', '--validate', '1', '--out', cfg, '--json'];
    expect(await main(args)).toBe(0);
    const doc = JSON.parse(io.stdout) as { config: { params: Record<string, number>; voxelSize: number }; best: { loss: number; terms: Array<{ name: string }> }; narrowed: unknown[]; validation: Array<{ terms: unknown[] }>; evaluations: Array<{ loss: number | null; params: Record<string, number> }> };
    expect(doc.evaluations).toHaveLength(4);
    // The crop is 12 µm across in plane: the search keeps to particles the twin generates there
    // (≤ 6 µm, 163874f), so no evaluation is a refusal (review 2026-12-07: all 4 were, exit 2).
    expect(doc.narrowed).toEqual([expect.objectContaining({ name: 'particleDiameter', spec: [1, 30], searched: [1, 6] })]);
    for (const e of doc.evaluations) expect(e.params.particleDiameter).toBeLessThanOrEqual(6);
    expect(doc.evaluations.every((e) => typeof e.loss === 'number' && Number.isFinite(e.loss))).toBe(true);
    expect(Object.keys(doc.config.params).sort()).toEqual(['particleDiameter', 'porosity']);
    expect(doc.config.voxelSize).toBe(0.5);
    expect(doc.best.terms.map((t) => t.name)).toEqual(expect.arrayContaining(['fraction_0', 'ssa_1', 'thickness_0', 's2_z', 'tau_0+2_x', 'tau_0+2_z']));
    expect(doc.validation).toHaveLength(1);
    expect(readFileSync(cfg, 'utf8')).toMatch(/^# poreloop twin calibrate grain-electrode .*loss/);
    const vol = join(dir, 'g.npy');
    io.stdout = '';
    expect(await main(['twin', 'generate', '--config', cfg, '--out', vol, '--json'])).toBe(0);
    expect((JSON.parse(io.stdout) as { requested: Record<string, number> }).requested.porosity).toBe(doc.config.params.porosity);
  });

  it('checks the S2 lag range only when s2 is matched, and defaults it to what the target holds (review 2026-12-07, item 3)', async () => {
    // The 32×24×16 crop as .npy, as the review ran it: rmax 16 was the default and refused it
    // as a bad --size, which was not given, even with s2 left out of --props.
    const npy = new URL('../../../tests/fixtures/real/nmc-u16.npy', import.meta.url).pathname;
    const base = ['twin', 'calibrate', 'grain-electrode', '--to', npy, '--transport', '0,2', '--fit', 'porosity,particleDiameter', '--budget', '2', '--validate', '0', '--json'];
    io.stdout = '';
    expect(await main([...base, '--props', 'fraction,tau'])).toBe(0);
    const noS2 = JSON.parse(io.stdout) as { target: { s2?: unknown }; best: { terms: Array<{ group: string }> } };
    expect(noS2.target.s2).toBeUndefined();
    expect(noS2.best.terms.map((t) => t.group)).not.toContain('s2');
    // With s2 and no --rmax: half the smallest side (16 / 2), every axis compared.
    io.stdout = '';
    expect(await main([...base, '--props', 'fraction,s2'])).toBe(0);
    const s2 = JSON.parse(io.stdout) as { target: { s2: { rmax: number } }; best: { terms: Array<{ name: string }> } };
    expect(s2.target.s2.rmax).toBe(8);
    expect(s2.best.terms.map((t) => t.name)).toEqual(['fraction_0', 'fraction_1', 'fraction_2', 's2_x', 's2_y', 's2_z']);
    // An explicit --rmax the volume cannot hold is --rmax's error, with both shapes.
    expect(await main([...base, '--props', 'fraction,s2', '--rmax', '16'])).toBe(2);
    expect(io.stderr).toMatch(/--rmax: S2 lags up to 16 voxels need every side to exceed 16: the generated volume is 32×24×16, the target 32×24×16; give a smaller --rmax \(8, half the smallest side, when omitted\)/);
    expect(io.stderr).not.toMatch(/--size:/);
  });

  it('refuses unknown descriptor groups, agents and twins with exit 2', async () => {
    expect(await main(['twin', 'calibrate', 'grain-electrode', '--to', real, '--props', 'porosity'])).toBe(2);
    expect(io.stderr).toMatch(/unknown descriptor group "porosity"; allowed: fraction, ssa, psd, s2, tau/);
    expect(await main(['twin', 'calibrate', 'grain-electrode', '--to', real, '--agent', 'nope'])).toBe(2);
    expect(io.stderr).toMatch(/unknown agent "nope"/);
    expect(await main(['twin', 'calibrate', 'brick', '--to', real])).toBe(2);
    expect(io.stderr).toMatch(/unknown twin "brick"; available: fibre-gdl, gan, grain-electrode, sofc-anode/);
  });
});
