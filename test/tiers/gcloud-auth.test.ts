/**
 * `util gcloud-auth` and `util gcloud-auth-refresh` as a user runs them, against the emulator's
 * OAuth endpoints (named in the credentials file, as Google's are): the browser step is a fetch of
 * the printed URL, whose consent redirects to the CLI's loopback server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { freePort } from '../support/moto.js';
import { cli, outputMatch, startCli } from '../support/cli.js';

let emu: DriveEmulator;
let dir: string;
let cred: string;

beforeAll(async () => {
  emu = await new DriveEmulator().start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-gauth-'));
  cred = path.join(dir, 'gdrive-credentials.json');
  fs.writeFileSync(
    cred,
    JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl, redirect_uris: ['http://localhost'] } }),
  );
}, 180_000);
afterAll(async () => {
  await emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Async: the emulator lives in this process, so a synchronous spawn would starve it. */
const run = (args: string[]) => cli(args, { timeoutMs: 30_000 });

describe('util gcloud-auth', () => {
  it('prints the consent URL, refuses a callback with the wrong state, then saves the token with mode 0600', async () => {
    const port = await freePort();
    const token = path.join(dir, 'gdrive-token.json');
    const auth = startCli(['util', 'gcloud-auth', '--cred', cred, '--token', token, '--redirect-port', String(port), '--redirect-path', '/auth/callback']);
    const urlLine = await outputMatch(auth, /(https?:\/\/\S+o\/oauth2\/auth\S+)/);
    const authUrl = new URL(urlLine[1]!);
    expect(authUrl.searchParams.get('access_type')).toBe('offline');
    expect(authUrl.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/drive');
    expect(authUrl.searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/auth/callback`);
    const forged = await fetch(`http://localhost:${port}/auth/callback?state=forged&code=4/x`);
    expect(forged.status).toBe(400);
    // The "browser": Google's consent answers with a redirect to the loopback server.
    const consent = await fetch(authUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const cb = await fetch(consent.headers.get('location')!);
    expect(cb.status).toBe(200);
    const done = await auth.done;
    expect(done.code).toBe(0);
    expect(done.stdout + done.stderr).toMatch(/Exchange success, saving token into/);
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);
    const t = JSON.parse(fs.readFileSync(token, 'utf8'));
    expect(t.refresh_token).toMatch(/^1\/\/emu-rt-/);
    expect(emu.oauth.isValidAccess(t.access_token)).toBe(true);

    // Refresh: a new access token, still 0600.
    const r = await run(['util', 'gcloud-auth-refresh', '--cred', cred, '--token', token]);
    expect(r.code, r.stderr).toBe(0);
    const t2 = JSON.parse(fs.readFileSync(token, 'utf8'));
    expect(t2.access_token).not.toBe(t.access_token);
    expect(t2.refresh_token).toBe(t.refresh_token);
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);

    // An expired refresh token (7-day tokens of apps in "testing") gets a message naming the fix.
    emu.oauth.expireRefreshTokens();
    const x = await run(['util', 'gcloud-auth-refresh', '--cred', cred, '--token', token]);
    expect(x.code).toBe(9);
    expect(x.stderr).toMatch(/expired or was revoked.*7 days.*util gcloud-auth/s);
  }, 60_000);

  it('names the fix for a missing credentials file and a busy port', async () => {
    const r = await run(['util', 'gcloud-auth', '--cred', path.join(dir, 'missing.json')]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/--cred/);
    const port = await freePort();
    const blocker = (await import('node:http')).createServer().listen(port, 'localhost');
    await new Promise((res) => blocker.once('listening', res));
    const busy = await run(['util', 'gcloud-auth', '--cred', cred, '--token', path.join(dir, 't2.json'), '--redirect-port', String(port)]);
    blocker.close();
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/--redirect-port 8080/);
  }, 60_000);
});
