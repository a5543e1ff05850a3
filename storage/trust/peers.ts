import type { Db } from '../catalog/db.js';

/**
 * The catalog side of trust: which households are paired (tables of migration 40) and this
 * site's name (open invitations: invites.ts). Every connection decision reads from here, so a
 * revocation written by another process (the CLI) is seen by the running node at once.
 */

export interface PeerRow {
  peerId: string;
  name: string;
  siteName: string;
  addrs: string[];
  quotaOffered: number | null;
  quotaGranted: number | null;
  introducedBy: string | null;
  pairedAt: number;
  lastSeenAt: number | null;
  lastAddr: string | null;
  rttMs: number | null;
  revokedAt: number | null;
}

interface RawPeer {
  peer_id: string;
  name: string;
  site_name: string;
  addrs: string;
  quota_offered: number | null;
  quota_granted: number | null;
  introduced_by: string | null;
  paired_at: number;
  last_seen_at: number | null;
  last_addr: string | null;
  rtt_ms: number | null;
  revoked_at: number | null;
}

function toRow(r: RawPeer): PeerRow {
  let addrs: string[] = [];
  try {
    const v = JSON.parse(r.addrs);
    if (Array.isArray(v)) addrs = v.filter((a) => typeof a === 'string');
  } catch {
    // a damaged addrs column only costs the dial hints
  }
  return {
    peerId: r.peer_id,
    name: r.name,
    siteName: r.site_name,
    addrs,
    quotaOffered: r.quota_offered,
    quotaGranted: r.quota_granted,
    introducedBy: r.introduced_by,
    pairedAt: r.paired_at,
    lastSeenAt: r.last_seen_at,
    lastAddr: r.last_addr,
    rttMs: r.rtt_ms,
    revokedAt: r.revoked_at,
  };
}

export function isTrusted(db: Db, peerId: string): boolean {
  return db.prepare('SELECT 1 FROM peers WHERE peer_id = ? AND revoked_at IS NULL').pluck().get(peerId) !== undefined;
}

export function isRevoked(db: Db, peerId: string): boolean {
  return db.prepare('SELECT 1 FROM peers WHERE peer_id = ? AND revoked_at IS NOT NULL').pluck().get(peerId) !== undefined;
}

export function getPeer(db: Db, peerId: string): PeerRow | null {
  const r = db.prepare('SELECT * FROM peers WHERE peer_id = ?').get(peerId) as RawPeer | undefined;
  return r ? toRow(r) : null;
}

/** Every peer, trusted first then revoked, by name. */
export function listPeers(db: Db, opts: { includeRevoked?: boolean } = {}): PeerRow[] {
  const where = opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL';
  return (db.prepare(`SELECT * FROM peers ${where} ORDER BY revoked_at IS NOT NULL, name, peer_id`).all() as RawPeer[]).map(toRow);
}

export interface NewPeer {
  peerId: string;
  name: string;
  siteName: string;
  addrs: string[];
  quotaOffered: number | null;
  quotaGranted: number | null;
  introducedBy: string | null;
}

/**
 * Stores a peer paired directly (invite/join): a person just vouched for it, so this also lifts
 * an earlier revocation.
 */
export function savePairedPeer(db: Db, p: NewPeer, now = Date.now()): void {
  db.prepare(
    `INSERT INTO peers (peer_id, name, site_name, addrs, quota_offered, quota_granted, introduced_by, paired_at, last_seen_at)
     VALUES (@peerId, @name, @siteName, @addrs, @quotaOffered, @quotaGranted, NULL, @now, @now)
     ON CONFLICT(peer_id) DO UPDATE SET name = excluded.name, site_name = excluded.site_name, addrs = excluded.addrs,
       quota_offered = excluded.quota_offered, quota_granted = excluded.quota_granted, introduced_by = NULL,
       paired_at = excluded.paired_at, revoked_at = NULL`,
  ).run({ ...p, addrs: JSON.stringify(p.addrs), now });
}

/**
 * A family member introduced a site. Unknown sites become trusted; known ones only get fresher
 * addresses; revoked ones stay revoked (a revocation is never undone by someone else's roster).
 * Returns true if the site is new.
 */
export function saveIntroducedPeer(db: Db, p: NewPeer, now = Date.now()): boolean {
  const existing = getPeer(db, p.peerId);
  if (existing) {
    if (existing.revokedAt === null && p.addrs.length > 0) {
      db.prepare('UPDATE peers SET addrs = ? WHERE peer_id = ?').run(JSON.stringify(p.addrs), p.peerId);
    }
    return false;
  }
  db.prepare(
    `INSERT INTO peers (peer_id, name, site_name, addrs, quota_offered, quota_granted, introduced_by, paired_at)
     VALUES (@peerId, @name, @siteName, @addrs, @quotaOffered, @quotaGranted, @introducedBy, @now)`,
  ).run({ ...p, addrs: JSON.stringify(p.addrs), now });
  return true;
}

/** Finds a peer by full peer id, unique peer-id prefix (>= 8 chars) or exact name. */
export function findPeer(db: Db, ref: string): PeerRow[] {
  const all = listPeers(db, { includeRevoked: true });
  const exact = all.filter((p) => p.peerId === ref);
  if (exact.length > 0) return exact;
  const byName = all.filter((p) => p.name === ref || p.siteName === ref);
  if (byName.length > 0) return byName;
  return ref.length >= 8 ? all.filter((p) => p.peerId.startsWith(ref)) : [];
}

export function revokePeer(db: Db, peerId: string, now = Date.now()): void {
  db.prepare('UPDATE peers SET revoked_at = ? WHERE peer_id = ? AND revoked_at IS NULL').run(now, peerId);
}

export function revokedPeerIds(db: Db): string[] {
  return db.prepare('SELECT peer_id FROM peers WHERE revoked_at IS NOT NULL').pluck().all() as string[];
}

export function markSeen(db: Db, peerId: string, addr: string | null, rttMs: number | null, now = Date.now()): void {
  db.prepare(
    `UPDATE peers SET last_seen_at = ?, last_addr = coalesce(?, last_addr), rtt_ms = coalesce(?, rtt_ms)
     WHERE peer_id = ?`,
  ).run(now, addr, rttMs, peerId);
}

export function updatePeerAddrs(db: Db, peerId: string, addrs: string[]): void {
  db.prepare('UPDATE peers SET addrs = ? WHERE peer_id = ? AND revoked_at IS NULL').run(JSON.stringify(addrs), peerId);
}

export function localSiteName(db: Db): string | null {
  return (db.prepare('SELECT name FROM local_site WHERE id = 1').pluck().get() as string | undefined) ?? null;
}

export function setLocalSiteName(db: Db, name: string): void {
  db.prepare('INSERT INTO local_site (id, name) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name').run(name);
}
