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
});
