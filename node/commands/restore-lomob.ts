import type { Argv } from 'yargs';
import path from 'node:path';
import type { Db } from '../../storage/catalog/db.js';
import { lomobVolume } from '../../storage/lomob/archives.js';
import type { RestoreArchivedOptions, RestoreArchivedResult } from '../../storage/jobs/restore-archived.js';
import type { RestoreFilesResult } from '../../storage/jobs/restore-files.js';
import { hasOwnStagedCopy, lomobJobError, restoreLomobArchived, restoreLomobStaged } from '../../storage/jobs/restore-lomob.js';
import type { RestoreStagedOptions, RestoreStagedResult } from '../../storage/jobs/restore-staged.js';
import type { Tier } from '../../storage/tiers/tier.js';
import { withCatalog, type GlobalArgs } from '../context.js';
import { reportExit } from '../exit-codes.js';
import { exitCodeOf, userErrorOf } from '../job-errors.js';
import { logProgress } from '../job-progress.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { awsOptions, type AwsArgs, type TargetArgs } from './cloud-args.js';
import { lomobMasterKey, withLomobKeyOption, type LomobKeyArgs } from './lomob-key.js';

/**
 * The restore commands' route to what lomob archived (storage/jobs/restore-lomob*.ts): each
 * handler asks here first and falls through to lomo-peer's own copies when the name is not
 * lomob's. lomob copies need lomob's master key (lomob-key.ts), never the site's passphrase, so a
 * user who has not run `init` yet can still get them back.
 */

/** `restore aws`: a lomob volume's restore, or null when the volume is lomo-peer's. */
export async function lomobArchived(db: Db, tier: Tier, opts: RestoreArchivedOptions, args: LomobKeyArgs): Promise<RestoreArchivedResult | null> {
  const vol = lomobVolume(db, opts.volume);
  if (!vol) return null;
  return restoreLomobArchived(db, tier, vol, opts, () => lomobMasterKey(args), logProgress).catch((e) => Promise.reject(lomobJobError(e)));
}

/** `restore gdrive`: a file lomob staged, or null when lomo-peer staged a copy of it on this tier. */
export async function lomobStaged(db: Db, tier: Tier, opts: RestoreStagedOptions, args: LomobKeyArgs): Promise<RestoreStagedResult | null> {
  if (hasOwnStagedCopy(db, tier.url, opts.file)) return null;
  return restoreLomobStaged(db, tier, opts, () => lomobMasterKey(args)).catch((e) => Promise.reject(lomobJobError(e)));
}

export interface LomobFileArgs extends GlobalArgs, AwsArgs, TargetArgs, LomobKeyArgs {
  paths: string[];
  to: string;
  isoDir?: string[];
}

/** `restore file`'s options for files in lomob volumes: where local images are, and the bucket. */
export function lomobFileOptions<T>(y: Argv<T>): Argv<T & LomobFileArgs> {
  return withLomobKeyOption(awsOptions(y)).option('iso-dir', {
    type: 'string',
    array: true,
    describe: "Folders with lomob's ISO images (default: the working folder, where lomob wrote them); else the volume is fetched from S3",
  }) as unknown as Argv<T & LomobFileArgs>;
}

/**
 * `restore file`: restores the files only a lomob volume holds, then hands the remaining paths
 * (and that result, to merge into one report) to lomo-peer's own restore; with none left, reports.
 */
export async function withLomobFiles(args: LomobFileArgs, rest: (paths: string[], lomob: RestoreFilesResult | null) => Promise<void>): Promise<void> {
  const { lomobOnlyCopies, restoreLomobFiles } = await import('../../storage/jobs/restore-lomob-files.js');
  const split = withCatalog(args, (db) => lomobOnlyCopies(db, args.paths));
  if (split.copies.length === 0) return rest(args.paths, null);
  const r = await withCatalog(args, async (db) => {
    try {
      return await restoreLomobFiles(db, split.copies, {
        to: args.to,
        isoDirs: (args.isoDir ?? ['.']).map((d) => path.resolve(d)),
        archive: async () => (await import('./cloud-options.js')).archiveTierFrom(args),
        masterKey: () => lomobMasterKey(args),
        onProgress: logProgress,
      });
    } catch (e) {
      throw userErrorOf(lomobJobError(e));
    }
  });
  if (split.ownPaths.length > 0) return rest(split.ownPaths, r);
  for (const f of r.failed) reportExit(exitCodeOf(f.error));
  if (args.json) printJson({ restored: r.restored, failed: r.failed.length });
  else log.info(`${r.restored.length} file(s) restored into ${path.resolve(args.to)}${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
}

/** One report for both routes. */
export function mergeRestored(a: RestoreFilesResult | null, b: RestoreFilesResult): RestoreFilesResult {
  return a ? { restored: [...a.restored, ...b.restored], failed: [...a.failed, ...b.failed] } : b;
}
