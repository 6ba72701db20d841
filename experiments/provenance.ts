/**
 * What a benchmark records about its run: the commit and a one-line machine description
 * (issue #20 benches; the older benches spell the same inline).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** Short hash of HEAD, or 'unknown' outside a git checkout. */
export function commitHash(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** CPU model · cores · memory · Node version. */
export function machineLine(): string {
  return `${cpus()[0]?.model ?? 'unknown'} · ${availableParallelism()} cores · ${(totalmem() / 2 ** 30).toFixed(1)} GiB · Node ${process.version}`;
}
