import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../tests/helpers.js';
import { exportCampaign, summariseCampaign, toCsv, toJson } from './export.js';
import { Ledger } from './ledger.js';
import { CampaignView } from './view.js';

/**
 * Diff review 2026-12-07, item 5: a ±∞ property mean (an anode that does not percolate has an
 * infinite loss) is stored by JSON as null and named in TrialScored.infinite, but only the
 * runtime restored it: export, status and the trial rows showed it blank, like "unknown". The
 * ledger restores it where documents and trial rows are read; ledgers without `infinite` read
 * as before.
 */
const dir = mkdtempSync(join(tmpdir(), 'poreloop-infinite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function campaign(path: string): Ledger {
  const l = Ledger.open(path);
  l.append('c1', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 3, source: 's.yaml', versions: { poreloop: '0.1.0' } }, 'start');
  for (const i of [0, 1]) l.append('c1', 'TrialProposed', { trialId: `t${i}`, round: 1, index: i, params: { x: i }, agent: 'random' }, `t${i}`);
  // t0 as the runtime writes it today: the mean is ∞ in memory and named in `infinite`.
  l.append('c1', 'TrialScored', {
    trialId: 't0',
    properties: { anodeLoss: { mean: Infinity, std: NaN }, gain: { mean: -Infinity, std: 0 }, porosity: { mean: 0.4, std: 0.01 } },
    raw: { anodeLoss: { mean: Infinity, std: NaN } },
    fidelity: 'simulation',
    reward: -Infinity,
    infinite: { anodeLoss: 'Infinity', gain: '-Infinity' },
  }, 't0');
  // t1 as a ledger from before `infinite`: an unknown (NaN) mean, stored as null.
  l.append('c1', 'TrialScored', { trialId: 't1', properties: { anodeLoss: { mean: NaN, std: NaN }, porosity: { mean: 0.5, std: 0 } }, fidelity: 'simulation', reward: NaN }, 't1');
  // t0 measured, so it is the best trial of the summary and of `status`.
  l.append('c1', 'TrialSelected', { trialId: 't0', round: 1, rank: 0, predictedReward: 0 }, 't0');
  l.append('c1', 'JobDispatched', { jobId: 't0-s0', trialId: 't0', stage: 0, capability: 'm', attempt: 1, params: { x: 0 }, deadline: 'd' }, 't0-s0');
  l.append('c1', 'MeasurementRecorded', { jobId: 't0-s0', trialId: 't0', stage: 0, capability: 'm', rigId: 'r', measurements: { anodeLoss: 120 }, feasible: true }, 't0-s0');
  l.append('c1', 'TrialCompleted', { trialId: 't0', measured: { anodeLoss: 120 }, reward: -120, feasible: true }, 't0');
  return l;
}

describe('±∞ predictions through the ledger (diff review 2026-12-07, item 5)', () => {
  const path = join(dir, 'l.db');
  const l = campaign(path);
  afterAll(() => l.close());

  it('documents and trial rows read ±∞ back; an unknown mean stays null', () => {
    const scored = new Map(l.documents('c1', 'TrialScored').map((d) => [d.body.trialId, d.body]));
    expect(scored.get('t0')!.properties).toMatchObject({ anodeLoss: { mean: Infinity }, gain: { mean: -Infinity }, porosity: { mean: 0.4 } });
    expect(scored.get('t0')!.raw!.anodeLoss.mean).toBe(Infinity);
    expect(scored.get('t1')!.properties.anodeLoss.mean).toBeNull();
    const view = new CampaignView(l, 'c1');
    expect(view.document('TrialScored', 't0')!.body.properties.anodeLoss.mean).toBe(Infinity);
    expect(view.trial('t0')!.prediction).toEqual({ anodeLoss: { mean: Infinity, std: null }, gain: { mean: -Infinity, std: 0 }, porosity: { mean: 0.4, std: 0.01 } });
    expect(view.trials().find((t) => t.id === 't0')!.prediction!.gain.mean).toBe(-Infinity);
    expect(view.trial('t1')!.prediction).toEqual({ anodeLoss: { mean: null, std: null }, porosity: { mean: 0.5, std: 0 } });
  });

  it('a rescoring replaces the prediction, ∞ included', () => {
    const r = Ledger.open(join(dir, 'rescored.db'));
    r.append('c1', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 3, source: 's', versions: {} }, 'start');
    r.append('c1', 'TrialProposed', { trialId: 't0', round: 1, index: 0, params: { x: 0 }, agent: 'random' }, 't0');
    r.append('c1', 'TrialScored', { trialId: 't0', properties: { anodeLoss: { mean: 80, std: 1 } }, fidelity: 'simulation', reward: -80 }, 't0');
    r.append('c1', 'TrialRescored', { trialId: 't0', properties: { anodeLoss: { mean: Infinity, std: 0 } }, fidelity: 'simulation', reward: -Infinity, infinite: { anodeLoss: 'Infinity' } }, 't0');
    expect(r.trials('c1')[0].prediction!.anodeLoss.mean).toBe(Infinity);
    expect(exportCampaign(r, 'c1').trials[0].predicted.anodeLoss.mean).toBe(Infinity);
    r.close();
  });

  it('export JSON and CSV write Infinity/-Infinity, an unknown mean null/blank', () => {
    const doc = exportCampaign(l, 'c1');
    const json = JSON.parse(toJson(doc));
    expect(json.trials[0].predicted.anodeLoss.mean).toBe('Infinity');
    expect(json.trials[0].predicted.gain.mean).toBe('-Infinity');
    expect(json.trials[1].predicted.anodeLoss.mean).toBeNull();
    const [header, t0, t1] = toCsv(doc).trim().split('\n').map((line) => line.split(','));
    const col = (row: string[], name: string) => row[header.indexOf(name)];
    expect([col(t0, 'pred_anodeLoss'), col(t0, 'pred_gain'), col(t0, 'pred_porosity')]).toEqual(['Infinity', '-Infinity', '0.4']);
    expect([col(t1, 'pred_anodeLoss'), col(t1, 'pred_anodeLoss_std'), col(t1, 'pred_porosity')]).toEqual(['', '', '0.5']);
  });

  it('the summary and `status` show ∞; `export` writes it', async () => {
    const s = summariseCampaign(l, 'c1', 0);
    expect(s.best?.predicted).toEqual({ anodeLoss: Infinity, gain: -Infinity, porosity: 0.4 });
    const st = await cli(['status', 'c1', '--db', path]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/pred\/meas: anodeLoss ∞\/120/);
    const out = join(dir, 'e.json');
    const ex = await cli(['export', 'c1', '--db', path, '--format', 'json', '--out', out]);
    expect(ex.code, ex.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).trials[0].predicted.anodeLoss.mean).toBe('Infinity');
  }, 30_000);
});
