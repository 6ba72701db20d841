import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { BadInputError } from '../core/errors.js';
import type { LinearConstraint, ParameterSpace, ParameterSpec, Parameters, TrainedModelInfo, Twin } from '../core/protocols.js';
import { decode, insideTrainedRange, isFeasible, paramKey, parsePoolCsv, repair } from '../core/space.js';
import { createRng, hash32 } from '../core/rng.js';
import { compileReward, type RewardExpression } from '../reward/expression.js';
import { rewardNames, targetScope } from '../reward/scope.js';
import { campaignSchema, durationPattern, type CampaignConfig } from './schema.js';
import { readTwinFile } from './twin-file.js';

/**
 * Loads a campaign file (issue #2): YAML → overrides → schema → cross-field checks → a frozen
 * ResolvedCampaign. Precedence, merged once (DESIGN.md style rule 8):
 *   schema defaults < file < environment (PORELOOP_SEED, PORELOOP_BROKER, PORELOOP_SET) < CLI flags.
 * `PORELOOP_SET` and `--set` take `path=value` pairs (`budget.rigRuns=10`); values are YAML
 * scalars or flow collections, so `--set twin.size=[32,32,16]` works.
 */

export interface Registries {
  /**
   * `trainedModel`: present for a twin that is a trained model (issue #19; Twin.trainedModel).
   * `checkInput`: the twin's own checks of parameters, size and voxelSize (Twin.checkInput).
   * `finished`: for a twin with a process model (Twin.process), its last stage and the descriptors
   * of the structure after it — what stages.target may name (issue #17).
   */
  twins: Record<string, { parameters: ParameterSpec[]; trainedModel?: (dir: string) => TrainedModelInfo; checkInput?: Twin['checkInput']; finished?: { stage: string; descriptors: readonly string[] } }>;
  agents: readonly string[];
  /**
   * The P-model's property catalogue (src/physics PROPERTIES), passed by the composition root:
   * the names predict.properties of a twin campaign may use, and the context keys (predict.context)
   * each property's model reads (`sigma_<label>`: any sigma_0, sigma_1, …). Absent: neither is
   * checked (loader tests of other checks).
   */
  properties?: Readonly<Record<string, { context?: readonly string[] }>>;
  /**
   * The surrogate's own check of predict.surrogate (DeepEnsemble's options), passed by the
   * composition root; throws BadInputError with a path `surrogate[.<key>]`. Absent: unchecked.
   */
  surrogate?: (options: Readonly<Record<string, unknown>>) => void;
}

export interface Overrides {
  /** `path=value` pairs, applied in order. */
  set?: readonly string[];
  seed?: number;
  broker?: string;
  /**
   * The config is one poreloop stored itself (`resume`): its paths were confined when it was
   * first loaded, and a path the user gave on the command line then is absolute in it.
   */
  storedConfig?: boolean;
}

export interface ResolvedCampaign {
  readonly config: CampaignConfig;
  /** What the agent searches (twin parameters held in twin.fixed are not in it). */
  readonly space: ParameterSpace;
  readonly reward?: RewardExpression;
  /** sha256 of the canonical JSON of `config`: provenance for every trial. */
  readonly hash: string;
  /** Where the config came from (file path or "<inline>"). */
  readonly source: string;
  readonly timeoutMs: number;
  readonly wallTimeMs?: number;
  /** `artifacts`, resolved (see configPath); absent: the campaign puts them next to its ledger. */
  readonly artifactsDir?: string;
  /** `warmStart.csv`, resolved (see configPath). */
  readonly warmStartCsv?: string;
  /** `durability.model`, resolved (see configPath; issue #20). */
  readonly durabilityModel?: string;
  /**
   * Only for a stored config (`resume`, the dashboard's edits): what the name checks added after
   * it was recorded would refuse in a new config (predict.properties, predict.context and
   * predict.surrogate option names). The campaign ran with them; refusing its
   * resume would strand it (diff review 2026-12-07), so `resume` logs them instead.
   */
  readonly warnings: readonly string[];
}

