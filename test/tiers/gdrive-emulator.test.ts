/**
 * The Drive v3 emulator, driven by the official client (@googleapis/drive + google-auth-library)
 * through its rootUrl option, unchanged — so that what the gdrive tier is tested against is what
 * Google's own client accepts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drive as driveApi, type drive_v3 } from '@googleapis/drive';
import { OAuth2Client } from 'google-auth-library';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { DRIVE_FILE } from '../emulators/gdrive/oauth.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/gdrive-emulator.test.ts');

let emu: DriveEmulator;
let drive: drive_v3.Drive;
let auth: OAuth2Client;
/** Status and Drive reason of a GaxiosError, from the response itself. */
const failure = async (p: Promise<unknown>) => {
  const e = (await p.then(() => null, (err: unknown) => err)) as { response?: { status: number; data?: { error?: { errors?: { reason: string }[] } } } } | null;
  return { status: e?.response?.status, reason: e?.response?.data?.error?.errors?.[0]?.reason };
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  emu = await new DriveEmulator({ quotaLimit: 40 * 1024 * 1024 }).start();
  auth = new OAuth2Client({
    clientId: emu.oauth.client.clientId,
    clientSecret: emu.oauth.client.clientSecret,
    endpoints: { oauth2TokenUrl: emu.tokenUrl, oauth2AuthBaseUrl: emu.authUrl },
  });
  const t = emu.oauth.grant();
  auth.setCredentials({ refresh_token: t.refresh_token });
  // googleapis-common bundles its own google-auth-library copy: same runtime shape, distinct private types.
  drive = driveApi({ version: 'v3', auth: auth as never, rootUrl: emu.url, retry: false });
});
afterAll(async () => emu.stop());

