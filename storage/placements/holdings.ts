/**
 * Holdings: which holder — a cloud or folder tier, or a peer site — has a whole object or a single
 * chunk of it, of this site or of another household, and when that was last verified (migration 31).
 * This is the family's view of placements; placements.ts keeps the lomob-style view of this
 * site's volume and staging copies over the same rows.
 *
 * A row is written only once the holder's copy was checked (a tier's checksum/size, a peer's
 * proof or its hash-checked acceptance). Checking it again only moves verified_at; a copy that is
 * gone keeps its row with deleted_at set (placements.ts markDeleted), as history.
 */
import { atomically, type Db } from '../catalog/db.js';
import { isSiteId } from '../naming/object-keys.js';
import { stmt } from '../sitelog/stmts.js';

/** Who holds a copy: a peer site (its site id) or a tier (its URL). */
export type Holder = { site: string } | { tierUrl: string };

export interface Holding {
  id: number;
  holder: Holder;
  /** Object key inside the tier; null for a peer site. */
  key: string | null;
  objectRow: number;
  ownerSite: string;
  objectId: Buffer;
  /** null: the whole object. */
  chunkIndex: number | null;
  size: number;
  sha256: Buffer | null;
  createdAt: number;
  verifiedAt: number;
}

export interface NewHolding {
  holder: Holder;
  objectRow: number;
  /** Only this chunk (default: the whole object). */
  chunkIndex?: number | null;
  /** Required for a tier: the object's (or chunk's) key in it (storage/naming/object-keys.ts for family objects). */
  key?: string;
  size: number;
  sha256?: Buffer;
  remoteId?: string;
  storageClass?: string;
  region?: string;
  /** When the copy was verified (default now). */
  verifiedAt?: number;
}

interface Row {
  id: number;
  tier_url: string | null;
  peer_site: string | null;
  key: string | null;
  object_row: number;
  owner_site: string;
  object_id: Buffer;
  chunk_idx: number | null;
  size: number;
  sha256: Buffer | null;
  created_at: number;
  verified_at: number;
}

const SELECT = `SELECT p.id, p.tier_url, p.peer_site, p.key, p.object_row, o.owner_site, o.object_id, p.chunk_idx, p.size, p.sha256,
                       p.created_at, p.verified_at
                  FROM placements p JOIN objects o ON o.id = p.object_row`;

const toHolding = (r: Row): Holding => ({
  id: r.id,
  holder: r.peer_site !== null ? { site: r.peer_site } : { tierUrl: r.tier_url! },
  key: r.key,
  objectRow: r.object_row,
  ownerSite: r.owner_site,
  objectId: r.object_id,
  chunkIndex: r.chunk_idx,
  size: r.size,
  sha256: r.sha256,
  createdAt: r.created_at,
  verifiedAt: r.verified_at,
});

export function isSiteHolder(h: Holder): h is { site: string } {
  return 'site' in h;
}

/**
 * Records that `holder` has the object (or one chunk), verified at `verifiedAt`; returns the row id.
 * The same holder verified again for the same thing updates the row. A tier key that now holds
 * something else (a re-upload) retires the old row, as placements.ts recordPlacement does.
 */
export function recordHolding(db: Db, h: NewHolding): number {
  const at = h.verifiedAt ?? Date.now();
  const chunk = h.chunkIndex ?? null;
  return atomically(db, () => {
    let live: { id: number; object_row: number | null; chunk_idx: number | null } | undefined;
    if (isSiteHolder(h.holder)) {
      if (!isSiteId(h.holder.site)) throw new Error(`not a site id: ${JSON.stringify(h.holder.site.slice(0, 140))}`);
      if (h.key !== undefined) throw new Error('a peer site holding has no tier key');
      live = stmt(db, 'SELECT id, object_row, chunk_idx FROM placements WHERE peer_site = ? AND object_row = ? AND ifnull(chunk_idx, -1) = ? AND deleted_at IS NULL').get(h.holder.site, h.objectRow, chunk ?? -1) as typeof live;
    } else {
      if (!h.key) throw new Error(`a holding in tier ${h.holder.tierUrl} needs the key it is stored under`);
      live = stmt(db, 'SELECT id, object_row, chunk_idx FROM placements WHERE tier_url = ? AND key = ? AND deleted_at IS NULL').get(h.holder.tierUrl, h.key) as typeof live;
      if (live && (live.object_row !== h.objectRow || live.chunk_idx !== chunk)) {
        stmt(db, 'UPDATE placements SET deleted_at = ? WHERE id = ?').run(at, live.id);
        live = undefined;
      }
    }
    if (live) {
      stmt(db, 'UPDATE placements SET size = ?, sha256 = coalesce(?, sha256), remote_id = coalesce(?, remote_id), verified_at = ? WHERE id = ?').run(
        h.size, h.sha256 ?? null, h.remoteId ?? null, at, live.id,
      );
      return live.id;
    }
    const site = isSiteHolder(h.holder) ? h.holder.site : null;
    const tier = isSiteHolder(h.holder) ? null : h.holder.tierUrl;
    return Number(
      stmt(
        db,
        `INSERT INTO placements (object_row, chunk_idx, tier_url, peer_site, key, remote_id, size, sha256, storage_class, region, created_at, verified_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(h.objectRow, chunk, tier, site, h.key ?? null, h.remoteId ?? null, h.size, h.sha256 ?? null, h.storageClass ?? null, h.region ?? null, at, at)
        .lastInsertRowid,
    );
  });
}

/** Live holdings of one object, whole or by chunk, whatever site owns it. */
export function holdingsOfObject(db: Db, objectRow: number): Holding[] {
  return (db.prepare(`${SELECT} WHERE p.object_row = ? AND p.deleted_at IS NULL ORDER BY p.id`).all(objectRow) as Row[]).map(toHolding);
}

/** Live holders of chunk `index` of an object: those with that chunk and those with the whole object. */
export function holdingsOfChunk(db: Db, objectRow: number, index: number): Holding[] {
  return (
    db.prepare(`${SELECT} WHERE p.object_row = ? AND (p.chunk_idx IS NULL OR p.chunk_idx = ?) AND p.deleted_at IS NULL ORDER BY p.id`).all(objectRow, index) as Row[]
  ).map(toHolding);
}

/** Live holdings of every object owned by `ownerSiteId` (a per-site report, another household's data). */
export function holdingsOfOwner(db: Db, ownerSiteId: string): Holding[] {
  return (db.prepare(`${SELECT} WHERE o.owner_site = ? AND p.deleted_at IS NULL ORDER BY p.id`).all(ownerSiteId) as Row[]).map(toHolding);
}

/** Everything one holder has, live (what a peer stores, what a tier should contain). */
export function holdingsAt(db: Db, holder: Holder): Holding[] {
  const rows = isSiteHolder(holder)
    ? db.prepare(`${SELECT} WHERE p.peer_site = ? AND p.deleted_at IS NULL ORDER BY p.id`).all(holder.site)
    : db.prepare(`${SELECT} WHERE p.tier_url = ? AND p.deleted_at IS NULL ORDER BY p.id`).all(holder.tierUrl);
  return (rows as Row[]).map(toHolding);
}
