import type { Db } from '../catalog/db.js';
import { stmt } from './stmts.js';

/**
 * What the log sync protocol (protocol/log, docs/replication.md) reads and remembers besides the
 * entries themselves: raw entry bytes to pass on (no decode, no hash: the receiver checks
 * everything anyway), and the heads each peer acknowledged (migration 61).
 */

/** A head as peers exchange it: whose log, its last seq, that entry's hash. */
export interface PeerHead {
  origin: Buffer;
  siteId: string;
  seq: number;
  hash: Buffer;
}

export interface AckedHead extends PeerHead {
  ackedAt: number;
}

/** Encoded entries `from`.. of a log, in order, at most `limit` (what a sender streams). */
export function entryBytesFrom(db: Db, origin: Buffer, from: number, limit: number): Buffer[] {
  return stmt(db, 'SELECT bytes FROM sitelog_entries WHERE origin = ? AND seq >= ? ORDER BY seq LIMIT ?').pluck().all(origin, from, limit) as Buffer[];
}

/** The hash of entry `seq` of a log, or null if this catalog does not hold it. */
export function entryHash(db: Db, origin: Buffer, seq: number): Buffer | null {
  return (stmt(db, 'SELECT hash FROM sitelog_entries WHERE origin = ? AND seq = ?').pluck().get(origin, seq) as Buffer | undefined) ?? null;
}

/**
 * Records the heads a peer says it holds. A head only moves forward: an older report (a sync that
 * crossed a newer one) does not lower what the peer acknowledged.
 */
export function recordPeerHeads(db: Db, peerSite: string, heads: readonly PeerHead[], now = Date.now()): void {
  const up = stmt(
    db,
    `INSERT INTO sitelog_peer_heads (peer_site, origin, site_id, seq, hash, acked_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (peer_site, origin) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, acked_at = excluded.acked_at
       WHERE excluded.seq >= sitelog_peer_heads.seq`,
  );
  db.transaction(() => {
    for (const h of heads) up.run(peerSite, h.origin, h.siteId, h.seq, h.hash, now);
  })();
}

/** The heads a peer acknowledged, by site id. */
export function peerHeads(db: Db, peerSite: string): AckedHead[] {
  return (
    stmt(db, 'SELECT origin, site_id, seq, hash, acked_at FROM sitelog_peer_heads WHERE peer_site = ? ORDER BY site_id').all(peerSite) as {
      origin: Buffer;
      site_id: string;
      seq: number;
      hash: Buffer;
      acked_at: number;
    }[]
  ).map((r) => ({ origin: r.origin, siteId: r.site_id, seq: r.seq, hash: r.hash, ackedAt: r.acked_at }));
}

/** True when `peerSite` acknowledged entry `seq` (with this `hash`) of `origin`'s log, or a later one. */
export function peerHasHead(db: Db, peerSite: string, origin: Buffer, seq: number, hash: Buffer): boolean {
  if (seq === 0) return true;
  const have = stmt(db, 'SELECT seq, hash FROM sitelog_peer_heads WHERE peer_site = ? AND origin = ?').get(peerSite, origin) as { seq: number; hash: Buffer } | undefined;
  return have !== undefined && (have.seq > seq || (have.seq === seq && have.hash.equals(hash)));
}

/**
 * Changes whenever any log this catalog holds grows (an append here, entries accepted from a
 * peer): the node re-offers its heads to a peer only when this moved since their last exchange.
 */
export function headsFingerprint(db: Db): string {
  const r = stmt(db, 'SELECT count(*) AS n, total(seq) AS s FROM sitelog_heads').get() as { n: number; s: number };
  return `${r.n}:${r.s}`;
}

/** True when the logs admit `siteId` as a member (derive.ts) and have not revoked it. */
export function isLogMember(db: Db, siteId: string): boolean {
  return stmt(db, "SELECT 1 FROM sitelog_members WHERE site_id = ? AND via <> 'revoked'").get(siteId) !== undefined;
}
