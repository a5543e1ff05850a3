import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import type { Db } from '../../storage/catalog/db.js';
import { restoreFiles } from '../../storage/jobs/restore-files.js';
import { restoreVolume } from '../../storage/jobs/restore-volume.js';
import type { ReadContext } from '../../storage/objects/reader.js';
import { FileTier } from '../../storage/tiers/file.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { reportExit } from '../exit-codes.js';
import { exitCodeOf, userErrorOf } from '../job-errors.js';
import { progressPrinter } from '../job-progress.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { ProgressBar } from '../progress.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs, type UnlockedSite } from '../passphrase.js';
import { restoreCloudCommands } from './restore-cloud.js';

/**
 * `restore <what>`: get plaintext back from encrypted objects. Every subcommand unlocks the site
 * first (a wrong passphrase stops before anything is read or written), then calls its job
 * (storage/jobs/restore-*.ts), which verifies every chunk and the plaintext SHA-256 and writes only
 * inside --to, atomically. Add subcommands to `restoreCommands`.
 */
interface RestoreArgs extends GlobalArgs, PassphraseArgs {
  to: string;
  objectsDir?: string;
}

interface RestoreFileArgs extends RestoreArgs {
  paths: string[];
}

interface RestoreVolumeArgs extends RestoreArgs {
  name: string;
}

function common<T>(y: Argv<T>): Argv<T & RestoreArgs> {
  return withPassphraseOption(y)
    .option('to', { type: 'string', demandOption: true, describe: 'Folder to restore into (created if missing); nothing is written outside it' })
    .option('objects-dir', { type: 'string', describe: 'Local object store to read (default: the one chosen at init)' }) as unknown as Argv<T & RestoreArgs>;
}

/** The site's local file:// tier: --objects-dir, else the folder recorded by `init`. */
export function localTier(site: UnlockedSite['site'], objectsDir?: string): FileTier {
  return new FileTier(objectsDir ?? site.objectsUrl);
}

/** Unlocks the site and runs one restore job against its local tier, with the bar and log lines of the CLI. */
function withLocalRead<A extends RestoreArgs, T>(args: A, run: (db: Db, read: ReadContext, bar: ProgressBar) => Promise<T>): Promise<T> {
  return withCatalog(args, async (db) => {
    const unlocked = await unlockSite(db, args);
    const bar = new ProgressBar({ json: args.json });
    try {
      return await run(db, { sodium: unlocked.sodium, keys: unlocked.keys, tier: localTier(unlocked.site, args.objectsDir) }, bar);
    } catch (e) {
      throw userErrorOf(e);
    } finally {
      bar.done();
    }
  });
}

export const restoreFileCommand: CommandModule<GlobalArgs, RestoreFileArgs> = {
  command: 'file <paths..>',
  describe: 'Restore library files (or folders) from their encrypted volume or staging copy',
  builder: (y) =>
    common(y)
      .positional('paths', { type: 'string', array: true, describe: 'Library paths as scanned (absolute), files or folders' })
      .example('$0 restore file /home/me/Pictures/a.jpg --to /tmp/r', 'writes /tmp/r/home/me/Pictures/a.jpg') as unknown as Argv<RestoreFileArgs>,
  handler: (args) =>
    withLocalRead(args, async (db, read, bar) => {
      const r = await restoreFiles(db, read, { paths: args.paths, to: args.to, onProgress: progressPrinter(bar, 'restore') });
      for (const f of r.failed) reportExit(exitCodeOf(f.error));
      bar.done();
      const failed = r.failed.length;
      if (args.json) printJson({ restored: r.restored, failed });
      else log.info(`${r.restored.length} file(s) restored into ${path.resolve(args.to)}${failed ? `, ${failed} failed` : ''}`);
    }),
};

export const restoreVolumeCommand: CommandModule<GlobalArgs, RestoreVolumeArgs> = {
  command: 'volume <name>',
  describe: 'Decrypt a whole volume back into its plain ISO image',
  builder: (y) =>
    common(y)
      .positional('name', { type: 'string', demandOption: true, describe: 'Volume name as `list iso` shows it' })
      .example('$0 restore volume 2024-04-13--2024-04-20.iso --to /tmp/r', 'writes /tmp/r/2024-04-13--2024-04-20.iso') as unknown as Argv<RestoreVolumeArgs>,
  handler: (args) =>
    withLocalRead(args, async (db, read, bar) => {
      const r = await restoreVolume(db, read, { name: args.name, to: args.to, onProgress: progressPrinter(bar, 'restore') });
      bar.done();
      if (args.json) printJson(r);
      else log.info(`restored volume ${r.volume} -> ${r.to}`);
    }),
};

/** `restore <what>`: one subcommand per source. Add new ones to this array. */
const restoreCommands: CommandModule<any, any>[] = [restoreFileCommand, restoreVolumeCommand, ...restoreCloudCommands];

export const restoreCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'restore <what>',
  describe: 'Restore files or whole volumes from encrypted objects',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command(restoreCommands)
      .demandCommand(1, 'Say what to restore.')
      .example('$0 restore file ~/Pictures/2024/a.jpg --to /tmp/back', 'one file from its volume, verified')
      .example('$0 restore aws 2024-04-13--2024-04-20.iso back.iso', 'a whole volume from S3/Glacier'),
  handler: () => {},
};
