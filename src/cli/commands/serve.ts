import { isIP } from 'node:net';
import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';

/** `poreloop serve` (issue #18): the live dashboard over a ledger; docs/dashboard.md. */

interface ServeArgs extends GlobalArgs {
  port: number;
  host: string;
  readOnly: boolean;
  allowedHost: string[];
  maxStreams?: number;
  maxStreamsPerAddress?: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const serveCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, ServeArgs> => ({
  command: 'serve',
  describe: 'web dashboard of the campaigns in a ledger, live while they run (http://127.0.0.1:8080/)',
  builder: (y) =>
    y
      .option('port', { type: 'number', default: 8080, describe: 'TCP port (0: any free port)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on; anything but loopback exposes the dashboard to the network' })
      .option('read-only', { type: 'boolean', default: false, describe: 'refuse every write action (approve, pause, stop…), print no token' })
      .option('allowed-host', { type: 'string', array: true, default: [], describe: 'another name the dashboard answers to (Host header), with any port, e.g. a DNS name of this machine or a reverse proxy\'s (name or name:port); repeatable' })
      // No yargs defaults: the server's STREAM_LIMITS apply (the server module loads only when serve runs).
      .option('max-streams', { type: 'number', describe: 'live event streams (one per dashboard tab) open at once, all clients together [default: 64]' })
      .option('max-streams-per-address', { type: 'number', describe: 'live event streams open at once from one client address; 0: no such cap (behind a reverse proxy every browser has the proxy\'s address) [default: 8]' })
      .epilogue('Write actions (approve/edit/reject a waiting batch, pause, resume, stop) need the token printed at start-up.') as never,
  handler: commandHandler(ctx, async (args, out) => {
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new BadInputError(`expected a port 0…65535, got ${args.port}`, '--port');
    const { startDashboard, parseHost } = await import('../../serve/server.js');
    // A host name or address, with or without a port (security review xss9, finding 3). The
    // port is accepted and not checked: the dashboard matches the name with any port, which is
    // what DNS-rebinding defence needs, and a proxy may send the name with or without one (diff
    // review 2026-12-07, item 2). Underscores too: Docker Compose service names (poreloop_dash)
    // are host names on their network, and os.hostname() with one is allowed automatically.
    for (const h of args.allowedHost) {
      const p = parseHost(h);
      if (!p || (isIP(p.name.replace(/^\[(.*)\]$/, '$1')) === 0 && !/^([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/i.test(p.name))) {
        throw new BadInputError(`expected a host name or IP address, with or without a port and without a scheme (e.g. dash.lab.example or dash.lab.example:443), got "${h}"`, '--allowed-host');
      }
    }
    if (args.maxStreams !== undefined && (!Number.isInteger(args.maxStreams) || args.maxStreams < 1)) throw new BadInputError(`expected a whole number ≥ 1, got ${args.maxStreams}`, '--max-streams');
    if (args.maxStreamsPerAddress !== undefined && (!Number.isInteger(args.maxStreamsPerAddress) || args.maxStreamsPerAddress < 0)) {
      throw new BadInputError(`expected a whole number ≥ 0 (0: no per-address cap), got ${args.maxStreamsPerAddress}`, '--max-streams-per-address');
    }
    const { trialVolume, checkTrialParams } = await import('../../compose/dashboard.js');
    let dash;
    try {
      dash = await startDashboard({ db: args.db, port: args.port, host: args.host, readOnly: args.readOnly, allowedHosts: args.allowedHost, streams: { ...(args.maxStreams !== undefined && { max: args.maxStreams }), ...(args.maxStreamsPerAddress !== undefined && { perAddress: args.maxStreamsPerAddress }) }, volumeOf: trialVolume, checkParams: checkTrialParams });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') throw new BadInputError(`port ${args.port} is in use; choose another with --port (0: any free port)`, '--port');
      if (err.code === 'EACCES') throw new BadInputError(`port ${args.port} needs privileges this process lacks; choose one above 1023 with --port (0: any free port)`, '--port');
      // An address no interface of this machine has, or a name that does not resolve (dashboard review, 2026-12-07: --host 999.1.1.1).
      if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        throw new BadInputError(`cannot listen on "${args.host}" (${err.code}): expected an address of this machine or a name that resolves to one, e.g. 127.0.0.1 (default), ::1 or 0.0.0.0`, '--host');
      }
      if (err.name === 'LedgerError') throw new BadInputError(err.message, '--db');
      throw e;
    }
    if (!LOOPBACK.has(args.host)) out.log(`warning: listening on ${args.host}: anyone who can reach this address can read the ledger${dash.token ? ' (writing still needs the token)' : ''}`);
    out.info(`poreloop dashboard for ${args.db} at ${dash.url}`);
    if (dash.token) {
      out.info(`write token (approve, pause, stop): ${dash.token}`);
      out.info(`open with writing enabled: ${dash.url}#token=${dash.token}`);
    } else out.info('read-only: write actions are refused');
    out.result({ url: dash.url, token: dash.token, db: args.db });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await dash.close();
  }),
});
