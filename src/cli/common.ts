import type { Argv } from 'yargs';
import { BadInputError, exitCodeFor } from '../core/errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { CommandContext } from './context.js';

/**
 * What every CLI command shares (issue #2): `--db <file>` (default ./poreloop.db) and `--json`
 * (exactly one JSON document on stdout, no decoration). Human output and logs go to stderr
 * when --json is set, so stdout stays machine-readable.
 */
export interface GlobalArgs {
  db: string;
  json: boolean;
}

export function withGlobals<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y
    .option('db', { type: 'string', default: './poreloop.db', describe: 'SQLite ledger file', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON document on stdout, no decoration', global: true }) as Argv<
    T & GlobalArgs
  >;
}

/** Where a command writes: human text, log lines, the final JSON document. */
export interface Output {
  readonly json: boolean;
  /** Human-readable line: stdout normally, stderr under --json. */
  info(line: string): void;
  /** Log line (progress, warnings): always stderr. */
  log(line: string): void;
  /** The one JSON document of a --json run (ignored otherwise). */
  result(doc: unknown): void;
}

export function createOutput(json: boolean, streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Output {
  return {
    json,
    info: (line) => (json ? streams.err : streams.out).write(line + '\n'),
    log: (line) => streams.err.write(line + '\n'),
    result: (doc) => {
      if (json) streams.out.write(JSON.stringify(doc, null, 2) + '\n');
    },
  };
}

let pipesTolerated = false;

/**
 * A reader that stops early (`poreloop twin list | head -3`) is not a failure (config review,
 * item 5): stdout's or stderr's EPIPE was an unhandled 'error' event — a stack trace and exit 1.
 * Now the output the reader no longer wants is dropped (a destroyed stream discards later
 * writes without another 'error') and the command finishes with its own exit code: 0 when it
 * succeeded, as `yes | head` is for the shell's `set -o pipefail`. Not SIGPIPE's 141: a script
 * with pipefail would fail on `poreloop export … | head`, and `run`/`resume` piped into a
 * reader would stop its campaign mid-round (the rigs' jobs in flight) for want of a log line.
 * Other write errors still throw. Once per process: main() runs many times in tests.
 */
export function tolerateClosedPipes(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  if (pipesTolerated) return;
  pipesTolerated = true;
  for (const s of streams)
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
}

/**
 * Runs a command body and turns its outcome into an exit code: 0 success, 2 bad input,
 * 1 runtime failure. The message says what was wrong; stack traces only with PORELOOP_DEBUG.
 */
export async function runCommand(out: Output, body: () => Promise<number | void>): Promise<number> {
  try {
    const code = await body();
    return code ?? 0;
  } catch (e) {
    const code = exitCodeFor(e);
    const msg = e instanceof Error ? e.message : String(e);
    if (out.json) {
      process.stdout.write(JSON.stringify({ error: msg, kind: code === 2 ? 'bad-input' : 'runtime' }) + '\n');
    }
    process.stderr.write(`poreloop: ${code === 2 ? 'error' : 'failed'}: ${msg}\n`);
    if (process.env.PORELOOP_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return code;
  }
}

/**
 * A command's yargs handler: makes its Output, runs `body` through runCommand and reports the
 * exit code to `ctx`, so each command says only what it does. The body imports what it runs
 * (`await import(…)`) when it runs: a command's module stays light for `--help` and for the
 * other commands (experiments/results/cli-start.md, tests/cli-start.test.ts).
 */
export function commandHandler<A extends GlobalArgs>(ctx: CommandContext, body: (args: A, out: Output) => Promise<number | void>): (args: A) => Promise<void> {
  return async (args) => {
    const out = createOutput(args.json);
    ctx.exit(await runCommand(out, () => body(args, out)));
  };
}

/** `--size n` (a cube) or `nx,ny,nz` (also `nxXnyXnz`), every side an integer ≥ 1. */
export function parseCubeSize(value: unknown, flag = '--size'): [number, number, number] {
  const sizes = String(value).split(/[,x×]/).map((s) => Number(s.trim()));
  const shape = sizes.length === 1 ? [sizes[0], sizes[0], sizes[0]] : sizes;
  if (shape.length !== 3 || shape.some((n) => !Number.isInteger(n) || n < 1)) throw new BadInputError(`expected n or nx,ny,nz, got "${String(value)}"`, flag);
  return [shape[0], shape[1], shape[2]];
}

/**
 * A flag given once, comma-separated, or repeated (`--props a --props b`, issue #19: yargs
 * hands a repeated string flag over as an array, which crashed with exit 1).
 */
export function listFlag(value: string | string[] | undefined): string[] {
  return [value ?? []].flat().flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Parses `name=value` pairs from repeated --set flags; numbers become numbers. */
export function parseSetFlags(sets: readonly string[] | undefined, flag = '--set'): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const s of sets ?? []) {
    const i = s.indexOf('=');
    if (i <= 0) throw new BadInputError(`expected name=value, got "${s}"`, flag);
    const name = s.slice(0, i).trim();
    const raw = s.slice(i + 1).trim();
    const n = Number(raw);
    out[name] = raw !== '' && Number.isFinite(n) ? n : raw;
  }
  return out;
}

/**
 * Runs `fn` on an existing ledger and closes it when `fn` (or the promise it returns) settles;
 * a missing or foreign file is bad input naming `--db` (exit 2). Read-only unless the command
 * writes (pick, approve, …). Asynchronous because the ledger (better-sqlite3, zod) is loaded
 * here, when a command opens it, and not when the CLI starts (experiments/results/cli-start.md).
 */
export async function withLedger<T>(db: string, fn: (ledger: Ledger) => T | Promise<T>, options: { readonly: boolean } = { readonly: true }): Promise<T> {
  const { Ledger } = await import('../ledger/ledger.js');
  let ledger: Ledger;
  try {
    ledger = Ledger.open(db, { readonly: options.readonly, mustExist: true });
  } catch (e) {
    throw new BadInputError((e as Error).message, '--db');
  }
  try {
    return await fn(ledger);
  } finally {
    ledger.close();
  }
}
