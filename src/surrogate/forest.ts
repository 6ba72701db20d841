/**
 * Random-forest regression (Breiman, Machine Learning 45, 2001) with the spread over trees as
 * its uncertainty, the second surrogate of gp-bo (issue #12). On several real materials pools a
 * forest is as good as or better than any GP (Liang et al., npj Comput. Mater. 7, 2021, 188),
 * because it makes no smoothness or stationarity assumption.
 *
 * As scikit-learn's RandomForestRegressor defaults, which the reference numbers of
 * ../shared/benchmarks used: bootstrap samples, every feature considered at every split
 * (max_features = 1.0 for regression), CART splits by the largest decrease of the sum of
 * squared errors at midpoints between distinct values, leaves of one point. Prediction:
 * mean and standard deviation of the tree predictions. Out-of-bag predictions (each point
 * predicted by the trees that did not see it) measure how well the forest ranks unseen points.
 * Every random choice comes from the Rng passed in, so a fit is reproducible bit for bit.
 */
import type { Rng } from '../core/rng.js';

export interface ForestOptions {
  rng: Rng;
  /** Number of trees (default 100). */
  trees?: number;
  /** Features tried at each split (default all). */
  maxFeatures?: number;
  /** Smallest number of points in a leaf (default 1). */
  minLeaf?: number;
}

/** A tree as flat arrays: leaves have feature −1 and their mean in `value`. */
interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

/**
 * Per feature, every row in increasing (value, row) order: the order of the keys rank·N + row
 * (ties of value share a rank), sorted once per forest with the native typed-array sort.
 */
function featureOrders(x: readonly number[][]): Int32Array[] {
  const n = x.length;
  return x[0].map((_, f) => {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a][f] - x[b][f] || a - b);
    const rank = new Int32Array(n);
    for (let k = 1; k < n; k++) rank[order[k]] = x[order[k]][f] === x[order[k - 1]][f] ? rank[order[k - 1]] : k;
    const keys = Float64Array.from(rank, (r, i) => r * n + i).sort();
    return Int32Array.from(keys, (v) => v % n);
  });
}

/**
 * One CART tree on the bootstrap sample `rows`. Each node's rows are kept twice over, in one
 * segment [start, end) of shared arrays: in the order the bootstrap drew them (`drawn`: the
 * order of the node's sum of targets), and per feature in (value, row) order (`byFeature`). A
 * split partitions every list stably, so each child's lists are again in those orders: the
 * split search reads its candidates in sorted order without sorting at every node (the sort per
 * node and feature was 20 % of a gp-bo proposal, issue #12's cost line). The arithmetic — the
 * sums, their order, the gains, the thresholds — is that of sorting each node's rows by
 * (value, row) afresh, so the trees are the same bit for bit.
 */
function buildTree(x: readonly number[][], y: Float64Array, columns: readonly Float64Array[], orders: readonly Int32Array[], rows: number[], rng: Rng, maxFeatures: number, minLeaf: number): Tree {
  const t: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const d = x[0].length;
  const N = x.length;
  const m = rows.length;
  const drawn = Int32Array.from(rows);
  // The bootstrap sample in (value, row) order per feature: each row as often as it was drawn.
  const count = new Int32Array(N);
  for (const i of rows) count[i]++;
  const byFeature = orders.map((order) => {
    const sorted = new Int32Array(m);
    let p = 0;
    for (const i of order) for (let c = count[i]; c > 0; c--) sorted[p++] = i;
    return sorted;
  });
  const goesLeft = new Uint8Array(N);
  const feats = new Int32Array(d);
  const spill = new Int32Array(m);
  /** Stable partition of list[start, end) by goesLeft (left rows first); returns the left count. */
  const partition = (list: Int32Array, start: number, end: number): number => {
    let w = start;
    let r = 0;
    for (let k = start; k < end; k++) {
      const i = list[k];
      if (goesLeft[i]) list[w++] = i;
      else spill[r++] = i;
    }
    list.set(spill.subarray(0, r), w);
    return w - start;
  };
  const node = (start: number, end: number): number => {
    const id = t.feature.length;
    const n = end - start;
    let sum = 0;
    for (let k = start; k < end; k++) sum += y[drawn[k]];
    t.feature.push(-1);
    t.threshold.push(0);
    t.left.push(-1);
    t.right.push(-1);
    t.value.push(sum / n);
    if (n < 2 * minLeaf) return id;
    // Features to try: all, or a random subset (partial Fisher–Yates).
    for (let k = 0; k < d; k++) feats[k] = k;
    const tried = Math.min(maxFeatures, d);
    for (let k = 0; k < tried; k++) {
      const j = k + rng.int(d - k);
      const f = feats[k];
      feats[k] = feats[j];
      feats[j] = f;
    }
    let bestGain = 1e-12 * n;
    let bestF = -1;
    let bestT = 0;
    const total = sum;
    for (let q = 0; q < tried; q++) {
      const f = feats[q];
      const sorted = byFeature[f];
      const col = columns[f];
      let leftSum = 0;
      for (let k = 0; k < n - 1; k++) {
        leftSum += y[sorted[start + k]];
        const nl = k + 1;
        if (nl < minLeaf || n - nl < minLeaf) continue;
        const a = col[sorted[start + k]];
        const b = col[sorted[start + k + 1]];
        if (a === b) continue;
        // SSE decrease = nl·ml² + nr·mr² − n·m², the part of Σ(y − mean)² a split removes.
        const rightSum = total - leftSum;
        const gain = (leftSum * leftSum) / nl + (rightSum * rightSum) / (n - nl) - (total * total) / n;
        if (gain > bestGain) {
          bestGain = gain;
          bestF = f;
          // The midpoint of two adjacent floats can round to b, which would send both sides
          // left and split nothing (endless recursion, found by the agent contract's property
          // test); scikit-learn takes a then, and so do we.
          const mid = 0.5 * (a + b);
          bestT = mid < b ? mid : a;
        }
      }
    }
    if (bestF < 0) return id;
    const col = columns[bestF];
    for (let k = start; k < end; k++) goesLeft[drawn[k]] = col[drawn[k]] <= bestT ? 1 : 0;
    const nl = partition(drawn, start, end);
    for (const sorted of byFeature) partition(sorted, start, end);
    t.feature[id] = bestF;
    t.threshold[id] = bestT;
    t.left[id] = node(start, start + nl);
    t.right[id] = node(start + nl, end);
    return id;
  };
  node(0, m);
  return t;
}

