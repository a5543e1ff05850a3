import type { Argv, CommandModule } from 'yargs';
import { refreshDriveToken, signInToDrive } from '../../storage/jobs/drive-sign-in.js';
import { DRIVE_FILE_SCOPE, DRIVE_SCOPE } from '../../storage/tiers/gdrive-auth.js';
import type { JobProgress } from '../../storage/jobs/job.js';
import { TierError } from '../../storage/tiers/tier.js';
import type { GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { userErrorOf } from '../job-errors.js';
import { log } from '../log.js';
import { lomobUtilCommands } from './util-lomob.js';

interface AuthArgs extends GlobalArgs {
  cred: string;
  token: string;
  redirectPath: string;
  redirectPort?: number;
  timeout: number;
  scope: 'drive.file' | 'drive';
  force: boolean;
}

const credOptions = (y: Argv<GlobalArgs>) =>
  y
    .option('cred', { type: 'string', default: 'gdrive-credentials.json', describe: 'Google cloud oauth credential json file' })
    .option('token', { type: 'string', default: 'gdrive-token.json', describe: 'Token file to access google cloud' });

/** Any Google failure is a cloud failure (exit 9); the job's own errors keep their kinds. */
function cloudError(err: unknown): never {
  if (err instanceof TierError) throw new UserError(err.message, EXIT.CLOUD);
  throw userErrorOf(err);
}

/** The sign-in's lines for the user go to stdout, as lomob printed them; warnings to the log. */
const say = (p: JobProgress) => (p.level === 'warn' ? log.warn(p.message!) : console.log(p.message));

/**
 * `util gcloud-auth`, as a desktop app (storage/jobs/drive-sign-in.ts): loopback redirect on a port
 * the system picks, PKCE, drive.file scope, token saved 0600; a token that still works is kept.
 */
const gcloudAuth: CommandModule<GlobalArgs, AuthArgs> = {
  command: 'gcloud-auth',
  describe: 'Sign in to Google Drive and save an OAuth token (kept when it still works)',
  builder: (y) =>
    credOptions(y)
      .option('redirect-path', { type: 'string', default: '/', describe: 'Redirect path defined in credentials.json' })
      .option('redirect-port', { type: 'number', describe: 'Redirect port defined in credentials.json (default: http://127.0.0.1 on a free port, as Desktop app clients allow)' })
      .option('scope', { choices: ['drive.file', 'drive'] as const, default: 'drive.file' as const, describe: "drive.file: only this app's files (enough for staging); drive: the whole Drive, as lomob asked" })
      .option('force', { type: 'boolean', default: false, describe: 'Sign in again even if the token file still works' })
      .option('timeout', { type: 'number', default: 600, describe: 'Seconds to wait for the browser' })
      .example('$0 util gcloud-auth', 'sign in through a browser (any free loopback port)')
      .example('$0 util gcloud-auth --redirect-port 8080 --redirect-path /auth/callback', "lomob's fixed redirect registered for the client") as unknown as Argv<AuthArgs>,
  handler: async (args) => {
    await signInToDrive(
      {
        credentials: args.cred,
        token: args.token,
        redirectPath: args.redirectPath,
        redirectPort: args.redirectPort,
        timeoutSeconds: args.timeout,
        scope: args.scope === 'drive' ? DRIVE_SCOPE : DRIVE_FILE_SCOPE,
        force: args.force,
      },
      say,
    ).catch(cloudError);
  },
};

/** `util gcloud-auth-refresh`: new access token from the refresh token, saved back (0600). */
const gcloudAuthRefresh: CommandModule<GlobalArgs, AuthArgs> = {
  command: 'gcloud-auth-refresh',
  describe: 'Refresh the Google OAuth token',
  builder: (y) => credOptions(y).example('$0 util gcloud-auth-refresh', 'renew the access token in gdrive-token.json') as unknown as Argv<AuthArgs>,
  handler: async (args) => {
    const { backup } = await refreshDriveToken({ credentials: args.cred, token: args.token }).catch(cloudError);
    console.log(`Refresh success, old token kept as ${backup}, saving token into ${args.token}`);
  },
};

export const utilCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'util <tool>',
  describe: 'Various tools',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([gcloudAuth, gcloudAuthRefresh] as CommandModule<GlobalArgs, any>[])
      .command(lomobUtilCommands)
      .demandCommand(1, 'Name a tool.')
      .example('$0 util gcloud-auth', 'get a Google Drive token through a browser'),
  handler: () => {},
};
