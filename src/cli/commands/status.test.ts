import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../../../tests/helpers.js';
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
});
