/**
 * Issue #17, stage-wise execution on rigs: the real dispatcher and simulated rigs (in-memory
 * broker, fake clock) run a grain-electrode trial cast → dry → calender, one job per stage.
 * Each stage's job carries only that stage's settings and the sample's history in `inputs`;
 * the policy picks the calender strain after the cast rig reported the real cast porosity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createStagePpo } from '../agents/ppo-stages.js';
import { createDispatcher } from '../robots/dispatcher.js';
import { createSimulatedLab, type Truth } from '../robots/sim/index.js';
import { createMemoryBroker } from '../robots/transport/memory.js';
import { createFakeClock } from '../src/core/fake-clock.js';
import type { Parameters, RigJob, StageEpisode } from '../src/core/protocols.js';
import { createRng, hash32 } from '../src/core/rng.js';
import { runStagedEpisode } from '../src/compose/stage-rigs.js';
import { createStageEnvironment } from '../src/compose/stages.js';
import { createGrainElectrode } from '../twins/grain-electrode.js';

const proc = createGrainElectrode().process!;
const names = proc.stages.map((s) => s.name);

/** The lab's hidden truth: the twin's process with 0.05 cast scatter; the sample is rebuilt from its history. */
const truth: Truth = (params, capability, inputs) => {
  const k = names.indexOf(capability);
  let s = proc.initial();
  for (let j = 0; j < k; j++) {
    const pick = (keys: string[]) => Object.fromEntries(keys.filter((n) => `${names[j]}.${n}` in inputs).map((n) => [n, inputs[`${names[j]}.${n}`]]));
    s = proc.fromMeasurements(j + 1, s, pick(proc.stages[j].parameters.map((p) => p.name)), pick(proc.stages[j].descriptors.map((d) => d.name)));
  }
  const next = proc.step(s, params, createRng(hash32(JSON.stringify([params, inputs]))), { castPorosity: 0.05 });
  if (!next.feasible) return { feasible: false, measurements: {} };
  return { feasible: true, measurements: k === names.length - 1 ? { ...next.descriptors, ...proc.estimate(next) } : next.descriptors };
};

describe('stage-wise execution on rigs (#17)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  it('each stage is a job; the next stage is chosen after the real intermediate result', async () => {
    const clock = createFakeClock();
    const broker = createMemoryBroker();
    const lab = 'stages';
    const sim = await createSimulatedLab({
      transport: (o) => broker.connect(o),
      lab,
      seed: 1,
      clock,
      truth,
      rigs: names.map((n) => ({ id: `${n}-rig`, capabilities: [n], latencyMs: { dist: 'fixed' as const, mean: 100 }, heartbeatMs: 500 })),
    });
    const t = await broker.connect({ clientId: 'orch' });
    const d = createDispatcher({ transport: t, lab, campaignId: 'c', clock, options: { timeoutMs: 5000, maxAttempts: 1, heartbeatTimeoutMs: 5000, tickMs: 10 } });
    const sent: RigJob[] = [];
    await t.subscribe(`poreloop/v1/${lab}/rigs/+/jobs`, (_topic, p) => sent.push(JSON.parse(p.toString())));
    await d.start();
    stops.push(async () => {
      let stopped = false;
      const p = Promise.all([d.stop(), sim.stop()]).finally(() => (stopped = true));
      await clock.advanceUntil(() => stopped, 'stop', { stepMs: 100 });
      await p;
    });
    await clock.advanceUntil(() => d.rigs().length === names.length, 'rigs seen');

    const reward = (p: Readonly<Record<string, number>>, t: Parameters) => -(((p.porosity - (t.porosity as number)) / 0.02) ** 2);
    const env = createStageEnvironment(createGrainElectrode(), { reward, targets: { parameters: [{ kind: 'continuous', name: 'porosity', min: 0.25, max: 0.4 }] }, infeasibleReward: -50 });
    const policy = createStagePpo({ seed: 1, iterations: 2, episodes: 8 });
    await policy.train(env);
    const seen: Array<{ stage: number; castPorosity: number }> = [];
    let episode: StageEpisode | null = null;
    const run = runStagedEpisode({
      rig: d, campaignId: 'c', trialId: 't1', env, policy, target: { porosity: 0.3 }, reward, timeoutMs: 5000, clock, measure: ['porosity'],
      onStage: (k, _a, m, s) => seen.push({ stage: k, castPorosity: s.realised.castPorosity }),
    }).then((e) => (episode = e));
    await clock.advanceUntil(() => episode !== null, 'the staged trial', { stepMs: 10, limitMs: 60_000 });
    await run;
    const e = episode as unknown as StageEpisode;

    expect(sent.map((j) => j.capability)).toEqual(['cast', 'dry', 'calender']);
    expect(sent.map((j) => j.jobId)).toEqual(['t1-s0', 't1-s1', 't1-s2']);
    // Each job carries its own stage's settings only, and the history of the sample.
    expect(Object.keys(sent[0].params).sort()).toEqual(['castPorosity', 'particleDiameter']);
    expect(Object.keys(sent[2].params)).toEqual(['compression']);
    expect(sent[0].inputs).toBeUndefined();
    expect(sent[2].inputs).toMatchObject({ 'cast.castPorosity': sent[0].params.castPorosity, 'dry.cbdFraction': sent[1].params.cbdFraction });
    // The cast rig's real porosity differs from what was asked, and it is what the policy saw.
    const realCast = sent[2].inputs!['cast.porosity'];
    expect(Math.abs(realCast - (sent[0].params.castPorosity as number))).toBeGreaterThan(1e-6);
    expect(seen[0].castPorosity).toBe(realCast);
    expect(e.states).toHaveLength(3);
    expect(e.actions[2]).toEqual(policy.act(env, e.states[1], { porosity: 0.3 }));
    expect(e.measured.porosity).toBeCloseTo(1 - (1 - realCast) / (1 - (sent[2].params.compression as number)), 9);
    expect(e.reward).toBeCloseTo(reward(e.measured, { porosity: 0.3 }), 12);
    // And the episode is what learn() takes.
    await policy.learn(env, [e]);
    expect(policy.version).toBe(2);
  }, 60_000);
});
