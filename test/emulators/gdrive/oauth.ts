/**
 * Google's OAuth 2.0 endpoints as the installed-app flow uses them (authorization code with a
 * loopback redirect, then refresh): GET /o/oauth2/auth consents at once (the emulated user always
 * clicks "Allow") and redirects with `code` and the caller's `state`; POST /token exchanges a code
 * or a refresh token. Refresh tokens can be expired on demand, as Google does after 7 days for
 * apps left in "testing": the answer is then 400 {"error":"invalid_grant"}.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export class OAuthState {
  readonly client: OAuthClient = { clientId: 'emu-client.apps.googleusercontent.com', clientSecret: 'emu-secret' };
  private codes = new Map<string, { redirectUri: string; scope: string }>();
  private refreshTokens = new Map<string, { expired: boolean; scope: string }>();
  private accessTokens = new Map<string, number>(); // token -> expiry (ms)
  accessTtlSec = 3600;

  /** Mints a token pair directly (tests that skip the browser step). */
  grant(scope = 'https://www.googleapis.com/auth/drive'): { access_token: string; refresh_token: string; expiry_date: number } {
    const rt = '1//emu-rt-' + randomBytes(12).toString('hex');
    this.refreshTokens.set(rt, { expired: false, scope });
    const at = this.mintAccess();
    return { access_token: at, refresh_token: rt, expiry_date: this.accessTokens.get(at)! };
  }

  expireRefreshTokens(): void {
    for (const v of this.refreshTokens.values()) v.expired = true;
  }

  /** Revokes every access token (as when one expires): clients must refresh. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  isValidAccess(token: string | undefined): boolean {
    if (!token) return false;
    const exp = this.accessTokens.get(token);
    return exp !== undefined && exp > Date.now();
  }

  private mintAccess(): string {
    const at = 'ya29.emu-' + randomBytes(16).toString('hex');
    this.accessTokens.set(at, Date.now() + this.accessTtlSec * 1000);
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
    const code = '4/emu-code-' + randomBytes(10).toString('hex');
    const scope = p.get('scope') ?? '';
    this.codes.set(code, { redirectUri: redirect, scope });
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
      this.codes.delete(p.get('code')!);
      const rt = '1//emu-rt-' + randomBytes(12).toString('hex');
      this.refreshTokens.set(rt, { expired: false, scope: code.scope });
      const at = this.mintAccess();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ access_token: at, expires_in: this.accessTtlSec, refresh_token: rt, scope: code.scope, token_type: 'Bearer' }),
      );
      return;
    }
    if (grant === 'refresh_token') {
      const rt = this.refreshTokens.get(p.get('refresh_token') ?? '');
      if (!rt || rt.expired) return fail(400, 'invalid_grant', 'Token has been expired or revoked.');
      const at = this.mintAccess();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ access_token: at, expires_in: this.accessTtlSec, scope: rt.scope, token_type: 'Bearer' }),
      );
      return;
    }
    fail(400, 'unsupported_grant_type', `Invalid grant_type: ${grant}`);
  }
}
