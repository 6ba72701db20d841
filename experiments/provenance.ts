/**
 * What a benchmark records about its run: the commit and a one-line machine description
 * (every bench; one place, so they all say the same).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: git runs there whatever the bench's working directory. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
import { availableParallelism, cpus, totalmem } from 'node:os';

let started: string | undefined;

/**
 * Short hash of HEAD, read once — at the first call, which every bench makes as it starts: the
 * code the process loaded, not a commit made while it ran — with "+dirty" when tracked code
 * differs from that commit (a bench runs the working tree through tsx, uncommitted edits
 * included; review of issue #16: a dev table named a commit whose code it did not run).
 * Results, docs and Markdown do not count, nor untracked files (a new module a run imports is
 * not seen: commit it before a run of record). 'unknown' outside a git checkout.
 */
export function commitHash(): string {
  if (started !== undefined) return started;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!experiments/results', ':!docs', ':!*.md'], { cwd: ROOT, encoding: 'utf8' }).trim();
    started = changed === '' ? head : `${head}+dirty`;
  } catch {
    started = 'unknown';
  }
  return started;
}

/** CPU model · cores · memory · Node version. */
export function machineLine(): string {
  return `${cpus()[0]?.model ?? 'unknown'} · ${availableParallelism()} cores · ${(totalmem() / 2 ** 30).toFixed(1)} GiB · Node ${process.version}`;
}
