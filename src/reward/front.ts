/**
 * The Pareto front of a campaign's trials (issue #16): what `status`, `--json`, the export and
 * the run summary show for a multi-objective campaign.
 *
 * - measured front: completed, feasible trials that meet every threshold and outcome
 *   constraint, by their measured objective values (and parameters) only: a trial with an
 *   objective or a constraint's property the rigs did not measure — predicted by the P-model,
 *   or an early-stopped durability test's estimated eol (issue #20 review) — is not on it;
 * - predicted front: every scored trial by its P-model estimates (the twin's predictions);
 * - hypervolume history: after each round, the dominated hypervolume of the measured front so
 *   far. So that rounds are comparable, all rounds share one normalisation — the range of the
 *   measured feasible values of the whole campaign, goal-signed, mapped to [0, 1] — and one
 *   reference point: the configured one (objective `reference`, else `threshold`), else the
 *   nadir of the final measured front minus 10 % of its range. A history is therefore
 *   recomputed (and may shift) when later rounds widen the range; it reads "share of the box
 *   [reference, best seen] that the front dominated after round r".
 */
import { requirementsOf, unmeasuredNames as unmeasuredOf, unmetRequirements } from '../core/requirements.js';
import { configuredReference, inferReference, normaliser, objectiveVector, type ObjectiveSet, type ObjectiveSpec, type OutcomeConstraintSpec } from './objectives.js';
import { extendFront, hypervolume, paretoFront } from './pareto.js';

/** What the front needs of a trial (a structural subset of the ledger's trial rows). */
export interface FrontTrial {
  trialId: string;
  round: number;
  status: string;
  feasible: boolean | null;
  /** Numeric parameters (an objective may be a parameter, e.g. ptfeLoading min). */
  params: Record<string, number>;
  predicted: Record<string, number>;
  measured: Record<string, number>;
}

export interface FrontReport {
  objectives: { name: string; goal: 'max' | 'min'; unit?: string; reference?: number; threshold?: number }[];
  /** Trial ids on the measured front, with their objective values (in the objectives' own units and goals). */
  measured: { trialId: string; values: number[] }[];
  /** Trial ids on the front of the P-model's predictions (every scored trial). */
  predicted: { trialId: string; values: number[] }[];
  /** Dominated hypervolume (normalised, see the header) after each round with measured trials. */
  hypervolume: { round: number; hypervolume: number; measuredTrials: number }[];
  /** Reference point in the objectives' units. */
  reference: number[];
  /**
   * Objectives and outcome-constrained properties that no completed, feasible trial has a
   * measured value of (nor a parameter by that name): while one is, the measured front stays
   * empty, and `status` and `pick` say so by name (dashboard review, 2026-12-07).
   */
  unmeasured: string[];
}

/** The objectives and outcome constraints of a stored (resolved) config, or null for a single-objective campaign. */
export function objectiveSetOf(config: unknown): { objectives: ObjectiveSpec[]; constraints: OutcomeConstraintSpec[] } | null {
  const set = requirementsOf<ObjectiveSpec>(config);
  return set && set.objectives.length >= 2 ? set : null;
}

/** A ledger trial row as far as the front needs it (structural: src/ledger's TrialRow fits). */
export interface FrontTrialRow {
  id: string;
  round: number;
  status: string;
  feasible: boolean | null;
  params: Record<string, unknown>;
  prediction: Record<string, { mean: number }> | null;
  measured: Record<string, number> | null;
}

/** Ledger rows as FrontTrials: numeric parameters, predicted means, measurements. */
export function frontTrials(rows: readonly FrontTrialRow[]): FrontTrial[] {
  return rows.map((t) => ({
    trialId: t.id,
    round: t.round,
    status: t.status,
    feasible: t.feasible,
    params: Object.fromEntries(Object.entries(t.params).filter((e): e is [string, number] => typeof e[1] === 'number')),
    predicted: Object.fromEntries(Object.entries(t.prediction ?? {}).map(([k, v]) => [k, v.mean])),
    measured: t.measured ?? {},
  }));
}

/**
 * The trials that count for the measured front — completed, feasible, meeting every threshold
 * and outcome constraint, with finite objectives — and their goal-signed objective vectors,
 * from measurements and parameters only (a prediction is not a measurement, issue #20 review).
 */
