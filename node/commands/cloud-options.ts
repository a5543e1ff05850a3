import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openTier, type TierOptions, type TierSecrets } from '../../storage/tiers/open.js';
import type { Tier } from '../../storage/tiers/tier.js';
import type { S3Tier } from '../../storage/tiers/s3.js';
import type { UploadJournal } from '../../storage/tiers/upload-journal.js';
import type { LomobStorageClass } from '../../storage/tiers/s3-classes.js';
import { driveRootUrl } from '../../storage/tiers/gdrive-auth.js';
import { dataDir, type GlobalArgs } from '../context.js';
import { log } from '../log.js';
import { EXIT, UserError } from '../exit-codes.js';

/**
 * The cloud commands' flags (and the AWS_* / LOCALSTACK_ENDPOINT / LOMO_GDRIVE_ROOT_URL environment) as a tier URL plus
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

/** The endpoint asked for: --awsEndpoint, else AWS_ENDPOINT_URL, else lomob's LOCALSTACK_ENDPOINT. */
const endpointOf = (args: AwsArgs) => args.awsEndpoint || process.env.AWS_ENDPOINT_URL || process.env.LOCALSTACK_ENDPOINT || undefined;

/** What in the command line or the environment asks for S3 (empty: nothing cloud-related was asked). */
export function s3Requests(args: AwsArgs & { partSize?: string }, extra: TierExtras = {}): string[] {
  const asked: string[] = [];
  if (args.awsBucketNameGiven) asked.push(`--awsBucketName ${args.awsBucketName}`);
  if (args.awsBucketRegion) asked.push('--awsBucketRegion');
  if (args.awsEndpoint) asked.push('--awsEndpoint');
  else if (process.env.AWS_ENDPOINT_URL) asked.push('AWS_ENDPOINT_URL');
  else if (process.env.LOCALSTACK_ENDPOINT) asked.push('LOCALSTACK_ENDPOINT');
  if (extra.storageClass && extra.storageClass !== 'STANDARD') asked.push(`--storage-class ${extra.storageClass}`);
  if (args.partSize !== undefined) asked.push('--part-size');
  if (process.env.AWS_PROFILE) asked.push(`AWS_PROFILE=${process.env.AWS_PROFILE}`);
  return asked;
}

/** lomob's key pair: its flags first, then its variables (with the session token temporary keys come with). */
function lomobKeyPair(args: AwsArgs): TierSecrets['aws'] | undefined {
  const pair = (id: string | undefined, secret: string | undefined, names: string, sessionToken?: string) => {
    if (!id && !secret) return undefined;
    if (!id || !secret) throw new UserError(`incomplete AWS key pair: give both ${names}`, EXIT.USAGE);
    return { accessKeyId: id, secretAccessKey: secret, ...(sessionToken ? { sessionToken } : {}) };
  };
  return (
    pair(args.awsAccessKeyID, args.awsSecretAccessKey, '--awsAccessKeyID and --awsSecretAccessKey') ??
    pair(process.env.AWS_ACCESS_KEY_ID, process.env.AWS_SECRET_ACCESS_KEY, 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY', process.env.AWS_SESSION_TOKEN || undefined)
  );
}

const CREDENTIAL_SOURCES =
  '--awsAccessKeyID/--awsSecretAccessKey, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), or an AWS profile (~/.aws/credentials, AWS_PROFILE, `aws sso login`)';

/**
 * The archive tier of `upload iso` / `restore aws`: --target, else S3 when there are AWS
 * credentials — lomob's flags and variables first, then wherever the AWS tools find them (profile
 * files, AWS_PROFILE, SSO, roles) — else the embedded default, the folder tier <data-dir>/archive,
 * so that the whole flow runs with no cloud account at all. That fallback is taken only when
 * nothing asked for S3: a bucket, an endpoint or a storage class without credentials is an error
 * (exit 9), never a silent local copy.
 */
export async function archiveTierFrom(args: GlobalArgs & AwsArgs & TargetArgs & { partSize?: string }, extra: TierExtras = {}): Promise<Tier> {
  if (args.target) return open(folderUrl(args.target), extra);
  const keys = lomobKeyPair(args);
  const q = new URLSearchParams();
  const region = args.awsBucketRegion ?? process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION;
  if (region) q.set('region', region);
  const endpoint = endpointOf(args);
  if (endpoint) q.set('endpoint', endpoint);
  if (extra.storageClass) q.set('class', extra.storageClass);
  const url = `s3://${encodeURIComponent(args.awsBucketName)}${q.size ? `?${q}` : ''}`;
  if (keys) return open(url, { ...extra, aws: keys });
  const s3 = (await open(url, extra)) as S3Tier;
  const creds = await s3.findCredentials();
  if (creds.found) return s3;
  const asked = s3Requests(args, extra);
  if (asked.length) {
    throw new UserError(`S3 was asked for (${asked.join(', ')}) but no AWS credentials were found (${creds.reason}): give them with ${CREDENTIAL_SOURCES}; or store in a folder with --target`, EXIT.CLOUD);
  }
  const t = await open(folderUrl(path.join(dataDir(args), 'archive')), extra);
  log.warn(`no AWS credentials (${CREDENTIAL_SOURCES}): using the local folder tier ${t.url}`);
  return t;
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
