/**
 * The S3 tier against moto's real server, through a counting proxy: multipart with per-part
 * SHA-256, request counts, storage classes, Deep Archive restore flow, damaged parts, injected
 * errors, resume, orphan aborts. What moto does not do (it ignores part checksums, omits
 * ObjectParts) is covered by the MD5/ETag and composite-checksum checks, which moto does support.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../support/moto.js';
import { S3Proxy } from './s3-proxy.js';
import { S3Tier, type S3TierOptions } from '../../storage/tiers/s3.js';
import { MemoryJournal } from '../../storage/tiers/upload-journal.js';
import { TierError } from '../../storage/tiers/tier.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/s3.test.ts');

const MiB = 1024 * 1024;
let moto: Moto;
let proxy: S3Proxy;
process.env.LOMO_RETRY_BASE_MS = '5';

const tier = (o: Partial<S3TierOptions> = {}) =>
  new S3Tier({ bucket: 'lomorage', endpoint: proxy.endpoint, region: 'us-east-1', accessKeyId: 'testing', secretAccessKey: 'testing', partSize: 5 * MiB, ...o });
const hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function readAll(r: Readable): Promise<Buffer> {
  const c: Buffer[] = [];
  for await (const x of r) c.push(x as Buffer);
  return Buffer.concat(c);
}
/** A stream that yields the data in odd-sized chunks, as a file or encryptor would. */
const streamOf = (b: Buffer) => Readable.from((function* () { for (let i = 0; i < b.length; i += 777_777) yield b.subarray(i, i + 777_777); })());

beforeAll(async () => {
  moto = await startMoto();
  proxy = await new S3Proxy(moto.endpoint).start();
}, 30_000);
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
});

