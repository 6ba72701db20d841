import { describe, expect, it } from 'vitest';
import type { ParameterSpace } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import type { TrialRow } from '../ledger/ledger.js';
import { selectDiverse } from './runtime.js';

const space: ParameterSpace = {
  parameters: [
    { kind: 'continuous', name: 'x', min: 0, max: 10 },
    { kind: 'continuous', name: 'y', min: 0, max: 1 },
  ],
};

/** Only `params` and the rank order matter to selectDiverse. */
const row = (i: number, x: number, y: number): TrialRow =>
  ({ id: `t${i}`, campaignId: 'c', round: 0, index: i, params: { x, y }, status: 'scored', agent: 'a', prediction: null, achieved: null, fidelity: null, predictedReward: -i, measured: null, measuredReward: null, feasible: null, selectedRank: null }) as TrialRow;

const rms = (a: TrialRow, b: TrialRow) => Math.hypot(((a.params.x as number) - (b.params.x as number)) / 10, (a.params.y as number) - (b.params.y as number)) / Math.SQRT2;

describe('selectDiverse', () => {
  it('never fills a batch with near-duplicates: concentrated candidates give a smaller batch', () => {
    // Five candidates within 0.002 (normalised RMS) of each other and one far away, ranked last.
    const ranked = [0, 1, 2, 3, 4].map((i) => row(i, 5 + 0.01 * i, 0.5 + 0.001 * i)).concat(row(5, 1, 0.1));
    const batch = selectDiverse(ranked, 4, space);
    expect(batch.map((t) => t.id)).toEqual(['t0', 't5']);
  });

  it('keeps every pair of a batch at least minDistance apart (random candidate sets)', () => {
    const rng = createRng(7);
    for (let trial = 0; trial < 50; trial++) {
      // Clustered candidates: most land within the minimum distance of another.
      const centre = [rng.uniform(0, 10), rng.uniform(0, 1)];
      const ranked = Array.from({ length: 12 }, (_, i) => row(i, Math.min(10, Math.max(0, centre[0] + rng.normal() * 0.5)), Math.min(1, Math.max(0, centre[1] + rng.normal() * 0.05))));
      const earlier = [{ x: centre[0], y: centre[1] }];
      const batch = selectDiverse(ranked, 4, space, earlier, 0.05);
      expect(batch.length).toBeGreaterThanOrEqual(1);
      expect(batch.length).toBeLessThanOrEqual(4);
      for (let i = 0; i < batch.length; i++) for (let j = i + 1; j < batch.length; j++) expect(rms(batch[i], batch[j])).toBeGreaterThanOrEqual(0.05);
    }
  });

  it('takes the best-ranked distinct candidates, skipping those near earlier rig selections', () => {
    const ranked = [row(0, 5, 0.5), row(1, 2, 0.2), row(2, 8, 0.8), row(3, 0, 0)];
    expect(selectDiverse(ranked, 2, space, [{ x: 5.01, y: 0.5 }]).map((t) => t.id)).toEqual(['t1', 't2']);
  });

  it('sends the best candidate alone when every candidate is near an earlier selection (an empty batch would end the campaign)', () => {
    const ranked = [row(0, 5, 0.5), row(1, 5.01, 0.501)];
    expect(selectDiverse(ranked, 2, space, [{ x: 5, y: 0.5 }]).map((t) => t.id)).toEqual(['t0']);
    expect(selectDiverse([], 2, space)).toEqual([]);
    expect(selectDiverse(ranked, 0, space)).toEqual([]);
  });
});