describe('Drive emulator with the official client', () => {
  it('creates folders and binary-safe multipart uploads with checksums only when asked', async () => {
    const folder = await drive.files.create({ requestBody: { name: 'lomorage', mimeType: 'application/vnd.google-apps.folder' }, fields: 'id' });
    // Bytes that look like a multipart boundary and CRLFs must survive.
    const data = Buffer.concat([random.bytes(1000), Buffer.from('\r\n--boundary\r\n\r\n'), random.bytes(5000), Buffer.from([0, 13, 10, 45, 45])]);
    const created = await drive.files.create({
      requestBody: { name: 'a.bin', parents: [folder.data.id!] },
      media: { mimeType: 'application/octet-stream', body: Readable.from([data]) },
      fields: 'id,name,size,md5Checksum,sha256Checksum,parents',
    }, { rootUrl: emu.url });
    expect(created.data.size).toBe(String(data.length));
    expect(created.data.sha256Checksum).toBe(sha(data));
    expect(created.data.md5Checksum).toBe(createHash('md5').update(data).digest('hex'));
    const plain = await drive.files.get({ fileId: created.data.id! });
    expect(plain.data).toEqual({ kind: 'drive#file', id: created.data.id, name: 'a.bin', mimeType: 'application/octet-stream' });
    const media = await drive.files.get({ fileId: created.data.id!, alt: 'media' }, { responseType: 'arraybuffer' });
    expect(Buffer.from(media.data as ArrayBuffer).equals(data)).toBe(true);
    const ranged = await drive.files.get({ fileId: created.data.id!, alt: 'media' }, { responseType: 'arraybuffer', headers: { Range: 'bytes=1000-1015' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(ranged.data as ArrayBuffer).toString()).toBe('\r\n--boundary\r\n\r\n');
  });

  it('lists with q, fields and page tokens', async () => {
    const parent = await drive.files.create({ requestBody: { name: 'pages', mimeType: 'application/vnd.google-apps.folder' }, fields: 'id' });
    for (let i = 0; i < 5; i++) {
      await drive.files.create({ requestBody: { name: `f${i}`, parents: [parent.data.id!] }, media: { body: Readable.from([Buffer.from(`x${i}`)]) } }, { rootUrl: emu.url });
    }
    const q = `'${parent.data.id}' in parents and trashed = false and mimeType != 'application/vnd.google-apps.folder'`;
    const names: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const r = await drive.files.list({ q, pageSize: 2, pageToken, fields: 'nextPageToken,files(name,sha256Checksum)' });
      pages++;
      for (const f of r.data.files ?? []) {
        names.push(f.name!);
        expect(Object.keys(f).sort()).toEqual(['name', 'sha256Checksum']);
      }
      pageToken = r.data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(pages).toBe(3);
    expect(names.sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    const one = await drive.files.list({ q: `name = 'f3' or (name = 'f1' and trashed = true)`, fields: 'files(id,name)' });
    expect(one.data.files!.map((f) => f.name)).toEqual(['f3']);
    expect((await failure(drive.files.list({ q: "name = 'unterminated" }))).status).toBe(400);
  });

  it('runs the resumable protocol: 308 with Range, 256 KiB multiples, status query, 404 for unknown sessions', async () => {
    const data = random.bytes(700 * 1024);
    const token = (await auth.getAccessToken()).token!;
    const start = await fetch(`${emu.url}upload/drive/v3/files?uploadType=resumable&fields=id,size,sha256Checksum`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-upload-content-length': String(data.length) },
      body: JSON.stringify({ name: 'big.bin' }),
    });
    expect(start.status).toBe(200);
    const session = start.headers.get('location')!;
    const put = (body: Buffer, range: string) =>
      fetch(session, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-range': range }, body });
    const bad = await put(data.subarray(0, 1000), `bytes 0-999/${data.length}`);
    expect(bad.status).toBe(400);
    const first = await put(data.subarray(0, 262144), `bytes 0-262143/${data.length}`);
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe('bytes=0-262143');
    const q = await put(Buffer.alloc(0), `bytes */${data.length}`);
    expect(q.status).toBe(308);
    expect(q.headers.get('range')).toBe('bytes=0-262143');
    const last = await put(data.subarray(262144), `bytes 262144-${data.length - 1}/${data.length}`);
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({ size: String(data.length), sha256Checksum: sha(data) });
    const unknown = await fetch(session.replace(/upload_id=[^&]+/, 'upload_id=nope'), { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-range': `bytes */10` } });
    expect(unknown.status).toBe(404);
  });

  it('updates, trashes, empties the trash and reports the quota', async () => {
    const before = await drive.about.get({ fields: 'storageQuota' });
    const f = await drive.files.create({ requestBody: { name: 'tmp' }, media: { body: Readable.from([random.bytes(4096)]) }, fields: 'id' }, { rootUrl: emu.url });
    await drive.files.update({ fileId: f.data.id!, requestBody: { trashed: true } });
    const mid = await drive.about.get({ fields: 'storageQuota(usage,usageInDriveTrash,limit)' });
    expect(Number(mid.data.storageQuota!.usage)).toBe(Number(before.data.storageQuota!.usage) + 4096);
    expect(Number(mid.data.storageQuota!.usageInDriveTrash)).toBeGreaterThanOrEqual(4096);
    await drive.files.emptyTrash({});
    const after = await drive.about.get({ fields: 'storageQuota' });
    expect(after.data.storageQuota!.usage).toBe(before.data.storageQuota!.usage);
    expect((await failure(drive.files.get({ fileId: f.data.id! }))).status).toBe(404);
    // Over quota: 403 storageQuotaExceeded.
    const tooBig = Number(after.data.storageQuota!.limit) - Number(after.data.storageQuota!.usage) + 1;
    expect(
      await failure(drive.files.create({ requestBody: { name: 'huge' }, media: { body: Readable.from([Buffer.alloc(tooBig)]) } }, { rootUrl: emu.url })),
    ).toEqual({ status: 403, reason: 'storageQuotaExceeded' });
  });

  it('injects 403 userRateLimitExceeded, 429 and 500', async () => {
    emu.injectFault(403);
    emu.injectFault(429);
    emu.injectFault(500);
    expect(await failure(drive.about.get({ fields: 'user' }))).toEqual({ status: 403, reason: 'userRateLimitExceeded' });
    expect(await failure(drive.about.get({ fields: 'user' }))).toEqual({ status: 429, reason: 'rateLimitExceeded' });
    expect(await failure(drive.about.get({ fields: 'user' }))).toEqual({ status: 500, reason: 'backendError' });
    expect((await drive.about.get({ fields: 'user' })).status).toBe(200);
  });

  it('refreshes access tokens and answers invalid_grant for expired refresh tokens', async () => {
    emu.oauth.expireAccessTokens();
    expect((await failure(drive.about.get({ fields: 'user' }))).status).toBe(401); // cached token now rejected
    auth.setCredentials({ refresh_token: auth.credentials.refresh_token }); // forget the access token
    expect((await drive.about.get({ fields: 'user' })).status).toBe(200); // refreshed through /token
    const bad = new OAuth2Client({ clientId: emu.oauth.client.clientId, clientSecret: emu.oauth.client.clientSecret, endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    bad.setCredentials({ refresh_token: emu.oauth.grant().refresh_token });
    emu.oauth.expireRefreshTokens();
    await expect(bad.getAccessToken()).rejects.toThrow(/invalid_grant/);
    const noAuth = await fetch(`${emu.url}drive/v3/about?fields=user`);
    expect(noAuth.status).toBe(401);
  });

  it('lists trashed files unless q excludes them, and emptyTrash deletes every trashed file of the user', async () => {
    const mine = await drive.files.create({ requestBody: { name: 'mine-trashed' }, media: { body: Readable.from([Buffer.from('m')]) }, fields: 'id' }, { rootUrl: emu.url });
    await drive.files.update({ fileId: mine.data.id!, requestBody: { trashed: true } });
    const theirs = emu.store.create({ name: 'their-trashed', trashed: true }, Buffer.from('t')); // the web UI's
    const names = async (q?: string) => ((await drive.files.list({ q, fields: 'files(name)', pageSize: 1000 })).data.files ?? []).map((f) => f.name);
    expect(await names()).toEqual(expect.arrayContaining(['mine-trashed', 'their-trashed']));
    expect(await names('trashed = false')).not.toContain('their-trashed');
    expect(await names('trashed = true')).toEqual(expect.arrayContaining(['mine-trashed', 'their-trashed']));
    await drive.files.emptyTrash({});
    expect(emu.store.files.has(theirs.id)).toBe(false); // why lomo-peer never calls it
    expect(emu.store.files.has(mine.data.id!)).toBe(false);
  });

  it("limits a drive.file token to its app's files; emptyTrash needs the whole-Drive scope", async () => {
    const fileAuth = new OAuth2Client({ clientId: emu.oauth.client.clientId, clientSecret: emu.oauth.client.clientSecret, endpoints: { oauth2TokenUrl: emu.tokenUrl } });
    fileAuth.setCredentials({ refresh_token: emu.oauth.grant(DRIVE_FILE).refresh_token });
    const scoped = driveApi({ version: 'v3', auth: fileAuth as never, rootUrl: emu.url, retry: false });
    const folder = emu.store.create({ name: 'Family photos', mimeType: 'application/vnd.google-apps.folder' }, null); // the user's
    const doc = emu.store.create({ name: 'doc.txt', parents: [folder.id] }, Buffer.from('user data'));
    const own = await scoped.files.create({ requestBody: { name: 'app-made' }, media: { body: Readable.from([Buffer.from('x')]) }, fields: 'id' }, { rootUrl: emu.url });
    const listed = (await scoped.files.list({ fields: 'files(id,name)', pageSize: 1000 })).data.files!.map((f) => f.id);
    expect(listed).toContain(own.data.id);
    expect(listed).not.toContain(doc.id);
    expect(listed).not.toContain(folder.id);
    expect((await failure(scoped.files.get({ fileId: doc.id }))).status).toBe(404);
    expect((await failure(scoped.files.delete({ fileId: doc.id }))).status).toBe(404);
    expect((await failure(scoped.files.update({ fileId: doc.id, requestBody: { trashed: true } }))).status).toBe(404);
    expect((await failure(scoped.files.create({ requestBody: { name: 'x', parents: [folder.id] } }))).status).toBe(404);
    expect(await failure(scoped.files.emptyTrash({}))).toEqual({ status: 403, reason: 'insufficientPermissions' });
    expect((await scoped.about.get({ fields: 'storageQuota' })).status).toBe(200); // the quota check works with drive.file
    expect(emu.store.files.get(doc.id)).toBe(doc);
  });

  it('checks PKCE at the code exchange and accepts any loopback port', async () => {
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const codeFor = async (redirect: string, withChallenge = true) => {
      const u = new URL(emu.authUrl);
      u.search = new URLSearchParams({ client_id: emu.oauth.client.clientId, redirect_uri: redirect, response_type: 'code', scope: DRIVE_FILE, ...(withChallenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}) }).toString();
      const r = await fetch(u, { redirect: 'manual' });
      return { status: r.status, code: r.headers.get('location') ? new URL(r.headers.get('location')!).searchParams.get('code')! : '' };
    };
    const exchange = async (redirect: string, code: string, codeVerifier?: string) => {
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirect, client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, ...(codeVerifier ? { code_verifier: codeVerifier } : {}) });
      const r = await fetch(emu.tokenUrl, { method: 'POST', body });
      return { status: r.status, body: (await r.json()) as { error?: string; error_description?: string; scope?: string } };
    };
    const ru = 'http://127.0.0.1:54321';
    expect((await codeFor('https://attacker.example/cb')).status).toBe(400); // not loopback, not registered
    expect(await exchange(ru, (await codeFor(ru)).code)).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Missing code verifier.' } });
    expect(await exchange(ru, (await codeFor(ru)).code, 'w'.repeat(43))).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid code verifier.' } });
    expect(await exchange(ru, (await codeFor(ru)).code, verifier)).toMatchObject({ status: 200, body: { scope: DRIVE_FILE } });
    const other = 'http://127.0.0.1:61000/cb';
    expect((await exchange(other, (await codeFor(other, false)).code)).status).toBe(200); // no challenge sent: none asked
  });
});
