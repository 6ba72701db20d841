import { existsSync, statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { BadInputError } from '../../core/errors.js';
import type { CommandContext } from '../context.js';
import { commandHandler, withLedger, type GlobalArgs } from '../common.js';

/** `poreloop report <campaign> --out dir` (issue #18): a static HTML report with SVG and PNG plots. */
export const reportCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs & { campaignId: string; out: string }> => ({
  command: 'report <campaignId>',
  describe: 'write a self-contained HTML report of a campaign (plots as SVG and PNG, summary, config, provenance)',
  builder: (y) =>
    y
      .positional('campaignId', { type: 'string', demandOption: true, describe: 'campaign id (or a unique prefix)' })
      .option('out', { type: 'string', demandOption: true, describe: 'directory to write index.html and the plots into' }) as never,
  handler: commandHandler(ctx, (args, out) =>
    withLedger(args.db, async (ledger) => {
      const c = ledger.requireCampaign(args.campaignId, args.db);
      // An existing file was a raw "failed: EEXIST" (exit 1) from mkdir (dashboard review, 2026-12-07).
      if (existsSync(args.out) && !statSync(args.out).isDirectory()) {
        throw new BadInputError(`${args.out} is an existing file; --out names a folder (made when missing) for index.html and the plots`, '--out');
      }
      const { writeReport } = await import('../../report/report.js');
      const r = await writeReport(ledger, c.id, args.out);
      out.info(`wrote ${r.html} (${r.charts.map((x) => x.id).join(', ')} as SVG and PNG)`);
      out.result({ campaignId: c.id, html: r.html, charts: r.charts });
    }),
  ),
});
