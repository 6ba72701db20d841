import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../tests/helpers.js';
import { BadInputError } from '../core/errors.js';
import { resolveCampaign } from './load.js';

/**
 * Review 2026-12-07: a misspelt name in predict.properties or predict.context was accepted.
 * `properties: [porosity, tau_zz]` ran, exit 0, every prediction "—"; `context: { agingHour: 5000 }`
 * ran with the 1000 h default. Both are refused at load (exit 2), listing the allowed names.
 */
const catalogue = {
  porosity: {},
  tau_z: {},
  sigma_eff_z: { context: ['sigma_<label>'] },
  limitingCurrent: { context: ['temperature', 'pressure', 'oxygenFraction', 'thickness'] },
  sofcAnodeLoss: { context: ['temperature', 'currentDensity'] },
  sofcAnodeLossAged: { context: ['temperature', 'currentDensity', 'agingHours'] },
};
const registries = {
  twins: { 'fibre-gdl': { parameters: [{ kind: 'continuous' as const, name: 'ptfeLoading', min: 0, max: 40 }] } },
  agents: ['random'],
  properties: catalogue,
};
const base = (predict: Record<string, unknown>, measure: string[] = ['porosity']) => ({
  name: 'unit',
  twin: { name: 'fibre-gdl', size: [16, 16, 8], voxelSize: 2 },
  space: { ptfeLoading: { min: 0, max: 30 } },
  predict,
  reward: 'porosity',
  agent: { name: 'random' },
  rigs: { pipeline: ['characterise'], measure },
  budget: { rigRuns: 4 },
});
const load = (c: unknown) => () => resolveCampaign(c, registries, {}, {}, 'c.yaml');

describe('a stored config (resume) recorded before these checks is not refused by them (diff review 2026-12-07)', () => {
  it('the names a new config would be refused for are warnings of the resolved stored config, which stays as it was', () => {
    const old = base({ properties: ['porosity', 'tau_zz'], context: { temperature: 350 } });
    expect(load(old)).toThrow(/unknown property "tau_zz"/);
    const stored = resolveCampaign(old, registries, { storedConfig: true }, {}, 'c.yaml');
    expect(stored.config.predict?.properties).toEqual(['porosity', 'tau_zz']);
    expect(stored.warnings).toEqual([expect.stringMatching(/^predict\.properties\.1: unknown property "tau_zz" .*; the campaign was recorded with it and goes on as it ran$/)]);
    expect(load(base({ properties: ['porosity'] }))().warnings).toEqual([]);
  });
});

describe('predict.properties and predict.context are checked at load', () => {
  it('refuses a property the physics does not compute, naming it, a close name and the known ones', () => {
    expect(load(base({ properties: ['porosity', 'tau_zz', 'limitingCurrent'] }))).toThrow(BadInputError);
    expect(load(base({ properties: ['porosity', 'tau_zz', 'limitingCurrent'] }))).toThrow(
      'c.yaml: predict.properties.1: unknown property "tau_zz" (did you mean tau_z?); the P-model computes (docs/physics.md): limitingCurrent, porosity, sigma_eff_z, sofcAnodeLoss, sofcAnodeLossAged, tau_z',
    );
    expect(load(base({ properties: ['sofcAnodeLossAgd', 'sofcAnodeLoss'] }))).toThrow(/predict\.properties\.0: unknown property "sofcAnodeLossAgd" \(did you mean sofcAnodeLossAged\?\)/);
    // A prototype key is no property.
    expect(load(base({ properties: ['porosity', 'constructor'] }))).toThrow(/unknown property "constructor"/);
    expect(load(base({ properties: ['porosity', 'tau_z'] }))().config.predict?.properties).toEqual(['porosity', 'tau_z']);
  });

  it('refuses a context key no model of the campaign reads, listing those they read', () => {
    expect(load(base({ properties: ['sofcAnodeLossAged', 'sofcAnodeLoss'], context: { agingHour: 5000 } }))).toThrow(
      'c.yaml: predict.context.agingHour: "agingHour" is not read by the models of this campaign\'s properties (sofcAnodeLossAged, sofcAnodeLoss, porosity); they read: agingHours, currentDensity, temperature (did you mean agingHours?)',
    );
    // A key of another model (the PEMFC's oxygenFraction in an SOFC campaign) does nothing either.
    expect(load(base({ properties: ['sofcAnodeLoss'], context: { oxygenFraction: 0.5 } }))).toThrow(/predict\.context\.oxygenFraction: .*they read: currentDensity, temperature$/);
    expect(load(base({ properties: ['porosity'], context: { temperature: 300 } }))).toThrow(/none of them reads a context key/);
    expect(load(base({ properties: ['sofcAnodeLossAged'], context: { agingHours: 5000, temperature: 1073 } }))().config.predict?.context).toEqual({ agingHours: 5000, temperature: 1073 });
    expect(load(base({ properties: ['porosity', 'sigma_eff_z'], context: { sigma_1: 2e4, sigma_3: 0 } }))().config.predict?.context).toEqual({ sigma_1: 2e4, sigma_3: 0 });
    // The simulated rigs measure with the same physics and context: their properties' keys count.
    expect(load(base({ properties: ['porosity'], context: { temperature: 300 } }, ['porosity', 'limitingCurrent']))().config.predict?.context).toEqual({ temperature: 300 });
  });

  it('without a twin: context has no model to read it; property names are the data\'s (rigs.measure, warmStart.csv), not the physics\'', () => {
    const twinless = (predict: Record<string, unknown>) => ({ ...base(predict, ['porosity', 'yield']), twin: undefined, space: { x: { min: 0, max: 1 } } });
    expect(load(twinless({ properties: ['porosity'], context: { temperature: 300 } }))).toThrow(/predict\.context: .*only in a campaign with a twin/);
    expect(load(twinless({ properties: ['porosity', 'yield'] }))().config.predict?.properties).toEqual(['porosity', 'yield']);
  });

  it('poreloop run and doctor --config refuse a shipped config with a misspelt name; the composition root passes the physics catalogue', async () => {
    const dir = tmp();
    const sofc = (edit: (c: Record<string, any>) => void) => {
      const c = YAML.parse(readFileSync(fileURLToPath(new URL('../../configs/sofc-device.yaml', import.meta.url)), 'utf8'));
      edit(c);
      const path = join(dir, `sofc-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(path, YAML.stringify(c));
      return path;
    };
    const misspelt = sofc((c) => (c.predict.properties = ['sofcAnodeLossAgd', 'sofcAnodeLoss']));
    const doctor = await cli(['doctor', '--config', misspelt, '--broker', 'mqtt://127.0.0.1:1', '--wait', '100']);
    expect(doctor.stdout + doctor.stderr).toMatch(/FAIL config: .*predict\.properties\.0: unknown property "sofcAnodeLossAgd" \(did you mean sofcAnodeLossAged\?\)/);
    const db = join(dir, 'l.db');
    const run = await cli(['run', sofc((c) => (c.predict.context = { agingHour: 5000 })), '--db', db]);
    expect(run.stderr).toMatch(/predict\.context\.agingHour: "agingHour" is not read .*\(did you mean agingHours\?\)/);
    expect(run.code).toBe(2);
    // Refused before anything was recorded.
    expect(existsSync(db)).toBe(false);
  }, 60_000);
});
