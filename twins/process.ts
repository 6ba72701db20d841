import { BadInputError } from '../src/core/errors.js';
import type { ContinuousParameter, Parameters, StagedProcess, StageState, StageVariability, TwinStage } from '../src/core/protocols.js';
import type { Rng } from '../src/core/rng.js';

/**
 * Shared pieces of the twins' stage-by-stage process models (issue #17, docs/stages.md): the
 * draw of a stage's realised outcome around what was asked, reading a stage's settings, and
 * the Bruggeman transport estimate every descriptor set carries.
 */

/** The realised value of a varying quantity: see StageVariability (absolute: + σ·N; relative: × exp(σ·N)). */
export function realise(v: StageVariability, nominal: number, rng: Rng, spread?: Readonly<Record<string, number>>): number {
  const std = spread?.[v.quantity] ?? v.std;
  if (!(std >= 0)) throw new BadInputError(`spread of ${v.quantity} must be ≥ 0, got ${std}`, `twin.variability.${v.quantity}`);
  const z = rng.normal();
  return v.kind === 'absolute' ? nominal + std * z : nominal * Math.exp(std * z);
}

/** A stage's settings: every parameter of the stage, within its bounds (BadInputError naming it otherwise). */
export function stageSettings(twin: string, stage: string, specs: readonly ContinuousParameter[], action: Parameters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of specs) {
    const v = action[s.name] ?? s.default;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(`${twin} stage ${stage}: "${s.name}" must be a number in ${s.min} … ${s.max}`, `action.${s.name}`);
    if (v < s.min - 1e-9 || v > s.max + 1e-9) throw new BadInputError(`${twin} stage ${stage}: "${s.name}" = ${v} is out of bounds; allowed ${s.min} … ${s.max}`, `action.${s.name}`);
    out[s.name] = v;
  }
  return out;
}

/** Relative effective transport of a phase of volume fraction φ by Bruggeman's relation, φ^1.5 (τ = φ^−0.5; Tjaden et al., Curr. Opin. Chem. Eng. 2016). */
export const bruggeman = (phi: number): number => Math.max(0, phi) ** 1.5;

/** A state after a stage, or the infeasible state carrying why. */
export function nextState(prev: StageState, realised: Record<string, number>, descriptors: Record<string, number>, infeasible?: string): StageState {
  return {
    stage: prev.stage + 1,
    realised: { ...prev.realised, ...realised },
    descriptors: { ...prev.descriptors, ...descriptors },
    feasible: prev.feasible && !infeasible,
    ...(infeasible || prev.reason ? { reason: prev.reason ?? infeasible } : {}),
  };
}

/**
 * A rig's reading of `name`, if it reported one: a finite number in [lo, hi] (physical limits,
 * not the model's clamps — a rig value is kept as measured), else BadInputError naming it.
 */
export function rigValue(measured: Readonly<Record<string, number>>, name: string, lo: number, hi: number): number | undefined {
  const v = measured[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw new BadInputError(`measured ${name} must be a number in ${lo} … ${hi}, got ${String(v)}`, `measured.${name}`);
  return v;
}

/**
 * The state after a stage as a rig measured it: the stage's descriptors the rig reported
 * replace the modelled ones, and `fromRig` (the realised quantities taken from readings) joins
 * the state's `measured` set; quantities not read stay the asked or modelled values and are
 * not marked, so they do not count as evidence of the process scatter.
 */
export function asMeasured(prev: StageState, state: StageState, descriptors: readonly { name: string }[], measured: Readonly<Record<string, number>>, fromRig: readonly string[]): StageState {
  const d = { ...state.descriptors };
  for (const { name } of descriptors) {
    const v = rigValue(measured, name, -Infinity, Infinity);
    if (v !== undefined) d[name] = v;
  }
  const names = [...new Set([...(prev.measured ?? []), ...fromRig])];
  return { ...state, descriptors: d, ...(names.length ? { measured: names } : {}) };
}

/** The state before a process's first stage. */
export const initialState = (): StageState => ({ stage: 0, realised: {}, descriptors: {}, feasible: true });

/** Checks that measurements of stage `stage` come with the state after the one before it. */
export function requirePrevious(stage: number, prev: StageState): void {
  if (prev.stage !== stage - 1) throw new RangeError(`measurements of stage ${stage} need the state after stage ${stage - 1}`);
}

/** Checks that a state has run every stage before its final properties are read. */
export function requireFinished(twin: string, state: StageState, stages: number): void {
  if (state.stage !== stages) throw new BadInputError(`${twin}: the structure has ${state.stage} of ${stages} stages done; properties need all`, 'state.stage');
}

/** A twin's stages with the descriptors and variability of its process model, and the model itself. */
export function withProcess(stages: readonly TwinStage[], process: StagedProcess): { stages: TwinStage[]; process: StagedProcess } {
  return {
    stages: stages.map((s, i) => {
      const p = process.stages[i];
      if (p?.name !== s.name) throw new Error(`process stage ${i} is ${p?.name}, the twin's is ${s.name}`);
      return { ...s, descriptors: p.descriptors.map((d) => ({ ...d })), variability: p.variability.map((v) => ({ ...v })) };
    }),
    process,
  };
}
