import { describe, expect, it } from 'vitest';
import { finishedCampaign } from '../../tests/ledgers.js';
import { convergenceChart, predictionsChart } from './charts.js';
import { campaignModel } from './model.js';

/** Review 2026-12-07: the report's display of a stage-wise campaign and of a reward's unit. */
describe('report charts', () => {
  const l = finishedCampaign([1, 3, 2]);
  const m = campaignModel(l, 'c1');
  l.close();

  it('a stage-wise campaign (no predictions) says so instead of drawing a plot with only a legend', () => {
    const staged = predictionsChart({ ...m, overview: { ...m.overview, agent: 'ppo-stages' }, predictions: [] });
    expect(staged.spec).toMatchObject({ mark: { type: 'text' }, data: { values: [{ text: 'no predictions in a stage-wise campaign' }] } });
    expect(staged.caption).toMatch(/stage-wise campaign/);
    expect(predictionsChart({ ...m, predictions: [] }).spec).toMatchObject({ data: { values: [{ text: 'no prediction has a measurement to compare with yet' }] } });
    // With predictions, the faceted plot as before.
    expect(predictionsChart(m).spec).toHaveProperty('facet');
  });

  it('does not claim the reward is dimensionless (the config gives no unit; the SOFC reward is in mV)', () => {
    expect(JSON.stringify(convergenceChart(m).spec)).not.toMatch(/dimensionless/);
  });
});
