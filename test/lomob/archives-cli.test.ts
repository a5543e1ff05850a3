/**
 * lomob's archives and util tools through the CLI, with the files lomob itself produced
 * (test/fixtures/lomob): its encryption reproduced byte for byte, its .enc files decrypted, the
 * part hashes S3 checks, and — after `import lomob` — its S3 volume (moto) and Drive copy (the
 * Drive emulator) restored with `restore aws` / `restore file` / `restore gdrive`.
 *
 * The fixture quirk (README there, docs/lomob.md §4): lomob.db records volume 1 with four files
 * (520192 bytes, 0a6157…), but the ISO lomob left on disk — and therefore its .enc — is a second
 * image of the same name holding only VID_0003.mp4 (544768 bytes, cff1e0…). So with lomob.db as
 * it is, the object in the bucket is NOT the recorded volume, and a restore must refuse it (exit
 * 7, nothing written). The successful restores use a copy of lomob.db corrected to what lomob
 * would have recorded had it not overwritten the image: volume 1 = the image on disk, holding
 * VID_0003.mp4, the four other files not in a volume.
 */
import { CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { FOLDER_MIME } from '../emulators/gdrive/store.js';
import { ROOT, cli as runCli, tempDir } from '../support/cli.js';
import { startMoto, type Moto } from '../support/moto.js';

const FIX = path.join(ROOT, 'test/fixtures/lomob');
const ISO_NAME = '2026-12-04--2026-12-04.iso';
const KEY = 'lomob fixture key 2026';
const VID = '/home/alice/Pictures/2021/12/VID_0003.mp4';
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const read = (f: string) => fs.readFileSync(f);
const librarySha = Object.fromEntries(
  fs.readFileSync(path.join(FIX, 'library.sha256'), 'utf8').trim().split('\n').map((l) => [l.slice(66).replace(/^\.\//, ''), l.slice(0, 64)]),
);

let moto: Moto;
let emu: DriveEmulator;
let s3: S3Client;
const { dir, cleanup } = tempDir('lomo-lomob-archives-');
let env: Record<string, string>;
const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...env, ...extra }, timeoutMs: 120_000 });

beforeAll(async () => {
  moto = await startMoto();
  emu = await new DriveEmulator().start();
  env = {
    LOMOB_MASTER_KEY: KEY,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: moto.endpoint,
    LOMO_GDRIVE_ROOT_URL: emu.url,
    LOMO_RETRY_BASE_MS: '5',
    HOME: dir,
  };
  s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'lomorage' }));
  // lomob's upload iso: the encrypted volume under its name at the bucket root (upload-iso.go).
  await s3.send(new PutObjectCommand({ Bucket: 'lomorage', Key: ISO_NAME, Body: read(path.join(FIX, `${ISO_NAME}.enc`)) }));
  // lomob's upload files: top folder / scan root flattened / folders / name, encrypted (upload-files.go).
  let parent = 'root';
  for (const name of ['lomorage', 'home_alice_Pictures', '2021', '12']) parent = emu.store.create({ name, mimeType: FOLDER_MIME, parents: [parent] }, null).id;
  emu.store.create({ name: 'VID_0003.mp4', parents: [parent] }, read(path.join(FIX, 'staging-VID_0003.mp4.enc')));
  fs.writeFileSync(
    path.join(dir, 'gdrive-credentials.json'),
    JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl } }),
  );
  fs.writeFileSync(path.join(dir, 'gdrive-token.json'), JSON.stringify({ refresh_token: emu.oauth.grant().refresh_token }), { mode: 0o600 });
  // The catalog as lomob left it, and one corrected to the image that really exists (see above).
  fs.copyFileSync(path.join(FIX, 'lomob.db'), path.join(dir, 'lomob.db'));
  fs.copyFileSync(path.join(FIX, 'lomob.db'), path.join(dir, 'lomob-fixed.db'));
  const db = new Database(path.join(dir, 'lomob-fixed.db'));
  const iso = read(path.join(FIX, ISO_NAME));
  db.prepare('UPDATE isos SET size = ?, hash_local = ? WHERE id = 1').run(iso.length, sha(iso));
  db.prepare(`UPDATE files SET iso_id = CASE name WHEN 'VID_0003.mp4' THEN 1 ELSE 0 END`).run();
  db.close();
  for (const [src, dst] of [['lomob.db', 'as-left.db'], ['lomob-fixed.db', 'fixed.db']]) {
    const r = await cli(['--db', dst, 'import', 'lomob', src]);
    expect(r.code, r.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await moto?.stop();
  await emu?.stop();
  cleanup();
});

