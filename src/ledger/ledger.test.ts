import { mkdtempSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadInputError, LedgerError, TrialLifecycleError } from '../core/errors.js';
import { abandonConcernsRecipe, abandonKind, type AbandonKind, type DocumentBodies } from './documents.js';
import { exportCampaign, toCsv } from './export.js';
import { Ledger, issueCommand } from './ledger.js';

const tmp = () => join(mkdtempSync(join(tmpdir(), 'poreloop-ledger-')), 'l.db');

function seed(l: Ledger, c = 'c1') {
  l.append(c, 'CampaignStarted', { name: 'n', config: { a: 1 }, configHash: 'h', seed: 3, source: 's.yaml', versions: { poreloop: '0.1.0' } }, 'start');
  l.append(c, 'TrialProposed', { trialId: 't1', round: 1, index: 0, params: { x: 0.5 }, agent: 'random' }, 't1');
  l.append(c, 'TrialScored', { trialId: 't1', properties: { y: { mean: 2, std: 0.1 } }, fidelity: 'simulation', reward: 2 }, 't1');
  l.append(c, 'TrialSelected', { trialId: 't1', round: 1, rank: 0, predictedReward: 2 }, 't1');
  l.append(c, 'JobDispatched', { jobId: 'j1', trialId: 't1', stage: 0, capability: 'measure', attempt: 1, params: { x: 0.5 }, deadline: new Date().toISOString() }, 'j1');
}

