import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCampaign } from '../src/compose/campaign.js';
import { tmp } from './helpers.js';

/**
 * Review 2026-12-07: out-of-range agent options (ppo episodes 0 crashed TF.js mid-campaign) and
 * a misspelt key of a sequence step (`option:`) loaded; both are refused at config load now,
 * naming the config file and the key.
 */
const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));

function config(agent: unknown): string {
  const path = join(tmp('poreloop-agentopts-'), 'c.yaml');
  writeFileSync(path, YAML.stringify({ ...demo, agent }));
  return path;
}

describe('agent options at config load', () => {
  it('refuses an option out of its range, naming the file, the key and the range', () => {
    const path = config({ name: 'ppo', options: { episodes: 0 } });
    expect(() => loadCampaign(path)).toThrow(`${path}: agent.ppo.episodes: must be an integer ≥ 1 (got 0)`);
  });

  it("refuses a misspelt sequence step key, and names a step's options in their errors", () => {
    const typo = config({ name: 'sequence', candidates: 12, batchSize: 4, options: { steps: [{ agent: 'sobol', trials: 12 }, { agent: 'gp-bo', option: { kappa: 3 } }] } });
    expect(() => loadCampaign(typo)).toThrow(`${typo}: agent.sequence.steps[1]: unknown key 'option' of a step; allowed: agent, trials, options`);
    const bad = config({ name: 'sequence', options: { steps: [{ agent: 'sobol', trials: 12, options: { scramble: 'yes' } }, { agent: 'gp-bo' }] } });
    expect(() => loadCampaign(bad)).toThrow(`${bad}: agent.sequence.steps[0].options.scramble: must be a boolean (got "yes")`);
  });
});
