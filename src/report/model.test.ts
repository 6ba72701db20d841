import { describe, expect, it } from 'vitest';
import { ledgerWallTimeS, summariseCampaign } from '../ledger/export.js';
import { Ledger, issueCommand } from '../ledger/ledger.js';
import { campaignCharts } from './charts.js';
import { renderSvg, svgToPng } from './render.js';
import { baselines, campaignModel, stateLabel } from './model.js';
import { finishedCampaign } from '../../tests/ledgers.js';
import { paretoOf } from '../compose/pareto.js';

describe('the campaign read model of the dashboard and the report (issue #18)', () => {
  it('names the machine state of a snapshot', () => {
    expect(stateLabel('deciding')).toBe('deciding');
    expect(stateLabel({ awaitingApproval: 'waiting' })).toBe('awaitingApproval.waiting');
    expect(stateLabel(null)).toBeNull();
  });

  it('measures wall time from the ledger, not counting the time between a kill and the resume', () => {
    const l = finishedCampaign([1, 2]);
    // 1 CampaignStarted + 7 documents per run + CampaignStopped, 1 s apart: 15 s from first to last.
    expect(ledgerWallTimeS(l, 'c1')).toBe(15);
    expect(summariseCampaign(l, 'c1').wallTimeS).toBe(15);
    l.close();
    let t = Date.parse('2026-01-01T00:00:00Z');
    const k = Ledger.open(':memory:', { now: () => new Date(t) });
    k.append('k', 'CampaignStarted', { name: 'k', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    t += 5000;
    k.append('k', 'RoundStarted', { round: 1 }, 'round:1');
    t += 3_600_000; // killed; resumed an hour later
    k.append('k', 'CampaignResumed', { pid: 1, fromState: 'proposing' });
    t += 2000;
    k.append('k', 'CampaignStopped', { status: 'completed', reason: 'done' });
    expect(ledgerWallTimeS(k, 'k')).toBe(7);
    // Documents other processes write later (a command, a trade-off picked) do not stretch the run.
    t += 3_600_000;
    issueCommand(k, 'k', 'stop', { by: 'late operator' });
    k.append('k', 'TradeOffPicked', { trialId: 'k-r1-0', values: { a: 1 }, onFront: true, by: 'me' });
    expect(ledgerWallTimeS(k, 'k')).toBe(7);
    k.close();
  });

  it('draws best-so-far over rig runs, counts infeasible runs and pairs predictions with measurements', () => {
    const l = finishedCampaign([1, null, 3, 2]);
    const m = campaignModel(l, 'c1');
    expect(m.runs.map((r) => [r.reward, r.best, r.feasible])).toEqual([[1, 1, true], [null, 1, false], [3, 3, true], [2, 3, true]]);
    expect(m.overview).toMatchObject({ status: 'completed', state: 'done', rigRuns: 4, rigBudget: 10, budgetLeft: 6, infeasible: 1, completed: 4 });
    // Infeasible trials have no prediction-measurement pair. This ledger records `raw` but no
    // trained correction: nothing was corrected, so no raw estimate is drawn (reproducibility review, item a).
    expect(m.predictions.filter((p) => p.property === 'a').map((p) => [p.measured, p.predicted, p.corrected, p.raw])).toEqual([[1, 1.5, false, null], [3, 3.5, false, null], [2, 2.5, false, null]]);
    expect(m.pareto).toBeNull();
    l.close();
  });

  it('without a random-agent campaign, the baseline is the same runs in random order, seeded', () => {
    const l = finishedCampaign([1, 5, 2, 4, 3]);
    const c = l.campaign('c1')!;
    const m = campaignModel(l, 'c1');
    const b = baselines(l, c, m.runs);
    expect(b).toEqual(baselines(l, c, m.runs)); // same ledger, same curve
    expect(b.every((p) => p.series === 'own runs shuffled (not random search)')).toBe(true);
    // After every run has been seen the shuffles all end at the best; before, the median lies below it.
    expect(b[b.length - 1]).toMatchObject({ run: 5, best: 5, q1: 5, q3: 5 });
    expect(b[0].best).toBeLessThan(5);
    l.close();
  });

  it('a random-agent campaign on the same problem in the ledger is the baseline', () => {
    const l = finishedCampaign([1, 2, 3]);
    // The same config but the agent: appended to the same ledger under another id.
    const r = finishedCampaign([2, 1, 1], { agent: { name: 'random' } }, 'r1');
    for (const d of r.documents('r1')) l.append('r1', d.type, d.body as never, d.key ?? undefined);
    r.close();
    const b = baselines(l, l.campaign('c1')!, campaignModel(l, 'c1').runs);
    expect(b.map((p) => [p.run, p.best, p.series])).toEqual([[1, 2, 'random search (r1)'], [2, 2, 'random search (r1)'], [3, 2, 'random search (r1)']]);
    l.close();
  });

  it('marks the Pareto front of measured objectives', () => {
    const l = finishedCampaign([1, 3, 2, null], { reward: undefined, objectives: [{ name: 'a', goal: 'max' }, { name: 'b', goal: 'min' }] });
    const p = campaignModel(l, 'c1').pareto!;
    expect(p.objectives.map((o) => o.name)).toEqual(['a', 'b']);
    // b = 10 - a: the largest a also has the smallest b, and dominates the rest.
    expect(p.points.map((x) => [x.values[0], x.front])).toEqual([[1, false], [3, true], [2, false]]);
    l.close();
  });

  it('shows the same front as status and the export: thresholds and outcome constraints count (issue #16)', () => {
    // a ≥ 2 (threshold) leaves out the run with a = 1; b ≤ 8.5 (outcome constraint) the one with a = 1.5.
    const objectives = [{ name: 'a', goal: 'max', threshold: 2 }, { name: 'x', goal: 'min' }];
    const l = finishedCampaign([1, 1.5, 2, 3], { reward: undefined, objectives, outcomeConstraints: [{ name: 'b', max: 8.5 }] });
    const p = campaignModel(l, 'c1').pareto!;
    // x is the parameter (i / 10): a = 2 at x = 0.2 and a = 3 at x = 0.3 trade off.
    expect(p.points.map((q) => [q.trialId, q.values, q.front])).toEqual([['c1-r3-0', [2, 0.2], true], ['c1-r4-0', [3, 0.3], true]]);
    expect(p.points.filter((q) => q.front).map((q) => q.trialId)).toEqual(paretoOf(l, 'c1')!.measured.map((q) => q.trialId));
    l.close();
  });

  it('best lists count only trials meeting every threshold and outcome constraint; the others are marked, and drawn apart (dashboard review, 2026-12-07)', () => {
    // Rewards 1, 1.5, 2, 3 with a = reward, b = 10 − a, x = 0, 0.1, 0.2, 0.3: the highest reward (a = 3, b = 7) is under b's min.
    const objectives = [{ name: 'a', goal: 'max', threshold: 1.2, unit: 'S/m' }, { name: 'x', goal: 'min' }];
    const l = finishedCampaign([1, 1.5, 2, 3], { reward: undefined, objectives, outcomeConstraints: [{ name: 'b', min: 7.5, max: 8.9 }] });
    const m = campaignModel(l, 'c1');
    expect(m.runs.map((r) => [r.reward, r.best, r.unmet])).toEqual([
      [1, null, ['a 1 S/m < threshold 1.2 S/m', 'b 9 > max 8.9']],
      [1.5, 1.5, []],
      [2, 2, []],
      [3, 2, ['b 7 < min 7.5']],
    ]);
    const s = summariseCampaign(l, 'c1');
    expect(s.best?.trialId).toBe('c1-r3-0');
    expect(s.top.map((t) => t.trialId)).toEqual(['c1-r3-0', 'c1-r2-0']);
    expect(s.unmetTop.map((t) => [t.trialId, t.unmet])).toEqual([['c1-r4-0', ['b 7 < min 7.5']], ['c1-r1-0', ['a 1 S/m < threshold 1.2 S/m', 'b 9 > max 8.9']]]);
    expect(m.pareto!.unmet.map((p) => p.trialId)).toEqual(['c1-r1-0', 'c1-r4-0']);
    expect(m.pareto!.points.map((p) => [p.trialId, p.front])).toEqual([['c1-r2-0', true], ['c1-r3-0', true]]);
    // The Pareto plot shows the trials that miss a requirement, hollow, and says so; its axes carry the units.
    const chart = campaignCharts(m).find((c) => c.id === 'pareto')!;
    expect(chart.caption).not.toMatch(/^Every feasible measured trial/);
    expect(chart.caption).toContain('hollow grey, the 2 missing a threshold or constraint');
    const layer = (chart.spec.layer as Array<{ data: { values: Array<{ trial: string; set: string }> }; encoding: { x: { title?: string } } }>)[1];
    expect(layer.data.values.filter((v) => v.set === 'misses a threshold/constraint').map((v) => v.trial)).toEqual(['c1-r1-0', 'c1-r4-0']);
    expect(layer.encoding.x.title).toBe('a (S/m), higher is better');
    l.close();
  });

  it('a prediction is corrected only when a correction was trained before it was scored, and carries its fidelity (reproducibility review, items a and b)', async () => {
    const l = correctedCampaign();
    const m = campaignModel(l, 'c1');
    l.close();
    const at = (trial: string, property = 'a') => m.predictions.find((p) => p.trialId === trial && p.property === property)!;
    // Round 1 was scored before correction:1 was trained: its raw (written anyway, equal) is no correction.
    expect(at('c1-r1-0')).toMatchObject({ predicted: 1, corrected: false, raw: null, fidelity: 'prior' });
    expect(at('c1-r1-1')).toMatchObject({ predicted: 2, corrected: false, raw: null, fidelity: 'simulation' });
    // Round 2 follows it: corrected, with the P-model's own estimate beside where the correction moved it.
    expect(at('c1-r2-0')).toMatchObject({ predicted: 3, corrected: true, raw: 4, rawStd: 0.4, fidelity: 'surrogate' });
    expect(at('c1-r2-1')).toMatchObject({ predicted: 5, corrected: true, raw: 6, fidelity: 'simulation' });
    // A property the trained correction left as it was is still corrected, with no raw point doubling it.
    expect(at('c1-r2-1', 'b')).toMatchObject({ predicted: 7, corrected: true, raw: null });

    const chart = campaignCharts(m).find((c) => c.id === 'predictions')!;
    const spec = chart.spec as { data: { values: Array<{ trial: string; property: string; kind: string; fidelity?: string }> }; spec: { layer: Array<{ encoding: Record<string, { scale?: { domain: string[]; range: string[] }; title?: string }> }> } };
    const rows = spec.data.values.filter((r) => r.kind !== 'diag' && r.property === 'a');
    expect(rows.map((r) => [r.trial, r.kind, r.fidelity])).toEqual([
      ['c1-r1-0', 'P-model', 'prior'],
      ['c1-r1-1', 'P-model', 'simulation'],
      ['c1-r2-0', 'corrected', 'surrogate'],
      ['c1-r2-0', 'P-model (raw)', 'surrogate'],
      ['c1-r2-1', 'corrected', 'simulation'],
      ['c1-r2-1', 'P-model (raw)', 'simulation'],
    ]);
    // Fidelity is the points' shape, with a legend of its own.
    const points = spec.spec.layer[2].encoding;
    expect(points.shape).toMatchObject({ field: 'fidelity', title: 'fidelity', scale: { domain: ['prior', 'surrogate', 'simulation'], range: ['square', 'triangle-up', 'circle'] } });
    expect(points.color.scale).toEqual({ domain: ['corrected', 'P-model', 'P-model (raw)'], range: ['#0072b2', '#009e73', '#e69f00'] });
    expect(chart.caption).toMatch(/shape: the fidelity/);
    // Still valid Vega-Lite that renders headless, with the fidelity legend drawn.
    const svg = await renderSvg(chart.spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain("Symbol legend titled 'fidelity' for shape with 3 values: prior, surrogate, simulation");
    expect(svgToPng(svg).subarray(1, 4).toString()).toBe('PNG');
  });
});

/**
 * A twin + surrogate campaign with a reality correction, written through the real Ledger in the
 * runtime's order: round 1 scored (raw recorded though no correction exists yet, equal to the
 * prediction), measured, correction:1 trained; round 2 scored through it, measured.
 */
function correctedCampaign(): Ledger {
  let t = Date.parse('2026-01-01T00:00:00Z');
  const l = Ledger.open(':memory:', { now: () => new Date((t += 1000)) });
  const id = 'c1';
  l.append(id, 'CampaignStarted', { name: 'corrected', config: { reward: 'a', budget: { rigRuns: 10 }, agent: { name: 'ppo' }, space: { x: { min: 0, max: 1 } } }, configHash: 'h', seed: 1, source: 'x.yaml', versions: { poreloop: '0' } }, 'start');
  type Est = Record<string, { mean: number; std: number }>;
  const trial = (round: number, index: number, fidelity: 'prior' | 'surrogate' | 'simulation', properties: Est, raw: Est, measured: Record<string, number>) => {
    const trialId = `${id}-r${round}-${index}`;
    const jobId = `${trialId}-s0`;
    l.append(id, 'TrialProposed', { trialId, round, index, params: { x: index / 10 }, agent: 'ppo' }, trialId);
    l.append(id, 'TrialScored', { trialId, properties, raw, fidelity, reward: properties.a.mean }, trialId);
    return () => {
      l.append(id, 'TrialSelected', { trialId, round, rank: index, predictedReward: properties.a.mean }, trialId);
      l.append(id, 'JobDispatched', { jobId, trialId, stage: 0, capability: 'make', attempt: 1, params: { x: index / 10 }, deadline: '2030-01-01T00:00:00Z' }, jobId);
      l.append(id, 'MeasurementRecorded', { jobId, trialId, stage: 0, capability: 'make', rigId: 'rig-1', measurements: measured, feasible: true }, jobId);
      l.append(id, 'TrialCompleted', { trialId, measured, reward: measured.a, feasible: true }, trialId);
    };
  };
  const est = (a: number, std: number, b: number): Est => ({ a: { mean: a, std }, b: { mean: b, std: 0.1 } });
  l.append(id, 'RoundStarted', { round: 1 }, 'round:1');
  const r1 = [trial(1, 0, 'prior', est(1, 0.5, 2), est(1, 0.5, 2), { a: 1.2, b: 2 }), trial(1, 1, 'simulation', est(2, 0.1, 3), est(2, 0.1, 3), { a: 2.5, b: 3 })];
  r1.forEach((measure) => measure());
  l.append(id, 'AgentLearned', { round: 1, observations: 2, fidelity: 'rig' }, 'rig:1');
  l.append(id, 'ModelTrained', { kind: 'discrepancy', version: 1, dataHash: 'd1', samples: 2 }, 'correction:1');
  l.append(id, 'ModelTrained', { kind: 'feasibility', version: 1, dataHash: 'd1', samples: 2 }, 'correction:1:feasibility');
  l.append(id, 'RoundStarted', { round: 2 }, 'round:2');
  const r2 = [trial(2, 0, 'surrogate', est(3, 0.3, 4), est(4, 0.4, 4.5), { a: 3.1, b: 4 }), trial(2, 1, 'simulation', est(5, 0.2, 7), est(6, 0.2, 7), { a: 5.5, b: 7 })];
  r2.forEach((measure) => measure());
  l.append(id, 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
  return l;
}
