/**
 * Catalog reads and writes for volumes: registering a finished image (one transaction), listing
 * volumes, and the per-file rows `iso dump` and restores use.
 */
import type { Db } from '../catalog/db.js';
import { logRows } from '../sitelog/local-log.js';
import { fromBuffer, toBuffer, type ByteString } from '../util/bytes-path.js';

export interface VolumeFileRow {
  fileId: number;
  isoPath: ByteString;
  offset: number;
  length: number;
}

export interface NewVolume {
  name: string;
  size: number;
  sha256: Buffer;
  localPath: string | null;
  files: VolumeFileRow[];
  createdAt?: number;
}

/** Another `iso create` packed one of these files first; nothing was registered. */
export class VolumeConflictError extends Error {
  override name = 'VolumeConflictError';
}

/**
 * Records a complete volume: the volume row, one volume_files row per file, and files.volume_id,
 * all or nothing. Fails (and changes nothing) if a file is no longer a staging file.
 */
export function registerVolume(db: Db, v: NewVolume): number {
  const insertVolume = db.prepare(
    `INSERT INTO volumes (name, size, sha256, status, files_count, created_at, local_path) VALUES (?, ?, ?, 'created', ?, ?, ?)`,
  );
  const insertFile = db.prepare('INSERT INTO volume_files (volume_id, file_id, iso_path, offset, length) VALUES (?, ?, ?, ?, ?)');
  const claim = db.prepare(`UPDATE files SET volume_id = ? WHERE id = ? AND volume_id IS NULL AND status = 'current'`);
  return db.transaction(() => {
    const id = Number(
      insertVolume.run(v.name, v.size, v.sha256, v.files.length, v.createdAt ?? Date.now(), v.localPath === null ? null : Buffer.from(v.localPath)).lastInsertRowid,
    );
    for (const f of v.files) {
      if (claim.run(id, f.fileId).changes !== 1) throw new VolumeConflictError(`file ${f.fileId} is no longer waiting for a volume`);
      insertFile.run(id, f.fileId, toBuffer(f.isoPath), f.offset, f.length);
    }
    logRows(db, { volumes: [id], volumeFiles: true, files: v.files.map((f) => f.fileId) });
    return id;
  })();
}

export function volumeNameTaken(db: Db, name: string): boolean {
  return db.prepare('SELECT 1 FROM volumes WHERE name = ?').get(name) !== undefined;
}

export interface VolumeRow {
  id: number;
  name: string;
  size: number;
  status: string;
  region: string | null;
  bucket: string | null;
  filesCount: number;
  createdAt: number;
  sha256: string | null;
  localPath: string | null;
}

export function listVolumes(db: Db): VolumeRow[] {
  const rows = db
    .prepare('SELECT id, name, size, status, region, bucket, files_count, created_at, sha256, local_path FROM volumes ORDER BY id')
    .all() as { id: number; name: string; size: number; status: string; region: string | null; bucket: string | null; files_count: number; created_at: number; sha256: Buffer | null; local_path: Buffer | null }[];
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    size: r.size,
    status: r.status,
    region: r.region,
    bucket: r.bucket,
    filesCount: r.files_count,
    createdAt: r.created_at,
    sha256: r.sha256 ? r.sha256.toString('hex') : null,
    localPath: r.local_path ? r.local_path.toString() : null,
  }));
}

export function volumeByName(db: Db, name: string): VolumeRow | undefined {
  return listVolumes(db).find((v) => v.name === name || v.name === `${name}.iso`);
}

export interface VolumeContent {
  isoPath: ByteString;
  size: number;
  mtimeMs: number;
  sha256: string | null;
}

/** The files of one volume with their catalog size and mtime, ordered by path in the image. */
export function volumeContents(db: Db, volumeId: number): VolumeContent[] {
  const rows = db
    .prepare(
      `SELECT vf.iso_path, f.size, f.mtime_ms, f.sha256 FROM volume_files vf JOIN files f ON f.id = vf.file_id
       WHERE vf.volume_id = ? ORDER BY vf.iso_path`,
    )
    .all(volumeId) as { iso_path: Buffer; size: number; mtime_ms: number; sha256: Buffer | null }[];
  return rows.map((r) => ({ isoPath: fromBuffer(r.iso_path), size: r.size, mtimeMs: r.mtime_ms, sha256: r.sha256 ? r.sha256.toString('hex') : null }));
}

/** Folder mtimes from the catalog, keyed by the folder's path inside images. */
export function dirTimes(db: Db, rootFolder: (rootPath: ByteString) => ByteString): Map<ByteString, number> {
  const rows = db
    .prepare('SELECT r.path AS root, d.rel_path, d.mtime_ms FROM dirs d JOIN scan_roots r ON r.id = d.root_id')
    .all() as { root: Buffer; rel_path: Buffer; mtime_ms: number | null }[];
  const out = new Map<ByteString, number>();
  for (const r of rows) {
    if (r.mtime_ms === null) continue;
    const rel = fromBuffer(r.rel_path);
    out.set(rel === '' ? rootFolder(fromBuffer(r.root)) : `${rootFolder(fromBuffer(r.root))}/${rel}`, r.mtime_ms);
  }
  return out;
}
