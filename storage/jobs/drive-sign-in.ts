/**
 * Signing in to Google Drive (`util gcloud-auth`, `util gcloud-auth-refresh`) as a desktop app
 * should ("OAuth 2.0 for Mobile & Desktop Apps", RFC 8252): a loopback server on 127.0.0.1 and a
 * port the system picks (Google accepts any loopback port for Desktop app clients), PKCE with S256
 * (RFC 7636: only this process, which holds the verifier, can exchange the code, even if another
 * local program sees the redirect), a random `state` (a callback without it did not come from our
 * request), the narrowest scope (drive.file), the token saved with mode 0600. The authorization
 * code is never printed: with the verifier it is the token.
 *
 * lomob's habits kept: a token file that still works is kept (no browser, exit 0) unless `force`;
 * `--redirect-port`/`--redirect-path` still select the fixed `http://localhost:<port><path>`
 * redirect a lomob credentials file registered; a refresh keeps the old token as
 * `<token>.<YYYY-MM-DD>` (lomob's suffix). Lines for the user come as progress ('info', 'warn').
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import type { OAuth2Client } from 'google-auth-library';
import { DRIVE_FILE_SCOPE, EXPIRED_REFRESH_HELP, oauthClient, readCredentials, readToken, writeToken, type TokenFile } from '../tiers/gdrive-auth.js';
import { TierError } from '../tiers/tier.js';
import { JobError, noProgress, type ProgressFn } from './job.js';

const JOB = 'gcloud-auth';
/** An access token this close to its expiry counts as expired (clock skew, a slow first request). */
const EXPIRY_MARGIN_MS = 60_000;

export interface SignInOptions {
  /** The OAuth client JSON from the Cloud console. */
  credentials: string;
  /** Where the token is saved. */
  token: string;
  /**
   * A redirect registered for the client (lomob's credentials): `http://localhost:<port><path>`.
   * Absent: `http://127.0.0.1:<port the system picks><path>`, what Desktop app clients accept.
   */
  redirectPort?: number;
  redirectPath: string;
  /** Seconds to wait for the browser. */
  timeoutSeconds: number;
  /** OAuth scope URL (default drive.file). */
  scope?: string;
  /** Sign in even when the token file still works. */
  force?: boolean;
}

/** What happened: a new sign-in, or the saved token kept (valid, or refreshed in place). */
export type SignInResult = 'signed-in' | 'token-valid' | 'token-refreshed';

/** PKCE (RFC 7636): a 43-character verifier of 256 random bits and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function tokenFromGoogle(tokens: { access_token?: string | null; token_type?: string | null; refresh_token?: string | null; expiry_date?: number | null; scope?: string | null }, old?: TokenFile): TokenFile {
  return {
    access_token: tokens.access_token ?? undefined,
    token_type: tokens.token_type ?? 'Bearer',
    refresh_token: tokens.refresh_token ?? old?.refresh_token,
    expiry: tokens.expiry_date ? new Date(tokens.expiry_date).toISOString() : undefined,
    // Not in Go's oauth2.Token (lomob ignores it): lets a later run tell what the token grants.
    scope: tokens.scope ?? old?.scope,
  };
}

/** A refreshed token from the saved refresh token; an expired/revoked one is a TierError 'auth'. */
async function refreshed(client: OAuth2Client, t: TokenFile): Promise<TokenFile> {
  client.setCredentials({ refresh_token: t.refresh_token });
  try {
    const { credentials } = await client.refreshAccessToken();
    return tokenFromGoogle(credentials, t);
  } catch (e) {
    const data = (e as { response?: { data?: { error?: string } } }).response?.data;
    if (data?.error === 'invalid_grant' || /invalid_grant/.test(String((e as Error).message))) throw new TierError(EXPIRED_REFRESH_HELP, 'auth', e);
    throw new TierError(`token refresh failed: ${(e as Error).message}`, 'auth', e);
  }
}

/**
 * lomob's "Token file exists already. Skip": true when the saved token still works — its access
 * token is valid, or its refresh token gives a new one (saved back, 0600). A token that cannot be
 * read or refreshed means a new sign-in.
 */
async function keepSavedToken(opts: SignInOptions, client: OAuth2Client, scope: string, onProgress: ProgressFn): Promise<SignInResult | null> {
  const say = (message: string) => onProgress({ job: JOB, level: 'info', message });
  if (!fs.existsSync(opts.token)) return null;
  let t: TokenFile;
  try {
    t = readToken(opts.token);
  } catch {
    onProgress({ job: JOB, level: 'warn', message: `${opts.token} is not a token file: signing in again` });
    return null;
  }
  const scopeNote = () => {
    if (t.scope?.split(/\s+/).includes(scope)) return;
    say(`The saved token may grant more than ${scope} (tokens made by lomob grant the whole Drive): \`util gcloud-auth --force\` signs in again with only that.`);
  };
  const expiry = t.expiry ? Date.parse(t.expiry) : NaN;
  if (t.access_token && expiry > Date.now() + EXPIRY_MARGIN_MS) {
    say('Token file exists already. Skip');
    scopeNote();
    return 'token-valid';
  }
  if (t.refresh_token) {
    try {
      writeToken(opts.token, await refreshed(client, t));
      say(`Token file exists already and its refresh token works: refreshed, saved into ${opts.token}. Skip`);
      scopeNote();
      return 'token-refreshed';
    } catch (e) {
      if (!(e instanceof TierError && e.kind === 'auth')) throw e;
    }
  }
  say(`Token expired at ${t.expiry ?? 'an unknown time'}, renew now`);
  return null;
}

