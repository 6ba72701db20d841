import type { CommandModule } from 'yargs';
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
      const { writeReport } = await import('../../report/report.js');
      const r = await writeReport(ledger, c.id, args.out);
      out.info(`wrote ${r.html} (${r.charts.map((x) => x.id).join(', ')} as SVG and PNG)`);
      out.result({ campaignId: c.id, html: r.html, charts: r.charts });
    }),
  ),
});
