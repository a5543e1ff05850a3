import type { Argv, CommandModule } from 'yargs';
import { restoreArchived } from '../../storage/jobs/restore-archived.js';
import { checkOutput } from '../../storage/jobs/restore-output.js';
import { restoreStaged } from '../../storage/jobs/restore-staged.js';
import { ChunkError } from '../../storage/objects/reader.js';
import { formatSize } from '../../storage/util/units.js';
import { type GlobalArgs } from '../context.js';
import { withLoggedCatalog } from '../site-log.js';
import { EXIT, UserError, reportExit } from '../exit-codes.js';
import { userErrorOf } from '../job-errors.js';
import { logProgress } from '../job-progress.js';
import { log } from '../log.js';
import { unlockSite, withPassphraseOption, type PassphraseArgs } from '../passphrase.js';
import { awsOptions, cloudUserError, driveOptions, interruptible, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-args.js';
import { pricesFor } from './cost.js';
import { lomobArchived, lomobStaged } from './restore-lomob.js';
import { withLomobKeyOption, type LomobKeyArgs } from './lomob-key.js';

/** The AWS and Google clients load only when a cloud restore runs (restore file stays light). */
const tiers = () => import('./cloud-options.js');

interface AwsRestoreArgs extends GlobalArgs, AwsArgs, PassphraseArgs, TargetArgs, LomobKeyArgs {
  volume: string;
  out: string;
  tier?: 'Bulk' | 'Standard';
  days: number;
  wait: boolean;
  poll: number;
  nthreads: number;
  prices?: string;
}

interface DriveRestoreArgs extends GlobalArgs, DriveArgs, PassphraseArgs, TargetArgs, LomobKeyArgs {
  file: string;
  out: string;
}

function toUserError(e: unknown, what: string): unknown {
  if (e instanceof ChunkError) return new UserError(`${what}: ${e.message}; nothing was written`, EXIT.CORRUPT);
  return cloudUserError(userErrorOf(e), what);
}

/** Refuses an output that exists (or whose folder does not) before any tier is opened. */
function checkOut(out: string): void {
  try {
    checkOutput(out);
  } catch (e) {
    throw userErrorOf(e);
  }
}

/** `restore aws <volume> <out>`: Glacier restore when needed (estimate first), then ranged parallel download, decrypt, verify (storage/jobs/restore-archived.ts). */
const restoreAws: CommandModule<GlobalArgs, AwsRestoreArgs> = {
  command: 'aws <volume> <out>',
  describe: 'Restore ISO files in AWS',
  builder: (y) =>
    targetOption(withLomobKeyOption(withPassphraseOption(awsOptions(y))), 'volumes (read them from there)')
      .positional('volume', { type: 'string', demandOption: true, describe: 'iso file name (see list iso)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output file name' })
      .option('tier', { type: 'string', choices: ['Bulk', 'Standard'] as const, describe: 'Glacier retrieval tier to request (Bulk: ~48 h, cheapest; Standard: ~12 h)' })
      .option('days', { type: 'number', default: 3, describe: 'Days the restored copy stays readable' })
      .option('wait', { type: 'boolean', default: false, describe: 'Poll until the restore is done, then download' })
      .option('poll', { type: 'number', default: 900, describe: 'Seconds between polls with --wait' })
      .option('nthreads', { alias: 'n', type: 'number', default: 3, describe: 'Parallel ranged downloads' })
      .option('prices', { type: 'string', describe: 'Price table JSON for the estimate' })
      .example('$0 restore aws 2024-04-13--2024-04-20.iso v.iso --tier Bulk --wait', 'request a Bulk restore, wait, download') as unknown as Argv<AwsRestoreArgs>,
  handler: (args) =>
    withLoggedCatalog(args, async (db) => {
      checkOut(args.out);
      const tier = await (await tiers()).archiveTierFrom(args, { options: { concurrency: args.nthreads } });
      const { signal, dispose } = interruptible();
      try {
        const opts = { volume: args.volume, out: args.out, retrieval: args.tier, days: args.days, wait: args.wait, pollSeconds: args.poll, concurrency: args.nthreads, prices: () => pricesFor(args).prices, signal };
        const r = (await lomobArchived(db, tier, opts, args)) ?? (await restoreArchived(db, tier, opts, () => unlockSite(db, args), logProgress));
        if (r.status === 'restored') {
          log.info(`${r.volume} restored to ${args.out} (${formatSize(r.size)}), SHA-256 ${r.sha256.toString('hex')} verified${r.requests !== undefined ? `; ${r.requests} requests` : ''}`);
          return;
        }
        if (r.status === 'needs-restore') log.info(`${r.volume} is in ${r.storageClass}: pass --tier Bulk or --tier Standard to request its restore (add --wait to wait and download)`);
        else log.info(`${r.volume}: restore in progress; run this command again later, or with --wait`);
        reportExit(EXIT.PARTIAL);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        throw toUserError(e, `restore aws ${args.volume}`);
      } finally {
        dispose();
      }
    }),
};

/** `restore gdrive <file> <out>`: one staged file back from Drive, decrypted and verified (storage/jobs/restore-staged.ts). */
const restoreGdrive: CommandModule<GlobalArgs, DriveRestoreArgs> = {
  command: 'gdrive <file> <out>',
  describe: 'Restore files in google drive',
  builder: (y) =>
    targetOption(withLomobKeyOption(withPassphraseOption(driveOptions(y))), 'staging files (read them from there)')
      .positional('file', { type: 'string', demandOption: true, describe: 'library path of the file (as list files / list gdrive show it), or its Drive key' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output file name' })
      .example('$0 restore gdrive ~/Pictures/2024/a.jpg /tmp/a.jpg', 'one staged file back from Drive, decrypted and verified') as unknown as Argv<DriveRestoreArgs>,
  handler: (args) =>
    withLoggedCatalog(args, async (db) => {
      checkOut(args.out);
      const tier = await (await tiers()).stagingTierFrom(args);
      try {
        const r = (await lomobStaged(db, tier, { file: args.file, out: args.out }, args)) ?? (await restoreStaged(db, tier, { file: args.file, out: args.out }, () => unlockSite(db, args)));
        log.info(`${r.path} restored to ${args.out} (${formatSize(r.plainSize)}), SHA-256 verified`);
      } catch (e) {
        throw toUserError(e, `restore gdrive ${args.file}`);
      }
    }),
};

/** Registered in node/commands/restore.ts's `restoreCommands`. */
export const restoreCloudCommands: CommandModule<any, any>[] = [restoreAws, restoreGdrive];
