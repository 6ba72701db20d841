import type { CampaignModel } from './model.js';

/**
 * The campaign's plots as Vega-Lite specifications (issue #18): the same JSON is rendered to
 * SVG/PNG headless for `poreloop report` (render.ts) and drawn live by the vega bundles in the
 * dashboard (web/dashboard/app.js asks /api for these specs), so the two never differ. No plot
 * is drawn by hand.
 */

export type ChartId = 'convergence' | 'predictions' | 'pareto';

export interface Chart {
  id: ChartId;
  title: string;
  /** One sentence under the plot: what it shows and how to read it. */
  caption: string;
  spec: Record<string, unknown>;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** The legend's name for trials that miss a threshold or outcome constraint. */
const UNMET = 'misses a threshold/constraint';
/** The predictions plot's legend: the colour of each kind of estimate, the shape of each fidelity (core/protocols.ts Fidelity). */
const KIND_COLOURS: Record<string, string> = { corrected: '#0072b2', 'P-model': '#009e73', 'P-model (raw)': '#e69f00' };
const FIDELITY_SHAPES: Record<string, string> = { prior: 'square', surrogate: 'triangle-up', simulation: 'circle', 'early-life': 'diamond', rig: 'cross' };
/** A score written before fidelities were recorded. */
const UNRECORDED = 'not recorded';
const WIDTH = 520;
const HEIGHT = 300;

/** Best-so-far measured reward against rig runs, each run's reward, and the baseline. */
export function convergenceChart(m: CampaignModel): Chart {
  // A run without a finite measured reward: infeasible, failed, or a reward of ±∞/NaN (a
  // log of a zero conductivity, say) — shown as ticks so no rig run is silently missing.
  const runs = m.runs.map((r) => ({
    run: r.run,
    reward: r.reward,
    best: r.best,
    trial: r.trialId,
    status: r.feasible === false ? 'infeasible' : r.status === 'completed' && r.reward === null ? 'no finite reward' : r.status,
    unmet: r.unmet.join('; '),
  }));
  // Runs that miss a threshold or outcome constraint: hollow, apart from the runs that count (dashboard review, 2026-12-07).
  const missing = runs.filter((r) => r.reward !== null && r.unmet !== '');
  const baseName = m.baseline[0]?.series ?? 'baseline';
  const layers: Array<Record<string, unknown>> = [];
  if (m.baseline.some((b) => b.q1 !== undefined)) {
    layers.push({
      data: { values: m.baseline },
      mark: { type: 'area', opacity: 0.2, color: '#999999', interpolate: 'step-after' },
      encoding: { x: { field: 'run', type: 'quantitative' }, y: { field: 'q1', type: 'quantitative' }, y2: { field: 'q3' } },
    });
  }
  if (m.baseline.length > 0) {
    layers.push({
      data: { values: m.baseline },
      mark: { type: 'line', strokeDash: [6, 4], interpolate: 'step-after' },
      encoding: {
        x: { field: 'run', type: 'quantitative' },
        y: { field: 'best', type: 'quantitative' },
        detail: { field: 'series' },
        color: { datum: baseName.startsWith('random search') ? 'random search' : baseName },
      },
    });
  }
  layers.push(
    {
      data: { values: runs.filter((r) => r.best !== null) },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5 },
      encoding: { x: { field: 'run', type: 'quantitative' }, y: { field: 'best', type: 'quantitative' }, color: { datum: 'best so far' } },
    },
    {
      data: { values: runs.filter((r) => r.reward !== null && r.unmet === '') },
      mark: { type: 'point', filled: true, size: 45, opacity: 0.8 },
      encoding: {
        x: { field: 'run', type: 'quantitative' },
        y: { field: 'reward', type: 'quantitative' },
        color: { datum: 'rig run' },
        tooltip: [{ field: 'trial' }, { field: 'reward', format: '.4g' }],
      },
    },
  );
  if (missing.length > 0) {
    layers.push({
      data: { values: missing },
      mark: { type: 'point', filled: false, size: 45, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'run', type: 'quantitative' },
        y: { field: 'reward', type: 'quantitative' },
        color: { datum: UNMET },
        tooltip: [{ field: 'trial' }, { field: 'reward', format: '.4g' }, { field: 'unmet', title: 'misses' }],
      },
    });
  }
  const infeasible = runs.filter((r) => r.status === 'infeasible' || r.status === 'failed' || r.status === 'no finite reward');
  if (infeasible.length > 0) {
    layers.push({
      data: { values: infeasible },
      mark: { type: 'tick', thickness: 2, color: '#d55e00' },
      encoding: { x: { field: 'run', type: 'quantitative' }, color: { datum: 'no reward' }, tooltip: [{ field: 'trial' }, { field: 'status' }] },
    });
  }
  return {
    id: 'convergence',
    title: 'Best measured reward vs rig runs',
    caption:
      `Step line: best feasible measured reward after each rig run, of the runs that meet every threshold and outcome constraint; dots: each run's reward; ` +
      (missing.length ? 'hollow grey: runs that miss a threshold or constraint (not counted as best); ' : '') +
      'orange ticks: runs without a finite reward (infeasible, failed, or a reward of ±∞). ' +
      (m.baseline.length === 0
        ? 'No baseline yet (no feasible measurement).'
        : baseName.startsWith('random search')
          ? 'Dashed: campaigns of the random agent on the same problem in this ledger.'
          : "Dashed: this campaign's own runs shuffled (median of 200 seeded shuffles, band: quartiles) — it shows whether the order of the runs helped, NOT whether the agent beats random search; for that, run the random agent on the same config into this ledger (docs/dashboard.md)."),
    spec: {
      $schema: SCHEMA,
      width: WIDTH,
      height: HEIGHT,
      layer: layers,
      encoding: {
        x: { type: 'quantitative', title: 'rig runs', scale: { domainMin: 0 }, axis: { tickMinStep: 1, format: 'd' } },
        // No unit: the config gives none for a reward expression (the SOFC example's is mV; review 2026-12-07).
        y: { type: 'quantitative', title: 'measured reward', scale: { zero: false } },
        color: {
          type: 'nominal',
          title: null,
          legend: { labelLimit: 320 },
          scale: {
            domain: ['best so far', 'rig run', ...(m.baseline.length ? [baseName.startsWith('random search') ? 'random search' : baseName] : []), ...(missing.length ? [UNMET] : []), ...(infeasible.length ? ['no reward'] : [])],
            range: ['#0072b2', '#56b4e9', ...(m.baseline.length ? ['#666666'] : []), ...(missing.length ? ['#999999'] : []), '#d55e00'],
          },
        },
      },
    },
  };
}

