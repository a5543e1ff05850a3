import type { Db } from '../catalog/db.js';
import { deriveSiteKeysAsync, KDF_ALG, type SiteKeys } from '../crypto/keys.js';
import { loadSodium, type Sodium } from '../crypto/sodium.js';
import { LEAF_SIZE } from '../objects/format.js';
import { decodeBody, encodeBody, type SiteRecordBody } from './body.js';
import type { CatalogOp } from './catalog-ops.js';
import { emptyLog, verifyNext } from './chain.js';
import { openCatalogDelta } from './delta.js';
import { decodeEntry, KIND, type SiteLogEntry } from './entry.js';
import { SiteLogError } from './errors.js';
import { recoveryKey } from './recovery-key.js';
import type { SigningKey } from './sign.js';
import { siteIdOfKey } from './site-id.js';
import { acceptRemote, appendLocal } from './store.js';
import { dropDerived, rebuildDerived } from './derive.js';

/**
 * A site's catalog back from its own log after a total loss (issue 14, `recover`): the public
 * entries give its objects and chunks, the catalog deltas — opened with the passphrase's keys —
 * the images of every row it wrote (catalog-ops.ts). Replaying them in order and keeping each
 * row's last image gives back scan roots, folders, file versions, volumes and their extents,
 * objects and placements with their ids, so listings print what they printed before the loss.
 *
 * The images go through temporary tables first: a row's final image may differ from the order its
 * siblings were written in (a path's old version superseded after its new one was logged), and
 * the real tables' constraints (one current version per path, foreign keys) hold only for the end
 * state. Memory stays flat: entries are read one at a time.
 */
export interface RebuildResult {
  siteId: string;
  entries: number;
  roots: number;
  dirs: number;
  files: number;
  volumes: number;
  objects: number;
  placements: number;
}

export interface RebuildKeys {
  sodium: Sodium;
  keys: SiteKeys;
}

const TEMP = `
  CREATE TEMP TABLE r_roots (id INTEGER PRIMARY KEY, path BLOB, added_at INTEGER, last_scan_at INTEGER);
  CREATE TEMP TABLE r_dirs (id INTEGER PRIMARY KEY, root_id INTEGER, rel_path BLOB, mtime_ms REAL, deleted_at INTEGER);
  CREATE TEMP TABLE r_files (id INTEGER PRIMARY KEY, dir_id INTEGER, name BLOB, kind TEXT, size INTEGER, mtime_ms REAL, ino INTEGER, dev INTEGER,
    sha256 BLOB, link_target BLOB, status TEXT, first_seen_at INTEGER, ended_at INTEGER, volume_id INTEGER);
  CREATE TEMP TABLE r_volumes (id INTEGER PRIMARY KEY, name TEXT, size INTEGER, sha256 BLOB, status TEXT, region TEXT, bucket TEXT,
    files_count INTEGER, created_at INTEGER, local_path BLOB);
  CREATE TEMP TABLE r_volume_files (volume_id INTEGER, file_id INTEGER, iso_path BLOB, offset INTEGER, length INTEGER, PRIMARY KEY (volume_id, file_id));
  CREATE TEMP TABLE r_objects (id INTEGER PRIMARY KEY, object_id BLOB UNIQUE, kind TEXT, volume_id INTEGER, file_id INTEGER, plain_sha256 BLOB,
    leaf_size INTEGER, created_at INTEGER);
  CREATE TEMP TABLE r_sealed (object_id BLOB PRIMARY KEY, format_version INTEGER, message_size INTEGER, chunk_plain INTEGER, plain_size INTEGER,
    cipher_size INTEGER, cipher_sha256 BLOB, chunk_count INTEGER);
  CREATE TEMP TABLE r_chunks (object_id BLOB, idx INTEGER, size INTEGER, sha256 BLOB, merkle_root BLOB, PRIMARY KEY (object_id, idx));
  CREATE TEMP TABLE r_placements (id INTEGER PRIMARY KEY, volume_id INTEGER, file_id INTEGER, object_row INTEGER, chunk_idx INTEGER, tier_url TEXT,
    peer_site TEXT, key TEXT, remote_id TEXT, size INTEGER, sha256 BLOB, storage_class TEXT, region TEXT, created_at INTEGER, verified_at INTEGER,
    deleted_at INTEGER);
`;
const TEMP_TABLES = ['r_roots', 'r_dirs', 'r_files', 'r_volumes', 'r_volume_files', 'r_objects', 'r_sealed', 'r_chunks', 'r_placements'];

