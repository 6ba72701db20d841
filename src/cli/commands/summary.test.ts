import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { finishedCampaign } from '../../../tests/ledgers.js';
import { main } from '../main.js';
import { SUMMARY_WIDTH, wrap } from './campaign.js';
import { CampaignLease } from '../../ledger/lease.js';
import { Ledger } from '../../ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

describe('the campaign summary and status (issue #18)', () => {
  it('wraps lists at the width, continuing indented', () => {
    expect(wrap('p: ', ['aaaa', 'bbbb', 'cccc'], 12)).toEqual(['p: aaaa,', '    bbbb,', '    cccc']);
    expect(wrap('', ['x'], 12)).toEqual(['x']);
  });

  it('fits 100 columns, counts infeasible runs, explains the reward, names units and points to report and serve', async () => {
    const db = join(dir, 'a.db');
    const reward = 'limitingCurrent / 1e5 + 2 * log10(sigma_eff_z) - 0.3 * max(0, 10 - ptfeLoading) + porosity * tortuosityPenalty_of_a_long_name';
    finishedCampaign([1.5, null, 3, 2], { reward, space: { x: { min: 0, max: 1, unit: 'wt%' } } }, 'c1', db).close();
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    const lines = io.stdout.split('\n');
    const summary = lines.slice(lines.findIndex((x) => x.startsWith('campaign c1 (model): completed')));
    expect(summary.filter((x) => x.length > SUMMARY_WIDTH)).toEqual([]);
    const text = summary.join('\n');
    expect(text).toMatch(/rig runs: 4 measured \(3 with a reward, 1 infeasible\), 0 failed, 0 abandoned/);
    // No unit is claimed: a reward expression's unit is what it computes (review 2026-12-07: the SOFC reward is in mV).
    expect(text).toMatch(/reward \(higher is better\) = limitingCurrent \/ 1e5/);
    expect(text).not.toMatch(/dimensionless/);
    expect(text).toMatch(/wall time 29\.0 s/);
    expect(text).toMatch(/x 0\.\d+ wt%/);
    expect(text).toMatch(/poreloop report c1 --out report\//);
    expect(text).toMatch(/poreloop serve --db/);
    expect(io.stdout).toMatch(/state done · round 4 · rig runs left 6 of 10/);
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ state: 'done', wallTimeS: 29, outcomes: { measured: 4, infeasible: 1 } });
  });

  it('status shows the fidelity of each prediction as the ledger recorded it, the latest rescoring included (review 2026-12-07, item 4)', async () => {
    const db = join(dir, 'fidelity.db');
    const l = finishedCampaign([1.5, 3], {}, 'c1', db);
    // A rescoring (e.g. a prior estimate with no model) replaces the first score; any fidelity name is shown as recorded.
    l.append('c1', 'TrialRescored', { trialId: 'c1-r2-0', properties: { a: { mean: 3.2, std: 1 } }, fidelity: 'prior' as never, reward: 3.2, rewardStd: 1 }, 'rescore-r2');
    l.close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    expect(io.stdout).toMatch(/r2-0 +reward meas +3\.000 +pred 3\.200 ± 1\.0 \(prior\)/);
    expect(io.stdout).toMatch(/r1-0 +reward meas +1\.500 +pred 2\.000 \(simulation\)/);
  });

  it('status prints measured trials that miss a requirement apart, with what each misses, instead of "no measured result" (review 2026-12-07)', async () => {
    // b = 10 − reward: 8.5, 7, 8; all under the outcome constraint's min 9.9 — none is a candidate.
    const db = join(dir, 'unmet.db');
    finishedCampaign([1.5, 3, 2], { outcomeConstraints: [{ name: 'b', min: 9.9 }] }, 'c1', db).close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    const lines = io.stdout.split('\n');
    const text = lines.join('\n');
    expect(text).not.toMatch(/no trial has a measured result yet/);
    expect(text).not.toMatch(/best candidates/);
    expect(text).toMatch(/no measured trial meets every requirement yet\nmeasured but missing a requirement \(no candidates\):\n 1\. r2-0 +reward meas +3\.000/);
    expect(lines.filter((l) => l.startsWith('    misses: '))).toEqual(['    misses: b 7 < min 9.9', '    misses: b 8 < min 9.9', '    misses: b 8.5 < min 9.9']);
    // With a candidate (b 9.95 ≥ 9.9), it is the best and the others follow apart.
    const db2 = join(dir, 'unmet2.db');
    finishedCampaign([1.5, 0.05, 3], { outcomeConstraints: [{ name: 'b', min: 9.9 }] }, 'c1', db2).close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db2])).toBe(0);
    expect(io.stdout).toMatch(/best candidates by measured reward[^\n]*\n 1\. r2-0 [\s\S]*\nmeasured but missing a requirement \(no candidates\):\n 1\. r3-0 [\s\S]*misses: b 7 < min 9\.9[\s\S]*\n 2\. r1-0 [\s\S]*misses: b 8\.5 < min 9\.9/);
  });

  it('status names a required property no trial measured, for a single-objective campaign too (review of c7ab457)', async () => {
    // A reward expression and an outcome constraint on c, which the rigs never report: no Pareto report exists.
    const db = join(dir, 'never.db');
    finishedCampaign([1.5, 3], { outcomeConstraints: [{ name: 'c', max: 2 }] }, 'c1', db).close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    expect(io.stdout).toContain('no measured trial meets every requirement yet: none has a measured c\nmeasured but missing a requirement (no candidates):\n');
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout)).toMatchObject({ pareto: null, unmeasured: ['c'] });
  });

  it('status orders the latest ids of an abandon reason by each trial\'s last abandonment (review of c7ab457)', async () => {
    const db = join(dir, 'again.db');
    const l = finishedCampaign([], {}, 'ag', db);
    const reason = 'timed out';
    for (const i of [0, 1]) l.append('ag', 'TrialProposed', { trialId: `ag-r9-${i}`, round: 9, index: i, params: { x: 0.5 }, agent: 'gp-bo' }, `ag-r9-${i}`);
    // ag-r9-0 is abandoned, then ag-r9-1, then ag-r9-0 again: ag-r9-0 is the latest. The trial
    // lifecycle (issue #15) refuses a second abandonment now, so it is written as a ledger from
    // before that check holds it: a document row without the projection.
    for (const i of [0, 1]) l.append('ag', 'TrialAbandoned', { trialId: `ag-r9-${i}`, reason }, `ag-r9-${i}`);
    l.db.prepare("INSERT INTO documents (campaign_id, type, key, at, body) VALUES ('ag', 'TrialAbandoned', 'again', '2026-01-01T01:00:00.000Z', ?)").run(JSON.stringify({ trialId: 'ag-r9-0', reason }));
    l.close();
    io.stdout = '';
    expect(await main(['status', 'ag', '--db', db])).toBe(0);
    expect(io.stdout).toContain(`abandoned ag-r9-1, ag-r9-0: ${reason}`);
  });

  it('status lists as abandoned only trials still abandoned, not one a late result completed (review)', async () => {
    const db = join(dir, 'late.db');
    const l = finishedCampaign([], {}, 'lt', db);
    for (const [i, late] of [[0, true], [1, false]] as const) {
      const trialId = `lt-r9-${i}`;
      l.append('lt', 'TrialProposed', { trialId, round: 9, index: i, params: { x: 0.5 }, agent: 'gp-bo' }, trialId);
      l.append('lt', 'TrialAbandoned', { trialId, reason: `timed out ${i}` }, trialId);
      if (late) l.append('lt', 'TrialCompleted', { trialId, measured: { a: 1 }, reward: 1, feasible: true }, trialId);
    }
    l.close();
    io.stdout = '';
    expect(await main(['status', 'lt', '--db', db])).toBe(0);
    expect(io.stdout).toMatch(/abandoned lt-r9-1: timed out 1/);
    expect(io.stdout).not.toMatch(/abandoned lt-r9-0/);
    io.stdout = '';
    expect(await main(['status', 'lt', '--db', db, '--json'])).toBe(0);
    expect(JSON.parse(io.stdout).abandoned).toEqual([{ trialId: 'lt-r9-1', reason: 'timed out 1' }]);
  });

  it('status shows each abandon reason once, with its count and latest ids (review of 0e10d79: listed per trial and again as counts)', async () => {
    const db = join(dir, 'ab.db');
    const l = finishedCampaign([], {}, 'ab', db);
    const voxel = 'handler failed: voxelSize too small';
    [voxel, voxel, 'timed out', voxel, voxel].forEach((reason, i) => {
      const trialId = `ab-r9-${i}`;
      l.append('ab', 'TrialProposed', { trialId, round: 9, index: i, params: { x: 0.5 }, agent: 'gp-bo' }, trialId);
      l.append('ab', 'TrialAbandoned', { trialId, reason }, trialId);
    });
    l.close();
    io.stdout = '';
    expect(await main(['status', 'ab', '--db', db])).toBe(0);
    expect(io.stdout.split(voxel)).toHaveLength(2);
    expect(io.stdout.split('timed out')).toHaveLength(2);
    expect(io.stdout).toContain(`abandoned 4 trials, latest ab-r9-1, ab-r9-3, ab-r9-4: ${voxel}`);
    expect(io.stdout).toContain('abandoned ab-r9-2: timed out');
  });

  it('pause asks a running campaign to stop at the end of its round; resume tells its live process to go on', async () => {
    const db = join(dir, 'p.db');
    const l = Ledger.open(db);
    l.append('p', 'CampaignStarted', { name: 'p', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    const lease = CampaignLease.acquire(l, 'p'); // this process runs it
    try {
      expect(await main(['pause', 'p', '--db', db])).toBe(0);
      expect(l.pendingCommands('p').map((c) => c.command)).toEqual(['pause']);
      l.consumeCommand(l.pendingCommands('p')[0].seq);
      // The machine reached `paused` (its persisted snapshot says so): resume sends a command, it does not take the campaign over.
      l.saveSnapshot('p', { value: 'paused', context: { round: 3, pauseRequested: false } });
      io.stdout = '';
      expect(await main(['status', 'p', '--db', db])).toBe(0);
      expect(io.stdout).toMatch(/state paused · round 3/);
      expect(await main(['resume', 'p', '--db', db])).toBe(0);
      expect(io.stdout).toMatch(/resume sent to campaign p \(run by process \d+/);
      expect(l.pendingCommands('p').map((c) => c.command)).toEqual(['resume']);
    } finally {
      lease.release();
      l.close();
    }
  });

  it('approve decides per trial from the terminal: --reject and --edit name trials of the waiting batch', async () => {
    const db = join(dir, 'g.db');
    const l = Ledger.open(db);
    // A config the campaign's space is resolved from (edits are checked against it).
    const config = {
      name: 'g', space: { x: { min: 0, max: 1 }, y: { min: 0, max: 2 } }, reward: 'score', agent: { name: 'random', candidates: 4, batchSize: 2 },
      rigs: { pipeline: ['characterise'], measure: ['score'] }, budget: { rigRuns: 2 },
    };
    l.append('g', 'CampaignStarted', { name: 'g', config, configHash: 'h', seed: 1, source: join(dir, 'g.yaml'), versions: {} }, 'start');
    for (const i of [0, 1]) {
      const trialId = `g-r1-${i}`;
      l.append('g', 'TrialProposed', { trialId, round: 1, index: i, params: { x: i / 2, y: 1 }, agent: 'a' }, trialId);
    }
    l.append('g', 'ApprovalRequested', { round: 1, trialIds: ['g-r1-0', 'g-r1-1'] }, 'round:1');
    try {
      expect(await main(['approve', 'g', '--db', db, '--edit', 'nope:x=1'])).toBe(2);
      expect(io.stderr).toMatch(/--edit: trial "nope" is not in the waiting batch \(g-r1-0, g-r1-1\)/);
      expect(await main(['approve', 'g', '--db', db, '--edit', 'r1-0x=1'])).toBe(2);
      expect(l.pendingCommands('g')).toEqual([]);
      // Outside the space: refused here with what is allowed, nothing sent (review of the CLI,
      // 2026-12-07: it answered "approve sent", exit 0, and the campaign gave the trial up).
      io.stderr = '';
      expect(await main(['approve', 'g', '--db', db, '--edit', 'r1-0:x=99'])).toBe(2);
      expect(io.stderr).toMatch(/--edit: trial g-r1-0 as edited is outside the campaign's space: x: 99 outside \[0, 1\]; nothing was sent/);
      expect(await main(['approve', 'g', '--db', db, '--edit', 'r1-1:z=1'])).toBe(2);
      expect(io.stderr).toMatch(/z: not a parameter of this space/);
      expect(l.pendingCommands('g')).toEqual([]);
      expect(await main(['approve', 'g', '--db', db, '--reject', 'r1-1', '--edit', 'g-r1-0:x=0.25'])).toBe(0);
      // The edit keeps the trial's other parameters; the command names the round it decides.
      expect(l.pendingCommands('g')[0].args).toMatchObject({ round: 1, reject: ['g-r1-1'], edits: { 'g-r1-0': { x: 0.25, y: 1 } } });
      l.consumeCommand(l.pendingCommands('g')[0].seq);
      // Once round 1 is decided nothing waits: approve and reject are refused, and write nothing.
      l.append('g', 'ApprovalGiven', { round: 1, decision: 'approve', trialIds: ['g-r1-0'], by: 'test' }, 'round:1');
      io.stderr = '';
      expect(await main(['approve', 'g', '--db', db])).toBe(2);
      expect(io.stderr).toMatch(/no batch of campaign g waits for approval; nothing to approve/);
      expect(await main(['reject', 'g', '--db', db])).toBe(2);
      expect(l.pendingCommands('g')).toEqual([]);
    } finally {
      l.close();
    }
  });
});
