/**
 * Issue #17 review, stage-wise campaign configs at load: the target specification is real (the
 * policy's condition input and the reward's target come from stages.target, checked against the
 * finished structure's descriptors), spreads are checked under the key they came from, and what
 * a staged campaign cannot do (batches, async, a pipeline other than the process's stages) is
 * refused with the reason.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCampaign } from '../src/compose/campaign.js';
import { stageSetup } from '../src/compose/stage-rigs.js';
import { createRng } from '../src/core/rng.js';
import { campaignReward } from '../src/reward/scope.js';
import type { Parameters } from '../src/core/protocols.js';
import { tmp } from './helpers.js';

const config = fileURLToPath(new URL('../configs/grain-electrode-stages.yaml', import.meta.url));
const doc = YAML.parse(readFileSync(config, 'utf8'));
/** Loads the shipped config with `patch` applied (written to a temp dir). */
const load = (patch: (d: any) => void) => () => {
  const d = structuredClone(doc);
  patch(d);
  const path = join(tmp('poreloop-stages-config-'), 'c.yaml');
  writeFileSync(path, YAML.stringify(d));
  return loadCampaign(path);
};
/** The shipped reward with the specification written as a number (no target_porosity). */
const fixedReward = (d: any) => (d.reward = String(d.reward).replace('target_porosity', '0.30'));

describe('stage-wise campaign configs (#17 review)', () => {
  it('conditions the policy and scores the reward on stages.target', () => {
    const resolved = load(() => {})();
    const setup = (target: Record<string, number>) =>
      stageSetup({
        stages: { ...resolved.config.stages!, target },
        agent: 'ppo-stages',
        agentOptions: {},
        pipeline: resolved.config.rigs.pipeline,
        space: resolved.space,
        seed: 7,
        rewardOf: campaignReward({ expression: resolved.reward }),
      });
    const a = setup({ porosity: 0.3 });
    const b = setup({ porosity: 0.35 });
    // The target enters the observation on the porosity descriptor's range (0.1 … 0.8), not as a constant.
    const obs = (s: typeof a, t: number) => s.env.observe(s.env.initial(), { porosity: t });
    expect(obs(a, 0.3)).not.toEqual(obs(a, 0.35));
    expect(obs(a, 0.3)).toEqual(obs(b, 0.3));
    expect(a.target).toEqual({ porosity: 0.3 });
    // The same finished structure scores best at the target it meets.
    const env = a.env;
    let s = env.initial();
    for (const act of [{ castPorosity: 0.45, particleDiameter: 8 }, { cbdFraction: 0.08 }, { compression: 0 }] as Parameters[]) s = env.process.step(s, act, createRng(0), { castPorosity: 0 });
    const eps = s.descriptors.porosity;
    expect(env.reward(s, { porosity: eps })).toBeGreaterThan(env.reward(s, { porosity: eps + 0.04 }));
    // 0.05·(0.04/0.02)² = 0.2: the reward expression's specification term, with the episode's target.
    expect(env.reward(s, { porosity: eps }) - env.reward(s, { porosity: eps + 0.04 })).toBeCloseTo(0.2, 9);
  });

  it('refuses a target that is not a descriptor of the finished structure, an empty one, or one out of range', () => {
    expect(load((d) => (d.stages.target = { porositty: 0.3 }))).toThrow(/target_porosity|porositty/);
    expect(load((d) => (fixedReward(d), (d.stages.target = { porositty: 0.3 })))).toThrow(/stages\.target\.porositty: "porositty" is not a descriptor of grain-electrode's finished structure; allowed: porosity, thickness/);
    expect(load((d) => (fixedReward(d), (d.stages.target = {})))).toThrow(/stages\.target: give at least one target specification/);
    expect(load((d) => (d.stages.target = { porosity: 0.95 }))).toThrow(/stages\.target\.porosity: must be a number in 0\.1 … 0\.8/);
  });

  it('refuses spreads under the key they came from', () => {
    expect(load((d) => (d.stages.variability = { castPorosity: -1 }))).toThrow(/stages\.variability\.castPorosity: must be a number ≥ 0, got -1/);
    expect(load((d) => (d.stages.simulate.variability = { foo: 1 }))).toThrow(/stages\.simulate\.variability\.foo: .*no varying quantity "foo"; allowed: castPorosity/);
    expect(load((d) => (d.stages.simulate.variability = { castPorosity: -0.1 }))).toThrow(/stages\.simulate\.variability\.castPorosity: must be a number ≥ 0/);
  });

  it("refuses a space beyond the stages' settings, constraints and pools, which the policy's plan cannot meet (diff review D, item 1)", () => {
    expect(load((d) => (d.space.overlap = { min: 0, max: 1 }))).toThrow(/space\.overlap: stage-wise trials search the stages' settings only \(castPorosity, particleDiameter, cbdFraction, compression\); remove overlap/);
    expect(load((d) => (d.space.constraints = ['castPorosity + cbdFraction <= 0.8']))).toThrow(/constraints: stage-wise trials take no constraints/);
    expect(load(() => {})).not.toThrow();
  });

  it('refuses batches, async rounds and a pipeline that is not the process model\'s stages, saying why', () => {
    expect(load((d) => ((d.agent.batchSize = 4), (d.agent.candidates = 4)))).toThrow(/agent\.batchSize: stage-wise trials run one trial per round/);
    expect(load((d) => (d.loop = { mode: 'async' }))).toThrow(/loop\.mode: stage-wise trials run in sync mode only/);
    expect(load((d) => (d.rigs.pipeline = ['cast', 'calender', 'dry']))).toThrow(/rigs\.pipeline: .*named and ordered as the stages: \[cast, dry, calender\]/);
  });
});
