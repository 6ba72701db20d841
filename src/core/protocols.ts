/**
 * The interfaces of poreloop (DESIGN.md, "Core interfaces"). This file imports nothing of
 * ours except the Result/Rng vocabulary beside it; every plugin (agents/, twins/, robots/)
 * and every part of src/ builds against these types and nothing else of each other.
 */
import type { Result } from './result.js';
import type { Rng } from './rng.js';
import type { SimulationError } from './errors.js';

// ─── Parameters ──────────────────────────────────────────────────────────────────────────

/** A value a manufacturing parameter may take. */
export type ParamValue = number | string;
/** One candidate: parameter name → value, in manufacturing units. */
export type Parameters = Record<string, ParamValue>;

interface ParameterBase {
  name: string;
  /** Unit in which the value is expressed (e.g. `µm`, `wt%`, `MPa`); '' for dimensionless. */
  unit?: string;
  /** What a plant operator sets with this knob. */
  description?: string;
}
export interface ContinuousParameter extends ParameterBase {
  kind: 'continuous';
  min: number;
  max: number;
  /** Search on a logarithmic scale (min > 0). */
  log?: boolean;
  default?: number;
}
export interface IntegerParameter extends ParameterBase {
  kind: 'integer';
  min: number;
  max: number;
  default?: number;
}
export interface CategoricalParameter extends ParameterBase {
  kind: 'categorical';
  values: ParamValue[];
  default?: ParamValue;
}
export type ParameterSpec = ContinuousParameter | IntegerParameter | CategoricalParameter;

/** Σ coefficient·value  (op)  rhs — linear and sum (composition) constraints. */
export interface LinearConstraint {
  coefficients: Record<string, number>;
  op: '<=' | '>=' | '==';
  rhs: number;
  /** Absolute tolerance for `==` (default 1e-9 × max(1, |rhs|)). */
  tolerance?: number;
}

/**
 * What an agent may choose from. With `pool`, the space is the finite table of allowed points
 * (e.g. a CSV of ingredients); each pool point may be proposed at most once.
 */
export interface ParameterSpace {
  parameters: ParameterSpec[];
  constraints?: LinearConstraint[];
  pool?: Parameters[];
}

// ─── Voxels ──────────────────────────────────────────────────────────────────────────────

export type Shape3 = [nx: number, ny: number, nz: number];

/**
 * A labelled 3D grid. Storage is C order with x slowest and z fastest, the layout of a numpy
 * array of shape (nx, ny, nz): index(x, y, z) = (x·ny + y)·nz + z. z is the through-plane
 * (thickness) direction of layered materials such as GDLs and electrodes.
 * poreloop's own volumes use label 0 for pore; `phases` names every label.
 */
export interface Voxels {
  data: Uint8Array;
  shape: Shape3;
  /** Edge length of one voxel in µm. */
  voxelSize: number;
  /** Label → phase name, e.g. { 0: 'pore', 1: 'fibre', 2: 'binder', 3: 'ptfe' }. */
  phases: Record<number, string>;
}

// ─── Twin (G-model) ──────────────────────────────────────────────────────────────────────

/** One manufacturing process stage (e.g. lay fibres → bind → PTFE treat → compress). */
export interface TwinStage {
  name: string;
  description: string;
  /** The parameters that this stage consumes; an agent acting stage by stage sets these. */
  parameters: string[];
  /** Descriptors of the intermediate structure after this stage (issue #17; Twin.process computes them). */
  descriptors?: StageDescriptor[];
  /** Run-to-run variability of this stage's outcome (issue #17): what comes out is not exactly what was asked. */
  variability?: StageVariability[];
}

/** A cheap number describing the structure between stages: porosity, thickness, solid fraction, a transport estimate (issue #17). */
export interface StageDescriptor {
  name: string;
  unit: string;
  /** Typical range, for normalising observations (values may fall outside). */
  min: number;
  max: number;
  description: string;
}

/**
 * A stage's outcome as a random variable around what was asked (issue #17): `absolute`:
 * realised = nominal + std·N(0, 1); `relative`: realised = nominal·exp(std·N(0, 1)). `std` is the
 * default spread; a config (twin.variability.<quantity>) overrides it and rig results reveal it.
 */
export interface StageVariability {
  quantity: string;
  kind: 'absolute' | 'relative';
  std: number;
  description: string;
}

