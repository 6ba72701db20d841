import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { ParetoReport } from '../../compose/pareto.js';
import type { CommandContext } from '../context.js';
import { commandHandler, withLedger, type GlobalArgs, type Output } from '../common.js';

/**
 * Multi-objective campaigns in the CLI (issue #16): the Pareto front in the summary and
 * `status`, and `poreloop pick <campaign> <trial>`, which records the trade-off a person
 * chose as a TradeOffPicked document (who, when, the trial's objective values, whether it was
 * on the measured front). Picking does not change the campaign; it names its result.
 */

const fmt = (v: number) => (Number.isFinite(v) ? Number(v).toPrecision(4) : '—');
const short = (id: string) => id.split('-').slice(-2).join('-');

/** The measured front (and the size of the predicted one), the hypervolume history, the picks. */
export function printPareto(out: Output, p: ParetoReport | null): void {
  if (!p) return;
  const names = p.objectives.map((o) => `${o.name} (${o.goal}${o.unit ? `, ${o.unit}` : ''})`);
  out.info('');
  out.info(`Pareto front of the measured trials: ${p.measured.length} trial${p.measured.length === 1 ? '' : 's'} · objectives ${names.join(', ')}`);
  const picked = new Set(p.picked.map((x) => x.trialId));
  for (const f of p.measured) out.info(`  ${picked.has(f.trialId) ? '*' : ' '} ${short(f.trialId).padEnd(8)} ${f.values.map((v, i) => `${p.objectives[i].name} ${fmt(v)}`).join('  ')}`);
  if (p.measured.length === 0) out.info(`  (${emptyFrontReason(p)})`);
  out.info(`predicted front (P-model estimates of every scored trial): ${p.predicted.length} trial${p.predicted.length === 1 ? '' : 's'}`);
  if (p.hypervolume.length > 0) {
    out.info(`dominated hypervolume by round (normalised to the measured range; reference ${p.reference.map(fmt).join(', ')}): ${p.hypervolume.map((h) => `${h.round}: ${h.hypervolume.toFixed(3)}`).join(' · ')}`);
  }
  for (const x of p.picked) out.info(`picked ${x.trialId} by ${x.by} at ${x.at}${x.onFront ? '' : ' (not on the measured front)'}${x.note ? `: ${x.note}` : ''}`);
}

/**
 * Why the measured front is empty. When an objective or a constrained property has no measured
 * value in any completed trial, that is the reason, by name — blaming thresholds sent the
 * operator the wrong way while the rigs did not measure it (dashboard review, 2026-12-07).
 */
function emptyFrontReason(p: ParetoReport): string {
  if (p.unmeasured.length === 0) return 'no completed trial meets every threshold and constraint yet';
  const names = p.unmeasured.join(', ');
  return `no completed trial has a measured ${names}: the rigs do not report ${p.unmeasured.length === 1 ? 'it' : 'them'} (rigs.measure), and a prediction never counts as a measurement; measure ${names} to get a measured front`;
}

interface PickArgs extends GlobalArgs {
  campaignId: string;
  trialId: string;
  note?: string;
}

export const pickCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, PickArgs> => ({
  command: 'pick <campaignId> <trialId>',
  describe: 'record the trade-off chosen from a multi-objective campaign (a trial of its Pareto front)',
  builder: (y) =>
    y
      .positional('campaignId', { type: 'string', demandOption: true, describe: 'campaign id (or a unique prefix)' })
      .positional('trialId', { type: 'string', demandOption: true, describe: 'trial id, or its ending as printed (e.g. r3-2)' })
      .option('note', { type: 'string', describe: 'why this trade-off' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const { paretoOf } = await import('../../compose/pareto.js');
    return withLedger(args.db, async (ledger) => {
      const c = ledger.requireCampaign(args.campaignId, args.db);
      const report = paretoOf(ledger, c.id);
      if (!report) throw new BadInputError(`campaign ${c.id} has fewer than two objectives: there is no trade-off to pick`, 'campaignId');
      const trials = ledger.trials(c.id).filter((t) => t.id === args.trialId || t.id.endsWith(`-${args.trialId}`));
      if (trials.length !== 1) {
        const front = report.measured.map((f) => short(f.trialId)).join(', ') || 'none yet';
        throw new BadInputError(`${trials.length === 0 ? 'no' : 'more than one'} trial "${args.trialId}" in campaign ${c.id}; the measured front: ${front}`, 'trialId');
      }
      const t = trials[0];
      if (t.status !== 'completed' || t.feasible !== true) {
        throw new BadInputError(`trial ${t.id} is ${t.status}${t.feasible === false ? ' (infeasible)' : ''}: only a measured trial is a trade-off`, 'trialId');
      }
      // The trade-off is recorded as measured: a predicted value never stands in for an
      // objective the rigs did not measure (dashboard review, 2026-12-07); it is named instead.
      const all: Record<string, number | string> = { ...t.params, ...(t.measured ?? {}) };
      const values = Object.fromEntries(report.objectives.map((o): [string, number] => [o.name, Number(all[o.name])]).filter(([, v]) => Number.isFinite(v)));
      const unmeasured = report.objectives.map((o) => o.name).filter((n) => !(n in values));
      const onFront = report.measured.some((f) => f.trialId === t.id);
      const by = process.env.USER ?? 'operator';
      ledger.append(c.id, 'TradeOffPicked', { trialId: t.id, values, onFront, by, ...(args.note ? { note: args.note } : {}) });
      const why = unmeasured.length ? ` (${unmeasured.join(', ')} not measured)` : '';
      out.info(`picked ${t.id} for campaign ${c.id}: ${Object.entries(values).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}${onFront ? '' : ` — note: not on the measured Pareto front${why}`}`);
      out.result({ campaignId: c.id, trialId: t.id, values, onFront, by });
    }, { readonly: false });
  }),
});
