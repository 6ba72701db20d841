/**
 * What `poreloop reconstruct sam` and `reconstruct mps` share (issue #19): the checks of the
 * flags of the match report and the report's lines, so both methods are judged and printed alike.
 */
import { BadInputError } from '../../core/errors.js';
import type { MatchReport } from '../../reconstruct/report.js';
import { listFlag, type Output } from '../common.js';

/** --rmax (the longest lag of S2 / lineal path) and --transport (labels that carry transport for τ), checked. */
export function reportFlags(args: { rmax: number; transport: string | string[] }): { rmax: number; transport: number[] } {
  if (!Number.isInteger(args.rmax) || args.rmax < 1) throw new BadInputError(`expected an integer ≥ 1, got ${args.rmax}`, '--rmax');
  const transport = listFlag(args.transport).map(Number);
  if (transport.some((l) => !Number.isInteger(l) || l < 0 || l > 255)) throw new BadInputError(`expected labels 0…255, got "${String(args.transport)}"`, '--transport');
  return { rmax: args.rmax, transport };
}

/**
 * --transport names labels of the volume τ is measured on: a label that is not there gave
 * τ = Infinity on every axis with exit 0 (import review #5), like a mistyped
 * `gan train --condition-label`, which is refused the same way.
 */
export function checkTransport(transport: readonly number[], present: readonly number[], source: string): void {
  const absent = transport.filter((l) => !present.includes(l));
  if (absent.length === 0) return;
  throw new BadInputError(
    `label${absent.length > 1 ? 's' : ''} ${absent.join(', ')} ${absent.length > 1 ? 'do' : 'does'} not occur in ${source} (labels ${present.join(', ')}): name labels that are present, or --no-tau`,
    '--transport',
  );
}

/** The match report's lines: phase fractions, S2 and lineal-path errors per axis, τ per axis; `reference` names what was matched. */
export function printMatchReport(out: Output, report: MatchReport, phases: readonly number[], transport: readonly number[], reference: string): void {
  const axes = ['x', 'y', 'z'];
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '–');
  for (const p of phases) out.info(`  label ${p}: fraction ${report.fractions.generated[p].toFixed(4)} (${reference} ${report.fractions.reference[p].toFixed(4)})`);
  out.info(`  S2 error x/y/z: ${axes.map((a) => pct(report.s2Error[a])).join(' / ')}; lineal path: ${axes.map((a) => pct(report.lpError[a])).join(' / ')}`);
  const t = report.tau;
  if (t) out.info(`  τ (labels ${transport.join('+')}) x/y/z: ${axes.map((a) => t.generated[a].toFixed(3)).join(' / ')}${t.reference ? `; ${reference} ${axes.map((a) => t.reference![a].toFixed(3)).join(' / ')}` : ''}`);
}
