import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { readVolume } from '../../voxel/io.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-twin-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const io = captureOutput();

describe('poreloop twin', () => {
  it('lists the twins with parameters (units, bounds, defaults) and stages as one JSON document', async () => {
    expect(await main(['twin', 'list', '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { twins: Array<{ name: string; stages: unknown[]; parameters: Array<Record<string, unknown>> }> };
    expect(doc.twins.map((t) => t.name)).toEqual(['fibre-gdl', 'gan', 'grain-electrode', 'sofc-anode']);
    const p = doc.twins[0].parameters.find((q) => q.name === 'fibreDiameter')!;
    expect(p).toMatchObject({ unit: 'µm', min: 3, max: 20, default: 7 });
    expect(doc.twins[0].stages).toHaveLength(4);
  });

  it('generates a volume, a preview and prints requested vs achieved', async () => {
    const out = join(dir, 'g.npy');
    const png = join(dir, 'g.png');
    const code = await main(['twin', 'generate', 'fibre-gdl', '--size', '32,32,16', '--voxel', '2', '--seed', '3', '--set', 'porosity=0.7', '--set', 'ptfeLoading=10', '--out', out, '--preview', png, '--json']);
    expect(code).toBe(0);
    const doc = JSON.parse(io.stdout) as { requested: Record<string, number>; achieved: Record<string, number>; size: number[] };
    expect(doc.requested.porosity).toBe(0.7);
    expect(Math.abs(doc.achieved.porosityPaper - 0.7)).toBeLessThanOrEqual(0.01);
    expect(readVolume(out).shape).toEqual([32, 32, 16]);
    expect(existsSync(png)).toBe(true);
  });

  it('takes a twin config file (Toray TGP-H-like) with flag overrides', async () => {
    const out = join(dir, 't.raw');
    const cfg = new URL('../../../configs/twins/toray-tgp-h.yaml', import.meta.url).pathname;
    expect(await main(['twin', 'generate', '--config', cfg, '--size', '48,48,95', '--out', out])).toBe(0);
    expect(io.stdout).toMatch(/fibre-gdl: 48×48×95 voxels of 2 µm/);
    expect(io.stdout).toMatch(/porosity\s+0.78\s+0.7\d+ \(paper\)/);
    expect(readVolume(out).voxelSize).toBe(2);
  });

  it('exits 2 with a clear message on bad input', async () => {
    const out = join(dir, 'x.npy');
    const cases: Array<[string[], RegExp]> = [
      [['twin', 'generate', 'fibre-gdl', '--set', 'fibreDiamter=7', '--out', out], /unknown parameter "fibreDiamter"/],
      [['twin', 'generate', 'fibre-gdl', '--set', 'porosity=0.2', '--out', out], /allowed 0.5 … 0.95/],
      [['twin', 'generate', 'fibre-gdl', '--out', join(dir, 'x.hdf5')], /unknown volume extension "\.hdf5"; allowed formats: \.npy/],
      [['twin', 'generate', 'wood', '--out', out], /unknown twin "wood"; available: fibre-gdl/],
      [['twin', 'generate', 'fibre-gdl', '--size', '8,8', '--out', out], /expected N or nx,ny,nz/],
      [['twin', 'generate', 'grain-electrode', '--set', 'castPorosity=0.3', '--set', 'porosity=0.5', '--out', out], /castPorosity 0.3 is below porosity 0.5/],
    ];
    for (const [argv, msg] of cases) {
      io.stderr = '';
      expect(await main(argv)).toBe(2);
      expect(io.stderr).toMatch(msg);
    }
  });

  it('checks --out\'s folder before generating, as volume and reconstruct do (review 2026-12-07)', async () => {
    // The folder's error comes first, though the twin would refuse porosity 0.2: nothing is generated
    // for a volume that cannot be written (writeVolume found the missing folder only afterwards).
    io.stderr = '';
    const out = join(dir, 'no-such-folder', 'x.npy');
    expect(await main(['twin', 'generate', 'fibre-gdl', '--set', 'porosity=0.2', '--out', out])).toBe(2);
    expect(io.stderr).toMatch(/the output folder .*no-such-folder does not exist; create it first/);
  });

  it("blames a twin config's own keys, quoting what they hold (review 2026-12-07)", async () => {
    const out = join(dir, 'y.npy');
    const cfg = (text: string) => {
      const path = join(dir, `c${text.length}.yaml`);
      writeFileSync(path, `twin: fibre-gdl\n${text}\n`);
      return path;
    };
    const flat = cfg('size: [32, 32]');
    io.stderr = '';
    expect(await main(['twin', 'generate', '--config', flat, '--out', out])).toBe(2);
    // It said "--size: … got "32,32"", a flag nobody gave.
    expect(io.stderr).toContain(`${flat}: size: expected N or [nx, ny, nz] with integers in 4 … 1024, got [32,32]`);
    io.stderr = '';
    expect(await main(['twin', 'generate', '--config', cfg('size: 16\nvoxelSize: "2"'), '--out', out])).toBe(2);
    expect(io.stderr).toContain('voxelSize must be a number in (0, 1000] µm, got "2"');
  });

  it('keeps a space between a long statistic name and its value (review 2026-12-07)', async () => {
    // grain-electrode's activeVolumeConservation (24 characters) was glued to its value.
    expect(await main(['twin', 'generate', 'grain-electrode', '--size', '24,24,16', '--voxel', '1', '--out', join(dir, 'z.npy')])).toBe(0);
    expect(io.stdout).toMatch(/\n {2}activeVolumeConservation {2,}\d/);
  });
});
