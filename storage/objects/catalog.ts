import { atomically, type Db } from '../catalog/db.js';
import { clearPending } from './pending.js';
import type { KdfParams } from '../crypto/keys.js';
import { LEAF_SIZE, type ObjectKind } from './format.js';
import type { ChunkRecord, ObjectRecord } from './writer.js';
import { isSiteId } from '../naming/object-keys.js';
import { logObjectSealed } from '../sitelog/local-log.js';
import { stmt } from '../sitelog/stmts.js';

/**
 * Catalog rows for site keys, objects and chunks (migrations 20 and 22). Every object names its
 * owning site; this site's objects (saveObject) carry its own site id from site_keys, other
 * households' objects (saveFamilyObject) only what their owner's public log says.
 */

export interface SiteKeyRow {
  siteId: string;
  formatVersion: number;
  kdf: KdfParams;
  keyCheck: Buffer;
  objectsUrl: string;
  createdAt: number;
}

export function loadSiteKeys(db: Db): SiteKeyRow | null {
  const r = db.prepare('SELECT * FROM site_keys WHERE id = 1').get() as
    | { site_id: string; format_version: number; kdf: string; opslimit: number; memlimit: number; salt: Buffer; key_check: Buffer; objects_url: string; created_at: number }
    | undefined;
  if (!r) return null;
  return {
    siteId: r.site_id,
    formatVersion: r.format_version,
    kdf: { alg: r.kdf as KdfParams['alg'], opslimit: r.opslimit, memlimit: r.memlimit, salt: r.salt },
    keyCheck: r.key_check,
    objectsUrl: r.objects_url,
    createdAt: r.created_at,
  };
}

