import type { Db } from '../catalog/db.js';

/**
 * The ops of this site's catalog deltas (docs/sitelog-format.md 5.3): each is the full image of one
 * catalog row after the change, keyed by its row id, so replaying a log in order and keeping the
 * last image of each row gives back the tables exactly (ids included: listings print them, rows
 * refer to each other by them). A deletion is an image too (a file version `deleted`, a placement
 * with `deletedAt`): rows are never dropped. Byte strings (raw path bytes, hashes, ids) are
 * lowercase hex; absent values are null.
 */
export type Hex = string;

export interface SiteOp { op: 'site'; objectsUrl: string; createdAt: number }
export interface RootOp { op: 'root'; id: number; path: Hex; addedAt: number; lastScanAt: number | null }
export interface DirOp { op: 'dir'; id: number; root: number; relPath: Hex; mtimeMs: number | null; deletedAt: number | null }
export interface FileOp {
  op: 'file';
  id: number;
  dir: number;
  name: Hex;
  kind: 'file' | 'symlink';
  size: number;
  mtimeMs: number;
  ino: number | null;
  dev: number | null;
  sha256: Hex | null;
  linkTarget: Hex | null;
  status: 'current' | 'superseded' | 'deleted';
  firstSeenAt: number;
  endedAt: number | null;
  volume: number | null;
}
/** `files`: [file id, path inside the image (hex), offset, length], present when the volume is registered. */
export interface VolumeOp {
  op: 'volume';
  id: number;
  name: string;
  size: number;
  sha256: Hex | null;
  status: string;
  region: string | null;
  bucket: string | null;
  filesCount: number;
  createdAt: number;
  localPath: Hex | null;
  files?: [number, Hex, number, number][];
}
/** The private half of an object-sealed entry of this site: its links and plaintext hash. */
export interface ObjectOp {
  op: 'object';
  row: number;
  objectId: Hex;
  kind: 'volume' | 'file' | 'manifest';
  volume: number | null;
  file: number | null;
  plainSha256: Hex;
  leafSize: number;
  createdAt: number;
}
/** A copy of this site's volume, staging file or object in a tier (placements row). */
export interface PlacementOp {
  op: 'placement';
  id: number;
  volume: number | null;
  file: number | null;
  objectRow: number | null;
  chunk: number | null;
  tierUrl: string | null;
  peerSite: string | null;
  key: string | null;
  remoteId: string | null;
  size: number;
  sha256: Hex | null;
  storageClass: string | null;
  region: string | null;
  createdAt: number;
  verifiedAt: number;
  deletedAt: number | null;
}

export type CatalogOp = SiteOp | RootOp | DirOp | FileOp | VolumeOp | ObjectOp | PlacementOp;

const hex = (b: Buffer | null): Hex | null => (b === null ? null : b.toString('hex'));

/** Row ids whose current images a delta carries. */
export interface RowSet {
  roots?: Iterable<number>;
  dirs?: Iterable<number>;
  files?: Iterable<number>;
  /** Volumes; with their file extents when `volumeFiles` is set. */
  volumes?: Iterable<number>;
  volumeFiles?: boolean;
  objects?: Iterable<number>;
  placements?: Iterable<number>;
}

