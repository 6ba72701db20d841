// @module-tag slow
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { durabilityCell, simulatedEolDataset } from '../robots/sim/index.js';
import { loadCampaign, resumeCampaign, runCampaign } from '../src/compose/campaign.js';
import { Ledger } from '../src/ledger/ledger.js';
import { EolSurrogate } from '../src/surrogate/eol.js';
import { tmp } from './helpers.js';

/**
 * Issue #20 end to end: a campaign whose durability tests stop after the early window and use
 * the early-life model's EOL estimate — over the embedded broker, with a real SQLite ledger and
 * the simulated durability rig — against the same campaign with the tests run to end of life
 * (or their planned 2000 cycles). The early-life model is trained here, on simulated cells of
 * other seeds than the campaign's (a lab's earlier full-length tests).
 */
const dir = tmp('poreloop-durability-');
const SEED = 11;

beforeAll(async () => {
  const data = simulatedEolDataset(9001, 300);
  const model = new EolSurrogate({ epochs: 60, patience: 15, log: () => undefined });
  await model.fit(data, { seed: 1 });
  await model.save(join(dir, 'eol-model'));
  model.dispose();
});

function config(name: string, earlyStop: boolean): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(
    path,
    YAML.stringify({
      name,
      seed: SEED,
      space: { x0: { min: 0, max: 1 }, x1: { min: 0, max: 1 } },
      reward: 'eol / 1000',
      agent: { name: 'random', candidates: 3, batchSize: 3 },
      rigs: {
        pipeline: ['durability'],
        measure: ['eol'],
        // A stuck job fails within the test's time rather than after the default 10 min.
        timeout: '10s',
        // One full planned test (2000 cycles) takes 600 ms of lab time on the simulated cycler.
        simulate: { rigs: [{ id: 'cycler1', capabilities: ['durability'], latencyMs: 600, concurrency: 3 }], noise: 0, durability: {} },
      },
      budget: { rigRuns: 6 },
      durability: { model: 'eol-model', earlyStop },
    }),
  );
  return path;
}

/** What the ledger says about a finished campaign's durability tests. */
function read(db: string, campaignId: string) {
  const l = Ledger.open(db, { readonly: true });
  try {
    const trials = l.trials(campaignId).filter((t) => t.selectedRank !== null);
    const tests = l.measurements(campaignId).map((m) => ({ trialId: m.trialId, ...m.measurements }) as { trialId: string } & Record<string, number>);
    const estimates = l.documents(campaignId, 'EstimateRecorded').map((d) => d.body);
    const jobs = l.documents(campaignId, 'JobDispatched').map((d) => d.body);
    const learned = l.documents(campaignId, 'AgentLearned').map((d) => d.body);
    expect(l.integrity().ok).toBe(true);
    return { trials, tests, estimates, jobs, learned, cycles: tests.reduce((s, m) => s + m.cycles, 0) };
  } finally {
    l.close();
  }
}

