import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../tests/helpers.js';
import { loadCampaign } from '../compose/campaign.js';

/**
 * Review 2026-12-07: predict.surrogate was checked only when the predictor was built, after the
 * campaign was recorded: `surrogate: { member: 2 }` left a "failed" campaign in the ledger, the
 * error read "surrogate: unknown option 'member'" without the file or `predict.`, and `doctor`
 * called the config valid. Now checked at load, like agent options: exit 2, nothing recorded.
 */
const DEMO = fileURLToPath(new URL('../../configs/demo-gdl.yaml', import.meta.url));
function demo(surrogate: unknown): string {
  const c = YAML.parse(readFileSync(DEMO, 'utf8'));
  c.predict.surrogate = surrogate;
  const path = join(tmp(), 'demo.yaml');
  writeFileSync(path, YAML.stringify(c));
  return path;
}

describe('predict.surrogate is checked at load', () => {
  it('names the file, predict.surrogate and the allowed options; wrong values and types too', () => {
    expect(() => loadCampaign(demo({ member: 2 }))).toThrow(/demo\.yaml: predict\.surrogate: unknown option 'member' \(allowed: name, members, architecture,/);
    expect(() => loadCampaign(demo({ members: 0 }))).toThrow(/demo\.yaml: predict\.surrogate\.members: must be a positive integer \(got 0\)/);
    expect(() => loadCampaign(demo({ learningRate: -1 }))).toThrow(/predict\.surrogate\.learningRate: must be > 0/);
    expect(() => loadCampaign(demo({ bootstrap: 'yes' }))).toThrow(/predict\.surrogate\.bootstrap: must be true or false \(got "yes"\)/);
    expect(() => loadCampaign(demo({ backend: 'gpu' }))).toThrow(/predict\.surrogate\.backend: must be "dense" or "conv"/);
    expect(() => loadCampaign(demo({ log: 'x' }))).toThrow(/predict\.surrogate: unknown option 'log'/);
    expect(loadCampaign(demo({ members: 3, epochs: 50 })).config.predict?.surrogate).toEqual({ members: 3, epochs: 50 });
  });

  it('run exits 2 before the ledger is touched; doctor --config fails the config', async () => {
    const path = demo({ member: 2 });
    const db = join(tmp(), 'l.db');
    const run = await cli(['run', path, '--db', db]);
    expect(run.stderr).toMatch(/demo\.yaml: predict\.surrogate: unknown option 'member'/);
    expect(run.code).toBe(2);
    expect(existsSync(db)).toBe(false);
    const doctor = await cli(['doctor', '--config', path, '--broker', 'mqtt://127.0.0.1:1', '--wait', '100']);
    expect(doctor.stdout + doctor.stderr).toMatch(/FAIL config: .*predict\.surrogate: unknown option 'member'/);
  }, 60_000);
});

describe('stages.target is checked before the reward (review 2026-12-07)', () => {
  it('a misspelt target key is the target\'s error, as docs/stages.md promises, not the reward\'s unknown target_<name>', () => {
    const stages = fileURLToPath(new URL('../../configs/grain-electrode-stages.yaml', import.meta.url));
    const c = YAML.parse(readFileSync(stages, 'utf8'));
    c.stages.target = { porositty: 0.3 };
    const path = join(tmp(), 'stages.yaml');
    writeFileSync(path, YAML.stringify(c));
    expect(() => loadCampaign(path)).toThrow(/stages\.yaml: stages\.target\.porositty: "porositty" is not a descriptor of grain-electrode's finished structure; allowed: .*porosity.* \(the structure after calender\) \(did you mean porosity\?\)/);
  });
});
