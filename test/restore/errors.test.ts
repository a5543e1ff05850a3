/**
 * Every way a restore can fail ends with its documented exit code (never a crash: the EBADF
 * double close of the output is gone) and leaves no file behind; a wrong passphrase costs no
 * request at all; a killed `restore aws` resumes from the verified part and re-fetches only what
 * is missing. The real CLI against moto (through the counting, fault-injecting proxy) and the
 * Drive emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DriveEmulator } from '../emulators/gdrive/server.js';
import { startMoto, type Moto } from '../support/moto.js';
import { S3Proxy } from '../tiers/s3-proxy.js';
import { cli, killWhen, startCli, tempDir, type CliResult } from '../support/cli.js';
import { filesUnder } from '../support/files.js';
import { seeded } from '../support/random.js';
import { openCatalog } from '../../storage/catalog/db.js';

const random = seeded('restore/errors.test.ts');
const PASS = 'restore errors passphrase';

let moto: Moto;
let proxy: S3Proxy;
let emu: DriveEmulator;
let tmp: { dir: string; cleanup: () => void };
let env: Record<string, string>;
let db: string;
let lib: string;
let volume: string;
/** The volume's object key in each bucket (the same key everywhere). */
let key: string;
let plainSha: string;
let raw: S3Client;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const run = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => cli(['--db', db, ...args], { cwd: tmp.dir, env: { ...env, ...extra }, timeoutMs: 180_000 });
const driveArgs = (token = 'gdrive-token.json') => ['--cred', path.join(tmp.dir, 'gdrive-credentials.json'), '--token', path.join(tmp.dir, token)];

beforeAll(async () => {
  moto = await startMoto();
  proxy = await new S3Proxy(moto.endpoint).start();
  emu = await new DriveEmulator({ quotaLimit: 500 * 1024 * 1024 }).start();
  tmp = tempDir('lomo-restore-errors-');
  fs.writeFileSync(
    path.join(tmp.dir, 'gdrive-credentials.json'),
    JSON.stringify({ installed: { client_id: emu.oauth.client.clientId, client_secret: emu.oauth.client.clientSecret, auth_uri: emu.authUrl, token_uri: emu.tokenUrl } }),
  );
  fs.writeFileSync(path.join(tmp.dir, 'gdrive-token.json'), JSON.stringify({ refresh_token: emu.oauth.grant().refresh_token }), { mode: 0o600 });
  fs.writeFileSync(path.join(tmp.dir, 'bad-token.json'), JSON.stringify({ refresh_token: 'not-a-token-google-issued' }), { mode: 0o600 });
  env = {
    LOMOB_MASTER_KEY: PASS,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: proxy.endpoint,
    LOMO_GDRIVE_ROOT_URL: emu.url,
    LOMO_RETRY_BASE_MS: '1',
  };
  raw = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  lib = path.join(tmp.dir, 'lib');
  fs.mkdirSync(lib);
  fs.writeFileSync(path.join(lib, 'big.bin'), random.bytes(40_000_000)); // 5 chunks of 8 MiB
  fs.writeFileSync(path.join(lib, 'note.txt'), random.bytes(300_000));
  db = path.join(tmp.dir, 'site.db');
  for (const args of [['scan', lib], ['init', '--kdf-passes', '1'], ['upload', 'files', ...driveArgs()], ['iso', 'create', '--partial', '-p', tmp.dir]]) {
    const r = await run(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  }
  for (const [bucket, cls] of [['warm', 'STANDARD'], ['cold', 'DEEP_ARCHIVE'], ['gone', 'STANDARD']] as const) {
    const r = await run(['upload', 'iso', '--awsBucketName', bucket, '--storage-class', cls, '--json']);
    expect(r.code, r.stderr).toBe(0);
    key = JSON.parse(r.stdout).uploaded[0].key;
  }
  const c = openCatalog(db, { create: false });
  const v = c.prepare(`SELECT v.name, o.plain_sha256 FROM volumes v JOIN objects o ON o.volume_id = v.id AND o.kind = 'volume'`).get() as { name: string; plain_sha256: Buffer };
  c.close();
  volume = v.name;
  plainSha = v.plain_sha256.toString('hex');
}, 300_000);

afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
  await emu?.stop();
  tmp?.cleanup();
});