function predictTree(t: Tree, q: readonly number[]): number {
  let i = 0;
  while (t.feature[i] >= 0) i = q[t.feature[i]] <= t.threshold[i] ? t.left[i] : t.right[i];
  return t.value[i];
}

export class RandomForest {
  private readonly trees: Tree[] = [];
  private readonly inBag: Uint8Array[] = [];
  readonly x: number[][];
  readonly y: number[];

  constructor(x: readonly number[][], y: readonly number[], o: ForestOptions) {
    if (x.length === 0 || x.length !== y.length) throw new Error(`forest needs matching non-empty x and y (got ${x.length}, ${y.length})`);
    // A count: buildTree uses it as a loop bound (review of aaba513: 2.5 tried 3 features, −1 none).
    if (o.maxFeatures !== undefined && !(Number.isInteger(o.maxFeatures) && o.maxFeatures >= 1)) throw new Error(`forest maxFeatures must be a positive integer (got ${o.maxFeatures})`);
    this.x = x.map((r) => [...r]);
    this.y = [...y];
    const n = x.length;
    const d = x[0].length;
    const orders = featureOrders(this.x);
    const columns = Array.from({ length: d }, (_, f) => Float64Array.from(this.x, (r) => r[f]));
    const ys = Float64Array.from(this.y);
    for (let b = 0; b < (o.trees ?? 100); b++) {
      const rows = Array.from({ length: n }, () => o.rng.int(n));
      const bag = new Uint8Array(n);
      for (const i of rows) bag[i] = 1;
      this.inBag.push(bag);
      this.trees.push(buildTree(this.x, ys, columns, orders, rows, o.rng, o.maxFeatures ?? d, o.minLeaf ?? 1));
    }
  }

  /** Mean and variance over the trees at each row of xs. */
  predict(xs: readonly (readonly number[])[]): { mean: number[]; variance: number[] } {
    const mean: number[] = [];
    const variance: number[] = [];
    for (const q of xs) {
      let s = 0;
      let s2 = 0;
      for (const t of this.trees) {
        const v = predictTree(t, q);
        s += v;
        s2 += v * v;
      }
      const m = s / this.trees.length;
      mean.push(m);
      variance.push(Math.max(0, s2 / this.trees.length - m * m));
    }
    return { mean, variance };
  }

  /** Out-of-bag mean of every training point (NaN for a point that every tree saw). */
  outOfBag(): number[] {
    return this.outOfBagPrediction().mean;
  }

  /**
   * Out-of-bag mean and variance over the trees that did not see each training point (NaN for
   * a point that every tree saw): the forest's held-out predictive distribution, which gp-bo's
   * likelihood-weighted ensemble scores against the observed rewards (issue #12).
   */
  outOfBagPrediction(): { mean: number[]; variance: number[] } {
    const mean: number[] = [];
    const variance: number[] = [];
    this.x.forEach((q, i) => {
      let s = 0;
      let s2 = 0;
      let c = 0;
      this.trees.forEach((t, b) => {
        if (this.inBag[b][i]) return;
        const v = predictTree(t, q);
        s += v;
        s2 += v * v;
        c++;
      });
      const m = c ? s / c : NaN;
      mean.push(m);
      variance.push(c ? Math.max(0, s2 / c - m * m) : NaN);
    });
    return { mean, variance };
  }
}
