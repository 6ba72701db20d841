import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCampaign } from '../src/compose/campaign.js';
import { cli, tmp } from './helpers.js';

/**
 * Review 2026-12-07: twin.fixed values, voxelSize and size were never checked against the twin
 * at load. `--set twin.fixed.fibreDiameter=50` or `--set twin.voxelSize=10` loaded, every trial
 * was abandoned ("handler failed: voxelSize: fibreDiameter 7 µm is smaller than one voxel…",
 * seen only in `status`) and the run ended "completed", exit 0.
 */
const DEMO = fileURLToPath(new URL('../configs/demo-gdl.yaml', import.meta.url));
const load = (...set: string[]) => () => loadCampaign(DEMO, { set });

describe('campaign config: the twin checks twin.fixed, voxelSize and size at load', () => {
  it('refuses fixed values outside the twin parameter specs, naming the key and what is allowed', () => {
    expect(load('twin.fixed.fibreDiameter=50')).toThrow(/demo-gdl\.yaml: twin\.fixed\.fibreDiameter: 50 is not a value twin fibre-gdl takes for fibreDiameter; allowed: a number in 3 … 20 µm/);
    expect(load('twin.fixed.fibreDiameter=abc')).toThrow(/twin\.fixed\.fibreDiameter: "abc" is not a value .*allowed: a number in 3 … 20 µm/);
    expect(load('twin.fixed.fibreDiameterCv=-1')).toThrow(/twin\.fixed\.fibreDiameterCv: -1 is not a value .*allowed: a number in 0 … 0\.5/);
  });

  it('refuses a voxelSize or size the twin cannot generate with, naming twin.voxelSize / twin.size', () => {
    expect(load('twin.voxelSize=10')).toThrow(/demo-gdl\.yaml: twin\.voxelSize: fibreDiameter 7 µm is smaller than one voxel \(10 µm\): use voxelSize ≤ 7 µm/);
    expect(load('twin.voxelSize=5000')).toThrow(/twin\.voxelSize: voxelSize must be a number in \(0, 1000\] µm, got 5000/);
    // 7 µm fibres (fixed) in 6 voxels of 2 µm: the domain holds diameters ≤ 6 µm.
    expect(load('twin.size=[6,6,6]')).toThrow(/twin\.fixed\.fibreDiameter: fibreDiameter 7 µm does not fit the domain: 6×6×6 voxels of 2 µm is 12 µm across in plane, which holds mean diameters ≤ 6 µm/);
    expect(load('twin.size=[8,8,8]')().config.twin?.size).toEqual([8, 8, 8]);
  });

  it('checks the corners of the search space: a searched diameter is checked at both its bounds', () => {
    // fibreDiameter searched in [3, 12] at 4 µm voxels: its lower bound is under one voxel.
    const searched = ['twin.fixed={}', 'space.fibreDiameter.min=3', 'space.fibreDiameter.max=12', 'twin.fixed.fibreDiameterCv=0.1'];
    expect(load(...searched, 'twin.voxelSize=4')).toThrow(/twin\.voxelSize: fibreDiameter 3 µm is smaller than one voxel \(4 µm\).*\(at fibreDiameter=3, a corner of the search space\)/);
    // Its upper bound does not fit 16 voxels of 1 µm (≤ 8 µm): the space is to blame.
    expect(load(...searched, 'twin.voxelSize=1', 'twin.size=[16,16,16]')).toThrow(/space\.fibreDiameter: fibreDiameter 12 µm does not fit the domain.*\(at fibreDiameter=12, a corner of the search space\)/);
    expect(load(...searched, 'twin.voxelSize=1', 'twin.size=[24,24,16]')().space.parameters.map((p) => p.name)).toContain('fibreDiameter');
  });

  it('the run exits 2 before anything starts', async () => {
    const dir = tmp('poreloop-twincheck-');
    const r = await cli(['run', DEMO, '--db', join(dir, 'l.db'), '--set', 'twin.voxelSize=10', '--set', 'budget.rigRuns=4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/twin\.voxelSize: fibreDiameter 7 µm is smaller than one voxel/);
    // A grain-electrode config: a pool row is checked as it is.
    const path = join(dir, 'g.yaml');
    writeFileSync(join(dir, 'pool.csv'), 'particleDiameter,porosity\n8,0.3\n20,0.3\n');
    writeFileSync(
      path,
      YAML.stringify({
        name: 'g',
        twin: { name: 'grain-electrode', size: [24, 24, 16], voxelSize: 1 },
        space: { pool: 'pool.csv' },
        predict: { properties: ['porosity'] },
        reward: 'porosity',
        agent: { name: 'random' },
        rigs: { pipeline: ['characterise'], measure: ['porosity'] },
        budget: { rigRuns: 2 },
      }),
    );
    expect(() => loadCampaign(path)).toThrow(/space\.pool: particleDiameter 20 µm does not fit the domain: 24×24×16 voxels of 1 µm .*\(at particleDiameter=20, in a row of space\.pool\)/);
  });

  it('refuses a predict.context value physics does not take, at load, naming predict.context.<key> (review 2026-12-07)', () => {
    // Checked only per simulation before, whose failure the predictor drops: the campaign ran without physics data.
    expect(load('predict.context.temperature=-10')).toThrow(/demo-gdl\.yaml: predict\.context\.temperature: context temperature = -10: must be > 0 K/);
    expect(load('predict.context.sigma_1=-1')).toThrow(/predict\.context\.sigma_1: context sigma_1 = -1: negative conductivities are refused; must be ≥ 0 S\/m/);
    expect(load('predict.context.temperature=353')().config.predict?.context?.temperature).toBe(353);
  });
});