const bytes = (h: string | null | undefined): Buffer | null => (h === null || h === undefined ? null : Buffer.from(h, 'hex'));

/** True when the catalog holds nothing a rebuild would overwrite. */
function isEmpty(db: Db): boolean {
  const n = (sql: string) => db.prepare(sql).pluck().get() as number;
  // Objects and placements derived from the family's logs (a catalog that fetched them first, as
  // `recover` does) are not this site's: they are dropped and derived again after the rebuild.
  return (
    n('SELECT count(*) FROM site_keys') + n('SELECT count(*) FROM scan_roots') + n('SELECT count(*) FROM volumes') +
      n('SELECT count(*) FROM placements p WHERE NOT EXISTS (SELECT 1 FROM sitelog_derived_placements d WHERE d.placement_id = p.id)') === 0
  );
}

/**
 * The site record in force at the end of a log (the latest). Entries before the first one can only
 * be membership entries (a site that paired before `init`); any catalog entry needs a record first.
 */
function siteRecordOf(entries: Iterable<SiteLogEntry>): { origin: Buffer; record: SiteRecordBody; count: number } {
  let origin: Buffer | null = null;
  let record: SiteRecordBody | null = null;
  let count = 0;
  let state = null as ReturnType<typeof emptyLog> | null;
  for (const e of entries) {
    if (!origin) {
      origin = e.origin;
      state = emptyLog(origin);
    }
    state = verifyNext(state!, e); // chain, sequence, signatures: one log, whole, from its first entry
    count++;
    const b = decodeBody(e.kind, e.body);
    if (b.kind === 'siteRecord') record = b.body;
    else if (!record && b.kind !== 'membership') throw new SiteLogError('rule', `a ${b.kind} entry before the log's site record`, e.originId, e.seq);
  }
  if (!origin) throw new SiteLogError('rule', 'an empty log: nothing to recover from');
  if (!record) throw new SiteLogError('rule', 'the log has no site record: this site never ran `init`', siteIdOfKey(origin));
  return { origin, record, count };
}

/**
 * Recreates this site's tables from its own verified log (already stored, or about to be: the
 * entries are iterated once, in order) and the keys from its passphrase. The catalog must be empty
 * of library rows; it runs in one transaction with whatever the caller adds.
 */
