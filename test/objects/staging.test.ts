import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli as run } from '../support/cli.js';
import { PASS } from './site.js';
import { openCatalog } from '../../storage/catalog/db.js';
import { openSiteLog } from '../../node/site-log.js';
import { loadSodium } from '../../storage/crypto/sodium.js';
import { deriveSiteKeys } from '../../storage/crypto/keys.js';
import { loadSiteKeys, objectForFile } from '../../storage/objects/catalog.js';
import { encryptStagingFile, StagingChangedError } from '../../storage/objects/staging.js';
import { FileTier } from '../../storage/tiers/file.js';
import { seeded } from '../support/random.js';

const random = seeded('objects/staging.test.ts');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-staging-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('staging files as encrypted objects', () => {
  it('encrypts a scanned file not yet in a volume; restore file gets it back from that object', async () => {
    const lib = path.join(tmp, 'lib');
    fs.mkdirSync(lib);
    const photo = random.bytes(1_500_000);
    fs.writeFileSync(path.join(lib, 'photo.jpg'), photo);
    fs.writeFileSync(path.join(lib, 'later.jpg'), random.bytes(1000));
    const dbFile = path.join(tmp, 'lomob.db');
    const env = { LOMOB_MASTER_KEY: PASS };
    expect((await run(['--db', dbFile, 'scan', lib], { env })).code).toBe(0);
    expect((await run(['--db', dbFile, 'init'], { env })).code).toBe(0);

    const db = openCatalog(dbFile);
    try {
      await openSiteLog({ db: dbFile, json: false, logLevel: 0 }, db); // an init'ed site logs what it seals
      const site = loadSiteKeys(db)!;
      const sodium = await loadSodium();
      const c = { sodium, keys: deriveSiteKeys(sodium, PASS, site.kdf), tier: new FileTier(site.objectsUrl) };
      const rows = db.prepare('SELECT id, name, size, sha256 FROM files').all() as { id: number; name: Buffer; size: number; sha256: Buffer }[];
      const f = rows.find((r) => r.name.toString() === 'photo.jpg')!;
      const rec = await encryptStagingFile(db, c, { fileId: f.id, path: path.join(lib, 'photo.jpg'), size: f.size, sha256: f.sha256 });
      expect(rec.kind).toBe('file');
      expect(objectForFile(db, f.id)!.objectId.equals(rec.objectId)).toBe(true);

      // A file that changed after the scan is refused and not recorded.
      const g = rows.find((r) => r.name.toString() === 'later.jpg')!;
      fs.writeFileSync(path.join(lib, 'later.jpg'), random.bytes(1000));
      await expect(encryptStagingFile(db, c, { fileId: g.id, path: path.join(lib, 'later.jpg'), size: g.size, sha256: g.sha256 })).rejects.toThrow(StagingChangedError);
      expect(objectForFile(db, g.id)).toBeNull();
    } finally {
      db.close();
    }
    const out = path.join(tmp, 'out');
    const r = await run(['--db', dbFile, 'restore', 'file', path.join(lib, 'photo.jpg'), '--to', out], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, lib, 'photo.jpg')).equals(photo)).toBe(true);
    const none = await run(['--db', dbFile, 'restore', 'file', path.join(lib, 'later.jpg'), '--to', out], { env });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no encrypted copy');
  });
});
