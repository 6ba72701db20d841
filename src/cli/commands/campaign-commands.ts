import type { CommandModule } from 'yargs';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';
import type { CampaignArgs, ExportArgs, OperatorArgs, OperatorName, RunArgs } from './campaign.js';

/**
 * The yargs definitions of the campaign commands of issue #2: run, resume, status, export,
 * stop, pause, approve, reject. What they do is in campaign.ts, imported when one of them runs,
 * so that `poreloop --help` and the other commands start without the ledger, the reward
 * expressions and the physics (the start-up measurements: experiments/results/cli-start.md).
 */
const body = () => import('./campaign.js');

export const runCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, RunArgs> => ({
  command: 'run <config>',
  describe: 'run a campaign from a YAML config file',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'campaign YAML file' })
      .option('seed', { type: 'number', describe: 'override the seed' })
      .option('broker', { type: 'string', describe: '"embedded" or mqtt://host:port' })
      .option('set', { type: 'string', array: true, describe: 'override a config value: path=value (repeatable)' }) as never,
  handler: commandHandler(ctx, async (args, out) => (await body()).run(args, out)),
});

export const resumeCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, CampaignArgs> => ({
  command: 'resume <campaignId>',
  describe: 'continue a stopped or killed campaign from its ledger, or a paused one (poreloop pause)',
  builder: (y) => y.positional('campaignId', { type: 'string', demandOption: true, describe: 'campaign id (or a unique prefix)' }) as never,
  handler: commandHandler(ctx, async (args, out) => (await body()).resume(args, out)),
});

export const statusCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs & { campaignId?: string }> => ({
  command: 'status [campaignId]',
  describe: 'list campaigns, or show one campaign',
  builder: (y) => y.positional('campaignId', { type: 'string', describe: 'campaign id (or a unique prefix)' }) as never,
  handler: commandHandler(ctx, async (args, out) => (await body()).status(args, out)),
});

export const exportCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, ExportArgs> => ({
  command: 'export <campaignId>',
  describe: 'export every trial with parameters, predictions, measurements and provenance',
  builder: (y) =>
    y
      .positional('campaignId', { type: 'string', demandOption: true })
      .option('format', { choices: ['csv', 'json'], default: 'csv', describe: 'output format' })
      .option('out', { type: 'string', describe: 'write to this file instead of stdout' }) as never,
  handler: commandHandler(ctx, async (args, out) => (await body()).exportTrials(args, out)),
});

/** Operator commands go through the ledger: the running campaign polls it (no extra channel). */
function operatorCommand(name: OperatorName, describe: string) {
  return (ctx: CommandContext): CommandModule<GlobalArgs, OperatorArgs> => ({
    command: `${name} <campaignId>`,
    describe,
    builder: (y) => {
      const b = y.positional('campaignId', { type: 'string', demandOption: true });
      // Per-trial decisions from the terminal, as the dashboard makes them (issue #18).
      return (name === 'approve'
        ? b
            .option('reject', { type: 'string', array: true, describe: 'a trial of the batch that does not go to the rigs (repeatable)' })
            .option('edit', { type: 'string', array: true, describe: 'change a trial\'s parameter before it goes: trialId:name=value (repeatable)' })
        : b) as never;
    },
    handler: commandHandler(ctx, async (args, out) => (await body()).operate(name, args, out)),
  });
}

export const stopCommandModule = operatorCommand('stop', 'stop a running campaign cleanly (it records its state first)');
export const pauseCommandModule = operatorCommand('pause', 'pause a running campaign at the end of its round ("poreloop resume" continues it)');
export const approveCommandModule = operatorCommand('approve', 'approve the batch waiting at the approval gate (--reject/--edit single trials)');
export const rejectCommandModule = operatorCommand('reject', 'reject the batch waiting at the approval gate');
