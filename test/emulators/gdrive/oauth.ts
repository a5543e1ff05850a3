/**
 * Google's OAuth 2.0 endpoints as the installed-app flow uses them (authorization code with a
 * loopback redirect, then refresh): GET /o/oauth2/auth consents at once (the emulated user always
 * clicks "Allow") and redirects with `code` and the caller's `state`; POST /token exchanges a code
 * or a refresh token. Refresh tokens can be expired on demand, as Google does after 7 days for
 * apps left in "testing": the answer is then 400 {"error":"invalid_grant"}.
 *
 * As Google documents for desktop clients ("OAuth 2.0 for Mobile & Desktop Apps", RFC 8252 7.3 and
 * RFC 7636): a loopback redirect URI (http://127.0.0.1, http://[::1], http://localhost) is accepted
 * on any port, any other redirect must be one the client registered; PKCE: a `code_challenge`
 * (method S256 or plain) binds the code, and its exchange without the matching `code_verifier`
 * (43-128 characters of [A-Za-z0-9-._~]) is refused with invalid_grant. Every token remembers its
 * client and scopes, so the Drive endpoints can limit a drive.file token to its app's files.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
  /** Non-loopback redirect URIs registered for the client (loopback ones need no registration). */
  redirectUris?: string[];
}

export const DRIVE_FULL = 'https://www.googleapis.com/auth/drive';
export const DRIVE_FILE = 'https://www.googleapis.com/auth/drive.file';

/** Who an access token speaks for: the app (OAuth client) and the scopes the user granted it. */
export interface Grant {
  clientId: string;
  scopes: string[];
}

interface PendingCode {
  redirectUri: string;
  scope: string;
  challenge?: string;
  method?: string;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function isLoopback(u: URL): boolean {
  return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost');
}

export class OAuthState {
  readonly client: OAuthClient = { clientId: 'emu-client.apps.googleusercontent.com', clientSecret: 'emu-secret' };
  private codes = new Map<string, PendingCode>();
  private refreshTokens = new Map<string, { expired: boolean; scope: string }>();
  private accessTokens = new Map<string, { expiry: number; scope: string }>();
  accessTtlSec = 3600;
  /** Code exchanges refused for PKCE, newest last (tests read the reason). */
  readonly pkceRefusals: string[] = [];

  /** Mints a token pair directly (tests that skip the browser step); full Drive scope unless told. */
  grant(scope = DRIVE_FULL): { access_token: string; refresh_token: string; expiry_date: number } {
    const rt = '1//emu-rt-' + randomBytes(12).toString('hex');
    this.refreshTokens.set(rt, { expired: false, scope });
    const at = this.mintAccess(scope);
    return { access_token: at, refresh_token: rt, expiry_date: this.accessTokens.get(at)!.expiry };
  }

  expireRefreshTokens(): void {
    for (const v of this.refreshTokens.values()) v.expired = true;
  }

  /** Revokes every access token (as when one expires): clients must refresh. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  isValidAccess(token: string | undefined): boolean {
    return this.access(token) !== null;
  }

  /** The grant behind a live access token, or null (unknown or expired). */
  access(token: string | undefined): Grant | null {
    const a = token ? this.accessTokens.get(token) : undefined;
    if (!a || a.expiry <= Date.now()) return null;
    return { clientId: this.client.clientId, scopes: a.scope.split(/\s+/).filter(Boolean) };
  }

  private mintAccess(scope: string): string {
    const at = 'ya29.emu-' + randomBytes(16).toString('hex');
    this.accessTokens.set(at, { expiry: Date.now() + this.accessTtlSec * 1000, scope });
    return at;
  }

  /** GET /o/oauth2/auth */
  authorize(url: URL, res: ServerResponse): void {
    const p = url.searchParams;
    if (p.get('client_id') !== this.client.clientId) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error 401: invalid_client');
      return;
    }
    const redirect = p.get('redirect_uri');
    if (!redirect || p.get('response_type') !== 'code') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error 400: invalid_request');
      return;
    }
    let ru: URL;
    try {
      ru = new URL(redirect);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error 400: invalid_request');
      return;
    }
    if (!isLoopback(ru) && !(this.client.redirectUris ?? []).includes(redirect)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error 400: redirect_uri_mismatch');
      return;
    }
    const challenge = p.get('code_challenge') ?? undefined;
    const method = challenge ? (p.get('code_challenge_method') ?? 'plain') : undefined;
    if (method && method !== 'S256' && method !== 'plain') {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Error 400: invalid_request (code_challenge_method)');
      return;
    }
    const code = '4/emu-code-' + randomBytes(10).toString('hex');
    const scope = p.get('scope') ?? '';
    this.codes.set(code, { redirectUri: redirect, scope, challenge, method });
    const to = new URL(redirect);
    if (p.get('state') !== null) to.searchParams.set('state', p.get('state')!);
    to.searchParams.set('code', code);
    to.searchParams.set('scope', scope);
    res.writeHead(302, { location: to.toString() }).end();
  }

  /** POST /token (application/x-www-form-urlencoded) */
  token(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const p = new URLSearchParams(body.toString('utf8'));
    const fail = (status: number, error: string, description: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, error_description: description }));
    };
    let clientId = p.get('client_id');
    let clientSecret = p.get('client_secret');
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) [clientId, clientSecret] = Buffer.from(basic[1]!, 'base64').toString().split(':') as [string, string];
    if (clientId !== this.client.clientId || clientSecret !== this.client.clientSecret) {
      return fail(401, 'invalid_client', 'The OAuth client was not found.');
    }
    const grant = p.get('grant_type');
    if (grant === 'authorization_code') {
      const code = this.codes.get(p.get('code') ?? '');
      if (!code) return fail(400, 'invalid_grant', 'Malformed auth code.');
      if (code.redirectUri !== p.get('redirect_uri')) return fail(400, 'redirect_uri_mismatch', 'Bad Request');
      // A code is single-use, even when its exchange is refused.
      this.codes.delete(p.get('code')!);
      if (code.challenge) {
        const verifier = p.get('code_verifier');
        const refuse = (why: string) => {
          this.pkceRefusals.push(why);
          fail(400, 'invalid_grant', why);
        };
        if (!verifier) return refuse('Missing code verifier.');
        if (!VERIFIER.test(verifier)) return refuse('Invalid code verifier.');
        const expect = code.method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
        if (expect !== code.challenge) return refuse('Invalid code verifier.');
      }
      const rt = '1//emu-rt-' + randomBytes(12).toString('hex');
      this.refreshTokens.set(rt, { expired: false, scope: code.scope });
      const at = this.mintAccess(code.scope);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ access_token: at, expires_in: this.accessTtlSec, refresh_token: rt, scope: code.scope, token_type: 'Bearer' }),
      );
      return;
    }
    if (grant === 'refresh_token') {
      const rt = this.refreshTokens.get(p.get('refresh_token') ?? '');
      if (!rt || rt.expired) return fail(400, 'invalid_grant', 'Token has been expired or revoked.');
      const at = this.mintAccess(rt.scope);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ access_token: at, expires_in: this.accessTtlSec, scope: rt.scope, token_type: 'Bearer' }),
      );
      return;
    }
    fail(400, 'unsupported_grant_type', `Invalid grant_type: ${grant}`);
  }
}