/** The structure between stages: what the stages so far realised, and its descriptors (issue #17). */
export interface StageState {
  /** Stages done so far (0 before the first). */
  stage: number;
  /** Realised process quantities (what came out, not what was asked). */
  realised: Record<string, number>;
  /** Descriptors of the structure so far, by StageDescriptor name. */
  descriptors: Record<string, number>;
  /** False once a stage could not be done (e.g. calendering past the densest packing); `reason` says why. */
  feasible: boolean;
  reason?: string;
  /**
   * Realised quantities a rig measured (StagedProcess.fromMeasurements), as a set of names:
   * the others are the asked or modelled values, not evidence of what came out, so they
   * must not enter the spreads the rigs reveal (StageEnvironment.assimilate). Absent in the twin.
   */
  measured?: string[];
}

/**
 * A twin's cheap stage-by-stage process model (issue #17; docs/stages.md): the settings each
 * stage takes (its action space, which may be a plant knob the voxel twin expresses
 * differently, e.g. calender strain instead of target porosity), the descriptors after each
 * stage, and the variability of each stage's outcome. Closed-form, microseconds per step, so a
 * policy can be trained on many thousands of episodes; `recipe` gives the voxel twin's
 * parameters for the realised structure.
 */
export interface StagedProcess {
  /** One entry per Twin.stages entry, same names and order. */
  readonly stages: ReadonlyArray<{ name: string; parameters: ContinuousParameter[]; descriptors: StageDescriptor[]; variability: StageVariability[] }>;
  /** Cheap final properties of a finished structure (name → value), e.g. Bruggeman transport estimates. */
  readonly properties: Record<string, PropertyInfo>;
  /** The state before the first stage. */
  initial(): StageState;
  /**
   * Runs stage `state.stage` with the asked settings. The outcome draws from `rng` with the
   * spreads of `spread` (quantity → std; missing: the declared default). Pure: returns a new state.
   */
  step(state: StageState, action: Parameters, rng: Rng, spread?: Readonly<Record<string, number>>): StageState;
  /** The state after `stage` stages as measured on rigs: descriptors measured → realised quantities. */
  fromMeasurements(stage: number, previous: StageState, action: Parameters, measured: Readonly<Record<string, number>>): StageState;
  /** Cheap P-model properties of a finished state (every stage done). */
  estimate(state: StageState): Record<string, number>;
  /** Parameters of Twin.generate that build the realised structure (for the voxel P-model). */
  recipe(state: StageState): Parameters;
}

export interface TwinGenerateOptions {
  seed: number;
  /** Domain size in voxels. */
  size: Shape3;
  /** Voxel edge in µm. */
  voxelSize: number;
  /** Stop after this stage and return the intermediate structure (for stage-wise agents). */
  untilStage?: string;
  /** Progress callback, fraction in [0, 1]. */
  onProgress?: (fraction: number, stage: string) => void;
}

export interface TwinOutput {
  voxels: Voxels;
  /** What was asked (the parameters after defaults were filled in). */
  requested: Parameters;
  /** What was achieved: porosity, phase fractions, fibre/particle statistics, thickness… */
  achieved: Record<string, number>;
  /** Stages that were run, in order. */
  stages: string[];
}

/** A generative manufacturing digital twin: manufacturing parameters → microstructure. */
export interface Twin {
  readonly name: string;
  readonly description: string;
  /** The parameters a plant can set, with units, bounds and defaults. */
  readonly parameters: ParameterSpec[];
  readonly stages: TwinStage[];
  /** Label → phase name of the volumes it produces. */
  readonly phases: Record<number, string>;
  /**
   * Deterministic for a seed. Throws BadInputError for unknown parameters, values out of
   * bounds or impossible combinations.
   */
  generate(params: Parameters, options: TwinGenerateOptions): TwinOutput;
  /**
   * The checks generate makes before any work that do not depend on one point's combination of
   * values (review 2026-12-07): the parameters against their specs, size, voxelSize, and what
   * the grid allows — particles or fibres of a voxel or more, and no larger than the domain
   * holds. Each geometric bound is monotone in the parameters, so the config loader runs it at
   * the corners of a search space (with twin.fixed) and refuses a campaign none of whose trials
   * could be generated. Throws BadInputError as generate does.
   */
  readonly checkInput?: (params: Parameters, grid: Pick<TwinGenerateOptions, 'size' | 'voxelSize'>) => void;
  /** The stage-by-stage process model, for agents that act stage by stage (issue #17). */
  readonly process?: StagedProcess;
  /**
   * Present on a twin that is a trained model (`gan`, issue #19): reads and checks the folder
   * a config names as `twin.model` (BadInputError, naming the folder, when it is damaged or its
   * labels are not this twin's phases) and says what the config loader checks the campaign
   * against. The twin's own reader does it, so the loader cannot drift from what generation
   * accepts (#19: the loader once parsed metadata.json with a copy of the checks).
   */
  readonly trainedModel?: (dir: string) => TrainedModelInfo;
}

