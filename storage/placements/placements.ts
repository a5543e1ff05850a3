/**
 * Catalog rows for verified cloud copies of this site's volumes and staging files (migrations 30
 * and 31). A row is written only after the tier checked size and checksum; deleting a copy keeps
 * the row with deleted_at set (history, cost). Holdings of any site's objects or chunks, by tiers
 * or peer sites, are read and written by holdings.ts over the same table.
 */
import { logPlacement } from '../sitelog/local-log.js';
import type { Db } from '../catalog/db.js';

export interface Placement {
  id: number;
  volumeId: number | null;
  fileId: number | null;
  tierUrl: string;
  key: string;
  remoteId: string | null;
  size: number;
  sha256: Buffer | null;
  storageClass: string | null;
  createdAt: number;
  /** The object the copy holds (null: a plain --no-encrypt image, or no matching object). */
  objectRow: number | null;
}

interface Row {
  id: number;
  volume_id: number | null;
  file_id: number | null;
  tier_url: string;
  key: string;
  remote_id: string | null;
  size: number;
  sha256: Buffer | null;
  storage_class: string | null;
  created_at: number;
  object_row: number | null;
}

const toPlacement = (r: Row): Placement => ({
  id: r.id,
  volumeId: r.volume_id,
  fileId: r.file_id,
  tierUrl: r.tier_url,
  key: r.key,
  remoteId: r.remote_id,
  size: r.size,
  sha256: r.sha256,
  storageClass: r.storage_class,
  createdAt: r.created_at,
  objectRow: r.object_row,
});

/**
 * The object a copy of a volume or staging file holds, when the caller does not say: the newest
 * object of that volume or file with the copy's size and (when known) cipher hash. A plain image
 * uploaded with --no-encrypt matches none. Migration 31 linked the rows of older releases the same way.
 */
function objectOfCopy(db: Db, p: { volumeId?: number; fileId?: number; size: number; sha256?: Buffer }): number | null {
  return (
    (db
      .prepare(
        `SELECT id FROM objects WHERE (volume_id = ? OR file_id = ?) AND cipher_size = ? AND (? IS NULL OR cipher_sha256 = ?)
          ORDER BY id DESC LIMIT 1`,
      )
      .pluck()
      .get(p.volumeId ?? null, p.fileId ?? null, p.size, p.sha256 ?? null, p.sha256 ?? null) as number | undefined) ?? null
  );
}

export function recordPlacement(
  db: Db,
  p: {
    volumeId?: number;
    fileId?: number;
    tierUrl: string;
    key: string;
    remoteId?: string;
    size: number;
    sha256?: Buffer;
    storageClass?: string;
    region?: string;
    /** The object held; found from the volume or file, size and hash when not given. */
    objectRow?: number;
  },
): void {
  const now = Date.now();
  db.transaction(() => {
    const replaced = db.prepare('SELECT id FROM placements WHERE tier_url = ? AND key = ? AND deleted_at IS NULL').pluck().all(p.tierUrl, p.key) as number[];
    db.prepare('UPDATE placements SET deleted_at = ? WHERE tier_url = ? AND key = ? AND deleted_at IS NULL').run(now, p.tierUrl, p.key);
    const id = Number(db.prepare(
      `INSERT INTO placements (volume_id, file_id, object_row, tier_url, key, remote_id, size, sha256, storage_class, region, created_at, verified_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(p.volumeId ?? null, p.fileId ?? null, p.objectRow ?? objectOfCopy(db, p), p.tierUrl, p.key, p.remoteId ?? null, p.size, p.sha256 ?? null,
      p.storageClass ?? null, p.region ?? null, now, now).lastInsertRowid);
    for (const old of replaced) logPlacement(db, old);
    logPlacement(db, id); // the site log says so in the same transaction
  })();
}

export function livePlacement(db: Db, tierUrl: string, key: string): Placement | null {
  const r = db.prepare('SELECT * FROM placements WHERE tier_url = ? AND key = ? AND deleted_at IS NULL').get(tierUrl, key) as Row | undefined;
  return r ? toPlacement(r) : null;
}

export function volumePlacements(db: Db, volumeId: number, tierPrefix: string): Placement[] {
  return (db.prepare(`SELECT * FROM placements WHERE volume_id = ? AND deleted_at IS NULL AND tier_url LIKE ? || '%' ORDER BY id DESC`).all(volumeId, tierPrefix) as Row[]).map(toPlacement);
}

export function filePlacements(db: Db, fileId: number, tierPrefix: string): Placement[] {
  return (db.prepare(`SELECT * FROM placements WHERE file_id = ? AND deleted_at IS NULL AND tier_url LIKE ? || '%' ORDER BY id DESC`).all(fileId, tierPrefix) as Row[]).map(toPlacement);
}

export function tierPlacements(db: Db, tierUrl: string): Placement[] {
  return (db.prepare('SELECT * FROM placements WHERE tier_url = ? AND deleted_at IS NULL').all(tierUrl) as Row[]).map(toPlacement);
}

export function markDeleted(db: Db, id: number): void {
  db.transaction(() => {
    db.prepare('UPDATE placements SET deleted_at = ? WHERE id = ?').run(Date.now(), id);
    logPlacement(db, id);
  })();
}

/**
 * Staging copies of files that are now inside a volume with a verified archive copy (S3, or a
 * folder tier used as the archive): safe to delete.
 */
export function stagedCopiesArchived(db: Db, driveUrl: string): Placement[] {
  return (
    db
      .prepare(
        `SELECT p.* FROM placements p
           JOIN files f ON f.id = p.file_id
          WHERE p.tier_url = ? AND p.deleted_at IS NULL AND f.volume_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM placements v WHERE v.volume_id = f.volume_id AND v.deleted_at IS NULL AND v.tier_url <> p.tier_url)`,
      )
      .all(driveUrl) as Row[]
  ).map(toPlacement);
}
