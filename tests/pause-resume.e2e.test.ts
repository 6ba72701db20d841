import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { pendingApproval } from '../src/ledger/export.js';
import { Ledger, issueCommand } from '../src/ledger/ledger.js';
import { campaignIn, cli, tmp, until } from './helpers.js';

/**
 * Issue #18 review, items 3 and 6: a paused campaign is recorded as paused (status), and a
 * campaign whose process died while paused goes on when resumed, instead of sitting idle in
 * the new process. A small real campaign (twin-less, simulated rig on the embedded broker,
 * real ledger) run in this process; the "killed" ledger is a copy taken while it was paused.
 * Slow tier: about 11 s, most of it the campaign process starting and closing twice.
 */

describe('pause and resume of a real campaign (issue #18)', () => {
  it('status is "paused" while paused; resume of a campaign killed while paused goes on and says so', { tags: ['slow'] }, async () => {
    const dir = tmp('poreloop-pause-');
    const path = join(dir, 'campaign.yaml');
    writeFileSync(path, YAML.stringify({
      name: 'pause',
      seed: 5,
      space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 } },
      reward: 'score',
      agent: { name: 'sobol', candidates: 2, batchSize: 2 },
      rigs: { pipeline: ['characterise'], measure: ['score'], timeout: '20s', approval: true, simulate: { rigs: [{ id: 'char-1', capabilities: ['characterise'], latencyMs: 20 }] } },
      budget: { rigRuns: 4 },
    }));
    const db = join(dir, 'ledger.db');
    const killed = join(dir, 'killed.db');
    const run = cli(['run', path, '--db', db, '--json']);
    const { ledger: l, id } = await campaignIn(db);
    const w = Ledger.open(db);
    try {
      // Round 1 waits at the gate: ask for a pause, then approve it; the campaign pauses after round 1.
      await until('round 1 at the approval gate', () => pendingApproval(l, id)?.round === 1);
      issueCommand(w, id, 'pause', { by: 'test' });
      issueCommand(w, id, 'approve', { round: 1, by: 'test' });
      await until('status paused', () => l.campaign(id)?.status === 'paused');
      expect(l.documents(id, 'CampaignPaused').map((d) => d.body.round)).toEqual([2]);
      // What a SIGKILL now would leave: the ledger as it is, its lease held by a process that is gone.
      w.db.exec(`VACUUM INTO '${killed}'`);
      issueCommand(w, id, 'stop', { by: 'test' });
      expect((await run).code).toBe(0);
    } finally {
      w.close();
      l.close();
    }
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const k = Ledger.open(killed);
    try {
      k.db.prepare('UPDATE leases SET pid = ?').run(gone);
      expect(k.campaign(id)?.status).toBe('paused');
      const resumed = cli(['resume', id, '--db', killed, '--json']);
      // The new process goes on with round 2 (before the fix it sat in `paused`, proposing nothing).
      await until('round 2 at the approval gate', () => pendingApproval(k, id)?.round === 2);
      issueCommand(k, id, 'approve', { round: 2, by: 'test' });
      const r = await resumed;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toMatch(new RegExp(`campaign ${id} was paused \\(at the end of a round\\); resuming it`));
      expect(JSON.parse(r.stdout)).toMatchObject({ campaignId: id, status: 'completed', rigRuns: 4 });
      expect(k.documents(id, 'CampaignResumed').map((d) => d.body.fromState)).toEqual(['paused']);
    } finally {
      if (k.campaign(id)?.status === 'running' || k.campaign(id)?.status === 'paused') issueCommand(k, id, 'stop', { by: 'test cleanup' });
      k.close();
    }
  });
});
