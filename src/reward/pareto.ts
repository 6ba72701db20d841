/**
 * Multi-objective campaigns: Pareto dominance with per-objective goals, the exact hypervolume
 * indicator, and the scalarisation an agent optimises.
 *
 * Hypervolume (Zitzler & Thiele 1998): the measure of the region dominated by the front and
 * bounded by a reference point. Exact for every number of objectives m by Hypervolume by
 * Slicing Objectives (While, Hingston, Barone & Huband, IEEE TEC 10 (2006) 29): slice along the
 * last objective, recurse, with the O(n log n) sweep for m = 2. Its cost grows like n^(m−1), so
 * beyond `maxExactWork` (default 1e7 slice operations) a Monte-Carlo estimate over the
 * reference box is returned instead (documented error ~ box·sqrt(p(1−p)/samples)).
 *
 * Scalarisation: ParEGO (Knowles, IEEE TEC 10 (2006) 50): objectives normalised to [0, 1] by
 * their observed ranges (as minimisation), then the augmented Chebyshev function
 *   s_w(f) = max_i w_i f_i + ρ Σ_i w_i f_i,  ρ = 0.05,
 * with a fresh weight vector drawn uniformly from the simplex for every batch; the agent
 * maximises −s_w. Chebyshev (unlike a weighted sum) reaches non-convex parts of the front;
 * the ρ term breaks ties among weakly dominated points.
 */
import type { Observation } from '../core/protocols.js';
import type { Rng } from '../core/rng.js';

export type Goal = 'max' | 'min';

/** Objective vector with every goal turned into minimisation. */
const toMin = (f: readonly number[], goals: readonly Goal[]): number[] => f.map((v, i) => (goals[i] === 'max' ? -v : v));

/** a dominates b: no worse in every objective and better in at least one. */
export function dominates(a: readonly number[], b: readonly number[], goals: readonly Goal[]): boolean {
  const x = toMin(a, goals);
  const y = toMin(b, goals);
  let better = false;
  for (let i = 0; i < x.length; i++) {
    if (x[i] > y[i]) return false;
    if (x[i] < y[i]) better = true;
  }
  return better;
}

