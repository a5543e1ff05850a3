import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../context.js';
import { resolveCommands, type LazyCommand } from '../lazy-command.js';

/** `list <what>`: one subcommand module per thing listed, loaded only when it runs. */
const listCommands: LazyCommand[] = [
  { command: 'dirs', describe: 'List all scanned folders', load: async () => (await import('./list-catalog.js')).listDirsCommand },
  { command: 'bigfiles', describe: 'List big files', load: async () => (await import('./list-catalog.js')).listBigfilesCommand },
  { command: 'files', describe: 'List files not yet in any volume, and whether they are in the cloud', load: async () => (await import('./list-catalog.js')).listFilesCommand },
  { command: 'iso', describe: 'List all created volumes (ISO images)', load: async () => (await import('./list-iso.js')).listIsoCommand },
  { command: 'isos', describe: "Alias of list iso (lomob's name)", load: async () => ({ ...(await import('./list-iso.js')).listIsoCommand, command: 'isos', describe: "Alias of list iso (lomob's name)" }) },
  { command: 'gdrive', describe: 'List files in google drive in tree view', load: async () => (await import('./list-gdrive.js')).listGdriveCommand },
];

/** The `list` command with the subcommand named in `words` loaded. */
export async function listCommandFor(words: string[]): Promise<CommandModule<GlobalArgs, GlobalArgs>> {
  const subcommands = await resolveCommands(listCommands, words, 1);
  return {
    command: 'list <what>',
    describe: 'List scanned folders, files, volumes and cloud copies',
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(subcommands)
        .demandCommand(1, 'Say what to list.')
        .example('$0 list files', 'files not yet packed into a volume, with "In Cloud" Y/N')
        .example('$0 list bigfiles -s 1GB --json', 'files of 1 GB and more, as JSON'),
    handler: () => {},
  };
}
