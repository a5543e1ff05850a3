import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { displayPath, fromBuffer, toBuffer, type ByteString } from '../util/bytes-path.js';
import { HashPool } from './hash-pool.js';
import type { HashReply } from './hash-worker.js';
import { ScanStore, type KnownFile, type NewVersion } from './scan-store.js';

/**
 * The incremental scanner. For each root it walks the tree on the main thread (readdir + lstat:
 * cheap), skips every file whose size, mtime, inode and device match the catalog, and sends the
 * rest to a pool of hashing workers. Results are written in batched transactions, so a killed
 * scan loses at most the last batch and a re-run resumes from what was committed. Deletions are
 * recorded only after a root's walk and all its hashing finished, and never under a folder that
 * could not be read.
 */
export interface ScanOptions {
  roots: string[];
  ignoreFiles: string[];
  ignoreDirs: string[];
  threads: number;
  onProgress?: (p: ScanProgress) => void;
  onIssue?: (issue: ScanIssue) => void;
  /** Called when a root's walk is complete (hashing may still be running). */
  onWalked?: (root: string, p: ScanProgress) => void;
  signal?: AbortSignal;
}

export interface ScanProgress {
  filesFound: number;
  bytesFound: number;
  filesToHash: number;
  bytesToHash: number;
  filesHashed: number;
  bytesHashed: number;
}

export interface ScanIssue {
  /** Path for people (invalid UTF-8 bytes shown as \xNN). */
  path: string;
  /** 'missing-root' | 'not-a-folder' | 'nested-root' | 'unreadable' | 'vanished' | 'changing' | 'error' */
  kind: string;
  message: string;
}

export interface ScanSummary {
  roots: string[];
  newFiles: number;
  changedFiles: number;
  touchedFiles: number;
  unchangedFiles: number;
  deletedFiles: number;
  symlinks: number;
  filesHashed: number;
  bytesHashed: number;
  seconds: number;
  /** Roots that could not be scanned at all. */
  rootErrors: ScanIssue[];
  /** Files and folders that were skipped; the scan went on. */
  skipped: ScanIssue[];
}

export class ScanAborted extends Error {
  override name = 'ScanAborted';
}

const BATCH_OPS = 512;
const BATCH_MS = 250;
/** A file that changes while being read is retried this many times, then skipped until next scan. */
const CHANGE_RETRIES = 2;

