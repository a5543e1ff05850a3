import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

// Work in progress: the scanner lands in the next commit.
export const scanCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'scan <dirs..>',
  describe: 'Scan folders and record their files in the catalog',
  handler: () => {
    throw new Error('scan: not implemented yet');
  },
};
