/**
 * Google OAuth files as lomob uses them: the client credentials JSON downloaded from the Cloud
 * console (`{"installed": {client_id, client_secret, auth_uri, token_uri, redirect_uris}}`) and
 * the token file (Go oauth2.Token JSON: access_token, token_type, refresh_token, expiry), written
 * with mode 0600 via a temp file + fsync + rename so a crash never leaves half a token.
 *
 * The endpoints come from the credentials file, so the same code talks to Google or to the test
 * emulator. LOMO_GDRIVE_ROOT_URL overrides the Drive API root (tests, proxies).
 */
import { OAuth2Client } from 'google-auth-library';
import fs from 'node:fs';
import path from 'node:path';
import { TierError } from './tier.js';

/** Every file of the user: what lomob asks for. Only on request (`util gcloud-auth --scope drive`). */
export const DRIVE_SCOPE = 'https://www.googleapis.com/auth/drive';
/**
 * Only the files this app (OAuth client) created or the user opened with it: all staging needs
 * (create, list, read, delete our own files; about.get for the quota), and nothing else of the
 * user's Drive is reachable with the token. The default of `util gcloud-auth`.
 */
export const DRIVE_FILE_SCOPE = 'https://www.googleapis.com/auth/drive.file';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  authUri: string;
  tokenUri: string;
  redirectUris: string[];
}

export interface TokenFile {
  access_token?: string;
  token_type?: string;
  refresh_token?: string;
  /** RFC 3339, as Go's oauth2.Token writes it. */
  expiry?: string;
  /** The scopes granted (ours only: Go's oauth2.Token has no such field and lomob ignores it). */
  scope?: string;
}

export function readCredentials(file: string): ClientCredentials {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch {
    throw new TierError(`cannot read Google OAuth credentials "${file}": download the OAuth client JSON (Desktop app) from the Cloud console and pass it with --cred`, 'auth');
  }
  let j: Record<string, Record<string, unknown>>;
  try {
    j = JSON.parse(raw) as Record<string, Record<string, unknown>>;
  } catch {
    throw new TierError(`"${file}" is not JSON: pass the OAuth client file downloaded from the Cloud console with --cred`, 'auth');
  }
  const c = j.installed ?? j.web;
  if (!c || typeof c.client_id !== 'string' || typeof c.client_secret !== 'string') {
    throw new TierError(`"${file}" has no "installed" (or "web") client_id/client_secret: create an OAuth client ID of type Desktop app and download its JSON`, 'auth');
  }
  return {
    clientId: c.client_id,
    clientSecret: c.client_secret,
    authUri: (c.auth_uri as string) ?? 'https://accounts.google.com/o/oauth2/auth',
    tokenUri: (c.token_uri as string) ?? 'https://oauth2.googleapis.com/token',
    redirectUris: (c.redirect_uris as string[]) ?? [],
  };
}

export function readToken(file: string): TokenFile {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TokenFile;
  } catch {
    throw new TierError(`no usable Google token in "${file}": run \`lomo-peer util gcloud-auth\` first (or pass --token)`, 'auth');
  }
}

/** Atomic write with mode 0600: the token grants full access to the user's Drive. */
export function writeToken(file: string, t: TokenFile): void {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(t) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function oauthClient(cred: ClientCredentials, redirectUri?: string): OAuth2Client {
  return new OAuth2Client({
    clientId: cred.clientId,
    clientSecret: cred.clientSecret,
    redirectUri,
    endpoints: { oauth2TokenUrl: cred.tokenUri, oauth2AuthBaseUrl: cred.authUri },
  });
}

/** An authorized client from the two files; refreshed tokens are written back to the token file. */
export function authorizedClient(credFile: string, tokenFile: string): OAuth2Client {
  const client = oauthClient(readCredentials(credFile));
  const t = readToken(tokenFile);
  if (!t.refresh_token && !t.access_token) throw new TierError(`"${tokenFile}" holds no token: run \`lomo-peer util gcloud-auth\``, 'auth');
  client.setCredentials({ access_token: t.access_token, refresh_token: t.refresh_token, expiry_date: t.expiry ? Date.parse(t.expiry) : undefined, token_type: t.token_type });
  client.on('tokens', (nt) => {
    writeToken(tokenFile, {
      access_token: nt.access_token ?? t.access_token,
      token_type: nt.token_type ?? 'Bearer',
      refresh_token: nt.refresh_token ?? t.refresh_token,
      expiry: nt.expiry_date ? new Date(nt.expiry_date).toISOString() : t.expiry,
      scope: nt.scope ?? t.scope,
    });
  });
  return client;
}

/** The message for an expired or revoked refresh token (7-day tokens of apps in "testing"). */
export const EXPIRED_REFRESH_HELP =
  'the Google refresh token has expired or was revoked. OAuth apps whose consent screen is in "Testing" status get refresh tokens that expire after 7 days: run `lomo-peer util gcloud-auth` again to sign in, and publish the app (OAuth consent screen → "Publish app") to get long-lived tokens';

export function driveRootUrl(): string | undefined {
  return process.env.LOMO_GDRIVE_ROOT_URL || undefined;
}
