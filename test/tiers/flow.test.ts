/**
 * The lomob flow end to end with the real CLI against moto (through the counting proxy) and the
 * Drive emulator: scan -> upload files -> list files / list gdrive -> restore gdrive -> iso create
 * -> upload iso (request count) -> staging cleanup -> restore aws (Deep Archive) -> bytes checked.
 * Then an upload killed with SIGKILL mid-way resumes without re-sending more than --nthreads parts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { startMoto, type Moto } from '../support/moto.js';
import { S3Proxy } from './s3-proxy.js';
import { cli as runCli, startCli } from '../support/cli.js';
import { waitFor } from '../support/wait.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { GetObjectAttributesCommand, S3Client } from '@aws-sdk/client-s3';
import { seeded } from '../support/random.js';

const random = seeded('tiers/flow.test.ts');

let moto: Moto;
let proxy: S3Proxy;
let emu: DriveEmulator;
let dir: string;
let env: Record<string, string>;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  moto = await startMoto();
  proxy = await new S3Proxy(moto.endpoint).start();
  emu = await new DriveEmulator({ quotaLimit: 200 * 1024 * 1024 }).start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-flow-'));
  fs.writeFileSync(
    path.join(dir, 'gdrive-credentials.json'),
    JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl } }),
  );
  fs.writeFileSync(path.join(dir, 'gdrive-token.json'), JSON.stringify({ refresh_token: emu.oauth.grant().refresh_token }), { mode: 0o600 });
  env = {
    LOMOB_MASTER_KEY: 'flow test passphrase',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: proxy.endpoint,
    LOMO_GDRIVE_ROOT_URL: emu.url,
    LOMO_RETRY_BASE_MS: '5',
  };
}, 240_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
  await emu?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (db: string, args: string[]) => runCli(['--db', db, ...args], { env: { ...env, HOME: dir }, timeoutMs: 180_000 });
const drive = (db: string, args: string[]) =>
  cli(db, [...args, '--cred', path.join(dir, 'gdrive-credentials.json'), '--token', path.join(dir, 'gdrive-token.json')]);

describe('lomob flow on moto and the Drive emulator', () => {
  it('scan, stage on Drive, archive to Deep Archive, clean the staging copies, restore both ways', async () => {
    const lib = path.join(dir, 'lib');
    fs.mkdirSync(path.join(lib, 'trip', 'day1'), { recursive: true });
    const files: Record<string, Buffer> = {
      'trip/day1/a.jpg': random.bytes(3_500_000),
      'trip/day1/b.mp4': random.bytes(9_000_000),
      'trip/note.txt': Buffer.from('hello\n'),
    };
    for (const [p, b] of Object.entries(files)) fs.writeFileSync(path.join(lib, p), b);
    const db = path.join(dir, 'flow.db');
    expect((await cli(db, ['scan', lib])).code).toBe(0);
    const init = await cli(db, ['init', '--kdf-passes', '1']);
    expect(init.code, init.stderr).toBe(0);

    // Stage 1: Drive.
    const up = await drive(db, ['upload', 'files', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).uploaded).toBe(3);
    const names = [...emu.store.files.values()].map((f) => f.name);
    for (const plain of ['a.jpg', 'b.mp4', 'note.txt', 'trip', 'day1']) expect(names).not.toContain(plain); // no real names on Drive
    // Files went up in parallel; each folder exists once: lomorage / <root> / trip / day1.
    expect([...emu.store.files.values()].filter((f) => f.mimeType === 'application/vnd.google-apps.folder')).toHaveLength(4);
    const again = await drive(db, ['upload', 'files', '--json']);
    expect(JSON.parse(again.stdout).uploaded).toBe(0);
    const lf = await cli(db, ['list', 'files']);
    expect(lf.stdout.split('\n').filter((l) => /^Y\s/.test(l))).toHaveLength(3);
    const tree = await drive(db, ['list', 'gdrive']);
    expect(tree.code, tree.stderr).toBe(0);
    const aLine = tree.stdout.split('\n').find((l) => l.endsWith(' a.jpg'))!;
    expect(aLine).toMatch(new RegExp(`\\[ 3500000 \\d\\d/\\d\\d/\\d{4} ${sha(files['trip/day1/a.jpg']!).slice(0, 6)} [0-9a-f]{6}\\] a.jpg$`));
    expect(tree.stdout).toMatch(/^lomorage\n└── \[ [\d/]+\] .*lib\n/);
    const outB = path.join(dir, 'b.mp4');
    const rg = await drive(db, ['restore', 'gdrive', path.join(lib, 'trip/day1/b.mp4'), outB]);
    expect(rg.code, rg.stderr).toBe(0);
    expect(fs.readFileSync(outB).equals(files['trip/day1/b.mp4']!)).toBe(true);

    // Stage 2: one encrypted volume to Deep Archive.
    const iso = await cli(db, ['iso', 'create', '--partial', '-p', dir]);
    expect(iso.code, iso.stderr).toBe(0);
    const c = openCatalog(db, { create: false });
    const vol = c.prepare('SELECT v.name, o.chunk_count FROM volumes v JOIN objects o ON o.volume_id = v.id AND o.kind = ?').get('volume') as { name: string; chunk_count: number };
    c.close();
    const parts = vol.chunk_count; // without -p, one part per encrypted chunk
    expect(parts).toBeGreaterThanOrEqual(2);
    proxy.reset();
    const dry = await cli(db, ['upload', 'iso', '--storage-class', 'DEEP_ARCHIVE', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/estimate: 1 volume\(s\).*DEEP_ARCHIVE: \d+ requests \$/);
    expect(dry.stdout).toMatch(/^would upload /);
    expect(proxy.count()).toBe(0); // an estimate costs nothing
    const ui = await cli(db, ['upload', 'iso', '--storage-class', 'DEEP_ARCHIVE', '--json']);
    expect(ui.code, ui.stderr).toBe(0);
    expect(ui.stderr).toMatch(/estimate: 1 volume\(s\).*DEEP_ARCHIVE.*at least 180 days/);
    // The volume: N parts + CreateMultipartUpload + Complete; its small manifest: one PutObject.
    // Checks: HeadBucket (+ CreateBucket), ListMultipartUploads (orphans), HeadObject + GetObjectAttributes per object.
    expect(proxy.counts()).toEqual({
      HeadBucket: 1,
      CreateBucket: 1, // first upload: the missing bucket is created
      ListMultipartUploads: 1,
      HeadObject: 2,
      CreateMultipartUpload: 1,
      UploadPart: parts,
      CompleteMultipartUpload: 1,
      PutObject: 1,
      GetObjectAttributes: 2,
    });
    // Parts are the encrypted chunks: S3's composite checksum is computable from the catalog alone,
    // so a cloud check needs no download (and no Deep Archive restore).
    const cat = openCatalog(db, { create: false });
    const chunkShas = (cat.prepare(`SELECT c.sha256 FROM chunks c JOIN objects o ON o.id = c.object_row WHERE o.kind = 'volume' ORDER BY c.idx`).all() as { sha256: Buffer }[]).map((r) => r.sha256);
    cat.close();
    const raw = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const [uploadedVol] = JSON.parse(ui.stdout).uploaded as { key: string }[];
    expect(uploadedVol!.key).toMatch(new RegExp(`^[0-9a-f]{30}/${vol.name.replace(/\./g, '\\.')}$`)); // scan-root folder as a keyed token
    const attrs = await raw.send(new GetObjectAttributesCommand({ Bucket: 'lomorage', Key: uploadedVol!.key, ObjectAttributes: ['Checksum'] }));
    expect(attrs.Checksum?.ChecksumSHA256?.replace(/-\d+$/, '')).toBe(createHash('sha256').update(Buffer.concat(chunkShas)).digest('base64'));
    expect((await cli(db, ['list', 'iso'])).stdout).toMatch(new RegExp(`${vol.name.replace(/\./g, '\\.')}\\s+\\S+ MB\\s+Uploaded\\s+us-east-1\\s+lomorage`));

    // Staging lifecycle: the Drive copies of archived files go, trash included.
    const before = emu.store.usage().total;
    const clean = await drive(db, ['upload', 'files', '--json']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout).removedArchived).toBe(3);
    expect(emu.store.usage().total).toBeLessThan(before - 12_000_000);
    expect(emu.store.usage().trash).toBe(0);

    // Restore from Deep Archive: refused until restored, then downloaded, decrypted, verified.
    const out = path.join(dir, 'restored.iso');
    const first = await cli(db, ['restore', 'aws', vol.name, out]);
    expect(first.code).toBe(4);
    expect(first.stderr).toMatch(/restore Bulk: ready within ~48 h, about \$/);
    expect(fs.existsSync(out)).toBe(false);
    const ra = await cli(db, ['restore', 'aws', vol.name, out, '--tier', 'Bulk', '--wait', '--poll', '1']);
    expect(ra.code, ra.stderr).toBe(0);
    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    execFileSync('bsdtar', ['-xf', out, '-C', x]);
    for (const [p, b] of Object.entries(files)) {
      const found = execFileSync('find', [x, '-path', `*/${p}`]).toString().trim();
      expect(fs.readFileSync(found).equals(b), p).toBe(true);
    }
    const cost = await cli(db, ['cost', '--json']);
    expect(JSON.parse(cost.stdout).monthly.current[0]).toMatchObject({ tier: 'S3 DEEP_ARCHIVE', objects: 2 });
  }, 300_000);

  it('resumes an upload killed with SIGKILL, re-sending at most --nthreads parts', async () => {
    const lib = path.join(dir, 'lib2');
    fs.mkdirSync(lib);
    fs.writeFileSync(path.join(lib, 'big.bin'), random.bytes(40_000_000));
    const db = path.join(dir, 'kill.db');
    expect((await cli(db, ['scan', lib])).code).toBe(0);
    expect((await cli(db, ['init', '--kdf-passes', '1'])).code).toBe(0);
    expect((await cli(db, ['iso', 'create', '--partial', '-p', dir])).code).toBe(0);
    const args = ['--db', db, 'upload', 'iso', '-p', '6M', '-n', '2'];
    const killMidway = async (bucket: string) => {
      proxy.reset();
      proxy.uploadDelayMs = 300;
      const run = startCli([...args, '--awsBucketName', bucket], { env });
      await waitFor(() => {
        if (run.child.exitCode !== null) throw new Error(run.output());
        return proxy.count('UploadPart') >= 4;
      }, 120_000, 'four uploaded parts', 20);
      run.child.kill('SIGKILL');
      await run.done;
      proxy.uploadDelayMs = 0;
      const sent = proxy.count('UploadPart');
      proxy.reset();
      return sent;
    };
    const sentBefore = await killMidway('killtest');
    const resumed = await runCli([...args, '--awsBucketName', 'killtest'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const c = openCatalog(db, { create: false });
    const size = (c.prepare(`SELECT cipher_size FROM objects WHERE kind = 'volume'`).get() as { cipher_size: number }).cipher_size;
    expect(c.prepare('SELECT COUNT(*) AS n FROM cloud_uploads').get()).toEqual({ n: 0 });
    c.close();
    const parts = Math.ceil(size / 6_000_000);
    expect(parts).toBeGreaterThanOrEqual(7);
    expect(proxy.count('CreateMultipartUpload')).toBe(0); // the same upload, from the catalog
    expect(proxy.count('ListParts')).toBe(1);
    const resent = sentBefore + proxy.count('UploadPart') - parts;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThanOrEqual(2);
    // Uploading again is a no-op, even with --force: the bucket has it, verified.
    proxy.reset();
    expect((await runCli([...args, '--awsBucketName', 'killtest', '--force'], { env })).code).toBe(0);
    expect(proxy.count('UploadPart')).toBe(0);
    // --force after an interruption: the recorded upload is aborted and a new one starts.
    await killMidway('forcetest');
    const forced = await runCli([...args, '--awsBucketName', 'forcetest', '--force'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(proxy.count('AbortMultipartUpload')).toBe(1);
    expect(proxy.count('CreateMultipartUpload')).toBe(1);
    expect(proxy.count('UploadPart')).toBe(parts);
  }, 300_000);

  it('names the fix when credentials are refused (S3 403, expired Google refresh token) or Drive is full', async () => {
    const lib = path.join(dir, 'lib3');
    fs.mkdirSync(lib);
    fs.writeFileSync(path.join(lib, 'f.bin'), random.bytes(1000));
    const db = path.join(dir, 'denied.db');
    expect((await cli(db, ['scan', lib])).code).toBe(0);
    expect((await cli(db, ['init', '--kdf-passes', '1'])).code).toBe(0);
    expect((await cli(db, ['iso', 'create', '--partial', '-p', dir])).code).toBe(0);
    proxy.fail(403, 'InvalidAccessKeyId');
    const s3 = await runCli(['--db', db, 'upload', 'iso', '--awsBucketName', 'denied'], { env });
    expect(s3.code).toBe(9);
    expect(s3.stderr).toMatch(/S3 refused the credentials.*--awsAccessKeyID.*AWS_ACCESS_KEY_ID/);
    // A full Drive: nothing is sent, and the message says so (trash included).
    fs.writeFileSync(path.join(lib, 'g.bin'), random.bytes(50_000));
    expect((await cli(db, ['scan', lib])).code).toBe(0);
    const limit = emu.store.quotaLimit;
    emu.store.quotaLimit = emu.store.usage().total + 10_000;
    const uploadsBefore = emu.requests.filter((r) => r.path.startsWith('/upload/')).length;
    const full = await drive(db, ['upload', 'files']);
    emu.store.quotaLimit = limit;
    expect(full.code).toBe(9);
    expect(full.stderr).toMatch(/Google Drive is full: \d+ bytes free/);
    expect(emu.requests.filter((r) => r.path.startsWith('/upload/')).length).toBe(uploadsBefore);
    emu.oauth.expireAccessTokens();
    emu.oauth.expireRefreshTokens();
    const gd = await drive(path.join(dir, 'flow.db'), ['list', 'gdrive']);
    expect(gd.code).toBe(9);
    expect(gd.stderr, gd.stderr).toMatch(/refresh token has expired or was revoked.*util gcloud-auth/s);
  }, 60_000);
});
