/**
 * Trust-region bookkeeping of TuRBO-1 (Eriksson, Pearce, Gardner, Turner & Poloczek, "Scalable
 * global optimization via local Bayesian optimization", NeurIPS 2019), used by gp-bo's
 * `trustRegion` option (issue #12): proposals come from a box around the best observation, whose
 * side grows after `successTolerance` improvements in a row and halves after `failTolerance`
 * non-improvements in a row; below `lengthMin` the region restarts at `lengthInit`.
 *
 * The state is a pure function of the ordered rewards, not something the agent accumulates, so a
 * restored or resumed agent has the same region as one that never stopped, and the same history
 * gives the same region bit for bit.
 */

export interface TrustRegionSettings {
  /** Side of the box at the start and after a restart, in unit-cube units (TuRBO: 0.8). */
  lengthInit: number;
  lengthMin: number;
  lengthMax: number;
  /** Improvements in a row that double the side (TuRBO: 3). */
  successTolerance: number;
  /** Non-improvements in a row that halve the side (TuRBO: ⌈max(4, d)⌉ for batch 1). */
  failTolerance: number;
}

export function turboSettings(d: number): TrustRegionSettings {
  return { lengthInit: 0.8, lengthMin: 0.5 ** 7, lengthMax: 1.6, successTolerance: 3, failTolerance: Math.ceil(Math.max(4, d)) };
}

export interface TrustRegionState {
  length: number;
  successes: number;
  failures: number;
  restarts: number;
}

/**
 * The region after the given rewards (in the order measured; NaN = a failed evaluation, which
 * counts as no improvement). The first `initial` rewards only set the incumbent. An improvement
 * is a reward above best + 1e-3·|best| (TuRBO's relative threshold).
 */
export function trustRegionState(rewards: readonly number[], initial: number, s: TrustRegionSettings): TrustRegionState {
  let best = -Infinity;
  for (const r of rewards.slice(0, initial)) if (r > best) best = r;
  const st: TrustRegionState = { length: s.lengthInit, successes: 0, failures: 0, restarts: 0 };
  for (const r of rewards.slice(initial)) {
    const improved = Number.isFinite(r) && (best === -Infinity || r > best + 1e-3 * Math.abs(best));
    if (Number.isFinite(r) && r > best) best = r;
    if (improved) {
      st.successes++;
      st.failures = 0;
    } else {
      st.failures++;
      st.successes = 0;
    }
    if (st.successes === s.successTolerance) {
      st.length = Math.min(2 * st.length, s.lengthMax);
      st.successes = 0;
    } else if (st.failures === s.failTolerance) {
      st.length /= 2;
      st.failures = 0;
    }
    if (st.length < s.lengthMin) {
      st.length = s.lengthInit;
      st.restarts++;
    }
  }
  return st;
}

/**
 * Per-dimension half-widths of the box: TuRBO scales the side by the GP's length-scales,
 * normalised to geometric mean 1, so the box is long where the model varies slowly. Without
 * length-scales (a forest) the box is a cube.
 */
export function halfWidths(length: number, d: number, lengthscales?: readonly number[]): number[] {
  if (!lengthscales) return new Array<number>(d).fill(length / 2);
  const logMean = lengthscales.reduce((s, l) => s + Math.log(l), 0) / d;
  return lengthscales.map((l) => (length / 2) * Math.exp(Math.log(l) - logMean));
}

/**
 * Indices of the points of xs inside the box center ± half; when fewer than `minPoints` are
 * inside (a discrete pool whose grid is coarser than the box), the `minPoints` nearest in the
 * box's own scaled ∞-norm — the smallest box of the same shape that holds that many. Ties to
 * the lower index.
 */
export function pointsInRegion(xs: readonly (readonly number[])[], center: readonly number[], half: readonly number[], minPoints: number): number[] {
  const dist = xs.map((x) => {
    let m = 0;
    for (let k = 0; k < center.length; k++) m = Math.max(m, Math.abs(x[k] - center[k]) / half[k]);
    return m;
  });
  const inside = dist.map((v, i) => i).filter((i) => dist[i] <= 1);
  if (inside.length >= Math.min(minPoints, xs.length)) return inside;
  return dist
    .map((_, i) => i)
    .sort((a, b) => dist[a] - dist[b] || a - b)
    .slice(0, minPoints)
    .sort((a, b) => a - b);
}
