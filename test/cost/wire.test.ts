/**
 * `cost` predicts the requests `upload iso` sends: a real library (scan, init, iso create) is
 * estimated, then uploaded to moto, and the upload's own request counts (by S3 operation) must be
 * exactly the estimate's lines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type Moto } from '../support/moto.js';
import { cli as lomo } from '../support/cli.js';
import { seeded } from '../support/random.js';

const rand = seeded('cost-wire');

let moto: Moto;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  moto = await startMoto();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-cost-wire-'));
  env = {
    LOMOB_MASTER_KEY: 'cost wire test',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: moto.endpoint,
    LOMO_RETRY_BASE_MS: '5',
    HOME: dir,
  };
  const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'lomorage' })); // an existing bucket, as a user's would be
  s3.destroy();
}, 240_000);

afterAll(async () => {
  await moto?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (db: string, args: string[]) => lomo(['--db', db, ...args], { env, timeoutMs: 180_000 });

describe('cost against the wire', () => {
  it('predicts every request upload iso sends for encrypted volumes and their manifests', async () => {
    const lib = path.join(dir, 'lib');
    fs.mkdirSync(lib, { recursive: true });
    fs.writeFileSync(path.join(lib, 'a.mp4'), rand.bytes(12_000_000));
    fs.writeFileSync(path.join(lib, 'b.jpg'), rand.bytes(9_000_000));
    fs.writeFileSync(path.join(lib, 'c.jpg'), rand.bytes(2_000_000));
    const db = path.join(dir, 'lomob.db');
    expect((await cli(db, ['scan', lib])).code).toBe(0);
    expect((await cli(db, ['init', '--kdf-passes', '1'])).code).toBe(0);
    const iso = await cli(db, ['iso', 'create', '--partial', '-p', dir, '--iso-size', '15M']);
    expect(iso.code, iso.stderr).toBe(0);

    const est = await cli(db, ['cost', '--json']);
    expect(est.code, est.stderr).toBe(0);
    const plan = JSON.parse(est.stdout);
    expect(plan.plannedStorageClass).toBe('DEEP_ARCHIVE');
    expect(plan.pendingUpload.volumes).toBeGreaterThanOrEqual(2);
    const predicted = Object.fromEntries(plan.pendingUpload.lines.filter((l: { count: number }) => l.count).map((l: { op: string; count: number }) => [l.op, l.count]));

    const up = await cli(db, ['upload', 'iso', '--storage-class', 'DEEP_ARCHIVE', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).requests).toEqual(predicted);

    // Now archived: the plan follows the archive's class, and nothing is left to upload.
    const after = JSON.parse((await cli(db, ['cost', '--json'])).stdout);
    expect(after.pendingUpload.volumes).toBe(0);
    expect(after.restoreAll.groups).toEqual([expect.objectContaining({ storageClass: 'DEEP_ARCHIVE', pending: false, volumes: plan.pendingUpload.volumes })]);
  });
});
