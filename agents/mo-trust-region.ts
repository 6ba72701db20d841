/**
 * Trust regions for multi-objective BO, after MORBO (Daulton, Eriksson, Balandat & Bakshy,
 * "Multi-objective Bayesian optimization over high-dimensional search spaces", UAI 2022), used
 * by mobo's qNEHVI (`trustRegion`, issue #16): candidates are drawn only in boxes centred on
 * points of the observed Pareto set, those of largest hypervolume contribution first, so
 * qNEHVI is maximised near the data. Issue #16 diagnosis: with 12–24 points on DTLZ2 the GPs
 * give the distance variables length-scales of 2–17 in the unit cube, and the first batches
 * went to the corners (g = 0.5–0.66 where the front needs 0), where the posterior variance
 * looks like improvement.
 *
 * The side follows TuRBO-1's rule (agents/trust-region.ts) with MORBO's notion of success: an
 * observation that raises the hypervolume of the observed front. As in gp-bo's trust region
 * the state is a pure function of the ordered observations, so a restored or resumed agent has
 * the same regions as one that never stopped. Simplification against MORBO: one side shared
 * by all regions (MORBO keeps a state per region), as the budgets here (tens of points) leave
 * too few observations per region for separate counts.
 */
import { hvMax } from '../src/reward/hvi.js';
import { trustRegionState, turboSettings, type TrustRegionState } from './trust-region.js';

/** An axis-aligned box in the unit cube. */
export interface Box {
  lo: number[];
  hi: number[];
}

/** Hypervolume (maximisation) of the points above `ref`, `feasible` ones only, after each prefix of `ys`. */
export function runningHypervolume(ys: readonly (readonly number[])[], feasible: readonly boolean[], ref: readonly number[]): number[] {
  const kept: (readonly number[])[] = [];
  return ys.map((y, i) => {
    if (feasible[i] && y.every((v, j) => v > ref[j])) kept.push(y);
    return hvMax(kept, ref);
  });
}

/**
 * Indices of `front` (points of `ys`, maximisation) by decreasing exclusive hypervolume
 * contribution HV(front) − HV(front without it) above `ref` (MORBO's choice of centres); ties
 * to the lower index.
 */
export function byContribution(ys: readonly (readonly number[])[], front: readonly number[], ref: readonly number[]): number[] {
  const above = (i: number) => ys[i].every((v, j) => v > ref[j]);
  const pts = front.filter(above);
  const total = hvMax(pts.map((i) => ys[i]), ref);
  const contribution = new Map(pts.map((i) => [i, total - hvMax(pts.filter((k) => k !== i).map((k) => ys[k]), ref)]));
  return [...front].sort((a, b) => (contribution.get(b) ?? 0) - (contribution.get(a) ?? 0) || a - b);
}

/**
 * The regions for the next proposal: a cube of side `state.length` (clipped to [0, 1]^d) around
 * each centre (unit-cube points). `hvs` is the running hypervolume of the observations in the
 * order measured and `initial` how many of them formed the initial design (they only set the
 * incumbent).
 */
export function moTrustRegions(centres: readonly (readonly number[])[], hvs: readonly number[], initial: number, lengthInit = 0.8): { state: TrustRegionState; boxes: Box[] } {
  const d = centres[0]?.length ?? 0;
  const state = trustRegionState(hvs, initial, { ...turboSettings(d), lengthInit });
  const half = state.length / 2;
  const boxes = centres.map((c) => ({ lo: c.map((v) => Math.max(0, v - half)), hi: c.map((v) => Math.min(1, v + half)) }));
  return { state, boxes };
}

/**
 * How many of the ordered observations formed the initial design: all up to and including the
 * `designSize`-th with finite objectives (`finite`, one flag per observation), as mobo counts
 * its design in finite observations. A failed evaluation within the design is part of it, not a
 * trust-region step (issue #16 review: min(designSize, n) shifted the steps by one per such
 * failure). All of them when fewer than `designSize` are finite.
 */
export function designLength(finite: readonly boolean[], designSize: number): number {
  if (designSize <= 0) return 0;
  let seen = 0;
  for (let i = 0; i < finite.length; i++) if (finite[i] && ++seen === designSize) return i + 1;
  return finite.length;
}

export const inBox = (b: Box, u: readonly number[]): boolean => u.every((v, k) => v >= b.lo[k] && v <= b.hi[k]);
