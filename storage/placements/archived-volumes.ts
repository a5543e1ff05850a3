/**
 * The volume side of archiving: which volumes there are to send (with the plain image's path as
 * the catalog's bytes) and the volume row's record of where its archive copy went.
 */
import { logRows } from '../sitelog/local-log.js';
import type { Db } from '../catalog/db.js';

export interface ArchivableVolume {
  id: number;
  name: string;
  size: number;
  /** The plain image file, as path bytes; null for encrypted-only volumes. */
  localPath: Buffer | null;
  /** Plain SHA-256 of the image, when known. */
  sha256: Buffer | null;
}

interface Row {
  id: number;
  name: string;
  size: number;
  local_path: Buffer | null;
  sha256: Buffer | null;
}

const toVolume = (r: Row): ArchivableVolume => ({ id: r.id, name: r.name, size: r.size, localPath: r.local_path, sha256: r.sha256 });

/** Every volume, oldest first. */
export function archivableVolumes(db: Db): ArchivableVolume[] {
  return (db.prepare('SELECT id, name, size, local_path, sha256 FROM volumes ORDER BY id').all() as Row[]).map(toVolume);
}

/** The volume of exactly this name. */
export function archivableVolume(db: Db, name: string): ArchivableVolume | null {
  const r = db.prepare('SELECT id, name, size, local_path, sha256 FROM volumes WHERE name = ?').get(name) as Row | undefined;
  return r ? toVolume(r) : null;
}

/** The volume's archive copy is verified: `list iso` shows it uploaded, with its region and bucket. */
export function markVolumeArchived(db: Db, volumeId: number, region: string, bucket: string): void {
  db.transaction(() => {
    db.prepare(`UPDATE volumes SET status = 'uploaded', region = ?, bucket = ? WHERE id = ?`).run(region, bucket, volumeId);
    logRows(db, { volumes: [volumeId] });
  })();
}
