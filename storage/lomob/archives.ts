/**
 * Where lomob's archives are, for an imported catalog (docs/lomob.md §6): which volumes are
 * lomob's, the key lomob gave each in S3 and on Drive, and the path of a file inside a lomob ISO.
 * Read from cmd/lomob/upload-iso.go (a volume is `filepath.Base(name)` at the bucket root, its
 * tree beside it as `<name>.meta.txt`), upload-files.go (Drive: top folder / scan root with '/'
 * turned into '_' and the outer '/' trimmed / folders / file name, encrypted, same name) and
 * iso.go (inside the ISO: the scan root with every '/' turned into '_', e.g. _home_alice_Pictures).
 */
import type { Db } from '../catalog/db.js';
import { libraryPath } from '../objects/manifest.js';

/** An imported lomob volume: no lomo-peer object and no recorded layout (import never writes either). */
export interface LomobVolume {
  id: number;
  name: string;
  size: number;
  sha256: Buffer | null;
  bucket: string | null;
}

const LOMOB_VOLUME = `NOT EXISTS (SELECT 1 FROM objects o WHERE o.volume_id = v.id) AND NOT EXISTS (SELECT 1 FROM volume_files vf WHERE vf.volume_id = v.id)`;

export function lomobVolume(db: Db, name: string): LomobVolume | null {
  return (db.prepare(`SELECT v.id, v.name, v.size, v.sha256, v.bucket FROM volumes v WHERE v.name = ? AND ${LOMOB_VOLUME}`).get(name) as LomobVolume | undefined) ?? null;
}

/** lomob's S3 key of a volume: its name, at the bucket root. */
export const lomobVolumeKey = (v: { name: string }) => v.name.split('/').pop()!;

/** A library file version as lomob knew it. */
export interface LomobFile {
  fileId: number;
  /** Absolute library path (bytes). */
  libraryPath: Buffer;
  rootPath: Buffer;
  /** Path under the scan root (bytes, no leading '/'). */
  relPath: Buffer;
  size: number;
  mtimeMs: number;
  sha256: Buffer | null;
  /** Its lomob volume, if it is in one. */
  volume: LomobVolume | null;
}

const trimRoot = (p: Buffer) => (p.length > 1 && p.at(-1) === 0x2f ? p.subarray(0, -1) : p);
const isUnder = (p: Buffer, dir: Buffer) => p.length > dir.length && p.subarray(0, dir.length).equals(dir) && p[dir.length] === 0x2f;

/**
 * The newest version of each library file at or under `wanted` (absolute, bytes), with its lomob
 * volume when that volume is lomob's. Callers decide which of them lack a lomo-peer copy.
 */
export function lomobFiles(db: Db, wanted: Buffer): LomobFile[] {
  const out = new Map<string, LomobFile>();
  for (const r of db.prepare('SELECT id, path FROM scan_roots').all() as { id: number; path: Buffer }[]) {
    const root = trimRoot(r.path);
    if (!(wanted.equals(root) || isUnder(wanted, root))) continue;
    const rows = db
      .prepare(
        `SELECT f.id, f.name, f.size, f.mtime_ms, f.sha256, d.rel_path, v.id AS vid, v.name AS vname, v.size AS vsize, v.sha256 AS vsha, v.bucket AS vbucket,
                (v.id IS NOT NULL AND ${LOMOB_VOLUME}) AS lomob
           FROM files f JOIN dirs d ON d.id = f.dir_id LEFT JOIN volumes v ON v.id = f.volume_id
          WHERE d.root_id = ? AND f.kind = 'file' ORDER BY (f.status = 'current') DESC, f.id DESC`,
      )
      .all(r.id) as { id: number; name: Buffer; size: number; mtime_ms: number; sha256: Buffer | null; rel_path: Buffer; vid: number | null; vname: string; vsize: number; vsha: Buffer | null; vbucket: string | null; lomob: number }[];
    for (const f of rows) {
      const full = libraryPath(root, f.rel_path, f.name);
      const k = full.toString('latin1');
      if (out.has(k) || !(full.equals(wanted) || isUnder(full, wanted))) continue;
      const relPath = f.rel_path.length ? Buffer.concat([f.rel_path, Buffer.from('/'), f.name]) : f.name;
      const volume = f.lomob ? { id: f.vid!, name: f.vname, size: f.vsize, sha256: f.vsha, bucket: f.vbucket } : null;
      out.set(k, { fileId: f.id, libraryPath: full, rootPath: root, relPath, size: f.size, mtimeMs: f.mtime_ms, sha256: f.sha256, volume });
    }
  }
  return [...out.values()];
}

/** lomob's Drive key of a staged file: scan root (outer '/' trimmed, '/' → '_') / folders / name, as UTF-8 names. */
export function lomobDriveKey(f: { rootPath: Buffer; relPath: Buffer }): string {
  const root = f.rootPath.toString('utf8').replace(/^\/+|\/+$/g, '').replaceAll('/', '_');
  return `${root}/${f.relPath.toString('utf8')}`;
}

/** Paths (byte strings) a file may have inside a lomob ISO: the scan root with every '/' as '_' (iso.go), then the trimmed form. */
export function lomobImagePaths(f: { rootPath: Buffer; relPath: Buffer }): string[] {
  const root = f.rootPath.toString('latin1');
  const rel = f.relPath.toString('latin1');
  return [...new Set([`${root.replaceAll('/', '_')}/${rel}`, `${root.replace(/^\/+|\/+$/g, '').replaceAll('/', '_')}/${rel}`])];
}
