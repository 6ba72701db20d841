import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { finishedCampaign } from '../../../tests/ledgers.js';
import { summariseCampaign } from '../../ledger/export.js';
import { Ledger } from '../../ledger/ledger.js';
import { createOutput } from '../common.js';
import { report } from './campaign.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-run-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

/**
 * The exit code of `run`/`resume` (review of two campaigns on one ledger, 2026-12-07): a run
 * exited 0 with its campaign still `running` in the ledger (its end could not be written).
 * 0 only when the campaign completed or an operator stopped it.
 */
describe('run and resume exit non-zero unless the campaign completed or an operator stopped it', () => {
  const db = join(dir, 'l.db');
  finishedCampaign([1.5, 2], {}, 'done', db).close();
  const l = Ledger.open(db);
  const ended = (id: string, stop?: { status: 'stopped' | 'failed'; reason: string }) => {
    l.append(id, 'CampaignStarted', { name: 'model', config: { reward: 'a', budget: { rigRuns: 10 }, agent: { name: 'gp-bo' }, space: { x: { min: 0, max: 1 } } }, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
    if (stop) l.append(id, 'CampaignStopped', stop);
  };
  ended('left-running');
  ended('by-operator', { status: 'stopped', reason: 'operator command' });
  ended('by-signal', { status: 'stopped', reason: 'operator signal' });
  ended('unrecorded', { status: 'stopped', reason: 'the result event of job j1 (rig r1) could not be recorded in the ledger (locked)' });
  ended('broken', { status: 'failed', reason: 'error: boom' });
  ended('all-abandoned');
  for (const i of [1, 2]) {
    l.append('all-abandoned', 'TrialProposed', { trialId: `a${i}`, round: 1, index: i, params: { x: i / 10 }, agent: 'gp-bo' }, `a${i}`);
    l.append('all-abandoned', 'TrialScored', { trialId: `a${i}`, properties: { a: { mean: 1, std: 0.1 } }, raw: { a: { mean: 1, std: 0.1 } }, fidelity: 'simulation', reward: 1 }, `a${i}`);
    l.append('all-abandoned', 'TrialSelected', { trialId: `a${i}`, round: 1, rank: i, predictedReward: 1 }, `a${i}`);
    l.append('all-abandoned', 'TrialAbandoned', { trialId: `a${i}`, reason: 'rig rig-1 failed 3 attempts: handler threw: no powder', kind: 'rig' }, `a${i}`);
  }
  l.append('all-abandoned', 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
  const code = (id: string) => {
    io.stderr = '';
    return report(createOutput(false), summariseCampaign(l, id));
  };

  it('completed, or stopped by an operator (signal or `poreloop stop`): 0', async () => {
    expect(await code('done')).toBe(0);
    expect(await code('by-operator')).toBe(0);
    expect(await code('by-signal')).toBe(0);
    expect(io.stderr).toBe('');
  });

  it('still running in the ledger: 1, saying so and how to continue', async () => {
    expect(await code('left-running')).toBe(1);
    expect(io.stderr).toMatch(/the ledger still records campaign left-running as running .*poreloop resume left-running --db .*l\.db/);
  });

  it('stopped by the campaign itself (a rig result it could not record): 1, with the reason and how to continue', async () => {
    expect(await code('unrecorded')).toBe(1);
    expect(io.stderr).toMatch(/campaign unrecorded stopped without an operator: the result event of job j1 .*; continue it with "poreloop resume unrecorded/);
  });

  it('completed with every trial abandoned (nothing measured): 1, with the most frequent reason', async () => {
    expect(await code('all-abandoned')).toBe(1);
    expect(io.stderr).toMatch(/campaign all-abandoned completed without a single measured trial: all 2 trials sent were abandoned \(most often, 2 of them: rig rig-1 failed 3 attempts: handler threw: no powder\)/);
  });

  it('failed: 1, as before, with the reason', async () => {
    expect(await code('broken')).toBe(1);
    expect(io.stderr).toMatch(/campaign broken failed: error: boom/);
  });
});
