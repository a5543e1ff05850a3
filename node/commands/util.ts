import type { Argv, CommandModule } from 'yargs';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { DRIVE_SCOPE, EXPIRED_REFRESH_HELP, oauthClient, readCredentials, readToken, writeToken } from '../../storage/tiers/gdrive-auth.js';
import { TierError } from '../../storage/tiers/tier.js';
import type { GlobalArgs } from '../context.js';
import { EXIT, UserError } from '../exit-codes.js';
import { log } from '../log.js';

interface AuthArgs extends GlobalArgs {
  cred: string;
  token: string;
  redirectPath: string;
  redirectPort: number;
  timeout: number;
}

const credOptions = (y: Argv<GlobalArgs>) =>
  y
    .option('cred', { type: 'string', default: 'gdrive-credentials.json', describe: 'Google cloud oauth credential json file' })
    .option('token', { type: 'string', default: 'gdrive-token.json', describe: 'Token file to access google cloud' });

function cloudError(err: unknown): never {
  if (err instanceof TierError) throw new UserError(err.message, EXIT.CLOUD);
  throw err;
}

/**
 * `util gcloud-auth`, as lomob: print Google's consent URL, wait for the redirect on a loopback
 * server, check `state` (a callback without our random state is refused: it did not come from our
 * request), exchange the code and save the token with mode 0600.
 */
const gcloudAuth: CommandModule<GlobalArgs, AuthArgs> = {
  command: 'gcloud-auth',
  describe: 'Sign in to Google Drive and save an OAuth token',
  builder: (y) =>
    credOptions(y)
      .option('redirect-path', { type: 'string', default: '/', describe: 'Redirect path defined in credentials.json' })
      .option('redirect-port', { type: 'number', default: 80, describe: 'Redirect port defined in credentials.json' })
      .option('timeout', { type: 'number', default: 600, describe: 'Seconds to wait for the browser' })
      .example('$0 util gcloud-auth --redirect-port 8080 --redirect-path /auth/callback', 'without root: a high port') as unknown as Argv<AuthArgs>,
  handler: async (args) => {
    let cred;
    try {
      cred = readCredentials(args.cred);
    } catch (e) {
      cloudError(e);
    }
    const redirectPath = args.redirectPath.startsWith('/') ? args.redirectPath : '/' + args.redirectPath;
    const redirectUri = `http://localhost${args.redirectPort === 80 ? '' : ':' + args.redirectPort}${redirectPath === '/' ? '' : redirectPath}`;
    const client = oauthClient(cred, redirectUri);
    const state = randomBytes(16).toString('hex');
    const url = client.generateAuthUrl({ access_type: 'offline', prompt: 'consent', scope: [DRIVE_SCOPE], state });
    const done = {} as { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
    done.promise = new Promise<void>((resolve, reject) => Object.assign(done, { resolve, reject }));
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', redirectUri);
      if (u.pathname !== redirectPath) return void res.writeHead(404).end('not found');
      console.log(`Handle google callback: ${u.pathname}${u.search}`);
      if (u.searchParams.get('state') !== state) {
        log.warn('callback refused: its state does not match this sign-in (an old tab, or a forged request)');
        return void res.writeHead(400, { 'content-type': 'text/plain' }).end('State mismatch: start again with lomo-peer util gcloud-auth');
      }
      const error = u.searchParams.get('error');
      if (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`Google said: ${error}`);
        return done.reject(new UserError(`Google refused the sign-in (${error}); run util gcloud-auth again and allow access`, EXIT.CLOUD));
      }
      const code = u.searchParams.get('code');
      if (!code) return void res.writeHead(400).end('no code');
      console.log(`Start exchange: ${code}`);
      client
        .getToken({ code, redirect_uri: redirectUri })
        .then(({ tokens }) => {
          if (!tokens.refresh_token) log.warn('Google sent no refresh token: revoke the app at myaccount.google.com/permissions and sign in again');
          writeToken(args.token, {
            access_token: tokens.access_token ?? undefined,
            token_type: tokens.token_type ?? 'Bearer',
            refresh_token: tokens.refresh_token ?? undefined,
            expiry: tokens.expiry_date ? new Date(tokens.expiry_date).toISOString() : undefined,
          });
          console.log(`Exchange success, saving token into ${args.token}`);
          res.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in. You can close this window.');
          done.resolve();
        })
        .catch((e: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('Token exchange failed');
          done.reject(new UserError(`token exchange failed: ${e.message}; check --cred and the redirect URI registered for the OAuth client`, EXIT.CLOUD));
        });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(
          new UserError(
            e.code === 'EADDRINUSE' || e.code === 'EACCES'
              ? `cannot listen on port ${args.redirectPort} (${e.code}): pass --redirect-port 8080 (and register http://localhost:8080${redirectPath === '/' ? '/' : redirectPath} as a redirect URI), or run with sudo for port 80`
              : `cannot start the redirect server: ${e.message}`,
            EXIT.USAGE,
          ),
        ),
      );
      server.listen(args.redirectPort, 'localhost', resolve);
    });
    console.log('Please open the link below in your browser and allow access:');
    console.log(url);
    const timer = setTimeout(() => done.reject(new UserError(`no answer from the browser within ${args.timeout} s; run the command again`, EXIT.CLOUD)), args.timeout * 1000);
    try {
      await done.promise;
    } finally {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    }
  },
};

/** `util gcloud-auth-refresh`: new access token from the refresh token, saved back (0600). */
const gcloudAuthRefresh: CommandModule<GlobalArgs, AuthArgs> = {
  command: 'gcloud-auth-refresh',
  describe: 'Refresh the Google OAuth token',
  builder: (y) => credOptions(y).example('$0 util gcloud-auth-refresh', 'renew the access token in gdrive-token.json') as unknown as Argv<AuthArgs>,
  handler: async (args) => {
    try {
      const client = oauthClient(readCredentials(args.cred));
      const t = readToken(args.token);
      if (!t.refresh_token) throw new TierError(`"${args.token}" has no refresh token: run \`lomo-peer util gcloud-auth\``, 'auth');
      client.setCredentials({ refresh_token: t.refresh_token });
      let creds;
      try {
        ({ credentials: creds } = await client.refreshAccessToken());
      } catch (e) {
        const data = (e as { response?: { data?: { error?: string } } }).response?.data;
        if (data?.error === 'invalid_grant' || /invalid_grant/.test(String((e as Error).message))) throw new TierError(EXPIRED_REFRESH_HELP, 'auth');
        throw new TierError(`token refresh failed: ${(e as Error).message}`, 'auth');
      }
      writeToken(args.token, {
        access_token: creds.access_token ?? undefined,
        token_type: creds.token_type ?? 'Bearer',
        refresh_token: creds.refresh_token ?? t.refresh_token,
        expiry: creds.expiry_date ? new Date(creds.expiry_date).toISOString() : undefined,
      });
      console.log(`Refresh success, saving token into ${args.token}`);
    } catch (e) {
      cloudError(e);
    }
  },
};

export const utilCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'util <tool>',
  describe: 'Various tools',
  builder: (y: Argv<GlobalArgs>) =>
    y
      .command([gcloudAuth, gcloudAuthRefresh] as CommandModule<GlobalArgs, any>[])
      .demandCommand(1, 'Name a tool.')
      .example('$0 util gcloud-auth --redirect-port 8080', 'get a Google Drive token through a browser'),
  handler: () => {},
};
