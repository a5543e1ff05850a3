import type { Db } from '../../storage/catalog/db.js';
import { ownHousehold as ownerOfOwnObjects } from '../../storage/replication/catalog.js';
import { Accounts } from '../../storage/peerstore/accounts.js';
import { holdingsAt } from '../../storage/placements/holdings.js';
import { localOrigin } from '../../storage/sitelog/local.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { successions } from '../../storage/sitelog/succession.js';
import type { PeerRow } from '../../storage/trust/peers.js';
import { formatSize } from '../../storage/util/units.js';

/**
 * Storage between this site and one peer, both ways (`peers` and `status`, issue 15 point 1):
 * what this site keeps for the peer's household (its peer store account) against the quota we
 * offered, and what the peer keeps for this household (our live holdings at it, as logged after
 * its acknowledgements) against the quota it granted us. Households, not machines: a recovered
 * household's chunks and holdings stay under its origin's site id.
 */
export interface PeerUsage {
  /** Kept here for the peer's household. */
  hosted: { usedBytes: number; chunkCount: number; quotaBytes: number | null };
  /** Kept at the peer for this household. */
  held: { bytes: number; objects: number; quotaBytes: number | null };
}

/**
 * This site's household, the owner of its objects: the site id of its keys (`init`; after
 * `recover`, the lost machine's), else the origin of its log, else `siteId` ('' : none yet, so
 * nothing is held for it anywhere).
 */
export function ownHousehold(db: Db, siteId = ''): string {
  const owner = ownerOfOwnObjects(db);
  if (owner) return owner;
  const origin = localOrigin(db);
  return origin ? siteIdOfKey(origin) : siteId;
}

/** Usage with each of `peers`, by peer id; `self`: this site's household (ownHousehold). */
export function peerUsages(db: Db, self: string, peers: readonly PeerRow[]): Map<string, PeerUsage> {
  const originOf = new Map<string, string>();
  for (const s of successions(db).values()) originOf.set(s.successor, s.origin);
  const accounts = new Accounts(db);
  const out = new Map<string, PeerUsage>();
  for (const p of peers) {
    const household = originOf.get(p.peerId) ?? p.peerId;
    const a = accounts.usage(household);
    out.set(p.peerId, {
      hosted: { usedBytes: a.usedBytes, chunkCount: a.chunkCount, quotaBytes: p.quotaOffered },
      held: { ...heldFor(db, self, [...new Set([household, p.peerId])]), quotaBytes: p.quotaGranted },
    });
  }
  return out;
}

/**
 * Bytes and objects of `owner` held at any of `holders`: a whole-object holding counts the
 * object's size once, chunk holdings count their chunks (not again when the whole is held too).
 */
function heldFor(db: Db, owner: string, holders: string[]): { bytes: number; objects: number } {
  const whole = new Map<number, number>();
  const chunks = new Map<number, Map<number, number>>();
  for (const site of holders) {
    for (const h of holdingsAt(db, { site })) {
      if (h.ownerSite !== owner) continue;
      if (h.chunkIndex === null) whole.set(h.objectRow, h.size);
      else {
        const m = chunks.get(h.objectRow) ?? new Map<number, number>();
        m.set(h.chunkIndex, h.size);
        chunks.set(h.objectRow, m);
      }
    }
  }
  let bytes = 0;
  for (const size of whole.values()) bytes += size;
  for (const [row, m] of chunks) if (!whole.has(row)) for (const size of m.values()) bytes += size;
  return { bytes, objects: new Set([...whole.keys(), ...chunks.keys()]).size };
}

/** "1.2 MB / 500.0 GB", "0 B / no limit": used against a quota, for the tables. */
export function usedOf(used: number, quota: number | null): string {
  return `${formatSize(used)} / ${quota === null ? 'no limit' : formatSize(quota)}`;
}
