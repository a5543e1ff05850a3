/**
 * lomob's catalog (lomorage/lomo-backup common/dbx, schema common/dbx/schema/1.sql): recognising
 * it, and importing it into a lomo-peer catalog. Both tools default to `lomob.db`, and opening a
 * lomob catalog as ours would run our migrations on it (`table dirs already exists`), so commands
 * check `isLomobCatalog` first and point to `import lomob`. The lomob file is only ever opened
 * read-only: nothing here can change it. Column mapping: docs/lomob.md §3.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import type { Db } from '../catalog/db.js';

/** Tables every lomob schema version has; lomo-peer has a `dirs` and `files` table too, never `isos`. */
const LOMOB_TABLES = ['dirs', 'files', 'isos'] as const;

/** Something about the lomob catalog or the target prevents the import; nothing was written. */
export class LomobImportError extends Error {
  override name = 'LomobImportError';
}

function tablesOf(db: Database.Database): Set<string> {
  return new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]);
}

/**
 * True when `file` is a lomob catalog: lomob's tables (dirs with scan_root_dir_id, files, isos)
 * and none of ours (scan_roots, or a non-empty schema_migrations). An empty schema_migrations is
 * what an older lomo-peer left behind when it failed on a lomob catalog; that file is still lomob's.
 * Opens read-only and changes nothing; a missing or non-SQLite file is simply not a lomob catalog.
 */
export function isLomobCatalog(file: string): boolean {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return false;
  }
  try {
    const tables = tablesOf(db);
    if (!LOMOB_TABLES.every((t) => tables.has(t)) || tables.has('scan_roots')) return false;
    const dirCols = db.prepare(`SELECT name FROM pragma_table_info('dirs')`).pluck().all() as string[];
    if (!dirCols.includes('scan_root_dir_id')) return false;
    if (tables.has('schema_migrations')) {
      return (db.prepare('SELECT count(*) FROM schema_migrations').pluck().get() as number) === 0;
    }
    return true;
  } catch {
    return false; // not a database (SQLITE_NOTADB), or unreadable
  } finally {
    db.close();
  }
}

/** What a command says when it finds lomob's catalog where it expected ours. */
export function lomobCatalogHint(file: string): string {
  return (
    `${file} is a lomob catalog, not a lomo-peer one; lomo-peer leaves it untouched. ` +
    `Run \`lomo-peer --db <new catalog> import lomob ${file}\` to bring its folders, files, volumes and upload state into a lomo-peer catalog.`
  );
}

/**
 * lomob's times as mattn/go-sqlite3 writes a Go time.Time: "2006-01-02 15:04:05.999999999-07:00"
 * (also with 'T', 'Z' or no fraction), to milliseconds with the sub-millisecond part kept.
 */
