import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { packageVersion } from '../core/version.js';
import { tolerateClosedPipes, withGlobals } from './common.js';
import { commands } from './commands/index.js';

/**
 * The `poreloop` command line (yargs). Each command is defined in src/cli/commands/ (index.ts lists them) and
 * returns its exit code through `ctx.exit`; this file only assembles them.
 * Exit codes (issue #2): 0 success, 2 bad input (config, arguments, files), 1 runtime failure.
 */
export async function main(argv: string[]): Promise<number> {
  tolerateClosedPipes();
  let exitCode = 0;
  const ctx = { exit: (code: number) => { exitCode = code; } };
  let parser = withGlobals(yargs(argv))
    .scriptName('poreloop')
    // poreloop's own version: yargs' guess is the host project's when poreloop is a dependency (library review).
    .version(packageVersion())
    .usage('$0 <command> [options]\n\nClosed-loop autonomous optimisation of porous energy materials.')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    // Throwing (not just recording exit 2) is what keeps the command's handler from running
    // after a usage error: with exitProcess(false) yargs otherwise goes on, so
    // `export --format xml` wrote CSV and `status --no-such-flag` exited 0 (issue #14).
    .fail((msg, e) => {
      throw e ?? new UsageError(msg);
    })
    .exitProcess(false);
  for (const make of commands) parser = parser.command(make(ctx) as CommandModule<object, never>);
  try {
    await parser.parseAsync();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`poreloop: error: ${e.message}\nRun "poreloop --help" for the commands and their options.\n`);
    return 2;
  }
  return exitCode;
}

/** A command line yargs refused (unknown flag, bad choice, missing argument): exit 2. */
class UsageError extends Error {}
