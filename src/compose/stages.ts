/**
 * The stage-wise RL environment built from a twin's process declaration (issue #17,
 * docs/stages.md), and what joins it to rigs and the ledger. The composition root is the one
 * place that sees both the twin (its StagedProcess) and the agent (a StagePolicy); each sees
 * only the StageEnvironment interface of src/core.
 *
 * Reward: the campaign's reward of the final structure's properties — the twin's cheap
 * P-model estimate, corrected by a discrepancy model fitted to rig measurements (Niu et al.
 * 2021, Fig. 13 "reward correction"): per property, ridge regression of ln(measured/estimated)
 * (positive properties) or measured − estimated (others) on the final state's normalised
 * descriptors (`linear`) or a constant (`offset`). An infeasible structure gets `infeasibleReward`.
 * Process laws: the same kind of model corrects each deterministic stage (k ≥ 1) — per descriptor
 * the rigs read after it, ln(read/predicted) or read − predicted, the prediction being the twin's
 * step from the measured state before it, regressed on that state's descriptors and the stage's
 * settings — so a wrong law (a calender that springs back, a faster sintering) is learnt from
 * the readings, not only its effect on the final reward (issue #17 review).
 * Variability: each stage's spread is the config's (or the twin's default) until rig episodes
 * reveal it (revealedSpread below).
 */
import { createHash } from 'node:crypto';
import { BadInputError } from '../core/errors.js';
import type { ParameterSpace, Parameters, StagedProcess, StageEnvironment, StageEpisode, StageState, Twin } from '../core/protocols.js';
import { createRng, type Rng } from '../core/rng.js';
import { encode } from '../core/space.js';
import type { DocumentBodies } from '../ledger/documents.js';
import type { Ledger } from '../ledger/ledger.js';

export type StageReward = (properties: Readonly<Record<string, number>>, target: Parameters, state: StageState) => number;

export interface StageEnvironmentOptions {
  /** The reward of a finished structure's properties for a target (higher is better). */
  reward: StageReward;
  /** The target specifications the policy is conditioned on (their ranges). */
  targets: ParameterSpace;
  /** Reward of a structure a stage could not make. */
  infeasibleReward: number;
  /** Spread per varying quantity, overriding the twin's defaults. */
  spread?: Record<string, number>;
  /** The config key `spread` came from, for errors (default `twin.variability`; a staged campaign's `stages.variability`). */
  spreadKey?: string;
  /** Ridge penalty of the discrepancy model's slopes (features in [0, 1]; default 1). */
  ridge?: number;
  /**
   * Ridge penalty of the process-law corrections' slopes (default 0.01): intermediate readings
   * are many and precise next to final properties, and a law error (e.g. spring-back ∝ strain)
   * lives in the slopes — the default 1 shrank a spring-back's slope by more than half with 16
   * episodes (src/compose/stages.test.ts).
   */
  lawRidge?: number;
  /**
   * The discrepancy model: `linear` (intercept + slopes on the final descriptors, default),
   * `offset` (a constant per property) or `none` (learn only the spreads).
   */
  correction?: 'linear' | 'offset' | 'none';
}

/** The environment an agent acts in, plus what it has learnt from rigs (for the ledger and reports). */
export interface TwinStageEnvironment extends StageEnvironment {
  readonly process: StagedProcess;
  /** The spreads in force: config/default, then revealed by rig episodes. */
  spreads(): Record<string, number>;
  /** The P-model estimate of a finished state's properties, corrected. */
  properties(state: StageState): Record<string, number>;
}

