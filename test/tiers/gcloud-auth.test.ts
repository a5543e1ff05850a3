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
import { cli, outputMatch, startCli, type RunningCli } from '../support/cli.js';

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
    expect(authUrl.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/drive.file');
    // lomob's fixed redirect, as registered for its client, when --redirect-port is given.
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
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('gdrive-token.json.'))) fs.rmSync(path.join(dir, f));

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

  it('signs in like a desktop app: 127.0.0.1 on a port the system picks, PKCE S256, drive.file, the code never printed', async () => {
    const token = path.join(dir, 'desktop-token.json');
    const auth = startCli(['util', 'gcloud-auth', '--cred', cred, '--token', token]);
    const authUrl = new URL((await outputMatch(auth, /(https?:\/\/\S+o\/oauth2\/auth\S+)/))[1]!);
    const redirect = new URL(authUrl.searchParams.get('redirect_uri')!);
    expect(redirect.protocol + '//' + redirect.hostname).toBe('http://127.0.0.1');
    expect(Number(redirect.port)).toBeGreaterThan(1023); // not lomob's port 80: no root needed
    expect(authUrl.searchParams.get('scope')).toBe('https://www.googleapis.com/auth/drive.file');
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const refusals = emu.oauth.pkceRefusals.length;
    const consent = await fetch(authUrl, { redirect: 'manual' });
    const callback = consent.headers.get('location')!;
    const code = new URL(callback).searchParams.get('code')!;
    expect((await fetch(callback)).status).toBe(200);
    const done = await auth.done;
    expect(done.code, done.stderr).toBe(0);
    // The emulator refuses an exchange without the verifier matching the challenge: none was refused.
    expect(emu.oauth.pkceRefusals.length).toBe(refusals);
    expect(done.stdout + done.stderr).not.toContain(code);
    expect(done.stdout).toMatch(/Handle google callback: \/\n/);
    const t = JSON.parse(fs.readFileSync(token, 'utf8'));
    expect(emu.oauth.access(t.access_token)?.scopes).toEqual(['https://www.googleapis.com/auth/drive.file']);
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);
  }, 60_000);

  it("keeps a token that still works, as lomob: valid, or refreshed in place; --force and a dead token sign in", async () => {
    const token = path.join(dir, 'kept-token.json');
    const g = emu.oauth.grant('https://www.googleapis.com/auth/drive.file');
    const valid = { access_token: g.access_token, token_type: 'Bearer', refresh_token: g.refresh_token, expiry: new Date(g.expiry_date).toISOString(), scope: 'https://www.googleapis.com/auth/drive.file' };
    fs.writeFileSync(token, JSON.stringify(valid), { mode: 0o600 });
    const tokenRequests = () => emu.requests.filter((r) => r.path === '/token').length;
    let n = tokenRequests();
    const skip = await run(['util', 'gcloud-auth', '--cred', cred, '--token', token, '--timeout', '5']);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/Token file exists already\. Skip/);
    expect(skip.stdout).not.toMatch(/oauth2\/auth/); // no sign-in started
    expect(tokenRequests()).toBe(n);
    expect(JSON.parse(fs.readFileSync(token, 'utf8'))).toEqual(valid);

    // Access token expired, refresh token alive: refreshed and saved, no browser.
    fs.writeFileSync(token, JSON.stringify({ ...valid, expiry: '2020-01-01T00:00:00Z' }));
    n = tokenRequests();
    const refreshed = await run(['util', 'gcloud-auth', '--cred', cred, '--token', token, '--timeout', '5']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(refreshed.stdout).toMatch(/refreshed, saved into .*Skip/);
    expect(tokenRequests()).toBe(n + 1);
    const t2 = JSON.parse(fs.readFileSync(token, 'utf8'));
    expect(emu.oauth.isValidAccess(t2.access_token)).toBe(true);
    expect(t2.refresh_token).toBe(g.refresh_token);
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);

    // A lomob token (no scope recorded) is kept too, with a note on how to narrow it.
    fs.writeFileSync(token, JSON.stringify({ ...t2, scope: undefined }));
    const lomobToken = await run(['util', 'gcloud-auth', '--cred', cred, '--token', token, '--timeout', '5']);
    expect(lomobToken.code).toBe(0);
    expect(lomobToken.stdout).toMatch(/may grant more than .*drive\.file.*--force/);

    // --force signs in although the token works.
    const signIn = async (extra: string[]): Promise<RunningCli> => {
      const a = startCli(['util', 'gcloud-auth', '--cred', cred, '--token', token, ...extra]);
      const u = new URL((await outputMatch(a, /(https?:\/\/\S+o\/oauth2\/auth\S+)/))[1]!);
      const consent = await fetch(u, { redirect: 'manual' });
      expect((await fetch(consent.headers.get('location')!)).status).toBe(200);
      return a;
    };
    const forced = await (await signIn(['--force'])).done;
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(token, 'utf8')).refresh_token).not.toBe(g.refresh_token);

    // Expired access token and a dead refresh token: lomob's "renew now", then the sign-in.
    fs.writeFileSync(token, JSON.stringify({ ...valid, expiry: '2020-01-01T00:00:00Z' }));
    emu.oauth.expireRefreshTokens();
    const renew = await signIn([]);
    const r = await renew.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Token expired at 2020-01-01T00:00:00Z, renew now/);
    expect(emu.oauth.isValidAccess(JSON.parse(fs.readFileSync(token, 'utf8')).access_token)).toBe(true);
  }, 60_000);

  it("gcloud-auth-refresh keeps the old token as <token>.YYYY-MM-DD (lomob's suffix), mode 0600", async () => {
    const token = path.join(dir, 'refresh-token.json');
    const g = emu.oauth.grant();
    const old = JSON.stringify({ access_token: g.access_token, token_type: 'Bearer', refresh_token: g.refresh_token, expiry: new Date(g.expiry_date).toISOString() });
    fs.writeFileSync(token, old, { mode: 0o644 }); // as lomob's os.Create left it
    const r = await run(['util', 'gcloud-auth-refresh', '--cred', cred, '--token', token]);
    expect(r.code, r.stderr).toBe(0);
    const d = new Date();
    const backup = `${token}.${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expect(r.stdout).toContain(`old token kept as ${backup}`);
    expect(fs.readFileSync(backup, 'utf8')).toBe(old);
    expect(fs.statSync(backup).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(token, 'utf8')).access_token).not.toBe(g.access_token);
    expect(fs.statSync(token).mode & 0o777).toBe(0o600);
  }, 60_000);
});
