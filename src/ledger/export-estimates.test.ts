import { describe, expect, it } from 'vitest';
import { toCsv, type ExportDocument } from './export.js';

/**
 * Dashboard review, 2026-12-07: docs/configuration.md says the export has each trial's early-life
 * `estimate` (issue #20) beside its measurements; the JSON had it, the CSV — the default — not.
 */
describe('CSV export of early-life estimates', () => {
  const trial = (trialId: string, estimate: ExportDocument['trials'][number]['estimate']): ExportDocument['trials'][number] => ({
    trialId, round: 1, index: 0, status: 'completed', agent: 'a', params: { x: 1 }, fidelity: 'simulation', predicted: {}, predictedReward: 1, predictedRewardStd: null,
    rveWarnings: [], selectedRank: 0, jobs: [], measured: { capacity: 1.2 }, measuredReward: null, feasible: true, estimate, source: null,
  });
  const doc: ExportDocument = {
    campaign: { id: 'c', name: 'n', status: 'completed', configHash: 'h', seed: 1, source: 's', versions: { poreloop: '0.1.0' }, createdAt: '' },
    trials: [
      trial('t1', { stage: 0, capability: 'durability', fidelity: 'early-life', estimates: { eol: { mean: 812, std: 40 } }, basis: 'stopped-early', model: { id: 'm', dataHash: 'd', path: 'p' }, reward: 0.812, rewardStd: 0.04 }),
      trial('t2', null),
    ],
  };

  it('has est_ columns (value and σ, the reward with it, fidelity, basis), never meas_ ones, empty for a measured trial', () => {
    const [header, t1, t2] = toCsv(doc).trim().split('\n').map((line) => line.split(','));
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    expect(header).not.toContain('meas_eol');
    expect(header.slice(header.indexOf('feasible') + 1)).toEqual(['est_eol', 'est_eol_std', 'est_reward', 'est_reward_std', 'est_fidelity', 'est_basis']);
    expect(['est_eol', 'est_eol_std', 'est_reward', 'est_reward_std', 'est_fidelity', 'est_basis'].map((n) => col(t1, n))).toEqual(['812', '40', '0.812', '0.04', 'early-life', 'stopped-early']);
    expect(['est_eol', 'est_eol_std', 'est_reward', 'est_fidelity'].map((n) => col(t2, n))).toEqual(['', '', '', '']);
    expect(col(t1, 'meas_capacity')).toBe('1.2');
  });

  it('a campaign without estimates has no est_ columns', () => {
    const header = toCsv({ ...doc, trials: [doc.trials[1]] }).split('\n')[0];
    expect(header).not.toMatch(/est_/);
  });
});
