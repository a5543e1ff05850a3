import { createRequire } from 'node:module';
import type { CommandModule } from 'yargs';
import { EXIT, EXIT_HELP, UserError, commandExitCode } from './exit-codes.js';
import { log, setLogLevel } from './log.js';
import { commandWords, resolveCommands, type LazyCommand } from './lazy-command.js';
import { PRIVATE_UMASK } from './local-files.js';

// yargs through its bundled CommonJS build: one file instead of ~25 ES modules to resolve and link
// (17-19 ms instead of 27-35 ms of every command's start-up). Only cli.ts uses yargs at run time.
const require = createRequire(import.meta.url);
const yargs = require('yargs') as typeof import('yargs').default;
const { hideBin } = require('yargs/helpers') as typeof import('yargs/helpers');

/**
 * Every top-level command: its syntax and one-line description for the top-level help, and a
 * loader for its module. Only the module of the command being run is imported, so `lomo-peer
 * scan` never loads libp2p or the AWS SDK (start-up stays ~0.15 s instead of ~1 s).
 * Add a command here and in node/commands/<name>.ts.
 */
const commands: LazyCommand[] = [
  { command: 'scan <dirs..>', describe: 'Scan folders and record their files in the catalog (incremental)', load: async () => (await import('./commands/scan.js')).scanCommand },
  { command: 'list <what>', describe: 'List scanned folders, files, volumes and cloud copies', load: async (w) => (await import('./commands/list.js')).listCommandFor(w) },
  { command: 'iso <command>', describe: 'ISO volume commands: create, list, dump', load: async () => (await import('./commands/iso.js')).isoCommand },
  { command: 'init', describe: 'Create this site: identity, passphrase-derived keys, and a printable recovery kit', load: async () => (await import('./commands/init.js')).initCommand },
  { command: 'upload <what>', describe: 'Upload packed ISO files or individual files', load: async () => (await import('./commands/upload.js')).uploadCommand },
  { command: 'restore <what>', describe: 'Restore files or whole volumes from encrypted objects', load: async () => (await import('./commands/restore.js')).restoreCommand },
  { command: 'cost', describe: 'Projected monthly and one-off cloud costs for what the catalog holds', load: async () => (await import('./commands/cost.js')).costCommand },
  { command: 'node', describe: "Run this site's peer node (foreground) until SIGINT/SIGTERM", load: async () => (await import('./commands/node.js')).nodeCommand },
  { command: 'invite', describe: 'Print a single-use code that lets another household join this family', load: async () => (await import('./commands/invite.js')).inviteCommand },
  { command: 'join [code]', describe: 'Join a family with an invitation code from `lomo-peer invite` (or `-`: read it from standard input)', load: async () => (await import('./commands/join.js')).joinCommand },
  { command: 'recover [code]', describe: "After losing everything: rebuild this household's catalog from its family (an invite from any member, and the passphrase)", load: async () => (await import('./commands/recover.js')).recoverCommand },
  { command: 'peers [action] [peer]', describe: 'List trusted households, revoke one (peers remove <peer>), or measure the link (peers speedtest <peer>)', load: async () => (await import('./commands/peers.js')).peersCommand },
  { command: 'sync', describe: "Exchange site logs with every online family member now (--wait: until each holds this site's head)", load: async () => (await import('./commands/sync.js')).syncCommand },
  { command: 'status', describe: 'Show this site and each family peer: online, last seen, address, round-trip time', load: async () => (await import('./commands/status.js')).statusCommand },
  { command: 'import <from>', describe: "Bring a lomob catalog into this one: folders, files, volumes, upload state (lomob's file is only read)", load: async () => (await import('./commands/import.js')).importCommand },
  // Hidden: tools for the tests (no describe, so no help line).
  { command: 'debug <tool>', describe: false, load: async () => (await import('./commands/debug.js')).debugCommand },
  { command: 'util <tool>', describe: 'Various tools', load: async () => (await import('./commands/util.js')).utilCommand },
];

/**
 * Commands whose output files belong to the user rather than to the site: restored photos keep the
 * caller's umask, like any file they copy. Everything else the program writes (catalog, identity,
 * objects, the node's files) is the site's own and private (node/local-files.ts).
 */
const USER_UMASK_COMMANDS = new Set(['restore']);

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK;
  const words = commandWords(argv);
  // Before anything is created: the data folder 0700, its files 0600, whatever the caller's umask.
  if (!USER_UMASK_COMMANDS.has(words[0] ?? '')) process.umask(PRIVATE_UMASK);
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
    .command(await resolveCommands(commands, words, 0))
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
  const storage = storageFailure(err);
  if (storage) {
    log.error(storage);
    return EXIT.STORAGE;
  }
  const e = err as Error;
  log.error(`unexpected failure: ${e?.stack ?? String(err)}`);
  return EXIT.INTERNAL;
}

/**
 * A storage tier's error (TierError carries a message meant for people) or a full disk anywhere:
 * what happened and what to do, without a stack trace. Commands leave nothing half-written behind
 * (temporary files are removed), so the fix is to free space or repair access and run again.
 */
function storageFailure(err: unknown): string | null {
  const e = err as Error & { code?: string; kind?: string; path?: string };
  if (e?.name === 'TierError') return e.kind === 'quota' && !/disk is full/.test(e.message) ? `${e.message} (out of space: free some, then run the command again)` : e.message;
  // SQLite reports a full disk under the catalog as SQLITE_FULL; its transaction was rolled back.
  if (e?.code === 'SQLITE_FULL') return 'the disk holding the catalog is full: free some space, then run the command again; the catalog keeps its last complete state';
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return `the disk is full${e.path ? ` (writing ${e.path})` : ''}: free some space, then run the command again; nothing half-written was kept`;
  }
  return null;
}

const isEntry = process.argv[1] && /lomo-peer(\.js)?$|node[\\/]cli\.js$/.test(process.argv[1]);
if (isEntry) {
  main(hideBin(process.argv)).then((code) => {
    process.exitCode = code;
  });
}