export function saveSiteKeys(db: Db, s: SiteKeyRow): void {
  db.prepare(
    `INSERT INTO site_keys (id, site_id, format_version, kdf, opslimit, memlimit, salt, key_check, objects_url, created_at)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(s.siteId, s.formatVersion, s.kdf.alg, s.kdf.opslimit, s.kdf.memlimit, Buffer.from(s.kdf.salt), s.keyCheck, s.objectsUrl, s.createdAt);
}

export interface ObjectLinks {
  volumeId?: number | null;
  fileId?: number | null;
}

/** This site's id (its libp2p peer id), the owner of every object it writes; null before `init`. */
export function localSiteId(db: Db): string | null {
  return (stmt(db, 'SELECT site_id FROM site_keys WHERE id = 1').pluck().get() as string | undefined) ?? null;
}

function insertObject(db: Db, owner: string, rec: PublicObjectRecord & { plainSha256: Buffer | null }, links: ObjectLinks): number {
  const row = Number(
    stmt(
      db,
      `INSERT INTO objects (owner_site, object_id, kind, volume_id, file_id, format_version, message_size, chunk_plain, leaf_size,
           plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(owner, rec.objectId, rec.kind, links.volumeId ?? null, links.fileId ?? null, rec.formatVersion, rec.messageSize, rec.chunkPlain, LEAF_SIZE,
        rec.plainSize, rec.plainSha256, rec.cipherSize, rec.cipherSha256, rec.chunks.length, Date.now()).lastInsertRowid,
  );
  const insChunk = stmt(db, 'INSERT INTO chunks (object_row, idx, size, sha256, merkle_root) VALUES (?, ?, ?, ?, ?)');
  for (const c of rec.chunks) insChunk.run(row, c.index, c.size, c.sha256, c.merkleRoot);
  return row;
}

/**
 * Records one of this site's objects and all its chunks in one transaction (no longer pending);
 * returns the object's row id. The owner is this site (site_keys, written by `init`).
 */
export function saveObject(db: Db, rec: ObjectRecord, links: ObjectLinks = {}): number {
  return db.transaction(() => {
    const owner = localSiteId(db);
    if (owner === null) throw new Error('this catalog has no site keys: run `lomo-peer init` before writing objects');
    const row = insertObject(db, owner, rec, links);
    clearPending(db, rec.objectId);
    logObjectSealed(db, row); // the object-sealed entry and its private half, with the rows
    return row;
  })();
}

/** What another site's public log tells about one of its objects: everything but the plaintext hash. */
export type PublicObjectRecord = Omit<ObjectRecord, 'plainSha256'>;

/**
 * Records another household's object (from its public log) with its chunks, so that this site can
 * hold, upload or check it. Idempotent: a log replayed records nothing new, but the same (owner,
 * object id) with different ciphertext is refused. Returns the object's row id.
 */
export function saveFamilyObject(db: Db, ownerSiteId: string, rec: PublicObjectRecord): number {
  if (!isSiteId(ownerSiteId)) throw new Error(`not a site id: ${JSON.stringify(ownerSiteId.slice(0, 140))}`);
  return atomically(db, () => {
    if (ownerSiteId === localSiteId(db)) throw new Error('saveFamilyObject records other sites\' objects; this site\'s own go through saveObject');
    const have = stmt(db, 'SELECT id, cipher_sha256, chunk_count FROM objects WHERE owner_site = ? AND object_id = ?').get(ownerSiteId, rec.objectId) as
      | { id: number; cipher_sha256: Buffer; chunk_count: number }
      | undefined;
    if (have) {
      if (!have.cipher_sha256.equals(rec.cipherSha256) || have.chunk_count !== rec.chunks.length) {
        throw new Error(`object ${rec.objectId.toString('hex')} of ${ownerSiteId} is already recorded with other contents`);
      }
      return have.id;
    }
    return insertObject(db, ownerSiteId, { ...rec, plainSha256: null }, {});
  });
}

interface ObjectRow {
  id: number;
  owner_site: string;
  object_id: Buffer;
  kind: ObjectKind;
  format_version: number;
  message_size: number;
  chunk_plain: number;
  plain_size: number;
  plain_sha256: Buffer | null;
  cipher_size: number;
  cipher_sha256: Buffer;
  volume_id: number | null;
  file_id: number | null;
}

/** An object of any site, as recorded here: the plaintext hash only for this site's own. */
export interface FamilyObject extends PublicObjectRecord {
  row: number;
  ownerSite: string;
  plainSha256: Buffer | null;
  volumeId: number | null;
  fileId: number | null;
}

/** One of this site's objects (its plaintext hash is known). */
export interface StoredObject extends ObjectRecord {
  row: number;
  ownerSite: string;
  volumeId: number | null;
  fileId: number | null;
}

function chunksOf(db: Db, row: number): ChunkRecord[] {
  return (stmt(db, 'SELECT idx, size, sha256, merkle_root FROM chunks WHERE object_row = ? ORDER BY idx').all(row) as {
    idx: number;
    size: number;
    sha256: Buffer;
    merkle_root: Buffer;
  }[]).map((c) => ({ index: c.idx, size: c.size, sha256: c.sha256, merkleRoot: c.merkle_root }));
}

function toFamilyObject(db: Db, r: ObjectRow): FamilyObject {
  return {
    row: r.id,
    ownerSite: r.owner_site,
    volumeId: r.volume_id,
    fileId: r.file_id,
    objectId: r.object_id,
    kind: r.kind,
    formatVersion: r.format_version,
    messageSize: r.message_size,
    chunkPlain: r.chunk_plain,
    plainSize: r.plain_size,
    plainSha256: r.plain_sha256,
    cipherSize: r.cipher_size,
    cipherSha256: r.cipher_sha256,
    chunks: chunksOf(db, r.id),
  };
}

/** Rows read by the local-object queries below always have a plaintext hash (only other sites' lack one). */
function toRecord(db: Db, r: ObjectRow): StoredObject {
  if (r.plain_sha256 === null) throw new Error(`object ${r.object_id.toString('hex')} of ${r.owner_site} is not this site's`);
  return { ...toFamilyObject(db, r), plainSha256: r.plain_sha256 };
}

/** The newest object of `kind` linked to a volume (the volume itself, or its manifest). */
export function objectForVolume(db: Db, volumeId: number, kind: 'volume' | 'manifest' = 'volume'): StoredObject | null {
  const r = db.prepare('SELECT * FROM objects WHERE volume_id = ? AND kind = ? ORDER BY id DESC LIMIT 1').get(volumeId, kind) as ObjectRow | undefined;
  return r ? toRecord(db, r) : null;
}

/** The newest staging object of a library file version. */
export function objectForFile(db: Db, fileId: number): StoredObject | null {
  const r = db.prepare("SELECT * FROM objects WHERE file_id = ? AND kind = 'file' ORDER BY id DESC LIMIT 1").get(fileId) as ObjectRow | undefined;
  return r ? toRecord(db, r) : null;
}

/** This site's object with that id (another site's object may carry the same random id). */
export function objectById(db: Db, objectId: Buffer): StoredObject | null {
  const r = db
    .prepare('SELECT * FROM objects WHERE object_id = ? AND owner_site = (SELECT site_id FROM site_keys WHERE id = 1)')
    .get(objectId) as ObjectRow | undefined;
  return r ? toRecord(db, r) : null;
}

/** The object `objectId` of site `ownerSiteId` (this site's or another's), if recorded here. */
export function familyObject(db: Db, ownerSiteId: string, objectId: Buffer): FamilyObject | null {
  const r = stmt(db, 'SELECT * FROM objects WHERE owner_site = ? AND object_id = ?').get(ownerSiteId, objectId) as ObjectRow | undefined;
  return r ? toFamilyObject(db, r) : null;
}

/** Every object of one site recorded here, oldest first. */
export function objectsByOwner(db: Db, ownerSiteId: string): FamilyObject[] {
  return (db.prepare('SELECT * FROM objects WHERE owner_site = ? ORDER BY id').all(ownerSiteId) as ObjectRow[]).map((r) => toFamilyObject(db, r));
}

/** The sites whose objects this catalog records, with how many of each (this site's included). */
export function objectOwners(db: Db): { siteId: string; objects: number }[] {
  return db.prepare('SELECT owner_site AS siteId, count(*) AS objects FROM objects GROUP BY owner_site ORDER BY owner_site').all() as { siteId: string; objects: number }[];
}
