import type { Db } from '../catalog/db.js';
import type { KdfParams, SiteKeys } from '../crypto/keys.js';
import type { Sodium } from '../crypto/sodium.js';
import type { ObjectKind } from '../objects/format.js';
import { MAX_CHUNKS } from './body.js';
import { rowOps, type CatalogOp, type RowSet } from './catalog-ops.js';
import { sealCatalogDelta } from './delta.js';
import { recoveryKey } from './recovery-key.js';
import { keyOfSiteId } from './site-id.js';
import type { SigningKey } from './sign.js';
import { appendBody, type LocalLogKeys } from './store.js';

/**
 * This site's log writer: what every command that changes the catalog uses to append, in the same
 * transaction as its rows, the entries that describe them (docs/sitelog-format.md 5, "this site's
 * entries"). The log starts at `init` (startLocalLog: a site record, then a snapshot of what was
 * scanned before); from then on a catalog write without the writer attached is refused, so the
 * tables and the log cannot drift apart. Before `init` nothing is logged.
 *
 * The writer needs the site's signing key (its identity, handed over as a raw seed by node/) and
 * the catalog-delta key, which `init` stores in `sitelog_local` (migration 65) so that commands
 * without the passphrase (scan) can seal deltas too.
 */
export interface LocalLog {
  keys: LocalLogKeys;
  sodium: Sodium;
  deltaKey: { catalogDeltaKey: Uint8Array };
}

const writers = new WeakMap<Db, LocalLog>();

/** The stored writer state: null until `init` started the log. */
export function localLogState(db: Db): { origin: Buffer; deltaKey: Buffer } | null {
  // The row may exist without a delta key: a site that paired before `init` already signs
  // membership entries in its log (migration 63), but it logs catalog changes only from init on.
  const r = db.prepare('SELECT origin, delta_key FROM sitelog_local WHERE id = 1').get() as { origin: Buffer; delta_key: Buffer | null } | undefined;
  return r?.delta_key ? { origin: r.origin, deltaKey: r.delta_key } : null;
}

/**
 * Opens the writer of this catalog with the identity that signs the log now (the origin's key, or
 * a successor's). Returns false when the site has no log yet (before init). A key that is not the
 * log's signer fails at the first append, with the same check a peer makes.
 */
export function attachLocalLog(db: Db, sodium: Sodium, signing: SigningKey): boolean {
  const s = localLogState(db);
  if (!s) return false;
  writers.set(db, { keys: { origin: s.origin, signing }, sodium, deltaKey: { catalogDeltaKey: s.deltaKey } });
  return true;
}

export function detachLocalLog(db: Db): void {
  writers.delete(db);
}

/** The writer, or null before init; throws when the log started but no writer was attached. */
export function localLog(db: Db): LocalLog | null {
  const w = writers.get(db);
  if (w) return w;
  if (localLogState(db)) {
    throw new Error('this site keeps a signed log, but this command did not open it (its identity key); nothing was changed');
  }
  return null;
}

/** Payload budget per delta entry: well under the 1 MiB entry limit once padded and sealed. */
const DELTA_PAYLOAD_BYTES = 512 * 1024;

/** Appends `ops` as one catalog delta (several when they exceed the budget). */
export function appendDelta(db: Db, w: LocalLog, ops: CatalogOp[]): void {
  let group: CatalogOp[] = [];
  let size = 0;
  const flush = () => {
    if (!group.length) return;
    const body = sealCatalogDelta(w.sodium, w.deltaKey, w.keys.origin, { v: 1, ops: group });
    appendBody(db, w.keys, { kind: 'catalogDelta', body });
    group = [];
    size = 0;
  };
  for (const op of ops) {
    const n = JSON.stringify(op).length + 1;
    if (size + n > DELTA_PAYLOAD_BYTES) flush();
    group.push(op);
    size += n;
  }
  flush();
}

/** Logs the current images of these rows (a no-op before init). Call inside the writing transaction. */
export function logRows(db: Db, rows: RowSet): void {
  const w = localLog(db);
  if (!w) return;
  const ops = rowOps(db, rows);
  if (ops.length) appendDelta(db, w, ops);
}

/**
 * Logs one of this site's objects: its public object-sealed entry, then its private half (links,
 * plaintext hash) in a delta. Call inside the transaction that writes the object's rows.
 */
export function logObjectSealed(db: Db, objectRow: number): void {
  const w = localLog(db);
  if (!w) return;
  appendObject(db, w, objectRow);
  appendDelta(db, w, rowOps(db, { objects: [objectRow] }));
}

function appendObject(db: Db, w: LocalLog, objectRow: number): void {
  const o = db.prepare('SELECT * FROM objects WHERE id = ?').get(objectRow) as {
    object_id: Buffer; kind: ObjectKind; format_version: number; message_size: number; chunk_plain: number;
    plain_size: number; cipher_size: number; cipher_sha256: Buffer;
  };
  const chunks = db.prepare('SELECT size, sha256, merkle_root FROM chunks WHERE object_row = ? ORDER BY idx').all(objectRow) as { size: number; sha256: Buffer; merkle_root: Buffer }[];
  if (chunks.length > MAX_CHUNKS) throw new Error(`object ${o.object_id.toString('hex')} has ${chunks.length} chunks; a log entry holds ${MAX_CHUNKS}`);
  appendBody(db, w.keys, {
    kind: 'objectSealed',
    body: {
      objectId: o.object_id, objectKind: o.kind, formatVersion: o.format_version, messageSize: o.message_size, chunkPlain: o.chunk_plain,
      plainSize: o.plain_size, cipherSize: o.cipher_size, cipherSha256: o.cipher_sha256,
      chunks: chunks.map((c) => ({ size: c.size, sha256: c.sha256, merkleRoot: c.merkle_root })),
    },
  });
}

