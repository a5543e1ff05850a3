import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { listDirsCommand, listBigfilesCommand, listFilesCommand } from './list-catalog.js';
import { listIsoCommand } from './list-iso.js';
import { listGdriveCommand } from './list-gdrive.js';

/** `list <what>`: one subcommand module per thing listed. Add new ones to this array. */
const listCommands: CommandModule<any, any>[] = [listDirsCommand, listBigfilesCommand, listFilesCommand, listIsoCommand, listGdriveCommand];

export const listCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list <what>',
  describe: 'List scanned folders, files, volumes and cloud copies',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command(listCommands)
      .demandCommand(1, 'Say what to list.')
      .example('$0 list files', 'files not yet packed into a volume, with "In Cloud" Y/N')
      .example('$0 list bigfiles -s 1GB --json', 'files of 1 GB and more, as JSON'),
  handler: () => {},
};
