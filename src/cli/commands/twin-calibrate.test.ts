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

  it('refuses unknown descriptor groups, agents and twins with exit 2', async () => {
    expect(await main(['twin', 'calibrate', 'grain-electrode', '--to', real, '--props', 'porosity'])).toBe(2);
    expect(io.stderr).toMatch(/unknown descriptor group "porosity"; allowed: fraction, ssa, psd, s2, tau/);
    expect(await main(['twin', 'calibrate', 'grain-electrode', '--to', real, '--agent', 'nope'])).toBe(2);
    expect(io.stderr).toMatch(/unknown agent "nope"/);
    expect(await main(['twin', 'calibrate', 'brick', '--to', real])).toBe(2);
    expect(io.stderr).toMatch(/unknown twin "brick"; available: fibre-gdl, gan, grain-electrode, sofc-anode/);
  });
});
