import type { Db } from '../catalog/db.js';
import { fromBuffer, toBuffer, type ByteString } from '../util/bytes-path.js';
import { logRows } from '../sitelog/local-log.js';

/** What the catalog says about one current path, as the scanner needs it to skip unchanged files. */
export interface KnownFile {
  id: number;
  kind: 'file' | 'symlink';
  size: number;
  mtimeMs: number;
  ino: number | null;
  dev: number | null;
  /** Set by the walk when the path is still there (or could not be checked). */
  seen: boolean;
}

export interface NewVersion {
  dirId: number;
  name: ByteString;
  kind: 'file' | 'symlink';
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  sha256: Uint8Array | null;
  linkTarget: ByteString | null;
}

/** Catalog reads and writes of the scanner, as prepared statements. */
export class ScanStore {
  private readonly stmts;
  /** Rows a batch changed: logged as one catalog delta in the batch's transaction (site log). */
  private readonly changed = { roots: new Set<number>(), dirs: new Set<number>(), files: new Set<number>() };

  constructor(private readonly db: Db) {
    this.stmts = {
      rootByPath: db.prepare('SELECT id FROM scan_roots WHERE path = ?').pluck(),
      allRoots: db.prepare('SELECT id, path FROM scan_roots'),
      insertRoot: db.prepare('INSERT INTO scan_roots (path, added_at) VALUES (?, ?)'),
      touchRoot: db.prepare('UPDATE scan_roots SET last_scan_at = ? WHERE id = ?'),
      dirs: db.prepare('SELECT id, rel_path, deleted_at FROM dirs WHERE root_id = ?'),
      insertDir: db.prepare('INSERT INTO dirs (root_id, rel_path, mtime_ms) VALUES (?, ?, ?)'),
      reviveDir: db.prepare('UPDATE dirs SET deleted_at = NULL, mtime_ms = ? WHERE id = ?'),
      deleteDir: db.prepare('UPDATE dirs SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL'),
      currentFiles: db.prepare(`SELECT f.id, f.dir_id, f.name, f.kind, f.size, f.mtime_ms, f.ino, f.dev
                                FROM files f JOIN dirs d ON d.id = f.dir_id
                                WHERE d.root_id = ? AND f.status = 'current'`),
      sha256Of: db.prepare('SELECT sha256 FROM files WHERE id = ?').pluck(),
      linkTargetOf: db.prepare('SELECT link_target FROM files WHERE id = ?').pluck(),
      insertFile: db.prepare(`INSERT INTO files (dir_id, name, kind, size, mtime_ms, ino, dev, sha256, link_target, status, first_seen_at)
                              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'current', ?)`),
      endFile: db.prepare(`UPDATE files SET status = ?, ended_at = ? WHERE id = ? AND status = 'current'`),
      restat: db.prepare('UPDATE files SET mtime_ms = ?, ino = ?, dev = ? WHERE id = ?'),
    };
  }

  roots(): { id: number; path: ByteString }[] {
    return (this.stmts.allRoots.all() as { id: number; path: Buffer }[]).map((r) => ({ id: r.id, path: fromBuffer(r.path) }));
  }

  /** The root's id, creating it on first scan. */
  ensureRoot(path: ByteString): number {
    const id = this.stmts.rootByPath.get(toBuffer(path)) as number | undefined;
    if (id !== undefined) return id;
    let created = 0;
    this.transaction(() => {
      created = Number(this.stmts.insertRoot.run(toBuffer(path), Date.now()).lastInsertRowid);
      this.changed.roots.add(created);
    });
    return created;
  }

  finishRoot(rootId: number): void {
    this.stmts.touchRoot.run(Date.now(), rootId);
    this.changed.roots.add(rootId);
  }