/** a dominates b, both minimisation vectors of one length. */
function dominatesMin(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/**
 * Indices of the non-dominated points, ascending (duplicates of a front point are all kept);
 * rows with a NaN or ±∞ entry, or of another length than `goals`, are skipped.
 *
 * By a lexicographic sort (scale review, 2 500-trial campaigns: the all-pairs test made the
 * hypervolume history of `status` take 28 s): a point can only be dominated by one before it in
 * lexicographic order of its minimisation vector, and, dominance being transitive, then also by
 * a non-dominated one before it. For two objectives that is a sweep, O(n log n): a point is on
 * the front iff its y is its x-group's least and below every y of smaller x (Kung, Luccio &
 * Preparata, J. ACM 22 (1975) 469). For more, each point is compared with the front so far,
 * O(n · front). The same indices as the definition (src/reward/pareto.test.ts compares).
 */
export function paretoFront(points: readonly (readonly number[])[], goals: readonly Goal[]): number[] {
  const m = goals.length;
  const index: number[] = [];
  const mins: number[][] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p.length !== m) continue;
    const x = toMin(p, goals);
    if (x.every(Number.isFinite)) {
      index.push(i);
      mins.push(x);
    }
  }
  const order = mins.map((_, k) => k).sort((a, b) => {
    const x = mins[a];
    const y = mins[b];
    for (let i = 0; i < m; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
  const out: number[] = [];
  if (m === 2) {
    let yBefore = Infinity; // least y over the points of smaller x
    for (let g = 0; g < order.length; ) {
      const x = mins[order[g]][0];
      const yLeast = mins[order[g]][1];
      let h = g;
      for (; h < order.length && mins[order[h]][0] === x; h++) if (yLeast < yBefore && mins[order[h]][1] === yLeast) out.push(index[order[h]]);
      if (yLeast < yBefore) yBefore = yLeast;
      g = h;
    }
  } else {
    const front: number[][] = [];
    for (const k of order) {
      if (front.some((q) => dominatesMin(q, mins[k]))) continue;
      front.push(mins[k]);
      out.push(index[k]);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * The non-dominated points of `front ∪ added` when `front` is non-dominated (the points
 * themselves, duplicates kept; rows with a NaN or ±∞ entry are dropped): each added point is
 * dropped if a point of the front dominates it, else it joins and removes the points it
 * dominates. What a history of fronts needs round after round, at O(added · front) instead of
 * a new front of every point so far (scale review: `campaignFront`'s hypervolume history).
 */
export function extendFront(front: readonly (readonly number[])[], added: readonly (readonly number[])[], goals: readonly Goal[]): number[][] {
  let cur = front.map((p) => [...p]);
  let curMin = cur.map((p) => toMin(p, goals));
  for (const p of added) {
    if (p.length !== goals.length) continue;
    const x = toMin(p, goals);
    if (!x.every(Number.isFinite) || curMin.some((q) => dominatesMin(q, x))) continue;
    const keep = curMin.map((q) => !dominatesMin(x, q));
    if (keep.includes(false)) {
      cur = cur.filter((_, i) => keep[i]);
      curMin = curMin.filter((_, i) => keep[i]);
    }
    cur.push([...p]);
    curMin.push(x);
  }
  return cur;
}

/** 2-D hypervolume of minimisation points that all dominate ref. */
function hv2(points: number[][], ref: readonly number[]): number {
  const s = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let area = 0;
  let yMin = ref[1];
  for (let i = 0; i < s.length; i++) {
    if (s[i][1] >= yMin) continue;
    // The strip from this point's x to the reference, between its y and the best y so far.
    area += (ref[0] - s[i][0]) * (yMin - s[i][1]);
    yMin = s[i][1];
  }
  return area;
}

/** HSO recursion on the last objective. */
function hvSlice(points: number[][], ref: readonly number[]): number {
  const m = ref.length;
  if (points.length === 0) return 0;
  if (m === 1) return ref[0] - Math.min(...points.map((p) => p[0]));
  if (m === 2) return hv2(points, ref);
  const s = [...points].sort((a, b) => a[m - 1] - b[m - 1]);
  let vol = 0;
  for (let i = 0; i < s.length; i++) {
    const top = i + 1 < s.length ? s[i + 1][m - 1] : ref[m - 1];
    const depth = top - s[i][m - 1];
    if (depth <= 0) continue;
    vol += depth * hvSlice(s.slice(0, i + 1).map((p) => p.slice(0, m - 1)), ref.slice(0, m - 1));
  }
  return vol;
}

export interface HypervolumeOptions {
  /** Above this estimated work (n^(m−1)), estimate by Monte Carlo instead (default 1e7). */
  maxExactWork?: number;
  /** Monte-Carlo samples (default 100 000) and their Rng (required when Monte Carlo may be used). */
  samples?: number;
  rng?: Rng;
}

/**
 * Hypervolume dominated by `points` (objective vectors with `goals`) up to `reference`
 * (a point worse than every point of interest in every objective). Points that do not
 * dominate the reference contribute nothing.
 */
export function hypervolume(points: readonly (readonly number[])[], goals: readonly Goal[], reference: readonly number[], options: HypervolumeOptions = {}): number {
  const ref = toMin(reference, goals);
  const pts = points.map((p) => toMin(p, goals)).filter((p) => p.every((v, i) => Number.isFinite(v) && v < ref[i]));
  if (pts.length === 0) return 0;
  const front = paretoFront(pts, goals.map(() => 'min' as const)).map((i) => pts[i]);
  const m = ref.length;
  if (front.length ** Math.max(0, m - 1) <= (options.maxExactWork ?? 1e7)) return hvSlice(front, ref);
  if (!options.rng) throw new Error('hypervolume: this front is too large for the exact method; pass an rng for the Monte-Carlo estimate');
  const lo = ref.map((_, i) => Math.min(...front.map((p) => p[i])));
  const box = ref.reduce((v, r, i) => v * (r - lo[i]), 1);
  const n = options.samples ?? 100_000;
  let hit = 0;
  for (let s = 0; s < n; s++) {
    const x = lo.map((l, i) => l + (ref[i] - l) * options.rng!.next());
    if (front.some((p) => p.every((v, i) => v <= x[i]))) hit++;
  }
  return (box * hit) / n;
}

/** Uniform draw from the (m−1)-simplex (normalised exponentials = Dirichlet(1, …, 1)). */
export function randomSimplexWeights(m: number, rng: Rng): number[] {
  const e = Array.from({ length: m }, () => -Math.log(1 - rng.next()));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** ParEGO's augmented Chebyshev value (lower is better) of normalised minimisation objectives. */
export function augmentedChebyshev(normalised: readonly number[], weights: readonly number[], rho = 0.05): number {
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < normalised.length; i++) {
    const t = weights[i] * normalised[i];
    max = Math.max(max, t);
    sum += t;
  }
  return max + rho * sum;
}

/**
 * Scalar rewards for an agent from multi-objective observations (ParEGO): objectives are
 * normalised by the observed ranges (as minimisation) and the reward is −s_w(f). Call once
 * per batch with a fresh `weights` (randomSimplexWeights). Observations without a finite
 * objective vector get reward NaN (a failed evaluation).
 */
export function scalarise(observations: readonly Observation[], goals: readonly Goal[], weights: readonly number[], rho = 0.05): Observation[] {
  const valid = observations.filter((o) => o.objectives && o.objectives.length === goals.length && o.objectives.every(Number.isFinite));
  const mins = valid.map((o) => toMin(o.objectives!, goals));
  const lo = goals.map((_, i) => Math.min(...mins.map((f) => f[i])));
  const hi = goals.map((_, i) => Math.max(...mins.map((f) => f[i])));
  return observations.map((o) => {
    if (!o.objectives || o.objectives.length !== goals.length || !o.objectives.every(Number.isFinite)) return { ...o, reward: NaN };
    const f = toMin(o.objectives, goals).map((v, i) => (hi[i] > lo[i] ? (v - lo[i]) / (hi[i] - lo[i]) : 0));
    return { ...o, reward: -augmentedChebyshev(f, weights, rho) };
  });
}