/** What a trained model's folder tells the config loader (Twin.trainedModel); its labels the twin checks itself. */
export interface TrainedModelInfo {
  /** The conditioning parameter and the range it was trained on; null for an unconditioned model. */
  condition: { name: string; min: number; max: number; unit?: string } | null;
}

// ─── Simulator and properties (P-model physics) ──────────────────────────────────────────

/** Property name → value, in the unit its simulator documents (see docs/physics.md). */
export type Properties = Record<string, number>;

export interface PropertyInfo {
  unit: string;
  definition: string;
}

export interface SimulationReport {
  properties: Properties;
  units: Record<string, string>;
  /** Solver diagnostics: iterations, residual, wall time per property… */
  diagnostics?: Record<string, unknown>;
}

export interface SimulateOptions {
  /** Label of the transporting phase (default 0, poreloop's pore label). */
  phase?: number;
  axes?: Array<'x' | 'y' | 'z'>;
  /** Restrict to these property names (default: all the simulator provides). */
  properties?: string[];
  /** Context a device model needs (e.g. operating conditions); simulator-specific. */
  context?: Record<string, number>;
  /**
   * Where the diffusion (τ, D_eff) solves run (issue #20): 'cpu' (default) the multigrid solver;
   * 'auto' the tensor solver on tfjs-node-gpu when a GPU is there, else 'cpu'; 'gpu' the tensor
   * solver or a bad-input error (src/physics/transport-tfjs.ts).
   */
  device?: 'auto' | 'cpu' | 'gpu';
}

export interface Simulator {
  readonly name: string;
  /** Property names it can produce, with units and definitions. */
  readonly provides: Record<string, PropertyInfo>;
  evaluate(voxels: Voxels, options?: SimulateOptions): Promise<Result<SimulationReport, SimulationError>>;
}

// ─── Surrogate and Predictor ─────────────────────────────────────────────────────────────

export interface Dataset {
  /** Input feature names and rows. */
  inputs: string[];
  x: number[][];
  /** Output (property) names and rows; NaN marks a missing value. */
  outputs: string[];
  y: number[][];
}

export interface Prediction {
  mean: number[][];
  std: number[][];
}

export interface Surrogate {
  readonly name: string;
  fit(data: Dataset, options?: { seed?: number; onProgress?: (f: number) => void }): Promise<{ loss: number; epochs: number }>;
  predict(x: number[][]): Promise<Prediction>;
  save(dir: string): Promise<void>;
  load(dir: string): Promise<void>;
}

/**
 * Fidelity of a score, lowest first. `early-life` (issue #20): a property of a rig test that was
 * stopped early, *predicted* from its first part (src/predict/early-life.ts) — it carries σ and
 * is never counted as a measurement: only `rig` is measured. `prior` (review 2026-12-07, finding
 * 4): no model yet — the mean and spread of the data so far, or nothing before any data; it was
 * recorded as `surrogate` before a surrogate had been trained.
 */
export type Fidelity = 'prior' | 'surrogate' | 'simulation' | 'early-life' | 'rig';
export const FIDELITY_ORDER: readonly Fidelity[] = ['prior', 'surrogate', 'simulation', 'early-life', 'rig'];

/**
 * An estimate of one property (issue #13; docs/uncertainty.md). `std` is the uncertainty of
 * `mean` as an estimate of the recipe's property — what rankings, rewards and corrections use:
 * for a simulation over `n` twin realisations it is the standard error of their mean
 * (spread/√n), for a surrogate the ensemble's standard deviation.
 */
