import { availableParallelism } from 'node:os';
import type { CommandModule } from 'yargs';
import { brokerUrlProblem } from '../../core/broker-url.js';
import { BadInputError } from '../../core/errors.js';
import { NAME_PATTERN, NAME_RULE } from '../../core/names.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';
import { untilSignal } from './broker.js';

/**
 * `poreloop worker` (issue #21, docs/scale-out.md): a compute worker that takes physics, twin
 * and surrogate-training tasks from an MQTT 5 broker's shared subscription, for campaigns with
 * `exec: mqtt`.
 * Start as many as there are cores to spare, on as many machines as reach the broker.
 */
interface WorkerArgs extends GlobalArgs {
  broker: string;
  lab: string;
  kinds: string;
  concurrency?: number;
  id?: string;
}

export const workerCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, WorkerArgs> => ({
  command: 'worker',
  describe: 'serve compute tasks (physics, twin, surrogate training) from an MQTT 5 broker until Ctrl-C',
  builder: (y) =>
    y
      .option('broker', { type: 'string', demandOption: true, describe: 'MQTT 5 broker URL (Mosquitto 2, EMQX, HiveMQ; credentials from PORELOOP_MQTT_*)' })
      .option('lab', { type: 'string', default: 'default', describe: 'the campaigns\' lab (topic root poreloop/v1/<lab>/compute)' })
      .option('kinds', { type: 'string', default: 'physics,twin', describe: 'comma-separated: physics (simulate, tortuosity), twin (generate volumes), surrogate (fit the campaign\'s deep ensemble; the campaign loads the weights and predicts itself)' })
      .option('concurrency', { type: 'number', describe: 'tasks at once, each on its own thread (default: cores − 1, at least 1)' })
      .option('id', { type: 'string', describe: 'worker id (default: <host>-<pid>)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const problem = brokerUrlProblem(args.broker);
    if (problem) throw new BadInputError(problem, '--broker');
    if (!NAME_PATTERN.test(args.lab)) throw new BadInputError(`expected a lab name of ${NAME_RULE}`, '--lab');
    if (args.id !== undefined && !NAME_PATTERN.test(args.id)) throw new BadInputError(`expected a worker id of ${NAME_RULE}`, '--id');
    const concurrency = args.concurrency ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new BadInputError(`expected an integer from 1 to 256, got ${args.concurrency}`, '--concurrency');
    const { parseKinds, startComputeWorker } = await import('../../compose/compute-worker.js');
    const kinds = parseKinds(args.kinds);
    const worker = await startComputeWorker({ broker: args.broker, lab: args.lab, kinds, concurrency, workerId: args.id, log: (l) => out.log(l) });
    const stop = untilSignal();
    out.info(`poreloop worker ${worker.workerId}: ${kinds.join(', ')} × ${concurrency} on lab ${args.lab}; Ctrl-C to stop`);
    // A signal, or the worker stopped by itself: its session taken over by another with its --id.
    const signal = await Promise.race([stop, worker.lost]);
    await worker.stop();
    if (signal instanceof Error) throw signal;
    out.info(`stopped on ${signal} after ${worker.completed} tasks (${worker.failed} failed)`);
    out.result({ workerId: worker.workerId, completed: worker.completed, failed: worker.failed, stoppedBy: signal });
  }),
});
