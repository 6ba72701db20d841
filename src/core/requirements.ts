/**
 * What a campaign requires of a result beyond its reward (issue #16): a measurement of every
 * objective, each objective's `threshold` (at least, for goal max; at most, for goal min) and
 * each outcome constraint's [min, max]. A trial that misses one is no candidate, however high its reward — the measured
 * Pareto front leaves it out, and so do the lists of best trials (`status`, the report, the
 * dashboard; dashboard review 2026-12-07: a trial at porosity 0.91 outside [0.6, 0.88], or at
 * 74.7 S/m under a 100 S/m threshold, was ranked best). Here, in src/core, so that the ledger's
 * summary, the reward's fronts and the agents' constraint slacks judge by one rule, read from a
 * config by one reader (review of 0e10d79: the rule and the reader each existed twice, in
 * src/reward/objectives.ts and src/reward/front.ts).
 */

export interface RequirementObjective {
  name: string;
  goal: 'max' | 'min';
  /** Outcome constraint on this objective: at least (max) / at most (min) this value. */
  threshold?: number;
  unit?: string;
}

export interface RequirementConstraint {
  name: string;
  min?: number;
  max?: number;
  unit?: string;
}

export interface RequirementSet<O extends RequirementObjective = RequirementObjective> {
  objectives: readonly O[];
  constraints?: readonly RequirementConstraint[];
}

/** The objectives and outcome constraints of a stored config, or null when it has neither (a reward expression alone). */
export function requirementsOf<O extends RequirementObjective = RequirementObjective>(config: unknown): { objectives: O[]; constraints: RequirementConstraint[] } | null {
  const c = config as { objectives?: O[]; outcomeConstraints?: RequirementConstraint[] } | null;
  if (!c?.objectives?.length && !c?.outcomeConstraints?.length) return null;
  return { objectives: c.objectives ?? [], constraints: c.outcomeConstraints ?? [] };
}

const show = (v: number, unit?: string) => `${Number(v.toPrecision(4))}${unit ? ` ${unit}` : ''}`;

/** One requirement judged: its slacks (each ≥ 0 when met, NaN when not measured) and, when missed, why in words. */
interface Judged {
  slacks: number[];
  unmet: string | null;
}

/**
 * Every requirement of `set` judged on `values`, in the order objectives, then outcome
 * constraints. A requirement on a property without a finite value there is missed as "not
 * measured" (slack NaN) — a prediction never stands in for a measurement unless the caller
 * passes predictions as the values. Slacks are scaled by the bound's magnitude so that slacks
 * of different units are comparable in size (only their sign matters for feasibility).
 */
function judge(values: Readonly<Record<string, unknown>>, set: RequirementSet): Judged[] {
  const out: Judged[] = [];
  const valueOf = (name: string): number | null => {
    const v = values[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const scaled = (d: number, bound: number) => d / Math.max(Math.abs(bound), 1e-12);
  for (const o of set.objectives) {
    const v = valueOf(o.name);
    // Without its measurement, an objective's part of the reward was a prediction (the runtime
    // fills unmeasured properties from the P-model): no measured result (dashboard review, 2026-12-07).
    if (o.threshold === undefined) {
      out.push({ slacks: [], unmet: v === null ? `${o.name} not measured` : null });
      continue;
    }
    const t = o.threshold;
    if (v === null) out.push({ slacks: [Number.NaN], unmet: `${o.name} not measured (threshold ${show(t, o.unit)})` });
    else {
      const slack = scaled(o.goal === 'max' ? v - t : t - v, t);
      out.push({ slacks: [slack], unmet: slack < 0 ? `${o.name} ${show(v, o.unit)} ${o.goal === 'max' ? '<' : '>'} threshold ${show(t, o.unit)}` : null });
    }
  }
  for (const c of set.constraints ?? []) {
    if (c.min === undefined && c.max === undefined) continue;
    const v = valueOf(c.name);
    const bounds = [c.min, c.max].filter((b): b is number => b !== undefined);
    if (v === null) {
      out.push({ slacks: bounds.map(() => Number.NaN), unmet: `${c.name} not measured (outcome constraint)` });
      continue;
    }
    const slacks = [...(c.min !== undefined ? [scaled(v - c.min, c.min)] : []), ...(c.max !== undefined ? [scaled(c.max - v, c.max)] : [])];
    const unmet = c.min !== undefined && v < c.min ? `${c.name} ${show(v, c.unit)} < min ${show(c.min, c.unit)}` : c.max !== undefined && v > c.max ? `${c.name} ${show(v, c.unit)} > max ${show(c.max, c.unit)}` : null;
    out.push({ slacks, unmet });
  }
  return out;
}

/** The thresholds and outcome constraints `values` misses, in words ([] when it meets them all). */
export function unmetRequirements(values: Readonly<Record<string, unknown>>, set: RequirementSet): string[] {
  return judge(values, set).flatMap((j) => (j.unmet === null ? [] : [j.unmet]));
}

/**
 * Constraint slacks for the agents (Observation.constraints; feasible when every slack ≥ 0):
 * thresholds first, then outcome constraints (a min and a max give two slacks). The same rule
 * as `unmetRequirements`: a slack is < 0 or NaN exactly when that function names the requirement
 * (an objective without a threshold has no slack).
 */
export function constraintSlacks(values: Readonly<Record<string, unknown>>, set: RequirementSet): number[] {
  return judge(values, set).flatMap((j) => j.slacks);
}

/** Whether every slack is finite and ≥ 0 (no constraints: true). */
export const meetsConstraints = (slacks: readonly number[]): boolean => slacks.every((s) => Number.isFinite(s) && s >= 0);

/**
 * The objectives and constrained properties that none of `done` — the values (parameters and
 * measurements) of the completed, feasible trials — measured; [] before any such trial. One rule
 * for the Pareto report and the campaign summary (review of 0e10d79).
 */
export function unmeasuredNames(done: readonly Readonly<Record<string, unknown>>[], set: RequirementSet): string[] {
  if (done.length === 0) return [];
  const names = [...new Set([...set.objectives, ...(set.constraints ?? [])].map((r) => r.name))];
  return names.filter((n) => !done.some((v) => Number.isFinite(v[n])));
}
