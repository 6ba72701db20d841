/**
 * Hypervolume improvement for goal-signed (maximised) objectives: the quantity whose
 * expectation over posterior samples is the acquisition of the mobo agent (qNEHVI, Daulton,
 * Balandat & Bakshy, NeurIPS 2021; agents/ehvi.ts).
 *
 * HVI(y) = vol([r, y]) − HV({min(p, y) : p ∈ P}): the box that y dominates, minus the part of it
 * the front already dominates (the front clipped to the box). Exact in any number of
 * objectives through src/reward/pareto.ts's HSO, with a sweep for two.
 */

/** Hypervolume (maximisation) gained by adding y to `front` with reference `ref`. */
export function hypervolumeImprovement(front: readonly (readonly number[])[], y: readonly number[], ref: readonly number[]): number {
  const m = ref.length;
  let box = 1;
  for (let i = 0; i < m; i++) {
    const d = y[i] - ref[i];
    if (!(d > 0)) return 0;
    box *= d;
  }
  // Points of the front clipped to the box [ref, y]; those not above ref in every objective add nothing.
  const clipped: number[][] = [];
  for (const p of front) {
    const c = p.map((v, i) => Math.min(v, y[i]));
    if (c.every((v, i) => v > ref[i])) clipped.push(c);
  }
  if (clipped.length === 0) return box;
  return Math.max(0, box - hvMax(clipped, ref));
}

/**
 * Hypervolume of maximisation points that all lie above ref: HSO slicing on the last objective
 * (While et al., IEEE TEC 10 (2006) 29) down to the 2-D sweep. No dominance filtering first —
 * the sweep skips dominated points — because this runs once per candidate and posterior
 * sample in the acquisition, on small clipped fronts, where allocation dominated the cost.
 */
export function hvMax(points: readonly (readonly number[])[], ref: readonly number[]): number {
  const m = ref.length;
  if (points.length === 0) return 0;
  if (m === 1) return Math.max(...points.map((p) => p[0])) - ref[0];
  if (m === 2) return hv2max(points, ref);
  const s = [...points].sort((a, b) => b[m - 1] - a[m - 1]);
  const sub = ref.slice(0, m - 1);
  let vol = 0;
  for (let i = 0; i < s.length; i++) {
    const depth = s[i][m - 1] - (i + 1 < s.length ? s[i + 1][m - 1] : ref[m - 1]);
    if (depth > 0) vol += depth * hvMax(s.slice(0, i + 1), sub);
  }
  return vol;
}

/** 2-D hypervolume of maximisation points (all above ref), by a sweep. */
function hv2max(points: readonly (readonly number[])[], ref: readonly number[]): number {
  const s = [...points].sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  let area = 0;
  let yMax = ref[1];
  for (const p of s) {
    if (p[1] <= yMax) continue;
    area += (p[0] - ref[0]) * (p[1] - yMax);
    yMax = p[1];
  }
  return area;
}

