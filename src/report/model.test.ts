import { describe, expect, it } from 'vitest';
import { ledgerWallTimeS, summariseCampaign } from '../ledger/export.js';
import { Ledger, issueCommand } from '../ledger/ledger.js';
import { campaignCharts } from './charts.js';
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
    // Infeasible trials have no prediction-measurement pair; the raw estimate is kept beside the corrected one.
    expect(m.predictions.filter((p) => p.property === 'a').map((p) => [p.measured, p.predicted, p.raw])).toEqual([[1, 1.5, 2], [3, 3.5, 4], [2, 2.5, 3]]);
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
});