export interface PropertyEstimate {
  mean: number;
  std: number;
  /**
   * Realisation-to-realisation standard deviation (sample std, n − 1) of a simulated property
   * over `n` twin seeds: how much one sample of the recipe differs from the next, whatever
   * `std` says about the mean. Absent for surrogate estimates.
   */
  spread?: number;
  /** Number of twin realisations the simulated mean averages. */
  n?: number;
  /**
   * The property's value in each twin realisation, in realisation order (NaN where one did not
   * produce it; null once read back from the ledger). Sample k of every property of a score
   * comes from the same volume: the reward's σ is taken from them (issue #13,
   * src/predict/uncertainty.ts rewardStd). Absent for surrogate estimates.
   */
  samples?: number[];
}

export interface Score {
  properties: Record<string, PropertyEstimate>;
  fidelity: Fidelity;
  /** What the twin achieved, when a twin was run (its first realisation). */
  achieved?: Record<string, number>;
  /**
   * Properties whose realisation-to-realisation coefficient of variation (spread / |mean|)
   * exceeds the representative-volume threshold: the domain is too small for them (issue #13).
   */
  rveWarnings?: string[];
}

export interface ScoreOptions {
  seed: number;
  /**
   * Per-candidate seeds for twin generation (same length as the candidates). The orchestrator
   * derives them from trial ids so that re-scoring a trial after a resume reproduces it
   * exactly, whatever else is in the batch. Default: seed + index.
   */
  seeds?: number[];
  onProgress?: (done: number, total: number) => void;
  /**
   * How the caller ranks the candidates for the rigs, given the P-model's reward of each (mean
   * and σ; mean NaN where there is none; `simulated`: a simulation, not a surrogate estimate):
   * per candidate the value it ranks by, and that value's interval while the reward lies in
   * mean ± z·σ. The adaptive realisations (issue #13, src/predict/uncertainty.ts lucbPicks)
   * refine the boundary of the top under this ranking. Omit, or return null: the reward itself
   * ranks. A twin campaign passes its reality model's (RealityModel.rankingGiven).
   */
  ranking?: (candidates: Parameters[], rewards: ReadonlyArray<{ mean: number; std: number; simulated: boolean }>, z: number) => Array<{ value: number; lower: number; upper: number }> | null;
}

/** Composes simulators and surrogates into scores with uncertainty and a fidelity tag. */
export interface Predictor {
  score(candidates: Parameters[], options: ScoreOptions): Promise<Score[]>;
}

/** One trial's evidence about reality: what the P-model predicted, what the rigs measured. */
export interface Evidence {
  params: Parameters;
  predicted: Record<string, number>;
  measured: Record<string, number>;
  feasible: boolean;
}

/**
 * Moves the reward the agent optimises toward reality as rig results arrive (Niu et al. 2021,
 * Fig. 13 "reward correction"): a discrepancy model on measured − predicted and a feasibility
 * model from failed manufactures. Implemented in src/predict (correction.ts), composed in src/compose.
 */
export interface RealityCorrection {
  /**
   * Refits from all evidence so far, deterministically (a resumed campaign refits from the
   * ledger's evidence and gets the same models). Returns per model what to record: its fitted
   * parameters only, of a size that does not grow with the evidence — the data is the evidence
   * already in the ledger, referenced by its hash (issue #15: storing it in every round made
   * the ledger grow quadratically).
   */
  update(evidence: readonly Evidence[]): Array<{ kind: string; samples: number; state: unknown }>;
  /** Corrected estimates and the reward to optimise (penalised by P(infeasible)). */
  apply(
    candidates: readonly Parameters[],
    predicted: ReadonlyArray<Record<string, PropertyEstimate>>,
    rewardOf: (means: Record<string, number>, params: Parameters) => number,
    worstReward: number,
  ): Array<{ properties: Record<string, PropertyEstimate>; reward: number }>;
}

/** One evaluation of the reward at a fidelity, as a multi-fidelity model takes it (issue #13). */
export interface FidelityObservation {
  params: Parameters;
  reward: number;
  /**
   * Standard deviation of a simulated reward (the P-model's realisation error). 0 or absent: only
   * the model's fitted noise — so an unknown σ must not be passed as 0 (a twin campaign imputes
   * it: src/predict/uncertainty.ts simulationEvidence; issue #13 review).
   */
  std?: number;
}

/**
 * A model of the REAL reward — what the rigs would measure — learnt jointly from simulations
 * (cheap, biased) and rig results (expensive, the quantity itself) (issue #13; implemented in
 * src/predict/multifidelity.ts, composed in src/compose). In twin campaigns the agents optimise
 * its estimates and the rigs get the candidates of highest expected improvement under it.
 */