export function createStageEnvironment(twin: Twin, o: StageEnvironmentOptions): TwinStageEnvironment {
  const process = twin.process;
  if (!process) throw new BadInputError(`twin ${twin.name} declares no stage-by-stage process model; stage-wise agents need one (twins with one: grain-electrode, sofc-anode)`, 'twin.name');
  if (!Number.isFinite(o.infeasibleReward)) throw new BadInputError('must be a finite number', 'stages.infeasibleReward');
  const declared = new Map(process.stages.flatMap((s) => s.variability.map((v) => [v.quantity, v] as const)));
  checkSpreads(twin.name, process, o.spread, o.spreadKey ?? 'twin.variability');
  const prior: Record<string, number> = Object.fromEntries([...declared].map(([q, v]) => [q, o.spread?.[q] ?? v.std]));
  let spread = { ...prior };
  const ridge = o.ridge ?? 1;
  const lawRidge = o.lawRidge ?? 0.01;
  for (const [k, v] of [['ridge', ridge], ['lawRidge', lawRidge]] as const) if (!(v >= 0 && Number.isFinite(v))) throw new BadInputError(`must be a number ≥ 0, got ${String(v)}`, `stages.${k}`);
  const mode = o.correction ?? 'linear';
  if (!['linear', 'offset', 'none'].includes(mode)) throw new BadInputError(`must be linear, offset or none, got ${String(mode)}`, 'stages.correction');

  // Observation layout: stage one-hot, target (cube), every descriptor (normalised) and its mask.
  const descriptors = [...new Map(process.stages.flatMap((s) => s.descriptors.map((d) => [d.name, d] as const))).values()];
  const S = process.stages.length;
  const normalised = (s: StageState) => descriptors.map((d) => (d.name in s.descriptors ? (s.descriptors[d.name] - d.min) / (d.max - d.min) : 0));
  /** Discrepancy model per property: weights on [1, normalised descriptors], additive or on the log scale. */
  let correction: Record<string, { relative: boolean; weights: number[] }> = {};
  /** Transition correction per stage index k ≥ 1: per descriptor, weights on stepFeatures. */
  let transition: Record<number, Record<string, { relative: boolean; weights: number[] }>> = {};
  const stepFeatures = (s: StageState, k: number, action: Parameters): number[] => {
    const space = { parameters: process.stages[k].parameters };
    const a = Object.fromEntries(space.parameters.map((p) => [p.name, action[p.name] ?? p.default ?? p.min]));
    return mode === 'offset' ? [1] : [1, ...normalised(s), ...encode(space, a)];
  };
  /** The twin's step with the learnt transition correction of stage s.stage applied to its descriptors. */
  const correctedStep = (s: StageState, action: Parameters, rng: Rng): StageState => {
    const t = process.step(s, action, rng, spread);
    const c = transition[s.stage];
    if (!c) return t;
    const f = stepFeatures(s, s.stage, action);
    const readings: Record<string, number> = {};
    for (const [d, m] of Object.entries(c)) {
      if (!(d in t.descriptors)) continue;
      const delta = m.weights.reduce((acc, wi, i) => acc + wi * f[i], 0);
      readings[d] = m.relative ? t.descriptors[d] * Math.exp(delta) : t.descriptors[d] + delta;
    }
    try {
      // The corrected descriptors enter as a rig's readings would, so the realised quantities
      // and feasibility follow them; they are the model's, not readings (measured unchanged).
      const u: StageState = { ...process.fromMeasurements(s.stage + 1, s, action, readings) };
      if (s.measured) u.measured = s.measured;
      else delete u.measured;
      return u;
    } catch (e) {
      return { ...t, feasible: false, reason: `corrected stage ${process.stages[s.stage].name} leaves physical limits: ${(e as Error).message}` };
    }
  };

  const estimate = (s: StageState): Record<string, number> => {
    const est = process.estimate(s);
    const f = [1, ...normalised(s)];
    for (const [p, c] of Object.entries(correction)) {
      if (!(p in est)) continue;
      const delta = c.weights.reduce((a, wi, i) => a + wi * f[i], 0);
      est[p] = c.relative ? est[p] * Math.exp(delta) : est[p] + delta;
    }
    return est;
  };

  return {
    process,
    stages: process.stages.map((s) => ({ name: s.name, space: { parameters: s.parameters }, descriptors: s.descriptors.map((d) => d.name) })),
    targets: o.targets,
    initial: () => process.initial(),
    step: correctedStep,
    observe: (s: StageState, target: Parameters) => [
      ...Array.from({ length: S }, (_, i) => (i === s.stage ? 1 : 0)),
      ...encode(o.targets, target),
      ...normalised(s),
      ...descriptors.map((d) => (d.name in s.descriptors ? 1 : 0)),
    ],
    reward: (s: StageState, target: Parameters) => {
      if (!s.feasible) return o.infeasibleReward;
      const r = o.reward(estimate(s), target, s);
      return Number.isFinite(r) ? r : o.infeasibleReward;
    },
    properties: estimate,
    spreads: () => ({ ...spread }),
    assimilate(episodes: readonly StageEpisode[]) {
      // Spreads the rigs revealed: the deviation of each varying quantity from what was asked,
      // read off the first state after the asking stage in which a rig measured it. A quantity
      // no rig read (state.measured lacks it) holds the asked value, not evidence of zero scatter.
      const next: Record<string, number> = {};
      for (const [q, v] of declared) {
        const dev: number[] = [];
        for (const e of episodes) {
          const k0 = e.actions.findIndex((a) => typeof a?.[q] === 'number');
          if (k0 < 0) continue;
          const asked = e.actions[k0][q] as number;
          const got = e.states.slice(k0).find((st) => st.measured?.includes(q))?.realised[q];
          if (typeof got !== 'number') continue;
          dev.push(v.kind === 'absolute' ? got - asked : Math.log(got / asked));
        }
        next[q] = revealedSpread(prior[q], dev);
      }
      spread = next;
      // Discrepancy of each measured property from the estimate at the measured final state.
      const done = episodes.filter((e) => e.states.length === S && e.states[S - 1].feasible);
      const fitted: Record<string, { relative: boolean; weights: number[] }> = {};
      const props = new Set(done.flatMap((e) => Object.keys(e.measured)));
      for (const p of mode === 'none' ? [] : props) {
        const rows = done.filter((e) => Number.isFinite(e.measured[p]) && p in process.estimate(e.states[S - 1]));
        if (rows.length === 0) continue;
        const x = rows.map((e) => (mode === 'offset' ? [1, ...normalised(e.states[S - 1]).map(() => 0)] : [1, ...normalised(e.states[S - 1])]));
        const pairs = rows.map((e) => [e.measured[p], process.estimate(e.states[S - 1])[p]]);
        // A property positive in every estimate and measurement is corrected by a factor (ln of
        // measured/estimated): relative model errors such as a wrong prefactor or exponent stay
        // relative, and the corrected value stays positive. Others by an additive term.
        const relative = pairs.every(([m, est]) => m > 0 && est > 0);
        const y = pairs.map(([m, est]) => (relative ? Math.log(m / est) : m - est));
        fitted[p] = { relative, weights: ridgeFit(x, y, ridge) };
      }
      correction = fitted;
      // Process laws of the deterministic stages: what the rigs read after stage k against the
      // twin's prediction from the state read before it, in episodes where a rig read something
      // new after stage k (else the state holds the model's values, no evidence).
      const laws: typeof transition = {};
      const newlyRead = (e: StageEpisode, k: number) => (e.states[k].measured ?? []).some((q) => !(e.states[k - 1].measured ?? []).includes(q));
      for (let k = 1; k < S && mode !== 'none'; k++) {
        const rows = episodes.filter((e) => e.states.length > k && e.states[k - 1].feasible && e.states[k].feasible && newlyRead(e, k));
        if (rows.length === 0) continue;
        const predicted = rows.map((e) => process.step(e.states[k - 1], e.actions[k], createRng(0), spread).descriptors);
        const x = rows.map((e) => stepFeatures(e.states[k - 1], k, e.actions[k]));
        laws[k] = {};
        for (const { name } of process.stages[k].descriptors) {
          const pairs = rows.map((e, i) => [e.states[k].descriptors[name], predicted[i][name]]);
          if (pairs.some(([m, p]) => !Number.isFinite(m) || !Number.isFinite(p))) continue;
          const relative = pairs.every(([m, p]) => m > 0 && p > 0);
          laws[k][name] = { relative, weights: ridgeFit(x, pairs.map(([m, p]) => (relative ? Math.log(m / p) : m - p)), lawRidge) };
        }
      }
      transition = laws;
      return { kind: `stage-correction:${twin.name}`, samples: done.length, state: { spread: { ...spread }, correction: fitted, transition: laws, features: ['1', ...descriptors.map((d) => d.name)] } };
    },
  };
}

