import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.js';
import { CampaignView } from './view.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'poreloop-view-')), 'l.db');

function propose(l: Ledger, c: string, round: number, n: number) {
  for (let i = 0; i < n; i++) l.append(c, 'TrialProposed', { trialId: `${c}-r${round}-${i}`, round, index: i, params: { x: i / n }, agent: 'random' }, `${c}-r${round}-${i}`);
}

describe('campaign view', () => {
  it('answers one trial, round, job and document, for its own campaign only', () => {
    const l = Ledger.open(tmp());
    for (const c of ['a', 'b']) {
      l.append(c, 'CampaignStarted', { name: c, config: {}, configHash: 'h', seed: 1, source: 's', versions: {} }, 'start');
      propose(l, c, 1, 3);
      propose(l, c, 2, 2);
    }
    l.append('a', 'TrialScored', { trialId: 'a-r1-1', properties: { y: { mean: 2, std: 0 } }, fidelity: 'simulation', reward: 2 }, 'a-r1-1');
    l.append('a', 'TrialSelected', { trialId: 'a-r1-1', round: 1, rank: 0, predictedReward: 2 }, 'a-r1-1');
    l.append('a', 'JobDispatched', { jobId: 'a-r1-1-s0', trialId: 'a-r1-1', stage: 0, capability: 'm', attempt: 1, params: { x: 1 / 3 }, deadline: 'd' }, 'a-r1-1-s0');
    const v = new CampaignView(l, 'a', { fibre: 7 });
    expect(v.round(2).map((t) => t.id)).toEqual(['a-r2-0', 'a-r2-1']);
    expect(v.trial('a-r1-1')).toMatchObject({ status: 'dispatched', selectedRank: 0, predictedReward: 2 });
    expect(v.trial('b-r1-1')).toBeUndefined();
    expect(v.job('a-r1-1-s0')).toMatchObject({ trialId: 'a-r1-1', status: 'dispatched' });
    expect(v.openJobs().map((j) => j.jobId)).toEqual(['a-r1-1-s0']);
    expect(v.jobsOf('a-r1-0')).toEqual([]);
    expect(v.selectedBefore(2)).toEqual([{ x: 1 / 3 }]);
    expect(v.selectedBefore(1)).toEqual([]);
    expect(v.document('TrialScored', 'a-r1-1')!.body.reward).toBe(2);
    expect(v.has('TrialScored', 'a-r1-0')).toBe(false);
    // The latest document of a type, or the latest that carries a field (null counts, omitted does not).
    l.append('a', 'AgentLearned', { round: 1, observations: 3, fidelity: 'simulation', snapshot: { n: 1 } }, 'digital:1');
    l.append('a', 'AgentLearned', { round: 1, observations: 1, fidelity: 'rig', snapshot: null }, 'rig:1');
    l.append('a', 'AgentLearned', { round: 2, observations: 2, fidelity: 'simulation' }, 'digital:2');
    expect(v.latest('AgentLearned')!.key).toBe('digital:2');
    expect(v.latest('AgentLearned', 'snapshot')!.key).toBe('rig:1');
    expect(v.latest('ApprovalGiven')).toBeUndefined();
    // The one place where fixed parameters join a trial's own; the config's fixed value wins
    // (issue #19 review: a trial's `model` must not replace twin.model).
    expect(v.paramsOf({ params: { x: 0.5 } })).toEqual({ fibre: 7, x: 0.5 });
    expect(v.paramsOf({ params: { fibre: 9 } })).toEqual({ fibre: 7 });
    l.close();
  });

  it('keeps its list of all trials current, including writes by another connection', () => {
    const p = tmp();
    const l = Ledger.open(p);
    l.append('a', 'CampaignStarted', { name: 'a', config: {}, configHash: 'h', seed: 1, source: 's', versions: {} }, 'start');
    propose(l, 'a', 1, 3);
    const v = new CampaignView(l, 'a');
    expect(v.trials().map((t) => t.status)).toEqual(['proposed', 'proposed', 'proposed']);
    const other = Ledger.open(p);
    other.append('a', 'TrialScored', { trialId: 'a-r1-2', properties: {}, fidelity: 'simulation', reward: 1 }, 'a-r1-2');
    propose(other, 'a', 2, 1);
    other.append('b', 'CampaignStarted', { name: 'b', config: {}, configHash: 'h', seed: 1, source: 's', versions: {} }, 'start');
    propose(other, 'b', 1, 1);
    other.close();
    l.append('a', 'TrialScored', { trialId: 'a-r1-0', properties: {}, fidelity: 'simulation', reward: 3 }, 'a-r1-0');
    const all = v.trials();
    expect(all.map((t) => [t.id, t.status])).toEqual([
      ['a-r1-0', 'scored'],
      ['a-r1-1', 'proposed'],
      ['a-r1-2', 'scored'],
      ['a-r2-0', 'proposed'],
    ]);
    // The incremental copy agrees with a full read of the table.
    expect(all).toEqual(l.trials('a'));
    l.close();
  });
});
