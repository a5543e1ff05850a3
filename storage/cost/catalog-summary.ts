/**
 * What the catalog says is (or will be) stored where, reduced to the sizes and counts the cost
 * model needs. Read-only queries over volumes, files and placements (migrations 1 and 30).
 */
import type { Db } from '../catalog/db.js';

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