export function measuredRows(trials: readonly FrontTrial[], set: ObjectiveSet): { t: FrontTrial; y: number[] }[] {
  return trials
    .filter((t) => t.status === 'completed' && t.feasible === true)
    .map((t) => {
      const values = { ...t.params, ...t.measured };
      return { t, y: objectiveVector(values, set.objectives), ok: unmetRequirements(values, set).length === 0 };
    })
    .filter((r) => r.ok && r.y.every(Number.isFinite))
    .map(({ t, y }) => ({ t, y }));
}

/** The objectives and constrained properties no completed, feasible trial measured (see FrontReport.unmeasured); [] before any such trial. */
export function unmeasuredNames(trials: readonly FrontTrial[], set: ObjectiveSet): string[] {
  return unmeasuredOf(trials.filter((t) => t.status === 'completed' && t.feasible === true).map((t) => ({ ...t.params, ...t.measured })), set);
}

/**
 * Whether round `round`'s measurements added dominated hypervolume to the measured front of the
 * rounds before it (issue #16: `stop.noImprovementRounds` of an objectives campaign counts
 * rounds without such a gain). Both fronts share the normalisation and reference point of the
 * rows up to `round` (as `campaignFront`'s history); since the inferred reference lies below
 * the front's nadir, any measured trial that no earlier one weakly dominates is a gain.
 */
export function roundGainedHypervolume(trials: readonly FrontTrial[], set: ObjectiveSet, round: number): boolean {
  const rows = measuredRows(trials, set).filter((r) => r.t.round <= round);
  if (!rows.some((r) => r.t.round === round)) return false;
  const m = set.objectives.length;
  const goals = new Array(m).fill('max' as const);
  const norm = normaliser(rows.map((r) => r.y), m);
  const ref = norm.apply(inferReference(rows.map((r) => r.y), configuredReference(set.objectives)));
  const hv = (rs: typeof rows) => hypervolume(rs.map((r) => norm.apply(r.y)), goals, ref);
  return hv(rows) > hv(rows.filter((r) => r.t.round < round)) + 1e-12;
}

export function campaignFront(trials: readonly FrontTrial[], set: ObjectiveSet): FrontReport {
  const objs = set.objectives;
  const m = objs.length;
  const goals = new Array(m).fill('max' as const);
  const unsign = (y: readonly number[]) => y.map((v, i) => (objs[i].goal === 'max' ? v : -v));
  const measured = measuredRows(trials, set);
  const predictedRows = trials
    .filter((t) => Object.keys(t.predicted).length > 0)
    .map((t) => {
      const values = { ...t.params, ...t.predicted };
      // The measured front's rule on the predicted values (review of 0e10d79: it was a second copy).
      return { t, y: objectiveVector(values, objs), ok: unmetRequirements(values, set).length === 0 };
    })
    .filter((r) => r.ok && r.y.every(Number.isFinite));
  const front = (rows: readonly { t: FrontTrial; y: number[] }[]) => paretoFront(rows.map((r) => r.y), goals).map((i) => ({ trialId: rows[i].t.trialId, values: unsign(rows[i].y) }));

  const ys = measured.map((r) => r.y);
  const norm = normaliser(ys, m);
  const configured = configuredReference(objs);
  const refSigned = inferReference(ys, configured);
  const refNorm = norm.apply(refSigned);
  // Round by round with a running front (scale review: re-filtering every trial and building
  // the front anew for each round took 28 s at 2 500 trials, and `status`, the export and the
  // dashboard all ask). The hypervolume of the points up to a round is that of their
  // non-dominated ones — exactly, not only in value: those dominating the reference are
  // the same points either way, and the exact method depends on the set only
  // (src/reward/front.test.ts compares with the definition).
  const byRound = new Map<number, number[][]>();
  for (const r of measured) {
    const round = r.t.round;
    const points = byRound.get(round);
    if (points) points.push(norm.apply(r.y));
    else byRound.set(round, [norm.apply(r.y)]);
  }
  let running: number[][] = [];
  let seen = 0;
  const history = [...byRound.keys()].sort((a, b) => a - b).map((round) => {
    const added = byRound.get(round)!;
    running = extendFront(running, added, goals);
    seen += added.length;
    return { round, hypervolume: hypervolume(running, goals, refNorm), measuredTrials: seen };
  });
  return {
    objectives: objs.map((o) => ({ name: o.name, goal: o.goal, unit: o.unit, reference: o.reference, threshold: o.threshold })),
    measured: front(measured),
    predicted: front(predictedRows),
    hypervolume: history,
    reference: ys.length || configured.every((v) => v !== undefined) ? unsign(refSigned) : [],
    unmeasured: unmeasuredNames(trials, set),
  };
}
