import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

// Work in progress.
export const listCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  describe: 'List what the catalog knows',
  handler: () => {
    throw new Error('list: not implemented yet');
  },
};
