/**
 * A catalog written by release 0.1.0 (test/fixtures/release-0.1.0, made by
 * test/fixtures/make-release-catalog.sh before the family schema) opens with this build — its
 * migrations run — and reads whole: the CLI lists exactly what that release listed, files restore
 * from its objects, and the library finds every object (owned by the site) and every placement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runCli } from '../support/cli.js';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { familyObject, objectById, objectForFile, objectForVolume, objectOwners, objectsByOwner } from '../../storage/objects/catalog.js';
import { livePlacement, tierPlacements, volumePlacements } from '../../storage/placements/placements.js';
import { holdingsAt, holdingsOfObject, holdingsOfOwner } from '../../storage/placements/holdings.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/release-0.1.0');
const SITE = '12D3KooWDpqtyMaUi24ScDaebpNcepjNk2q2qJGRMCZaDJ4MNnQv';
const WORK = '/tmp/lomo-release-0.1.0'; // where the fixture was made: the paths the catalog holds
const STAGING = `file://${WORK}/staging`;
const ARCHIVE = `file://${WORK}/archive`;
const env = { LOMOB_MASTER_KEY: 'release 0.1.0 fixture passphrase', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_ENDPOINT_URL: '', LOMO_GDRIVE_ROOT_URL: '' };

let dir: string;
const copyFixture = (name: string): string => {
  const db = path.join(dir, name, 'lomob.db');
  fs.mkdirSync(path.dirname(db), { recursive: true });
  fs.copyFileSync(path.join(FIXTURE, 'lomob.db'), db);
  return db;
};
const expected = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(FIXTURE, 'expected', name), 'utf8'));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-release-fixture-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('a catalog written by release 0.1.0', () => {
  it('lists, through the CLI, exactly what that release listed', () => {
    const db = copyFixture('cli');
    const cli = (...args: string[]) => {
      const r = runCli(['--db', db, ...args], { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
    expect(cli('list', 'files', '--json')).toEqual(expected('list-files.json'));
    expect(cli('list', 'dirs', '--json')).toEqual(expected('list-dirs.json'));
    expect(cli('iso', 'list', '--json')).toEqual(expected('iso-list.json'));
    expect(cli('list', 'iso', '--json')).toEqual(expected('list-iso.json'));
  });

  it('restores every current library file from the objects it wrote', () => {
    const db = copyFixture('restore');
    const objects = path.join(dir, 'restore', 'objects');
    fs.cpSync(path.join(FIXTURE, 'objects'), objects, { recursive: true });
    const to = path.join(dir, 'restore', 'out');
    const r = runCli(['--db', db, 'restore', 'file', `${WORK}/lib`, '--to', to, '--objects-dir', objects, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).failed).toBe(0);
    const lib = Buffer.from(path.join(to, WORK, 'lib'));
    const read = (rel: Buffer | string) => fs.readFileSync(Buffer.concat([lib, Buffer.from('/'), Buffer.from(rel as string, typeof rel === 'string' ? 'utf8' : undefined)]));
    expect(read('one.txt').toString()).toBe('one, edited\n');
    expect(read('sub/photo.jpg')).toEqual(Buffer.alloc(3000, 'a'));
    expect(read(Buffer.from('sub/caf\xe9.txt', 'latin1'))).toEqual(Buffer.from('caf\xe9 latin-1 name\n', 'latin1'));
    expect(read('sub/deep/deep.bin').toString()).toBe('deep file\n');
    expect(read('sub/late.txt').toString()).toBe('after the volume\n');
  });

  describe('opened by the library', () => {
    let db: Db;
    beforeAll(() => {
      db = openCatalog(copyFixture('lib'), { create: false });
    });
    afterAll(() => db.close());

    it('is migrated, consistent, and has foreign keys on again after the table rebuilds', () => {
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
      expect(versions).toEqual(expect.arrayContaining([1, 10, 20, 21, 22, 30, 31, 40]));
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    });

    it('finds every file version and the volume', () => {
      const files = db.prepare('SELECT status, count(*) AS n FROM files GROUP BY status ORDER BY status').all();
      expect(files).toEqual([{ status: 'current', n: 6 }, { status: 'deleted', n: 1 }, { status: 'superseded', n: 1 }]);
      expect(db.prepare('SELECT name, status, files_count FROM volumes').all()).toEqual([{ name: '2024-05-01--2024-06-01.iso', status: 'uploaded', files_count: 4 }]);
      expect(db.prepare('SELECT count(*) FROM volume_files').pluck().get()).toBe(4);
    });

    it('finds every object, each with its chunks and owned by this site', () => {
      expect(objectOwners(db)).toEqual([{ siteId: SITE, objects: 8 }]);
      const objs = objectsByOwner(db, SITE);
      expect(objs.map((o) => o.kind).sort()).toEqual(['file', 'file', 'file', 'file', 'file', 'file', 'manifest', 'volume']);
      for (const o of objs) {
        expect(o.ownerSite).toBe(SITE);
        expect(o.plainSha256).toHaveLength(32);
        expect(o.chunks.map((c) => c.index)).toEqual([0]);
        expect(o.chunks[0]!.size).toBe(o.cipherSize);
        // The old per-site lookups still find them.
        expect(objectById(db, o.objectId)?.row).toBe(o.row);
        expect(familyObject(db, SITE, o.objectId)?.row).toBe(o.row);
      }
      const vol = objectForVolume(db, 1)!;
      expect(vol.ownerSite).toBe(SITE);
      expect(vol.objectId.toString('hex')).toBe('6cad2908c875d84093aeceba63fb3b33');
      expect(objectForVolume(db, 1, 'manifest')!.objectId.toString('hex')).toBe('0ffafe23728d6001e554456029330e34');
      expect(objectForFile(db, 8)!.objectId.toString('hex')).toBe('a393af77e3287d508835c70a7227c20c');
    });

    it('finds every placement, linked to the object it holds, with its holder', () => {
      expect(db.prepare('SELECT count(*) FROM placements').pluck().get()).toBe(8);
      expect(db.prepare('SELECT count(*) FROM placements WHERE object_row IS NULL OR tier_url IS NULL OR peer_site IS NOT NULL').pluck().get()).toBe(0);
      const vol = objectForVolume(db, 1)!;
      const key = `0591e0501d65a43cc5dd3f2d5453ca/2024-05-01--2024-06-01.iso`;
      expect(livePlacement(db, ARCHIVE, key)).toMatchObject({ volumeId: 1, fileId: null, size: vol.cipherSize, objectRow: vol.row });
      expect(livePlacement(db, ARCHIVE, `${key}.manifest`)?.objectRow).toBe(objectForVolume(db, 1, 'manifest')!.row);
      expect(volumePlacements(db, 1, 'file:').map((p) => p.key).sort()).toEqual([key, `${key}.manifest`]);
      expect(tierPlacements(db, STAGING).map((p) => p.fileId).sort()).toEqual([2, 3, 8]); // archived copies (4, 5, 6) were removed
      expect(holdingsOfObject(db, vol.row)).toMatchObject([{ holder: { tierUrl: ARCHIVE }, key, chunkIndex: null, ownerSite: SITE }]);
      expect(holdingsOfOwner(db, SITE)).toHaveLength(5);
      expect(holdingsAt(db, { tierUrl: STAGING }).map((h) => h.objectRow).sort()).toEqual(tierPlacements(db, STAGING).map((p) => p.objectRow).sort());
    });
  });
});
