import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGanTwin } from '../../twins/gan.js';
import { BadInputError } from '../core/errors.js';
import { loadCampaignFile, parseDuration, parseLinearConstraint, resolveCampaign } from './load.js';
import { schemaText, SCHEMA_PATH } from './write-schema.js';

const registries = {
  twins: { 'fibre-gdl': { parameters: [{ kind: 'continuous' as const, name: 'ptfeLoading', min: 0, max: 40 }, { kind: 'continuous' as const, name: 'fibreDiameter', min: 4, max: 12 }] } },
  agents: ['random', 'sobol'],
};
const base = () => ({
  name: 'unit',
  twin: { name: 'fibre-gdl', size: [16, 16, 8], voxelSize: 2, fixed: { fibreDiameter: 7 } },
  space: { ptfeLoading: { min: 0, max: 30, unit: 'wt%' } },
  predict: { properties: ['porosity', 'tau_z'] },
  reward: 'porosity / tau_z - ptfeLoading / 100',
  agent: { name: 'random' },
  // Every name the reward reads is measured (a prediction never enters a measured reward).
  rigs: { pipeline: ['characterise'], measure: ['porosity', 'tau_z'] },
  budget: { rigRuns: 4 },
});

describe('campaign config', () => {
  it('fills defaults, builds the space and compiles the reward', () => {
    const r = resolveCampaign(base(), registries, {}, {});
    expect(r.config.seed).toBe(1);
    expect(r.config.agent.batchSize).toBe(4);
    expect(r.space.parameters).toEqual([{ kind: 'continuous', name: 'ptfeLoading', min: 0, max: 30, unit: 'wt%', log: false, default: undefined, description: undefined }]);
    expect(r.reward!.evaluate({ porosity: 0.8, tau_z: 2, ptfeLoading: 10 })).toBeCloseTo(0.3);
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.timeoutMs).toBe(600_000);
    expect(Object.isFrozen(r.config)).toBe(true);
  });

  it('applies precedence defaults < file < environment < CLI flags', () => {
    const file = { ...base(), seed: 5, budget: { rigRuns: 4 } };
    expect(resolveCampaign(file, registries, {}, {}).config.seed).toBe(5);
    const env = { PORELOOP_SEED: '7', PORELOOP_SET: 'budget.rigRuns=9;agent.batchSize=2' };
    const e = resolveCampaign(file, registries, {}, env);
    expect([e.config.seed, e.config.budget.rigRuns, e.config.agent.batchSize]).toEqual([7, 9, 2]);
    const c = resolveCampaign(file, registries, { seed: 11, set: ['budget.rigRuns=3'] }, env);
    expect([c.config.seed, c.config.budget.rigRuns, c.config.agent.batchSize]).toEqual([11, 3, 2]);
    expect(resolveCampaign(file, registries, {}, {}).hash).not.toBe(c.hash);
  });

  it('PORELOOP_SEED: an integer in [0, 2³²−1], or empty for unset; anything else is refused naming the variable and its value (review of the CLI, 2026-12-07)', () => {
    const file = { ...base(), seed: 5 };
    // Empty, as `PORELOOP_SEED= poreloop run …` leaves it: unset (as an empty PORELOOP_BROKER), not seed 0.
    expect(resolveCampaign(file, registries, {}, { PORELOOP_SEED: '' }).config.seed).toBe(5);
    expect(resolveCampaign(file, registries, {}, { PORELOOP_SEED: ' 0 ' }).config.seed).toBe(0);
    for (const bad of ['abc', '-1', '1.5', '1e3', '4294967296', '0x10']) {
      const attempt = () => resolveCampaign(file, registries, {}, { PORELOOP_SEED: bad }, 'conf/c.yaml');
      expect(attempt, bad).toThrow(BadInputError);
      // The variable is to blame, not the config file, and its value is shown (it was `got null`).
      expect(attempt, bad).toThrow(`PORELOOP_SEED: expected an integer in [0, 4294967295] (or empty for none), got "${bad}"`);
    }
  });

  it.each([
    [{ agent: { name: 'random', batchSize: 'four' } }, /agent\.batchSize: expected integer in \[1, 1000\], got "four"/],
    [{ agent: { name: 'random', candidates: 1, batchSize: 2 } }, /agent\.batchSize: 2 is more than agent\.candidates \(1, .*\); use batchSize ≤ candidates/],
    [{ agent: { name: 'random', batchSize: 20 } }, /agent\.batchSize: 20 is more than agent\.candidates \(16,/],
    [{ agent: { name: 'simulated-annealing' } }, /agent\.name: unknown agent "simulated-annealing"; known agents: random, sobol/],
    [{ twin: { name: 'woven-cloth', size: [8, 8, 8], voxelSize: 1 } }, /twin\.name: unknown twin "woven-cloth"; known twins: fibre-gdl/],
    [{ space: { binder: { min: 0, max: 1 } } }, /space\.binder: "binder" is not a parameter of twin fibre-gdl/],
    [{ space: { ptfeLoading: { min: 0, max: 90 } } }, /space\.ptfeLoading: bounds \[0, 90\] exceed what twin fibre-gdl allows, \[0, 40\]/],
    [{ space: { ptfeLoading: { min: 5, max: 1 } } }, /space\.ptfeLoading: expected max > min/],
    [{ reward: 'porosity = 1' }, /reward: assignment is not allowed/],
    [{ reward: 'import("fs")' }, /reward: .*not allowed/],
    [{ reward: 'secretSauce * 2' }, /unknown name "secretSauce"/],
    [{ budget: { rigRuns: 0 } }, /budget\.rigRuns: expected integer ≥ 1, got 0/],
    [{ colour: 'blue' }, /unknown key "colour"/],
    [{ rigs: { pipeline: [], measure: [] } }, /rigs\.pipeline: expected at least one capability/],
    [{ twin: { name: 'fibre-gdl', size: [8, 8], voxelSize: 2 } }, /twin\.size: expected \[nx, ny, nz\]/],
    [{ rigs: { pipeline: ['x'], timeout: 'soon' } }, /rigs\.timeout: expected a duration/],
    [{ rigs: { pipeline: ['characterise'], measure: ['tau_z'], simulate: { rigs: [{ id: 'orchestrator', capabilities: ['characterise'] }] } } }, /rigs\.simulate\.rigs\.0\.id: 'orchestrator' is reserved/],
    [{ twin: undefined, predict: { properties: ['tau_z'], screen: 64 } }, /predict\.screen: screening needs a twin/],
    [{ predict: { properties: ['tau_z'], screen: 0 } }, /predict\.screen: expected integer in \[1, 100000\], got 0/],
  ])('rejects %j with a message naming the path', (patch, msg) => {
    const bad = { ...base(), ...patch };
    expect(() => resolveCampaign(bad, registries, {}, {})).toThrow(BadInputError);
    expect(() => resolveCampaign(bad, registries, {}, {})).toThrow(msg);
  });

  it.each([
    [{ agent: { name: 'seqence' } }, 'agent.name: unknown agent "seqence"; known agents: random, sobol'],
    [{ twin: { name: 'woven-cloth', size: [8, 8, 8], voxelSize: 1 } }, 'twin.name: unknown twin "woven-cloth"'],
    [{ agent: { name: 'random', candidates: 1, batchSize: 2 } }, 'agent.batchSize: 2 is more than agent.candidates'],
    [{ reward: 'secretSauce * 2' }, 'reward: '],
    [{ objectives: [{ name: 'nothing', goal: 'max' }, { name: 'tau_z', goal: 'min' }] }, 'objectives.0.name: objective "nothing" is neither a property nor a parameter'],
  ])('names the config file before a cross-field error, as the schema errors do (review of the CLI, 2026-12-07): %j', (patch, msg) => {
    const bad = { ...base(), ...patch };
    expect(() => resolveCampaign(bad, registries, {}, {}, '/conf/c.yaml')).toThrow(BadInputError);
    expect(() => resolveCampaign(bad, registries, {}, {}, '/conf/c.yaml')).toThrow(`/conf/c.yaml: ${msg}`);
  });

  it('an error in the environment or a flag names that, not the config file', () => {
    expect(() => resolveCampaign(base(), registries, {}, { PORELOOP_SEED: 'x' }, '/conf/c.yaml')).toThrow(/^PORELOOP_SEED: /);
    expect(() => resolveCampaign(base(), registries, { set: ['novalue'] }, {}, '/conf/c.yaml')).toThrow(/^--set: expected path=value/);
  });

  it('reads YAML files and reports missing files and syntax errors with a location', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-cfg-'));
    expect(() => loadCampaignFile(join(dir, 'nope.yaml'), registries)).toThrow(/config file not found/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: x\nspace:\n  a: { min: 0, max: 1\nagent: {name: random}\n');
    expect(() => loadCampaignFile(broken, registries)).toThrow(/YAML syntax error at line \d+, column \d+/);
  });

  it('parses linear and sum constraints and refuses non-linear ones', () => {
    expect(parseLinearConstraint('a + b + c == 1', ['a', 'b', 'c'], 'c')).toEqual({ coefficients: { a: 1, b: 1, c: 1 }, op: '==', rhs: 1 });
    expect(parseLinearConstraint('2*x - y <= 3 + y', ['x', 'y'], 'c')).toEqual({ coefficients: { x: 2, y: -2 }, op: '<=', rhs: 3 });
    expect(() => parseLinearConstraint('x * y <= 1', ['x', 'y'], 'space.constraints.0')).toThrow(/not linear/);
    expect(() => parseLinearConstraint('x + 1', ['x'], 'space.constraints.0')).toThrow(/expected a linear constraint/);
  });

  it('loads a candidate pool CSV relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-pool-'));
    writeFileSync(join(dir, 'pool.csv'), 'a,b,c\n0.2,0.3,0.5\n0.1,0.1,0.8\n0.2,0.3,0.5\n');
    const cfg = { ...base(), twin: undefined, predict: undefined, reward: 'y', space: { pool: 'pool.csv', constraints: ['a + b + c == 1'] }, rigs: { pipeline: ['measure'], measure: ['y'] } };
    const r = resolveCampaign(cfg, registries, {}, {}, join(dir, 'campaign.yaml'));
    expect(r.space.pool).toHaveLength(2);
    expect(r.space.parameters.map((p) => p.name)).toEqual(['a', 'b', 'c']);
  });

  it('refuses pool columns that are not the twin\'s parameters, are fixed, or leave its bounds (issue #19 review)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-pool-'));
    const withPool = (csv: string, space: Record<string, unknown> = { pool: 'pool.csv' }) => {
      writeFileSync(join(dir, 'pool.csv'), csv);
      return () => resolveCampaign({ ...base(), reward: 'porosity', space }, registries, {}, {}, join(dir, 'campaign.yaml'));
    };
    expect(withPool('ptfeLoading,speed\n1,2\n3,4\n')).toThrow(/space\.pool: pool column "speed" is not a parameter of twin fibre-gdl; .*: ptfeLoading/);
    expect(withPool('ptfeLoading,fibreDiameter\n1,5\n3,6\n')).toThrow(/pool column "fibreDiameter" is fixed by twin\.fixed\.fibreDiameter/);
    expect(withPool('ptfeLoading\n1\n90\n')).toThrow(/pool column "ptfeLoading" ranges over \[1, 90\], beyond what twin fibre-gdl allows, \[0, 40\]/);
    expect(withPool('ptfeLoading\n1\n30\n')().space.parameters).toEqual([{ kind: 'continuous', name: 'ptfeLoading', min: 1, max: 30 }]);
    // Beside declared parameters, the columns are exactly those parameters.
    expect(withPool('ptfeLoading,model\n1,/etc\n', { ptfeLoading: { min: 0, max: 30 }, pool: 'pool.csv' })).toThrow(/pool column "model" is not a declared parameter/);
    expect(withPool('a\n1\n', { ptfeLoading: { min: 0, max: 30 }, pool: 'pool.csv' })).toThrow(/pool column "a" is not a declared parameter/);
  });

  describe('a trained model as the twin (twin.model, issue #19 review)', () => {
    const gan = {
      twins: {
        ...registries.twins,
        // The real twin's reader (twins/gan.ts): the loader must accept exactly what generation accepts.
        gan: { parameters: createGanTwin().parameters, trainedModel: createGanTwin().trainedModel },
      },
      agents: registries.agents,
    };
    // tests/fixtures/gan-tiny: conditioned on porosity, trained on [0.0225, 0.619]; labels 0, 1, 2.
    const model = (meta?: (m: Record<string, unknown>) => void) => {
      const dir = mkdtempSync(join(tmpdir(), 'poreloop-gan-cfg-'));
      cpSync('tests/fixtures/gan-tiny', join(dir, 'model'), { recursive: true });
      if (meta) {
        const m = JSON.parse(readFileSync(join(dir, 'model', 'metadata.json'), 'utf8'));
        meta(m);
        writeFileSync(join(dir, 'model', 'metadata.json'), JSON.stringify(m));
      }
      return dir;
    };
    const load = (dir: string, patch: Record<string, unknown> = {}) => () =>
      resolveCampaign(
        { ...base(), twin: { name: 'gan', size: [8, 8, 8], voxelSize: 0.5, model: 'model' }, space: { condition: { min: 0.1, max: 0.5 } }, reward: 'porosity', ...patch },
        gan,
        {},
        {},
        join(dir, 'campaign.yaml'),
      );

    it('a pool cannot override twin.model, and the fixed folder wins', () => {
      const dir = model();
      writeFileSync(join(dir, 'pool.csv'), 'condition,model\n0.2,/etc\n0.3,/tmp\n');
      expect(load(dir, { space: { pool: 'pool.csv' } })).toThrow(/space\.pool: pool column "model" is fixed by twin\.model and cannot be searched; .*: condition/);
      writeFileSync(join(dir, 'pool.csv'), 'condition\n0.2\n0.3\n');
      const r = load(dir, { space: { pool: 'pool.csv' } })();
      expect(r.space.parameters.map((p) => p.name)).toEqual(['condition']);
      expect(r.config.twin!.fixed.model).toBe(join(dir, 'model'));
    });

    it('refuses condition bounds, pool values or a fixed value outside the trained range, and any condition for an unconditioned model', () => {
      const dir = model();
      expect(load(dir)().space.parameters[0]).toMatchObject({ name: 'condition', min: 0.1, max: 0.5 });
      expect(load(dir, { space: { condition: { min: 0, max: 1 } } })).toThrow(/space\.condition: condition \(porosity\) bounds \[0, 1\] exceed the range the model in .* was trained on, \[0\.0224609375, 0\.618896484375\]/);
      expect(load(dir, { space: { condition: { values: [0.2, 0.7] } } })).toThrow(/values 0\.7 exceed the range/);
      writeFileSync(join(dir, 'pool.csv'), 'condition\n0.2\n0.9\n');
      expect(load(dir, { space: { pool: 'pool.csv' } })).toThrow(/space\.pool: condition \(porosity\) bounds \[0\.2, 0\.9\] exceed/);
      // An edited metadata.json is read afresh in the same process (the twin's cache is keyed on all three files).
      const m = JSON.parse(readFileSync(join(dir, 'model', 'metadata.json'), 'utf8'));
      writeFileSync(join(dir, 'model', 'metadata.json'), JSON.stringify({ ...m, condition: { ...m.condition, max: 0.3 } }));
      expect(load(dir)).toThrow(/space\.condition: condition \(porosity\) bounds \[0\.1, 0\.5\] exceed the range the model in .* was trained on, \[0\.0224609375, 0\.3\]/);
      // Metadata that says "unconditioned" on a conditioned generator is a damaged folder, which
      // generation would refuse: refused here too (the loader uses the twin's own reader).
      expect(load(model((m) => (m.condition = null)))).toThrow(/twin\.model: .*model: the generator is conditioned, so metadata\.json condition must be/);
      // A model trained without a condition takes none (the loader's own rule, on what the twin reports).
      const unconditioned = { ...gan, twins: { ...gan.twins, gan: { ...gan.twins.gan, trainedModel: () => ({ condition: null }) } } };
      const loadBare = () => resolveCampaign({ ...base(), twin: { name: 'gan', size: [8, 8, 8], voxelSize: 0.5, model: 'model' }, space: { condition: { min: 0.1, max: 0.5 } }, reward: 'porosity' }, unconditioned, {}, {}, join(dir, 'campaign.yaml'));
      expect(loadBare).toThrow(/space\.condition: the model in .* was trained without a conditioning parameter/);
    });

    it('refuses a model whose labels the twin does not declare, or without pore label 0, or with unreadable metadata', () => {
      expect(load(model((m) => ((m.labels = [0, 1, 255]), (m.phases = { 0: 'pore', 1: 'solid', 255: 'binder' }))))).toThrow(/twin\.model: .*model: the model's volumes carry label 255, which twin gan does not declare \(it declares 0, 1, 2, 3\)/);
      expect(load(model((m) => (m.labels = [1, 2, 3])))).toThrow(/twin\.model: .*no 0: label 0 is the pore phase/);
      const broken = model();
      writeFileSync(join(broken, 'model', 'metadata.json'), '{"labels": [0, 1');
      expect(load(broken)).toThrow(BadInputError);
      expect(load(broken)).toThrow(/twin\.model: .*model: metadata\.json is not valid JSON/);
      // A twin that is not a trained model takes no folder; one that is needs it.
      expect(load(model(), { twin: { name: 'fibre-gdl', size: [8, 8, 8], voxelSize: 0.5, model: 'model' } })).toThrow(/twin\.model: twin fibre-gdl takes no model folder \(only twins that are trained models do: gan\)/);
      expect(load(model(), { twin: { name: 'gan', size: [8, 8, 8], voxelSize: 0.5 } })).toThrow(/twin\.model: twin gan is a trained model and needs its folder: twin\.model/);
    });
  });

  it('parses durations', () => {
    expect(parseDuration('90s', 'x')).toBe(90_000);
    expect(parseDuration('2h', 'x')).toBe(7_200_000);
    expect(parseDuration(5, 'x')).toBe(5000);
  });

  it('the committed JSON Schema matches the zod schema (run `npm run schema` after changing it)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(schemaText());
  });
});
