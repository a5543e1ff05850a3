/**
 * What the catalog says is (or will be) stored where, reduced to the sizes and counts the cost
 * model needs. Read-only queries over volumes, files, objects and placements (migrations 1, 20, 30).
 */
import type { Db } from '../catalog/db.js';
import { perFilePutRequests } from './per-file.js';
import { expectedStorageClass } from './storage-class.js';
import type { CipherLayout } from './upload-plan.js';

export interface StoredGroup {
  tier: string;
  storageClass: string;
  objects: number;
  bytes: number;
  /** Age in days of the youngest and oldest copies (minimum-duration questions). */
  youngestDays: number;
  oldestDays: number;
}

export interface CatalogSummary {
  /** Live cloud copies grouped by tier kind and class. */
  stored: StoredGroup[];
  /** Volumes with no live S3 copy yet: their sizes. */
  pendingVolumes: { name: string; size: number }[];
  /** Staging files (not in a volume) and how many are already on Drive. */
  staging: { files: number; bytes: number; onDrive: number; onDriveBytes: number };
}

const DAY = 86_400_000;

export function catalogSummary(db: Db, now = Date.now()): CatalogSummary {
  const stored = (
    db
      .prepare(
        `SELECT substr(tier_url, 1, instr(tier_url, ':') - 1) AS tier, COALESCE(storage_class, '') AS cls,
                COUNT(*) AS n, SUM(size) AS bytes, MAX(created_at) AS newest, MIN(created_at) AS oldest
           FROM placements WHERE deleted_at IS NULL GROUP BY tier, cls ORDER BY tier, cls`,
      )
      .all() as { tier: string; cls: string; n: number; bytes: number; newest: number; oldest: number }[]
  ).map((r) => ({ tier: r.tier, storageClass: r.cls, objects: r.n, bytes: r.bytes, youngestDays: (now - r.newest) / DAY, oldestDays: (now - r.oldest) / DAY }));
  const pendingVolumes = db
    .prepare(
      `SELECT v.name, v.size FROM volumes v
        WHERE NOT EXISTS (SELECT 1 FROM placements p WHERE p.volume_id = v.id AND p.deleted_at IS NULL AND p.tier_url LIKE 's3:%')
        ORDER BY v.id`,
    )
    .all() as { name: string; size: number }[];
  const st = db
    .prepare(
      `SELECT COUNT(*) AS files, COALESCE(SUM(f.size), 0) AS bytes,
              COALESCE(SUM(p.id IS NOT NULL), 0) AS onDrive, COALESCE(SUM(CASE WHEN p.id IS NOT NULL THEN f.size END), 0) AS onDriveBytes
         FROM files f
         LEFT JOIN placements p ON p.file_id = f.id AND p.deleted_at IS NULL AND p.tier_url LIKE 'gdrive:%'
        WHERE f.status = 'current' AND f.volume_id IS NULL AND f.kind = 'file'`,
    )
    .get() as CatalogSummary['staging'];
  return { stored, pendingVolumes, staging: st };
}

/** One volume as the cost model sees it: its encrypted layout, its manifest, its S3 copy. */
export interface VolumeCostRow {
  id: number;
  name: string;
  /** Image (plaintext) size. */
  size: number;
  /** The encrypted object `upload iso` sends (null: a plain volume, sent as its image). */
  enc: CipherLayout | null;
  /** Ciphertext size of its encrypted manifest (sent as `<key>.manifest`), if it has one. */
  manifestBytes: number | null;
  /** Its live S3 copy (the first, if several buckets hold one); null: not uploaded yet. */
  s3: { storageClass: string; size: number; encrypted: boolean } | null;
}

export function volumeInventory(db: Db): VolumeCostRow[] {
  const rows = db
    .prepare(
      `SELECT v.id, v.name, v.size,
              o.cipher_size, o.chunk_count, o.chunk_plain, o.message_size, o.cipher_sha256,
              m.cipher_size AS manifest_size,
              p.id AS pid, COALESCE(p.storage_class, 'STANDARD') AS cls, p.size AS psize, p.sha256 AS psha
         FROM volumes v
         LEFT JOIN objects o ON o.id = (SELECT MAX(id) FROM objects WHERE volume_id = v.id AND kind = 'volume')
         LEFT JOIN objects m ON m.id = (SELECT MAX(id) FROM objects WHERE volume_id = v.id AND kind = 'manifest')
         LEFT JOIN placements p ON p.id = (SELECT MIN(id) FROM placements
                                            WHERE volume_id = v.id AND deleted_at IS NULL AND tier_url LIKE 's3:%' AND key NOT LIKE '%.manifest')
        ORDER BY v.id`,
    )
    .all() as {
    id: number;
    name: string;
    size: number;
    cipher_size: number | null;
    chunk_count: number | null;
    chunk_plain: number | null;
    message_size: number | null;
    cipher_sha256: Buffer | null;
    manifest_size: number | null;
    pid: number | null;
    cls: string;
    psize: number | null;
    psha: Buffer | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    size: r.size,
    enc: r.cipher_size === null ? null : { cipherSize: r.cipher_size, chunkCount: r.chunk_count!, chunkPlain: r.chunk_plain!, messageSize: r.message_size! },
    manifestBytes: r.manifest_size,
    s3: r.pid === null ? null : { storageClass: r.cls || 'STANDARD', size: r.psize!, encrypted: !!(r.psha && r.cipher_sha256 && r.psha.equals(r.cipher_sha256)) },
  }));
}

/** The library's current files, and what storing them one object per file would take in PUTs. */
export function fileInventory(db: Db): { files: number; bytes: number; putRequests: number } {
  let files = 0;
  let bytes = 0;
  let putRequests = 0;
  for (const r of db.prepare(`SELECT size FROM files WHERE status = 'current' AND kind = 'file'`).iterate() as Iterable<{ size: number }>) {
    files++;
    bytes += r.size;
    putRequests += perFilePutRequests(r.size);
  }
  return { files, bytes, putRequests };
}

/** The class to plan new volumes with: see expectedStorageClass (what `upload iso` compares with). */
export function plannedStorageClass(db: Db): string {
  const groups = db
    .prepare(
      `SELECT COALESCE(storage_class, 'STANDARD') AS storageClass, SUM(size) AS bytes FROM placements
        WHERE volume_id IS NOT NULL AND deleted_at IS NULL AND tier_url LIKE 's3:%' AND key NOT LIKE '%.manifest'
        GROUP BY storageClass ORDER BY storageClass`,
    )
    .all() as { storageClass: string; bytes: number }[];
  return expectedStorageClass(groups);
}