/** Refuses spreads of quantities the process does not vary, or not ≥ 0, naming `key`.<quantity>. */
export function checkSpreads(twinName: string, process: StagedProcess, spread: Readonly<Record<string, unknown>> | undefined, key: string): void {
  const declared = process.stages.flatMap((s) => s.variability.map((v) => v.quantity));
  for (const [q, v] of Object.entries(spread ?? {})) {
    if (!declared.includes(q)) throw new BadInputError(`twin ${twinName} has no varying quantity "${q}"; allowed: ${declared.join(', ') || '(none)'}`, `${key}.${q}`);
    if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v))) throw new BadInputError(`must be a number ≥ 0, got ${String(v)}`, `${key}.${q}`);
  }
}

/**
 * The spread a set of measured deviations reveals (issue #17: "a spread the config sets and the
 * rigs can reveal"): the posterior mean of σ² under a scaled-inverse-χ² prior centred on the
 * configured σ with ν₀ = 4 pseudo-observations (Gelman et al., BDA §3.2), so two rig runs do not
 * overrule the config and twenty do.
 */
export function revealedSpread(prior: number, deviations: readonly number[], nu0 = 4): number {
  const ss = deviations.reduce((a, d) => a + d * d, 0);
  return Math.sqrt((nu0 * prior * prior + ss) / (nu0 + deviations.length));
}

