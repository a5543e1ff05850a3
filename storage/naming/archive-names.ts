/**
 * Object keys of volumes in the archive tier. lomob puts each ISO under a first folder named after
 * its scan root (the root's full path joined with '_', e.g. home_alice_Pictures/...). lomo-peer
 * keeps that shape, but a path must never reach a cloud in clear (DESIGN: names and paths are
 * readable only with the passphrase): for encrypted volumes the folder is the root name's keyed
 * token, the same token Drive uses for that root (drive-names.ts), so one root is one folder in
 * both clouds. Volume names (dates) are not secret, as in lomob. Plain uploads (--no-encrypt)
 * use lomob's clear folder name: the user chose to send the data itself in clear.
 */
import type { Db } from '../catalog/db.js';
import { rootFolderName } from '../iso/plan.js';
import { fromBuffer, type ByteString } from '../util/bytes-path.js';
import type { NameTokenizer } from './drive-names.js';

/** The scan root holding most of a volume's bytes (a volume may span roots; one folder is chosen). */
export function volumeRoot(db: Db, volumeId: number): ByteString | null {
  const row = db
    .prepare(
      `SELECT r.path FROM volume_files vf JOIN files f ON f.id = vf.file_id JOIN dirs d ON d.id = f.dir_id JOIN scan_roots r ON r.id = d.root_id
       WHERE vf.volume_id = ? GROUP BY r.id ORDER BY sum(f.size) DESC, r.path LIMIT 1`,
    )
    .pluck()
    .get(volumeId) as Buffer | undefined;
  return row ? fromBuffer(row) : null;
}

export function volumeKey(db: Db, volume: { id: number; name: string }, tok: NameTokenizer | null): string {
  const root = volumeRoot(db, volume.id);
  if (root === null) return volume.name;
  const folder = rootFolderName(root);
  return `${tok ? tok(folder) : Buffer.from(folder, 'latin1').toString('utf8')}/${volume.name}`;
}