/** The images of those rows as they are now (in the caller's transaction), parents first. */
export function rowOps(db: Db, s: RowSet): CatalogOp[] {
  const ops: CatalogOp[] = [];
  const each = <R>(ids: Iterable<number> | undefined, sql: string, map: (r: R) => CatalogOp) => {
    if (!ids) return;
    const st = db.prepare(sql);
    for (const id of ids) {
      const r = st.get(id) as R | undefined;
      if (r) ops.push(map(r));
    }
  };
  each(s.roots, 'SELECT * FROM scan_roots WHERE id = ?', (r: { id: number; path: Buffer; added_at: number; last_scan_at: number | null }) => ({
    op: 'root', id: r.id, path: r.path.toString('hex'), addedAt: r.added_at, lastScanAt: r.last_scan_at,
  }));
  each(s.dirs, 'SELECT * FROM dirs WHERE id = ?', (r: { id: number; root_id: number; rel_path: Buffer; mtime_ms: number | null; deleted_at: number | null }) => ({
    op: 'dir', id: r.id, root: r.root_id, relPath: r.rel_path.toString('hex'), mtimeMs: r.mtime_ms, deletedAt: r.deleted_at,
  }));
  const extents = db.prepare('SELECT file_id, iso_path, offset, length FROM volume_files WHERE volume_id = ? ORDER BY file_id');
  each(s.volumes, 'SELECT * FROM volumes WHERE id = ?', (r: VolumeRow) => {
    const op: VolumeOp = {
      op: 'volume', id: r.id, name: r.name, size: r.size, sha256: hex(r.sha256), status: r.status, region: r.region, bucket: r.bucket,
      filesCount: r.files_count, createdAt: r.created_at, localPath: hex(r.local_path),
    };
    if (s.volumeFiles) {
      op.files = (extents.raw(true).all(r.id) as [number, Buffer, number, number][]).map(([f, p, o, l]) => [f, p.toString('hex'), o, l]);
    }
    return op;
  });
  each(s.files, 'SELECT * FROM files WHERE id = ?', fileOp);
  each(s.objects, 'SELECT * FROM objects WHERE id = ?', (r: ObjectRow) => ({
    op: 'object', row: r.id, objectId: r.object_id.toString('hex'), kind: r.kind, volume: r.volume_id, file: r.file_id,
    plainSha256: r.plain_sha256.toString('hex'), leafSize: r.leaf_size, createdAt: r.created_at,
  }));
  each(s.placements, 'SELECT * FROM placements WHERE id = ?', (r: PlacementRow) => ({
    op: 'placement', id: r.id, volume: r.volume_id, file: r.file_id, objectRow: r.object_row, chunk: r.chunk_idx, tierUrl: r.tier_url,
    peerSite: r.peer_site, key: r.key, remoteId: r.remote_id, size: r.size, sha256: hex(r.sha256), storageClass: r.storage_class,
    region: r.region, createdAt: r.created_at, verifiedAt: r.verified_at, deletedAt: r.deleted_at,
  }));
  return ops;
}

export interface FileRow {
  id: number;
  dir_id: number;
  name: Buffer;
  kind: 'file' | 'symlink';
  size: number;
  mtime_ms: number;
  ino: number | null;
  dev: number | null;
  sha256: Buffer | null;
  link_target: Buffer | null;
  status: FileOp['status'];
  first_seen_at: number;
  ended_at: number | null;
  volume_id: number | null;
}

export function fileOp(r: FileRow): FileOp {
  return {
    op: 'file', id: r.id, dir: r.dir_id, name: r.name.toString('hex'), kind: r.kind, size: r.size, mtimeMs: r.mtime_ms, ino: r.ino, dev: r.dev,
    sha256: hex(r.sha256), linkTarget: hex(r.link_target), status: r.status, firstSeenAt: r.first_seen_at, endedAt: r.ended_at, volume: r.volume_id,
  };
}

interface VolumeRow {
  id: number;
  name: string;
  size: number;
  sha256: Buffer | null;
  status: string;
  region: string | null;
  bucket: string | null;
  files_count: number;
  created_at: number;
  local_path: Buffer | null;
}

interface ObjectRow {
  id: number;
  object_id: Buffer;
  kind: ObjectOp['kind'];
  volume_id: number | null;
  file_id: number | null;
  plain_sha256: Buffer;
  leaf_size: number;
  created_at: number;
}

interface PlacementRow {
  id: number;
  volume_id: number | null;
  file_id: number | null;
  object_row: number | null;
  chunk_idx: number | null;
  tier_url: string | null;
  peer_site: string | null;
  key: string | null;
  remote_id: string | null;
  size: number;
  sha256: Buffer | null;
  storage_class: string | null;
  region: string | null;
  created_at: number;
  verified_at: number;
  deleted_at: number | null;
}
