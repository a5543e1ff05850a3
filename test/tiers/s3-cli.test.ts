/**
 * `upload iso` against moto (through the counting proxy) as AWS users really configure it:
 * credentials from ~/.aws (default profile and AWS_PROFILE), temporary keys with AWS_SESSION_TOKEN,
 * lomob's LOCALSTACK_ENDPOINT, `iso upload` and ONE-ZONE_IA/ONEZONE_IA; S3 asked for without
 * credentials stops (exit 9) instead of writing to a local folder; and in a bucket shared by two
 * sites, the orphan sweep aborts only our own abandoned uploads, never the other site's live one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, CreateMultipartUploadCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../support/moto.js';
import { S3Proxy } from './s3-proxy.js';
import { cli } from '../support/cli.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { CatalogJournal } from '../../storage/placements/catalog-journal.js';
import { seeded } from '../support/random.js';

const random = seeded('tiers/s3-cli.test.ts');

let moto: Moto;
let proxy: S3Proxy;
let dir: string;
let raw: S3Client;

/** Nothing from the developer's own AWS setup leaks in: every run says where its credentials come from. */
const clean = (home: string): Record<string, string | undefined> => ({
  HOME: home,
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_CONFIG_FILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  LOCALSTACK_ENDPOINT: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_DEFAULT_REGION: 'us-east-1',
  LOMOB_MASTER_KEY: 's3 cli test passphrase',
  LOMO_RETRY_BASE_MS: '5',
  LOMO_ORPHAN_GRACE_MS: undefined,
});

