import type { Db } from '../catalog/db.js';
import { clearPending } from './pending.js';
import type { KdfParams } from '../crypto/keys.js';
import { LEAF_SIZE, type ObjectKind } from './format.js';
import type { ObjectRecord } from './writer.js';

/** Catalog rows for site keys, objects and chunks (migration 0020). */

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

/** Records an object and all its chunks in one transaction (no longer pending); returns the object's row id. */
export function saveObject(db: Db, rec: ObjectRecord, links: ObjectLinks = {}): number {
  const insObj = db.prepare(
    `INSERT INTO objects (object_id, kind, volume_id, file_id, format_version, message_size, chunk_plain, leaf_size,
       plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insChunk = db.prepare('INSERT INTO chunks (object_row, idx, size, sha256, merkle_root) VALUES (?, ?, ?, ?, ?)');
  return db.transaction(() => {
    const row = Number(
      insObj.run(rec.objectId, rec.kind, links.volumeId ?? null, links.fileId ?? null, rec.formatVersion, rec.messageSize, rec.chunkPlain, LEAF_SIZE,
        rec.plainSize, rec.plainSha256, rec.cipherSize, rec.cipherSha256, rec.chunks.length, Date.now()).lastInsertRowid,
    );
    for (const c of rec.chunks) insChunk.run(row, c.index, c.size, c.sha256, c.merkleRoot);
    clearPending(db, rec.objectId);
    return row;
  })();
}

interface ObjectRow {
  id: number;
  object_id: Buffer;
  kind: ObjectKind;
  format_version: number;
  message_size: number;
  chunk_plain: number;
  plain_size: number;
  plain_sha256: Buffer;
  cipher_size: number;
  cipher_sha256: Buffer;
  volume_id: number | null;
  file_id: number | null;
}

export interface StoredObject extends ObjectRecord {
  row: number;
  volumeId: number | null;
  fileId: number | null;
}

function toRecord(db: Db, r: ObjectRow): StoredObject {
  const chunks = (db.prepare('SELECT idx, size, sha256, merkle_root FROM chunks WHERE object_row = ? ORDER BY idx').all(r.id) as {
    idx: number;
    size: number;
    sha256: Buffer;
    merkle_root: Buffer;
  }[]).map((c) => ({ index: c.idx, size: c.size, sha256: c.sha256, merkleRoot: c.merkle_root }));
  return {
    row: r.id,
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
    chunks,
  };
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

export function objectById(db: Db, objectId: Buffer): StoredObject | null {
  const r = db.prepare('SELECT * FROM objects WHERE object_id = ?').get(objectId) as ObjectRow | undefined;
  return r ? toRecord(db, r) : null;
}