/**
 * Ridge regression with an unpenalised intercept (column 0): solves (XᵀX + λ·I')w = Xᵀy by
 * Gaussian elimination with partial pivoting. Few features (the descriptors), few rows.
 */
export function ridgeFit(x: readonly number[][], y: readonly number[], lambda: number): number[] {
  const d = x[0].length;
  const a = Array.from({ length: d }, (_, i) => Array.from({ length: d + 1 }, (_, j) => (j < d ? (i === j && i > 0 ? lambda : 0) : 0)));
  x.forEach((row, r) => {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) a[i][j] += row[i] * row[j];
      a[i][d] += row[i] * y[r];
    }
  });
  for (let c = 0; c < d; c++) {
    let p = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    if (Math.abs(a[c][c]) < 1e-12) continue;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = a[r][c] / a[c][c];
      for (let j = c; j <= d; j++) a[r][j] -= f * a[c][j];
    }
  }
  return a.map((row, i) => (Math.abs(row[i]) < 1e-12 ? 0 : row[d] / row[i]));
}

/**
 * Records a policy version as a model in the ledger (issue #17): kind `stage-policy:<name>`,
 * its weights as the state, the hash of the real episodes it learnt from as the data hash.
 */
export function recordPolicyVersion(
  ledger: Ledger,
  campaignId: string,
  policy: { name: string; version: number; snapshot(): unknown },
  episodes: readonly StageEpisode[],
  metrics: Record<string, number> = {},
): void {
  ledger.append(campaignId, 'ModelTrained', policyVersionBody(policy, episodes, metrics));
}

/** The ModelTrained body of a policy version (kind `stage-policy:<name>`). */
export function policyVersionBody(policy: { name: string; version: number; snapshot(): unknown }, episodes: readonly StageEpisode[], metrics: Record<string, number> = {}): DocumentBodies['ModelTrained'] {
  const dataHash = createHash('sha256').update(JSON.stringify(episodes)).digest('hex');
  return { kind: `stage-policy:${policy.name}`, version: policy.version, dataHash, samples: episodes.length, metrics, state: policy.snapshot() };
}