describe('ledger', () => {
  it('projects documents into the derived tables in the same transaction', () => {
    const l = Ledger.open(tmp());
    seed(l);
    l.append('c1', 'RigEventReceived', { jobId: 'j1', rigId: 'r1', seq: 1, type: 'accepted', at: '', protocol: '1.0' }, 'j1:1');
    l.append('c1', 'MeasurementRecorded', { jobId: 'j1', trialId: 't1', stage: 0, capability: 'measure', rigId: 'r1', measurements: { y: 1.5 }, feasible: true }, 't1:0');
    l.append('c1', 'TrialCompleted', { trialId: 't1', measured: { y: 1.5 }, reward: 1.5, feasible: true }, 't1');
    const [t] = l.trials('c1');
    expect(t.status).toBe('completed');
    expect(t.measuredReward).toBe(1.5);
    expect(t.prediction).toEqual({ y: { mean: 2, std: 0.1 } });
    expect(l.jobs('c1')[0]).toMatchObject({ status: 'completed', rigId: 'r1', attempt: 1 });
    expect(l.campaign('c1')).toMatchObject({ status: 'running', rigRuns: 1 });
    expect(l.integrity()).toMatchObject({ ok: true, sqlite: 'ok' });
    l.close();
  });

  it('ignores a second document with the same key (idempotent re-delivery)', () => {
    const l = Ledger.open(tmp());
    seed(l);
    const m = { jobId: 'j1', trialId: 't1', stage: 0, capability: 'measure', rigId: 'r1', measurements: { y: 1 }, feasible: true };
    expect(l.append('c1', 'MeasurementRecorded', m, 't1:0')).not.toBeNull();
    expect(l.append('c1', 'MeasurementRecorded', { ...m, measurements: { y: 99 } }, 't1:0')).toBeNull();
    expect(l.measurements('c1')).toHaveLength(1);
    expect(l.measurements('c1')[0].measurements).toEqual({ y: 1 });
    l.close();
  });

  it('records a retried attempt on the job', () => {
    const l = Ledger.open(tmp());
    seed(l);
    l.append('c1', 'RigEventReceived', { jobId: 'j1', rigId: 'r1', seq: 2, type: 'failed', at: '', protocol: '1.0', attempt: 1, final: false, reason: 'timeout' }, 'k');
    expect(l.jobs('c1')[0]).toMatchObject({ attempt: 2, status: 'dispatched' });
    l.close();
  });

  it('enforces the trial lifecycle: an illegal transition throws and writes nothing', () => {
    const l = Ledger.open(tmp());
    seed(l);
    l.append('c1', 'TrialCompleted', { trialId: 't1', measured: { y: 1 }, reward: 1, feasible: true }, 't1');
    const before = l.documents('c1').length;
    // completed is final: no re-dispatch, no abandonment, no second selection.
    const dispatch = () => l.append('c1', 'JobDispatched', { jobId: 'j2', trialId: 't1', stage: 0, capability: 'measure', attempt: 1, params: { x: 0.5 }, deadline: new Date().toISOString() }, 'j2');
    expect(dispatch).toThrow(TrialLifecycleError);
    expect(dispatch).toThrow(/t1 cannot go from completed to dispatched/);
    expect(() => l.append('c1', 'TrialAbandoned', { trialId: 't1', reason: 'x' }, 't1')).toThrow(TrialLifecycleError);
    // A proposed trial cannot skip scoring, and an unknown trial cannot move at all.
    l.append('c1', 'TrialProposed', { trialId: 't2', round: 1, index: 1, params: { x: 0.1 }, agent: 'random' }, 't2');
    expect(() => l.append('c1', 'TrialSelected', { trialId: 't2', round: 1, rank: 1, predictedReward: 0 }, 't2')).toThrow(/proposed to selected/);
    expect(() => l.append('c1', 'TrialScored', { trialId: 'nope', properties: {}, fidelity: 'simulation', reward: 0 }, 'nope')).toThrow(/does not exist/);
    // Nothing of the refused appends was written: documents, trials and jobs are as before.
    expect(l.documents('c1')).toHaveLength(before + 1);
    expect(l.trials('c1').map((t) => t.status)).toEqual(['completed', 'proposed']);
    expect(l.jobs('c1').map((j) => j.jobId)).toEqual(['j1']);
    expect(l.campaign('c1')!.rigRuns).toBe(1);
    l.close();
  });

  it('validates every document against its schema on append: a malformed one is refused and nothing is written', () => {
    const l = Ledger.open(tmp());
    seed(l);
    const docs = l.documents('c1').length;
    const before = JSON.stringify([l.trials('c1'), l.jobs('c1'), l.campaign('c1')]);
    const bad: Array<[string, unknown, RegExp]> = [
      ['TrialScored', { trialId: 't1', properties: { y: { mean: 2 } }, fidelity: 'simulation', reward: 2 }, /properties\.y\.std: expected a number/],
      ['TrialScored', { trialId: 't1', properties: {}, fidelity: 'quantum', reward: 2 }, /fidelity/],
      ['MeasurementRecorded', { jobId: 'j1', trialId: 't1', stage: 0, capability: 'measure', rigId: 'r1', measurements: { y: '1.5' }, feasible: true }, /measurements\.y: expected a number/],
      ['JobDispatched', { jobId: 'j9', trialId: 't1', stage: -1, capability: 'measure', attempt: 1, params: {}, deadline: 'd' }, /stage/],
      ['TrialProposed', { trialId: 't9', round: 1, index: 0, params: { x: [1] }, agent: 'a' }, /params\.x/],
      ['TrialCompleted', { trialId: 't1', reward: 1, feasible: true }, /measured/],
      ['NoSuchDocument', {}, /unknown document type "NoSuchDocument"/],
    ];
    for (const [type, body, msg] of bad) {
      expect(() => l.append('c1', type as 'TrialScored', body as never, 'k-bad')).toThrow(LedgerError);
      expect(() => l.append('c1', type as 'TrialScored', body as never, 'k-bad')).toThrow(msg);
    }
    expect(l.documents('c1')).toHaveLength(docs);
    expect(JSON.stringify([l.trials('c1'), l.jobs('c1'), l.campaign('c1')])).toBe(before);
    // NaN rewards are legitimate (a candidate the P-model could not score) and are accepted.
    expect(l.append('c1', 'TrialCompleted', { trialId: 't1', measured: {}, reward: Number.NaN, feasible: false }, 't1')).not.toBeNull();
    l.close();
  });

  it('refuses to update or delete documents', () => {
    const l = Ledger.open(tmp());
    seed(l);
    expect(() => l.db.prepare("UPDATE documents SET body = '{}'").run()).toThrow(/append-only/);
    expect(() => l.db.prepare('DELETE FROM documents').run()).toThrow(/append-only/);
    l.close();
  });

  it('refuses a corrupt file with a message that says what to do', () => {
    const p = tmp();
    const l = Ledger.open(p);
    seed(l);
    for (let i = 0; i < 200; i++) l.append('c1', 'RoundStarted', { round: i }, `r${i}`);
    l.db.pragma('wal_checkpoint(TRUNCATE)');
    l.close();
    const size = statSync(p).size;
    const fd = openSync(p, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xab), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    closeSync(fd);
    expect(() => Ledger.open(p)).toThrow(LedgerError);
    expect(() => Ledger.open(p)).toThrow(/integrity|cannot open|malformed/);
  });

  it('rejects a file that is not a ledger, and a missing file in read-only mode', () => {
    const p = tmp();
    expect(() => Ledger.open(p, { readonly: true })).toThrow(/no ledger at/);
    const fd = openSync(p, 'w');
    writeSync(fd, 'this is not sqlite at all, just some text '.repeat(200));
    closeSync(fd);
    expect(() => Ledger.open(p)).toThrow(LedgerError);
  });

  it('a path no ledger can be made at (its folder missing, a folder) is bad input, not a ledger fault (review of the CLI, 2026-12-07)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poreloop-ledger-'));
    expect(() => Ledger.open(join(dir, 'missing', 'l.db'))).toThrow(BadInputError);
    expect(() => Ledger.open(join(dir, 'missing', 'l.db'))).toThrow(/the folder .*missing does not exist; create it/);
    expect(() => Ledger.open(dir)).toThrow(BadInputError);
    expect(() => Ledger.open(dir)).toThrow(/cannot open ledger .*: unable to open database file; name a file you may write/);
  });

  it('carries operator commands from another process', () => {
    const p = tmp();
    const a = Ledger.open(p);
    seed(a);
    const b = Ledger.open(p);
    issueCommand(b, 'c1', 'stop');
    const [cmd] = a.pendingCommands('c1');
    expect(cmd.command).toBe('stop');
    a.consumeCommand(cmd.seq);
    expect(b.pendingCommands('c1')).toHaveLength(0);
    a.close();
    b.close();
  });

  it('records a pause as the campaign status: paused until it goes on, resumes or stops (issue #18)', () => {
    const l = Ledger.open(tmp());
    seed(l);
    l.append('c1', 'CampaignPaused', { round: 2 }, 'round:2');
    expect(l.campaign('c1')!.status).toBe('paused');
    l.append('c1', 'CampaignUnpaused', { round: 2 });
    expect(l.campaign('c1')!.status).toBe('running');
    l.append('c1', 'CampaignPaused', { round: 3 }, 'round:3');
    l.append('c1', 'CampaignResumed', { pid: 1, fromState: 'paused' }); // a new process after a kill
    expect(l.campaign('c1')!.status).toBe('running');
    l.append('c1', 'CampaignPaused', { round: 4 }, 'round:4');
    l.append('c1', 'CampaignStopped', { status: 'stopped', reason: 'operator command' });
    // A pause or its end that comes late changes no ended campaign.
    l.append('c1', 'CampaignUnpaused', { round: 4 });
    expect(l.campaign('c1')!.status).toBe('stopped');
    l.append('c1', 'CampaignPaused', { round: 5 }, 'round:5');
    expect(l.campaign('c1')!.status).toBe('stopped');
    l.close();
  });

  it('exports every trial with provenance as JSON and CSV', () => {
    const l = Ledger.open(tmp());
    seed(l);
    const doc = exportCampaign(l, 'c1');
    expect(doc.campaign).toMatchObject({ configHash: 'h', seed: 3 });
    expect(doc.trials[0]).toMatchObject({ trialId: 't1', params: { x: 0.5 }, predictedReward: 2 });
    const csv = toCsv(doc).trim().split('\n');
    expect(csv[0]).toContain('config_hash');
    expect(csv[0]).toContain('param_x');
    expect(csv[0]).toContain('pred_y_std');
    expect(csv).toHaveLength(2);
    l.close();
  });
});