/** Predicted (±1 σ) against measured per property, with the P-model's raw estimate where the reality correction moved it. */
export function predictionsChart(m: CampaignModel): Chart {
  // Nothing to compare: say why in the plot, not with an empty plot holding only a legend
  // (review 2026-12-07). A stage-wise campaign (agent ppo-stages, docs/stages.md) records no
  // P-model predictions — each stage's settings follow the rig's measurement of the stage before.
  if (m.predictions.length === 0) {
    const text = m.overview.agent === 'ppo-stages' ? 'no predictions in a stage-wise campaign' : 'no prediction has a measurement to compare with yet';
    return {
      id: 'predictions',
      title: 'Predicted vs measured',
      caption: m.overview.agent === 'ppo-stages' ? 'A stage-wise campaign scores no candidates with the P-model: its stage policy sets each stage after the rig measured the one before (docs/stages.md).' : 'Appears once a trial with a recorded prediction has been measured.',
      spec: { $schema: SCHEMA, width: WIDTH, height: 60, data: { values: [{ text }] }, mark: { type: 'text', fontSize: 14, color: '#666666' }, encoding: { text: { field: 'text', type: 'nominal' } } },
    };
  }
  const rows: Array<Record<string, unknown>> = [];
  for (const p of m.predictions) {
    // Colour: corrected only when a correction had been trained at its scoring (model.ts
    // predictions; reproducibility review, item a). Shape: the P-model's fidelity (item b).
    const fidelity = p.fidelity ?? UNRECORDED;
    rows.push({ property: p.property, measured: p.measured, predicted: p.predicted, lo: p.predicted - p.std, hi: p.predicted + p.std, kind: p.corrected ? 'corrected' : 'P-model', fidelity, trial: p.trialId });
    if (p.raw !== null) rows.push({ property: p.property, measured: p.measured, predicted: p.raw, lo: p.raw - (p.rawStd ?? 0), hi: p.raw + (p.rawStd ?? 0), kind: 'P-model (raw)', fidelity, trial: p.trialId });
  }
  const kinds = ['corrected', 'P-model', 'P-model (raw)'].filter((k) => rows.some((r) => r.kind === k));
  const fidelities = [...Object.keys(FIDELITY_SHAPES), UNRECORDED].filter((f) => rows.some((r) => r.fidelity === f));
  // y = x per property, from its smallest to its largest value.
  const diag: Array<Record<string, unknown>> = [];
  for (const prop of [...new Set(rows.map((r) => r.property as string))]) {
    const vals = rows.filter((r) => r.property === prop).flatMap((r) => [r.measured as number, r.lo as number, r.hi as number]);
    diag.push({ property: prop, measured: Math.min(...vals), predicted: Math.min(...vals) }, { property: prop, measured: Math.max(...vals), predicted: Math.max(...vals) });
  }
  const enc = { x: { field: 'measured', type: 'quantitative', title: 'measured', scale: { zero: false } }, y: { field: 'predicted', type: 'quantitative', title: 'predicted', scale: { zero: false } } };
  return {
    id: 'predictions',
    title: 'Predicted vs measured',
    caption:
      'One panel per property, in its own units (docs/physics.md). Blue: the prediction the reward used after the reality correction; orange: the P-model before correction; green: the P-model where no correction was trained yet when the trial was scored; ' +
      'shape: the fidelity of the P-model\'s prediction (prior: the mean of the data before any surrogate; surrogate; simulation: the twin simulated the recipe); bars: ±1 σ; grey line: perfect prediction.',
    spec: {
      $schema: SCHEMA,
      data: { values: [...rows, ...diag.map((d) => ({ ...d, kind: 'diag' }))] },
      facet: { field: 'property', type: 'nominal', title: null },
      columns: 2,
      resolve: { scale: { x: 'independent', y: 'independent' } },
      spec: {
        width: 240,
        height: 200,
        layer: [
          { transform: [{ filter: "datum.kind === 'diag'" }], mark: { type: 'line', color: '#aaaaaa' }, encoding: enc },
          { transform: [{ filter: "datum.kind !== 'diag'" }], mark: { type: 'rule' }, encoding: { x: enc.x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => KIND_COLOURS[k]) } } } },
          {
            transform: [{ filter: "datum.kind !== 'diag'" }],
            mark: { type: 'point', size: 40, filled: true, opacity: 0.85 },
            encoding: {
              ...enc,
              color: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => KIND_COLOURS[k]) } },
              shape: { field: 'fidelity', type: 'nominal', title: 'fidelity', scale: { domain: fidelities, range: fidelities.map((f) => FIDELITY_SHAPES[f] ?? 'triangle-down') } },
              tooltip: [{ field: 'trial' }, { field: 'kind', title: 'estimate' }, { field: 'fidelity' }, { field: 'measured', format: '.4g' }, { field: 'predicted', format: '.4g' }],
            },
          },
        ],
      },
    },
  };
}

