import { writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';

/**
 * `poreloop lab <config>`: runs a campaign config's simulated rigs (`rigs.simulate`, with its
 * hidden truth) as a process of their own, for campaigns whose config says
 * `rigs.simulate.external: true`. The reliability suite uses it so that killing the
 * orchestrator does not kill the rigs — as in a real lab — and compares the ledger with the
 * job log this command keeps (`--log`, JSON lines, rewritten as jobs arrive and at exit).
 */
interface LabArgs extends GlobalArgs {
  config: string;
  broker?: string;
  state?: string;
  log?: string;
}

export const labCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, LabArgs> => ({
  command: 'lab <config>',
  describe: "run a campaign config's simulated rigs on their own (until SIGINT/SIGTERM)",
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'campaign YAML file with rigs.simulate' })
      .option('broker', { type: 'string', describe: 'MQTT broker URL (default: the config\'s broker)' })
      .option('state', { type: 'string', describe: 'folder for the rigs\' records of finished jobs (default: next to the config)' })
      .option('log', { type: 'string', describe: 'write the rigs\' own job log here (JSON lines)' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const { loadCampaign, startCampaignLab } = await import('../../compose/campaign.js');
    const resolved = loadCampaign(args.config, { broker: args.broker });
    const { brokerSetting } = await import('../../config/schema.js');
    const broker = brokerSetting(resolved.config).url;
    if (broker === 'embedded') throw new Error('a lab process needs a broker URL (--broker mqtt://host:port); "embedded" lives inside a campaign');
    const stateDir = resolve(args.state ?? join(dirname(resolve(args.config)), 'rig-state'));
    const lab = await startCampaignLab(resolved, broker, stateDir, (rig, msg) => out.log(`${rig}: ${msg}`));
    const dump = () => {
      if (args.log) writeFileSync(args.log, lab.log().map((e) => JSON.stringify(e)).join('\n') + '\n');
    };
    const timer = setInterval(dump, 200);
    out.info(`lab ${resolved.config.lab}: ${lab.rigs.map((r) => r.id).join(', ')} on ${broker}`);
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    clearInterval(timer);
    await lab.stop();
    dump();
    out.result({ lab: resolved.config.lab, jobs: lab.log().length });
  }),
});