describe('a campaign with early-stopped durability tests (issue #20)', () => {
  it('spends fewer rig cycles than running the tests to the end, and records early-life estimates, not measurements', async () => {
    const db = join(dir, 'a.db');
    const early = await runCampaign(loadCampaign(config('early', true)), { db });
    const full = await runCampaign(loadCampaign(config('full', false)), { db });
    expect(early.status).toBe('completed');
    expect(full.status).toBe('completed');
    const e = read(db, early.campaignId);
    const f = read(db, full.campaignId);
    expect(e.trials).toHaveLength(6);
    expect(e.trials.every((t) => t.status === 'completed')).toBe(true);

    // The stop travels in the job (and so in the ledger): every durability job asks the rig to stop after the model's window.
    expect(e.jobs.map((j) => j.inputs?.stopAtCycle)).toEqual(Array(6).fill(200));
    expect(f.jobs.every((j) => j.inputs?.stopAtCycle === undefined)).toBe(true);
    // Same seed, same recipes and cells: the early tests stop at 200 cycles, the full ones run to EOL (≥ 550 cycles for these cells) or 2000.
    expect(e.trials.map((t) => t.params)).toEqual(f.trials.map((t) => t.params));
    expect(e.tests.every((m) => m.cycles <= 200)).toBe(true);
    expect(e.cycles).toBeLessThan(0.35 * f.cycles);

    // Every stopped test has an early-life estimate with σ and the model's provenance; no measured reward.
    const stopped = e.tests.filter((m) => m.stoppedEarly === 1 && m.eolReached === 0);
    expect(stopped.length).toBe(6);
    expect(e.estimates.map((x) => x.trialId).sort()).toEqual(stopped.map((m) => m.trialId).sort());
    for (const x of e.estimates) {
      expect(x).toMatchObject({ fidelity: 'early-life', basis: 'stopped-early', capability: 'durability', model: { id: expect.stringMatching(/^eol-lstm@[0-9a-f]{12}$/) } });
      expect(x.estimates.eol.std).toBeGreaterThan(0);
      expect(x.estimates.eol.mean).toBeGreaterThan(200);
      expect(x.reward).toBeCloseTo(x.estimates.eol.mean / 1000, 9);
      expect(x.rewardStd).toBeCloseTo(x.estimates.eol.std / 1000, 9);
    }
    expect(e.trials.every((t) => t.measuredReward === null && t.measured?.eol === undefined)).toBe(true);
    expect(early.best).toBeNull();

    // Without early stop, a test that reached EOL is measured (no estimate); one cut at 2000 cycles gets a 'censored' estimate.
    for (const m of f.tests) {
      const est = f.estimates.find((x) => x.trialId === m.trialId);
      if (m.eolReached === 1) expect(est).toBeUndefined();
      else expect(est).toMatchObject({ basis: 'censored', fidelity: 'early-life' });
    }
    const measured = f.trials.filter((t) => t.measuredReward !== null);
    expect(measured.length).toBe(f.tests.filter((m) => m.eolReached === 1).length);

    // The estimates against the hidden cells (only a simulation knows them): within 3σ, and a median error ≤ 20 %.
    const errors = e.estimates.map((x) => {
      const job = e.jobs.find((j) => j.trialId === x.trialId)!;
      const truth = durabilityCell(SEED, { jobId: job.jobId, campaignId: early.campaignId, params: job.params }).eol;
      expect(Math.abs(x.estimates.eol.mean - truth)).toBeLessThan(3 * x.estimates.eol.std);
      return Math.abs(x.estimates.eol.mean - truth) / truth;
    });
    expect(errors.sort((a, b) => a - b)[3]).toBeLessThan(0.2);
  });

  it('resumes exactly: a campaign stopped after its first round keeps that round’s stops and estimates, and predicts each test once', async () => {
    const db = join(dir, 'b.db');
    const ctl = new AbortController();
    let id = '';
    const first = await runCampaign(loadCampaign(config('resume', true)), { db, onStart: (c) => (id = c), onProgress: (p) => p.phase === 'assimilate' && p.round === 1 && ctl.abort(), signal: ctl.signal });
    expect(first.status).toBe('stopped');
    const before = Ledger.open(db, { readonly: true });
    const kept = before.documents(id, 'EstimateRecorded');
    before.close();
    expect(kept).toHaveLength(3);
    const resumed = await resumeCampaign(id, { db });
    expect(resumed.status).toBe('completed');
    const r = read(db, id);
    const l = Ledger.open(db, { readonly: true });
    const after = l.documents(id, 'EstimateRecorded');
    l.close();
    // The first round's estimates are the same documents (not predicted again), and every trial has exactly one.
    expect(after.slice(0, 3)).toEqual(kept);
    expect(new Set(after.map((d) => d.body.trialId)).size).toBe(6);
    expect(r.trials.every((t) => t.status === 'completed')).toBe(true);
    // One durability result per trial, every job with its stop.
    expect(r.tests).toHaveLength(6);
    expect(r.jobs.every((j) => j.inputs?.stopAtCycle === 200)).toBe(true);
    // Each estimate is the model's prediction from the early window recorded in the ledger.
    const model = new EolSurrogate({ log: () => undefined });
    await model.load(join(dir, 'eol-model'));
    const pred = await model.predictFrom(after.map((d) => r.tests.find((m) => m.trialId === d.body.trialId)!));
    model.dispose();
    after.forEach((d, i) => expect(d.body.estimates.eol.mean).toBeCloseTo(pred.mean[i][0], 6));
  });
});