/**
 * A placement of this site's copy: the public placement entry when the copy is an encrypted object
 * — its holder a tier (recordPlacement) or another household (storage/replication, after the
 * holder acknowledged every chunk) — and the row's private image (tier key, remote id, storage
 * class) in a delta. Plain `--no-encrypt` copies have no object: the delta only.
 */
export function logPlacement(db: Db, placementId: number): void {
  const w = localLog(db);
  if (!w) return;
  const p = db
    .prepare('SELECT p.tier_url, p.peer_site, p.chunk_idx, p.verified_at, p.deleted_at, o.object_id FROM placements p LEFT JOIN objects o ON o.id = p.object_row WHERE p.id = ?')
    .get(placementId) as { tier_url: string | null; peer_site: string | null; chunk_idx: number | null; verified_at: number; deleted_at: number | null; object_id: Buffer | null } | undefined;
  if (!p) return;
  const holder = p.tier_url ? { tierUrl: p.tier_url } : p.peer_site ? { site: keyOfSiteId(p.peer_site) } : null;
  if (p.object_id && holder) {
    appendBody(db, w.keys, {
      kind: 'placement',
      body: {
        owner: w.keys.origin, objectId: p.object_id, chunkIndex: p.chunk_idx, holder,
        state: p.deleted_at === null ? 'held' : 'gone', verifiedAt: p.deleted_at ?? p.verified_at,
      },
    });
  }
  appendDelta(db, w, rowOps(db, { placements: [placementId] }));
}

export interface StartLog {
  sodium: Sodium;
  keys: SiteKeys;
  kdf: KdfParams;
  formatVersion: number;
  /** The site's identity key: the log's origin and first signer. */
  signing: SigningKey;
}

const PAGE = 2000;

/**
 * Starts this site's log (init): the site record, then one snapshot of the catalog as it is —
 * what `scan` recorded before the site existed, and anything an older release wrote — so the log
 * alone rebuilds the catalog. One transaction with the caller's rows (site_keys).
 */
export function startLocalLog(db: Db, s: StartLog): LocalLog {
  return db.transaction(() => {
    if (localLogState(db)) throw new Error('this site already keeps a log');
    db.prepare('INSERT INTO sitelog_local (id, origin, delta_key, started_at) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET delta_key = excluded.delta_key, started_at = excluded.started_at').run(
      s.signing.publicKey, Buffer.from(s.keys.catalogDeltaKey), Date.now(),
    );
    attachLocalLog(db, s.sodium, s.signing);
    const w = writers.get(db)!;
    appendBody(db, w.keys, {
      kind: 'siteRecord',
      body: {
        formatVersion: s.formatVersion, opslimit: s.kdf.opslimit, memlimit: s.kdf.memlimit, salt: Buffer.from(s.kdf.salt),
        keyCheck: Buffer.from(s.keys.checkValue), recoveryPublicKey: recoveryKey(s.keys).publicKey,
      },
    });
    const site = db.prepare('SELECT objects_url, created_at FROM site_keys WHERE id = 1').get() as { objects_url: string; created_at: number } | undefined;
    if (site) appendDelta(db, w, [{ op: 'site', objectsUrl: site.objects_url, createdAt: site.created_at }]);
    snapshot(db, w);
    return w;
  })();
}

function snapshot(db: Db, w: LocalLog): void {
  const ids = (sql: string, ...params: unknown[]) => db.prepare(sql).pluck().all(...params) as number[];
  const paged = (all: number[], set: (page: number[]) => RowSet) => {
    for (let i = 0; i < all.length; i += PAGE) appendDelta(db, w, rowOps(db, set(all.slice(i, i + PAGE))));
  };
  paged(ids('SELECT id FROM scan_roots ORDER BY id'), (roots) => ({ roots }));
  paged(ids('SELECT id FROM dirs ORDER BY id'), (dirs) => ({ dirs }));
  paged(ids('SELECT id FROM volumes ORDER BY id'), (volumes) => ({ volumes, volumeFiles: true }));
  paged(ids('SELECT id FROM files ORDER BY id'), (files) => ({ files }));
  const local = db.prepare('SELECT site_id FROM site_keys WHERE id = 1').pluck().get() as string | undefined;
  const objects = ids('SELECT id FROM objects WHERE owner_site IS ? ORDER BY id', local ?? null);
  for (const row of objects) appendObject(db, w, row);
  paged(objects, (o) => ({ objects: o }));
  const placements = ids('SELECT id FROM placements WHERE object_row IS NULL OR object_row IN (SELECT id FROM objects WHERE owner_site IS ?) ORDER BY id', local ?? null);
  paged(placements, (p) => ({ placements: p }));
}