beforeAll(async () => {
  moto = await startMoto();
  proxy = await new S3Proxy(moto.endpoint).start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-s3-cli-'));
  // Through the proxy, which reports each upload's real start time (moto's is a fixed 2010 date).
  raw = new S3Client({ endpoint: proxy.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'raw', secretAccessKey: 'raw' } });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A site with its own catalog and one encrypted volume per file (files on different days, 1 MB volumes). */
async function site(name: string, files = 1): Promise<{ db: string; home: string }> {
  const base = path.join(dir, name);
  const lib = path.join(base, 'lib');
  const home = path.join(base, 'home');
  fs.mkdirSync(lib, { recursive: true });
  fs.mkdirSync(home);
  for (let i = 0; i < files; i++) {
    const f = path.join(lib, `p${i}.jpg`);
    fs.writeFileSync(f, random.bytes(700_000));
    const t = new Date(Date.UTC(2024, 0, 1 + i * 3));
    fs.utimesSync(f, t, t);
  }
  const db = path.join(base, 'site.db');
  const env = clean(home);
  for (const args of [['scan', lib], ['init', '--kdf-passes', '1'], ['iso', 'create', '--partial', '-s', '1M', '-p', base]]) {
    const r = await cli(['--db', db, ...args], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  return { db, home };
}

const placements = (db: string) => {
  const c = openCatalog(db, { create: false });
  try {
    return (c.prepare('SELECT COUNT(*) AS n FROM placements').get() as { n: number }).n;
  } finally {
    c.close();
  }
};

const unfinished = async (bucket: string) => ((await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).map((u) => u.Key!);

describe('S3 credentials as the AWS tools read them', () => {
  it('uploads with the keys of ~/.aws/credentials, and of the profile AWS_PROFILE names', async () => {
    const a = await site('profile-default');
    fs.mkdirSync(path.join(a.home, '.aws'));
    const creds = '[default]\naws_access_key_id = AKIADEFAULTPROFILE\naws_secret_access_key = s1\n\n[work]\naws_access_key_id = AKIAWORKPROFILE\naws_secret_access_key = s2\n';
    fs.writeFileSync(path.join(a.home, '.aws', 'credentials'), creds, { mode: 0o600 });
    proxy.signers.length = 0;
    const up = await cli(['--db', a.db, 'upload', 'iso', '--awsBucketName', 'from-profile'], { env: { ...clean(a.home), AWS_ENDPOINT_URL: proxy.endpoint } });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).not.toMatch(/local folder tier/);
    expect(new Set(proxy.signers.map((s) => s.accessKeyId))).toEqual(new Set(['AKIADEFAULTPROFILE']));
    expect((await cli(['--db', a.db, 'list', 'iso'], { env: clean(a.home) })).stdout).toMatch(/Uploaded\s+us-east-1\s+from-profile/);
    // `cost` plans Deep Archive when nothing is archived yet; upload iso's default is lomob's STANDARD: say so.
    expect(up.stderr).toMatch(/upload iso is about to store volumes as STANDARD, but `lomo-peer cost` planned DEEP_ARCHIVE.*--storage-class DEEP_ARCHIVE/);

    const b = await site('profile-work');
    fs.mkdirSync(path.join(b.home, '.aws'));
    fs.writeFileSync(path.join(b.home, '.aws', 'credentials'), creds, { mode: 0o600 });
    proxy.signers.length = 0;
    const work = await cli(['--db', b.db, 'upload', 'iso', '--awsBucketName', 'from-profile'], { env: { ...clean(b.home), AWS_ENDPOINT_URL: proxy.endpoint, AWS_PROFILE: 'work' } });
    expect(work.code, work.stderr).toBe(0);
    expect(new Set(proxy.signers.map((s) => s.accessKeyId))).toEqual(new Set(['AKIAWORKPROFILE']));
  });

  it("passes AWS_SESSION_TOKEN with the keys; honours lomob's LOCALSTACK_ENDPOINT, `iso upload` and both spellings of One Zone-IA", async () => {
    const s = await site('session');
    proxy.signers.length = 0;
    const env = { ...clean(s.home), AWS_ACCESS_KEY_ID: 'ASIATEMPORARY', AWS_SECRET_ACCESS_KEY: 'tmp', AWS_SESSION_TOKEN: 'session-token-123', LOCALSTACK_ENDPOINT: proxy.endpoint };
    const up = await cli(['--db', s.db, 'iso', 'upload', '--storage-class', 'ONEZONE_IA', '--awsBucketName', 'session', '--json'], { env });
    expect(up.code, up.stderr).toBe(0);
    expect(proxy.signers.length).toBeGreaterThan(0);
    for (const sig of proxy.signers) expect(sig).toEqual({ accessKeyId: 'ASIATEMPORARY', sessionToken: 'session-token-123' });
    const [vol] = JSON.parse(up.stdout).uploaded as { key: string; storageClass: string }[];
    expect(vol!.storageClass).toBe('ONEZONE_IA');
    expect((await raw.send(new HeadObjectCommand({ Bucket: 'session', Key: vol!.key }))).StorageClass).toBe('ONEZONE_IA');
    // lomob's spelling is accepted too (nothing left to upload: the same class, a no-op).
    const again = await cli(['--db', s.db, 'upload', 'iso', '--storage-class', 'ONE-ZONE_IA', '--awsBucketName', 'session'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/nothing to upload/);
  });

  it('stops with exit 9 when S3 was asked for but no credentials exist, and records nothing', async () => {
    const s = await site('no-creds');
    proxy.reset();
    const r = await cli(['--db', s.db, 'upload', 'iso', '--storage-class', 'DEEP_ARCHIVE'], { env: clean(s.home) });
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(/S3 was asked for \(--storage-class DEEP_ARCHIVE\) but no AWS credentials were found .*--awsAccessKeyID.*AWS_PROFILE/);
    expect(placements(s.db)).toBe(0);
    expect(fs.existsSync(path.join(path.dirname(s.db), 'archive'))).toBe(false);
    expect((await cli(['--db', s.db, 'list', 'iso'], { env: clean(s.home) })).stdout).not.toMatch(/Uploaded/);
    // A bucket or an endpoint asks for S3 just the same.
    const bucket = await cli(['--db', s.db, 'upload', 'iso', '--awsBucketName', 'mine'], { env: clean(s.home) });
    expect(bucket.code).toBe(9);
    expect(bucket.stderr).toMatch(/S3 was asked for \(--awsBucketName mine\)/);
    const endpoint = await cli(['--db', s.db, 'upload', 'iso'], { env: { ...clean(s.home), LOCALSTACK_ENDPOINT: proxy.endpoint } });
    expect(endpoint.code).toBe(9);
    expect(endpoint.stderr).toMatch(/S3 was asked for \(LOCALSTACK_ENDPOINT\)/);
    expect(proxy.count()).toBe(0);
    expect(placements(s.db)).toBe(0);
    // Nothing cloud-related asked: the local folder tier, as before.
    const local = await cli(['--db', s.db, 'upload', 'iso'], { env: clean(s.home) });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr).toMatch(/no AWS credentials .*: using the local folder tier file:\/\//);
    expect(placements(s.db)).toBeGreaterThan(0);
  });
});

describe('answers the SDK cannot parse', () => {
  it("exit 9 with the parser's reason when the final check's Last-Modified is unreadable (servers before moto 5.2.5), nothing recorded", async () => {
    const s = await site('unreadable');
    proxy.rewriteHeaders = { op: 'GetObjectAttributes', fn: (h) => ({ ...h, 'last-modified': 'Thu, 31 Nov 24 25:61:00 XYZ' }) };
    try {
      const env = { ...clean(s.home), AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: proxy.endpoint };
      const r = await cli(['--db', s.db, 'upload', 'iso', '--awsBucketName', 'unreadable'], { env });
      expect(r.code, r.stderr).toBe(9);
      expect(r.stderr).toMatch(/upload iso: verify .*: the S3 server sent an answer the AWS SDK cannot read \(.*\)/);
      expect(r.stderr).not.toMatch(/usage/i);
      expect(placements(s.db)).toBe(0);
    } finally {
      proxy.rewriteHeaders = undefined;
    }
  });
});

describe('orphan clean-up in a bucket two sites share', () => {
  it("aborts only this site's abandoned uploads past the grace period; the other site's live upload survives", async () => {
    const a = await site('share-a', 2);
    const b = await site('share-b');
    const keys = { ...clean(a.home), AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_ENDPOINT_URL: proxy.endpoint };
    const planned = async (db: string) => {
      const dry = await cli(['--db', db, 'upload', 'iso', '--awsBucketName', 'shared', '--dry-run'], { env: keys });
      expect(dry.code, dry.stderr).toBe(0);
      return dry.stdout.trim().split('\n').map((l) => {
        const [, name, key] = /^would upload (\S+)\s.*s3:\/\/shared\/(\S+)$/.exec(l)!;
        return { name: name!, key: key! };
      });
    };
    const volsA = await planned(a.db);
    expect(volsA).toHaveLength(2);
    const [keyB] = (await planned(b.db)).map((v) => v.key);
    const folderA = path.posix.dirname(volsA[0]!.key);
    expect(path.posix.dirname(keyB!)).not.toBe(folderA); // each site's volumes under its own keyed folder

    // Site B is uploading right now; site A has two abandoned uploads of its own: one its journal
    // knows (for a volume that no longer exists), one a crash left before the journal entry.
    const start = async (Key: string) => (await raw.send(new CreateMultipartUploadCommand({ Bucket: 'shared', Key }))).UploadId!;
    await raw.send(new CreateBucketCommand({ Bucket: 'shared' }));
    const live = await start(keyB!);
    const stale = await start(`${folderA}/gone.iso`);
    await start(`${folderA}/crashed.iso`);
    const c = openCatalog(a.db, { create: false });
    new CatalogJournal(c).started('s3://shared', `${folderA}/gone.iso`, stale, 6_000_000, 1_000_000);
    c.close();

    // Within the grace period (the default, a day) nothing is aborted.
    proxy.reset();
    const first = await cli(['--db', a.db, 'upload', 'iso', volsA[0]!.name, '--awsBucketName', 'shared'], { env: keys });
    expect(first.code, first.stderr).toBe(0);
    expect(proxy.count('AbortMultipartUpload')).toBe(0);
    expect(await unfinished('shared')).toEqual(expect.arrayContaining([keyB, `${folderA}/gone.iso`, `${folderA}/crashed.iso`]));

    // Past it, A aborts its own two, and B's upload (not A's) is left alone.
    proxy.reset();
    const second = await cli(['--db', a.db, 'upload', 'iso', '--awsBucketName', 'shared'], { env: { ...keys, LOMO_ORPHAN_GRACE_MS: '0' } });
    expect(second.code, second.stderr).toBe(0);
    expect(proxy.count('AbortMultipartUpload')).toBe(2);
    expect(second.stderr).toMatch(/aborted 2 unfinished upload\(s\) nobody will resume/);
    const left = await unfinished('shared');
    expect(left).toContain(keyB);
    expect(left).not.toContain(`${folderA}/gone.iso`);
    expect(left).not.toContain(`${folderA}/crashed.iso`);
    const uploads = ((await raw.send(new ListMultipartUploadsCommand({ Bucket: 'shared' }))).Uploads ?? []).filter((u) => u.Key === keyB);
    expect(uploads.map((u) => u.UploadId)).toEqual([live]);
    const cat = openCatalog(a.db, { create: false });
    expect(cat.prepare('SELECT COUNT(*) AS n FROM cloud_uploads').get()).toEqual({ n: 0 });
    cat.close();
  });
});
