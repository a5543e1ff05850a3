/**
 * Signing in to Google Drive (`util gcloud-auth`, `util gcloud-auth-refresh`), as lomob does: the
 * consent URL, a loopback server that waits for Google's redirect and checks `state` (a callback
 * without our random state did not come from our request), the code exchanged, the token saved
 * with mode 0600. Lines for the user come as progress ('info': shown as they are; 'warn').
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { DRIVE_SCOPE, EXPIRED_REFRESH_HELP, oauthClient, readCredentials, readToken, writeToken } from '../tiers/gdrive-auth.js';
import { TierError } from '../tiers/tier.js';
import { JobError, noProgress, type ProgressFn } from './job.js';

const JOB = 'gcloud-auth';

export interface SignInOptions {
  /** The OAuth client JSON from the Cloud console. */
  credentials: string;
  /** Where the token is saved. */
  token: string;
  /** Redirect path and port registered for the OAuth client. */
  redirectPath: string;
  redirectPort: number;
  /** Seconds to wait for the browser. */
  timeoutSeconds: number;
}

export async function signInToDrive(opts: SignInOptions, onProgress: ProgressFn = noProgress): Promise<void> {
  const say = (message: string) => onProgress({ job: JOB, level: 'info', message });
  const warn = (message: string) => onProgress({ job: JOB, level: 'warn', message });
  const cred = readCredentials(opts.credentials);
  const redirectPath = opts.redirectPath.startsWith('/') ? opts.redirectPath : '/' + opts.redirectPath;
  const redirectUri = `http://localhost${opts.redirectPort === 80 ? '' : ':' + opts.redirectPort}${redirectPath === '/' ? '' : redirectPath}`;
  const client = oauthClient(cred, redirectUri);
  const state = randomBytes(16).toString('hex');
  const url = client.generateAuthUrl({ access_type: 'offline', prompt: 'consent', scope: [DRIVE_SCOPE], state });
  const done = {} as { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  done.promise = new Promise<void>((resolve, reject) => Object.assign(done, { resolve, reject }));
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', redirectUri);
    if (u.pathname !== redirectPath) return void res.writeHead(404).end('not found');
    say(`Handle google callback: ${u.pathname}${u.search}`);
    if (u.searchParams.get('state') !== state) {
      warn('callback refused: its state does not match this sign-in (an old tab, or a forged request)');
      return void res.writeHead(400, { 'content-type': 'text/plain' }).end('State mismatch: start again with lomo-peer util gcloud-auth');
    }
    const error = u.searchParams.get('error');
    if (error) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`Google said: ${error}`);
      return done.reject(new JobError(`Google refused the sign-in (${error}); run util gcloud-auth again and allow access`, 'storage'));
    }
    const code = u.searchParams.get('code');
    if (!code) return void res.writeHead(400).end('no code');
    say(`Start exchange: ${code}`);
    client
      .getToken({ code, redirect_uri: redirectUri })
      .then(({ tokens }) => {
        if (!tokens.refresh_token) warn('Google sent no refresh token: revoke the app at myaccount.google.com/permissions and sign in again');
        writeToken(opts.token, {
          access_token: tokens.access_token ?? undefined,
          token_type: tokens.token_type ?? 'Bearer',
          refresh_token: tokens.refresh_token ?? undefined,
          expiry: tokens.expiry_date ? new Date(tokens.expiry_date).toISOString() : undefined,
        });
        say(`Exchange success, saving token into ${opts.token}`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in. You can close this window.');
        done.resolve();
      })
      .catch((e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Token exchange failed');
        done.reject(new JobError(`token exchange failed: ${e.message}; check --cred and the redirect URI registered for the OAuth client`, 'storage'));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new JobError(
          e.code === 'EADDRINUSE' || e.code === 'EACCES'
            ? `cannot listen on port ${opts.redirectPort} (${e.code}): pass --redirect-port 8080 (and register http://localhost:8080${redirectPath === '/' ? '/' : redirectPath} as a redirect URI), or run with sudo for port 80`
            : `cannot start the redirect server: ${e.message}`,
          'usage',
        ),
      ),
    );
    server.listen(opts.redirectPort, 'localhost', resolve);
  });
  say('Please open the link below in your browser and allow access:');
  say(url);
  const timer = setTimeout(() => done.reject(new JobError(`no answer from the browser within ${opts.timeoutSeconds} s; run the command again`, 'storage')), opts.timeoutSeconds * 1000);
  try {
    await done.promise;
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    server.close();
  }
}

/** A new access token from the saved refresh token, written back (0600). */
export async function refreshDriveToken(opts: { credentials: string; token: string }): Promise<void> {
  const client = oauthClient(readCredentials(opts.credentials));
  const t = readToken(opts.token);
  if (!t.refresh_token) throw new TierError(`"${opts.token}" has no refresh token: run \`lomo-peer util gcloud-auth\``, 'auth');
  client.setCredentials({ refresh_token: t.refresh_token });
  let creds;
  try {
    ({ credentials: creds } = await client.refreshAccessToken());
  } catch (e) {
    const data = (e as { response?: { data?: { error?: string } } }).response?.data;
    if (data?.error === 'invalid_grant' || /invalid_grant/.test(String((e as Error).message))) throw new TierError(EXPIRED_REFRESH_HELP, 'auth');
    throw new TierError(`token refresh failed: ${(e as Error).message}`, 'auth');
  }
  writeToken(opts.token, {
    access_token: creds.access_token ?? undefined,
    token_type: creds.token_type ?? 'Bearer',
    refresh_token: creds.refresh_token ?? t.refresh_token,
    expiry: creds.expiry_date ? new Date(creds.expiry_date).toISOString() : undefined,
  });
}
