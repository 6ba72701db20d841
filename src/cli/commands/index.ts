import type { CommandModule } from 'yargs';
import type { CommandContext } from '../context.js';
import {
  approveCommandModule,
  exportCommandModule,
  pauseCommandModule,
  rejectCommandModule,
  resumeCommandModule,
  runCommandModule,
  statusCommandModule,
  stopCommandModule,
} from './campaign-commands.js';
import { twinCommandModule } from './twin.js';
import { analyseCommandModule } from './analyse-command.js';
import { volumeCommandModule } from './volume.js';
import { reconstructCommandModule } from './reconstruct.js';
import { brokerCommandModule } from './broker.js';
import { rigCommandModule } from './rig.js';
import { doctorCommandModule } from './doctor.js';
import { labCommandModule } from './lab.js';
import { pickCommandModule } from './pick.js';
import { reportCommandModule } from './report.js';
import { serveCommandModule } from './serve.js';
import { workerCommandModule } from './worker.js';

/**
 * Every CLI command, in --help order. Each factory returns a yargs CommandModule.
 * The modules imported here load only yargs' definitions of the commands (command, describe,
 * options) and small helpers; a command imports what it runs — the ledger, physics, TF.js,
 * MQTT, … — with `await import()` when its handler (or, for option lists that name twins or
 * schemas, its builder) runs. So `poreloop --help`, `--version` and a light command start in
 * a fraction of the time (experiments/results/cli-start.md); tests/cli-start.test.ts checks
 * which modules they load.
 */
export const commands: Array<(ctx: CommandContext) => CommandModule<any, any>> = [
  runCommandModule,
  resumeCommandModule,
  statusCommandModule,
  exportCommandModule,
  pickCommandModule,
  stopCommandModule,
  pauseCommandModule,
  approveCommandModule,
  rejectCommandModule,
  reportCommandModule,
  serveCommandModule,
  twinCommandModule,
  analyseCommandModule,
  volumeCommandModule,
  reconstructCommandModule,
  brokerCommandModule,
  rigCommandModule,
  labCommandModule,
  workerCommandModule,
  doctorCommandModule,
];