  loadDirs(rootId: number): Map<ByteString, { id: number; deleted: boolean; seen: boolean }> {
    const map = new Map<ByteString, { id: number; deleted: boolean; seen: boolean }>();
    for (const r of this.stmts.dirs.all(rootId) as { id: number; rel_path: Buffer; deleted_at: number | null }[]) {
      map.set(fromBuffer(r.rel_path), { id: r.id, deleted: r.deleted_at !== null, seen: false });
    }
    return map;
  }

  /** Folders are written as the walk finds them (files refer to their id): one small transaction each. */
  insertDir(rootId: number, relPath: ByteString, mtimeMs: number): number {
    let id = 0;
    this.transaction(() => {
      id = Number(this.stmts.insertDir.run(rootId, toBuffer(relPath), mtimeMs).lastInsertRowid);
      this.changed.dirs.add(id);
    });
    return id;
  }

  reviveDir(id: number, mtimeMs: number): void {
    this.transaction(() => {
      this.stmts.reviveDir.run(mtimeMs, id);
      this.changed.dirs.add(id);
    });
  }

  /**
   * Current files of a root: folder id -> name -> what the catalog knows. Loads only the columns the
   * unchanged-check needs, as raw rows (this runs over every file on every scan; 100,000 files must
   * load in a fraction of a second). Hashes and link targets are fetched per file when needed.
   */
  loadCurrentFiles(rootId: number): Map<number, Map<ByteString, KnownFile>> {
    const byDir = new Map<number, Map<ByteString, KnownFile>>();
    const rows = this.stmts.currentFiles.raw(true).iterate(rootId) as IterableIterator<[number, number, Buffer, 'file' | 'symlink', number, number, number | null, number | null]>;
    for (const [id, dirId, name, kind, size, mtimeMs, ino, dev] of rows) {
      let m = byDir.get(dirId);
      if (!m) byDir.set(dirId, (m = new Map()));
      m.set(name.toString('latin1'), { id, kind, size, mtimeMs, ino, dev, seen: false });
    }
    return byDir;
  }

  sha256Of(fileId: number): Buffer | null {
    return (this.stmts.sha256Of.get(fileId) as Buffer | null | undefined) ?? null;
  }

  linkTargetOf(fileId: number): ByteString | null {
    const b = this.stmts.linkTargetOf.get(fileId) as Buffer | null | undefined;
    return b ? fromBuffer(b) : null;
  }

  addVersion(v: NewVersion, now: number): void {
    const r = this.stmts.insertFile.run(
      v.dirId,
      toBuffer(v.name),
      v.kind,
      v.size,
      v.mtimeMs,
      v.ino,
      v.dev,
      v.sha256 ? Buffer.from(v.sha256) : null,
      v.linkTarget === null ? null : toBuffer(v.linkTarget),
      now,
    );
    this.changed.files.add(Number(r.lastInsertRowid));
  }

  /** Ends the current version of a path: 'superseded' by a new version, or 'deleted'. */
  endVersion(fileId: number, status: 'superseded' | 'deleted', now: number): void {
    this.stmts.endFile.run(status, now, fileId);
    this.changed.files.add(fileId);
  }

  /** Same content, new stat (touched, copied back with another inode): no new version. */
  updateStat(fileId: number, mtimeMs: number, ino: number, dev: number): void {
    this.stmts.restat.run(mtimeMs, ino, dev, fileId);
    this.changed.files.add(fileId);
  }

  markDirDeleted(dirId: number, now: number): void {
    this.stmts.deleteDir.run(now, dirId);
    this.changed.dirs.add(dirId);
  }

  /** One batch: its writes and their catalog delta (one entry, whatever the number of files) commit together. */
  transaction(fn: () => void): void {
    const c = this.changed;
    if (this.db.inTransaction) return fn(); // part of an enclosing batch, which logs it
    try {
      this.db.transaction(() => {
        fn();
        if (c.roots.size || c.dirs.size || c.files.size) logRows(this.db, c);
      })();
    } finally {
      c.roots.clear();
      c.dirs.clear();
      c.files.clear();
    }
  }
}

