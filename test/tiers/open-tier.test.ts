/**
 * openTier on each URL form, against the real backends the other tier tests use (a temp folder,
 * moto, the Drive emulator): the tier's own URL opens the same place again, query parameters
 * reach the backend, optional capabilities are there, and a malformed URL is a clear TierError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { startMoto, type Moto } from '../support/moto.js';
import { openTier } from '../../storage/tiers/open.js';
import { TierError, type Tier } from '../../storage/tiers/tier.js';

let moto: Moto;
let emu: DriveEmulator;
let dir: string;
process.env.LOMO_RETRY_BASE_MS = '5';
const aws = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function readAll(t: Tier, key: string): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const x of await t.get(key)) c.push(x as Buffer);
  return Buffer.concat(c);
}
async function roundTrip(t: Tier, key: string): Promise<void> {
  const data = Buffer.from(`bytes for ${key}`);
  const st = await t.put(key, data, { size: data.length, sha256: sha(data) });
  expect(st.size).toBe(data.length);
  expect((await readAll(t, key)).equals(data)).toBe(true);
}

beforeAll(async () => {
  moto = await startMoto();
  emu = await new DriveEmulator({ quotaLimit: 10 * 1024 * 1024 }).start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-open-tier-'));
}, 60_000);
afterAll(async () => {
  await moto?.stop();
  await emu?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('openTier', () => {
  it('opens a folder from file:///path, and its url opens the same folder', async () => {
    const url = pathToFileURL(path.join(dir, 'folder tier')).href;
    const t = await openTier(url);
    expect(t.kind).toBe('file');
    expect(t.url).toBe(url);
    await roundTrip(t, 'a/b');
    expect(fs.existsSync(path.join(dir, 'folder tier', 'a', 'b'))).toBe(true);
    expect((await (await openTier(t.url)).head('a/b'))?.size).toBe(Buffer.from('bytes for a/b').length);
    expect(t.prepare).toBeUndefined(); // no chores for a folder
  });

  it('opens S3 from s3://bucket/prefix?region&endpoint&class with the credentials as secrets', async () => {
    const t = await openTier(`s3://open-tier/photos/2024?region=us-east-1&endpoint=${encodeURIComponent(moto.endpoint)}&class=STANDARD_IA`, { aws });
    expect(t.kind).toBe('s3');
    expect(t.url).toBe('s3://open-tier/photos/2024');
    expect(t.bucket).toBe('open-tier');
    await t.prepare!(); // creates the bucket
    await roundTrip(t, 'vol.iso');
    expect((await t.head('vol.iso'))?.storageClass).toBe('STANDARD_IA');
    expect(await t.region!()).toBe('us-east-1');
    expect(t.requestCount!()).toBeGreaterThan(0);
    expect(await t.sweepOrphans!({ folders: [], pending: () => false, graceMs: 0 })).toEqual([]);
    // The same place through its own URL (the one placements record) and the endpoint.
    const again = await openTier(`${t.url}?endpoint=${encodeURIComponent(moto.endpoint)}`, { aws });
    expect((await again.head('vol.iso'))?.size).toBe(Buffer.from('bytes for vol.iso').length);
  });

  it('opens Drive from gdrive://folder?endpoint with the OAuth files as secrets', async () => {
    const credentials = path.join(dir, 'cred.json');
    const token = path.join(dir, 'token.json');
    fs.writeFileSync(credentials, JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl } }));
    fs.writeFileSync(token, JSON.stringify({ refresh_token: emu.oauth.grant().refresh_token }), { mode: 0o600 });
    const t = await openTier(`gdrive://my%20photos?endpoint=${encodeURIComponent(emu.url)}`, { drive: { credentials, token } });
    expect(t.kind).toBe('gdrive');
    expect(t.url).toBe('gdrive://my photos');
    await roundTrip(t, 'x/y.bin');
    const q = await t.quota!();
    expect(q.limit).toBe(10 * 1024 * 1024);
    await expect(t.checkQuota!(q.free! + 1)).rejects.toMatchObject({ kind: 'quota' });
    const id = (await t.head('x/y.bin'))!.id!;
    await t.deleteById!(id);
    expect(await t.head('x/y.bin')).toBeNull();
    const names = [...emu.store.files.values()].map((f) => f.name);
    expect(names).toContain('my photos');
  });

  it('refuses a malformed URL with a TierError that names the forms', async () => {
    const bad: [string, RegExp][] = [
      ['just/a/path', /not a URL/],
      ['ftp://host/x', /unknown scheme "ftp:"/],
      ['s3://', /no bucket/],
      ['s3://b?colour=red', /unknown parameter "colour"/],
      ['s3://b?class=COLD', /unknown storage class "COLD"/],
      ['file://nas/share', /three slashes/],
      ['gdrive://a/b', /one top folder/],
      ['gdrive://%zz', /percent-encoding/],
    ];
    for (const [url, why] of bad) {
      const e = await openTier(url, { aws }).catch((x: unknown) => x);
      expect(e, url).toBeInstanceOf(TierError);
      expect((e as TierError).kind, url).toBe('invalid');
      expect((e as TierError).message, url).toMatch(why);
      expect((e as TierError).message, url).toMatch(/file:\/\/\/path, s3:\/\/bucket/);
    }
    await expect(openTier('gdrive://lomorage')).rejects.toMatchObject({ kind: 'auth' });
  });
});