export function lomobTimeMs(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return value * 1000; // a Unix time in seconds
  const m = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?/.exec(String(value));
  if (!m) throw new LomobImportError(`unreadable lomob time "${String(value)}"`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!) + (frac ? Number(`0.${frac}`) * 1000 : 0);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

/** lomob's hashes are hex SHA-256 of the whole file (ours are the same 32 bytes as a BLOB). */
function sha256FromLomob(hex: unknown, base64?: unknown): Buffer | null {
  if (typeof hex === 'string' && /^[0-9a-fA-F]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
  if (typeof base64 === 'string' && base64 !== '') {
    const b = Buffer.from(base64, 'base64');
    if (b.length === 32) return b;
  }
  return null;
}

const ISO_STATUS = ['creating', 'created', 'uploading', 'uploaded'] as const; // types.IsoStatus
const PART_STATUS = ['pending', 'uploaded', 'failed'] as const; // types.PartStatus

/** lomob's iso_id for a file uploaded to Google Drive and not yet packed (types.IsoIDCloud). */
const ISO_ID_CLOUD = -1;

export interface LomobImportResult {
  scanRoots: number;
  dirs: number;
  files: number;
  volumes: number;
  uploadParts: number;
  /** lomob file versions whose path already had different current content here: kept as superseded. */
  superseded: number;
  /** Files lomob uploaded to Google Drive (iso_id -1); lomob kept no Drive file id, only the ciphertext hash. */
  onDrive: { path: Buffer; cipherSha256: Buffer | null }[];
  /** Multipart uploads lomob left unfinished (our catalog has no place for a foreign upload id). */
  unfinishedUploads: { volume: string; region: string; bucket: string; key: string; uploadId: string }[];
}

/** The first of `names` that `table` has (lomob renamed columns across schema versions). */
function pick(cols: Set<string>, ...names: string[]): string | null {
  return names.find((n) => cols.has(n)) ?? null;
}

function columnsOf(db: Database.Database, table: string): Set<string> {
  return new Set(db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]);
}

/** An absolute root path without trailing '/' (except '/' itself), as our scanner stores roots. */
function trimSlashes(p: Buffer): Buffer {
  let end = p.length;
  while (end > 1 && p[end - 1] === 0x2f) end--;
  return p.subarray(0, end);
}

/** lomob's relative folder path ('' for the root) without stray leading or trailing '/'. */
function relPath(p: Buffer): Buffer {
  let start = 0;
  let end = p.length;
  while (start < end && p[start] === 0x2f) start++;
  while (end > start && p[end - 1] === 0x2f) end--;
  return p.subarray(start, end);
}

const col = (name: string | null, as: string) => (name ? `${name} AS ${as}` : `NULL AS ${as}`);

/**
 * Brings lomob's scan roots, folders, files, volumes and upload parts into `target` (an open,
 * migrated lomo-peer catalog) in one transaction. Idempotent: rows are matched by their natural
 * keys (root path, folder path, file path + SHA-256, volume name, volume + part number), so a
 * second import adds nothing. The lomob file is opened read-only.
 */
export function importLomob(lomobDbPath: string, target: Db, opts: { now?: number } = {}): LomobImportResult {
  const now = opts.now ?? Date.now();
  if (!isLomobCatalog(lomobDbPath)) throw new LomobImportError(`${lomobDbPath} is not a lomob catalog (no dirs/files/isos tables of lomob)`);
  if (target.name && target.name !== ':memory:' && fs.existsSync(target.name) && fs.realpathSync(target.name) === fs.realpathSync(lomobDbPath)) {
    throw new LomobImportError(`the lomo-peer catalog must be a different file from lomob's ${lomobDbPath}: pass --db <new catalog>`);
  }
  const src = new Database(lomobDbPath, { readonly: true, fileMustExist: true });
  try {
    return target.transaction(() => importAll(src, target, now))();
  } finally {
    src.close();
  }
}

interface LomobDir {
  id: number;
  path: Buffer;
  root: number;
  mod_time: unknown;
  create_time: unknown;
}

function importAll(src: Database.Database, db: Db, now: number): LomobImportResult {
  const res: LomobImportResult = { scanRoots: 0, dirs: 0, files: 0, volumes: 0, uploadParts: 0, superseded: 0, onDrive: [], unfinishedUploads: [] };

  // Scan roots: lomob's dirs rows with scan_root_dir_id 0 hold the absolute root path.
  const dirs = src
    .prepare(`SELECT id, CAST(path AS BLOB) AS path, scan_root_dir_id AS root, mod_time, create_time FROM dirs ORDER BY id`)
    .all() as LomobDir[];
  const rootIds = new Map<number, number>(); // lomob root dir id -> scan_roots.id
  for (const d of dirs.filter((x) => x.root === 0)) {
    const p = trimSlashes(d.path);
    let id = db.prepare('SELECT id FROM scan_roots WHERE path = ?').pluck().get(p) as number | undefined;
    if (id === undefined) {
      id = Number(db.prepare('INSERT INTO scan_roots (path, added_at) VALUES (?, ?)').run(p, Math.round(lomobTimeMs(d.create_time) ?? now)).lastInsertRowid);
      res.scanRoots++;
    }
    rootIds.set(d.id, id);
  }

  // Folders: every other row is a path relative to its root ('' = the root itself). A root's own
  // row maps to the same folder as its '' row, since lomob files may point at either.
  const dirIds = new Map<number, number>(); // lomob dir id -> dirs.id
  const findDir = db.prepare('SELECT id FROM dirs WHERE root_id = ? AND rel_path = ?').pluck();
  const insertDir = db.prepare('INSERT INTO dirs (root_id, rel_path, mtime_ms) VALUES (?, ?, ?)');
  const ensureDir = (rootId: number, rel: Buffer, modTime: unknown): number => {
    let id = findDir.get(rootId, rel) as number | undefined;
    if (id === undefined) {
      id = Number(insertDir.run(rootId, rel, lomobTimeMs(modTime)).lastInsertRowid);
      res.dirs++;
    }
    return id;
  };
  for (const d of dirs.filter((x) => x.root !== 0)) {
    const rootId = rootIds.get(d.root);
    if (rootId === undefined) throw new LomobImportError(`lomob folder ${d.id} belongs to scan root ${d.root}, which is not in the catalog`);
    dirIds.set(d.id, ensureDir(rootId, relPath(d.path), d.mod_time));
  }
  for (const d of dirs.filter((x) => x.root === 0)) dirIds.set(d.id, ensureDir(rootIds.get(d.id)!, Buffer.alloc(0), d.mod_time));

  // Volumes, matched by name. The same name with other content is a different volume: refuse.
  const isoCols = columnsOf(src, 'isos');
  const isos = src
    .prepare(
      `SELECT id, name, ${col(pick(isoCols, 'region'), 'region')}, ${col(pick(isoCols, 'bucket'), 'bucket')}, size,
              ${col(pick(isoCols, 'status'), 'status')}, ${col(pick(isoCols, 'hash_local', 'hash_hex'), 'hash_hex')},
              ${col(pick(isoCols, 'hash_remote', 'hash_base64'), 'hash_b64')}, ${col(pick(isoCols, 'upload_key'), 'upload_key')},
              ${col(pick(isoCols, 'upload_id'), 'upload_id')}, create_time,
              (SELECT count(*) FROM files f WHERE f.iso_id = isos.id) AS files_count
       FROM isos ORDER BY id`,
    )
    .all() as {
    id: number; name: string; region: string | null; bucket: string | null; size: number | null; status: number | null;
    hash_hex: string | null; hash_b64: string | null; upload_key: string | null; upload_id: string | null; create_time: unknown; files_count: number;
  }[];
  const volumeIds = new Map<number, number>();
  for (const iso of isos) {
    const sha = sha256FromLomob(iso.hash_hex);
    const size = iso.size ?? 0;
    const existing = db.prepare('SELECT id, size, sha256 FROM volumes WHERE name = ?').get(iso.name) as { id: number; size: number; sha256: Buffer | null } | undefined;
    if (existing) {
      const same = existing.size === size && (existing.sha256 === null ? sha === null : sha !== null && existing.sha256.equals(sha));
      if (!same) throw new LomobImportError(`this catalog already has a different volume named ${iso.name}; nothing was imported`);
      volumeIds.set(iso.id, existing.id);
      continue;
    }
    const status = ISO_STATUS[iso.status ?? 1] ?? 'created';
    const id = Number(
      db
        .prepare('INSERT INTO volumes (name, size, sha256, status, region, bucket, files_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(iso.name, size, sha, status, iso.region || null, iso.bucket || null, iso.files_count, Math.round(lomobTimeMs(iso.create_time) ?? now)).lastInsertRowid,
    );
    volumeIds.set(iso.id, id);
    res.volumes++;
    if (iso.upload_id && status !== 'uploaded') {
      res.unfinishedUploads.push({ volume: iso.name, region: iso.region ?? '', bucket: iso.bucket ?? '', key: iso.upload_key ?? '', uploadId: iso.upload_id });
    }
  }

  // Files: one current version per lomob row, matched by path and SHA-256.
  const fileCols = columnsOf(src, 'files');
  const files = src
    .prepare(
      `SELECT id, dir_id, iso_id, CAST(name AS BLOB) AS name, size, ${col(pick(fileCols, 'hash_local', 'hash'), 'hash_hex')},
              ${col(pick(fileCols, 'hash_remote'), 'hash_remote')}, mod_time, create_time
       FROM files ORDER BY id`,
    )
    .all() as { id: number; dir_id: number; iso_id: number; name: Buffer; size: number; hash_hex: string | null; hash_remote: string | null; mod_time: unknown; create_time: unknown }[];
  const sameVersion = db.prepare('SELECT id, volume_id FROM files WHERE dir_id = ? AND name = ? AND size = ? AND sha256 IS ? ORDER BY status = \'current\' DESC, id LIMIT 1');
  const current = db.prepare(`SELECT id FROM files WHERE dir_id = ? AND name = ? AND status = 'current'`).pluck();
  const insertFile = db.prepare(
    `INSERT INTO files (dir_id, name, kind, size, mtime_ms, sha256, status, first_seen_at, ended_at, volume_id) VALUES (?, ?, 'file', ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setVolume = db.prepare('UPDATE files SET volume_id = ? WHERE id = ? AND volume_id IS NULL');
  for (const f of files) {
    const dirId = dirIds.get(f.dir_id);
    if (dirId === undefined) throw new LomobImportError(`lomob file ${f.id} is in folder ${f.dir_id}, which is not in the catalog`);
    const sha = sha256FromLomob(f.hash_hex);
    const volumeId = f.iso_id > 0 ? (volumeIds.get(f.iso_id) ?? null) : null;
    if (f.iso_id > 0 && volumeId === null) throw new LomobImportError(`lomob file ${f.id} is in volume ${f.iso_id}, which is not in the catalog`);
    if (f.iso_id === ISO_ID_CLOUD) res.onDrive.push({ path: Buffer.from(f.name), cipherSha256: sha256FromLomob(f.hash_remote) });
    const same = sameVersion.get(dirId, f.name, f.size, sha) as { id: number; volume_id: number | null } | undefined;
    if (same) {
      if (volumeId !== null && same.volume_id === null) setVolume.run(volumeId, same.id);
      continue;
    }
    // A path already scanned by lomo-peer with other content: lomob's row is an older version
    // (kept, with its volume), the current one stays current.
    const clash = current.get(dirId, f.name) !== undefined;
    insertFile.run(dirId, f.name, f.size, lomobTimeMs(f.mod_time) ?? 0, sha, clash ? 'superseded' : 'current', Math.round(lomobTimeMs(f.create_time) ?? now), clash ? now : null, volumeId);
    res.files++;
    if (clash) res.superseded++;
  }

  // Upload parts of multipart uploads (S3), as lomob recorded them.
  const partCols = columnsOf(src, 'parts');
  if (partCols.size > 0) {
    const parts = src
      .prepare(
        `SELECT iso_id, part_no, ${col(pick(partCols, 'size'), 'size')}, ${col(pick(partCols, 'hash_local', 'hash_hex'), 'hash_hex')},
                ${col(pick(partCols, 'hash_remote', 'hash_base64'), 'hash_b64')}, ${col(pick(partCols, 'etag'), 'etag')}, ${col(pick(partCols, 'status'), 'status')}
         FROM parts ORDER BY iso_id, part_no`,
      )
      .all() as { iso_id: number; part_no: number; size: number | null; hash_hex: string | null; hash_b64: string | null; etag: string | null; status: number | null }[];
    const insertPart = db.prepare('INSERT OR IGNORE INTO upload_parts (volume_id, part_no, size, sha256, etag, status) VALUES (?, ?, ?, ?, ?, ?)');
    for (const p of parts) {
      const volumeId = volumeIds.get(p.iso_id);
      if (volumeId === undefined) continue; // a part of a volume lomob no longer lists
      const r = insertPart.run(volumeId, p.part_no, p.size ?? 0, sha256FromLomob(p.hash_hex, p.hash_b64), p.etag || null, PART_STATUS[p.status ?? 0] ?? 'pending');
      res.uploadParts += r.changes;
    }
  }
  return res;
}
