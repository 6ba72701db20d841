import { describe, expect, it } from 'vitest';
import { printSummary } from '../src/cli/commands/campaign.js';
import { summariseCampaign } from '../src/ledger/export.js';
import { Ledger } from '../src/ledger/ledger.js';

/**
 * Review 2026-12-07: a campaign whose every trial was abandoned for the same handler error
 * ("handler failed: voxelSize: fibreDiameter 7 µm is smaller than one voxel…") ended
 * "completed — rig-run budget spent … 0 measured, 4 abandoned", the reason seen only in
 * `status`. The closing summary now gives the reasons with their counts.
 */
describe('closing summary of abandoned trials', () => {
  it('lists the abandon reasons, most frequent first, and says nothing was measured', () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const l = Ledger.open(':memory:', { now: () => new Date((t += 1000)) });
    l.append('c', 'CampaignStarted', { name: 'gdl', config: { reward: 'a', budget: { rigRuns: 5 }, agent: { name: 'random' }, space: { x: { min: 0, max: 1 } } }, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0' } }, 'start');
    l.append('c', 'RoundStarted', { round: 1 }, 'round:1');
    const voxel = 'handler failed: voxelSize: fibreDiameter 7 µm is smaller than one voxel (10 µm)';
    const reasons = [voxel, voxel, 'stage fabricate: timed out', voxel, voxel];
    reasons.forEach((reason, i) => {
      const trialId = `c-r1-${i}`;
      l.append('c', 'TrialProposed', { trialId, round: 1, index: i, params: { x: i / 10 }, agent: 'random' }, trialId);
      l.append('c', 'TrialAbandoned', { trialId, reason }, trialId);
    });
    l.append('c', 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
    const s = summariseCampaign(l, 'c');
    expect(s.abandonReasons).toEqual([
      { reason: voxel, trials: 4, first: 'c-r1-0' },
      { reason: 'stage fabricate: timed out', trials: 1, first: 'c-r1-2' },
    ]);
    const lines: string[] = [];
    printSummary({ json: false, info: (x) => lines.push(x), log: () => undefined, result: () => undefined }, s);
    expect(lines).toContain(`  abandoned: 4 × ${voxel} (first c-r1-0)`);
    expect(lines).toContain('  abandoned: 1 × stage fabricate: timed out (first c-r1-2)');
    expect(lines).toContain('no rig run was measured: 5 trials were abandoned (reasons above)');
  });
});