export function rebuildCatalogFromLog(
  db: Db,
  entries: Iterable<SiteLogEntry>,
  k: RebuildKeys,
  site: { origin: Buffer; record: SiteRecordBody } = siteRecordOf(entries),
): RebuildResult {
  const siteId = siteIdOfKey(site.origin);
  return db.transaction(() => {
    db.exec(TEMP);
    try {
      const ins = {
        root: db.prepare('INSERT OR REPLACE INTO r_roots VALUES (?, ?, ?, ?)'),
        dir: db.prepare('INSERT OR REPLACE INTO r_dirs VALUES (?, ?, ?, ?, ?)'),
        file: db.prepare('INSERT OR REPLACE INTO r_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
        volume: db.prepare('INSERT OR REPLACE INTO r_volumes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
        extent: db.prepare('INSERT OR REPLACE INTO r_volume_files VALUES (?, ?, ?, ?, ?)'),
        object: db.prepare('INSERT OR REPLACE INTO r_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
        sealed: db.prepare('INSERT OR REPLACE INTO r_sealed VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
        chunk: db.prepare('INSERT OR REPLACE INTO r_chunks VALUES (?, ?, ?, ?, ?)'),
        placement: db.prepare('INSERT OR REPLACE INTO r_placements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      };
      let objectsUrl = '';
      let createdAt = 0;
      let count = 0;
      for (const e of entries) {
        count++;
        if (!e.origin.equals(site.origin)) throw new SiteLogError('rule', 'an entry of another log among the site\'s own', e.originId, e.seq);
        const b = decodeBody(e.kind, e.body);
        if (b.kind === 'objectSealed') {
          const o = b.body;
          ins.sealed.run(o.objectId, o.formatVersion, o.messageSize, o.chunkPlain, o.plainSize, o.cipherSize, o.cipherSha256, o.chunks.length);
          o.chunks.forEach((c, i) => ins.chunk.run(o.objectId, i, c.size, c.sha256, c.merkleRoot));
          continue;
        }
        if (b.kind !== 'catalogDelta') continue;
        for (const op of openCatalogDelta(k.sodium, k.keys, site.origin, b.body).ops as CatalogOp[]) {
          switch (op.op) {
            case 'site':
              objectsUrl = op.objectsUrl;
              createdAt = op.createdAt;
              break;
            case 'root':
              ins.root.run(op.id, bytes(op.path), op.addedAt, op.lastScanAt);
              break;
            case 'dir':
              ins.dir.run(op.id, op.root, bytes(op.relPath), op.mtimeMs, op.deletedAt);
              break;
            case 'file':
              ins.file.run(op.id, op.dir, bytes(op.name), op.kind, op.size, op.mtimeMs, op.ino, op.dev, bytes(op.sha256), bytes(op.linkTarget), op.status,
                op.firstSeenAt, op.endedAt, op.volume);
              break;
            case 'volume':
              ins.volume.run(op.id, op.name, op.size, bytes(op.sha256), op.status, op.region, op.bucket, op.filesCount, op.createdAt, bytes(op.localPath));
              for (const [fileId, isoPath, offset, length] of op.files ?? []) ins.extent.run(op.id, fileId, bytes(isoPath), offset, length);
              break;
            case 'object':
              ins.object.run(op.row, bytes(op.objectId), op.kind, op.volume, op.file, bytes(op.plainSha256), op.leafSize ?? LEAF_SIZE, op.createdAt);
              break;
            case 'placement':
              ins.placement.run(op.id, op.volume, op.file, op.objectRow, op.chunk, op.tierUrl, op.peerSite, op.key, op.remoteId, op.size, bytes(op.sha256),
                op.storageClass, op.region, op.createdAt, op.verifiedAt, op.deletedAt);
              break;
            default:
              break; // an op a later version writes: skipped (docs/sitelog-format.md 5.3)
          }
        }
      }
      writeSiteKeys(db, site, objectsUrl, createdAt);
      const run = (sql: string) => db.prepare(sql).run().changes;
      const result: RebuildResult = {
        siteId,
        entries: count,
        roots: run('INSERT INTO scan_roots (id, path, added_at, last_scan_at) SELECT id, path, added_at, last_scan_at FROM r_roots ORDER BY id'),
        dirs: run('INSERT INTO dirs (id, root_id, rel_path, mtime_ms, deleted_at) SELECT id, root_id, rel_path, mtime_ms, deleted_at FROM r_dirs ORDER BY id'),
        volumes: run(`INSERT INTO volumes (id, name, size, sha256, status, region, bucket, files_count, created_at, local_path)
                      SELECT id, name, size, sha256, status, region, bucket, files_count, created_at, local_path FROM r_volumes ORDER BY id`),
        files: run(`INSERT INTO files (id, dir_id, name, kind, size, mtime_ms, ino, dev, sha256, link_target, status, first_seen_at, ended_at, volume_id)
                    SELECT id, dir_id, name, kind, size, mtime_ms, ino, dev, sha256, link_target, status, first_seen_at, ended_at, volume_id FROM r_files ORDER BY id`),
        objects: 0,
        placements: 0,
      };
      run('INSERT INTO volume_files (volume_id, file_id, iso_path, offset, length) SELECT volume_id, file_id, iso_path, offset, length FROM r_volume_files');
      // An object needs both halves: the public entry (sizes, chunks) and its private links.
      result.objects = db
        .prepare(
          `INSERT INTO objects (id, owner_site, object_id, kind, volume_id, file_id, format_version, message_size, chunk_plain, leaf_size,
             plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at)
           SELECT o.id, ?, o.object_id, o.kind, o.volume_id, o.file_id, s.format_version, s.message_size, s.chunk_plain, o.leaf_size,
             s.plain_size, o.plain_sha256, s.cipher_size, s.cipher_sha256, s.chunk_count, o.created_at
             FROM r_objects o JOIN r_sealed s ON s.object_id = o.object_id ORDER BY o.id`,
        )
        .run(siteId).changes;
      db.prepare(`INSERT INTO chunks (object_row, idx, size, sha256, merkle_root)
                  SELECT o.id, c.idx, c.size, c.sha256, c.merkle_root FROM r_chunks c JOIN objects o ON o.object_id = c.object_id AND o.owner_site = ?`).run(siteId);
      result.placements = run(`INSERT INTO placements (id, volume_id, file_id, object_row, chunk_idx, tier_url, peer_site, key, remote_id, size, sha256,
                                 storage_class, region, created_at, verified_at, deleted_at)
                               SELECT * FROM r_placements ORDER BY id`);
      return result;
    } finally {
      for (const t of TEMP_TABLES) db.exec(`DROP TABLE IF EXISTS temp.${t}`);
    }
  })();
}

export interface RecoverOptions {
  /**
   * The site's own log, in order from its first entry (as fetched from the family). Iterated
   * twice (verify, then store), one entry at a time: an array, or a re-iterable reader of a large log.
   */
  entries: Iterable<Buffer | SiteLogEntry>;
  passphrase: string;
  sodium?: Sodium;
  /**
   * The new machine's identity: when given, a succession entry signed by the recovery key names it
   * as the log's signer from now on (docs/sitelog-format.md 5.6), and this catalog's writer uses it.
   */
  successor?: SigningKey;
}

export interface RecoverResult extends RebuildResult {
  origin: Buffer;
  /** The succession entry appended, if a successor was named. */
  successionSeq: number | null;
}

/** The stored entries of one log, oldest first, a page at a time. */
export function* storedEntries(db: Db, origin: Buffer): Generator<SiteLogEntry> {
  const page = db.prepare('SELECT seq, bytes FROM sitelog_entries WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 32');
  for (let after = 0; ; ) {
    const rows = page.all(origin, after) as { seq: number; bytes: Buffer }[];
    if (!rows.length) return;
    for (const r of rows) yield decodeEntry(r.bytes);
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * What `lomo-peer recover` runs once it has the site's log: verify the whole log (chain and
 * signatures), turn the passphrase into keys with the KDF parameters of its site record and check
 * them against its key check — a wrong passphrase throws WrongPassphraseError and writes nothing —
 * then, in one transaction, store the log, recreate the catalog from it, keep the delta key so the
 * site's log goes on, and append the succession to the new identity if one is given.
 */
export async function recoverSite(db: Db, o: RecoverOptions): Promise<RecoverResult> {
  const each = function* () {
    for (const x of o.entries) yield Buffer.isBuffer(x) ? decodeEntry(x) : x;
  };
  // The passphrase is checked against the log's first site record before anything is
  // written; the chain and every signature are checked as the entries are stored, in the same
  // transaction as the rebuild, so a bad entry anywhere leaves the catalog as it was.
  const site = firstSiteRecord(each());
  const sodium = o.sodium ?? (await loadSodium());
  const keys = await deriveSiteKeysAsync(sodium, o.passphrase, { alg: KDF_ALG, opslimit: site.record.opslimit, memlimit: site.record.memlimit, salt: site.record.salt });
  keys.verify(site.record.keyCheck);
  if (!isEmpty(db)) throw new SiteLogError('rule', 'recover needs an empty catalog: this one already holds a site or library rows');
  // The rebuild's temporary tables hold every row image once: on disk, not in this process's memory.
  const tempStore = db.pragma('temp_store', { simple: true });
  db.pragma('temp_store = FILE');
  try {
    return recoverInOneTransaction(db, o, each, site, sodium, keys);
  } finally {
    db.pragma(`temp_store = ${Number(tempStore)}`);
  }
}

function recoverInOneTransaction(
  db: Db,
  o: RecoverOptions,
  each: () => Generator<SiteLogEntry>,
  site: { origin: Buffer; record: SiteRecordBody },
  sodium: Sodium,
  keys: SiteKeys,
): RecoverResult {
  return db.transaction(() => {
    // Rows derived from the family's logs fetched before (the household's own objects among them)
    // make way for the household's rows, which come back with their old ids.
    dropDerived(db, null);
    // The site's keys first, so that deriving from the stored log treats its objects as this site's own.
    writeSiteKeys(db, site, '', 0);
    const result = rebuildCatalogFromLog(db, accepted(db, each()), { sodium, keys }, site);
    // Facts stored before the objects they name existed here (peers holding this site's chunks) apply now.
    rebuildDerived(db);
    // This catalog's own log is the household's from now on, also when the new machine already
    // signed entries of its own (`recover` pairs with the inviter first: that paired entry stays
    // in the new machine's short log, which the family keeps like any member's).
    db.prepare('INSERT INTO sitelog_local (id, origin, delta_key, started_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET origin = excluded.origin, delta_key = excluded.delta_key, started_at = excluded.started_at').run(site.origin, Buffer.from(keys.catalogDeltaKey), Date.now());
    let successionSeq: number | null = null;
    if (o.successor) {
      const { kind, body } = encodeBody({ kind: 'succession', body: { newKey: o.successor.publicKey } });
      successionSeq = appendLocal(db, { origin: site.origin, signing: o.successor, recovery: recoveryKey(keys) }, kind, body).seq;
    }
    return { ...result, origin: site.origin, successionSeq };
  })();
}

/** One pass over the log: each page is verified and stored (acceptRemote) before the rebuild reads it. */
function* accepted(db: Db, entries: Iterable<SiteLogEntry>): Generator<SiteLogEntry> {
  let page: SiteLogEntry[] = [];
  for (const e of entries) {
    page.push(e);
    if (page.length === 64) {
      acceptRemote(db, page);
      yield* page;
      page = [];
    }
  }
  if (page.length) acceptRemote(db, page);
  yield* page;
}

/**
 * The log's first site record, its entries up to it verified. Before it a log may hold membership
 * entries only: a site that paired before `init` signed those with its node key already.
 */
function firstSiteRecord(entries: Iterator<SiteLogEntry>): { origin: Buffer; record: SiteRecordBody } {
  let state: ReturnType<typeof emptyLog> | null = null;
  for (let next = entries.next(); !next.done; next = entries.next()) {
    const e = next.value;
    state = verifyNext(state ?? emptyLog(e.origin), e);
    const b = decodeBody(e.kind, e.body);
    if (b.kind === 'siteRecord') return { origin: e.origin, record: b.body };
    if (b.kind !== 'membership') throw new SiteLogError('rule', `a ${b.kind} entry before the log's site record`, e.originId, e.seq);
  }
  if (!state) throw new SiteLogError('rule', 'an empty log: nothing to recover from');
  throw new SiteLogError('rule', 'the log has no site record: this site never ran `init`', siteIdOfKey(state.origin));
}

function writeSiteKeys(db: Db, site: { origin: Buffer; record: SiteRecordBody }, objectsUrl: string, createdAt: number): void {
  const r = site.record;
  db.prepare(
    `INSERT INTO site_keys (id, site_id, format_version, kdf, opslimit, memlimit, salt, key_check, objects_url, created_at)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET objects_url = excluded.objects_url, created_at = excluded.created_at`,
  ).run(siteIdOfKey(site.origin), r.formatVersion, KDF_ALG, r.opslimit, r.memlimit, r.salt, r.keyCheck, objectsUrl, createdAt);
}

/**
 * Which household of the logs this catalog holds a passphrase opens (`lomo-peer recover` without
 * `--site`): the log whose first site record has the key check that the passphrase's
 * keys reproduce. One Argon2id run per candidate log (a family has a handful), oldest first by
 * site id so the answer does not depend on arrival order. `exclude`: sites known not to be the
 * lost one (this machine, the inviter). Null: no log matches (a wrong passphrase, or the lost
 * site's log was not found).
 */
export async function findSiteByPassphrase(db: Db, passphrase: string, o: { exclude?: readonly string[]; sodium?: Sodium } = {}): Promise<Buffer | null> {
  const candidates = db.prepare('SELECT origin, site_id FROM sitelog_heads ORDER BY site_id').all() as { origin: Buffer; site_id: string }[];
  const sodium = o.sodium ?? (await loadSodium());
  for (const c of candidates) {
    if (o.exclude?.includes(c.site_id)) continue;
    // The first site record, not always entry 1: a site that paired before `init` logged that first.
    const first = db.prepare('SELECT bytes FROM sitelog_entries WHERE origin = ? AND kind = ? ORDER BY seq LIMIT 1').pluck().get(c.origin, KIND.siteRecord) as Buffer | undefined;
    if (!first) continue;
    const e = decodeEntry(first);
    const b = decodeBody(e.kind, e.body);
    if (b.kind !== 'siteRecord') continue;
    const r = b.body;
    const keys = await deriveSiteKeysAsync(sodium, passphrase, { alg: KDF_ALG, opslimit: r.opslimit, memlimit: r.memlimit, salt: r.salt });
    try {
      keys.verify(r.keyCheck);
      return c.origin;
    } catch {
      // not this household's passphrase
    }
  }
  return null;
}

/** Logs this catalog holds other than those of `exclude` (what `recover` could have matched). */
export function otherLogCount(db: Db, exclude: readonly string[]): number {
  const ids = db.prepare('SELECT site_id FROM sitelog_heads').pluck().all() as string[];
  return ids.filter((id) => !exclude.includes(id)).length;
}

/** True when this catalog holds (the start of) a log. */
export function holdsLog(db: Db, origin: Buffer): boolean {
  return db.prepare('SELECT 1 FROM sitelog_heads WHERE origin = ?').get(origin) !== undefined;
}

/** Where this site's encrypted objects live (its init's --objects-dir), '' before init. */
export function objectsUrlOf(db: Db): string {
  return (db.prepare('SELECT objects_url FROM site_keys WHERE id = 1').pluck().get() as string | undefined) ?? '';
}
