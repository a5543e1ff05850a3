import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { libraryDirs, stagingFiles } from '../../storage/catalog/library.js';
import { listVolumes } from '../../storage/iso/volume-store.js';
import { importLomob, isLomobCatalog, LomobImportError, lomobTimeMs } from '../../storage/lomob/catalog.js';
import { displayPath } from '../../storage/util/bytes-path.js';

/** lomob's own catalog after `lomob scan /home/alice/Pictures` and `lomob iso create -s 100K`. */
const FIX = path.join(import.meta.dirname, '..', 'fixtures', 'lomob');
const FIXTURE_DB = path.join(FIX, 'lomob.db');
const LIBRARY_SHA256 = Object.fromEntries(
  fs
    .readFileSync(path.join(FIX, 'library.sha256'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => [l.slice(66).replace(/^\.\//, ''), l.slice(0, 64)]),
);

let tmp: string;
let lomobDb: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lomob-catalog-'));
  lomobDb = path.join(tmp, 'lomob.db');
  fs.copyFileSync(FIXTURE_DB, lomobDb);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fileSha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Every row of every table, to prove a second import changes nothing. */
function dump(db: Db): string {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_migrations' ORDER BY name`).pluck().all() as string[];
  return JSON.stringify(tables.map((t) => [t, (db.prepare(`SELECT * FROM ${t}`).raw().all() as unknown[][]).map((r) => JSON.stringify(r, (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))).sort()]), (_k, v) =>
    v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v,
  );
}

describe('recognising a lomob catalog', () => {
  it('says yes for lomob.db and no for a lomo-peer catalog, a missing file and a non-database, without changing the file', () => {
    const before = fileSha(lomobDb);
    expect(isLomobCatalog(lomobDb)).toBe(true);
    expect(fileSha(lomobDb)).toBe(before);
    expect(fs.readdirSync(tmp)).toEqual(['lomob.db']); // no -journal, -wal or -shm left beside it

    const ours = path.join(tmp, 'peer.db');
    openCatalog(ours).close();
    expect(isLomobCatalog(ours)).toBe(false);
    expect(isLomobCatalog(path.join(tmp, 'missing.db'))).toBe(false);
    fs.writeFileSync(path.join(tmp, 'text.db'), 'not sqlite at all, just some text that is long enough to have a header');
    expect(isLomobCatalog(path.join(tmp, 'text.db'))).toBe(false);
  });

  it('still recognises a lomob catalog that an older lomo-peer failed to open (empty schema_migrations left behind)', () => {
    const hurt = path.join(tmp, 'hurt.db');
    fs.copyFileSync(FIXTURE_DB, hurt);
    // What every lomo-peer command did before: migrate lomob's file as if it were ours, which left
    // an empty schema_migrations table (and WAL mode) behind when the first migration failed.
    const old = new Database(hurt);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    old.close();
    expect(isLomobCatalog(hurt)).toBe(true);
    // Today's lomo-peer recognises it before migrating and says what to do.
    expect(() => openCatalog(hurt)).toThrow(/is a lomob catalog.*import lomob/);
  });
});

describe('importing lomob.db', () => {
  let db: Db;
  let firstDump: string;
  const lomobSha = () => fileSha(lomobDb);
  let lomobBefore: string;

  beforeAll(() => {
    lomobBefore = lomobSha();
    db = openCatalog(path.join(tmp, 'imported.db'));
  });
  afterAll(() => db.close());

  it('brings the scan root, folders, the 6 files with their hashes, sizes and times', () => {
    const res = importLomob(lomobDb, db, { now: 1_800_000_000_000 });
    expect(res).toMatchObject({ scanRoots: 1, dirs: 5, files: 6, volumes: 1, uploadParts: 0, superseded: 0, onDrive: [], unfinishedUploads: [] });

    const roots = db.prepare('SELECT path FROM scan_roots').pluck().all() as Buffer[];
    expect(roots.map((r) => r.toString())).toEqual(['/home/alice/Pictures']);
    expect(libraryDirs(db).map((d) => displayPath(d.path))).toEqual([
      '/home/alice/Pictures',
      '/home/alice/Pictures/2019',
      '/home/alice/Pictures/2019/05',
      '/home/alice/Pictures/2021',
      '/home/alice/Pictures/2021/12',
    ]);

    const files = db
      .prepare(`SELECT d.rel_path, f.name, f.size, f.sha256, f.mtime_ms, f.status, f.kind FROM files f JOIN dirs d ON d.id = f.dir_id ORDER BY f.id`)
      .all() as { rel_path: Buffer; name: Buffer; size: number; sha256: Buffer; mtime_ms: number; status: string; kind: string }[];
    expect(files).toHaveLength(6);
    for (const f of files) {
      const rel = `${f.rel_path.toString()}/${f.name.toString()}`;
      expect(f.sha256.toString('hex')).toBe(LIBRARY_SHA256[rel]); // lomob's hex SHA-256 = our 32 bytes
      expect(f.size).toBe(fs.statSync(path.join(FIX, 'library', rel)).size);
      expect(f).toMatchObject({ status: 'current', kind: 'file' });
    }
    // Names are the raw bytes lomob stored (UTF-8 here), not a re-encoding.
    expect(files[2]!.name.equals(Buffer.from('Été à Paris.jpg'))).toBe(true);
    expect(files[5]!.name.equals(Buffer.from('家族 2021.jpg'))).toBe(true);
    // 2026-12-04 17:23:57.804605769+00:00, sub-millisecond part kept.
    expect(files[0]!.mtime_ms).toBeCloseTo(Date.UTC(2026, 11, 4, 17, 23, 57, 804) + 0.605769, 5);
    firstDump = dump(db);
  });

  it('brings the volume with its 4 files, and leaves the other 2 as staging files', () => {
    const vols = listVolumes(db);
    expect(vols).toHaveLength(1);
    expect(vols[0]).toMatchObject({
      name: '2026-12-04--2026-12-04.iso',
      size: 520192,
      status: 'created',
      region: null,
      bucket: null,
      filesCount: 4,
      sha256: '0a61574cd4cb6393002246fe8b0b5133066ca95ccce07e92deade8d885a39647',
      createdAt: Math.round(Date.UTC(2026, 11, 4, 17, 23, 57, 891) + 0.532829),
    });
    const inVolume = db.prepare('SELECT name FROM files WHERE volume_id = ? ORDER BY id').pluck().all(vols[0]!.id) as Buffer[];
    expect(inVolume.map((n) => n.toString())).toEqual(['IMG_0001.jpg', 'IMG_0002.jpg', 'Été à Paris.jpg', 'IMG_0004.HEIC']);
    expect(stagingFiles(db).map((f) => displayPath(f.path))).toEqual(['/home/alice/Pictures/2021/12/VID_0003.mp4', '/home/alice/Pictures/2021/12/家族 2021.jpg']);
  });

  it('a second import adds nothing', () => {
    const res = importLomob(lomobDb, db);
    expect(res).toMatchObject({ scanRoots: 0, dirs: 0, files: 0, volumes: 0, uploadParts: 0, superseded: 0 });
    expect(dump(db)).toBe(firstDump);
  });

  it('leaves lomob.db byte for byte as it was (the copy and the fixture)', () => {
    expect(lomobSha()).toBe(lomobBefore);
    expect(fileSha(FIXTURE_DB)).toBe(lomobBefore);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('lomob.db'))).toEqual(['lomob.db']);
  });
});

describe('import edge cases', () => {
  it('refuses to import into lomob.db itself, and a lomo-peer catalog as the source', () => {
    const same = path.join(tmp, 'same', 'lomob.db');
    fs.mkdirSync(path.dirname(same));
    fs.copyFileSync(FIXTURE_DB, same);
    const raw = new Database(same);
    expect(() => importLomob(same, raw)).toThrow(/must be a different file/);
    raw.close();
    const ours = openCatalog(path.join(tmp, 'src-peer.db'));
    expect(() => importLomob(path.join(tmp, 'src-peer.db'), ours)).toThrow(LomobImportError);
    ours.close();
  });

  it('keeps what lomo-peer already scanned: a path with other content stays current, lomob\'s version is kept (superseded, in its volume)', () => {
    const db = openCatalog(path.join(tmp, 'scanned.db'));
    const root = Number(db.prepare('INSERT INTO scan_roots (path, added_at) VALUES (?, 1)').run(Buffer.from('/home/alice/Pictures')).lastInsertRowid);
    const dir = Number(db.prepare('INSERT INTO dirs (root_id, rel_path, mtime_ms) VALUES (?, ?, 1)').run(root, Buffer.from('2019/05')).lastInsertRowid);
    db.prepare(`INSERT INTO files (dir_id, name, kind, size, mtime_ms, sha256, status, first_seen_at) VALUES (?, ?, 'file', 3, 1, ?, 'current', 1)`).run(
      dir, Buffer.from('IMG_0001.jpg'), Buffer.alloc(32, 7),
    );
    const res = importLomob(lomobDb, db);
    expect(res).toMatchObject({ scanRoots: 0, dirs: 4, files: 6, superseded: 1 });
    const rows = db.prepare(`SELECT status, size, volume_id FROM files WHERE name = ? ORDER BY id`).all(Buffer.from('IMG_0001.jpg'));
    expect(rows).toEqual([
      { status: 'current', size: 3, volume_id: null },
      { status: 'superseded', size: 30000, volume_id: 1 },
    ]);
    expect(importLomob(lomobDb, db)).toMatchObject({ files: 0, superseded: 0 });
    db.close();
  });

  it('refuses a volume name that already means another volume, and writes nothing', () => {
    const db = openCatalog(path.join(tmp, 'clash.db'));
    db.prepare(`INSERT INTO volumes (name, size, status, created_at) VALUES ('2026-12-04--2026-12-04.iso', 1, 'created', 1)`).run();
    expect(() => importLomob(lomobDb, db)).toThrow(/already has a different volume named 2026-12-04--2026-12-04.iso/);
    expect(db.prepare('SELECT count(*) FROM files').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM scan_roots').pluck().get()).toBe(0);
    db.close();
  });

  it('carries upload parts, and reports an unfinished upload and files lomob sent to Drive', () => {
    // A copy of lomob.db as lomob leaves it mid-upload (schema 1.sql's parts; types.go's statuses).
    const mid = path.join(tmp, 'mid-upload.db');
    fs.copyFileSync(FIXTURE_DB, mid);
    const w = new Database(mid);
    w.prepare(`UPDATE isos SET region = 'us-east-1', bucket = 'photos', status = 2, upload_key = '2026-12-04--2026-12-04.iso', upload_id = 'UP-1' WHERE id = 1`).run();
    const part = w.prepare(`INSERT INTO parts (iso_id, part_no, hash_local, hash_remote, etag, size, status, create_time) VALUES (1, ?, ?, ?, ?, ?, ?, '2026-12-04 18:00:00+00:00')`);
    part.run(1, 'ab'.repeat(32), Buffer.alloc(32, 0xab).toString('base64'), '"etag-1"', 6291456, 1);
    part.run(2, '', '', '', 1000, 0);
    w.prepare(`UPDATE files SET iso_id = -1, hash_remote = ? WHERE name = 'VID_0003.mp4'`).run('cd'.repeat(32));
    w.close();

    const db = openCatalog(path.join(tmp, 'mid-import.db'));
    const res = importLomob(mid, db);
    expect(res.uploadParts).toBe(2);
    expect(res.unfinishedUploads).toEqual([{ volume: '2026-12-04--2026-12-04.iso', region: 'us-east-1', bucket: 'photos', key: '2026-12-04--2026-12-04.iso', uploadId: 'UP-1' }]);
    expect(res.onDrive.map((f) => [f.path.toString(), f.cipherSha256?.toString('hex')])).toEqual([['VID_0003.mp4', 'cd'.repeat(32)]]);
    expect(listVolumes(db)[0]).toMatchObject({ status: 'uploading', region: 'us-east-1', bucket: 'photos' });
    expect(db.prepare('SELECT part_no, size, nullif(hex(sha256), \'\') AS sha, etag, status FROM upload_parts ORDER BY part_no').all()).toEqual([
      { part_no: 1, size: 6291456, sha: 'AB'.repeat(32), etag: '"etag-1"', status: 'uploaded' },
      { part_no: 2, size: 1000, sha: null, etag: null, status: 'pending' },
    ]);
    // A Drive copy is still a staging file here: lomob kept no Drive file id to verify it by.
    expect(stagingFiles(db).map((f) => displayPath(f.relPath))).toContain('2021/12/VID_0003.mp4');
    expect(importLomob(mid, db).uploadParts).toBe(0);
    db.close();
  });

  it('reads the time formats Go\'s SQLite driver writes', () => {
    expect(lomobTimeMs('2026-12-04 17:23:57.804770828+00:00')).toBeCloseTo(Date.UTC(2026, 11, 4, 17, 23, 57) + 804.770828, 5);
    expect(lomobTimeMs('2026-12-04T19:23:57+02:00')).toBe(Date.UTC(2026, 11, 4, 17, 23, 57));
    expect(lomobTimeMs('2026-12-04 17:23:57Z')).toBe(Date.UTC(2026, 11, 4, 17, 23, 57));
    expect(lomobTimeMs(null)).toBeNull();
    expect(() => lomobTimeMs('yesterday')).toThrow(LomobImportError);
  });
});
