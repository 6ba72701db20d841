import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
import { CampaignLease } from '../../ledger/lease.js';
import { Ledger } from '../../ledger/ledger.js';
import { main } from '../main.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-status-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

/** A campaign whose round-1 batch (two trials) waits at the approval gate. */
function waitingCampaign(db: string): void {
  const l = Ledger.open(db);
  l.append('c1', 'CampaignStarted', { name: 'gate', config: {}, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
  for (const i of [0, 1, 2]) {
    const trialId = `c1-r1-${i}`;
    l.append('c1', 'TrialProposed', { trialId, round: 1, index: i, params: { x: i / 3 }, agent: 'random' }, trialId);
    l.append('c1', 'TrialScored', { trialId, properties: {}, fidelity: 'simulation', reward: i }, trialId);
    if (i < 2) l.append('c1', 'TrialSelected', { trialId, round: 1, rank: i, predictedReward: i }, trialId);
  }
  l.append('c1', 'ApprovalRequested', { round: 1, trialIds: ['c1-r1-0', 'c1-r1-1'] }, 'round:1');
  l.close();
}

describe('poreloop status', () => {
  it('shows the batch that waits for a decision at the approval gate, and no rig runs spent on it (issue #14)', async () => {
    const db = join(dir, 'wait.db');
    waitingCampaign(db);
    expect(await main(['status', 'c1', '--db', db])).toBe(0);
    expect(io.stderr + io.stdout).toMatch(/waiting for approval: round 1, 2 trials \(c1-r1-0, c1-r1-1\); decide with "poreloop approve\|reject c1"/);
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { awaitingApproval: unknown; rigRuns: number };
    expect(doc.awaitingApproval).toEqual({ round: 1, trialIds: ['c1-r1-0', 'c1-r1-1'] });
    expect(doc.rigRuns).toBe(0);
    // Once decided, nothing waits.
    const l = Ledger.open(db);
    l.append('c1', 'ApprovalGiven', { round: 1, decision: 'approve', trialIds: ['c1-r1-0', 'c1-r1-1'], by: 'test' }, 'round:1');
    l.close();
    io.stdout = '';
    expect(await main(['status', 'c1', '--db', db, '--json'])).toBe(0);
    expect((JSON.parse(io.stdout) as { awaitingApproval: unknown }).awaitingApproval).toBeNull();
  });

  it('shows how sure the simulated scores were: realisations, the reward σ, and the properties the domain is too small for (issue #13)', async () => {
    const db = join(dir, 'uncertain.db');
    const l = Ledger.open(db);
    l.append('c2', 'CampaignStarted', { name: 'rve', config: {}, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
    for (const i of [0, 1]) {
      const trialId = `c2-r1-${i}`;
      l.append('c2', 'TrialProposed', { trialId, round: 1, index: i, params: { x: i }, agent: 'random' }, trialId);
      l.append('c2', 'TrialScored', {
        trialId,
        properties: { sigma_eff_z: { mean: 200, std: 90, spread: 130 + 10 * i, n: 2 + i }, porosity: { mean: 0.8, std: 0.001, spread: 0.002, n: 2 + i } },
        fidelity: 'simulation',
        reward: i,
        rewardStd: 0.5,
        rveWarnings: ['sigma_eff_z'],
      }, trialId);
    }
    l.close();
    io.stdout = '';
    io.stderr = '';
    expect(await main(['status', 'c2', '--db', db])).toBe(0);
    const text = io.stderr + io.stdout;
    expect(text).toMatch(/P-model uncertainty over 2 simulated trials:\n {2}twin realisations per trial: median 2 \(2–3\)\n {2}reward σ: median 0\.50/);
    expect(text).toMatch(/sigma_eff_z: median CV 0\.65; 2 trials over predict\.rveMaxCv \(domain too small\)/);
    expect(text).toMatch(/porosity: median CV 0\.0025\n/);
    // The summary fits 100 columns (issue #18), the uncertainty block included.
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    io.stdout = '';
    expect(await main(['status', 'c2', '--db', db, '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { uncertainty: { properties: Record<string, { rveFlagged: number }> } };
    expect(doc.uncertainty.properties.sigma_eff_z.rveFlagged).toBe(2);
  });
});

describe('poreloop status: who runs the campaign (config review, item 3)', () => {
  /** A running campaign whose lease row names `pid` on this host, taken at `takenAt` (30 s lease). */
  function leased(db: string, id: string, pid: number, takenAt: number): void {
    const l = Ledger.open(db);
    l.append(id, 'CampaignStarted', { name: 'lease', config: {}, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
    CampaignLease.acquire(l, id, { pid, now: () => takenAt });
    l.close();
  }

  it('does not name a killed process as running it: the lease of a dead pid is the last run, with how to resume', async () => {
    const db = join(dir, 'dead.db');
    // A process of this host that has exited (a SIGKILLed `run`): its lease has not expired.
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    leased(db, 'k1', gone, Date.now());
    io.stdout = '';
    io.stderr = '';
    expect(await main(['status', 'k1', '--db', db])).toBe(0);
    const text = io.stderr + io.stdout;
    expect(text).not.toMatch(/(^|\n)run by process/);
    expect(text).toContain(`last run by process ${gone} on ${hostname()}`);
    expect(text).toMatch(new RegExp(`no longer running; resume it with "poreloop resume k1 --db ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
    io.stdout = '';
    expect(await main(['status', 'k1', '--db', db, '--json'])).toBe(0);
    const doc = JSON.parse(io.stdout) as { runBy: unknown; lastRunBy: { pid: number } | null };
    expect(doc.runBy).toBeNull();
    expect(doc.lastRunBy?.pid).toBe(gone);
  });

  it('treats an expired lease as not running, though its pid exists (40 s after, past the 30 s lease)', async () => {
    const db = join(dir, 'expired.db');
    leased(db, 'k2', process.pid, Date.now() - 40_000);
    io.stdout = '';
    io.stderr = '';
    expect(await main(['status', 'k2', '--db', db])).toBe(0);
    expect(io.stderr + io.stdout).toMatch(new RegExp(`last run by process ${process.pid} on .* \\(no longer running: its lease expired at [^;]+; resume it with "poreloop resume k2`));
  });

  it('names a live holder as running it', async () => {
    const db = join(dir, 'live.db');
    leased(db, 'k3', process.pid, Date.now());
    io.stdout = '';
    io.stderr = '';
    expect(await main(['status', 'k3', '--db', db])).toBe(0);
    expect(io.stderr + io.stdout).toMatch(new RegExp(`\\nrun by process ${process.pid} on `));
    expect(io.stderr + io.stdout).not.toContain('last run by');
  });
});
