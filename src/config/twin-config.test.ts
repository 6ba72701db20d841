import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../tests/helpers.js';
import { main } from '../cli/main.js';
import { configRegistries } from '../compose/campaign.js';
import { generateTwin } from '../compose/twins.js';
import { readVolume } from '../voxel/io.js';
import { loadCampaignFile, resolveCampaign } from './load.js';

/**
 * A campaign's twin.config (review 2026-12-07, item 4): docs/calibration.md said campaigns read
 * the file `poreloop twin calibrate --out` writes, but `twin: { config: … }` was an unknown key.
 * Through the real loader and the real twin registry.
 */
const dir = mkdtempSync(join(tmpdir(), 'poreloop-twin-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

// What twin calibrate --out writes (header, twin, params, size, voxelSize, seed).
const calibrated = (params: string, twin = 'grain-electrode') =>
  `# poreloop twin calibrate ${twin} --to real.npy: loss 0.5 after 8 evaluations (cmaes, seed 1)\ntwin: ${twin}\nparams:\n${params}size: [32, 24, 16]\nvoxelSize: 0.5\nseed: 1\n`;
const CAL = '  particleDiameter: 4.5\n  particleDiameterCv: 0.2\n  porosity: 0.33\n  cbdFraction: 0.08\n';

function campaign(folder: string, twin: Record<string, unknown>, space: Record<string, unknown> = { porosity: { min: 0.3, max: 0.4 } }): string {
  mkdirSync(folder, { recursive: true });
  const cfg = {
    name: 'calibrated',
    twin: { name: 'grain-electrode', size: [24, 24, 24], voxelSize: 0.5, ...twin },
    space,
    predict: { properties: ['porosity'] },
    reward: 'porosity',
    agent: { name: 'random', candidates: 2, batchSize: 1 },
    rigs: { pipeline: ['characterise'] },
    budget: { rigRuns: 1 },
  };
  const path = join(folder, 'campaign.yaml');
  writeFileSync(path, JSON.stringify(cfg)); // JSON is YAML
  return path;
}

describe('twin.config: a calibrated twin in a campaign (review 2026-12-07, item 4)', () => {
  it('holds the file’s params fixed; twin.fixed and the space win; a stored config reproduces its hash without the file', () => {
    const folder = join(dir, 'a');
    mkdirSync(folder);
    writeFileSync(join(folder, 'cal.yaml'), calibrated(CAL));
    const path = campaign(folder, { config: 'cal.yaml', fixed: { cbdFraction: 0.1 } });
    const r = loadCampaignFile(path, configRegistries(), {}, {});
    // porosity is searched (the space wins), cbdFraction is twin.fixed's, the rest are the file's.
    expect(r.config.twin!.fixed).toEqual({ particleDiameter: 4.5, particleDiameterCv: 0.2, cbdFraction: 0.1 });
    expect(r.space.parameters.map((p) => p.name)).toEqual(['porosity']);
    expect(r.config.twin!.config).toBe('cal.yaml');
    // resume: the stored (resolved) config holds the params; the file is not read again.
    rmSync(join(folder, 'cal.yaml'));
    const stored = resolveCampaign(JSON.parse(JSON.stringify(r.config)), configRegistries(), { storedConfig: true }, {}, r.source);
    expect(stored.hash).toBe(r.hash);
    expect(stored.config.twin!.fixed).toEqual(r.config.twin!.fixed);
  });

  it('makes the structures twin generate --config makes from the same file', async () => {
    const folder = join(dir, 'b');
    mkdirSync(folder);
    const cal = join(folder, 'cal.yaml');
    writeFileSync(cal, calibrated(CAL));
    const r = loadCampaignFile(campaign(folder, { config: 'cal.yaml' }), configRegistries(), {}, {});
    // A trial's volume: its params with twin.fixed over them (src/compose, dashboard trialVolume).
    const trial = { porosity: 0.36 };
    const grid = { seed: 3, size: [24, 24, 24] as [number, number, number], voxelSize: 0.5 };
    const inCampaign = await generateTwin('grain-electrode', { ...trial, ...r.config.twin!.fixed }, grid);
    const out = join(folder, 'g.npy');
    expect(await main(['twin', 'generate', '--config', cal, '--set', 'porosity=0.36', '--size', '24', '--voxel', '0.5', '--seed', '3', '--out', out, '--json'])).toBe(0);
    expect(Buffer.from(readVolume(out).data).equals(Buffer.from(inCampaign.voxels.data))).toBe(true);
  });

  it('refuses a file of another twin, unknown or bad params, a path outside the folder, and a calibrated value the domain cannot hold', () => {
    const folder = join(dir, 'c');
    mkdirSync(folder);
    const load = (file: string, twin: Record<string, unknown> = { config: 'cal.yaml' }) => {
      writeFileSync(join(folder, 'cal.yaml'), file);
      return () => loadCampaignFile(campaign(folder, twin), configRegistries(), {}, {});
    };
    expect(load(calibrated('  fibreDiameter: 7\n', 'fibre-gdl'))).toThrow(/campaign\.yaml: twin\.config: .*cal\.yaml is a config of twin "fibre-gdl", not of twin\.name "grain-electrode"/);
    expect(load(calibrated('  fibreDiameter: 7\n'))).toThrow(/twin\.config: .*cal\.yaml: "fibreDiameter" is not a parameter of twin grain-electrode/);
    expect(load(calibrated('  cbdFraction: 0.9\n'))).toThrow(/twin\.config: 0\.9 is not a value twin grain-electrode takes for cbdFraction/);
    expect(load(calibrated(CAL) + 'extra: 1\n')).toThrow(/twin\.config: .*cal\.yaml: unknown key "extra"/);
    expect(load(calibrated(CAL), { config: '../a/cal.yaml' })).toThrow(/twin\.config: "\.\.\/a\/cal\.yaml" lies outside the config's folder/);
    // 24 voxels of 0.5 µm hold particles up to 6 µm: the calibrated 20 µm is the file's to change.
    expect(load(calibrated('  particleDiameter: 20\n'))).toThrow(/twin\.config: particleDiameter 20 µm does not fit the domain/);
    expect(load(calibrated(CAL), { config: 'missing.yaml' })).toThrow(/twin\.config: .*missing\.yaml: file not found/);
  });
});