describe('S3 tier on moto', () => {
  it('creates the missing bucket, or names it when told not to', async () => {
    const e = await tier({ bucket: 'no-such-bucket', createBucket: false }).put('x', Buffer.from('x')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TierError);
    expect((e as TierError).message).toMatch(/no-such-bucket.*--awsBucketName/);
    proxy.reset();
    await tier().ensureBucket();
    expect(proxy.counts()).toEqual({ HeadBucket: 1, CreateBucket: 1 });
  });

  it('uploads N parts with N + 2 requests plus the checks, verified, in Deep Archive', async () => {
    const data = random.bytes(13 * MiB); // 3 parts of 5 MiB
    const t = tier({ storageClass: 'DEEP_ARCHIVE' });
    proxy.reset();
    const st = await t.put('vol/one.iso', streamOf(data), { size: data.length, sha256: hex(data) });
    expect(st).toMatchObject({ size: data.length, sha256: hex(data), storageClass: 'DEEP_ARCHIVE' });
    expect(st.parts!.map((p) => p.size)).toEqual([5 * MiB, 5 * MiB, 3 * MiB]);
    // N + 2 = CreateMultipartUpload + 3 UploadPart + Complete; checks: HeadBucket, HeadObject, GetObjectAttributes.
    expect(proxy.counts()).toEqual({ HeadBucket: 1, HeadObject: 1, CreateMultipartUpload: 1, UploadPart: 3, CompleteMultipartUpload: 1, GetObjectAttributes: 1 });
    // Parts are signed with their own SHA-256 (reused, not recomputed): the value SigV4 requires.
    for (const p of proxy.partHashes.slice(-3)) expect(p.signed).toBe(p.body);
    // Putting the same bytes again is a HEAD, not an upload.
    proxy.reset();
    await t.put('vol/one.iso', streamOf(data), { size: data.length, sha256: hex(data) });
    expect(proxy.counts()).toEqual({ HeadObject: 1 });
    // Deep Archive objects younger than 180 days are not replaced or deleted.
    await expect(t.put('vol/one.iso', Buffer.from('other'), { sha256: hex(Buffer.from('other')) })).rejects.toThrow(/180 days/);
    await expect(t.delete('vol/one.iso')).rejects.toThrow(/180 days/);
  });

  it('keeps each storage class lomob offers', async () => {
    for (const c of ['STANDARD', 'STANDARD_IA', 'ONE-ZONE_IA', 'ONEZONE_IA', 'GLACIER_IR', 'INTELLIGENT_TIERING', 'REDUCED_REDUNDANCY'] as const) {
      const t = tier({ storageClass: c });
      await t.put(`classes/${c}`, Buffer.from(c));
      expect((await t.head(`classes/${c}`))!.storageClass).toBe(c === 'ONE-ZONE_IA' ? 'ONEZONE_IA' : c);
    }
  });

  it('lists under a prefix and deletes what is not cold', async () => {
    const t = tier({ prefix: 'site-a' });
    await t.put('l/1', Buffer.from('one'));
    await t.put('l/2', Buffer.from('two'));
    const keys: string[] = [];
    for await (const o of t.list('l/')) keys.push(`${o.key}:${o.size}`);
    expect(keys.sort()).toEqual(['l/1:3', 'l/2:3']);
    await t.delete('l/1');
    expect(await t.head('l/1')).toBeNull();
    expect((await t.head('l/2'))!.size).toBe(3);
  });

  it('runs the Deep Archive restore flow: GET refused, RestoreObject, then ranged parallel GETs', async () => {
    const data = random.bytes(6 * MiB + 123);
    const t = tier({ storageClass: 'DEEP_ARCHIVE' });
    await t.put('cold/v.iso', data);
    const before = await t.head('cold/v.iso');
    expect(before!.restore).toEqual({ needed: true, ongoing: false });
    const refused = await t.get('cold/v.iso', { start: 0, end: 9 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TierError);
    expect((refused as TierError).kind).toBe('needs-restore');
    await t.requestRestore('cold/v.iso', { days: 1, tier: 'Bulk' });
    const after = await t.head('cold/v.iso');
    expect(after!.restore!.needed).toBe(false);
    expect(after!.restore!.expiresAt).toBeInstanceOf(Date);
    proxy.reset();
    const got = await readAll(t.getParallel('cold/v.iso', data.length, { rangeSize: 1 * MiB, concurrency: 3 }));
    expect(got.equals(data)).toBe(true);
    expect(proxy.count('GetObject')).toBe(7);
  });

  it('detects a part damaged in transit and sends it again', async () => {
    const data = random.bytes(11 * MiB);
    const t = tier();
    const events: number[] = [];
    t.onEvent = (e) => events.push(e.partNumber);
    proxy.corruptPart(2);
    proxy.reset();
    const st = await t.put('damaged.iso', data);
    expect(events).toEqual([2]);
    expect(proxy.count('UploadPart')).toBe(4);
    expect(st.size).toBe(data.length);
    expect((await readAll(await t.get('damaged.iso'))).equals(data)).toBe(true);
  });

  it('does not count an upload whose final check disagrees (size or checksum reported by S3)', async () => {
    const data = random.bytes(11 * MiB);
    const journal = new MemoryJournal();
    proxy.rewrite = { op: 'GetObjectAttributes', fn: (x) => x.replace(/<ObjectSize>(\d+)<\/ObjectSize>/, (_m, n) => `<ObjectSize>${Number(n) - 1}</ObjectSize>`) };
    const e = (await tier({ journal }).put('short.iso', data).catch((x: unknown) => x)) as TierError;
    expect(e.kind).toBe('checksum');
    expect(e.message).toMatch(/reports \d+ bytes, expected 11534336/);
    proxy.rewrite = { op: 'GetObjectAttributes', fn: (x) => x.replace(/<ChecksumSHA256>[^<]+<\/ChecksumSHA256>/, '<ChecksumSHA256>AAAA</ChecksumSHA256>') };
    const e2 = (await tier({ journal }).put('bad-sum.iso', data).catch((x: unknown) => x)) as TierError;
    proxy.rewrite = undefined;
    expect(e2.kind).toBe('checksum');
    expect(e2.message).toMatch(/checksum differs/);
  });

  it('retries injected 500, 503 SlowDown and 429, and explains bad credentials', async () => {
    const t = tier();
    await t.ensureBucket();
    proxy.fail(500, 'InternalError');
    proxy.fail(503, 'SlowDown');
    proxy.fail(429, 'TooManyRequests');
    const retries: string[] = [];
    const t2 = tier({ retry: { onRetry: (e) => retries.push(e.kind) } });
    await t2.put('retried', Buffer.from('hello'));
    expect(retries).toEqual(['unavailable', 'throttled', 'throttled']);
    proxy.fail(403, 'InvalidAccessKeyId');
    const e = (await t.list('x')[Symbol.asyncIterator]().next().catch((x: unknown) => x)) as TierError;
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(/InvalidAccessKeyId.*--awsAccessKeyID.*AWS_ACCESS_KEY_ID/);
  });

  it('resumes an interrupted upload from the journal without re-sending finished parts', async () => {
    const data = random.bytes(26 * MiB); // 6 parts
    const journal = new MemoryJournal();
    const ac = new AbortController();
    const t = tier({ journal, concurrency: 2 });
    let seen = 0;
    await expect(
      t.put('resume.iso', streamOf(data), { size: data.length, signal: ac.signal, onProgress: () => ++seen === 3 && ac.abort(new Error('stop')) }),
    ).rejects.toThrow('stop');
    const recorded = journal.load(t.url, 'resume.iso')!.parts.size;
    expect(recorded).toBeGreaterThanOrEqual(3);
    expect(recorded).toBeLessThan(6);
    proxy.reset();
    const st = await tier({ journal, concurrency: 2 }).put('resume.iso', streamOf(data), { size: data.length, sha256: hex(data) });
    expect(st.sha256).toBe(hex(data));
    expect(proxy.count('CreateMultipartUpload')).toBe(0);
    expect(proxy.count('ListParts')).toBe(1);
    expect(proxy.count('UploadPart')).toBe(6 - recorded);
    expect(journal.load(t.url, 'resume.iso')).toBeNull();
    expect((await readAll(await t.get('resume.iso'))).equals(data)).toBe(true);
  });

  it('aborts only our abandoned multipart uploads older than the grace period', async () => {
    // Through the proxy: it reports each upload's real start (moto's Initiated is a fixed 2010 date).
    const raw = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const start = async (Key: string) => (await raw.send(new CreateMultipartUploadCommand({ Bucket: 'lomorage', Key }))).UploadId!;
    const left = async () => ((await raw.send(new ListMultipartUploadsCommand({ Bucket: 'lomorage' }))).Uploads ?? []).map((u) => u.Key);
    const journal = new MemoryJournal();
    const t = tier({ journal });
    await start('mine/orphan.iso'); // in our folder, nobody's journal: a crash before the journal entry
    await start('theirs/live.iso'); // another site's folder: never ours
    const resumable = await start('mine/resume.iso');
    journal.started(t.url, 'mine/resume.iso', resumable, 5 * MiB); // journaled, its volume still waits
    const stale = await start('elsewhere/gone.iso');
    journal.started(t.url, 'elsewhere/gone.iso', stale, 5 * MiB); // journaled, its volume is gone
    const scope = { folders: ['mine'], pending: (k: string) => k === 'mine/resume.iso' };
    // Within the grace period nothing is touched: any of them may be uploading right now.
    expect(await t.abortOrphans({ ...scope, graceMs: 3_600_000 })).toEqual([]);
    expect(await left()).toEqual(expect.arrayContaining(['mine/orphan.iso', 'theirs/live.iso', 'mine/resume.iso', 'elsewhere/gone.iso']));
    const aborted = await t.abortOrphans({ ...scope, graceMs: 0 });
    expect(aborted.sort()).toEqual(['elsewhere/gone.iso', 'mine/orphan.iso']);
    expect(await left()).toEqual(expect.arrayContaining(['theirs/live.iso', 'mine/resume.iso']));
    expect(await left()).not.toContain('mine/orphan.iso');
    expect(journal.load(t.url, 'elsewhere/gone.iso')).toBeNull();
    expect(journal.load(t.url, 'mine/resume.iso')?.uploadId).toBe(resumable);
  });

  it('reports an answer the SDK cannot parse as a storage error with the reason, not a usage error', async () => {
    // moto before 5.2.5 sent Last-Modified dates the SDK rejects; the final check must say so.
    proxy.rewriteHeaders = { op: 'GetObjectAttributes', fn: (h) => ({ ...h, 'last-modified': 'yesterday-ish' }) };
    try {
      const e = await tier().put('unreadable/x.bin', Buffer.from('some bytes')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TierError);
      expect((e as TierError).kind).toBe('unreadable');
      expect((e as TierError).message).toMatch(/verify unreadable\/x\.bin: the S3 server sent an answer the AWS SDK cannot read \(.*date.*\)/i);
    } finally {
      proxy.rewriteHeaders = undefined;
    }
  });
});
