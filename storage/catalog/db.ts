import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { allMigrations } from './migrations.js';
import { isLomobCatalog, lomobCatalogHint } from '../lomob/catalog.js';

export type Db = Database.Database;

/** The catalog cannot be used as it is; `exitCode`-aware callers map this to EXIT.CATALOG. */
export class CatalogError extends Error {
  override name = 'CatalogError';
}

export interface OpenOptions {
  /** Create the file if missing (default true). Read-only commands pass false. */
  create?: boolean;
  readonly?: boolean;
}

/**
 * Opens (and migrates) the SQLite catalog. WAL mode so that readers never block the scanner and a
 * killed process leaves only committed transactions behind; foreign keys on; NORMAL sync, which in
 * WAL mode is durable against process crashes (the power-loss window is the last transaction).
 */
export function openCatalog(file: string, opts: OpenOptions = {}): Db {
  const create = opts.create ?? true;
  if (!create && !fs.existsSync(file)) {
    throw new CatalogError(`no catalog at ${file}: run \`lomo-peer scan <dir>\` first, or pass --db <file>`);
  }
  // lomob's catalog has the same default name (lomob.db). Migrating it would clash with its tables and
  // even opening it in WAL mode would change its header: recognise it first and leave it untouched.
  if (fs.existsSync(file) && isLomobCatalog(file)) throw new CatalogError(lomobCatalogHint(file));
  // The folder and the file are for the site's owner alone (docs/security-model.md, "Local files").
  if (create) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  const isNew = create && !fs.existsSync(file);
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: !create });
    // Before the first write: SQLite creates the -wal and -shm files with the catalog's own mode.
    if (isNew) fs.chmodSync(file, 0o600);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // Deleted content (an erased invite secret) is overwritten with zeros, not left in free space.
    db.pragma('secure_delete = ON');
    if (!opts.readonly) matchSidecarModes(file);
  } catch (err) {
    throw new CatalogError(`cannot open catalog ${file}: ${(err as Error).message}`);
  }
  try {
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * A -wal or -shm file left by an older version (or a crash) keeps the mode it was created with;
 * SQLite reuses it as it is. Bring it down to the catalog's own mode when that is private.
 */
function matchSidecarModes(file: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) return; // a looser catalog is reported at start, not changed
  for (const f of [`${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o777) !== mode) fs.chmodSync(f, mode);
    } catch {
      // absent (created at the first write), or not ours to change: the start-up check reports it
    }
  }
}

/**
 * Runs `fn` atomically: in a transaction of its own, or as part of the caller's when one is open.
 * Unlike a nested better-sqlite3 transaction it opens no savepoint (two more statements per call,
 * which a log sync storing 100,000 entries paid 200,000 times): a failure inside is undone with the
 * caller's whole transaction. For writers whose callers never catch their errors and go on.
 */
export function atomically<T>(db: Db, fn: () => T): T {
  return db.inTransaction ? fn() : db.transaction(fn)();
}

/** WAL pages between automatic checkpoints while bulkWrites is on (80 MB of 4 KiB pages). */
export const BULK_WAL_PAGES = 20_000;

/**
 * For a long run of write transactions (a log sync storing 100,000 entries: 200 of them):
 * checkpoints every BULK_WAL_PAGES WAL pages instead of SQLite's 1,000, each of which copies pages
 * back into the catalog and fsyncs it. Random-key indexes make every transaction dirty pages all
 * over the catalog, so with small checkpoints the same pages were written back again and again
 * (a 100,000-entry accept took 9.6-9.8 s instead of 11.7-13.4 s wall, 0.3 s less system time).
 * Returns the function that ends it: the setting back, and one passive checkpoint (never waits for
 * readers). The WAL file keeps its size until a later truncation (scrubWal).
 */
export function bulkWrites(db: Db): () => void {
  const before = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  db.pragma(`wal_autocheckpoint = ${BULK_WAL_PAGES}`);
  return () => {
    if (!db.open) return;
    db.pragma(`wal_autocheckpoint = ${before}`);
    if (!db.inTransaction) db.pragma('wal_checkpoint(PASSIVE)');
  };
}

/**
 * Makes erased bytes leave the catalog's files. `secure_delete` zeroes them in the page that held
 * them, but the page's old versions stay in the WAL until a checkpoint copies the new one back and
 * the WAL is emptied: this does both (TRUNCATE), waiting up to the busy timeout for readers.
 * Inside a transaction (pairing consumes an invite and stores the peer in one) it runs on the next
 * turn of the event loop, when better-sqlite3's synchronous transaction has committed.
 * Returns false if it could not finish now (deferred, or a reader held an old snapshot); the next
 * erase tries again.
 */
export function scrubWal(db: Db): boolean {
  if (db.inTransaction) {
    setImmediate(() => {
      if (db.open && !db.inTransaction) checkpointTruncate(db);
    });
    return false;
  }
  return checkpointTruncate(db);
}

function checkpointTruncate(db: Db): boolean {
  if (db.readonly) return false;
  const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return r !== undefined && r.busy === 0;
}

/** Applies every registered migration that is not yet in the catalog, each in one transaction. */
export function migrate(db: Db, label = 'catalog'): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const known = allMigrations();
  const knownVersions = new Set(known.map((m) => m.version));
  const applied = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
  const unknown = applied.filter((v) => !knownVersions.has(v));
  if (unknown.length > 0) {
    const newest = Math.max(...applied);
    const ours = Math.max(0, ...knownVersions);
    throw new CatalogError(
      `${label} was written by a newer lomo-peer (schema version ${newest}; this program knows up to ${ours}). ` +
        'Upgrade lomo-peer to use it; the catalog was not changed.',
    );
  }
  const done = new Set(applied);
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of known) {
    if (done.has(m.version)) continue;
    // PRAGMA foreign_keys is a no-op inside a transaction: switch it around the migration's own.
    if (m.rebuildsTables) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.rebuildsTables) {
          const bad = db.pragma('foreign_key_check') as unknown[];
          if (bad.length > 0) throw new CatalogError(`${label}: migration ${m.version} would break ${bad.length} foreign key(s); the catalog was not changed`);
        }
        record.run(m.version, m.name, Date.now());
      })();
    } finally {
      if (m.rebuildsTables) db.pragma('foreign_keys = ON');
    }
  }
}

export function schemaVersion(db: Db): number {
  return (db.prepare('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck().get() as number) ?? 0;
}
