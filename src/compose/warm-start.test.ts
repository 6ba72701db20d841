import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../tests/helpers.js';
import { Ledger } from '../ledger/ledger.js';
import { overview } from '../report/model.js';
import { importWarmStart, parseCsv, readWarmStart } from './warm-start.js';

/**
 * Issue #19, warm start: earlier measurements enter a campaign as real observations with their
 * provenance. A twin-less formulation campaign (simulated rigs measure `score`) imports six
 * earlier results, one of them a failed manufacture.
 */
const space = { parameters: [{ name: 'a', kind: 'continuous' as const, min: 0, max: 1 }, { name: 'b', kind: 'continuous' as const, min: 0, max: 1 }] };

describe('warm start from a CSV of earlier measurements', () => {
  it('parses quoted CSV fields and reads rows with their numbers', () => {
    expect(parseCsv('a,"b, c",d\r\n1,"say ""hi""",3\n\n')).toEqual([['a', 'b, c', 'd'], ['1', 'say "hi"', '3']]);
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score,feasible\n0.1,0.2,0.5,true\n0.3,0.4,,0\n');
    const { rows, sha256 } = readWarmStart(f, space);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows).toEqual([
      { row: 1, params: { a: 0.1, b: 0.2 }, measured: { score: 0.5 }, feasible: true },
      { row: 2, params: { a: 0.3, b: 0.4 }, measured: {}, feasible: false },
    ]);
  });

  it('refuses a CSV that lacks a parameter, holds a non-number or leaves the space, naming the row', () => {
    const dir = tmp('poreloop-warm-');
    const cases: Array<[string, RegExp]> = [
      ['a,score\n0.1,1\n', /no column for parameter b/],
      ['a,b,score\n0.1,x,1\n', /row 1: b = "x" is not a number/],
      ['a,b,score\n0.1,0.2,1\n0.5,1.5,2\n', /row 2: outside the campaign's space: b/],
      ['a,b\n0.1,0.2\n', /no measured property columns/],
    ];
    for (const [text, re] of cases) {
      const f = join(dir, 'bad.csv');
      writeFileSync(f, text);
      expect(() => readWarmStart(f, space), text).toThrow(re);
    }
  });

  it('the same CSV seeds two campaigns of one ledger: trial ids carry the campaign id (review)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score\n0.1,0.2,0.5\n0.3,0.4,0.7\n');
    const l = Ledger.open(join(dir, 'ledger.db'));
    try {
      const warm = readWarmStart(f, space);
      for (const c of ['c1', 'c2']) {
        l.append(c, 'CampaignStarted', { name: c, config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
        expect(importWarmStart(l, c, warm, (m) => m.score)).toBe(2);
        expect(importWarmStart(l, c, warm, (m) => m.score)).toBe(0); // idempotent
      }
      expect(l.trials('c2').map((t) => t.id)).toEqual(['c2-import-1', 'c2-import-2']);
      expect(l.integrity().ok).toBe(true);
    } finally {
      l.close();
    }
  });

  it('a campaign imports the rows as completed rig-fidelity trials with file, sha256 and row, then runs its own', async () => {
    const dir = tmp('poreloop-warm-');
    const csv = 'a,b,score,feasible\n0.1,0.9,0.2,1\n0.5,0.5,0.8,1\n0.9,0.1,0.4,1\n0.2,0.2,0.3,1\n0.7,0.8,0.6,1\n0.4,0.6,,0\n';
    writeFileSync(join(dir, 'earlier.csv'), csv);
    const config = {
      name: 'warm',
      seed: 3,
      space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 } },
      reward: 'score',
      agent: { name: 'gp-bo', candidates: 2, batchSize: 2 },
      rigs: { pipeline: ['characterise'], measure: ['score'], timeout: '20s', simulate: { rigs: [{ id: 'char-1', capabilities: ['characterise'], latencyMs: 30 }] } },
      budget: { rigRuns: 2 },
      warmStart: { csv: 'earlier.csv' },
    };
    writeFileSync(join(dir, 'campaign.yaml'), YAML.stringify(config));
    const db = join(dir, 'ledger.db');
    const r = await cli(['run', join(dir, 'campaign.yaml'), '--db', db, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { campaignId: string; rigRuns: number };
    // The imports are not rig runs of this campaign: the budget's two still go to the rigs.
    expect(doc.rigRuns).toBe(2);
    const l = Ledger.open(db, { readonly: true });
    try {
      const imported = l.documents(doc.campaignId, 'ObservationImported').map((d) => d.body);
      expect(imported).toHaveLength(6);
      expect(imported.map((b) => b.source.row)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(imported[1]).toMatchObject({ params: { a: 0.5, b: 0.5 }, measured: { score: 0.8 }, reward: 0.8, feasible: true, source: { file: join(dir, 'earlier.csv') } });
      expect(imported[5]).toMatchObject({ feasible: false });
      expect(Number.isFinite(imported[5].reward)).toBe(false); // NaN is stored as JSON null
      const trials = l.trials(doc.campaignId);
      const fromCsv = trials.filter((t) => t.agent === 'import');
      expect(fromCsv).toHaveLength(6);
      expect(fromCsv.every((t) => t.status === 'completed' && t.round === 0)).toBe(true);
      expect(trials.filter((t) => t.agent !== 'import' && t.status === 'completed')).toHaveLength(2);
      expect(l.integrity().ok).toBe(true);
    } finally {
      l.close();
    }
    // The read side takes them: export lists them with their agent, status and report renders.
    const exported = await cli(['export', doc.campaignId, '--db', db, '--format', 'csv']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.split('\n').filter((l) => l.includes('import')).length).toBeGreaterThanOrEqual(6);
    // Status and report count the imports apart from the campaign's own trials, as rigRuns does (review).
    const st = await cli(['status', doc.campaignId, '--db', db, '--json']);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ outcomes: { measured: 2, infeasible: 0, imported: 6 } });
    const text = await cli(['status', doc.campaignId, '--db', db]);
    expect(text.stdout + text.stderr).toMatch(/rig runs: 2 measured[\s\S]*imported 6 earlier measurements/);
    const ro = Ledger.open(db, { readonly: true });
    try {
      expect(overview(ro, ro.campaign(doc.campaignId)!)).toMatchObject({ completed: 2, infeasible: 0, imported: 6 });
    } finally {
      ro.close();
    }
    const rep = await cli(['report', doc.campaignId, '--db', db, '--out', join(dir, 'report')]);
    expect(rep.code, rep.stderr).toBe(0);
    // A CSV outside the space stops the campaign before it starts, exit 2, naming the row — and
    // nothing is written to the ledger: no "running" campaign that a resume would run without it.
    writeFileSync(join(dir, 'earlier.csv'), 'a,b,score\n0.1,2,1\n');
    const bad = await cli(['run', join(dir, 'campaign.yaml'), '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/earlier\.csv: row 1: outside the campaign's space/);
    const after = Ledger.open(db, { readonly: true });
    try {
      expect(after.campaigns().map((c) => c.id)).toEqual([doc.campaignId]);
    } finally {
      after.close();
    }
  });
});
