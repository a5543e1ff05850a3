import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openTier, type TierOptions, type TierSecrets } from '../../storage/tiers/open.js';
import type { Tier } from '../../storage/tiers/tier.js';
import type { UploadJournal } from '../../storage/tiers/upload-journal.js';
import type { LomobStorageClass } from '../../storage/tiers/s3-classes.js';
import { driveRootUrl } from '../../storage/tiers/gdrive-auth.js';
import { dataDir, type GlobalArgs } from '../context.js';
import { log } from '../log.js';
import { EXIT, UserError } from '../exit-codes.js';

/**
 * The cloud commands' flags (and the AWS_* / LOMO_GDRIVE_ROOT_URL environment) as a tier URL plus
 * secrets, opened with storage/tiers/open.ts. The options themselves live in cloud-args.ts.
 */

export { awsOptions, cloudUserError, driveOptions, interruptible, targetOption, type AwsArgs, type DriveArgs, type TargetArgs } from './cloud-args.js';
import { cloudUserError } from './cloud-args.js';
import type { AwsArgs, DriveArgs, TargetArgs } from './cloud-args.js';

/** What a command adds to the flags: the journal, tuning, the archive's storage class. */
export interface TierExtras {
  journal?: UploadJournal;
  options?: TierOptions;
  storageClass?: LomobStorageClass;
}

const folderUrl = (target: string) => (target.startsWith('file://') ? target : pathToFileURL(path.resolve(target)).href);

async function open(url: string, secrets: TierSecrets): Promise<Tier> {
  try {
    return await openTier(url, secrets);
  } catch (e) {
    throw cloudUserError(e);
  }
}

/**
 * The archive tier of `upload iso` / `restore aws`: --target, else S3 when AWS credentials are
 * given (flags or environment), else the embedded default — the folder tier <data-dir>/archive —
 * so that the whole flow runs with no cloud account at all.
 */
export async function archiveTierFrom(args: GlobalArgs & AwsArgs & TargetArgs, extra: TierExtras = {}): Promise<Tier> {
  if (args.target) return open(folderUrl(args.target), extra);
  const id = args.awsAccessKeyID ?? process.env.AWS_ACCESS_KEY_ID;
  const secret = args.awsSecretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  const endpoint = args.awsEndpoint ?? process.env.AWS_ENDPOINT_URL;
  if (!id && !secret && !endpoint) {
    const t = await open(folderUrl(path.join(dataDir(args), 'archive')), extra);
    log.warn(`no AWS credentials (--awsAccessKeyID/--awsSecretAccessKey or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY): using the local folder tier ${t.url}`);
    return t;
  }
  if (!id || !secret) {
    throw new UserError('no AWS credentials: pass --awsAccessKeyID and --awsSecretAccessKey, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', EXIT.USAGE);
  }
  const q = new URLSearchParams();
  const region = args.awsBucketRegion ?? process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION;
  if (region) q.set('region', region);
  if (endpoint) q.set('endpoint', endpoint);
  if (extra.storageClass) q.set('class', extra.storageClass);
  const query = q.size ? `?${q}` : '';
  return open(`s3://${encodeURIComponent(args.awsBucketName)}${query}`, { ...extra, aws: { accessKeyId: id, secretAccessKey: secret } });
}

/**
 * The staging tier of `upload files`, `list gdrive`, `restore gdrive`: --target, else Google Drive
 * when the credentials file exists (or --cred was given), else the folder tier <data-dir>/staging.
 */
export async function stagingTierFrom(args: GlobalArgs & DriveArgs & TargetArgs, extra: TierExtras = {}): Promise<Tier> {
  if (args.target) return open(folderUrl(args.target), extra);
  if (args.cred === undefined && !fs.existsSync('gdrive-credentials.json')) {
    const t = await open(folderUrl(path.join(dataDir(args), 'staging')), extra);
    log.warn(`no gdrive-credentials.json here (see util gcloud-auth; --cred/--token): using the local folder tier ${t.url}`);
    return t;
  }
  const root = driveRootUrl();
  const query = root ? `?${new URLSearchParams({ endpoint: root })}` : '';
  return open(`gdrive://${encodeURIComponent(args.folder)}${query}`, { ...extra, drive: { credentials: args.cred ?? 'gdrive-credentials.json', token: args.token ?? 'gdrive-token.json' } });
}
