import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportCampaign, summariseCampaign, toCsv } from './export.js';
import { Ledger } from './ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Two scored trials: one with issue #13's uncertainty fields, one as older ledgers wrote it. */
function campaign(l: Ledger): void {
  l.append('c1', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 3, source: 's.yaml', versions: { poreloop: '0.1.0' } }, 'start');
  for (const i of [0, 1]) l.append('c1', 'TrialProposed', { trialId: `t${i}`, round: 1, index: i, params: { x: i }, agent: 'random' }, `t${i}`);
  l.append('c1', 'TrialScored', {
    trialId: 't0',
    properties: { sigma: { mean: 150, std: 60, spread: 120, n: 4 }, porosity: { mean: 0.8, std: 0.001, spread: 0.002, n: 4 } },
    fidelity: 'simulation',
    reward: 5,
    rewardStd: 0.35,
    rveWarnings: ['sigma'],
  }, 't0');
  l.append('c1', 'TrialScored', { trialId: 't1', properties: { sigma: { mean: 90, std: 0 }, porosity: { mean: 0.7, std: 0 } }, fidelity: 'simulation', reward: 4 }, 't1');
}

describe('uncertainty in the ledger and its export (issue #13)', () => {
  it('TrialScored with spread, n, the reward σ and RVE warnings round-trips; older documents stay valid and export empty cells', () => {
    const l = Ledger.open(join(dir, 'a.db'));
    campaign(l);
    const body = l.documents('c1', 'TrialScored')[0].body;
    expect(body).toMatchObject({ rewardStd: 0.35, rveWarnings: ['sigma'], properties: { sigma: { mean: 150, std: 60, spread: 120, n: 4 } } });
    const doc = exportCampaign(l, 'c1');
    expect(doc.trials[0]).toMatchObject({ predicted: { sigma: { mean: 150, std: 60, spread: 120, n: 4 } }, predictedRewardStd: 0.35, rveWarnings: ['sigma'] });
    expect(doc.trials[1]).toMatchObject({ predictedRewardStd: null, rveWarnings: [] });
    const [header, t0, t1] = toCsv(doc).trim().split('\n').map((line) => line.split(','));
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    for (const name of ['pred_sigma_std', 'pred_sigma_spread', 'pred_sigma_n', 'predicted_reward_std', 'rve_warnings']) expect(header).toContain(name);
    expect([col(t0, 'pred_sigma_std'), col(t0, 'pred_sigma_spread'), col(t0, 'pred_sigma_n'), col(t0, 'predicted_reward_std'), col(t0, 'rve_warnings')]).toEqual(['60', '120', '4', '0.35', 'sigma']);
    expect([col(t1, 'pred_sigma_spread'), col(t1, 'pred_sigma_n'), col(t1, 'predicted_reward_std'), col(t1, 'rve_warnings')]).toEqual(['', '', '', '']);
    l.close();
  });

  it('the campaign summary counts realisations, the reward σ and the RVE flags of simulated trials', () => {
    const l = Ledger.open(join(dir, 'b.db'));
    campaign(l);
    const u = summariseCampaign(l, 'c1', 0).uncertainty!;
    expect(u.simulated).toBe(2);
    expect(u.realisations).toEqual({ median: 4, min: 4, max: 4 });
    expect(u.rewardStd).toEqual({ p25: 0.35, median: 0.35, p75: 0.35 });
    expect(u.properties.sigma).toEqual({ medianCv: 0.8, rveFlagged: 1 });
    expect(u.properties.porosity.rveFlagged).toBe(0);
    l.close();
    // A ledger written before issue #13 has nothing to summarise.
    const old = Ledger.open(join(dir, 'old.db'));
    old.append('c1', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 3, source: 's.yaml', versions: {} }, 'start');
    old.append('c1', 'TrialProposed', { trialId: 't0', round: 1, index: 0, params: { x: 0 }, agent: 'random' }, 't0');
    old.append('c1', 'TrialScored', { trialId: 't0', properties: { y: { mean: 1, std: 0 } }, fidelity: 'simulation', reward: 1 }, 't0');
    expect(summariseCampaign(old, 'c1', 0).uncertainty).toBeNull();
    old.close();
  });

  it('a malformed uncertainty field is refused naming it', () => {
    const l = Ledger.open(join(dir, 'c.db'));
    campaign(l);
    l.append('c1', 'TrialProposed', { trialId: 't2', round: 1, index: 2, params: { x: 2 }, agent: 'random' }, 't2');
    expect(() => l.append('c1', 'TrialScored', { trialId: 't2', properties: { y: { mean: 1, std: 0, n: 1.5 } }, fidelity: 'simulation', reward: 1 }, 't2')).toThrow(/properties\.y\.n/);
    l.close();
  });
});

describe('export at scale (scale review, item 2)', () => {
  it("reads each job's trial once, not once per trial, and keeps every trial's jobs in dispatch order", () => {
    const l = Ledger.open(join(dir, 'jobs.db'));
    l.append('c1', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 3, source: 's.yaml', versions: { poreloop: '0.1.0' } }, 'start');
    const n = 40;
    for (let i = 0; i < n; i++) {
      l.append('c1', 'TrialProposed', { trialId: `t${i}`, round: 1 + Math.floor(i / 4), index: i % 4, params: { x: i }, agent: 'random' }, `t${i}`);
      // Two jobs for every other trial (a retry), none for every fifth.
      if (i % 5 === 4) continue;
      l.append('c1', 'TrialScored', { trialId: `t${i}`, properties: { y: { mean: i, std: 0 } }, fidelity: 'simulation', reward: i }, `t${i}`);
      l.append('c1', 'TrialSelected', { trialId: `t${i}`, round: 1 + Math.floor(i / 4), rank: i % 4, predictedReward: i }, `t${i}`);
      for (const attempt of i % 2 ? [1, 2] : [1]) {
        const jobId = `t${i}-a${attempt}`;
        l.append('c1', 'JobDispatched', { jobId, trialId: `t${i}`, stage: 0, capability: 'make', attempt, params: { x: i }, deadline: '2030-01-01T00:00:00Z' }, jobId);
        if (attempt === 1 && i % 2) l.append('c1', 'JobFailed', { jobId, trialId: `t${i}`, stage: 0, attempt, reason: 'rig timeout' }, jobId);
      }
    }
    const all = l.jobs('c1');
    // Count how often the export reads a job's trial id: a filter of all jobs per trial read
    // each of them once per trial (trials × jobs; 5.7 s at 20 000 trials).
    let reads = 0;
    const counted = all.map((j) => {
      const { trialId, ...rest } = j;
      return Object.defineProperty({ ...rest }, 'trialId', { enumerable: true, get: () => (reads++, trialId) }) as typeof j;
    });
    const real = l.jobs.bind(l);
    l.jobs = () => counted;
    const doc = exportCampaign(l, 'c1');
    l.jobs = real;
    expect(reads).toBeLessThanOrEqual(all.length);
    for (const t of doc.trials) {
      expect(t.jobs.map((j) => j.jobId)).toEqual(all.filter((j) => j.trialId === t.trialId).map((j) => j.jobId));
    }
    expect(doc.trials.filter((t) => t.jobs.length === 2)).toHaveLength(16);
    expect(doc.trials.filter((t) => t.jobs.length === 0)).toHaveLength(8);
    l.close();
  });
});
