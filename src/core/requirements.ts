/**
 * What a campaign requires of a result beyond its reward (issue #16): a measurement of every
 * objective, each objective's `threshold` (at least, for goal max; at most, for goal min) and
 * each outcome constraint's [min, max]. A trial that misses one is no candidate, however high its reward — the measured
 * Pareto front leaves it out, and so do the lists of best trials (`status`, the report, the
 * dashboard; dashboard review 2026-12-07: a trial at porosity 0.91 outside [0.6, 0.88], or at
 * 74.7 S/m under a 100 S/m threshold, was ranked best). Here, in src/core, so that the ledger's
 * summary and the reward's front judge by one rule.
 */

export interface RequirementSet {
  objectives: ReadonlyArray<{ name: string; goal: 'max' | 'min'; threshold?: number; unit?: string }>;
  constraints?: ReadonlyArray<{ name: string; min?: number; max?: number; unit?: string }>;
}

/** The objectives and outcome constraints of a stored config, or null when it has neither (a reward expression alone). */
export function requirementsOf(config: unknown): RequirementSet | null {
  const c = config as { objectives?: RequirementSet['objectives']; outcomeConstraints?: RequirementSet['constraints'] } | null;
  if (!c?.objectives?.length && !c?.outcomeConstraints?.length) return null;
  return { objectives: c.objectives ?? [], constraints: c.outcomeConstraints ?? [] };
}

const show = (v: number, unit?: string) => `${Number(v.toPrecision(4))}${unit ? ` ${unit}` : ''}`;

/**
 * The thresholds and outcome constraints `values` misses, in words ([] when it meets them all).
 * `values` are what was measured (and the parameters): a requirement on a property without a
 * finite value there is missed as "not measured" — a prediction never stands in for it.
 */
export function unmetRequirements(values: Readonly<Record<string, unknown>>, set: RequirementSet): string[] {
  const out: string[] = [];
  const valueOf = (name: string): number | null => {
    const v = values[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  for (const o of set.objectives) {
    const v = valueOf(o.name);
    // Without its measurement, an objective's part of the reward was a prediction (the runtime
    // fills unmeasured properties from the P-model): no measured result (dashboard review, 2026-12-07).
    if (o.threshold === undefined) {
      if (v === null) out.push(`${o.name} not measured`);
      continue;
    }
    if (v === null) out.push(`${o.name} not measured (threshold ${show(o.threshold, o.unit)})`);
    else if (o.goal === 'max' ? v < o.threshold : v > o.threshold) out.push(`${o.name} ${show(v, o.unit)} ${o.goal === 'max' ? '<' : '>'} threshold ${show(o.threshold, o.unit)}`);
  }
  for (const c of set.constraints ?? []) {
    if (c.min === undefined && c.max === undefined) continue;
    const v = valueOf(c.name);
    if (v === null) out.push(`${c.name} not measured (outcome constraint)`);
    else if (c.min !== undefined && v < c.min) out.push(`${c.name} ${show(v, c.unit)} < min ${show(c.min, c.unit)}`);
    else if (c.max !== undefined && v > c.max) out.push(`${c.name} ${show(v, c.unit)} > max ${show(c.max, c.unit)}`);
  }
  return out;
}