export function parseDuration(v: number | string, where: string): number {
  if (typeof v === 'number') return v * 1000;
  const m = durationPattern.exec(v);
  if (!m) throw new BadInputError(`expected a duration such as "90s", "10m", "2h", got ${JSON.stringify(v)}`, where);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Reads and parses a YAML file, with exit-2 errors for a missing file or a syntax error. */
export function readYamlFile(path: string): unknown {
  if (!existsSync(path)) throw new BadInputError(`config file not found: ${path}`, 'config');
  if (!statSync(path).isFile()) throw new BadInputError(`not a file: ${path}`, 'config');
  const text = readFileSync(path, 'utf8');
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new BadInputError(`YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`, path);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias bomb ("billion laughs"): yaml refuses it before expanding (issue #14: exit 2, not 1).
    throw new BadInputError(`YAML aliases expand too far (at most 100 alias uses are allowed): ${(e as Error).message}`, path);
  }
}

export function loadCampaignFile(path: string, registries: Registries, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env): ResolvedCampaign {
  const raw = readYamlFile(path);
  return resolveCampaign(raw, registries, overrides, env, resolve(path));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets `a.b.c` in a plain object, creating objects on the way. Refuses prototype keys. */
function setPath(obj: Record<string, unknown>, path: string, value: unknown, where: string): void {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
    throw new BadInputError(`invalid config path "${path}"`, where);
  }
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (!isPlainObject(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
}

function applyPairs(obj: Record<string, unknown>, pairs: readonly string[], where: string): void {
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new BadInputError(`expected path=value, got "${pair}"`, where);
    let value: unknown;
    try {
      value = YAML.parse(pair.slice(i + 1));
    } catch {
      value = pair.slice(i + 1);
    }
    setPath(obj, pair.slice(0, i).trim(), value, where);
  }
}

/** Formats a zod failure as one line per problem: `path: expected …, got <value>`. */
export function formatIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .slice(0, 8)
    .map((iss) => {
      const path = iss.path.map(String).join('.') || '(top level)';
      if (iss.code === 'unrecognized_keys') {
        return `${path}: unknown key${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      let got: unknown = input;
      for (const k of iss.path) got = isPlainObject(got) || Array.isArray(got) ? (got as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
      const gotTxt = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 80);
      const msg = iss.message.startsWith('Invalid input') ? `expected ${'expected' in iss ? String(iss.expected) : 'a valid value'}` : iss.message;
      return `${path}: ${msg}, got ${gotTxt}`;
    })
    .join('\n');
}

const SEED_MAX = 2 ** 32 - 1;

/**
 * PORELOOP_SEED as a seed: decimal digits, at most 2³²−1 (the schema's range). It was converted
 * unchecked: `abc` became NaN and failed as the config file's `seed … got null`, and an empty
 * value became seed 0 (review of the CLI, 2026-12-07).
 */
function envSeed(raw: string): number {
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n <= SEED_MAX)) throw new BadInputError(`expected an integer in [0, ${SEED_MAX}] (or empty for none), got "${raw}"`, 'PORELOOP_SEED');
  return n;
}

/** Where an overriding broker URL goes: `broker`, or `broker.url` when the file gives { url, protocol } (issue #21). */
function brokerKey(merged: Record<string, unknown>): string {
  return isPlainObject(merged.broker) ? 'broker.url' : 'broker';
}

/** Where values come from besides the config file: their errors name them, not the file. */
const NOT_THE_FILE: ReadonlySet<string> = new Set(['PORELOOP_SEED', 'PORELOOP_BROKER', 'PORELOOP_SET', '--seed', '--broker', '--set']);

/**
 * Runs `check` of the config `source` and puts the file in front of a bad-input error that names
 * only a key (`agent.name: unknown agent …`), as the schema's errors have it — the one place
 * that does so (review of the CLI, 2026-12-07: the cross-field checks — reward, agent, twin,
 * batchSize, objectives — did not say which file). Errors about the environment or a flag are
 * left as they are.
 */
export function inConfigFile<T>(source: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof BadInputError && e.path !== source && !NOT_THE_FILE.has(e.path ?? '')) throw new BadInputError(e.message, source, { cause: e });
    throw e;
  }
}

export function resolveCampaign(raw: unknown, registries: Registries, overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env, source = '<inline>'): ResolvedCampaign {
  return inConfigFile(source, () => resolveIn(raw, registries, overrides, env, source));
}

function resolveIn(raw: unknown, registries: Registries, overrides: Overrides, env: NodeJS.ProcessEnv, source: string): ResolvedCampaign {
  if (!isPlainObject(raw)) throw new BadInputError('expected a YAML mapping at the top level (name:, space:, agent:, …)', source);
  const merged = structuredClone(raw);
  // Empty counts as unset, as for PORELOOP_BROKER (`PORELOOP_SEED= poreloop run …`).
  if (env.PORELOOP_SEED?.trim()) setPath(merged, 'seed', envSeed(env.PORELOOP_SEED), 'PORELOOP_SEED');
  if (env.PORELOOP_BROKER) setPath(merged, brokerKey(merged), env.PORELOOP_BROKER, 'PORELOOP_BROKER');
  if (env.PORELOOP_SET) applyPairs(merged, env.PORELOOP_SET.split(';').filter((s) => s.trim()), 'PORELOOP_SET');
  if (overrides.seed !== undefined) setPath(merged, 'seed', overrides.seed, '--seed');
  if (overrides.broker !== undefined) setPath(merged, brokerKey(merged), overrides.broker, '--broker');
  applyPairs(merged, overrides.set ?? [], '--set');
  // Paths the user typed (--set, PORELOOP_SET) are theirs: relative to the working directory,
  // not confined, and stored absolute so that `resume` from elsewhere finds the same file.
  const explicit = new Set<string>();
  for (const pair of [...(env.PORELOOP_SET?.split(';') ?? []), ...(overrides.set ?? [])]) {
    const key = pair.slice(0, Math.max(0, pair.indexOf('='))).trim();
    for (const path of PATH_KEYS) if (key === path || path.startsWith(`${key}.`)) explicit.add(path);
  }
  for (const path of explicit) {
    const [head, tail] = path.split('.');
    const holder = tail ? merged[head] : merged;
    const value = isPlainObject(holder) ? holder[tail ?? head] : undefined;
    if (typeof value === 'string') setPath(merged, path, resolve(value), '--set');
  }

  const parsed = campaignSchema.safeParse(merged);
  if (!parsed.success) throw new BadInputError(`invalid campaign config:\n${formatIssues(parsed.error, merged)}`, source);
  const config = parsed.data;

  // Cross-field checks that a schema cannot express.
  const twinParams = new Map<string, ParameterSpec>();
  if (config.twin) {
    const twin = registries.twins[config.twin.name];
    if (!twin) {
      throw new BadInputError(`unknown twin "${config.twin.name}"; known twins: ${Object.keys(registries.twins).sort().join(', ')}`, 'twin.name');
    }
    for (const p of twin.parameters) twinParams.set(p.name, p);
    for (const k of Object.keys(config.twin.fixed)) {
      if (k === 'model' && config.twin.model !== undefined) continue; // set from twin.model (below), e.g. in a stored config on resume
      if (!twinParams.has(k)) throw new BadInputError(`"${k}" is not a parameter of twin ${config.twin.name}; it has ${[...twinParams.keys()].join(', ')}`, `twin.fixed.${k}`);
      checkFixedValue(config.twin.name, twinParams.get(k)!, config.twin.fixed[k], `twin.fixed.${k}`);
    }
  }
  const agentName = config.agent.name;
  if (!registries.agents.includes(agentName)) {
    throw new BadInputError(`unknown agent "${agentName}"; known agents: ${[...registries.agents].sort().join(', ')}`, 'agent.name');
  }

  // A round sends at most `candidates` trials to the rigs; a larger batch was once cut silently
  // (issue #12: a config asking for batch 2 with 1 candidate ran at batch 1).
  if (config.agent.batchSize > config.agent.candidates) {
    throw new BadInputError(
      `${config.agent.batchSize} is more than agent.candidates (${config.agent.candidates}, the proposals per round the batch is chosen from); use batchSize ≤ candidates`,
      'agent.batchSize',
    );
  }
  let trained: { dir: string; info: TrainedModelInfo } | undefined;
  const paths = (key: (typeof PATH_KEYS)[number], value: string) =>
    overrides.storedConfig || explicit.has(key) ? resolve(dirname(source), value) : configPath(value, dirname(source), key);
  // A twin that is a trained model (gan, issue #19) gets its folder as the fixed value `model`,
  // which every generation (here, on worker threads, on remote workers) receives with the params.
  // The twin reads and checks the folder itself (Twin.trainedModel), so what the loader accepts
  // is exactly what generation accepts (#19: a copy of the metadata checks here could drift).
  const readModel = config.twin ? registries.twins[config.twin.name]?.trainedModel : undefined;
  if (config.twin?.model !== undefined) {
    if (!readModel) {
      const trainable = Object.keys(registries.twins).filter((k) => registries.twins[k].trainedModel).sort();
      throw new BadInputError(`twin ${config.twin.name} takes no model folder (only twins that are trained models do: ${trainable.join(', ') || 'none'})`, 'twin.model');
    }
    const dir = paths('twin.model', config.twin.model);
    // What a model folder holds is the twin's business (its reader says what is missing).
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new BadInputError(`${dir} is not a folder; twin.model names the folder of a trained model`, 'twin.model');
    try {
      trained = { dir, info: readModel(dir) };
    } catch (e) {
      // Its message names the folder; the config field it came from goes in front.
      if (e instanceof BadInputError) throw new BadInputError(e.message, 'twin.model', { cause: e });
      throw e;
    }
    config.twin.fixed = { ...config.twin.fixed, model: dir };
  } else if (readModel) {
    throw new BadInputError(`twin ${config.twin!.name} is a trained model and needs its folder: twin.model (docs/twins.md says how to make one)`, 'twin.model');
  }
  const space = buildSpace(config, twinParams, (v) => paths('space.pool', v));
  // twin.config (review 2026-12-07, item 4): after the space, which wins over the file. A stored
  // config (resume) already holds the file's params in twin.fixed and is not read again: it
  // reproduces its hash even if the file has since changed or gone.
  const calibrated = config.twin?.config !== undefined && !overrides.storedConfig ? addTwinConfig(config.twin, twinParams, space, paths('twin.config', config.twin.config)) : undefined;
  const checkInput = config.twin ? registries.twins[config.twin.name].checkInput : undefined;
  if (config.twin && checkInput) checkTwinInput(config.twin, space, checkInput, calibrated);
  if (trained) checkConditionRange(config, space, trained.dir, trained.info);
  const paramNames = space.parameters.map((p) => p.name);
  // The name checks of review 2026-12-07: errors for a new config; for a stored one, which ran
  // with these names, warnings (ResolvedCampaign.warnings).
  const warnings: string[] = [];
  const nameCheck = (check: () => void) => {
    if (!overrides.storedConfig) return check();
    try {
      check();
    } catch (e) {
      if (!(e instanceof BadInputError)) throw e;
      warnings.push(`${e.message}; the campaign was recorded with it and goes on as it ran`);
    }
  };
  // Before the reward: a misspelt property is the property's error, not the reward's.
  nameCheck(() => checkPredictNames(config, registries.properties));
  const surrogate = config.predict?.surrogate;
  if (surrogate !== undefined) nameCheck(() => checkSurrogate(surrogate, registries.surrogate));
  // stages.target before the reward, which reads it as target_<name> (review 2026-12-07: a typo
  // `porositty` was reported as the reward's unknown name target_porosity, though docs/stages.md
  // promises the target's own error). Ranges and the rest: compose/stage-rigs.ts stageSetup.
  const finished = config.stages ? registries.twins[config.stages.twin]?.finished : undefined;
  for (const n of Object.keys(config.stages?.target ?? {})) {
    if (finished && !finished.descriptors.includes(n)) {
      throw new BadInputError(`"${n}" is not a descriptor of ${config.stages!.twin}'s finished structure; allowed: ${finished.descriptors.join(', ')} (the structure after ${finished.stage})${didYouMean(n, finished.descriptors)}`, `stages.target.${n}`);
    }
  }
  const propertyNames = campaignProperties(config);
  // The reward's names (src/reward/scope.ts): properties, parameters and param_<name>; with
  // stages, the target specification as target_<name> (issue #17).
  const declared = [...rewardNames(propertyNames, [...paramNames, ...Object.keys(config.twin?.fixed ?? {})]), ...Object.keys(targetScope(config.stages?.target))];
  const reward = config.reward !== undefined ? compileReward(config.reward, declared, 'reward') : undefined;
  for (const [i, o] of (config.objectives ?? []).entries()) {
    if (!declared.includes(o.name)) throw new BadInputError(`objective "${o.name}" is neither a property nor a parameter; declared: ${declared.join(', ')}`, `objectives.${i}.name`);
  }
  for (const [i, c] of (config.outcomeConstraints ?? []).entries()) {
    if (!declared.includes(c.name)) throw new BadInputError(`outcome constraint "${c.name}" is neither a property nor a parameter; declared: ${declared.join(', ')}`, `outcomeConstraints.${i}.name`);
  }
  if (config.outcomeConstraints?.length && !config.objectives) {
    throw new BadInputError('outcome constraints belong to a multi-objective campaign: give "objectives" too (or write the constraint into the reward expression)', 'outcomeConstraints');
  }
  checkJudgedByMeasurements(config, reward, propertyNames);
  if (!config.predict && !config.twin && config.rigs.measure.length === 0) {
    throw new BadInputError('a campaign without a twin needs rigs.measure (the properties the rigs report)', 'rigs.measure');
  }

  const hash = createHash('sha256').update(canonicalJson(config)).digest('hex');
  return deepFreeze({
    config,
    space,
    reward,
    hash,
    source,
    timeoutMs: parseDuration(config.rigs.timeout, 'rigs.timeout'),
    wallTimeMs: config.budget.wallTime !== undefined ? parseDuration(config.budget.wallTime, 'budget.wallTime') : undefined,
    artifactsDir: config.artifacts !== undefined ? checkWritableDir(paths('artifacts', config.artifacts), 'artifacts') : undefined,
    warmStartCsv: config.warmStart ? paths('warmStart.csv', config.warmStart.csv) : undefined,
    durabilityModel: config.durability ? paths('durability.model', config.durability.model) : undefined,
    warnings,
  });
}

/**
 * What a campaign's results are judged by — its objectives, outcome constraints and the names
 * its reward reads — must be measured when the config lists what the rigs measure: a property
 * only predicted would put a prediction into the measured reward and leave the measured front
 * empty for good (dashboard review, 2026-12-07: with rigs.measure [porosity, limitingCurrent],
 * objective sigma_eff_z kept the front empty, and the "measured" reward was computed with the
 * predicted sigma_eff_z). An empty rigs.measure leaves the names to the rigs, unchecked.
 */
function checkJudgedByMeasurements(config: CampaignConfig, reward: RewardExpression | undefined, properties: readonly string[]): void {
  const measure = config.rigs.measure;
  if (measure.length === 0) return;
  // A bare name that is both a property and a parameter means the property (param_<name> the parameter).
  const unmeasured = (name: string) => properties.includes(name) && !measure.includes(name);
  const uses: Array<[name: string, what: string, where: string]> = [
    ...(config.objectives ?? []).map((o, i): [string, string, string] => [o.name, `objective "${o.name}"`, `objectives.${i}.name`]),
    ...(config.outcomeConstraints ?? []).map((c, i): [string, string, string] => [c.name, `outcome constraint "${c.name}"`, `outcomeConstraints.${i}.name`]),
    ...(reward?.names ?? []).map((n): [string, string, string] => [n, `"${n}" in the reward`, 'reward']),
  ];
  for (const [name, what, where] of uses) {
    if (unmeasured(name)) {
      throw new BadInputError(`${what} is not measured by the rigs (rigs.measure: [${measure.join(', ')}]): a measured result cannot rest on a prediction; add ${name} to rigs.measure, or judge by a property the rigs measure`, where);
    }
  }
}

/** A close known name for a misspelt one (edit distance ≤ 2, or one is the other's prefix), for the error. */
function closest(name: string, known: readonly string[]): string | undefined {
  const d = (a: string, b: string): number => {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const cur = [i];
      for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
    return prev[b.length];
  };
  const scored = known.map((k) => [k, d(name, k)] as const).filter(([k, n]) => n <= 2 || k.startsWith(name) || name.startsWith(k)).sort((a, b) => a[1] - b[1]);
  return scored[0]?.[0];
}

const didYouMean = (name: string, known: readonly string[]): string => {
  const c = closest(name, known);
  return c ? ` (did you mean ${c}?)` : '';
};

/**
 * The names of `predict` against what will read them (review 2026-12-07): with a twin,
 * predict.properties against the physics catalogue — `[porosity, tau_zz]` ran, exit 0, with
 * every prediction "—" and the name never mentioned, and one bad name left the good ones
 * unpredicted too (the simulation of the set fails). Without a twin the P-model is learnt from
 * data (rigs.measure, warmStart.csv columns), so the names are the data's. predict.context
 * keys against those the models of the
 * campaign's properties read (predicted, and measured by simulated rigs, which run the same
 * physics): `agingHour: 5000` ran with the 1000 h default, silently. Known keys' values are
 * range-checked by physics at composition (checkContext).
 */
function checkPredictNames(config: CampaignConfig, catalogue: Registries['properties']): void {
  const predict = config.predict;
  if (!predict) return;
  const context = Object.keys(predict.context ?? {});
  if (!config.twin) {
    if (context.length) throw new BadInputError(`predict.context sets operating conditions of the physics models, which run only in a campaign with a twin; remove it (keys: ${context.join(', ')})`, 'predict.context');
    return;
  }
  if (!catalogue) return;
  const known = Object.keys(catalogue);
  const unknown = predict.properties.filter((n) => !Object.hasOwn(catalogue, n));
  if (unknown.length) {
    throw new BadInputError(
      `unknown propert${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((n) => `"${n}"${didYouMean(n, known)}`).join(', ')}; the P-model computes (docs/physics.md): ${[...known].sort().join(', ')}`,
      `predict.properties.${predict.properties.indexOf(unknown[0])}`,
    );
  }
  if (context.length === 0) return;
  const props = campaignProperties(config).filter((n) => Object.hasOwn(catalogue, n));
  const reads = [...new Set(props.flatMap((n) => catalogue[n].context ?? []))];
  for (const key of context) {
    if (reads.includes(key) || (/^sigma_\d+$/.test(key) && reads.includes('sigma_<label>'))) continue;
    const allowed = reads.length ? `they read: ${[...reads].sort().join(', ')}` : 'none of them reads a context key';
    throw new BadInputError(`"${key}" is not read by the models of this campaign's properties (${props.join(', ')}); ${allowed}${didYouMean(key, reads)}`, `predict.context.${key}`);
  }
}

/**
 * predict.surrogate at load, as agent options are (review 2026-12-07): they were checked only
 * when the predictor was built, after the campaign was recorded — `surrogate: { member: 2 }`
 * left a "failed" campaign in the ledger, said "surrogate: unknown option" without the file or
 * `predict.`, and `doctor` called the config valid. The surrogate's own check runs here, its
 * error put under predict.
 */
function checkSurrogate(options: Readonly<Record<string, unknown>>, check: Registries['surrogate']): void {
  // A callback of the library API (EnsembleOptions.log), not something a file can give.
  if ('log' in options) throw new BadInputError("unknown option 'log' (a callback of the library API, not a config value)", 'predict.surrogate');
  try {
    check?.(options);
  } catch (e) {
    if (!(e instanceof BadInputError)) throw e;
    const bare = e.path && e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
    const key = e.path?.startsWith('surrogate') ? `predict.${e.path}` : 'predict.surrogate';
    throw new BadInputError(bare, key, { cause: e });
  }
}

/** The properties a campaign measures or predicts: what its reward, objectives and a warm-start CSV's columns may name. */
export function campaignProperties(config: { predict?: { properties?: readonly string[] }; rigs: { measure: readonly string[] } }): string[] {
  return [...new Set([...(config.predict?.properties ?? []), ...config.rigs.measure])];
}

/**
 * A fixed twin parameter's value against the twin's spec (review 2026-12-07:
 * `twin.fixed.fibreDiameter=abc`, `fibreDiameterCv=-1` and 50 µm loaded, and every trial was
 * abandoned). Numeric strings count as numbers, as in generation (twins/params.ts); the rule is
 * the space's own (isFeasible), not a copy of it (review of 0e10d79).
 */
function checkFixedValue(twin: string, spec: ParameterSpec, value: unknown, where: string): void {
  const v = spec.kind !== 'categorical' && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  const { ok, violations } = isFeasible({ parameters: [spec] }, { [spec.name]: v as Parameters[string] });
  if (ok) return;
  const allowed = spec.kind === 'categorical' ? spec.values.map((x) => JSON.stringify(x)).join(', ') : `${spec.kind === 'integer' ? 'an integer' : 'a number'} in ${spec.min} … ${spec.max}${spec.unit ? ' ' + spec.unit : ''}`;
  const why = violations.map((w) => w.slice(`${spec.name}: `.length)).join('; ');
  throw new BadInputError(`${JSON.stringify(value)} is not a value twin ${twin} takes for ${spec.name}; allowed: ${allowed} (${why})`, where);
}

/**
 * Runs the twin's own checks of parameters, size and voxelSize (Twin.checkInput) at every point
 * of the search space that can matter, with twin.fixed (review 2026-12-07: `twin.voxelSize=10`
 * loaded, and every trial was abandoned for "fibreDiameter 7 µm is smaller than one voxel",
 * seen only in `status`, while the run ended "completed"). The twins' geometric bounds are
 * monotone in each parameter, so the corners of the space's box are those points (a box
 * corner outside linear constraints is checked too: a conservative refusal); a pool is checked
 * row by row. Errors name the config key to change: twin.fixed.<name>, space.<name>,
 * twin.voxelSize or twin.size, and the space's corner they were found at.
 */
function checkTwinInput(twin: NonNullable<CampaignConfig['twin']>, space: ParameterSpace, checkInput: NonNullable<Twin['checkInput']>, calibrated?: ReadonlySet<string>): void {
  const fixed = twin.fixed as Parameters;
  const grid = { size: twin.size as [number, number, number], voxelSize: twin.voxelSize };
  const points: Parameters[] = space.pool
    ? space.pool.map((row) => ({ ...row }))
    : space.parameters.reduce<Parameters[]>(
        (corners, p) => {
          const nums = p.kind === 'categorical' ? p.values.filter((v): v is number => typeof v === 'number') : [p.min, p.max];
          if (nums.length === 0) return corners;
          const ends = [...new Set([Math.min(...nums), Math.max(...nums)])];
          return corners.flatMap((c) => ends.map((v) => ({ ...c, [p.name]: v })));
        },
        [{}],
      );
  for (const point of points) {
    try {
      checkInput({ ...point, ...fixed }, grid);
    } catch (e) {
      if (!(e instanceof BadInputError)) throw e;
      const bare = e.path && e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
      const name = e.path?.startsWith('params.') ? e.path.slice('params.'.length) : undefined;
      // A parameter neither fixed nor searched is at its default: the domain is what to change.
      const key = name === undefined ? `twin.${e.path ?? 'size'}` : calibrated?.has(name) ? 'twin.config' : name in fixed ? `twin.fixed.${name}` : name in point ? (space.pool ? 'space.pool' : `space.${name}`) : 'twin.size';
      // The point's values the message speaks of (fibreDiameter 3 µm at the space's lower bound).
      const named = Object.entries(point).filter(([k]) => new RegExp(`\\b${k}\\b`).test(bare));
      const at = named.length ? ` (at ${named.map(([k, v]) => `${k}=${v}`).join(', ')}, ${space.pool ? 'in a row of space.pool' : 'a corner of the search space'})` : '';
      throw new BadInputError(`${bare}${at}`, key, { cause: e });
    }
  }
}

/** The config keys that name files or folders. */
const PATH_KEYS = ['space.pool', 'artifacts', 'warmStart.csv', 'durability.model', 'twin.model', 'twin.config'] as const;

/**
 * Puts the params of the twin config file `file` (twin.config: e.g. `poreloop twin calibrate
 * --out`) into twin.fixed, and returns their names. What the campaign config names itself wins:
 * an entry of twin.fixed, and a parameter of the space (declared or a pool column), whose
 * calibrated value is then not used — calibrate the hidden parameters, search the controls.
 * The file must be for the same twin; its size, voxelSize and seed are not used (twin.size and
 * twin.voxelSize govern the campaign's structures).
 */
function addTwinConfig(twin: NonNullable<CampaignConfig['twin']>, twinParams: Map<string, ParameterSpec>, space: ParameterSpace, file: string): Set<string> {
  let f;
  try {
    f = readTwinFile(file);
  } catch (e) {
    if (e instanceof BadInputError) throw new BadInputError(e.message, 'twin.config', { cause: e });
    throw e;
  }
  if (f.twin !== twin.name) throw new BadInputError(`${file} is a config of twin ${f.twin === undefined ? '(none named)' : `"${f.twin}"`}, not of twin.name "${twin.name}"`, 'twin.config');
  const searched = new Set(space.parameters.map((p) => p.name));
  const taken: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(f.params ?? {})) {
    if (!twinParams.has(k)) throw new BadInputError(`${file}: "${k}" is not a parameter of twin ${twin.name}; it has ${[...twinParams.keys()].join(', ')}`, 'twin.config');
    if (searched.has(k) || twin.fixed[k] !== undefined) continue;
    checkFixedValue(twin.name, twinParams.get(k)!, v, `twin.config`);
    taken[k] = v as number | string;
  }
  twin.fixed = { ...taken, ...twin.fixed };
  return new Set(Object.keys(taken));
}

/**
 * A path written in a config file resolves inside the config's folder and may not leave it
 * (issue #14: `space.pool: ../secret.txt` read a file outside it and published its lines over
 * MQTT). Symbolic links are followed before the check. Paths given on the command line are
 * not confined (see resolveCampaign).
 */
export function configPath(value: string, configDir: string, where: string): string {
  const base = realOrSelf(resolve(configDir));
  const target = realOrSelf(resolve(configDir, value));
  const rel = relative(base, target);
  if (rel.split(sep)[0] === '..' || isAbsolute(rel)) {
    throw new BadInputError(`"${value}" lies outside the config's folder ${base}; a config may only name files inside its own folder (give other paths on the command line: --set ${where}=<path>)`, where);
  }
  return target;
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
function realOrSelf(p: string): string {
  if (existsSync(p)) return realpathSync(p);
  const parent = dirname(p);
  return parent === p ? p : resolve(realOrSelf(parent), relative(parent, p));
}

/**
 * Refuses folders on the kernel's pseudo-filesystems: nothing poreloop writes belongs there,
 * and Node's recursive mkdir spins forever inside /proc (issue #14: `artifacts: /proc/self`
 * hung the campaign where no signal could stop it).
 */
export function checkWritableDir(dir: string, where: string): string {
  const real = realOrSelf(resolve(dir));
  if (/^\/(proc|sys|dev)(\/|$)/.test(real)) throw new BadInputError(`${real} is on a kernel pseudo-filesystem (/proc, /sys, /dev); name an ordinary folder`, where);
  return real;
}

function buildSpace(config: CampaignConfig, twinParams: Map<string, ParameterSpec>, poolPath: (value: string) => string): ParameterSpace {
  const parameters: ParameterSpec[] = [];
  for (const [name, spec] of Object.entries(config.space)) {
    if (name === 'pool' || name === 'constraints') continue;
    const where = `space.${name}`;
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new BadInputError('parameter names must be identifiers (letters, digits, _)', where);
    if (config.twin && !twinParams.has(name)) {
      throw new BadInputError(`"${name}" is not a parameter of twin ${config.twin.name}; it has ${[...twinParams.keys()].join(', ')}`, where);
    }
    if (config.twin?.fixed[name] !== undefined) throw new BadInputError('a parameter cannot be both searched and fixed (twin.fixed)', where);
    const s = spec as Record<string, unknown>;
    if ('values' in s) {
      parameters.push({ kind: 'categorical', name, values: s.values as Array<string | number>, default: s.default as string | number | undefined, unit: s.unit as string | undefined, description: s.description as string | undefined });
    } else {
      const base = { name, min: s.min as number, max: s.max as number, unit: s.unit as string | undefined, description: s.description as string | undefined, default: s.default as number | undefined };
      const tw = twinParams.get(name);
      if (tw && tw.kind !== 'categorical' && (base.min < tw.min || base.max > tw.max)) {
        throw new BadInputError(`bounds [${base.min}, ${base.max}] exceed what twin ${config.twin!.name} allows, [${tw.min}, ${tw.max}]${tw.unit ? ' ' + tw.unit : ''}`, where);
      }
      parameters.push(s.integer ? { kind: 'integer', ...base } : { kind: 'continuous', ...base, log: (s.log as boolean | undefined) ?? false });
    }
  }
  const space: ParameterSpace = { parameters };
  const names = parameters.map((p) => p.name);
  if (config.space.pool !== undefined) {
    space.pool = readPool(poolPath(config.space.pool), 'space.pool');
    if (parameters.length === 0) {
      // A pool alone defines the space: every column is a parameter, with its observed range.
      // With a twin, a column must be one of its parameters (within its bounds) and not a fixed
      // value: issue #19 review — a pool column `model` overrode twin.model and pointed the gan
      // twin at any folder.
      for (const col of Object.keys(space.pool[0])) {
        checkPoolColumn(config, twinParams, col);
        const vals = space.pool.map((r) => r[col]);
        if (vals.every((v) => typeof v === 'number')) {
          const nums = vals as number[];
          const [min, max] = [Math.min(...nums), Math.max(...nums)];
          const tw = twinParams.get(col);
          if (tw && tw.kind !== 'categorical' && (min < tw.min || max > tw.max)) {
            throw new BadInputError(`pool column "${col}" ranges over [${min}, ${max}], beyond what twin ${config.twin!.name} allows, [${tw.min}, ${tw.max}]${tw.unit ? ' ' + tw.unit : ''}`, 'space.pool');
          }
          parameters.push({ kind: 'continuous', name: col, min, max });
        } else {
          parameters.push({ kind: 'categorical', name: col, values: [...new Set(vals)] });
        }
      }
    } else {
      // Beside declared parameters a pool's columns are exactly those parameters: a row with
      // another column is no point of the space (never proposed), and a missing one leaves a
      // parameter unset.
      const cols = Object.keys(space.pool[0]);
      for (const col of cols) {
        if (!names.includes(col)) throw new BadInputError(`pool column "${col}" is not a declared parameter; the columns must be the parameters of space: ${names.join(', ')}`, 'space.pool');
      }
      const missing = names.filter((n) => !cols.includes(n));
      if (missing.length) throw new BadInputError(`the pool has no column for ${missing.join(', ')}; the columns must be the parameters of space: ${names.join(', ')}`, 'space.pool');
    }
  }
  if (parameters.length === 0) throw new BadInputError('the search space is empty: declare parameters ({ min, max } or { values }) or a pool', 'space');
  space.constraints = (config.space.constraints ?? []).map((c, i) => parseLinearConstraint(c, parameters.map((p) => p.name).concat(names), `space.constraints.${i}`));
  space.constraints.forEach((c, i) => checkSatisfiable(c, parameters, config.space.constraints![i], `space.constraints.${i}`));
  if (space.constraints.length > 1 && !space.pool) checkJointlySatisfiable(space, config.seed);
  return space;
}

/** Refuses a pool column that the twin does not take as a searchable parameter, or that the config fixes. */
function checkPoolColumn(config: CampaignConfig, twinParams: Map<string, ParameterSpec>, col: string): void {
  if (!config.twin) return;
  const allowed = [...twinParams.keys()].filter((n) => config.twin!.fixed[n] === undefined);
  if (config.twin.fixed[col] !== undefined) {
    const by = col === 'model' && config.twin.model !== undefined ? 'twin.model' : `twin.fixed.${col}`;
    throw new BadInputError(`pool column "${col}" is fixed by ${by} and cannot be searched; a pool's columns must be parameters of twin ${config.twin.name} not held fixed: ${allowed.join(', ') || '(none)'}`, 'space.pool');
  }
  if (!twinParams.has(col)) {
    throw new BadInputError(`pool column "${col}" is not a parameter of twin ${config.twin.name}; a pool's columns must be its parameters not held fixed: ${allowed.join(', ') || '(none)'}`, 'space.pool');
  }
}

/**
 * The twin declares `condition` with open bounds (its real range is per model), so the space's
 * bounds check cannot catch a range the model was not trained on (issue #19 review: space
 * condition [0, 1] on a model trained on [0.022, 0.619] loaded, and proposals above 0.619 failed
 * mid-campaign). Checked here against the range the twin reads from its model (Twin.trainedModel): the searched bounds (declared, or a pool's
 * values) and a fixed value must lie in the trained range; an unconditioned model takes none.
 */
function checkConditionRange(config: CampaignConfig, space: ParameterSpace, dir: string, m: TrainedModelInfo): void {
  const p = space.parameters.find((q) => q.name === 'condition');
  const where = config.space.condition !== undefined ? 'space.condition' : 'space.pool';
  const fixed = config.twin?.fixed.condition;
  if (!m.condition) {
    if (p) throw new BadInputError(`the model in ${dir} was trained without a conditioning parameter: it takes no condition (remove it from the space)`, where);
    if (fixed !== undefined) throw new BadInputError(`the model in ${dir} was trained without a conditioning parameter: it takes no condition`, 'twin.fixed.condition');
    return;
  }
  const c = m.condition;
  // The same rule as the generator's own check (src/voxel/gan-model.ts checkedCondition).
  const inside = (v: unknown) => typeof v === 'number' && insideTrainedRange(c, v);
  const range = `[${c.min}, ${c.max}]${c.unit ? ' ' + c.unit : ''}`;
  if (p) {
    const values = p.kind === 'categorical' ? p.values : [p.min, p.max];
    const bad = values.filter((v) => !inside(v));
    if (bad.length) {
      throw new BadInputError(`condition (${c.name}) ${p.kind === 'categorical' ? `values ${bad.join(', ')}` : `bounds [${p.min}, ${p.max}]`} exceed the range the model in ${dir} was trained on, ${range}: a generator extrapolates blindly outside it`, where);
    }
  }
  if (fixed !== undefined && !inside(fixed)) throw new BadInputError(`condition (${c.name}) ${fixed} is outside the range the model in ${dir} was trained on, ${range}`, 'twin.fixed.condition');
}

/** The largest pool file read: ~1 M rows of a few columns, far beyond what a lab can make. */
export const MAX_POOL_BYTES = 64 * 2 ** 20;

/** A candidate pool (CSV, header row = parameter names); repeated rows count once. */
export function readPool(path: string, where: string): Parameters[] {
  if (!existsSync(path)) throw new BadInputError(`pool file not found: ${path}`, where);
  // Checked before reading (issue #14: `pool: /dev/zero` aborted the process with 134).
  const st = statSync(path);
  if (!st.isFile()) throw new BadInputError(`${path} is not a regular file (a CSV table is expected)`, where);
  if (st.size > MAX_POOL_BYTES) throw new BadInputError(`${path} has ${st.size} bytes; a pool may have at most ${MAX_POOL_BYTES} (${MAX_POOL_BYTES / 2 ** 20} MiB)`, where);
  const rows = parsePoolCsv(readFileSync(path, 'utf8'), where);
  const seen = new Set<string>();
  return rows.filter((r) => {
    const k = paramKey(r);
    return !seen.has(k) && !!seen.add(k);
  });
}

/**
 * Parses "a + b + c == 1" or "2*x - y <= 3" into a LinearConstraint. The two sides are
 * compiled with the reward sandbox and the coefficients read off by evaluating at unit
 * vectors; a second random point checks that the expression really is linear.
 */
export function parseLinearConstraint(src: string, names: readonly string[], where: string): LinearConstraint {
  const m = /^(.*?)(==|<=|>=)(.*)$/.exec(src);
  if (!m) throw new BadInputError(`expected a linear constraint like "a + b + c == 1" or "x - 2*y <= 0", got "${src}"`, where);
  const op = m[2] as LinearConstraint['op'];
  const f = compileReward(`(${m[1]}) - (${m[3]})`, names, where);
  const zero = Object.fromEntries(names.map((n) => [n, 0]));
  const c0 = f.evaluate(zero);
  const coefficients: Record<string, number> = {};
  for (const n of f.names) coefficients[n] = f.evaluate({ ...zero, [n]: 1 }) - c0;
  const probe = Object.fromEntries(names.map((n, i) => [n, 0.37 + 0.11 * i]));
  const linear = c0 + f.names.reduce((s, n) => s + coefficients[n] * probe[n], 0);
  if (!Number.isFinite(c0) || Math.abs(linear - f.evaluate(probe)) > 1e-9 * (1 + Math.abs(linear))) {
    throw new BadInputError(`constraint "${src}" is not linear in the parameters`, where);
  }
  return { coefficients, op, rhs: -c0 };
}

/**
 * Refuses a constraint that no point within the bounds can meet (issue #14: such a campaign
 * started and failed in its first round with exit 1). Exact for each constraint on its own:
 * the left side ranges over [Σ min(a·lo, a·hi), Σ max(a·lo, a·hi)] on the box. Constraints
 * that can each hold but not together are found by the agents when they sample.
 */
function checkSatisfiable(c: LinearConstraint, parameters: readonly ParameterSpec[], src: string, where: string): void {
  let lo = 0;
  let hi = 0;
  for (const [name, a] of Object.entries(c.coefficients)) {
    const p = parameters.find((q) => q.name === name);
    if (!p || p.kind === 'categorical') return;
    lo += Math.min(a * p.min, a * p.max);
    hi += Math.max(a * p.min, a * p.max);
  }
  const tol = c.tolerance ?? 1e-9 * Math.max(1, Math.abs(c.rhs));
  const ok = c.op === '<=' ? lo <= c.rhs + tol : c.op === '>=' ? hi >= c.rhs - tol : lo <= c.rhs + tol && hi >= c.rhs - tol;
  if (!ok) throw new BadInputError(`constraint "${src}" cannot hold within the parameter bounds: its left side ranges over [${lo}, ${hi}]`, where);
}

/**
 * Constraints that can each hold but not together: looked for the way the agents look for
 * feasible points (agents/common.ts: a cube point, repaired by projection onto the
 * constraints, then checked), with 1000 draws seeded by the campaign seed. A space refused
 * here would have failed its first proposal at run time (exit 1); one accepted here has at
 * least one feasible point.
 */
function checkJointlySatisfiable(space: ParameterSpace, seed: number): void {
  const rng = createRng(hash32(`constraints:${seed}`));
  const probe = { ...space, pool: undefined };
  for (let t = 0; t < 1000; t++) {
    const p = repair(space, decode(space, space.parameters.map(() => rng.next())));
    if (isFeasible(probe, p).ok) return;
  }
  throw new BadInputError('no point within the parameter bounds meets all the constraints together (1000 seeded draws, each projected onto the constraints); check that they can hold at once', 'space.constraints');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) return `{${Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