/** One failure: what causes it, the command, the exit code it must end with. */
interface Case {
  cause: string;
  exit: number;
  /** The command, given a fresh empty output folder. */
  args: (outDir: string) => string[];
  stderr?: RegExp;
  /** Sets the failure up (faults, damage); `undo` puts things back. */
  setup?: () => Promise<void> | void;
  undo?: () => Promise<void> | void;
  /** Requests the proxy may have seen (default: any). */
  requests?: (counts: Record<string, number>) => void;
}

const aws = (out: string, ...more: string[]) => ['restore', 'aws', volume, path.join(out, 'v.iso'), '--awsBucketName', 'warm', ...more];
const gdrive = (out: string, ...more: string[]) => ['restore', 'gdrive', path.join(lib, 'note.txt'), path.join(out, 'note.txt'), ...driveArgs(), ...more];

/** Damages the stored copy in bucket `warm` (one byte of the second chunk) and puts it back. */
let warmCopy: Buffer | null = null;
async function damageWarm(): Promise<void> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const got = await raw.send(new GetObjectCommand({ Bucket: 'warm', Key: key }));
  warmCopy = Buffer.from(await got.Body!.transformToByteArray());
  const bad = Buffer.from(warmCopy);
  bad[9_000_000]! ^= 0x40;
  await raw.send(new PutObjectCommand({ Bucket: 'warm', Key: key, Body: bad }));
}
async function repairWarm(): Promise<void> {
  await raw.send(new PutObjectCommand({ Bucket: 'warm', Key: key, Body: warmCopy! }));
}

let driveNote: { id: string; data: Buffer } | null = null;

