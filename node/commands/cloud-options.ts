import type { Argv } from 'yargs';
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
  cred: string;
  token: string;
  folder: string;
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
    .option('cred', { type: 'string', default: 'gdrive-credentials.json', describe: 'Google cloud oauth credential json file' })
    .option('token', { type: 'string', default: 'gdrive-token.json', describe: 'Token file to access google cloud' })
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

export function driveTierFrom(args: DriveArgs): GDriveTier {
  try {
    return new GDriveTier({ auth: authorizedClient(args.cred, args.token), folder: args.folder, rootUrl: driveRootUrl() });
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
