import { randomUUID } from 'node:crypto';
import type { Argv, CommandModule } from 'yargs';
import { brokerUrlProblem } from '../../core/broker-url.js';
import { BadInputError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import type { AdminCommand, AdminCommandName, FaultSpec, StatusMessage } from '../../compose/rigs.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';
import { untilSignal } from './broker.js';

/**
 * `poreloop rig …` (issue 7): simulated rigs, the lab's rig list, admin commands and the
 * protocol's JSON Schemas. Broker credentials come from the environment
 * (PORELOOP_MQTT_USERNAME / _PASSWORD / _PASSWORD_FILE / _CA / _CERT / _KEY; docs/security.md).
 *
 * `rig simulate` rigs measure the analytic stand-in truth of robots/sim/truth.ts: the CLI has
 * no campaign (and may not import twins), so the twin + physics truth of a campaign is wired
 * by the composition root when a campaign config asks for simulated rigs.
 */

/** The rig protocol, its MQTT client and the simulated rigs (mqtt, ajv, …): loaded by the command that runs. */
const loadRigs = () => import('../../compose/rigs.js');
/** Names, topics and schemas only: no broker, no MQTT client (experiments/results/cli-start.md). */
const loadProtocol = () => import('../../compose/rig-protocol.js');

interface LabArgs extends GlobalArgs {
  broker: string;
  lab: string;
}

const withLab = <T>(y: Argv<T>) =>
  y
    .option('broker', { type: 'string', default: process.env.PORELOOP_MQTT_URL ?? 'mqtt://127.0.0.1:1883', describe: 'MQTT broker URL (default $PORELOOP_MQTT_URL)' })
    .option('lab', { type: 'string', default: 'default', describe: 'lab name (topic root poreloop/v1/<lab>/)' });

async function checkLab(args: LabArgs): Promise<void> {
  const problem = brokerUrlProblem(args.broker);
  if (problem) throw new BadInputError(problem, '--broker');
  const { assertName } = await loadProtocol();
  try {
    assertName('lab', args.lab);
  } catch (e) {
    throw new BadInputError((e as Error).message, '--lab');
  }
}

const FAULTS: ReadonlyArray<keyof FaultSpec> = ['drop', 'hang', 'crashMidJob', 'duplicateEvents', 'lateAfterTimeout', 'malformed'];

export function parseFaults(s: string | undefined): FaultSpec {
  const out: FaultSpec = {};
  for (const part of (s ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const [k, v] = part.split('=');
    const p = Number(v);
    if (!FAULTS.includes(k as keyof FaultSpec)) throw new BadInputError(`unknown fault "${k}"; allowed: ${FAULTS.join(', ')}`, '--faults');
    if (!(p >= 0 && p <= 1)) throw new BadInputError(`probability of ${k} must be in [0, 1], got "${v}"`, '--faults');
    out[k as keyof FaultSpec] = p;
  }
  return out;
}

interface SimulateArgs extends LabArgs {
  count: number;
  capabilities: string;
  seed: number;
  prefix: string;
  latency: number;
  concurrency: number;
  noise: number;
  faults?: string;
  'state-dir'?: string;
}

const simulateCommand = (ctx: CommandContext): CommandModule<GlobalArgs, SimulateArgs> => ({
  command: 'simulate',
  describe: 'run N simulated rigs against a broker until Ctrl-C',
  builder: (y) =>
    withLab(y)
      .option('count', { type: 'number', default: 1, describe: 'number of rigs' })
      .option('capabilities', { type: 'string', default: 'fabricate,characterise', describe: 'comma-separated capabilities of every rig' })
      .option('seed', { type: 'number', default: 1 })
      .option('prefix', { type: 'string', default: 'sim', describe: 'rig ids are <prefix>-1 … <prefix>-N' })
      .option('latency', { type: 'number', default: 500, describe: 'mean job duration in ms (lognormal, sd 30 %)' })
      .option('concurrency', { type: 'number', default: 1, describe: 'jobs per rig at a time' })
      .option('noise', { type: 'number', default: 0, describe: 'relative measurement noise (sd)' })
      .option('faults', { type: 'string', describe: 'fault probabilities, e.g. drop=0.05,hang=0.02 (drop, hang, crashMidJob, duplicateEvents, lateAfterTimeout, malformed)' })
      .option('state-dir', { type: 'string', describe: 'keep each rig’s record of finished jobs here' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    await checkLab(args);
    const [{ assertName }, { createSimulatedLab, redact }] = await Promise.all([loadProtocol(), loadRigs()]);
    if (!Number.isInteger(args.count) || args.count < 1 || args.count > 10_000) throw new BadInputError(`must be an integer in 1…10000, got ${args.count}`, '--count');
    if (!(args.latency >= 0)) throw new BadInputError(`must be ≥ 0 ms, got ${args.latency}`, '--latency');
    if (!Number.isInteger(args.concurrency) || args.concurrency < 1) throw new BadInputError(`must be a positive integer, got ${args.concurrency}`, '--concurrency');
    const capabilities = args.capabilities.split(',').map((c) => c.trim()).filter(Boolean);
    for (const c of [...capabilities, `${args.prefix}-1`]) {
      try {
        assertName('name', c);
      } catch (e) {
        throw new BadInputError((e as Error).message, c.startsWith(args.prefix) ? '--prefix' : '--capabilities');
      }
    }
    const faults = parseFaults(args.faults);
    const stop = untilSignal();
    const lab = await createSimulatedLab({
      brokerUrl: args.broker,
      lab: args.lab,
      seed: createRng(args.seed).seed,
      stateDir: args['state-dir'],
      rigs: Array.from({ length: args.count }, (_, i) => ({
        id: `${args.prefix}-${i + 1}`,
        capabilities,
        concurrency: args.concurrency,
        latencyMs: { dist: 'lognormal' as const, mean: args.latency, sd: 0.3 * args.latency },
        noise: args.noise,
        faults,
      })),
      onProblem: (rig, m) => out.log(`${rig}: ${m}`),
    });
    out.info(`${args.count} simulated rig(s) ${lab.rigs.map((r) => r.id).join(', ')} with [${capabilities.join(', ')}] online at ${redact(args.broker)} lab ${args.lab}; Ctrl-C to stop`);
    const signal = await stop;
    await lab.stop();
    const log = lab.log();
    out.info(`stopped on ${signal} after ${log.length} job(s)`);
    out.result({ rigs: lab.rigs.map((r) => r.id), capabilities, lab: args.lab, jobs: log.length, outcomes: countBy(log.map((e) => e.outcome ?? 'running')), stoppedBy: signal });
  }),
});

function countBy(xs: string[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const x of xs) o[x] = (o[x] ?? 0) + 1;
  return o;
}

interface ListArgs extends LabArgs {
  wait: number;
}

const listCommand = (ctx: CommandContext): CommandModule<GlobalArgs, ListArgs> => ({
  command: 'list',
  describe: 'list the rigs of a lab from their retained status',
  builder: (y) => withLab(y).option('wait', { type: 'number', default: 500, describe: 'ms to collect retained status messages' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    await checkLab(args);
    const { connectMqtt, parseMessage, redact, topicsFor } = await loadRigs();
    const topics = topicsFor(args.lab);
    const t = await connectMqtt({ url: args.broker, clientId: `poreloop-cli-${randomUUID().slice(0, 8)}`, clean: true });
    const rigs = new Map<string, StatusMessage>();
    try {
      await t.subscribe(topics.allStatus, (_topic, payload) => {
        const r = parseMessage('status', payload);
        if (r.ok) rigs.set(r.value.rigId, r.value);
      });
      await new Promise((r) => setTimeout(r, args.wait));
    } finally {
      await t.close();
    }
    const list = [...rigs.values()].sort((a, b) => a.rigId.localeCompare(b.rigId));
    for (const r of list) out.info(`${r.rigId.padEnd(24)} ${r.status.padEnd(12)} ${(r.capabilities ?? []).join(',').padEnd(32)} running ${r.running ?? 0}/${r.concurrency ?? 1}  ${r.at ?? ''}`);
    if (list.length === 0) out.info(`no rigs in lab ${args.lab} at ${redact(args.broker)}`);
    out.result({ lab: args.lab, rigs: list });
  }),
});

interface AdminArgs extends LabArgs {
  command: string;
  rig: string;
  job?: string;
  reason?: string;
  confirm: number;
}

/** The rig states that show a command carried out (rig-protocol.md §5: the status after it). */
const CONFIRMED_BY: Partial<Record<AdminCommandName, readonly StatusMessage['status'][]>> = {
  pause: ['paused'],
  'safety-stop': ['safety-stop'],
  resume: ['online', 'busy'],
};

const ADMIN: readonly AdminCommandName[] = ['pause', 'resume', 'cancel', 'stop', 'safety-stop'];

const adminCommand = (ctx: CommandContext): CommandModule<GlobalArgs, AdminArgs> => ({
  command: 'admin <command>',
  describe: 'send an admin command to a rig: pause, resume, cancel (--job), stop (--job: end a test early, keep its result), safety-stop',
  builder: (y) =>
    withLab(y)
      .positional('command', { type: 'string', demandOption: true, describe: ADMIN.join(' | ') })
      .option('rig', { type: 'string', demandOption: true, describe: 'rig id' })
      .option('job', { type: 'string', describe: 'jobId (cancel, stop)' })
      .option('reason', { type: 'string', describe: 'recorded by the rig' })
      .option('confirm', { type: 'number', default: 5000, describe: 'ms to wait for the broker to accept the command and (pause, resume, safety-stop) for the rig to report the commanded state; 0: send without confirming' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    await checkLab(args);
    // Diff review 2026-12-07, item 4: Math.max(0, …) made `--confirm abc` NaN and `--confirm -1`
    // 0, which silently turned confirmation off; a bad value is an input error instead.
    if (!(Number.isInteger(args.confirm) && args.confirm >= 0)) throw new BadInputError(`--confirm must be a whole number of ms, 0 or more (0: send without confirming), got ${String(args.confirm)}`, '--confirm');
    const { checkOutbound, connectMqtt, parseMessage, PROTOCOL_VERSION, topicsFor } = await loadRigs();
    if (!ADMIN.includes(args.command as AdminCommandName)) throw new BadInputError(`unknown admin command "${args.command}"; allowed: ${ADMIN.join(', ')}`, 'command');
    const topics = topicsFor(args.lab);
    let topic: string;
    try {
      topic = topics.admin(args.rig);
    } catch (e) {
      throw new BadInputError((e as Error).message, '--rig');
    }
    if ((args.command === 'cancel' || args.command === 'stop') && !args.job) throw new BadInputError(`${args.command} needs the jobId to ${args.command}`, '--job');
    const cmd: AdminCommand = {
      command: args.command as AdminCommandName,
      commandId: randomUUID(),
      ...(args.job ? { jobId: args.job } : {}),
      ...(args.reason ? { reason: args.reason } : {}),
      at: new Date().toISOString(),
      protocol: PROTOCOL_VERSION,
    };
    checkOutbound('admin', cmd);
    // Security review, finding 4: over MQTT 3.1.1 a broker whose ACL forbids the publish
    // (Mosquitto) acknowledges and drops it, and this printed "sent safety-stop" and exited 0.
    // MQTT 5 (when the broker speaks it, as campaigns choose) turns the refusal into a PUBACK
    // reason code, "Not authorized", and so into an error; and the rig's own status, read back,
    // is what says a pause / resume / safety-stop was carried out.
    const confirmMs = args.confirm;
    const t = await connectMqtt({ url: args.broker, clientId: `poreloop-cli-${randomUUID().slice(0, 8)}`, clean: true, protocolVersion: 'auto' });
    const expected = confirmMs > 0 ? CONFIRMED_BY[cmd.command] : undefined;
    let state: StatusMessage['status'] | undefined;
    let confirmed = false;
    const what = `${cmd.command} to ${args.rig}${args.job ? ` for job ${args.job}` : ''} (commandId ${cmd.commandId})`;
    try {
      if (expected) {
        await t
          .subscribe(topics.status(args.rig), (_topic, payload) => {
            const r = parseMessage('status', payload);
            if (r.ok && r.value.rigId === args.rig) state = r.value.status;
          })
          .catch((e: Error) => {
            throw new Error(`cannot read ${args.rig}'s status to confirm the command (not authorised to subscribe to ${topics.status(args.rig)}?), so it was not sent; --confirm 0 sends without confirming: ${e.message}`);
          });
      }
      const published = t.publish(topic, JSON.stringify(cmd), { qos: 1 });
      if (confirmMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        const acked = await Promise.race([published.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), confirmMs)))]).finally(() => clearTimeout(timer));
        // aedes closes the connection of a client that publishes where it may not: no PUBACK comes.
        if (!acked) throw new Error(`${what} was not acknowledged by the broker within ${confirmMs} ms (not authorised to publish on ${topic}?); the rig may not have received it`);
      } else await published;
      if (expected) {
        const until = Date.now() + confirmMs;
        while (!(confirmed = state !== undefined && expected.includes(state)) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      }
    } catch (e) {
      throw new Error(`could not send ${what}: ${(e as Error).message}`);
    } finally {
      await t.close();
    }
    if (expected && !confirmed) {
      throw new Error(
        `sent ${what}, but it is NOT confirmed: the rig's status is ${state ?? 'unknown (no status seen)'} after ${confirmMs} ms, not ${expected.join(' or ')}. ` +
          `The broker may have dropped the command (an ACL refusal is silent over MQTT 3.1.1), or the rig is offline or has not acted on it.`,
      );
    }
    out.info(expected ? `${cmd.command} confirmed: ${args.rig} reports ${state} (commandId ${cmd.commandId})` : `sent ${what}${confirmMs > 0 ? ', acknowledged by the broker' : ''}`);
    out.result({ topic, command: cmd, confirmed: expected ? true : null, status: state ?? null });
  }),
});

interface SchemaArgs extends GlobalArgs {
  kind?: string;
}

const schemaCommand = (ctx: CommandContext): CommandModule<GlobalArgs, SchemaArgs> => ({
  command: 'schema [kind]',
  describe: 'print the JSON Schema of a protocol message (job, event, status, admin, error)',
  builder: async (y) => y.positional('kind', { type: 'string', choices: Object.keys((await loadProtocol()).schemas) }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const { schemas } = await loadProtocol();
    const doc = args.kind ? schemas[args.kind as keyof typeof schemas] : schemas;
    if (args.json) out.result(doc);
    else out.info(JSON.stringify(doc, null, 2));
  }),
});

export const rigCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> => ({
  command: 'rig <command>',
  describe: 'robot rigs: simulate, list, admin, schema',
  builder: (y) =>
    y
      .command(simulateCommand(ctx) as CommandModule<GlobalArgs, never>)
      .command(listCommand(ctx) as CommandModule<GlobalArgs, never>)
      .command(adminCommand(ctx) as CommandModule<GlobalArgs, never>)
      .command(schemaCommand(ctx) as CommandModule<GlobalArgs, never>)
      .demandCommand(1, 'name a rig command: simulate, list, admin, schema') as never,
  handler: () => undefined,
});