export interface RealityModel {
  /**
   * Refits from all simulations and rig results so far, deterministically (a resumed campaign
   * refits from the ledger and gets the same model). Returns what to record: fitted parameters.
   */
  update(simulations: readonly FidelityObservation[], measurements: readonly FidelityObservation[]): { kind: string; samples: number; state: unknown };
  /** The estimate of the real reward at each candidate (mean and σ, rig noise excluded). */
  estimate(candidates: readonly Parameters[]): PropertyEstimate[];
  /**
   * The order in which candidates should go to the rigs: by expected improvement of the real
   * reward over `best` (the best rig result; −∞ before any), a batch chosen greedily (Kriging
   * believer). Returns indices into `candidates`, best first, with the acquisition value.
   */
  rank(candidates: readonly Parameters[], best: number): Array<{ index: number; value: number; mean: number; std: number }>;
  /**
   * What `rank` would rank a candidate by (its first pick's acquisition) if the simulated
   * candidates' rewards were `rewards` (those with `simulated` join the simulations, the others
   * are estimates the model does not learn from), with the interval it spans while each
   * simulated reward lies in mean ± z·σ — for ScoreOptions.ranking (issue #13). Null when the
   * model cannot yet tell (no simulations): rank by the rewards themselves.
   */
  rankingGiven?(
    candidates: readonly Parameters[],
    rewards: ReadonlyArray<{ mean: number; std: number; simulated: boolean }>,
    best: number,
    z: number,
  ): Array<{ value: number; lower: number; upper: number }> | null;
}

// ─── Agent ───────────────────────────────────────────────────────────────────────────────

/** One evaluated candidate, as an agent sees it. */
export interface Observation {
  params: Parameters;
  /** Scalar reward (higher is better); NaN for a failed/infeasible evaluation. */
  reward: number;
  fidelity: Fidelity;
  /**
   * Objective values of a multi-objective campaign, goal-signed: larger is better in every
   * objective (the campaign negates `min` objectives; src/reward/objectives.ts, issue #16).
   */
  objectives?: number[];
  /** Outcome-constraint slacks (thresholds, property ranges): feasible when every value ≥ 0 (issue #16). */
  constraints?: number[];
  feasible?: boolean;
  /**
   * A pending trial's made-up result (the orchestrator's constant liar, asynchronous campaigns,
   * issue #21): shown to an agent so it can see what is running, never learned from — "a
   * prediction is not a measurement". agents/common.ts `learningSet` leaves these out, so no
   * model, initial-design count or CMA-ES generation takes a lie as data.
   */
  fantasy?: true;
}

/** A cheap model of reward the agent may query (model-based agents roll out against it). */
export type RewardModel = (candidates: Parameters[]) => Promise<PropertyEstimate[]>;

export interface AgentContext {
  space: ParameterSpace;
  /** Everything observed so far, all fidelities. */
  history: readonly Observation[];
  /** Points of a pool already proposed (never propose them again). */
  proposed?: readonly Parameters[];
  /**
   * Trials at the rigs without a result yet (asynchronous campaigns, issue #21): an agent with
   * `pendingAware` conditions on them (e.g. Kriging-believer fantasies) so it does not propose
   * near-duplicates of what is running; for the others the orchestrator adds them to `history`
   * as constant-liar observations marked `fantasy` (never learned from; docs/async.md).
   */
  pending?: readonly Parameters[];
  /**
   * Trials the campaign selected for the rigs and then abandoned without a result *for a reason
   * that concerns the recipe*: rejected at the approval gate (or an edit of it refused there;
   * the ledger's TrialAbandoned `kind: 'approval'`). In `proposed` too, but there they cannot be
   * told from candidates that were never selected (issue #21). Abandonments that say nothing
   * about the recipe — a rig that timed out or failed for good after `rigs.maxAttempts` (the
   * protocol's failure *of the recipe* is an infeasible result, not an abandonment), the end of
   * a campaign, a result the reward could not use — are not passed (#21 review): an agent that
   * keeps its picks away from these (gp-bo's `minDistance`) would fence the recipe off for good.
   */
  abandoned?: readonly Parameters[];
  model?: RewardModel;
  rng: Rng;
}