/**
 * Measured objective values of the completed, feasible trials: those meeting every threshold and
 * outcome constraint filled (the Pareto front joined and highlighted), those missing one hollow
 * and grey — they were dropped silently while the caption said "every feasible measured trial"
 * (dashboard review, 2026-12-07). Axis titles carry the objectives' declared units.
 */
export function paretoChart(m: CampaignModel): Chart | null {
  if (!m.pareto) return null;
  const [a, b] = m.pareto.objectives;
  const pts = m.pareto.points.map((p) => ({ trial: p.trialId, a: p.values[0], b: p.values[1], set: p.front ? 'Pareto front' : 'dominated', unmet: '' }));
  const front = pts.filter((p) => p.set === 'Pareto front').sort((x, y) => x.a - y.a);
  // A trial missing an objective's measurement has no place on these axes: the caption counts it.
  const unmet = m.pareto.unmet.filter((p) => Number.isFinite(p.values[0]) && Number.isFinite(p.values[1])).map((p) => ({ trial: p.trialId, a: p.values[0], b: p.values[1], set: UNMET, unmet: p.unmet.join('; ') }));
  const unplotted = m.pareto.unmet.length - unmet.length;
  const axis = (o: { name: string; goal: string; unit?: string }) => `${o.name}${o.unit ? ` (${o.unit})` : ''}, ${o.goal === 'max' ? 'higher' : 'lower'} is better`;
  const sets = ['Pareto front', 'dominated', ...(unmet.length ? [UNMET] : [])];
  return {
    id: 'pareto',
    title: 'Pareto front of measured objectives',
    caption:
      `Every completed, feasible trial in measured ${a.name} and ${b.name}: filled, those meeting every threshold and outcome constraint, the non-dominated ones joined` +
      (unmet.length ? `; hollow grey, the ${unmet.length} missing a threshold or constraint (not on the front; the tooltip says which)` : '') +
      '.' +
      (unplotted > 0 ? ` ${unplotted} more miss a measurement of ${a.name} or ${b.name} and cannot be placed.` : '') +
      (m.pareto.objectives.length > 2 ? ` The front is computed over all ${m.pareto.objectives.length} objectives (${m.pareto.objectives.map((o) => o.name).join(', ')}); the plot shows the first two.` : ''),
    spec: {
      $schema: SCHEMA,
      width: WIDTH,
      height: HEIGHT,
      layer: [
        { data: { values: front }, mark: { type: 'line', color: '#0072b2', strokeDash: [4, 3] }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' }, order: { field: 'a' } } },
        {
          data: { values: [...pts, ...unmet] },
          mark: { type: 'point', size: 60 },
          encoding: {
            x: { field: 'a', type: 'quantitative', title: axis(a), scale: { zero: false } },
            y: { field: 'b', type: 'quantitative', title: axis(b), scale: { zero: false } },
            color: { field: 'set', type: 'nominal', title: null, scale: { domain: sets, range: ['#0072b2', '#bbbbbb', '#999999'].slice(0, sets.length) } },
            // Hollow for the trials that miss a threshold or constraint.
            fill: { field: 'set', type: 'nominal', legend: null, scale: { domain: sets, range: ['#0072b2', '#bbbbbb', 'transparent'].slice(0, sets.length) } },
            tooltip: [{ field: 'trial' }, { field: 'a', title: a.name, format: '.4g' }, { field: 'b', title: b.name, format: '.4g' }, ...(unmet.length ? [{ field: 'unmet', title: 'misses' }] : [])],
          },
        },
      ],
    },
  };
}

/** Every plot the campaign has data for, in the order the report shows them. */
export function campaignCharts(m: CampaignModel): Chart[] {
  return [convergenceChart(m), predictionsChart(m), paretoChart(m)].filter((c): c is Chart => c !== null);
}