describe('TrialAbandoned.kind (issue #21 review)', () => {
  it('is what the runtime wrote, or inferred from the reason in ledgers written before it; only the approval gate concerns the recipe', () => {
    const cases: Array<[DocumentBodies['TrialAbandoned'], AbandonKind]> = [
      [{ trialId: 't', reason: 'rejected at the approval gate' }, 'approval'],
      [{ trialId: 't', reason: 'edited parameters refused at the approval gate: x above its maximum 1' }, 'approval'],
      [{ trialId: 't', reason: 'stage characterise: timed out' }, 'rig'],
      [{ trialId: 't', reason: 'the campaign ended (wall time) before its result' }, 'campaign-end'],
      [{ trialId: 't', reason: 'the reward could not be computed from the measurements [y]: boom' }, 'result'],
      // The recorded kind wins over the text.
      [{ trialId: 't', reason: 'rejected at the approval gate', kind: 'rig' }, 'rig'],
    ];
    for (const [body, kind] of cases) {
      expect(abandonKind(body)).toBe(kind);
      expect(abandonConcernsRecipe(body)).toBe(kind === 'approval');
    }
  });

  it('the ledger accepts the field and still accepts documents without it', () => {
    const l = Ledger.open(tmp());
    seed(l);
    for (const id of ['a', 'b']) {
      l.append('c1', 'TrialProposed', { trialId: id, round: 1, index: 0, params: { x: 0.5 }, agent: 'fake' }, id);
    }
    l.append('c1', 'TrialAbandoned', { trialId: 'a', reason: 'rejected at the approval gate', kind: 'approval' }, 'a');
    l.append('c1', 'TrialAbandoned', { trialId: 'b', reason: 'rejected at the approval gate' }, 'b');
    expect(l.documents('c1', 'TrialAbandoned').map((d) => d.body.kind)).toEqual(['approval', undefined]);
    expect(() => l.append('c1', 'TrialAbandoned', { trialId: 'a', reason: 'x', kind: 'bogus' as never }, 'a2')).toThrow();
  });
});

