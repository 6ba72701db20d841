import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../tests/helpers.js';
import { Ledger } from '../ledger/ledger.js';
import { overview } from '../report/model.js';
import { compileReward } from '../reward/expression.js';
import { campaignReward } from '../reward/scope.js';
import { importWarmStart, parseCsv, readWarmStart } from './warm-start.js';

/**
 * Issue #19, warm start: earlier measurements enter a campaign as real observations with their
 * provenance. A twin-less formulation campaign (simulated rigs measure `score`) imports six
 * earlier results, one of them a failed manufacture.
 */
const space = { parameters: [{ name: 'a', kind: 'continuous' as const, min: 0, max: 1 }, { name: 'b', kind: 'continuous' as const, min: 0, max: 1 }] };
/** A campaign that measures `score` and `mass`, its reward `score` (as the config's `reward: score` compiles: a missing name throws). */
const campaign = {
  properties: ['score', 'mass'],
  rewardOf: (m: Record<string, number>) => {
    if (m.score === undefined) throw new Error('no value for "score"');
    return m.score;
  },
};

describe('warm start from a CSV of earlier measurements', () => {
  it('parses quoted CSV fields and reads rows with their numbers', () => {
    expect(parseCsv('a,"b, c",d\r\n1,"say ""hi""",3\n\n')).toEqual([['a', 'b, c', 'd'], ['1', 'say "hi"', '3']]);
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score,feasible\n0.1,0.2,0.5,true\n0.3,0.4,,0\n');
    const { rows, sha256 } = readWarmStart(f, space, campaign);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(rows).toEqual([
      { row: 1, line: 2, params: { a: 0.1, b: 0.2 }, measured: { score: 0.5 }, feasible: true, reward: 0.5 },
      { row: 2, line: 3, params: { a: 0.3, b: 0.4 }, measured: {}, feasible: false, reward: Number.NaN },
    ]);
  });

  it('refuses a CSV that lacks a parameter, holds a non-number or leaves the space, naming the row', () => {
    const dir = tmp('poreloop-warm-');
    const cases: Array<[string, RegExp]> = [
      ['a,score\n0.1,1\n', /no column for parameter b/],
      ['a,b,score\n0.1,x,1\n', /data row 1 \(line 2\): b = "x" is not a decimal number/],
      ['a,b,score\n0.1,0.2,1\n0.5,1.5,2\n', /data row 2 \(line 3\): outside the campaign's space: b/],
      ['a,b\n0.1,0.2\n', /no measured property columns/],
    ];
    for (const [text, re] of cases) {
      const f = join(dir, 'bad.csv');
      writeFileSync(f, text);
      expect(() => readWarmStart(f, space, campaign), text).toThrow(re);
    }
  });

  it('refuses a column that is neither a parameter nor a measured property, listing the allowed names; # columns are ignored (import review #1)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    // `Score (a.u.)` for `score` gave every row a null reward, exit 0.
    writeFileSync(f, 'a,b,Score (a.u.)\n0.1,0.2,1\n');
    expect(() => readWarmStart(f, space, campaign)).toThrow(/column "Score \(a\.u\.\)" is neither a parameter nor a property this campaign measures\. Allowed columns: parameters a, b; properties score, mass; either with the prefix param_ or meas_ that poreloop export writes; feasible; and columns to ignore, named with a leading # \(e\.g\. "#notes"\)/);
    writeFileSync(f, 'a,b,score,#notes,# sample\n0.1,0.2,1,"batch 3, dried",S-17\n');
    expect(readWarmStart(f, space, campaign).rows[0]).toMatchObject({ measured: { score: 1 }, reward: 1 });
  });

  it('refuses a feasible row without a finite reward, naming the row and why (import review #1)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score,mass\n0.1,0.2,1,2\n0.3,0.4,,3\n');
    expect(() => readWarmStart(f, space, campaign)).toThrow(/old\.csv: data row 2 \(line 3\): the campaign's reward cannot be computed \(no value for "score"; measured: mass = 3\); give the property, or mark the row feasible = false/);
    const nan = { ...campaign, rewardOf: (m: Record<string, number>) => Math.log(m.score) };
    writeFileSync(f, 'a,b,score\n0.1,0.2,-1\n');
    expect(() => readWarmStart(f, space, nan)).toThrow(/data row 1 \(line 2\): the campaign's reward of this row is NaN \(measured: score = -1\)/);
    // An infeasible row needs no reward.
    writeFileSync(f, 'a,b,score,feasible\n0.1,0.2,,false\n');
    expect(readWarmStart(f, space, campaign).rows[0].feasible).toBe(false);
  });

  it('a reward of −∞ is data and enters; NaN and +∞ (the reward is maximised) are refused (review 2026-12-07)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    const log10 = { ...campaign, rewardOf: (m: Record<string, number>) => Math.log10(m.score) };
    // score = 0 → log10 = −∞: computable and terrible (1a3f5e9, a367575), not a failure.
    writeFileSync(f, 'a,b,score\n0.1,0.2,0\n0.3,0.4,10\n');
    expect(readWarmStart(f, space, log10).rows.map((r) => [r.feasible, r.reward])).toEqual([[true, -Infinity], [true, 1]]);
    const inverse = { ...campaign, rewardOf: (m: Record<string, number>) => 1 / m.score };
    writeFileSync(f, 'a,b,score\n0.1,0.2,0\n');
    expect(() => readWarmStart(f, space, inverse)).toThrow(/data row 1 \(line 2\): the campaign's reward of this row is Infinity \(measured: score = 0\); every feasible row needs a reward that is finite or −∞/);
  });

  it('a name that is a parameter and a measured property needs param_/meas_ headers; the reward then reads the measured value, as for rig trials (library review 2026-12-07, item 2)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    // The campaign's own reward function (src/reward/scope.ts: the property wins over the parameter).
    const poro = { parameters: [{ name: 'porosity', kind: 'continuous' as const, min: 0.6, max: 0.8 }, { name: 'b', kind: 'continuous' as const, min: 0, max: 1 }] };
    const rewardOf = campaignReward({ expression: compileReward('limitingCurrent / 1e5 - 10 * abs(porosity - 0.7)', ['porosity', 'b', 'limitingCurrent', 'param_porosity', 'param_b']) });
    const c = { properties: ['porosity', 'limitingCurrent'], rewardOf };
    // A bare `porosity` was read as the parameter: the reward used the nominal 0.75 (1.5 - 0.5 = 1.0).
    writeFileSync(f, 'porosity,b,limitingCurrent\n0.75,0.2,150000\n');
    expect(() => readWarmStart(f, poro, c)).toThrow(
      'column "porosity" names both a parameter of the space and a property this campaign measures; name the recipe\'s value param_porosity and the measured value meas_porosity (the headers poreloop export writes)',
    );
    // A second `porosity` column for the measurement was refused as a duplicate; meas_porosity as unknown.
    writeFileSync(f, 'param_porosity,b,limitingCurrent,meas_porosity\n0.75,0.2,150000,0.62\n0.7,0.3,150000,\n');
    const { rows } = readWarmStart(f, poro, c);
    expect(rows.map((r) => [r.params, r.measured])).toEqual([
      [{ porosity: 0.75, b: 0.2 }, { limitingCurrent: 150000, porosity: 0.62 }],
      [{ porosity: 0.7, b: 0.3 }, { limitingCurrent: 150000 }],
    ]);
    expect(rows[0].reward).toBeCloseTo(1.5 - 10 * 0.08, 12); // the measured 0.62, not the nominal 0.75
    expect(rows[1].reward).toBeCloseTo(1.5, 12); // not measured: the nominal value, as for a rig trial without it
    // The prefixes work for any name; one quantity given twice is refused, naming both columns.
    writeFileSync(f, 'param_porosity,param_b,meas_limitingCurrent\n0.75,0.2,150000\n');
    expect(readWarmStart(f, poro, c).rows[0].measured).toEqual({ limitingCurrent: 150000 });
    writeFileSync(f, 'param_porosity,b,param_b,limitingCurrent\n0.75,0.2,0.2,150000\n');
    expect(() => readWarmStart(f, poro, c)).toThrow('columns "b" and "param_b" both give parameter b; keep one');
    writeFileSync(f, 'b,limitingCurrent,meas_porosity\n0.2,150000,0.62\n');
    expect(() => readWarmStart(f, poro, c)).toThrow('no column for parameter param_porosity; the header must name every parameter of the space (param_porosity, b; param_<name> is accepted for any of them)');
    writeFileSync(f, 'param_porosity,b,Porosity\n0.75,0.2,0.62\n');
    expect(() => readWarmStart(f, poro, c)).toThrow('Allowed columns: parameters param_porosity, b; properties meas_porosity, limitingCurrent;');
  });

  it('a blank header column (a trailing comma, as Excel writes) is ignored like a # column (review 2026-12-07)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score,\n0.1,0.2,1,\n0.3,0.4,2,x\n');
    expect(readWarmStart(f, space, campaign).rows.map((r) => r.measured)).toEqual([{ score: 1 }, { score: 2 }]);
  });

  it('accepts only decimal numbers and names rows by data row and file line, blank lines counted (import review #1)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    const cases: Array<[string, RegExp]> = [
      ['a,b,score\n0x1,0.2,1\n', /data row 1 \(line 2\): a = "0x1" is not a decimal number/],
      ['a,b,score\n0.1,0.2,0x1\n', /data row 1 \(line 2\): score = "0x1" is not a decimal number/],
      ['a,b,score\n0.1,0.2,Infinity\n', /score = "Infinity" is not a decimal number/],
      ['a,b,score\n\n0.1,0.2,1\n\n\n0.1,x,1\n', /data row 2 \(line 6\): b = "x"/],
      ['a,b,score\r\n"0.1",0.2,1\r\n0.2,0.2,"1\r\n"\r\n0.1,x,1\r\n', /data row 3 \(line 5\): b = "x"/],
    ];
    for (const [text, re] of cases) {
      writeFileSync(f, text);
      expect(() => readWarmStart(f, space, campaign), text).toThrow(re);
    }
    writeFileSync(f, 'a,b,score\n.5,+0.25,1e-3\n');
    expect(readWarmStart(f, space, campaign).rows[0]).toMatchObject({ params: { a: 0.5, b: 0.25 }, measured: { score: 0.001 } });
  });

  it('the same CSV seeds two campaigns of one ledger: trial ids carry the campaign id (review)', () => {
    const dir = tmp('poreloop-warm-');
    const f = join(dir, 'old.csv');
    writeFileSync(f, 'a,b,score\n0.1,0.2,0.5\n0.3,0.4,0.7\n');
    const l = Ledger.open(join(dir, 'ledger.db'));
    try {
      const warm = readWarmStart(f, space, campaign);
      for (const c of ['c1', 'c2']) {
        l.append(c, 'CampaignStarted', { name: c, config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
        expect(importWarmStart(l, c, warm)).toBe(2);
        expect(importWarmStart(l, c, warm)).toBe(0); // idempotent
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
    // Import review #4: the export carries each import's provenance (file, sha256, data row) and
    // its fidelity (rig: a measurement), in JSON and CSV; the campaign's own trials have none.
    const sha = createHash('sha256').update(csv).digest('hex');
    const json = await cli(['export', doc.campaignId, '--db', db, '--format', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const records = (JSON.parse(json.stdout) as { trials: Array<{ agent: string; fidelity: string | null; source: unknown }> }).trials;
    expect(records.filter((t) => t.agent === 'import')).toEqual(
      [1, 2, 3, 4, 5, 6].map((row) => expect.objectContaining({ fidelity: 'rig', source: { file: join(dir, 'earlier.csv'), sha256: sha, row } })),
    );
    expect(records.filter((t) => t.agent !== 'import').every((t) => t.source === null)).toBe(true);
    const [head, ...lines] = exported.stdout.trim().split('\n');
    const cols = head.split(',');
    expect(cols.slice(-3)).toEqual(['source_file', 'source_sha256', 'source_row']);
    const second = lines.find((l) => l.includes(`${doc.campaignId}-import-2,`))!.split(',');
    expect(second[cols.indexOf('fidelity')]).toBe('rig');
    expect(second.slice(-3)).toEqual([join(dir, 'earlier.csv'), sha, '2']);
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
    // …and the report's provenance names the CSV (import review #4).
    expect(readFileSync(join(dir, 'report', 'index.html'), 'utf8')).toContain(`<th>warm start</th><td>${join(dir, 'earlier.csv')} (sha256 ${sha}): data rows 1–6, 6 imported at rig fidelity</td>`);
    // A CSV outside the space stops the campaign before it starts, exit 2, naming the row — and
    // nothing is written to the ledger: no "running" campaign that a resume would run without it.
    writeFileSync(join(dir, 'earlier.csv'), 'a,b,score\n0.1,2,1\n');
    const bad = await cli(['run', join(dir, 'campaign.yaml'), '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/earlier\.csv: data row 1 \(line 2\): outside the campaign's space/);
    // Import review #1: a property column the campaign does not measure was imported as
    // "imported 2 earlier measurements", exit 0, every reward null.
    writeFileSync(join(dir, 'earlier.csv'), 'a,b,Score (a.u.)\n0.1,0.2,1\n0.1,0.2,1\n');
    const unknown = await cli(['run', join(dir, 'campaign.yaml'), '--db', db]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/earlier\.csv: column "Score \(a\.u\.\)" is neither a parameter nor a property this campaign measures\. Allowed columns: parameters a, b; properties score;/);
    const after = Ledger.open(db, { readonly: true });
    try {
      expect(after.campaigns().map((c) => c.id)).toEqual([doc.campaignId]);
    } finally {
      after.close();
    }
  });
});
