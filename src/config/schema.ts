import { z } from 'zod';
import { brokerUrlProblem } from '../core/broker-url.js';
import { NAME_PATTERN, NAME_RULE } from '../core/names.js';

/**
 * The campaign file schema (issue #2). One zod schema is the single source: it validates
 * configs at load time and is exported as a JSON Schema (configs/schema/campaign.schema.json)
 * for editors. Every field carries its own "expected …" message so that errors read like
 * `agent.batchSize: expected integer ≥ 1, got "four"`.
 */

const int = (min: number, max?: number) => {
  const what = max === undefined ? `integer ≥ ${min}` : `integer in [${min}, ${max}]`;
  let s = z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` }).min(min, { error: `expected ${what}` });
  if (max !== undefined) s = s.max(max, { error: `expected ${what}` });
  return s;
};
const num = (what = 'a finite number') => z.number({ error: `expected ${what}` }).finite({ error: `expected ${what}` });
const positive = (what = 'a number > 0') => num(what).positive({ error: `expected ${what}` });
const ident = z
  .string({ error: 'expected a name (letters, digits, _; starting with a letter)' })
  .regex(/^[A-Za-z][A-Za-z0-9_]*$/, { error: 'expected a name (letters, digits, _; starting with a letter)' });
/** Durations like `90s`, `10m`, `2h`, `1d`, or a number of seconds. */
export const durationPattern = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;
const duration = z.union([positive('a duration (seconds or "90s", "10m", "2h")'), z.string().regex(durationPattern, { error: 'expected a duration such as "90s", "10m", "2h"' })], {
  error: 'expected a duration such as "90s", "10m", "2h"',
});

export const continuousParamSchema = z
  .object({
    min: num(),
    max: num(),
    log: z.boolean().optional().describe('search on a log scale (min > 0)'),
    integer: z.boolean().optional().describe('only whole numbers'),
    unit: z.string().optional(),
    default: num().optional(),
    description: z.string().optional(),
  })
  .strict()
  .refine((p) => p.max > p.min, { error: 'expected max > min' })
  .refine((p) => !p.log || p.min > 0, { error: 'a log-scaled parameter needs min > 0' });

export const categoricalParamSchema = z
  .object({
    values: z.array(z.union([z.string(), num()]), { error: 'expected a list of allowed values' }).min(1, { error: 'expected at least one value' }),
    default: z.union([z.string(), num()]).optional(),
    unit: z.string().optional(),
    description: z.string().optional(),
  })
  .strict();

export const spaceSchema = z
  .object({
    /** A CSV table of allowed points (header row = parameter names), relative to the config file. */
    pool: z.string().optional().describe('CSV file of allowed points, relative to the config file'),
    /** Linear/sum constraints such as "a + b + c == 1" or "2*x - y <= 3". */
    constraints: z.array(z.string()).optional().describe('linear constraints, e.g. "a + b + c == 1"'),
  })
  .catchall(z.union([continuousParamSchema, categoricalParamSchema], { error: 'expected { min, max } or { values: [...] }' }));

export const objectiveSchema = z
  .object({
    name: ident,
    goal: z.enum(['max', 'min'], { error: 'expected "max" or "min"' }),
    /** Reference point for hypervolume (worst acceptable value). */
    reference: num().optional(),
    /** Outcome constraint (issue #16): at least (max) / at most (min) this value, e.g. 100 S/m. */
    threshold: num().optional().describe('at least (goal max) / at most (goal min) this value'),
    /** Linear instead of logarithmic in the scalar reward (needed for values that can be ≤ 0). */
    scale: positive().optional().describe('scale of the objective in the scalar reward (default: logarithmic)'),
    unit: z.string().optional(),
  })
  .strict();

/** A property (or parameter) that must stay within a range, handled as a probability of feasibility (issue #16). */
export const outcomeConstraintSchema = z
  .object({
    name: ident,
    min: num().optional(),
    max: num().optional(),
    unit: z.string().optional(),
  })
  .strict()
  .refine((c) => c.min !== undefined || c.max !== undefined, { error: 'expected min, max or both' })
  .refine((c) => c.min === undefined || c.max === undefined || c.max > c.min, { error: 'expected max > min' });

const simRigSchema = z
  .object({
    // 'orchestrator' is the engine's own broker login, with access to every rig's topics (#14).
    id: z.string().regex(NAME_PATTERN, { error: `expected a rig id of ${NAME_RULE}` }).refine((id) => id !== 'orchestrator', { error: "'orchestrator' is reserved for the engine's own broker login; choose another rig id" }),
    capabilities: z.array(z.string()).min(1),
    latencyMs: positive().default(200).describe('mean latency of one job (ms)'),
    concurrency: int(1).default(1),
    /** Fault injection (robots/sim): probabilities per job attempt. */
    faults: z
      .object({
        drop: z.number().min(0).max(1).optional(),
        hang: z.number().min(0).max(1).optional(),
        crashMidJob: z.number().min(0).max(1).optional(),
        duplicateEvents: z.number().min(0).max(1).optional(),
        lateAfterTimeout: z.number().min(0).max(1).optional(),
        malformed: z.number().min(0).max(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const brokerUrl = z.string({ error: 'expected "embedded" or a broker URL' }).superRefine((s, ctx) => {
  const problem = s === 'embedded' ? undefined : brokerUrlProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: `expected "embedded" or a broker URL: ${problem}` });
});
/** MQTT version (issue #21): 4 = 3.1.1, 5, or auto = 5 where the broker speaks it, else 3.1.1. */
const brokerProtocol = z.union([z.literal('auto'), z.literal(4), z.literal(5)], { error: 'expected auto, 4 (MQTT 3.1.1) or 5' });

export const campaignSchema = z
  .object({
    name: z.string({ error: 'expected a campaign name' }).min(1, { error: 'expected a non-empty name' }),
    description: z.string().optional(),
    seed: int(0, 2 ** 32 - 1).default(1),
    lab: z.string().regex(NAME_PATTERN, { error: `expected a lab name of ${NAME_RULE}` }).default('default'),
    twin: z
      .object({
        name: z.string({ error: 'expected a twin name' }),
        size: z.tuple([int(4, 1024), int(4, 1024), int(4, 1024)], { error: 'expected [nx, ny, nz], integers in [4, 1024]' }),
        voxelSize: positive('a voxel size > 0 (µm)'),
        fixed: z.record(z.string(), z.union([num(), z.string()])).default({}).describe('twin parameters held constant'),
        model: z.string().min(1).optional().describe('folder of a trained model, for twins that are one (gan: poreloop reconstruct gan train); relative to the config'),
        /**
         * A twin config file (what `poreloop twin calibrate --out` writes, review 2026-12-07 item 4):
         * its params join twin.fixed at load; twin.fixed entries and space parameters win over
         * them. No zod default, so configs stored before it keep their hash.
         */
        config: z
          .string()
          .min(1)
          .optional()
          .describe('twin config file (twin, params, …; e.g. the output of poreloop twin calibrate --out) whose params are held fixed, except those twin.fixed or space names; relative to the config'),
      })
      .strict()
      .optional(),
    space: spaceSchema,
    predict: z
      .object({
        properties: z.array(ident).min(1, { error: 'expected at least one property' }),
        physicsPerRound: int(0).default(16),
        /** Optional surrogate settings; without them every candidate is simulated. */
        surrogate: z.record(z.string(), z.unknown()).optional(),
        /** Which candidates get physics when a surrogate is on (docs/surrogates.md). */
        acquisition: z.enum(['uncertainty', 'ei', 'ucb'], { error: 'expected "uncertainty", "ei" or "ucb"' }).default('uncertainty'),
        /** Retrain the surrogate after this many new physics results. */
        retrainEvery: int(1).default(8),
        /**
         * Twin realisations per simulated candidate (issue #13, docs/uncertainty.md): `min` each,
         * up to `max` where the top of the ranking is uncertain. No zod default, so configs stored
         * before it keep their hash; the predictor's default is { min: 2, max: 4 }.
         */
        realisations: z
          .object({ min: int(1, 64), max: int(1, 64) })
          .strict()
          .refine((r) => r.max >= r.min, { error: 'max must be >= min' })
          .optional(),
        /** Representative-volume check: warn when a property's CV over realisations exceeds this (default 0.2). */
        rveMaxCv: num().positive().optional(),
        /**
         * Twin campaigns: how many candidates the P-model scores in the first round, before any
         * rig run — a digital screening of the space, so that the first rig runs already go where
         * the (corrected) twin expects the real optimum (issue #13, docs/multifidelity.md). Later
         * rounds score `agent.candidates`. Omit: the first round is like the others.
         */
        screen: int(1, 100_000).optional(),
        context: z.record(z.string(), num()).optional().describe('operating conditions for device models'),
      })
      .strict()
      .optional(),
    reward: z.string().optional().describe('mathjs expression over property and parameter names'),
    objectives: z.array(objectiveSchema).min(1).optional(),
    outcomeConstraints: z.array(outcomeConstraintSchema).optional().describe('properties that must stay in a range (multi-objective campaigns)'),
    agent: z
      .object({
        name: z.string({ error: 'expected an agent name' }),
        /** Proposals per round in the digital space. */
        candidates: int(1, 100_000).default(16),
        /** Candidates sent to rigs per round. */
        batchSize: int(1, 1000).default(4),
        options: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    rigs: z
      .object({
        /** Capabilities each selected trial passes through, in order. */
        pipeline: z.array(z.string().min(1)).min(1, { error: 'expected at least one capability' }),
        /** Properties the rigs measure (the last stage's measurements must include them). */
        measure: z.array(ident).default([]),
        approval: z.boolean().default(false),
        timeout: duration.default('10m'),
        maxAttempts: int(1, 20).default(3),
        /** Simulated rigs started in-process (the demo); omit for real rigs. */
        simulate: z
          .object({
            rigs: z.array(simRigSchema).min(1),
            /** How the hidden truth differs from the P-model (relative bias per property, noise). */
            bias: z.record(z.string(), num()).default({}),
            noise: z.number().min(0).default(0.02),
            infeasibleAbove: z.record(z.string(), num()).default({}).describe('parameter → value above which manufacture fails'),
            /** true: the rigs run in another process (`poreloop lab <config>`), not inside the campaign. */
            external: z.boolean().default(false),
            /**
             * Issue #20: `durability` jobs become cycling tests with a degradation time series
             * (robots/sim/durability.ts; a rig's latencyMs is then one full planned test).
             */
            durability: z
              .object({
                cycles: int(20).optional().describe('planned length of a test in cycles (default 2000)'),
                reportEvery: int(1).optional().describe('cycles between intermediate measurements (default 10)'),
              })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    budget: z
      .object({
        rigRuns: int(1).describe('trials sent to rigs, in total'),
        wallTime: duration.optional(),
        rounds: int(1).optional(),
        failures: int(0).default(10).describe('failed rig jobs tolerated before the campaign fails'),
      })
      .strict(),
    /**
     * How rounds meet the rigs (issue #21, docs/async.md): `sync` (the default) waits for the
     * whole batch before proposing again; `async` keeps up to agent.batchSize trials in flight
     * and gives a freed rig the next candidate at once, the agent proposing with the pending
     * trials taken into account. No zod default, so configs stored before it keep their hash.
     * `warmup` (async only): no freed slot gets a new trial until this many trials have ended,
     * so the model's first picks are not made from a handful of results while the rest of the
     * first batch runs (docs/async.md: half the batch needed fewer rig runs than sync and than
     * plain async on development seeds); 0 or absent: refill at once. A positive warmup without
     * `mode: async` is an error, not silently ignored (#21 review): a synchronous round already
     * waits for its whole batch, so the setting would do nothing while its author believed it did.
     */
    loop: z
      .object({
        mode: z.enum(['sync', 'async'], { error: 'expected "sync" or "async"' }).optional(),
        warmup: int(0).optional().describe('async only: trials that must end before a freed rig slot is refilled (the model\'s first picks wait for that many results); 0: at once; a positive value without mode async is an error'),
      })
      .strict()
      .superRefine((loop, ctx) => {
        if ((loop.warmup ?? 0) > 0 && loop.mode !== 'async') {
          ctx.addIssue({
            code: 'custom',
            path: ['warmup'],
            message: `loop.warmup (${loop.warmup}) applies only to asynchronous campaigns: set loop.mode: async, or remove loop.warmup (a synchronous round already waits for its whole batch)`,
          });
        }
      })
      .optional(),
    stop: z
      .object({
        noImprovementRounds: int(1).optional(),
        targetReward: num().optional(),
      })
      .strict()
      .default({}),
    broker: z
      .union([brokerUrl, z.object({ url: brokerUrl, protocol: brokerProtocol.optional() }).strict()], { error: 'expected "embedded", a broker URL, or { url, protocol: auto | 4 | 5 }' })
      .default('embedded')
      .describe('"embedded" or mqtt://, mqtts://, ws://, wss://host:port (credentials from the environment), or { url, protocol }'),
    /**
     * Where physics runs (issue #21): `local` worker threads (the default), or `mqtt`: the
     * compute workers (`poreloop worker`) on the campaign's broker, which must speak MQTT 5.
     */
    exec: z.enum(['local', 'mqtt'], { error: 'expected "local" or "mqtt"' }).optional().describe('local worker threads, or mqtt: `poreloop worker` processes on the broker'),
    artifacts: z.string().optional().describe('folder for models and volumes (default: next to the ledger)'),
    /**
     * Earlier measurements that enter the campaign as real observations before its first round
     * (issue #19, docs/import.md): a CSV with a header of parameter names, measured property
     * names and optionally `feasible`; each row is recorded as ObservationImported with its file,
     * sha256 and row number.
     */
    warmStart: z.object({ csv: z.string().min(1) }).strict().optional().describe('CSV of earlier measurements (parameters + measured properties) imported as rig-fidelity observations'),
    /**
     * Issue #20 (docs/configuration.md, docs/rig-protocol.md §12): durability tests stopped after
     * the early window of the early-life model in `model`, whose EOL prediction (fidelity
     * `early-life`, with σ) then stands in for the unmeasured `eol` — never as a measurement.
     */
    durability: z
      .object({
        stage: z.string().min(1).default('durability').describe('the pipeline capability that runs durability tests'),
        model: z.string({ error: 'expected the folder of a saved early-life model (EolSurrogate.save), relative to the config file' }).min(1),
        earlyStop: z.boolean().default(true).describe('stop every test after the early window the model reads (false: only tests cut at their planned length get an estimate)'),
      })
      .strict()
      .optional(),
    /**
     * Issue #17 (docs/stages.md): stage-wise trials with `agent: { name: ppo-stages }`. Each
     * rigs.pipeline capability is one stage of the twin's process model; the stage policy sets
     * stage k + 1 after the rig's measurement of stage k.
     */
    stages: z
      .object({
        twin: z.string().min(1).describe('the twin whose stage-by-stage process model the policy acts in (grain-electrode, sofc-anode)'),
        target: z.record(z.string(), num()).describe('the specification of the finished structure (descriptors of the last stage, e.g. { porosity: 0.3 }): the policy is conditioned on it and the reward reads it as target_<name>'),
        variability: z.record(z.string(), num()).optional().describe("the spreads the P-model assumes per varying quantity (default: the twin's)"),
        infeasibleReward: num().default(-2).describe('reward of a structure a stage could not make'),
        correction: z.enum(['linear', 'offset', 'none']).default('linear').describe('discrepancy model of the reality correction'),
        simulate: z
          .object({ variability: z.record(z.string(), num()).optional().describe("the simulated rigs' process spreads (default: the twin's)") })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((c) => c.reward !== undefined || c.objectives !== undefined, { error: 'give either "reward" (an expression) or "objectives"', path: ['reward'] })
  .refine((c) => !c.durability || c.rigs.pipeline.includes(c.durability.stage), { error: 'durability.stage must be one of rigs.pipeline', path: ['durability', 'stage'] })
  .refine((c) => c.predict?.screen === undefined || c.twin !== undefined, { error: 'screening needs a twin to simulate the candidates: add a "twin" or remove predict.screen', path: ['predict', 'screen'] })
  .refine((c) => c.exec !== 'mqtt' || brokerSetting(c).url !== 'embedded', {
    error: 'compute workers need an MQTT 5 broker with shared subscriptions (Mosquitto 2, EMQX, HiveMQ): set broker to its URL; the embedded broker (aedes) speaks only MQTT 3.1.1',
    path: ['exec'],
  })
  .refine((c) => c.exec !== 'mqtt' || brokerSetting(c).url === 'embedded' || brokerSetting(c).protocol !== 4, { error: 'compute workers need MQTT 5: broker.protocol 4 cannot carry them', path: ['exec'] });

/**
 * The broker a campaign connects to and the MQTT version it asks for: the embedded broker
 * speaks only 3.1.1 (4); a URL without a protocol means auto (5 where the broker speaks it).
 */
export function brokerSetting(c: { broker: string | { url: string; protocol?: 'auto' | 4 | 5 } }): { url: string; protocol: 'auto' | 4 | 5 } {
  const b = typeof c.broker === 'string' ? { url: c.broker } : c.broker;
  return { url: b.url, protocol: b.protocol ?? (b.url === 'embedded' ? 4 : 'auto') };
}

export type CampaignConfig = z.infer<typeof campaignSchema>;
export type CampaignInput = z.input<typeof campaignSchema>;

export function campaignJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(campaignSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...js, $id: 'https://poreloop.dev/schema/campaign.schema.json', title: 'poreloop campaign' };
}