export async function signInToDrive(opts: SignInOptions, onProgress: ProgressFn = noProgress): Promise<SignInResult> {
  const say = (message: string) => onProgress({ job: JOB, level: 'info', message });
  const warn = (message: string) => onProgress({ job: JOB, level: 'warn', message });
  const cred = readCredentials(opts.credentials);
  const scope = opts.scope ?? DRIVE_FILE_SCOPE;
  if (!opts.force) {
    const kept = await keepSavedToken(opts, oauthClient(cred), scope, onProgress);
    if (kept) return kept;
  }
  const redirectPath = opts.redirectPath.startsWith('/') ? opts.redirectPath : '/' + opts.redirectPath;
  // A fixed port is lomob's registered http://localhost:<port>; otherwise the loopback IP literal
  // (RFC 8252 8.3: not a name that could resolve elsewhere) on a port the system picks.
  const fixed = opts.redirectPort !== undefined;
  const host = fixed ? 'localhost' : '127.0.0.1';
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new JobError(
          e.code === 'EADDRINUSE' || e.code === 'EACCES'
            ? `cannot listen on port ${opts.redirectPort} (${e.code}): pass --redirect-port 8080 (and register http://localhost:8080${redirectPath === '/' ? '/' : redirectPath} as a redirect URI), or leave --redirect-port out: Desktop app clients accept any loopback port`
            : `cannot start the redirect server: ${e.message}`,
          'usage',
        ),
      ),
    );
    server.listen(fixed ? opts.redirectPort : 0, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = `http://${host}${fixed && port === 80 ? '' : ':' + port}${redirectPath === '/' ? '' : redirectPath}`;
  const client = oauthClient(cred, redirectUri);
  const state = randomBytes(16).toString('hex');
  const pkce = pkcePair();
  const url = client.generateAuthUrl({
    access_type: 'offline',
    prompt: 'consent',
    scope: [scope],
    state,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256' as never, // the library's enum; the wire value is "S256"
  });
  const done = {} as { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  done.promise = new Promise<void>((resolve, reject) => Object.assign(done, { resolve, reject }));
  let exchanging = false;
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', redirectUri);
    if (u.pathname !== redirectPath) return void res.writeHead(404).end('not found');
    // The path only: the query holds the authorization code.
    say(`Handle google callback: ${u.pathname}`);
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
    if (exchanging) return void res.writeHead(409, { 'content-type': 'text/plain' }).end('This sign-in is already being completed.');
    exchanging = true;
    say('Start exchange');
    client
      .getToken({ code, redirect_uri: redirectUri, codeVerifier: pkce.verifier })
      .then(({ tokens }) => {
        if (!tokens.refresh_token) warn('Google sent no refresh token: revoke the app at myaccount.google.com/permissions and sign in again');
        writeToken(opts.token, tokenFromGoogle({ ...tokens, scope: tokens.scope ?? scope }));
        say(`Exchange success, saving token into ${opts.token}`);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in. You can close this window.');
        done.resolve();
      })
      .catch((e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Token exchange failed');
        done.reject(new JobError(`token exchange failed: ${e.message}; check --cred and the redirect URI registered for the OAuth client`, 'storage'));
      });
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
  return 'signed-in';
}

/** lomob's backup name for the token a refresh replaces: `<token>.<YYYY-MM-DD>`, local date. */
export function tokenBackupName(token: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${token}.${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
}

/**
 * A new access token from the saved refresh token, written back (0600). The token file it
 * replaces is kept as `<token>.<YYYY-MM-DD>` (mode 0600, like lomob; a second refresh the same day
 * replaces that day's copy, as lomob's rename does). Nothing is renamed when the refresh fails.
 */
export async function refreshDriveToken(opts: { credentials: string; token: string }): Promise<{ backup: string }> {
  const client = oauthClient(readCredentials(opts.credentials));
  const t = readToken(opts.token);
  if (!t.refresh_token) throw new TierError(`"${opts.token}" has no refresh token: run \`lomo-peer util gcloud-auth\``, 'auth');
  const next = await refreshed(client, t);
  const backup = tokenBackupName(opts.token);
  // A copy, then the atomic replace: the token path always holds a whole token.
  fs.writeFileSync(backup, fs.readFileSync(opts.token), { mode: 0o600 });
  fs.chmodSync(backup, 0o600);
  writeToken(opts.token, next);
  return { backup };
}
