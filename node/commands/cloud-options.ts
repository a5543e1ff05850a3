import fs from 'node:fs';
import path from 'node:path';
import { FileTier } from '../../storage/tiers/file.js';
import type { UploadJournal } from '../../storage/tiers/upload-journal.js';
import { dataDir, type GlobalArgs } from '../context.js';
import { log } from '../log.js';
import { authorizedClient, driveRootUrl } from '../../storage/tiers/gdrive-auth.js';
import { GDriveTier } from '../../storage/tiers/gdrive.js';
import { S3Tier, type S3TierOptions } from '../../storage/tiers/s3.js';
import { EXIT, UserError } from '../exit-codes.js';

/** Tier factories for the cloud commands; their options live in cloud-args.ts (no SDK imports). */

export { awsOptions, cloudUserError, driveOptions, interruptible, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-args.js';
import { cloudUserError } from './cloud-args.js';
import type { AwsArgs, DriveArgs, TargetArgs } from './cloud-args.js';

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

