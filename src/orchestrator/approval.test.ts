import { describe, expect, it } from 'vitest';
import type { ParameterSpace } from '../core/protocols.js';
import { Ledger } from '../ledger/ledger.js';
import { CampaignView } from '../ledger/view.js';
import { CampaignRuntime, perTrialDecision, type CampaignRuntimeDeps } from './runtime.js';

const space: ParameterSpace = { parameters: [{ name: 'x', kind: 'continuous', min: 0, max: 1 }] };
const batch = ['t0', 't1', 't2'];

describe('per-trial decisions at the approval gate (issue #18)', () => {
  it('approves a subset, rejects the rest with a reason, and keeps valid edits', () => {
    const d = perTrialDecision('approve', { reject: ['t1'], edits: { t2: { x: 0.25 } } }, batch, space);
    expect(d).toEqual({ decision: 'edit', approved: ['t0', 't2'], rejected: [['t1', 'rejected at the approval gate']], edits: { t2: { x: 0.25 } } });
  });

  it('refuses an edit outside the space by rejecting that trial, naming the violation', () => {
    const d = perTrialDecision('approve', { edits: { t0: { x: 2 } } }, batch, space);
    expect(d.decision).toBe('approve');
    expect(d.approved).toEqual(['t1', 't2']);
    expect(d.rejected[0][0]).toBe('t0');
    expect(d.rejected[0][1]).toMatch(/edited parameters refused at the approval gate: x/);
  });

  it('a batch with nothing approved is a rejection; a plain approve approves all', () => {
    expect(perTrialDecision('approve', { reject: batch }, batch, space).decision).toBe('reject');
    expect(perTrialDecision('reject', null, batch, space)).toMatchObject({ decision: 'reject', approved: [] });
    expect(perTrialDecision('approve', { by: 'me' }, batch, space)).toEqual({ decision: 'approve', approved: batch, rejected: [] });
  });

  it('an edit replaces the trial row parameters the rigs and the agent see; the proposal stays in its document', () => {
    const l = Ledger.open(':memory:');
    l.append('c', 'CampaignStarted', { name: 'e', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    l.append('c', 'TrialProposed', { trialId: 't0', round: 1, index: 0, params: { x: 0.5 }, agent: 'a' }, 't0');
    const view = new CampaignView(l, 'c', { fixed: 7 });
    expect(view.trials()[0].params).toEqual({ x: 0.5 });
    l.append('c', 'ApprovalGiven', { round: 1, decision: 'edit', trialIds: ['t0'], edits: { t0: { x: 0.25 } }, by: 'test' }, 'round:1');
    // The in-memory history is brought up to date by the new document, not a reload.
    expect(view.trials()[0].params).toEqual({ x: 0.25 });
    expect(view.paramsOf(view.trial('t0')!)).toEqual({ fixed: 7, x: 0.25 });
    expect(l.documents('c', 'TrialProposed')[0].body.params).toEqual({ x: 0.5 });
    l.close();
  });
});

describe('a campaign resumed at the approval gate says what waits (reproducibility review, item 4)', () => {
  it('announceApproval names the round, its trials and the command; nothing once decided', () => {
    const l = Ledger.open(':memory:');
    l.append('c', 'CampaignStarted', { name: 'e', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    l.append('c', 'ApprovalRequested', { round: 2, trialIds: ['c-r2-0', 'c-r2-1'] }, 'round:2');
    const lines: string[] = [];
    // Only what announceApproval reads: the ledger and where progress goes.
    const runtime = new CampaignRuntime({ ledger: l, campaignId: 'c', space, fixed: {}, onProgress: (e: { message?: string }) => void lines.push(e.message ?? '') } as unknown as CampaignRuntimeDeps);
    runtime.announceApproval(2);
    expect(lines).toEqual(['waiting for approval: round 2, 2 trials (c-r2-0, c-r2-1); decide with "poreloop approve|reject c"']);
    l.append('c', 'ApprovalGiven', { round: 2, decision: 'approve', trialIds: ['c-r2-0', 'c-r2-1'], by: 'test' }, 'round:2');
    runtime.announceApproval(2);
    expect(lines).toHaveLength(1);
    l.close();
  });
});
