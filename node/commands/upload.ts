import type { Argv, CommandModule } from 'yargs';
import { archiveVolumes, planArchive } from '../../storage/jobs/archive-volumes.js';
import { stageFiles } from '../../storage/jobs/stage-files.js';
import { CatalogJournal } from '../../storage/placements/catalog-journal.js';
import { STORAGE_CLASSES, type LomobStorageClass } from '../../storage/tiers/s3-classes.js';
import { formatSize, parseSize } from '../../storage/util/units.js';
import { type GlobalArgs } from '../context.js';
import { withLoggedCatalog } from '../site-log.js';
import { EXIT, UserError, reportExit } from '../exit-codes.js';
import { userErrorOf } from '../job-errors.js';
import { logProgress } from '../job-progress.js';
import { log } from '../log.js';
import { printJson } from '../output.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { awsOptions, cloudUserError, driveOptions, interruptible, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-args.js';
import { priceBanner, pricesFor } from './cost.js';

/** The tier factories load the cloud SDKs only when an upload runs (`upload --help` stays light). */
const tiers = () => import('./cloud-options.js');

interface IsoArgs extends GlobalArgs, AwsArgs, PassphraseArgs, TargetArgs {
  names: string[];
  partSize?: string;
  nthreads: number;
  encrypt: boolean;
  force: boolean;
  storageClass: LomobStorageClass;
  saveParts: boolean;
  prices?: string;
  dryRun: boolean;
}

interface FilesArgs extends GlobalArgs, DriveArgs, PassphraseArgs, TargetArgs {
  nthreads: number;
}

function partSizeOf(args: IsoArgs): number {
  let partSize: number;
  try {
    partSize = parseSize(args.partSize ?? '6M');
  } catch (e) {
    throw new UserError(`--part-size: ${(e as Error).message}`, EXIT.USAGE);
  }
  if (partSize < 5 * 1024 * 1024) throw new UserError(`--part-size ${args.partSize} is below S3's minimum part of 5 MiB (5242880 bytes): use 6M or more`, EXIT.USAGE);
  if (args.nthreads < 1) throw new UserError('--nthreads must be at least 1', EXIT.USAGE);
  return partSize;
}

/** `upload iso`: volumes to S3 (Glacier), multipart, resumable, verified before they count (storage/jobs/archive-volumes.ts). */
export const uploadIso: CommandModule<GlobalArgs, IsoArgs> = {
  command: 'iso [names..]',
  describe: 'Upload specified or all iso files',
  builder: (y) =>
    targetOption(withPassphraseOption(awsOptions(y)), 'volumes')
      .positional('names', { type: 'string', array: true, default: [], describe: 'Volume names (default: every volume not uploaded yet)' })
      .option('part-size', {
        alias: 'p',
        type: 'string',
        describe: 'Size of each upload partition. KB=1000 Byte (default: "6M"; for encrypted volumes their chunk size, so every part is one chunk)',
      })
      .option('nthreads', { alias: 'n', type: 'number', default: 3, describe: 'Number of parallel multi part upload' })
      .option('save-parts', { alias: 's', type: 'boolean', default: false, describe: 'Save multiparts locally for debug (accepted for lomob compatibility; parts are never written)' })
      .option('encrypt', { type: 'boolean', default: true, describe: 'Upload the encrypted volume (--no-encrypt: the plain image of an unencrypted volume)' })
      .option('force', { type: 'boolean', default: false, describe: 'force to upload from scratch and not reuse previous upload info' })
      .option('storage-class', { type: 'string', default: 'STANDARD', choices: [...STORAGE_CLASSES], describe: 'The type of storage to use for the object' })
      .option('prices', { type: 'string', describe: 'Price table JSON for the estimate' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print what would be uploaded and its cost estimate; send nothing' })
      .example('$0 upload iso --storage-class DEEP_ARCHIVE --dry-run', 'what archiving the new volumes would cost')
      .example('$0 upload iso --storage-class DEEP_ARCHIVE', 'every new volume to Glacier Deep Archive') as unknown as Argv<IsoArgs>,
  handler: (args) =>
    withLoggedCatalog(args, async (db) => {
      const partSize = partSizeOf(args);
      const tier = await (await tiers()).archiveTierFrom(args, { journal: new CatalogJournal(db), options: { partSize, concurrency: args.nthreads }, storageClass: args.storageClass });
      const opts = { names: args.names, encrypt: args.encrypt, force: args.force, storageClass: args.storageClass, partSize, chunkParts: args.partSize === undefined };
      const prices = () => {
        const pt = pricesFor(args);
        return { prices: pt.prices, note: priceBanner(pt) };
      };
      const plan = await planArchive(db, tier, { ...opts, prices }, () => unlockSite(db, args), logProgress).catch((e: unknown) => Promise.reject(userErrorOf(e)));
      if (!plan.volumes.length) return void (args.json && printJson({ uploaded: [] }));
      if (args.dryRun) {
        if (args.json) printJson({ wouldUpload: plan.volumes.map((s) => ({ name: s.name, key: s.key, size: s.size })) });
        else for (const s of plan.volumes) process.stdout.write(`would upload ${s.name}  ${formatSize(s.size)}  ${tier.url}/${s.key}\n`);
        return;
      }
      const { signal, dispose } = interruptible();
      try {
        const r = await archiveVolumes(db, tier, plan, { ...opts, signal }, logProgress);
        if (args.json) printJson({ uploaded: r.uploaded, requests: r.requests });
        else for (const u of r.uploaded) process.stdout.write(`${u.name}  ${formatSize(u.size)}  ${u.storageClass}  ${tier.url}/${u.key}\n`);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw cloudUserError(userErrorOf(e), 'upload iso');
      } finally {
        dispose();
      }
    }),
};

/** `upload files`: staging files to Drive, encrypted, after removing staged copies now archived (storage/jobs/stage-files.ts). */
const uploadFiles: CommandModule<GlobalArgs, FilesArgs> = {
  command: 'files',
  describe: 'Upload individual files not in ISO to google drive',
  builder: (y) =>
    targetOption(withPassphraseOption(driveOptions(y)), 'staging files')
      .option('nthreads', { alias: 'n', type: 'number', default: 4, describe: 'Files uploaded in parallel' })
      .example('$0 upload files', 'stage new photos on Drive until they are archived') as unknown as Argv<FilesArgs>,
  handler: (args) =>
    withLoggedCatalog(args, async (db) => {
      const tier = await (await tiers()).stagingTierFrom(args, { journal: new CatalogJournal(db), options: { cacheListings: true } });
      const { signal, dispose } = interruptible();
      let r;
      try {
        r = await stageFiles(db, tier, { concurrency: args.nthreads, signal }, () => unlockSite(db, args), logProgress);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw cloudUserError(userErrorOf(e), 'upload files');
      } finally {
        dispose();
      }
      if (r.skipped) reportExit(EXIT.PARTIAL);
      if (args.json) printJson(r);
      else log.info(`${r.uploaded} file(s) uploaded to ${tier.url}${r.skipped ? `, ${r.skipped} skipped` : ''}`);
    }),
};

export const uploadCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'upload <what>',
  describe: 'Upload packed ISO files or individual files',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([uploadIso, uploadFiles] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Say what to upload: iso or files.')
      .example('$0 upload files', 'stage files not yet in a volume on Google Drive, encrypted')
      .example('$0 upload iso --storage-class DEEP_ARCHIVE', 'archive every volume not uploaded yet in S3 Glacier Deep Archive'),
  handler: () => {},
};