export interface Agent {
  readonly name: string;
  propose(ctx: AgentContext, k: number): Promise<Parameters[]>;
  learn(experience: readonly Observation[]): Promise<void>;
  /** Serialisable state for resume (optional). */
  snapshot?(): unknown;
  restore?(state: unknown): void;
  /**
   * True when propose() rolls out against ctx.model (the Predictor's reward model). A twin-less
   * campaign trains its surrogate of the rig data only when something reads it: such an agent,
   * or a surrogate the config asks for (issue #12).
   */
  readonly usesModel?: boolean;
  /** True when propose() takes ctx.pending into account itself (no constant liar from the orchestrator). */
  readonly pendingAware?: boolean;
}

// ─── Stage-wise agents (issue #17) ───────────────────────────────────────────────────────

/**
 * What a stage-wise agent acts in, built in src/compose from a twin's StagedProcess and the
 * campaign's reward (agents never import twins). State = descriptors of the structure so far
 * plus the target specification; action = the next stage's settings; reward = the corrected
 * P-model reward of the final structure (a penalty when a stage was infeasible).
 */
export interface StageEnvironment {
  readonly stages: ReadonlyArray<{ name: string; space: ParameterSpace; descriptors: string[] }>;
  /** The target specification the policy is conditioned on (e.g. a target porosity): its ranges. */
  readonly targets: ParameterSpace;
  initial(): StageState;
  /** One simulated stage (in the twin, with its variability). */
  step(state: StageState, action: Parameters, rng: Rng): StageState;
  /** The observation vector of a state for a target, every entry roughly in [0, 1]. */
  observe(state: StageState, target: Parameters): number[];
  /** Reward of a finished state for a target, after the reality correction so far. */
  reward(state: StageState, target: Parameters): number;
  /**
   * Learns from real episodes (rig measurements): refits the reality correction of the reward
   * and the stage spreads the rigs revealed. Returns what to record in the ledger.
   */
  assimilate?(episodes: readonly StageEpisode[]): { kind: string; samples: number; state: unknown };
}

/** One real (rig) episode: the measured state after each stage and the measured final reward. */
export interface StageEpisode {
  target: Parameters;
  /** Settings sent for each stage. */
  actions: Parameters[];
  /** Measured state after each stage (states[k] after stage k). */
  states: StageState[];
  /** The measured final properties (for the reality correction). */
  measured: Record<string, number>;
  /** Reward of the measured final properties. */
  reward: number;
}

/** A policy that picks each stage's settings after seeing what the earlier stages produced (issue #17). */
export interface StagePolicy {
  readonly name: string;
  /** Policy version: 0 untrained, +1 per train or learn call. */
  readonly version: number;
  /** Pre-trains in the environment (many simulated episodes over targets drawn from env.targets). */
  train(env: StageEnvironment, options?: { iterations?: number; target?: Parameters }): Promise<{ iterations: number; meanReward: number }>;
  /** The next stage's settings for a state (deterministic: the policy's mean). */
  act(env: StageEnvironment, state: StageState, target: Parameters): Parameters;
  /**
   * Updates from real episodes: env.assimilate, then fine-tuning in the corrected environment —
   * over targets drawn from env.targets, or at `options.target` alone (a campaign with one
   * specification, as `train`'s option).
   */
  learn(env: StageEnvironment, episodes: readonly StageEpisode[], options?: { target?: Parameters }): Promise<void>;
  snapshot(): unknown;
  restore(state: unknown): void;
}

// ─── Rigs and transport ──────────────────────────────────────────────────────────────────

/** A job sent to a rig (payload of `rigs/<rigId>/jobs`; see docs/rig-protocol.md). */
export interface RigJob {
  /** Globally unique; rigs echo it in every event and use it for duplicate suppression. */
  jobId: string;
  campaignId: string;
  trialId: string;
  attempt: number;
  capability: string;
  params: Parameters;
  /** ISO-8601 instant after which the orchestrator treats the job as timed out. */
  deadline: string;
  protocol: string;
  /** Measurements from earlier pipeline stages, when the job is a later stage. */
  inputs?: Record<string, number>;
  /**
   * The measurement names the campaign needs from its rigs (`rigs.measure`): a rig reports these
   * keys, spelt exactly so, in `measurements` (issue #14: nothing told rig authors the names).
   */
  measure?: string[];
  /**
   * To the dispatcher: the preferred rig (it sends the job there while that rig is online, e.g.
   * the rig of an earlier dispatch of the same jobId on resume, so it replays its result instead
   * of another rig measuring again). On the wire: the rig this attempt was sent to.
   */
  rigId?: string;
}

