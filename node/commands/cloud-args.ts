import type { Argv } from 'yargs';
import { TierError } from '../../storage/tiers/tier.js';
import { EXIT, UserError } from '../exit-codes.js';

/**
 * The options of the cloud commands (upload, restore aws/gdrive, list gdrive) with lomob's names.
 * Kept free of SDK imports: `list` and `restore` load this module for their help and syntax, and
 * load the AWS/Google clients (cloud-options.ts) only when a cloud subcommand runs.
 */

export interface AwsArgs {
  awsAccessKeyID?: string;
  awsSecretAccessKey?: string;
  awsBucketRegion?: string;
  awsBucketName: string;
  awsEndpoint?: string;
  /** --awsBucketName was given (not lomob's default): the user asked for S3. */
  awsBucketNameGiven?: boolean;
}

/** lomob's default bucket. */
export const DEFAULT_BUCKET = 'lomorage';

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

export function awsOptions<T>(y: Argv<T>): Argv<T & AwsArgs> {
  return y
    .option('awsAccessKeyID', { type: 'string', describe: 'aws Access Key ID [$AWS_ACCESS_KEY_ID]' })
    .option('awsSecretAccessKey', { type: 'string', describe: 'aws Secret Access Key [$AWS_SECRET_ACCESS_KEY]' })
    .option('awsBucketRegion', { type: 'string', describe: 'aws Bucket Region [$AWS_DEFAULT_REGION]' })
    // The default is applied below rather than by yargs, so that a bucket given explicitly is known to be an S3 request.
    .option('awsBucketName', { type: 'string', defaultDescription: JSON.stringify(DEFAULT_BUCKET), describe: 'awsBucketName' })
    .option('awsEndpoint', { type: 'string', describe: 'S3-compatible endpoint URL (path-style addressing) [$AWS_ENDPOINT_URL, $LOCALSTACK_ENDPOINT]' })
    .middleware((argv) => {
      const a = argv as unknown as AwsArgs;
      a.awsBucketNameGiven = a.awsBucketName !== undefined;
      a.awsBucketName ??= DEFAULT_BUCKET;
    }) as unknown as Argv<T & AwsArgs>;
}

export function driveOptions<T>(y: Argv<T>): Argv<T & DriveArgs> {
  return y
    .option('cred', { type: 'string', describe: 'Google cloud oauth credential json file (default: "gdrive-credentials.json")' })
    .option('token', { type: 'string', describe: 'Token file to access google cloud (default: "gdrive-token.json")' })
    .option('folder', { type: 'string', default: 'lomorage', describe: 'Top folder in Google Drive' }) as unknown as Argv<T & DriveArgs>;
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