describe("lomob's util format tools", () => {
  it("util encrypt reproduces lomob's .enc byte for byte, and --part-size pieces join to it", async () => {
    fs.copyFileSync(path.join(FIX, ISO_NAME), path.join(dir, 'a.iso'));
    const r = await cli(['util', 'encrypt', 'a.iso', '-p', '200K']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Start encrypt 'a.iso', and save output to 'a.iso.enc'");
    expect(r.stdout).toContain('Finish encryption!');
    expect(sha(read(path.join(dir, 'a.iso.enc')))).toBe(sha(read(path.join(FIX, `${ISO_NAME}.enc`))));
    const pieces = [1, 2, 3].map((i) => read(path.join(dir, `a.iso.enc.part${i}`)));
    expect(pieces.map((p) => p.length)).toEqual([200_000, 200_000, 144_784]);
    expect(Buffer.concat(pieces).equals(read(path.join(dir, 'a.iso.enc')))).toBe(true);
  });

  it("util decrypt -o restores lomob's ISO and staging file; a wrong key exits 6 and writes nothing", async () => {
    let r = await cli(['util', 'decrypt', path.join(FIX, `${ISO_NAME}.enc`), '-o', 'dec.iso']);
    expect(r.code, r.stderr).toBe(0);
    expect(read(path.join(dir, 'dec.iso')).equals(read(path.join(FIX, ISO_NAME)))).toBe(true);
    r = await cli(['util', 'decrypt', path.join(FIX, 'staging-VID_0003.mp4.enc')]);
    expect(r.code, r.stderr).toBe(0);
    r = await cli(['util', 'decrypt', path.join(FIX, 'staging-VID_0003.mp4.enc'), '-o', 'vid.mp4']);
    expect(sha(read(path.join(dir, 'vid.mp4')))).toBe(librarySha['2021/12/VID_0003.mp4']);
    r = await cli(['util', 'decrypt', path.join(FIX, 'staging-VID_0003.mp4.enc'), '-o', 'wrong.mp4'], { LOMOB_MASTER_KEY: 'not the key' });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/master key .* wrong, or the file is damaged/);
    expect(fs.existsSync(path.join(dir, 'wrong.mp4'))).toBe(false);
    // A new lomo-peer passphrase in LOMOB_MASTER_KEY: lomob's old key from --lomob-key-file.
    fs.writeFileSync(path.join(dir, 'old-key'), `${KEY}\n`, { mode: 0o600 });
    r = await cli(['util', 'decrypt', path.join(FIX, 'staging-VID_0003.mp4.enc'), '-o', 'vid2.mp4', '--lomob-key-file', 'old-key'], { LOMOB_MASTER_KEY: 'new lomo-peer passphrase' });
    expect(r.code, r.stderr).toBe(0);
    expect(sha(read(path.join(dir, 'vid2.mp4')))).toBe(librarySha['2021/12/VID_0003.mp4']);
  });

  it('util parts prints base64 SHA-256 per part and the composite value S3 reports', async () => {
    const enc = read(path.join(FIX, `${ISO_NAME}.enc`));
    const hashes = [0, 1, 2].map((i) => crypto.createHash('sha256').update(enc.subarray(i * 200_000, (i + 1) * 200_000)).digest());
    const r = await cli(['util', 'parts', path.join(FIX, `${ISO_NAME}.enc`), '-p', '200K']);
    expect(r.code, r.stderr).toBe(0);
    const overall = crypto.createHash('sha256').update(Buffer.concat(hashes)).digest('base64');
    expect(r.stdout.trim().split('\n')).toEqual([...hashes.map((h, i) => `Part ${i + 1}: ${h.toString('base64')}`), `Overall: ${overall}`]);
    const one = await cli(['util', 'parts', path.join(FIX, `${ISO_NAME}.enc`), '-p', '200K', '--pn', '2']);
    expect(one.stdout).toContain(`Part 2: ${hashes[1]!.toString('base64')}`);
    expect(one.stdout).not.toContain('Part 1:');
  });

  it("util check-header accepts lomob's pair and rejects another original (exit 7)", async () => {
    const ok = await cli(['util', 'check-header', path.join(FIX, ISO_NAME), path.join(FIX, `${ISO_NAME}.enc`)]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Salt is same as expected!');
    const bad = await cli(['util', 'check-header', path.join(FIX, 'library/2021/12/VID_0003.mp4'), path.join(FIX, `${ISO_NAME}.enc`)]);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain('different salt detected');
  });
});

describe("lomob's S3 util tools on moto", () => {
  it("upload-s3 stores a file under its base name in lomob's format; a second run leaves it", async () => {
    const r = await cli(['util', 'upload-s3', path.join(FIX, 'library/2021/12/IMG_0004.HEIC')]);
    expect(r.code, r.stderr).toBe(0);
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: 'lomorage', Key: 'IMG_0004.HEIC' }))).Body!.transformToByteArray());
    fs.writeFileSync(path.join(dir, 'heic.enc'), got);
    const d = await cli(['util', 'decrypt', 'heic.enc', '-o', 'heic']);
    expect(d.code, d.stderr).toBe(0);
    expect(sha(read(path.join(dir, 'heic')))).toBe(librarySha['2021/12/IMG_0004.HEIC']);
    const again = await cli(['util', 'upload-s3', path.join(FIX, 'library/2021/12/IMG_0004.HEIC')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already in .*no need upload again/);
  });

  it('list-inprogress-upload shows unfinished uploads; abort-upload <key> aborts them all', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lomorage', Key: 'left-over.iso' }))).UploadId!);
    const other = (await s3.send(new CreateMultipartUploadCommand({ Bucket: 'lomorage', Key: 'other.iso' }))).UploadId!;
    const l = await cli(['util', 'list-inprogress-upload']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout).toMatch(/UploadKey\s+UploadID\s+UploadTime/);
    for (const id of [...ids, other]) expect(l.stdout).toContain(id);
    const a = await cli(['util', 'abort-upload', 'left-over.iso']);
    expect(a.code, a.stderr).toBe(0);
    for (const id of ids) expect(a.stdout).toContain(`abort upload ID ${id} success!`);
    const one = await cli(['util', 'abort-upload', 'other.iso', other]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('abort upload success');
    const after = await cli(['--json', 'util', 'list-inprogress-upload']);
    expect(JSON.parse(after.stdout)).toEqual([]);
    const none = await cli(['util', 'abort-upload', 'left-over.iso']);
    expect(none.stdout).toContain('no in progress multipart upload to abort');
  });
});

