import type { Db } from '../catalog/db.js';
import { localSiteId } from '../objects/catalog.js';
import type { ObjectKind } from '../objects/format.js';
import { recordHolding } from '../placements/holdings.js';
import { logPlacement } from '../sitelog/local-log.js';
import { successions } from '../sitelog/succession.js';
import { listPeers } from '../trust/peers.js';
import { plan, summarize, type Candidate, type PlacementSummary, type PlanObject } from './planner.js';
import { loadPolicy } from './policy.js';

/**
 * The catalog side of replication: what the planner reads (this site's objects, who holds them,
 * the family as candidates) and what the replicator writes (a peer placement, always with its log
 * entry in the same transaction).
 */

/** This site's household (objects.owner_site of its own objects); null before `init`. */
export const ownHousehold = localSiteId;

/**
 * This site's sealed objects with their live whole-object peer holders. Staging `file` objects
 * whose files are in an archived volume are left out: they are dropped, not placed (droppable).
 */
export function ownObjects(db: Db): PlanObject[] {
  const owner = localSiteId(db);
  if (owner === null) return [];
  const rows = db
    .prepare(
      `SELECT o.id, o.kind, o.cipher_size,
              (SELECT group_concat(p.peer_site, ' ') FROM placements p
                WHERE p.object_row = o.id AND p.peer_site IS NOT NULL AND p.chunk_idx IS NULL AND p.deleted_at IS NULL) AS holders
         FROM objects o
        WHERE o.owner_site = ? AND o.id NOT IN (${ARCHIVED_STAGING_SQL})
        ORDER BY o.id`,
    )
    .all(owner, owner) as { id: number; kind: ObjectKind; cipher_size: number; holders: string | null }[];
  return rows.map((r) => ({ row: r.id, kind: r.kind, size: r.cipher_size, holders: r.holders ? r.holders.split(' ') : [] }));
}

/**
 * Staging objects whose files are all in an archived volume: the volume has a verified copy in a
 * tier (an archive: S3, a folder) or a peer copy of its volume object. (One parameter: the owner.)
 */
const ARCHIVED_STAGING_SQL = `
  SELECT s.id FROM objects s JOIN files f ON f.id = s.file_id
   WHERE s.owner_site = ? AND s.kind = 'file' AND f.volume_id IS NOT NULL
     AND (EXISTS (SELECT 1 FROM placements v WHERE v.volume_id = f.volume_id AND v.tier_url IS NOT NULL AND v.deleted_at IS NULL)
          OR EXISTS (SELECT 1 FROM placements v JOIN objects vo ON vo.id = v.object_row
                      WHERE vo.volume_id = f.volume_id AND vo.kind = 'volume' AND v.peer_site IS NOT NULL AND v.deleted_at IS NULL))`;

/** Live peer placements of this site's staging objects that are archived now: to drop at the holder. */
export function droppable(db: Db): { placementId: number; objectRow: number; household: string; chunkIndex: number | null }[] {
  const owner = localSiteId(db);
  if (owner === null) return [];
  return db
    .prepare(
      `SELECT p.id AS placementId, p.object_row AS objectRow, p.peer_site AS household, p.chunk_idx AS chunkIndex
         FROM placements p WHERE p.peer_site IS NOT NULL AND p.deleted_at IS NULL AND p.object_row IN (${ARCHIVED_STAGING_SQL})
        ORDER BY p.id`,
    )
    .all(owner) as { placementId: number; objectRow: number; household: string; chunkIndex: number | null }[];
}

/** The family as possible holders: one per household (its current machine), never this household. */
export function candidates(db: Db, connected: (peerId: string) => boolean): Candidate[] {
  const own = localSiteId(db);
  const succ = successions(db);
  const householdOf = (peerId: string) => {
    for (const s of succ.values()) if (s.successor === peerId) return s.origin;
    return peerId;
  };
  const placed = new Map(
    (
      db
        .prepare(
          `SELECT p.peer_site AS household, sum(p.size) AS bytes FROM placements p JOIN objects o ON o.id = p.object_row
            WHERE o.owner_site = ? AND p.peer_site IS NOT NULL AND p.deleted_at IS NULL GROUP BY p.peer_site`,
        )
        .all(own) as { household: string; bytes: number }[]
    ).map((r) => [r.household, r.bytes]),
  );
  const out = new Map<string, Candidate>();
  const rank = { trusted: 0, pending: 1, revoked: 2 } as const;
  for (const p of listPeers(db, { includeRevoked: true, includePending: true })) {
    const household = householdOf(p.peerId);
    if (household === own) continue; // this household's own lost machine
    const c: Candidate = {
      household,
      peerId: p.peerId,
      state: p.state,
      connected: p.state === 'trusted' && connected(p.peerId),
      lastSeenAt: p.lastSeenAt,
      quotaGranted: p.quotaGranted,
      placedBytes: placed.get(household) ?? 0,
    };
    // A recovered household has its old machine (revoked) and its successor: the successor speaks.
    const was = out.get(household);
    if (!was || rank[c.state] < rank[was.state]) out.set(household, c);
  }
  return [...out.values()];
}

/**
 * Records that `household` holds the whole object (it acknowledged every chunk) and logs the
 * placement, in one transaction: the log never says more than the catalog, nor less.
 */
export function recordPeerPlacement(db: Db, objectRow: number, household: string, verifiedAt = Date.now()): number {
  return db.transaction(() => {
    const o = db.prepare('SELECT cipher_size, cipher_sha256 FROM objects WHERE id = ?').get(objectRow) as { cipher_size: number; cipher_sha256: Buffer };
    const id = recordHolding(db, { holder: { site: household }, objectRow, size: o.cipher_size, sha256: o.cipher_sha256, verifiedAt });
    logPlacement(db, id);
    return id;
  })();
}

/** The peer copy is gone (dropped, lost, or its holder revoked): retired and logged as gone. */
export function retirePeerPlacement(db: Db, placementId: number, at = Date.now()): void {
  db.transaction(() => {
    db.prepare('UPDATE placements SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(at, placementId);
    logPlacement(db, placementId);
  })();
}

/** Live peer placements of this site's objects (the audit's list). */
export function peerPlacements(db: Db): { placementId: number; objectRow: number; household: string; verifiedAt: number }[] {
  const owner = localSiteId(db);
  return db
    .prepare(
      `SELECT p.id AS placementId, p.object_row AS objectRow, p.peer_site AS household, p.verified_at AS verifiedAt
         FROM placements p JOIN objects o ON o.id = p.object_row
        WHERE o.owner_site = ? AND p.peer_site IS NOT NULL AND p.chunk_idx IS NULL AND p.deleted_at IS NULL ORDER BY p.verified_at, p.id`,
    )
    .all(owner) as { placementId: number; objectRow: number; household: string; verifiedAt: number }[];
}

/** The placement goal as the catalog alone shows it (no node running: nobody is connected). */
export function placementFromCatalog(db: Db, now = Date.now()): PlacementSummary {
  const policy = loadPolicy(db);
  return summarize(plan({ objects: ownObjects(db), candidates: candidates(db, () => false), policy, now }), policy);
}
