/** The Drive tier against the Drive v3 emulator, through the official client. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { DRIVE_FILE } from '../emulators/gdrive/oauth.js';
import { GDriveTier } from '../../storage/tiers/gdrive.js';
import { oauthClient } from '../../storage/tiers/gdrive-auth.js';
import { TierError } from '../../storage/tiers/tier.js';
import { MemoryJournal } from '../../storage/tiers/upload-journal.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/gdrive.test.ts');

process.env.LOMO_RETRY_BASE_MS = '5';
let emu: DriveEmulator;
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function readAll(r: Readable): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const x of r) c.push(x as Buffer);
  return Buffer.concat(c);
}
function tier(opts: { folder?: string; retries?: string[]; cache?: boolean; journal?: MemoryJournal; scope?: string } = {}): GDriveTier {
  const auth = oauthClient({ clientId: emu.oauth.client.clientId, clientSecret: emu.oauth.client.clientSecret, authUri: emu.authUrl, tokenUri: emu.tokenUrl, redirectUris: [] });
  auth.setCredentials({ refresh_token: emu.oauth.grant(opts.scope).refresh_token });
  return new GDriveTier({
    auth,
    rootUrl: emu.url,
    folder: opts.folder ?? 'lomorage',
    resumableThreshold: 1024 * 1024,
    chunkSize: 512 * 1024,
    cacheListings: opts.cache,
    journal: opts.journal,
    retry: { onRetry: (e) => opts.retries?.push(e.kind) },
  });
}
const uploads = () => emu.apiRequests().filter((r) => r.path.startsWith('/upload/'));

beforeAll(async () => {
  emu = await new DriveEmulator({ quotaLimit: 64 * 1024 * 1024 }).start();
});
afterAll(async () => emu.stop());

describe('Drive tier on the emulator', () => {
  it('mirrors folders, uploads small files in one request, and skips files already there', async () => {
    const t = tier();
    const data = random.bytes(10_000);
    const st = await t.put('home_u_pics/2024/a.jpg', data, { sha256: hex(data), appProperties: { plainSha256: 'abcdef12' }, modifiedAt: new Date('2024-04-26T10:00:00Z') });
    expect(st).toMatchObject({ size: 10_000, sha256: hex(data) });
    expect((await t.head('home_u_pics/2024/a.jpg'))!.id).toBe(st.id);
    const before = emu.requests.length;
    const again = await tier().put('home_u_pics/2024/a.jpg', data, { sha256: hex(data) });
    expect(again.id).toBe(st.id);
    expect(emu.requests.slice(before).some((r) => r.path.startsWith('/upload/'))).toBe(false);
    const tree = [];
    for await (const e of t.walk()) tree.push([e.path, e.isFolder, e.appProperties?.plainSha256]);
    expect(tree).toEqual([
      ['home_u_pics', true, undefined],
      ['home_u_pics/2024', true, undefined],
      ['home_u_pics/2024/a.jpg', false, 'abcdef12'],
    ]);
    expect((await readAll(await t.get('home_u_pics/2024/a.jpg', { start: 100, end: 199 }))).equals(data.subarray(100, 200))).toBe(true);
  });

  it('batches: one listing per folder and one request per small file; a re-run only lists', async () => {
    const files = Array.from({ length: 5 }, (_, i) => random.bytes(1000 + i));
    const put = async (t: GDriveTier) => {
      await t.quota(); // warms the token; the batch checks the quota once, as upload files does
      const n = emu.apiRequests().length;
      for (const [i, b] of files.entries()) await t.put(`x/f${i}`, b, { sha256: hex(b), quotaChecked: true });
      return emu.apiRequests().slice(n).map((r) => `${r.method} ${r.path}`);
    };
    const first = await put(tier({ folder: 'batch', cache: true }));
    expect(first.filter((r) => r === 'GET /drive/v3/files')).toHaveLength(1); // My Drive root, once
    expect(first.filter((r) => r === 'POST /drive/v3/files')).toHaveLength(2); // folders batch, x
    expect(first.filter((r) => r === 'POST /upload/drive/v3/files')).toHaveLength(5);
    expect(first).toHaveLength(8);
    const again = await put(tier({ folder: 'batch', cache: true }));
    expect(again).toEqual(['GET /drive/v3/files', 'GET /drive/v3/files', 'GET /drive/v3/files']);
  });

  it('uses the resumable protocol for large files, in 256 KiB-multiple chunks', async () => {
    const t = tier();
    const data = random.bytes(3 * 1024 * 1024 + 5);
    const n = emu.requests.length;
    const src = Readable.from((function* () { for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000); })());
    const st = await t.put('big/video.mp4', src, { size: data.length, sha256: hex(data) });
    expect(st.sha256).toBe(hex(data));
    const ups = emu.requests.slice(n).filter((r) => r.path.startsWith('/upload/'));
    expect(ups.filter((r) => r.method === 'POST' && r.uploadType === 'resumable')).toHaveLength(1);
    const puts = ups.filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(7); // 6 full 512 KiB chunks + 5 bytes
    expect(puts.slice(0, -1).every((r) => r.status === 308)).toBe(true);
    expect((await readAll(await t.get('big/video.mp4'))).equals(data)).toBe(true);
  });

  it('retries 403 userRateLimitExceeded, 429 and 500, resuming a chunk from the server range', async () => {
    const retries: string[] = [];
    const t = tier({ retries });
    await t.quota(); // warm up the token
    emu.injectFault(403);
    emu.injectFault(429);
    emu.injectFault(500);
    const small = random.bytes(2000);
    await t.put('faults/s.bin', small, { sha256: hex(small) });
    expect(retries).toEqual(['throttled', 'throttled', 'unavailable']);
    // A failure in the middle of a resumable upload: status query, then the rest.
    const big = random.bytes(1536 * 1024);
    let calls = 0;
    const orig = t.opts.retry!.onRetry!;
    t.opts.retry!.onRetry = (e, a, d) => { calls++; orig(e, a, d); };
    const n = emu.requests.length;
    emu.afterResponse = (r) => {
      if (r.method === 'PUT' && r.status === 308) {
        emu.afterResponse = undefined;
        emu.injectFault(500); // the second chunk fails: status query, then the rest
      }
    };
    const it = t.put('faults/b.bin', big, { sha256: hex(big) });
    expect((await it).sha256).toBe(hex(big));
    expect(calls).toBe(1);
    const puts = emu.requests.slice(n).filter((r) => r.method === 'PUT').map((r) => r.status);
    expect(puts).toEqual([308, 500, 308, 308, 200]); // chunk, failed chunk, status query, chunk, last chunk
  });

  it('continues a large upload in a new process from the recorded session URI', async () => {
    const journal = new MemoryJournal();
    const big = random.bytes(2 * 1024 * 1024 + 100); // 5 chunks of 512 KiB (the last: 100 bytes)
    const ac = new AbortController();
    let chunks = 0;
    const t1 = tier({ folder: 'journal', journal });
    await expect(
      t1.put('j/big.bin', big, { sha256: hex(big), signal: ac.signal, onProgress: () => ++chunks === 2 && ac.abort(new Error('killed')) }),
    ).rejects.toThrow('killed');
    expect(journal.load(t1.url, 'j/big.bin')!.uploadId).toMatch(/upload_id=/);
    const n = emu.requests.length;
    const st = await tier({ folder: 'journal', journal }).put('j/big.bin', big, { sha256: hex(big) });
    expect(st.sha256).toBe(hex(big));
    const log = emu.requests.slice(n).filter((r) => r.path.startsWith('/upload/'));
    expect(log.some((r) => r.method === 'POST')).toBe(false); // the same session, not a new one
    expect(log.map((r) => r.status)).toEqual([308, 308, 308, 200]); // status query, chunks 3, 4, 5
    expect(journal.load(t1.url, 'j/big.bin')).toBeNull();
  });

  it('reports a dropped resumable session (404) at once, and a re-run uploads the file', async () => {
    const t = tier({ folder: 'dropped' });
    const big = random.bytes(1536 * 1024);
    emu.afterResponse = (r) => {
      if (r.method === 'PUT' && r.status === 308) {
        emu.afterResponse = undefined;
        emu.dropSessions();
        emu.injectFault(500); // the next chunk fails; the status query then finds no session
      }
    };
    const e = (await t.put('d/big.bin', big, { sha256: hex(big) }).catch((x: unknown) => x)) as TierError;
    expect(e).toBeInstanceOf(TierError);
    expect(e.message).toMatch(/dropped the upload session.*run the command again/);
    expect((await t.put('d/big.bin', big, { sha256: hex(big) })).sha256).toBe(hex(big));
  });

  it('checks the quota before uploading and names the fix when Drive is full', async () => {
    const t = tier({ folder: 'quota' });
    const q = await t.quota();
    const n = emu.requests.length;
    const e = (await t.put('too/big.bin', Buffer.alloc(q.free! + 1)).catch((x: unknown) => x)) as TierError;
    expect(e).toBeInstanceOf(TierError);
    expect(e.kind).toBe('quota');
    expect(e.message).toMatch(/Google Drive is full/);
    expect(emu.requests.slice(n).some((r) => r.path.startsWith('/upload/'))).toBe(false);
  });

  it('deletes permanently, so the quota comes back (trash counts against it)', async () => {
    const t = tier({ folder: 'del' });
    const data = random.bytes(100_000);
    await t.put('x/y.bin', data);
    const mid = await t.quota();
    await t.delete('x/y.bin');
    expect(await t.head('x/y.bin')).toBeNull();
    const after = await t.quota();
    expect(mid.usage - after.usage).toBe(100_000);
    expect(after.trash).toBe(0);
  });

  it('refreshes an access token refused early, once, and carries on', async () => {
    const t = tier({ folder: 'refresh' });
    await t.quota();
    emu.oauth.expireAccessTokens();
    const n = emu.requests.length;
    expect((await t.quota()).limit).toBe(64 * 1024 * 1024);
    expect(emu.requests.slice(n).map((r) => `${r.path} ${r.status}`)).toEqual(['/drive/v3/about 401', '/token 200', '/drive/v3/about 200']);
  });

  it('says how to fix expired credentials', async () => {
    const t = tier({ folder: 'auth' });
    emu.oauth.expireAccessTokens();
    emu.oauth.expireRefreshTokens();
    const e = (await t.quota().catch((x: unknown) => x)) as TierError;
    expect(e).toBeInstanceOf(TierError);
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/expire.*util gcloud-auth/s);
    expect(uploads().length).toBeGreaterThan(0);
  });

  it("works whole with a drive.file token, and never sees or writes into the user's own folders", async () => {
    // The user's own "scoped" folder (made in the web UI) with a file: invisible to drive.file.
    const theirs = emu.store.create({ name: 'scoped', mimeType: 'application/vnd.google-apps.folder' }, null);
    const theirFile = emu.store.create({ name: 'x.bin', parents: [theirs.id] }, Buffer.from('user'));
    const t = tier({ folder: 'scoped', scope: DRIVE_FILE, cache: true });
    const big = random.bytes(1536 * 1024);
    const small = random.bytes(5000);
    expect((await t.quota()).limit).toBe(64 * 1024 * 1024);
    await t.put('a/big.bin', big, { sha256: hex(big) });
    await t.put('a/small.bin', small, { sha256: hex(small) });
    const keys = [];
    for await (const o of t.list()) keys.push(o.key);
    expect(keys.sort()).toEqual(['a/big.bin', 'a/small.bin']);
    expect((await readAll(await t.get('a/small.bin'))).equals(small)).toBe(true);
    await t.delete('a/big.bin');
    expect(await t.head('a/big.bin')).toBeNull();
    // Our own top folder was created beside theirs; theirs is as it was.
    const tops = [...emu.store.files.values()].filter((f) => f.name === 'scoped');
    expect(tops).toHaveLength(2);
    expect(theirs.appId).toBeUndefined();
    expect([...emu.store.files.values()].filter((f) => f.parents.includes(theirs.id))).toEqual([theirFile]);
  });
});