export async function scan(db: Db, opts: ScanOptions): Promise<ScanSummary> {
  const started = performance.now();
  const store = new ScanStore(db);
  const summary: ScanSummary = {
    roots: [],
    newFiles: 0,
    changedFiles: 0,
    touchedFiles: 0,
    unchangedFiles: 0,
    deletedFiles: 0,
    symlinks: 0,
    filesHashed: 0,
    bytesHashed: 0,
    seconds: 0,
    rootErrors: [],
    skipped: [],
  };
  // Workers start first: their start-up overlaps with checking roots and loading the catalog.
  const pool = new HashPool(Math.max(1, opts.threads));
  const roots = validateRoots(opts.roots, store, summary, opts.onIssue);
  if (roots.length === 0) {
    await pool.close();
    summary.seconds = (performance.now() - started) / 1000;
    return summary;
  }
  const progress: ScanProgress = { filesFound: 0, bytesFound: 0, filesToHash: 0, bytesToHash: 0, filesHashed: 0, bytesHashed: 0 };
  // bytesHashed grows while big files are read, then is corrected when each file's hash lands.
  pool.onBytes = (n) => {
    progress.bytesHashed += n;
    opts.onProgress?.(progress);
  };
  try {
    for (const root of roots) {
      await new RootScan(root, store, pool, opts, summary, progress).run();
      summary.roots.push(displayPath(root));
    }
  } finally {
    await pool.close();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** Resolves the roots; reports the ones that cannot be scanned and returns the rest. */
function validateRoots(args: string[], store: ScanStore, summary: ScanSummary, onIssue?: (i: ScanIssue) => void): ByteString[] {
  const known = store.roots().map((r) => r.path);
  const out: ByteString[] = [];
  const fail = (p: string, kind: string, message: string) => {
    const issue = { path: p, kind, message };
    summary.rootErrors.push(issue);
    onIssue?.(issue);
  };
  for (const arg of args) {
    const abs = path.resolve(arg);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') fail(abs, 'missing-root', `${abs} does not exist: check the path (nothing was scanned for it)`);
      else fail(abs, 'unreadable', `cannot access ${abs}: ${(err as Error).message}`);
      continue;
    }
    if (!st.isDirectory()) {
      fail(abs, 'not-a-folder', `${abs} is a file, not a folder: scan takes folders (scan its parent folder instead)`);
      continue;
    }
    const root = fromBuffer(Buffer.from(abs, 'utf8'));
    const outer = [...known, ...out].find((k) => k !== root && (root.startsWith(k + '/') || k === '/'));
    const inner = [...known, ...out].find((k) => k !== root && (k.startsWith(root + '/') || (root === '/' && k !== '/')));
    if (outer !== undefined) {
      fail(abs, 'nested-root', `${abs} is inside the scanned folder ${displayPath(outer)}: scan ${displayPath(outer)} instead (its files would be recorded twice)`);
      continue;
    }
    if (inner !== undefined) {
      fail(abs, 'nested-root', `${abs} contains the scanned folder ${displayPath(inner)}; scanning both would record files twice. Scan only one of them.`);
      continue;
    }
    if (!out.includes(root)) out.push(root);
  }
  return out;
}

type WriteOp = () => void;

class RootScan {
  private readonly rootId: number;
  private readonly dirs;
  private readonly files: Map<number, Map<ByteString, KnownFile>>;
  private readonly unreadable: ByteString[] = [];
  private readonly ignoreFiles: Set<ByteString>;
  private readonly ignoreDirs: Set<ByteString>;
  private ops: WriteOp[] = [];
  private lastFlush = performance.now();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly root: ByteString,
    private readonly store: ScanStore,
    private readonly pool: HashPool,
    private readonly opts: ScanOptions,
    private readonly summary: ScanSummary,
    private readonly progress: ScanProgress,
  ) {
    this.rootId = store.ensureRoot(root);
    this.dirs = store.loadDirs(this.rootId);
    this.files = store.loadCurrentFiles(this.rootId);
    const asBytes = (names: string[]) => new Set(names.filter(Boolean).map((n) => fromBuffer(Buffer.from(n, 'utf8'))));
    this.ignoreFiles = asBytes(opts.ignoreFiles);
    this.ignoreDirs = asBytes(opts.ignoreDirs);
  }

  async run(): Promise<void> {
    const stack: ByteString[] = [''];
    let dirsSinceYield = 0;
    while (stack.length > 0) {
      if (this.opts.signal?.aborted) await this.abort();
      const relDir = stack.pop()!;
      this.walkDir(relDir, stack);
      if (this.pool.outstanding > 0) await this.pool.waitForCapacity();
      if (++dirsSinceYield >= 64 || this.pool.outstanding > 0) {
        dirsSinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
      this.maybeFlush();
    }
    this.pool.flush();
    this.opts.onWalked?.(displayPath(this.root), this.progress);
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.opts.signal?.aborted) await this.abort();
    this.flush();
    this.recordDeletions();
  }

  private abs(rel: ByteString): ByteString {
    if (rel === '') return this.root;
    return this.root.endsWith('/') ? this.root + rel : `${this.root}/${rel}`;
  }

  private issue(rel: ByteString, kind: string, message: string): void {
    const issue = { path: displayPath(this.abs(rel)), kind, message };
    this.summary.skipped.push(issue);
    this.opts.onIssue?.(issue);
  }

  private walkDir(relDir: ByteString, stack: ByteString[]): void {
    const absDir = this.abs(relDir);
    let entries: fs.Dirent<Buffer>[];
    let mtimeMs = 0;
    try {
      entries = fs.readdirSync(toBuffer(absDir), { withFileTypes: true, encoding: 'buffer' });
      mtimeMs = fs.lstatSync(toBuffer(absDir)).mtimeMs;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.unreadable.push(relDir);
      const dir = this.dirs.get(relDir);
      if (dir) dir.seen = true;
      if (e.code === 'ENOENT') this.issue(relDir, 'vanished', `folder ${displayPath(absDir)} disappeared during the scan; skipped`);
      else this.issue(relDir, 'unreadable', `cannot read folder ${displayPath(absDir)} (${e.code ?? e.message}); skipped with everything under it. Fix its permissions and scan again.`);
      return;
    }
    const dirId = this.ensureDir(relDir, mtimeMs);
    for (const dirent of entries) {
      const name = fromBuffer(dirent.name);
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      let type: 'dir' | 'file' | 'symlink' | 'other' = dirent.isDirectory()
        ? 'dir'
        : dirent.isFile()
          ? 'file'
          : dirent.isSymbolicLink()
            ? 'symlink'
            : 'other';
      let st: fs.Stats | undefined;
      if (type === 'other' || type === 'file' || type === 'symlink') {
        try {
          st = fs.lstatSync(toBuffer(this.abs(rel)));
        } catch (err) {
          const e = err as NodeJS.ErrnoException;
          if (e.code === 'ENOENT') this.issue(rel, 'vanished', `${displayPath(this.abs(rel))} was deleted during the scan`);
          else this.issue(rel, 'unreadable', `cannot stat ${displayPath(this.abs(rel))}: ${e.message}`);
          this.markSeen(dirId, name, e.code !== 'ENOENT');
          continue;
        }
        type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
      }
      if (type === 'dir') {
        if (!this.ignoreDirs.has(name)) stack.push(rel);
      } else if (type === 'file') {
        if (!this.ignoreFiles.has(name)) this.visitFile(dirId, relDir, name, st!);
      } else if (type === 'symlink') {
        if (!this.ignoreFiles.has(name)) this.visitSymlink(dirId, relDir, name, st!);
      }
      // Sockets, FIFOs and devices are not library content: skipped silently.
    }
  }

  private ensureDir(relDir: ByteString, mtimeMs: number): number {
    const known = this.dirs.get(relDir);
    if (known) {
      known.seen = true;
      if (known.deleted) {
        this.store.reviveDir(known.id, mtimeMs);
        known.deleted = false;
      }
      return known.id;
    }
    const id = this.store.insertDir(this.rootId, relDir, mtimeMs);
    this.dirs.set(relDir, { id, deleted: false, seen: true });
    return id;
  }

  private known(dirId: number, name: ByteString): KnownFile | undefined {
    return this.files.get(dirId)?.get(name);
  }

  private markSeen(dirId: number, name: ByteString, seen: boolean): void {
    const known = this.known(dirId, name);
    if (known) known.seen = seen;
  }

  private visitFile(dirId: number, relDir: ByteString, name: ByteString, st: fs.Stats): void {
    const known = this.known(dirId, name);
    this.progress.filesFound++;
    this.progress.bytesFound += st.size;
    if (known) {
      known.seen = true;
      if (known.kind === 'file' && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ino === st.ino && known.dev === st.dev) {
        this.summary.unchangedFiles++;
        return;
      }
    }
    this.progress.filesToHash++;
    this.progress.bytesToHash += st.size;
    const job = this.hashWithRetries(dirId, relDir, name, st.size, known, 0).finally(() => this.inFlight.delete(job));
    this.inFlight.add(job);
  }

  private async hashWithRetries(dirId: number, relDir: ByteString, name: ByteString, size: number, known: KnownFile | undefined, attempt: number): Promise<void> {
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    const reply: HashReply = await this.pool.hash(toBuffer(this.abs(rel)), size);
    if (!reply.ok) {
      if (reply.code === 'ENOENT') {
        this.issue(rel, 'vanished', `${displayPath(this.abs(rel))} was deleted during the scan`);
        if (known) known.seen = false;
      } else if (reply.code === 'ELOOP') {
        // Replaced by a symlink between lstat and open: picked up as a symlink next scan.
        this.issue(rel, 'changing', `${displayPath(this.abs(rel))} changed type during the scan; skipped until the next scan`);
      } else {
        this.issue(rel, 'unreadable', `cannot read ${displayPath(this.abs(rel))} (${reply.code}); skipped. Fix its permissions and scan again.`);
      }
      return;
    }
    const { before, after } = reply;
    const stable = before.size === after.size && before.mtimeMs === after.mtimeMs && reply.bytesRead === after.size;
    if (!stable) {
      if (attempt < CHANGE_RETRIES) return this.hashWithRetries(dirId, relDir, name, after.size, known, attempt + 1);
      this.issue(rel, 'changing', `${displayPath(this.abs(rel))} kept changing while being read; skipped until the next scan`);
      return;
    }
    this.progress.filesHashed++;
    this.progress.bytesHashed += reply.bytesRead - reply.reported;
    this.summary.filesHashed++;
    this.summary.bytesHashed += reply.bytesRead;
    this.opts.onProgress?.(this.progress);
    const sha = Buffer.from(reply.sha256);
    if (known && known.kind === 'file' && known.size === after.size && this.store.sha256Of(known.id)?.equals(sha)) {
      this.summary.touchedFiles++;
      this.ops.push(() => this.store.updateStat(known.id, after.mtimeMs, after.ino, after.dev));
    } else {
      this.recordVersion(known, { dirId, name, kind: 'file', size: after.size, mtimeMs: after.mtimeMs, ino: after.ino, dev: after.dev, sha256: sha, linkTarget: null });
    }
    this.maybeFlush();
  }

  /** Symlinks are recorded with their target and never followed (so never out of the root). */
  private visitSymlink(dirId: number, relDir: ByteString, name: ByteString, st: fs.Stats): void {
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    let target: ByteString;
    try {
      target = fromBuffer(fs.readlinkSync(toBuffer(this.abs(rel)), { encoding: 'buffer' }));
    } catch (err) {
      this.issue(rel, 'unreadable', `cannot read symlink ${displayPath(this.abs(rel))}: ${(err as Error).message}`);
      this.markSeen(dirId, name, true);
      return;
    }
    const known = this.known(dirId, name);
    if (known) {
      known.seen = true;
      if (known.kind === 'symlink' && this.store.linkTargetOf(known.id) === target) {
        this.summary.unchangedFiles++;
        return;
      }
    }
    this.summary.symlinks++;
    this.recordVersion(known, { dirId, name, kind: 'symlink', size: target.length, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, sha256: null, linkTarget: target });
  }

  /** Queues a new current version of a path; the previous one (if any) becomes 'superseded'. */
  private recordVersion(known: KnownFile | undefined, version: NewVersion): void {
    if (known) this.summary.changedFiles++;
    else this.summary.newFiles++;
    this.ops.push(() => {
      const now = Date.now();
      if (known) this.store.endVersion(known.id, 'superseded', now);
      this.store.addVersion(version, now);
    });
  }

  private maybeFlush(): void {
    if (this.ops.length >= BATCH_OPS || (this.ops.length > 0 && performance.now() - this.lastFlush >= BATCH_MS)) this.flush();
  }

  /** Commits pending writes as one transaction. */
  private flush(): void {
    this.lastFlush = performance.now();
    if (this.ops.length === 0) return;
    const ops = this.ops;
    this.ops = [];
    this.store.transaction(() => {
      for (const op of ops) op();
    });
  }

  private isUnderUnreadable(key: ByteString): boolean {
    return this.unreadable.some((u) => u === '' || key === u || key.startsWith(u + '/'));
  }

  /** Files and folders not seen in a complete walk are marked deleted (kept in the catalog). */
  private recordDeletions(): void {
    const now = Date.now();
    const relOfDir = new Map<number, ByteString>();
    for (const [rel, d] of this.dirs) relOfDir.set(d.id, rel);
    this.store.transaction(() => {
      for (const [dirId, names] of this.files) {
        const rel = relOfDir.get(dirId) ?? '';
        for (const [name, f] of names) {
          if (f.seen || this.isUnderUnreadable(rel === '' ? name : `${rel}/${name}`)) continue;
          this.store.endVersion(f.id, 'deleted', now);
          this.summary.deletedFiles++;
        }
      }
      for (const [rel, d] of this.dirs) {
        if (d.seen || d.deleted || this.isUnderUnreadable(rel)) continue;
        this.store.markDirDeleted(d.id, now);
      }
      this.store.finishRoot(this.rootId);
    });
  }

  private async abort(): Promise<never> {
    // Keep what is already hashed: wait for in-flight work, commit it, then stop.
    this.pool.flush();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    this.flush();
    throw new ScanAborted('scan interrupted; completed work is saved, run the same scan again to finish');
  }
}
