import type { Db } from './db.js';
import { fromBuffer, type ByteString } from '../util/bytes-path.js';

/** Read-only views of the library (scanned folders and files) for listings and later stages. */

export interface LibraryFile {
  id: number;
  /** Absolute path as bytes (latin1 byte string). */
  path: ByteString;
  rootPath: ByteString;
  /** Path relative to its scan root. */
  relPath: ByteString;
  kind: 'file' | 'symlink';
  size: number;
  mtimeMs: number;
  sha256: string | null;
  volumeId: number | null;
}

export function joinPath(root: ByteString, rel: ByteString): ByteString {
  if (rel === '') return root;
  return root.endsWith('/') ? root + rel : `${root}/${rel}`;
}

interface FileRow {
  id: number;
  root_path: Buffer;
  rel_path: Buffer;
  name: Buffer;
  kind: 'file' | 'symlink';
  size: number;
  mtime_ms: number;
  sha256: Buffer | null;
  volume_id: number | null;
}

const FILE_COLUMNS = `f.id, r.path AS root_path, d.rel_path, f.name, f.kind, f.size, f.mtime_ms, f.sha256, f.volume_id
  FROM files f JOIN dirs d ON d.id = f.dir_id JOIN scan_roots r ON r.id = d.root_id`;

function toFile(r: FileRow): LibraryFile {
  const root = fromBuffer(r.root_path);
  const dir = fromBuffer(r.rel_path);
  const name = fromBuffer(r.name);
  const relPath = dir === '' ? name : `${dir}/${name}`;
  return {
    id: r.id,
    path: joinPath(root, relPath),
    rootPath: root,
    relPath,
    kind: r.kind,
    size: r.size,
    mtimeMs: r.mtime_ms,
    sha256: r.sha256 ? r.sha256.toString('hex') : null,
    volumeId: r.volume_id,
  };
}

/** Current regular files in no volume yet: the staging files. */
export function stagingFiles(db: Db): LibraryFile[] {
  const rows = db.prepare(`SELECT ${FILE_COLUMNS} WHERE f.status = 'current' AND f.kind = 'file' AND f.volume_id IS NULL ORDER BY r.path, d.rel_path, f.name`).all() as FileRow[];
  return rows.map(toFile);
}

/** Current regular files of at least `minSize` bytes, biggest first. */
export function bigFiles(db: Db, minSize: number): LibraryFile[] {
  const rows = db.prepare(`SELECT ${FILE_COLUMNS} WHERE f.status = 'current' AND f.kind = 'file' AND f.size >= ? ORDER BY f.size DESC, f.id`).all(minSize) as FileRow[];
  return rows.map(toFile);
}

export interface LibraryDir {
  id: number;
  path: ByteString;
  /** The scan root it lies under, and its path relative to that root ('' for the root itself). */
  rootPath: ByteString;
  relPath: ByteString;
  files: number;
  bytes: number;
  /** The folder's modification time as the last scan saw it (null if never recorded). */
  mtimeMs: number | null;
}

/** Folders that still exist, with the count and size of the current files directly in them. */
export function libraryDirs(db: Db): LibraryDir[] {
  const rows = db
    .prepare(
      `SELECT d.id, r.path AS root_path, d.rel_path, d.mtime_ms,
              count(f.id) AS files, coalesce(sum(f.size), 0) AS bytes
       FROM dirs d JOIN scan_roots r ON r.id = d.root_id
       LEFT JOIN files f ON f.dir_id = d.id AND f.status = 'current' AND f.kind = 'file'
       WHERE d.deleted_at IS NULL
       GROUP BY d.id ORDER BY r.path, d.rel_path`,
    )
    .all() as { id: number; root_path: Buffer; rel_path: Buffer; mtime_ms: number | null; files: number; bytes: number }[];
  return rows.map((r) => {
    const rootPath = fromBuffer(r.root_path);
    const relPath = fromBuffer(r.rel_path);
    return { id: r.id, path: joinPath(rootPath, relPath), rootPath, relPath, files: r.files, bytes: r.bytes, mtimeMs: r.mtime_ms };
  });
}

/**
 * Ids of the library files that have a verified copy in a cloud tier (placements). Until a tier
 * records copies (or in a catalog without the placements table) the set is empty.
 */
export function filesInCloud(db: Db): Set<number> {
  const hasPlacements = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'placements'`).get();
  if (!hasPlacements) return new Set();
  return new Set(db.prepare(`SELECT DISTINCT file_id FROM placements WHERE file_id IS NOT NULL AND verified_at IS NOT NULL`).pluck().all() as number[]);
}
