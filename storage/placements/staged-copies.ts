/**
 * Live copies of library files on one tier (the staging tier: Drive or a folder), with the library
 * path each one is the copy of: what `list gdrive` names and `restore gdrive` looks up.
 */
import type { Db } from '../catalog/db.js';
import { joinPath } from '../catalog/library.js';
import { fromBuffer } from '../util/bytes-path.js';
import { filePlacements, type Placement } from './placements.js';

export interface StagedCopy {
  placement: Placement;
  /** The file's library path (latin1 byte string, as the catalog keeps paths). */
  path: string;
  /** Plaintext SHA-256 from the scan. */
  sha256: Buffer | null;
  size: number;
  mtimeMs: number;
  rootPath: string;
  relPath: string;
}

export function stagedCopies(db: Db, tierUrl: string): StagedCopy[] {
  const rows = db
    .prepare(
      `SELECT p.id AS pid, f.id AS fid, r.path AS root, d.rel_path AS rel, f.name, f.sha256, f.size, f.mtime_ms
         FROM placements p JOIN files f ON f.id = p.file_id JOIN dirs d ON d.id = f.dir_id JOIN scan_roots r ON r.id = d.root_id
        WHERE p.tier_url = ? AND p.deleted_at IS NULL`,
    )
    .all(tierUrl) as { pid: number; fid: number; root: Buffer; rel: Buffer; name: Buffer; sha256: Buffer | null; size: number; mtime_ms: number }[];
  return rows.map((r) => {
    const rel = fromBuffer(r.rel) === '' ? fromBuffer(r.name) : `${fromBuffer(r.rel)}/${fromBuffer(r.name)}`;
    return {
      placement: filePlacements(db, r.fid, tierUrl).find((p) => p.id === r.pid)!,
      path: joinPath(fromBuffer(r.root), rel),
      sha256: r.sha256,
      size: r.size,
      mtimeMs: r.mtime_ms,
      rootPath: fromBuffer(r.root),
      relPath: rel,
    };
  });
}