describe("lomob's archives restore after import lomob", () => {
  it('restore aws refuses the object when it is not the volume lomob.db recorded (the fixture as lomob left it): exit 7, nothing written', async () => {
    const r = await cli(['--db', 'as-left.db', 'restore', 'aws', ISO_NAME, 'left.iso']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stderr).toMatch(/decrypts correctly with lomob's key but is not what the catalog recorded/);
    expect(fs.existsSync(path.join(dir, 'left.iso'))).toBe(false);
  });

  it("restore aws fetches lomob's volume from its key and decrypts it to the image", async () => {
    const r = await cli(['--db', 'fixed.db', 'restore', 'aws', ISO_NAME, 'restored.iso']);
    expect(r.code, r.stderr).toBe(0);
    expect(read(path.join(dir, 'restored.iso')).equals(read(path.join(FIX, ISO_NAME)))).toBe(true);
    // A wrong lomob key: exit 6, nothing written.
    const bad = await cli(['--db', 'fixed.db', 'restore', 'aws', ISO_NAME, 'bad.iso'], { LOMOB_MASTER_KEY: 'new passphrase' });
    expect(bad.code).toBe(6);
    expect(fs.existsSync(path.join(dir, 'bad.iso'))).toBe(false);
  });

  it('restore file extracts a file of a lomob volume: fetched from S3, or from a local image found by its hash', async () => {
    let r = await cli(['--db', 'fixed.db', 'restore', 'file', VID, '--to', 'from-s3']);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(read(path.join(dir, 'from-s3', VID)))).toBe(librarySha['2021/12/VID_0003.mp4']);
    // A local image under another name, no AWS at all: found by size and SHA-256.
    fs.mkdirSync(path.join(dir, 'isos'));
    fs.copyFileSync(path.join(FIX, ISO_NAME), path.join(dir, 'isos', 'renamed.iso'));
    const noAws = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '' };
    r = await cli(['--db', 'fixed.db', 'restore', 'file', VID, '--to', 'from-local', '--iso-dir', 'isos'], noAws);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('from the local image');
    expect(sha(read(path.join(dir, 'from-local', VID)))).toBe(librarySha['2021/12/VID_0003.mp4']);
  });

  it('restore file of a file lomob.db puts in the overwritten volume fails as corrupt (exit 7), nothing placed', async () => {
    const img = '/home/alice/Pictures/2019/05/IMG_0001.jpg';
    const r = await cli(['--db', 'as-left.db', 'restore', 'file', img, '--to', 'as-left-out']);
    expect(r.code).toBe(7);
    expect(fs.existsSync(path.join(dir, 'as-left-out', img))).toBe(false);
  });

  it("restore gdrive gets lomob's Drive copy by library path or by lomob's Drive path", async () => {
    const drive = ['--cred', path.join(dir, 'gdrive-credentials.json'), '--token', path.join(dir, 'gdrive-token.json')];
    let r = await cli(['--db', 'as-left.db', 'restore', 'gdrive', VID, 'g1.mp4', ...drive]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(read(path.join(dir, 'g1.mp4')))).toBe(librarySha['2021/12/VID_0003.mp4']);
    r = await cli(['--db', 'as-left.db', 'restore', 'gdrive', 'home_alice_Pictures/2021/12/VID_0003.mp4', 'g2.mp4', ...drive]);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(read(path.join(dir, 'g2.mp4')))).toBe(librarySha['2021/12/VID_0003.mp4']);
  });
});
