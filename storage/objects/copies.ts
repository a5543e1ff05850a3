import type { Db } from '../catalog/db.js';
import { objectForFile, objectForVolume, type StoredObject } from './catalog.js';
import { libraryPath } from './manifest.js';

/** Where the plaintext of one library file version can be read: an object and the offset in it. */
export interface FileCopy {
  fileId: number;
  libraryPath: Buffer;
  size: number;
  mtimeMs: number;
  sha256: Buffer | null;
  object: StoredObject;
  offset: number;
}

const isUnder = (p: Buffer, dir: Buffer) => p.length > dir.length && p.subarray(0, dir.length).equals(dir) && p[dir.length] === 0x2f;

/**
 * The newest version of a library file (or of every file under a folder) that has an encrypted
 * copy: in its volume if it has one, else its staging object. `wanted` is an absolute path (bytes).
 */
export function findCopies(db: Db, wanted: Buffer): FileCopy[] {
  const roots = db.prepare('SELECT id, path FROM scan_roots').all() as { id: number; path: Buffer }[];
  const out = new Map<string, FileCopy>();
  for (const r of roots) {
    const rootPath = r.path.at(-1) === 0x2f ? r.path.subarray(0, -1) : r.path;
    if (!(wanted.equals(rootPath) || isUnder(wanted, rootPath))) continue;
    const files = db
      .prepare(
        `SELECT f.id, f.name, f.size, f.mtime_ms, f.sha256, f.status, d.rel_path, vf.volume_id, vf.offset
         FROM files f JOIN dirs d ON d.id = f.dir_id LEFT JOIN volume_files vf ON vf.file_id = f.id
         WHERE d.root_id = ? AND f.kind = 'file' ORDER BY (f.status = 'current') DESC, f.id DESC`,
      )
      .all(r.id) as { id: number; name: Buffer; size: number; mtime_ms: number; sha256: Buffer | null; rel_path: Buffer; volume_id: number | null; offset: number | null }[];
    for (const f of files) {
      const full = libraryPath(rootPath, f.rel_path, f.name);
      const key = full.toString('latin1');
      if (out.has(key)) continue;
      if (!full.equals(wanted) && !isUnder(full, wanted)) continue;
      let object: StoredObject | null = null;
      let offset = 0;
      if (f.volume_id !== null) {
        object = objectForVolume(db, f.volume_id);
        offset = f.offset ?? 0;
      }
      if (!object) object = objectForFile(db, f.id);
      if (!object) continue; // this version has no encrypted copy; an older one may
      out.set(key, { fileId: f.id, libraryPath: full, size: f.size, mtimeMs: f.mtime_ms, sha256: f.sha256, object, offset });
    }
  }
  return [...out.values()];
}
