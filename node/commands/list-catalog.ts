import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';

// Work in progress: lands with the scanner.
const wip = (command: string, describe: string): CommandModule<GlobalArgs, GlobalArgs> => ({
  command,
  describe,
  handler: () => {
    throw new Error(`list ${command}: not implemented yet`);
  },
});
export const listDirsCommand = wip('dirs', 'List all scanned folders');
export const listBigfilesCommand = wip('bigfiles', 'List big files');
export const listFilesCommand = wip('files', 'List files not yet in any volume');