export type RigEventType = 'accepted' | 'progress' | 'result' | 'failed' | 'rejected' | 'cancelled';

export interface RigEvent {
  jobId: string;
  rigId: string;
  /** Per-job sequence number starting at 1: duplicates are recognised by (jobId, seq). */
  seq: number;
  type: RigEventType;
  at: string;
  protocol: string;
  progress?: number;
  measurements?: Record<string, number>;
  /** For `failed` of a fabricate stage: false marks an infeasible recipe (a result, not an error). */
  feasible?: boolean;
  reason?: string;
  /** Attempt of the job this event belongs to (omitted = 1); seq restarts at 1 per attempt. */
  attempt?: number;
  /**
   * Set by the dispatcher on terminal events (result, failed, rejected, cancelled): true when the
   * job is finished and no further attempt follows; false when the dispatcher retries it.
   */
  final?: boolean;
  /** 'dispatcher' for events the dispatcher synthesises (timeout, rig offline, no rig); else the rig. */
  origin?: 'rig' | 'dispatcher';
  /** Set by the dispatcher on a rig's result that arrived after the job had already ended. */
  late?: boolean;
}

export interface RigInfo {
  rigId: string;
  capabilities: string[];
  status: 'online' | 'offline' | 'busy' | 'paused' | 'safety-stop';
  concurrency?: number;
  /** When the dispatcher last heard from the rig (epoch ms of its clock; the dashboard's fleet panel, issue #18). */
  lastSeenAt?: number;
  /** Attempts the dispatcher has with this rig now. */
  inflight?: number;
}

/** Publish/subscribe over MQTT (or in-memory for unit tests). */
export interface Transport {
  publish(
    topic: string,
    payload: string | Buffer,
    options?: {
      qos?: 0 | 1 | 2;
      retain?: boolean;
      /** MQTT 5 publish properties; ignored over MQTT 3.1.1 and in memory. */
      properties?: { messageExpiryInterval?: number; correlationData?: string; userProperties?: Record<string, string> };
    },
  ): Promise<void>;
  /** Subscribe with an MQTT topic filter; returns an unsubscribe function. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer) => void, options?: { qos?: 0 | 1 | 2 }): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The orchestrator's view of the lab: send jobs, hear events. */
export interface Rig {
  dispatch(job: RigJob): Promise<void>;
  cancel(jobId: string): Promise<void>;
  onEvent(handler: (event: RigEvent) => void): () => void;
  /**
   * Called synchronously each time an attempt is handed to a rig, *before* it goes on the wire,
   * so the orchestrator can record which rig has the job ahead of any of its events. After a
   * crash the job is then re-sent to that rig, which answers from its record of finished jobs
   * instead of another rig running the experiment again (issue #14/#15: events that arrive
   * before a job is dispatched are refused, so they cannot be what tells a resumed process).
   */
  onSent?(handler: (sent: { jobId: string; attempt: number; rigId: string }) => void): () => void;
  rigs(): RigInfo[];
}

// ─── Trials, campaigns, ledger ───────────────────────────────────────────────────────────

export type TrialStatus = 'proposed' | 'scored' | 'selected' | 'dispatched' | 'running' | 'completed' | 'failed' | 'abandoned';

/**
 * Allowed lifecycle transitions (failed may be retried: failed → dispatched). The ledger
 * enforces them: every status change goes through one function of src/ledger/ledger.ts, which
 * refuses an edge not listed here with TrialLifecycleError (issue #15).
 */
export const TRIAL_TRANSITIONS: Readonly<Record<TrialStatus, readonly TrialStatus[]>> = {
  proposed: ['scored', 'abandoned'],
  scored: ['selected', 'abandoned'],
  selected: ['dispatched', 'abandoned'],
  dispatched: ['running', 'completed', 'failed', 'abandoned'],
  running: ['completed', 'failed', 'abandoned'],
  failed: ['dispatched', 'abandoned'],
  completed: [],
  // Only a late result of the rig that had the job, after the dispatcher gave up on it: a real
  // measurement is never thrown away (issue #14). Abandoned trials are never re-dispatched.
  abandoned: ['completed'],
};

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal!.reason);
      };
      // Removed on resolve: loops that sleep on one long-lived signal (the dispatcher's tick,
      // a rig's heartbeat) would otherwise pile up one listener per sleep.
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
