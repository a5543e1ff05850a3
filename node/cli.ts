import './polyfill.js';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { EXIT, EXIT_HELP, UserError, commandExitCode } from './exit-codes.js';
import { log, setLogLevel } from './log.js';
import { scanCommand } from './commands/scan.js';
import { listCommand } from './commands/list.js';
import { initCommand } from './commands/init.js';
import { nodeCommand } from './commands/node.js';
import { inviteCommand } from './commands/invite.js';
import { joinCommand } from './commands/join.js';
import { peersCommand } from './commands/peers.js';
import { statusCommand } from './commands/status.js';
import { isoCommand } from './commands/iso.js';
import { costCommand } from './commands/cost.js';
import { utilCommand } from './commands/util.js';
import { uploadCommand } from './commands/upload.js';

/** Every top-level command. One module per command under node/commands/. */
const commands: CommandModule<any, any>[] = [scanCommand, listCommand, initCommand, nodeCommand, inviteCommand, joinCommand, peersCommand, statusCommand, isoCommand, costCommand, utilCommand, uploadCommand];

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const parser = yargs(argv)
    .scriptName('lomo-peer')
    .usage('$0 <command> [options]\n\nDisaster-proof family backup of photos and videos.')
    .option('db', { type: 'string', default: 'lomob.db', describe: 'Catalog file (SQLite)', global: true })
    .option('data-dir', {
      type: 'string',
      describe: "Site data folder: identity, config, local objects (default: the catalog's folder)",
      global: true,
    })
    .option('log-level', {
      alias: 'l',
      type: 'number',
      default: 4,
      describe: 'Log level: 0 panic, 1 fatal, 2 error, 3 warn, 4 info, 5 debug, 6 trace',
      global: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output on stdout', global: true })
    .middleware((a) => setLogLevel(a.logLevel as number))
    .command(commands)
    .demandCommand(1, 'Name a command; see the list above.')
    .strict()
    .recommendCommands()
    .example('$0 scan ~/Pictures', 'record every photo and video under ~/Pictures in lomob.db')
    .example('$0 list files --json', 'files not yet in a volume, as JSON')
    .epilogue(EXIT_HELP)
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg}\nRun with --help for usage.`, EXIT.USAGE);
    });
  try {
    await parser.parseAsync();
    exitCode = commandExitCode();
  } catch (err) {
    exitCode = reportError(err);
  }
  return exitCode;
}

function reportError(err: unknown): number {
  if (err instanceof UserError) {
    log.error(err.message);
    return err.exitCode;
  }
  const e = err as Error;
  log.error(`unexpected failure: ${e?.stack ?? String(err)}`);
  return EXIT.INTERNAL;
}

const isEntry = process.argv[1] && /lomo-peer(\.js)?$|node[\\/]cli\.js$/.test(process.argv[1]);
if (isEntry) {
  main(hideBin(process.argv)).then((code) => {
    process.exitCode = code;
  });
}
