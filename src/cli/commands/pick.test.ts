import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { Ledger } from '../../ledger/ledger.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-pick-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

const config = {
  objectives: [
    { name: 'limitingCurrent', goal: 'max', unit: 'A/m²' },
    { name: 'sigma_eff_z', goal: 'max', unit: 'S/m', threshold: 100 },
  ],
};
/** Measured (limitingCurrent, sigma_eff_z) per trial, two rounds. r1-2 misses the 100 S/m threshold; r2-0 dominates r1-1. */
const MEASURED: Array<[string, number, number, number]> = [
  ['c1-r1-0', 1, 1.2e6, 150],
  ['c1-r1-1', 1, 1.0e6, 300],
  ['c1-r1-2', 1, 1.4e6, 90],
  ['c1-r2-0', 2, 1.1e6, 320],
  ['c1-r2-1', 2, 0.9e6, 200],
];

function campaign(db: string): void {
  const l = Ledger.open(db);
  l.append('c1', 'CampaignStarted', { name: 'pareto', config, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0' } }, 'start');
  MEASURED.forEach(([trialId, round, current, sigma], index) => {
    l.append('c1', 'TrialProposed', { trialId, round, index, params: { x: index }, agent: 'mobo' }, trialId);
    // The P-model predicted the opposite order of conductivity (the predicted front differs).
    l.append('c1', 'TrialScored', { trialId, properties: { limitingCurrent: { mean: current, std: 0 }, sigma_eff_z: { mean: 500 - sigma, std: 0 } }, fidelity: 'simulation', reward: 0 }, trialId);
    l.append('c1', 'TrialSelected', { trialId, round, rank: 0, predictedReward: 0 }, trialId);
    l.append('c1', 'JobDispatched', { jobId: `j${index}`, trialId, stage: 0, capability: 'measure', attempt: 1, params: { x: index }, deadline: new Date().toISOString() }, `j${index}`);
    l.append('c1', 'TrialCompleted', { trialId, measured: { limitingCurrent: current, sigma_eff_z: sigma }, reward: 0, feasible: true }, trialId);
  });
  l.close();
}

describe('multi-objective results in the CLI (issue #16)', () => {
  const db = join(dir, 'pareto.db');
  campaign(db);

  it('status shows the measured front (threshold and dominance applied), the predicted front and the hypervolume by round', async () => {
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { pareto: { measured: { trialId: string; values: number[] }[]; predicted: unknown[]; hypervolume: { round: number; hypervolume: number }[] } };
    expect(doc.pareto.measured.map((p) => p.trialId).sort()).toEqual(['c1-r1-0', 'c1-r2-0']);
    expect(doc.pareto.measured.find((p) => p.trialId === 'c1-r2-0')!.values).toEqual([1.1e6, 320]);
    expect(doc.pareto.predicted.length).toBeGreaterThan(0);
    const hv = doc.pareto.hypervolume;
    expect(hv.map((h) => h.round)).toEqual([1, 2]);
    expect(hv[1].hypervolume).toBeGreaterThan(hv[0].hypervolume);
    io.stdout = '';
    io.stderr = '';
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    expect(io.stderr + io.stdout).toMatch(/Pareto front of the measured trials: 2 trials/);
    expect(io.stderr + io.stdout).toMatch(/dominated hypervolume by round/);
  });

  it('the export has a pareto column and the hypervolume after each round', async () => {
    const csv = join(dir, 'out.csv');
    expect(await main(['export', 'c1', '--db', db, '--out', csv])).toBe(0);
    const [header, ...rows] = readFileSync(csv, 'utf8').trim().split('\n');
    const cols = header.split(',');
    const at = (row: string, name: string) => row.split(',')[cols.indexOf(name)];
    expect(cols).toContain('pareto');
    const front = rows.filter((r) => at(r, 'pareto') === 'true').map((r) => at(r, 'trial_id')).sort();
    expect(front).toEqual(['c1-r1-0', 'c1-r2-0']);
    expect(Number(at(rows[4], 'round_hypervolume'))).toBeGreaterThan(Number(at(rows[0], 'round_hypervolume')));
    io.stdout = '';
    expect(await main(['export', 'c1', '--db', db, '--format', 'json'])).toBe(0);
    expect((JSON.parse(io.stdout) as { pareto: { hypervolume: unknown[] } }).pareto.hypervolume).toHaveLength(2);
  });

  it('pick records the chosen trade-off in the ledger; status shows it; bad picks are refused with the reason', async () => {
    io.stdout = '';
    expect(await main(['pick', 'c1', 'r2-0', '--note', 'balanced', '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ trialId: 'c1-r2-0', onFront: true, values: { limitingCurrent: 1.1e6, sigma_eff_z: 320 } });
    const l = Ledger.open(db, { readonly: true });
    const docs = l.documents('c1', 'TradeOffPicked');
    l.close();
    expect(docs.map((d) => d.body)).toEqual([expect.objectContaining({ trialId: 'c1-r2-0', onFront: true, note: 'balanced' })]);
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    expect((JSON.parse(io.stdout) as { pareto: { picked: { trialId: string }[] } }).pareto.picked.map((p) => p.trialId)).toEqual(['c1-r2-0']);
    // A dominated trial may be picked (a person may know better) but is flagged; unknown ones are refused.
    io.stdout = '';
    expect(await main(['pick', 'c1', 'c1-r1-1', '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ onFront: false });
    io.stderr = '';
    expect(await main(['pick', 'c1', 'r9-9', '--db', db])).toBe(2);
    expect(io.stderr).toMatch(/trialId.*no trial "r9-9".*measured front: r1-0, r2-0/);
  });

  it('an objective the rigs did not measure: the empty front names it, and a pick records no predicted value for it (dashboard review, 2026-12-07)', async () => {
    const partial = join(dir, 'partial.db');
    const l = Ledger.open(partial);
    l.append('c1', 'CampaignStarted', { name: 'partial', config, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0' } }, 'start');
    const trialId = 'c1-r1-0';
    l.append('c1', 'TrialProposed', { trialId, round: 1, index: 0, params: { x: 0 }, agent: 'mobo' }, trialId);
    l.append('c1', 'TrialScored', { trialId, properties: { limitingCurrent: { mean: 1e6, std: 0 }, sigma_eff_z: { mean: 400, std: 0 } }, fidelity: 'simulation', reward: 0 }, trialId);
    l.append('c1', 'TrialSelected', { trialId, round: 1, rank: 0, predictedReward: 0 }, trialId);
    l.append('c1', 'JobDispatched', { jobId: 'j0', trialId, stage: 0, capability: 'measure', attempt: 1, params: { x: 0 }, deadline: new Date().toISOString() }, 'j0');
    l.append('c1', 'TrialCompleted', { trialId, measured: { limitingCurrent: 1.2e6, porosity: 0.7 }, reward: 0, feasible: true }, trialId);
    l.close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', partial])).toBe(0);
    expect(io.stdout).toContain('(no completed trial has a measured sigma_eff_z: the rigs do not report it (rigs.measure)');
    expect(io.stdout).not.toContain('meets every threshold');
    // The trial listed as missing a requirement: the headline names the unmeasured objective (review 2026-12-07).
    expect(io.stdout).toContain('no measured trial meets every requirement yet: none has a measured sigma_eff_z\nmeasured but missing a requirement (no candidates):\n');
    expect(io.stdout).toContain('misses: sigma_eff_z not measured');
    io.stdout = '';
    expect(await main(['pick', 'c1', 'r1-0', '--db', partial, '--json'])).toBe(0);
    const picked = JSON.parse(io.stdout) as { values: Record<string, number>; onFront: boolean };
    expect(picked).toMatchObject({ onFront: false, values: { limitingCurrent: 1.2e6 } });
    expect(picked.values).not.toHaveProperty('sigma_eff_z');
  });
});
