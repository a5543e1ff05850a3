import type { Argv } from 'yargs';
import fs from 'node:fs';
import path from 'node:path';
import { FileTier } from '../../storage/tiers/file.js';
import type { UploadJournal } from '../../storage/tiers/upload-journal.js';
import { dataDir, type GlobalArgs } from '../context.js';
import { log } from '../log.js';
import { authorizedClient, driveRootUrl } from '../../storage/tiers/gdrive-auth.js';
import { GDriveTier } from '../../storage/tiers/gdrive.js';
import { S3Tier, type S3TierOptions } from '../../storage/tiers/s3.js';
import { TierError } from '../../storage/tiers/tier.js';
import { EXIT, UserError } from '../exit-codes.js';

/** Options shared by the cloud commands (upload, restore, list gdrive), with lomob's names. */

export interface AwsArgs {
  awsAccessKeyID?: string;
  awsSecretAccessKey?: string;
  awsBucketRegion?: string;
  awsBucketName: string;
  awsEndpoint?: string;
}

export interface DriveArgs {
  cred?: string;
  token?: string;
  folder: string;
}

/** `--target`: where the copies go instead of the default cloud (a folder / NAS: file:///path). */
export interface TargetArgs {
  target?: string;
}

export function targetOption<T>(y: Argv<T>, what: string): Argv<T & TargetArgs> {
  return y.option('target', {
    type: 'string',
    describe: `Store ${what} in this folder tier instead (file:///path or a path, e.g. a NAS mount); the default without cloud credentials is the local folder tier in the data folder`,
  }) as unknown as Argv<T & TargetArgs>;
}

function folderTier(target: string): FileTier {
  return new FileTier(target.startsWith('file://') ? target : path.resolve(target));
}

/**
 * The archive tier of `upload iso` / `restore aws`: --target, else S3 when AWS credentials are
 * given (flags or environment), else the embedded default — the folder tier <data-dir>/archive —
 * so that the whole flow runs with no cloud account at all.
 */
export function archiveTierFrom(args: GlobalArgs & AwsArgs & TargetArgs, extra: Partial<S3TierOptions> = {}): S3Tier | FileTier {
  if (args.target) return folderTier(args.target);
  const id = args.awsAccessKeyID ?? process.env.AWS_ACCESS_KEY_ID;
  const secret = args.awsSecretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (!id && !secret && !args.awsEndpoint && !process.env.AWS_ENDPOINT_URL) {
    const t = new FileTier(path.join(dataDir(args), 'archive'));
    log.warn(`no AWS credentials (--awsAccessKeyID/--awsSecretAccessKey or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY): using the local folder tier ${t.url}`);
    return t;
  }
  return s3TierFrom(args, extra);
}

/**
 * The staging tier of `upload files`, `list gdrive`, `restore gdrive`: --target, else Google Drive
 * when the credentials file exists (or --cred was given), else the folder tier <data-dir>/staging.
 */
export function stagingTierFrom(args: GlobalArgs & DriveArgs & TargetArgs, opts: { cacheListings?: boolean; journal?: UploadJournal } = {}): GDriveTier | FileTier {
  if (args.target) return folderTier(args.target);
  if (args.cred === undefined && !fs.existsSync('gdrive-credentials.json')) {
    const t = new FileTier(path.join(dataDir(args), 'staging'));
    log.warn(`no gdrive-credentials.json here (see util gcloud-auth; --cred/--token): using the local folder tier ${t.url}`);
    return t;
  }
  return driveTierFrom(args, opts);
}

export function awsOptions<T>(y: Argv<T>): Argv<T & AwsArgs> {
  return y
    .option('awsAccessKeyID', { type: 'string', describe: 'aws Access Key ID [$AWS_ACCESS_KEY_ID]' })
    .option('awsSecretAccessKey', { type: 'string', describe: 'aws Secret Access Key [$AWS_SECRET_ACCESS_KEY]' })
    .option('awsBucketRegion', { type: 'string', describe: 'aws Bucket Region [$AWS_DEFAULT_REGION]' })
    .option('awsBucketName', { type: 'string', default: 'lomorage', describe: 'awsBucketName' })
    .option('awsEndpoint', { type: 'string', describe: 'S3-compatible endpoint URL (path-style addressing) [$AWS_ENDPOINT_URL]' }) as unknown as Argv<T & AwsArgs>;
}

export function driveOptions<T>(y: Argv<T>): Argv<T & DriveArgs> {
  return y
    .option('cred', { type: 'string', describe: 'Google cloud oauth credential json file (default: "gdrive-credentials.json")' })
    .option('token', { type: 'string', describe: 'Token file to access google cloud (default: "gdrive-token.json")' })
    .option('folder', { type: 'string', default: 'lomorage', describe: 'Top folder in Google Drive' }) as unknown as Argv<T & DriveArgs>;
}

export function s3TierFrom(args: AwsArgs, extra: Partial<S3TierOptions> = {}): S3Tier {
  const id = args.awsAccessKeyID ?? process.env.AWS_ACCESS_KEY_ID;
  const secret = args.awsSecretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) {
    throw new UserError('no AWS credentials: pass --awsAccessKeyID and --awsSecretAccessKey, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', EXIT.USAGE);
  }
  try {
    return new S3Tier({
      bucket: args.awsBucketName,
      region: args.awsBucketRegion ?? process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION,
      endpoint: args.awsEndpoint ?? process.env.AWS_ENDPOINT_URL,
      accessKeyId: id,
      secretAccessKey: secret,
      ...extra,
    });
  } catch (e) {
    throw cloudUserError(e);
  }
}

export function driveTierFrom(args: DriveArgs, opts: { cacheListings?: boolean; journal?: UploadJournal } = {}): GDriveTier {
  try {
    return new GDriveTier({ auth: authorizedClient(args.cred ?? 'gdrive-credentials.json', args.token ?? 'gdrive-token.json'), folder: args.folder, rootUrl: driveRootUrl(), ...opts });
  } catch (e) {
    throw cloudUserError(e);
  }
}

/** TierError → UserError with the documented exit code. */
export function cloudUserError(e: unknown, what?: string): unknown {
  if (e instanceof TierError) {
    const msg = what ? `${what}: ${e.message}` : e.message;
    if (e.kind === 'checksum') return new UserError(msg, EXIT.CORRUPT);
    if (e.kind === 'invalid') return new UserError(msg, EXIT.USAGE);
    return new UserError(msg, EXIT.CLOUD);
  }
  return e;
}

/** SIGINT/SIGTERM abort the work in progress; completed parts stay recorded. */
export function interruptible(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const on = () => ac.abort(new UserError('interrupted: finished parts are recorded; run the same command again to resume', EXIT.INTERRUPTED));
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}