describe('requireCampaign', () => {
  it('finds by id or unique prefix, and says whether an id is unknown or a prefix ambiguous', () => {
    const l = Ledger.open(tmp());
    for (const c of ['gdl-a1', 'gdl-a2', 'sofc-b']) {
      l.append(c, 'CampaignStarted', { name: 'n', config: { a: 1 }, configHash: 'h', seed: 3, source: 's.yaml', versions: { poreloop: '0.1.0' } }, 'start');
    }
    expect(l.requireCampaign('gdl-a2', 'x.db').id).toBe('gdl-a2');
    expect(l.requireCampaign('sofc', 'x.db').id).toBe('sofc-b');
    // findCampaign answers undefined for both; the command must say which it is.
    expect(l.findCampaign('gdl')).toBeUndefined();
    expect(() => l.requireCampaign('gdl', 'x.db')).toThrow('campaignId: "gdl" is the start of 2 campaigns in x.db (gdl-a1, gdl-a2): give more of the id');
    expect(() => l.requireCampaign('nope', 'x.db')).toThrow('campaignId: no campaign "nope" in x.db; see "poreloop status --db x.db"');
    // A prefix is a prefix: no LIKE wildcards, and case counts.
    for (const p of ['%', 'gdl_a', 'SOFC', '_']) expect(l.findCampaign(p)).toBeUndefined();
    expect(() => l.requireCampaign('%', 'x.db')).toThrow('no campaign "%" in x.db');
    l.close();
  });
});