// cause → exit code, for every restore command. Documented codes: node/exit-codes.ts.
const CASES: Case[] = [
  // restore file / restore volume: the local object store
  { cause: 'restore file: wrong passphrase', exit: 6, args: (o) => ['restore', 'file', path.join(lib, 'note.txt'), '--to', o, '-k', 'wrong'], stderr: /wrong passphrase/ },
  { cause: 'restore file: path never scanned', exit: 3, args: (o) => ['restore', 'file', path.join(lib, 'nope.txt'), '--to', o] },
  { cause: 'restore file: --to is a file', exit: 2, args: () => ['restore', 'file', path.join(lib, 'note.txt'), '--to', db] },
  { cause: 'restore volume: wrong passphrase', exit: 6, args: (o) => ['restore', 'volume', volume, '--to', o, '-k', 'wrong'], stderr: /wrong passphrase/ },
  { cause: 'restore volume: no such volume', exit: 3, args: (o) => ['restore', 'volume', 'nope.iso', '--to', o] },
  {
    cause: 'restore volume: a chunk of the local object is damaged',
    exit: 7,
    args: (o) => ['restore', 'volume', volume, '--to', o],
    stderr: /SHA-256 does not match|failed verification|chunk/,
    setup: () => flipLocalChunk(),
    undo: () => flipLocalChunk(),
  },
  {
    cause: 'restore file: the chunk holding it is damaged',
    exit: 7,
    args: (o) => ['restore', 'file', path.join(lib, 'big.bin'), '--to', o],
    setup: () => flipLocalChunk(),
    undo: () => flipLocalChunk(),
  },
  {
    // The next source after the local folder is the archive copy, but it is in Deep Archive: never
    // restored from here (that costs money and hours), the error says which command shows the cost.
    cause: 'restore volume: a local chunk is damaged and the only other copy is cold',
    exit: 7,
    args: (o) => ['restore', 'volume', volume, '--to', o, '--awsBucketName', 'cold'],
    stderr: /chunk 1: no source has a good copy \(local objects .*SHA-256 does not match.*; s3:\/\/cold\/.* is in DEEP_ARCHIVE .*lomo-peer restore aws/,
    setup: () => flipLocalChunk(),
    undo: () => flipLocalChunk(),
    requests: (c) => expect([c.RestoreObject ?? 0, c.GetObject ?? 0]).toEqual([0, 0]),
  },
  // restore aws
  {
    cause: 'restore aws: wrong passphrase (cold copy, restore asked)',
    exit: 6,
    args: (o) => ['restore', 'aws', volume, path.join(o, 'v.iso'), '--awsBucketName', 'cold', '--tier', 'Bulk', '-k', 'wrong'],
    stderr: /wrong passphrase/,
    requests: (c) => expect(c).toEqual({}), // not one request: no HEAD, no RestoreObject, no GET
  },
  { cause: 'restore aws: no such volume', exit: 3, args: (o) => ['restore', 'aws', 'nope.iso', path.join(o, 'v.iso'), '--awsBucketName', 'warm'] },
  { cause: 'restore aws: no copy in that bucket', exit: 3, args: (o) => ['restore', 'aws', volume, path.join(o, 'v.iso'), '--awsBucketName', 'other'], stderr: /has no copy in s3:\/\/other/ },
  { cause: 'restore aws: output exists', exit: 2, args: () => ['restore', 'aws', volume, db, '--awsBucketName', 'warm'], stderr: /already exists/ },
  { cause: 'restore aws: output folder missing', exit: 2, args: (o) => ['restore', 'aws', volume, path.join(o, 'no', 'v.iso'), '--awsBucketName', 'warm'], stderr: /does not exist/ },
  {
    cause: 'restore aws: cold copy, no --tier (estimate only)',
    exit: 4,
    args: (o) => ['restore', 'aws', volume, path.join(o, 'v.iso'), '--awsBucketName', 'cold'],
    stderr: /restore Bulk: ready within/,
    requests: (c) => expect(c.RestoreObject ?? 0).toBe(0),
  },
  { cause: 'restore aws: 403 AccessDenied on HEAD', exit: 9, args: (o) => aws(o), setup: () => proxy.failOn('HeadObject', 403, 'AccessDenied'), stderr: /S3 refused the credentials/ },
  { cause: 'restore aws: 403 AccessDenied on the first GET', exit: 9, args: (o) => aws(o), setup: () => proxy.failOn('GetObject', 403, 'AccessDenied', 4), stderr: /S3 refused the credentials/ },
  { cause: 'restore aws: InvalidObjectState on GET', exit: 9, args: (o) => aws(o), setup: () => proxy.failOn('GetObject', 403, 'InvalidObjectState', 4), stderr: /archived; request a restore first/ },
  { cause: 'restore aws: 500 on every GET (retries exhausted)', exit: 9, args: (o) => aws(o), setup: () => proxy.failOn('GetObject', 500, 'InternalError', 64), undo: () => proxy.clearFaults() },
  { cause: 'restore aws: the stored copy is damaged', exit: 7, args: (o) => aws(o), setup: damageWarm, undo: repairWarm, stderr: /chunk 1.*SHA-256 does not match/ },
  {
    cause: 'restore aws: key deleted from the bucket (NoSuchKey)',
    exit: 7,
    args: (o) => ['restore', 'aws', volume, path.join(o, 'v.iso'), '--awsBucketName', 'gone'],
    setup: async () => void (await raw.send(new DeleteObjectCommand({ Bucket: 'gone', Key: key }))),
    stderr: /NoSuchKey.*lomo-peer restore volume .* --to <folder>.*lomo-peer upload iso .* --force/,
  },
  {
    cause: 'restore aws: bucket deleted (NoSuchBucket)',
    exit: 9,
    args: (o) => ['restore', 'aws', volume, path.join(o, 'v.iso'), '--awsBucketName', 'gone'],
    setup: async () => {
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      for (const o of (await raw.send(new ListObjectsV2Command({ Bucket: 'gone' }))).Contents ?? []) await raw.send(new DeleteObjectCommand({ Bucket: 'gone', Key: o.Key! }));
      await raw.send(new DeleteBucketCommand({ Bucket: 'gone' }));
    },
    stderr: /bucket does not exist \(NoSuchBucket\).*--awsBucketName/,
  },
  // restore gdrive
  { cause: 'restore gdrive: wrong passphrase', exit: 6, args: (o) => gdrive(o, '-k', 'wrong'), stderr: /wrong passphrase/ },
  { cause: 'restore gdrive: file not staged', exit: 3, args: (o) => ['restore', 'gdrive', path.join(lib, 'nope.txt'), path.join(o, 'x'), ...driveArgs()] },
  { cause: 'restore gdrive: refresh token refused', exit: 9, args: (o) => ['restore', 'gdrive', path.join(lib, 'note.txt'), path.join(o, 'note.txt'), ...driveArgs('bad-token.json')] },
  {
    cause: 'restore gdrive: the Drive file is corrupt',
    exit: 7,
    args: (o) => gdrive(o),
    setup: () => {
      const f = [...emu.store.files.values()].filter((x) => x.data && x.data.length > 300_000 && x.data.length < 400_000);
      expect(f).toHaveLength(1);
      driveNote = { id: f[0]!.id, data: f[0]!.data! };
      const bad = Buffer.from(driveNote.data);
      bad[bad.length - 100]! ^= 1;
      f[0]!.data = bad;
    },
    undo: () => void (emu.store.files.get(driveNote!.id)!.data = driveNote!.data),
    stderr: /SHA-256 does not match|failed verification/,
  },
];

/** Flips one byte of the local volume object's second chunk (twice: back as it was). */
function flipLocalChunk(): void {
  const objects = path.join(tmp.dir, 'objects');
  const c = openCatalog(db, { create: false });
  const id = (c.prepare(`SELECT object_id FROM objects WHERE kind = 'volume'`).get() as { object_id: Buffer }).object_id.toString('hex');
  c.close();
  const f = filesUnder(objects).find((p) => p.endsWith(path.join(id, '00001')))!;
  const b = fs.readFileSync(f);
  b[1000]! ^= 0x10;
  fs.writeFileSync(f, b);
}

describe('restore error paths: documented exit code, no crash, nothing left behind', () => {
  it.each(CASES.map((c) => [c.cause, c] as const))('%s', async (_cause, c) => {
    const out = fs.mkdtempSync(path.join(tmp.dir, 'out-'));
    // The catalog's WAL files come and go with every command: not the restore's doing.
    const others = () => filesUnder(tmp.dir).filter((f) => !f.startsWith(out) && !/\.db-(wal|shm)$/.test(f)).sort();
    const before = others();
    await c.setup?.();
    proxy.reset();
    let r: CliResult;
    try {
      r = await run(c.args(out));
    } finally {
      await c.undo?.();
      proxy.clearFaults();
    }
    expect(r.stderr).not.toMatch(/Unhandled 'error' event|EBADF|at .*\.js:\d+/);
    expect(r.code, `${c.cause}: ${r.stderr}`).toBe(c.exit);
    if (c.stderr) expect(r.stderr).toMatch(c.stderr);
    c.requests?.(proxy.counts());
    // Nothing written: the output folder is empty, and no temporary or part file appeared elsewhere.
    expect(filesUnder(out)).toEqual([]);
    expect(others()).toEqual(before);
    fs.rmdirSync(out);
  });
});

describe('restore volume reads what the local folder lacks from the archive copy', () => {
  it('a damaged local chunk is reported and read from the S3 copy (one ranged GET), bit-exact', async () => {
    const out = fs.mkdtempSync(path.join(tmp.dir, 'from-s3-'));
    flipLocalChunk();
    proxy.reset();
    let r: CliResult;
    try {
      r = await run(['--json', 'restore', 'volume', volume, '--to', out, '--awsBucketName', 'warm']);
    } finally {
      flipLocalChunk();
    }
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(sha(fs.readFileSync(res.to))).toBe(plainSha);
    const c = openCatalog(db, { create: false });
    const size1 = (c.prepare(`SELECT c.size FROM chunks c JOIN objects o ON o.id = c.object_row WHERE o.kind = 'volume' AND c.idx = 1`).get() as { size: number }).size;
    c.close();
    expect(res.bytesFetched.s3).toBe(size1);
    expect(proxy.count('GetObject')).toBe(1);
    expect(res.badCopies).toEqual([expect.objectContaining({ chunk: 1, holder: expect.stringMatching(/^local objects file:/), reason: expect.stringMatching(/SHA-256 does not match/) })]);
    expect(r.stderr).toMatch(/chunk 1: bad copy at local objects .* skipped/);
    fs.rmSync(out, { recursive: true, force: true });
  });
});

describe('restore aws resumes a killed download', () => {
  it('kill -9 mid-download: the rerun fetches only the missing chunks, bit-exact, no .part left', async () => {
    const out = path.join(tmp.dir, 'resumed.iso');
    const log = path.join(tmp.dir, '.resumed.iso.part.log');
    const logged = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').length - 2 : 0);
    proxy.reset();
    proxy.getDelayMs = 500;
    const first = startCli(['--db', db, 'restore', 'aws', volume, out, '--awsBucketName', 'warm', '-n', '1'], { cwd: tmp.dir, env });
    const killed = await killWhen(first.child, () => logged() >= 2);
    proxy.getDelayMs = 0;
    expect(killed, first.output()).toBe(true);
    expect(fs.existsSync(out)).toBe(false);
    const c = openCatalog(db, { create: false });
    const { chunks, size } = c.prepare(`SELECT chunk_count AS chunks, cipher_size AS size FROM objects WHERE kind = 'volume'`).get() as { chunks: number; size: number };
    c.close();
    const onDisk = logged(); // segments recorded when the kill landed
    expect(onDisk).toBeGreaterThanOrEqual(2);
    expect(onDisk).toBeLessThan(chunks);
    proxy.reset();
    const again = await run(['restore', 'aws', volume, out, '--awsBucketName', 'warm', '-n', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resumed: .* were on disk already and verified/);
    expect(sha(fs.readFileSync(out))).toBe(plainSha);
    // Only the chunks not on disk were fetched again: fewer GETs, fewer bytes than the whole object.
    expect(proxy.count('GetObject')).toBe(chunks - onDisk);
    expect(proxy.getBytes).toBeLessThan(size - onDisk * 8 * 1024 * 1024 + 1);
    expect(fs.readdirSync(tmp.dir).filter((n) => n.includes('.part'))).toEqual([]);
    fs.rmSync(out);
  });

  it('a damaged part on disk is not trusted: only its verified prefix is kept', async () => {
    const out = path.join(tmp.dir, 'damaged.iso');
    const part = path.join(tmp.dir, '.damaged.iso.part');
    proxy.getDelayMs = 300;
    const first = startCli(['--db', db, 'restore', 'aws', volume, out, '--awsBucketName', 'warm', '-n', '1'], { cwd: tmp.dir, env });
    await killWhen(first.child, () => fs.existsSync(`${part}.log`) && fs.readFileSync(`${part}.log`, 'utf8').split('\n').length - 2 >= 2);
    proxy.getDelayMs = 0;
    const fd = fs.openSync(part, 'r+');
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 8 * 1024 * 1024 + 5); // inside the second segment
    fs.closeSync(fd);
    proxy.reset();
    const again = await run(['restore', 'aws', volume, out, '--awsBucketName', 'warm', '-n', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resumed: 8\.\d+ MB were on disk/);
    expect(sha(fs.readFileSync(out))).toBe(plainSha);
    expect(fs.readdirSync(tmp.dir).filter((n) => n.includes('.part'))).toEqual([]);
    fs.rmSync(out);
  });

  it('a failure mid-download keeps the verified part and says how to resume; a failure before any byte keeps nothing', async () => {
    const out = path.join(tmp.dir, 'mid.iso');
    proxy.reset();
    // Two chunks arrive, then every GET fails (retries exhausted).
    proxy.getDelayMs = 200;
    let injected = false;
    const running = startCli(['--db', db, 'restore', 'aws', volume, out, '--awsBucketName', 'warm', '-n', '1'], { cwd: tmp.dir, env });
    await killWhen(running.child, () => {
      if (!injected && proxy.count('GetObject') >= 2) {
        injected = true;
        proxy.failOn('GetObject', 500, 'InternalError', 64);
      }
      return false;
    });
    proxy.getDelayMs = 0;
    const r = await running.done;
    proxy.clearFaults();
    expect(r.code, r.stderr).toBe(9);
    expect(r.stderr).toMatch(/are kept in .*\.mid\.iso\.part: run the same command again to resume/);
    expect(fs.existsSync(path.join(tmp.dir, '.mid.iso.part'))).toBe(true);
    const again = await run(['restore', 'aws', volume, out, '--awsBucketName', 'warm']);
    expect(again.code, again.stderr).toBe(0);
    expect(sha(fs.readFileSync(out))).toBe(plainSha);
    expect(fs.readdirSync(tmp.dir).filter((n) => n.includes('.part'))).toEqual([]);
    fs.rmSync(out);
  });
});
