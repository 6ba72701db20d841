import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';

/**
 * `poreloop broker` (issue 7): the embedded MQTT 3.1.1 broker (aedes) as a process of its own,
 * for labs without Mosquitto. Runs until SIGINT/SIGTERM. With --persist, retained rig status and
 * queued QoS 1 messages of persistent sessions survive a restart.
 */

interface BrokerArgs extends GlobalArgs {
  port: number;
  host: string;
  persist?: string;
  users?: string;
}

/** Resolves with the name of the first SIGINT/SIGTERM (in-process tests may emit them). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = () => on('SIGINT');
    const onTerm = () => on('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

export const brokerCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, BrokerArgs> => ({
  command: 'broker',
  describe: 'run the embedded MQTT broker (MQTT 3.1.1) until Ctrl-C',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 1883, describe: 'TCP port (0 = any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on (0.0.0.0 for all)' })
      .option('persist', { type: 'string', describe: 'directory for retained messages and persistent sessions' })
      .option('users', { type: 'string', describe: 'file of username:password lines: require login and apply the rig ACL (docs/security.md)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new BadInputError(`port must be an integer in 0…65535, got ${args.port}`, '--port');
    const { readBrokerUsers, startEmbeddedBroker } = await import('../../compose/rigs.js');
    // Without --users the broker is open to whoever reaches it (docs/security.md).
    const users = args.users === undefined ? undefined : readBrokerUsers(args.users);
    let broker;
    try {
      broker = await startEmbeddedBroker({ port: args.port, host: args.host, persistenceDir: args.persist, users });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new BadInputError(`port ${args.port} in use on ${args.host}; choose another --port`, '--port');
      if (code === 'EACCES') throw new BadInputError(`not allowed to listen on ${args.host}:${args.port} (EACCES: ports below 1024 need privileges); choose another --port`, '--port');
      throw e;
    }
    // Only now: signal handlers installed before a failed start kept SIGTERM from ending it (issue #14).
    const stop = untilSignal();
    out.info(`poreloop broker listening at ${broker.url}${args.persist ? ` (persisting to ${args.persist})` : ''}${users ? `; login required (${Object.keys(users).length} users) and the rig ACL applies` : '; open: no login'}; Ctrl-C to stop`);
    const signal = await stop;
    await broker.close();
    out.info(`stopped on ${signal}`);
    out.result({ url: broker.url, port: broker.port, persist: args.persist ?? null, stoppedBy: signal });
  }),
});
