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
  /** How an introduced site came to be trusted (migration 41); null: paired directly. */
  confirmation: Confirmation | null;
  /** The member whose roster or welcome brought it (introducedBy is the original introducer). */
  relayedBy: string | null;
  /** trusted (dialled, admitted), pending (neither, until confirmed) or revoked. */
  state: PeerState;
}

/** 'signed': a member by the signed membership entries of the site logs (members.ts). */
export type Confirmation = 'pairing' | 'witnessed' | 'person' | 'pending' | 'signed';
export type PeerState = 'trusted' | 'pending' | 'revoked';

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
  confirmation: string | null;
  relayed_by: string | null;
}

/** SQL condition of a trusted row: not revoked, not waiting for a confirmation. */
export const TRUSTED_SQL = "revoked_at IS NULL AND (confirmation IS NULL OR confirmation <> 'pending')";

function parseAddrs(text: string): string[] {
  try {
    const v = JSON.parse(text);
    if (Array.isArray(v)) return v.filter((a) => typeof a === 'string');
  } catch {
    // a damaged addrs column only costs the dial hints
  }
  return [];
}

function toRow(r: RawPeer): PeerRow {
  const addrs = parseAddrs(r.addrs);
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
    confirmation: (r.confirmation as Confirmation | null) ?? null,
    relayedBy: r.relayed_by,
    state: r.revoked_at !== null ? 'revoked' : r.confirmation === 'pending' ? 'pending' : 'trusted',
  };
}

/** Dialled and admitted: paired, or introduced and confirmed; not revoked. */
export function isTrusted(db: Db, peerId: string): boolean {
  return db.prepare(`SELECT 1 FROM peers WHERE peer_id = ? AND ${TRUSTED_SQL}`).pluck().get(peerId) !== undefined;
}

export function isRevoked(db: Db, peerId: string): boolean {
  return db.prepare('SELECT 1 FROM peers WHERE peer_id = ? AND revoked_at IS NOT NULL').pluck().get(peerId) !== undefined;
}

export function getPeer(db: Db, peerId: string): PeerRow | null {
  const r = db.prepare('SELECT * FROM peers WHERE peer_id = ?').get(peerId) as RawPeer | undefined;
  return r ? toRow(r) : null;
}

/**
 * Trusted peers by name; with `includePending` also introduced sites waiting for a confirmation,
 * with `includeRevoked` also revoked ones (trusted first, then pending, then revoked).
 */
export function listPeers(db: Db, opts: { includeRevoked?: boolean; includePending?: boolean } = {}): PeerRow[] {
  const conds: string[] = [];
  if (!opts.includeRevoked) conds.push('revoked_at IS NULL');
  if (!opts.includePending) conds.push("(confirmation IS NULL OR confirmation <> 'pending' OR revoked_at IS NOT NULL)");
  const where = conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : '';
  return (
    db.prepare(`SELECT * FROM peers ${where} ORDER BY revoked_at IS NOT NULL, confirmation IS 'pending', name, peer_id`).all() as RawPeer[]
  ).map(toRow);
}

/** What pairing or an introduction knows of a new peer (the rest of PeerRow comes from the catalog). */
export type NewPeer = Pick<PeerRow, 'peerId' | 'name' | 'siteName' | 'addrs' | 'quotaOffered' | 'quotaGranted' | 'introducedBy'>;

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
       paired_at = excluded.paired_at, revoked_at = NULL, confirmation = NULL, relayed_by = NULL`,
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
  const all = listPeers(db, { includeRevoked: true, includePending: true });
  const exact = all.filter((p) => p.peerId === ref);
  if (exact.length > 0) return exact;
  const byName = all.filter((p) => p.name === ref || p.siteName === ref);
  if (byName.length > 0) return byName;
  return ref.length >= 8 ? all.filter((p) => p.peerId.startsWith(ref)) : [];
}

/**
 * Revokes a peer and, recursively, every site it introduced (its original introducer field), and
 * the unconfirmed sites only its roster carried here: what a revoked member planted does not
 * outlive it. Returns every peer id revoked now (the peer first), for hang-ups and reports.
 */
export function revokePeer(db: Db, peerId: string, now = Date.now()): string[] {
  return db.transaction(() => {
    const revoked: string[] = [];
    const revoke = db.prepare('UPDATE peers SET revoked_at = ? WHERE peer_id = ? AND revoked_at IS NULL');
    const planted = db.prepare(
      `SELECT peer_id FROM peers WHERE revoked_at IS NULL
         AND (introduced_by = ? OR (relayed_by = ? AND confirmation IN ('pending', 'pairing')))`,
    );
    const queue = [peerId];
    while (queue.length > 0) {
      const id = queue.shift()!;
      if (revoke.run(now, id).changes === 0 && id !== peerId) continue;
      if (!revoked.includes(id)) revoked.push(id);
      for (const child of planted.pluck().all(id, id) as string[]) queue.push(child);
    }
    return revoked;
  })();
}

/** A person vouches for a pending site: it becomes trusted. False if it was not pending. */
export function confirmPeer(db: Db, peerId: string): boolean {
  return db.prepare("UPDATE peers SET confirmation = 'person' WHERE peer_id = ? AND confirmation = 'pending' AND revoked_at IS NULL").run(peerId).changes === 1;
}

/** Removes a row altogether (repair of a row whose peer id cannot be parsed). */
export function deletePeerRow(db: Db, peerId: string): void {
  db.prepare('DELETE FROM peers WHERE peer_id = ?').run(peerId);
}

/** Raw ids and address lists of every row, for the repair that checks they parse. */
export function peerRowsForRepair(db: Db): { peerId: string; addrs: string[] }[] {
  return (db.prepare('SELECT peer_id, addrs FROM peers').all() as { peer_id: string; addrs: string }[]).map((r) => ({
    peerId: r.peer_id,
    addrs: parseAddrs(r.addrs),
  }));
}

/** Replaces the stored addresses of any row (repair: drops addresses that do not parse). */
export function setPeerAddrs(db: Db, peerId: string, addrs: string[]): void {
  db.prepare('UPDATE peers SET addrs = ? WHERE peer_id = ?').run(JSON.stringify(addrs), peerId);
}

export function revokedPeerIds(db: Db): string[] {
  return db.prepare('SELECT peer_id FROM peers WHERE revoked_at IS NOT NULL').pluck().all() as string[];
}

/** Names in use here (labels and announced names of peers that are not revoked, and this site's). */
export function nameInUse(db: Db, name: string, exceptPeerId = ''): boolean {
  if (localSiteName(db) === name) return true;
  return (
    db.prepare('SELECT 1 FROM peers WHERE revoked_at IS NULL AND peer_id <> ? AND (name = ? OR site_name = ?)').pluck().get(exceptPeerId, name, name) !==
    undefined
  );
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
