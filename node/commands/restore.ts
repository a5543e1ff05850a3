import type { Argv, CommandModule } from 'yargs';
import path from 'node:path';
import type { Db } from '../../storage/catalog/db.js';
import { restoreFiles } from '../../storage/jobs/restore-files.js';
import { restoreVolume } from '../../storage/jobs/restore-volume.js';
import type { BadCopy, SourceTier } from '../../storage/objects/chunk-sources.js';
import type { ReadContext } from '../../storage/objects/reader.js';
import { FileTier } from '../../storage/tiers/file.js';
import { formatSize } from '../../storage/util/units.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { awsOptions, driveOptions, type AwsArgs, type DriveArgs } from './cloud-args.js';
import { restoreChain } from './restore-sources.js';
import { reportExit } from '../exit-codes.js';
import { exitCodeOf, userErrorOf } from '../job-errors.js';
import { progressPrinter } from '../job-progress.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { ProgressBar } from '../progress.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs, type UnlockedSite } from '../passphrase.js';
import { restoreCloudCommands } from './restore-cloud.js';
import { lomobFileOptions, mergeRestored, withLomobFiles, type LomobFileArgs } from './restore-lomob.js';

/**
 * `restore <what>`: get plaintext back from encrypted objects. Every subcommand unlocks the site
 * first (a wrong passphrase stops before anything is read or written), then calls its job
 * (storage/jobs/restore-*.ts), which verifies every chunk and the plaintext SHA-256 and writes only
 * inside --to, atomically. Add subcommands to `restoreCommands`.
 */
interface RestoreArgs extends GlobalArgs, PassphraseArgs, DriveArgs {
  to: string;
  objectsDir?: string;
}

interface RestoreFileArgs extends RestoreArgs, LomobFileArgs {
  paths: string[];
}

interface RestoreVolumeArgs extends RestoreArgs, AwsArgs {
  name: string;
}

/** --to, --objects-dir, and Drive's flags (a staged copy there is a source when nothing cheaper has the chunk). */
function common<T>(y: Argv<T>): Argv<T & RestoreArgs> {
  return withPassphraseOption(driveOptions(y))
    .option('to', { type: 'string', demandOption: true, describe: 'Folder to restore into (created if missing); nothing is written outside it' })
    .option('objects-dir', { type: 'string', describe: 'Local object store to read (default: the one chosen at init)' }) as unknown as Argv<T & RestoreArgs>;
}

/** The site's local file:// tier: --objects-dir, else the folder recorded by `init`. */
export function localTier(site: UnlockedSite['site'], objectsDir?: string): FileTier {
  return new FileTier(objectsDir ?? site.objectsUrl);
}

/** Where a restore's bytes came from (`--json`: `bytesFetched`, `badCopies`). */
interface Provenance {
  bytesFetched: Record<SourceTier, number>;
  badCopies: BadCopy[];
}

/**
 * Unlocks the site and runs one restore job with the bar and log lines of the CLI. Chunks are read
 * from the local object tier, then from wherever else a copy is, cheapest first (restore-sources.ts:
 * folder tiers, the family members that hold them, Drive, S3); each copy is checked, and a bad one
 * is reported and skipped for the next holder.
 */
function withLocalRead<A extends RestoreArgs & AwsArgs, T>(args: A, run: (db: Db, read: ReadContext, bar: ProgressBar) => Promise<T>): Promise<T & Provenance> {
  return withCatalog(args, async (db) => {
    const unlocked = await unlockSite(db, args);
    const bar = new ProgressBar({ json: args.json });
    const say = progressPrinter(bar, 'restore');
    const tier = localTier(unlocked.site, args.objectsDir);
    const { chain, close } = restoreChain(db, args, tier, (b) =>
      say({ job: 'restore', level: 'warn', item: b.holder, message: `object ${b.object} chunk ${b.chunk}: bad copy at ${b.holder} skipped: ${b.reason}` }),
    );
    try {
      const r = await run(db, { sodium: unlocked.sodium, keys: unlocked.keys, tier, chain }, bar);
      return { ...r, bytesFetched: chain.bytesFetched, badCopies: chain.badCopies };
    } catch (e) {
      throw userErrorOf(e);
    } finally {
      bar.done();
      await close();
    }
  });
}

/** "read 1.2 MB from peers" when anything came from elsewhere than the local folder. */
function fetchedLine(p: Provenance): string {
  const other = (Object.entries(p.bytesFetched) as [SourceTier, number][]).filter(([t, n]) => t !== 'local' && n > 0);
  return other.length === 0 ? '' : ` (read ${other.map(([t, n]) => `${formatSize(n)} from ${t}`).join(', ')})`;
}

export const restoreFileCommand: CommandModule<GlobalArgs, RestoreFileArgs> = {
  command: 'file <paths..>',
  describe: 'Restore library files (or folders) from their encrypted volume or staging copy',
  builder: (y) =>
    lomobFileOptions(common(y))
      .positional('paths', { type: 'string', array: true, describe: 'Library paths as scanned (absolute), files or folders' })
      .example('$0 restore file /home/me/Pictures/a.jpg --to /tmp/r', 'writes /tmp/r/home/me/Pictures/a.jpg') as unknown as Argv<RestoreFileArgs>,
  handler: (args) =>
    withLomobFiles(args, async (paths, lomob) => {
      const r = await withLocalRead(args, async (db, read, bar) => mergeRestored(lomob, await restoreFiles(db, read, { paths, to: args.to, onProgress: progressPrinter(bar, 'restore') })));
      for (const f of r.failed) reportExit(exitCodeOf(f.error));
      const failed = r.failed.length;
      if (args.json) printJson({ restored: r.restored, failed, bytesFetched: r.bytesFetched, badCopies: r.badCopies });
      else log.info(`${r.restored.length} file(s) restored into ${path.resolve(args.to)}${failed ? `, ${failed} failed` : ''}${fetchedLine(r)}`);
    }),
};

export const restoreVolumeCommand: CommandModule<GlobalArgs, RestoreVolumeArgs> = {
  command: 'volume <name>',
  describe: 'Decrypt a whole volume back into its plain ISO image',
  builder: (y) =>
    awsOptions(common(y))
      .positional('name', { type: 'string', demandOption: true, describe: 'Volume name as `list iso` shows it' })
      .example('$0 restore volume 2024-04-13--2024-04-20.iso --to /tmp/r', 'writes /tmp/r/2024-04-13--2024-04-20.iso') as unknown as Argv<RestoreVolumeArgs>,
  handler: (args) =>
    withLocalRead(args, (db, read, bar) => restoreVolume(db, read, { name: args.name, to: args.to, onProgress: progressPrinter(bar, 'restore') })).then((r) => {
      if (args.json) printJson(r);
      else log.info(`restored volume ${r.volume} -> ${r.to}${fetchedLine(r)}`);
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
