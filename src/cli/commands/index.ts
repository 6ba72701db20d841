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
} from './campaign.js';
import { twinCommandModule } from './twin.js';
import { analyseCommandModule } from './analyse.js';
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

/** Every CLI command, in --help order. Each factory returns a yargs CommandModule. */
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
