import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { withGlobals } from './common.js';
import { commands } from './commands/index.js';

/**
 * The `poreloop` command line (yargs). Each command lives in src/cli/commands/<name>.ts and
 * returns its exit code through `ctx.exit`; this file only assembles them.
 * Exit codes (issue #2): 0 success, 2 bad input (config, arguments, files), 1 runtime failure.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const ctx = { exit: (code: number) => { exitCode = code; } };
  let parser = withGlobals(yargs(argv))
    .scriptName('poreloop')
    .usage('$0 <command> [options]\n\nClosed-loop autonomous optimisation of porous energy materials.')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, e) => {
      if (e) throw e;
      process.stderr.write(`poreloop: error: ${msg}\nRun "poreloop --help" for the commands and their options.\n`);
      exitCode = 2;
    })
    .exitProcess(false);
  for (const make of commands) parser = parser.command(make(ctx) as CommandModule<object, never>);
  await parser.parseAsync();
  return exitCode;
}
