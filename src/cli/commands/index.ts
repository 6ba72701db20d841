import type { CommandModule } from 'yargs';
import type { CommandContext } from '../main.js';

/** Every CLI command, in --help order. Each factory returns a yargs CommandModule. */
export const commands: Array<(ctx: CommandContext) => CommandModule<any, any>> = [];
