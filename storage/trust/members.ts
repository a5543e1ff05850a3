import type { Db } from '../catalog/db.js';
import { appendBody, headOf, type LocalLogKeys } from '../sitelog/store.js';
import { keyOfSiteId } from '../sitelog/site-id.js';
import { ZERO_HASH } from '../sitelog/entry.js';
import { cutoffSql } from '../sitelog/revocation.js';
import { getPeer, nameInUse, revokedPeerIds, revokePeer } from './peers.js';
import { successions, type Succession } from '../sitelog/succession.js';

/**
 * Signed membership and the trust list (issue 14). Who belongs to the family is what the site
 * logs' signed membership entries say (storage/sitelog/derive.ts recomputeMembers: every
 * admission traces back to the paired entry of the member who invited); the peers table, which
 * every connection decision reads, follows it:
 *
 *   - a site the logs make a member is trusted (a row is added, `confirmation = 'signed'`, for a
 *     member this site has not met: rosters then only bring its addresses);
 *   - a site the logs revoke is revoked here, with what it planted (revokePeer), and a signed
 *     member no longer backed by any admission (its admitter was revoked) is revoked too;
 *   - a lifted revocation (a fresh invite, revocation.ts) un-revokes the row.
 *
 * Sites with no signed entry keep issue 13's rules (introductions.ts: pending until confirmed).
 */

interface MemberRow {
  site_id: string;
  via: 'self' | 'paired' | 'introduced' | 'revoked';
  admitted_by: string | null;
  name: string;
}

/** The standing the logs give a site: member, revoked, or nothing signed about it. */
export function signedStanding(db: Db, siteId: string): 'member' | 'revoked' | null {
  const via = db.prepare('SELECT via FROM sitelog_members WHERE site_id = ?').pluck().get(siteId) as MemberRow['via'] | undefined;
  return via === undefined ? null : via === 'revoked' ? 'revoked' : 'member';
}

function signedRevocationExists(db: Db, siteId: string): boolean {
  let key: Buffer;
  try {
    key = keyOfSiteId(siteId);
  } catch {
    return false;
  }
  return db.prepare('SELECT 1 FROM sitelog_revocations WHERE subject = ?').pluck().get(key) !== undefined;
}

function freeName(db: Db, name: string, siteId: string): string {
  const base = name || siteId.slice(-8);
  return nameInUse(db, base, siteId) ? `${base} (${siteId.slice(-6)})` : base;
}

/** Makes the peers table agree with sitelog_members (called by recomputeMembers, in its transaction). */
export function applySignedMembership(db: Db, now = Date.now()): void {
  const rows = db.prepare("SELECT site_id, via, admitted_by, name FROM sitelog_members WHERE via <> 'self' ORDER BY via = 'revoked' DESC, site_id").all() as MemberRow[];
  const self = db.prepare("SELECT site_id FROM sitelog_members WHERE via = 'self'").pluck().get() as string | undefined;
  const handovers = acceptedSuccessions(db);
  // This site's own predecessors (it is a recovered household's new machine) are retired too.
  const own = self ? [...successions(db).values()].find((s) => s.origin === self || s.successor === self) : undefined;
  const ownPrevious = own?.previous ?? [];
  const retired = new Set([...handovers.flatMap((s) => s.previous), ...ownPrevious]);
  const members = new Set<string>();
  for (const m of rows) {
    // A machine a household replaced (recover): its log goes on under the successor's key, the machine itself is out.
    if (retired.has(m.site_id) && m.via !== 'revoked') continue;
    const peer = getPeer(db, m.site_id);
    if (m.via === 'revoked') {
      if (!peer) {
        db.prepare('INSERT INTO peers (peer_id, name, site_name, paired_at, revoked_at) VALUES (?, ?, ?, ?, ?)').run(m.site_id, m.site_id.slice(-8), '', now, now);
      } else if (peer.revokedAt === null) {
        revokePeer(db, m.site_id, now);
      }
      continue;
    }
    members.add(m.site_id);
    if (!peer) {
      db.prepare(
        `INSERT INTO peers (peer_id, name, site_name, addrs, introduced_by, confirmation, paired_at)
         VALUES (?, ?, ?, '[]', ?, 'signed', ?)`,
      ).run(m.site_id, freeName(db, m.name, m.site_id), m.name, m.admitted_by === self ? null : m.admitted_by, now);
    } else if (peer.revokedAt !== null) {
      // Only a signed revocation, now lifted by a fresh invite, is undone here; a revocation this
      // site made before it kept a log stays.
      if (peer.confirmation === 'signed' || signedRevocationExists(db, m.site_id)) {
        db.prepare("UPDATE peers SET revoked_at = NULL, confirmation = CASE WHEN confirmation IS NULL THEN NULL ELSE 'signed' END WHERE peer_id = ?").run(m.site_id);
      }
    } else if (peer.confirmation === 'pending' || peer.confirmation === 'witnessed') {
      db.prepare("UPDATE peers SET confirmation = 'signed' WHERE peer_id = ?").run(m.site_id);
    }
  }
  for (const s of handovers) handOver(db, s, now);
  // The machine this one replaced connects no more, here neither (no cascade: see handOver).
  for (const old of ownPrevious) db.prepare('UPDATE peers SET revoked_at = ? WHERE peer_id = ? AND revoked_at IS NULL').run(now, old);
  // Trusted only because the logs said so, and they no longer do: its admitter was revoked.
  const backed = db.prepare("SELECT peer_id FROM peers WHERE confirmation = 'signed' AND revoked_at IS NULL").pluck().all() as string[];
  for (const id of backed) if (!members.has(id)) revokePeer(db, id, now);
}

/** Successions whose successor the logs make a member here (this site's own excepted: it has no peer row). */
function acceptedSuccessions(db: Db): Succession[] {
  const member = db.prepare("SELECT via FROM sitelog_members WHERE site_id = ?").pluck();
  return [...successions(db).values()].filter((s) => {
    const via = member.get(s.successor) as string | undefined;
    return via !== undefined && via !== 'revoked' && via !== 'self';
  });
}

/**
 * The household's place in the trust list moves to its new machine (docs/sitelog-format.md §5.6):
 * the successor takes the label this site gave the household and the quotas agreed with it (the
 * household's stored chunks stay: holdings are named by the log's origin, which does not change);
 * the replaced machine's row is set revoked without the cascade of revokePeer (what it introduced
 * stays, now introduced by the successor) so that its key, lost or stolen, connects no more.
 * Once a row is revoked this is a no-op: it runs on every recompute.
 */
function handOver(db: Db, s: Succession, now: number): void {
  for (const old of s.previous) {
    const row = db.prepare('SELECT name, quota_offered, quota_granted, revoked_at FROM peers WHERE peer_id = ?').get(old) as
      | { name: string; quota_offered: number | null; quota_granted: number | null; revoked_at: number | null }
      | undefined;
    if (!row || row.revoked_at !== null) continue;
    db.prepare(
      `UPDATE peers SET name = ?, quota_offered = coalesce(?, quota_offered), quota_granted = coalesce(?, quota_granted)
        WHERE peer_id = ? AND revoked_at IS NULL`,
    ).run(row.name, row.quota_offered, row.quota_granted, s.successor);
    db.prepare('UPDATE peers SET introduced_by = ? WHERE introduced_by = ?').run(s.successor, old);
    db.prepare('UPDATE peers SET revoked_at = ? WHERE peer_id = ?').run(now, old);
  }
}

function textOfAtMost(text: string, bytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * Appends this site's signed *paired* entry for a household it just paired with (inviter: the
 * joiner; joiner: the inviter), in the caller's transaction. A site the family revoked comes back
 * only through such a fresh invite: the entry that re-admits it must follow a revocation in this
 * same log (storage/sitelog/revocation.ts), so the revocations in force are acknowledged first.
 */
export function recordPaired(db: Db, keys: LocalLogKeys, p: { siteId: string; inviteId: string; name: string }): void {
  let subject: Buffer;
  try {
    subject = keyOfSiteId(p.siteId);
  } catch {
    return; // not an Ed25519 identity: it cannot have a log (lomo-peer sites always do)
  }
  db.transaction(() => {
    if (signedStanding(db, p.siteId) === 'revoked') {
      const covers = db.prepare(`SELECT max(after_seq) FROM sitelog_revocations WHERE subject = ?`).pluck().get(subject) as number;
      appendBody(db, keys, { kind: 'membership', body: { action: 'revoked', subject, inviteId: Buffer.alloc(0), introducer: ZERO_HASH, introducerSeq: 0, revokedAfterSeq: covers, name: '' } });
    }
    appendBody(db, keys, {
      kind: 'membership',
      body: { action: 'paired', subject, inviteId: Buffer.from(p.inviteId, 'hex'), introducer: ZERO_HASH, introducerSeq: 0, revokedAfterSeq: 0, name: textOfAtMost(p.name, 256) },
    });
  })();
}

/**
 * Revokes a household: a signed *revoked* entry in this site's log (its cut-off is the last entry
 * of the household's log this site holds), which every member applies when it receives it, then
 * the trust list (revokePeer: also what it planted by roster). Without log keys (a site with no
 * identity yet) only the trust list changes. Returns every peer id revoked now, the peer first.
 */
export function revokeSigned(db: Db, keys: LocalLogKeys | null, peerId: string, now = Date.now()): string[] {
  return db.transaction(() => {
    const before = new Set(revokedPeerIds(db));
    let subject: Buffer | null = null;
    try {
      subject = keyOfSiteId(peerId);
    } catch {
      // not an Ed25519 identity: nothing to sign about
    }
    if (keys && subject && signedStanding(db, peerId) !== 'revoked') {
      const after = headOf(db, subject)?.seq ?? 0;
      appendBody(db, keys, { kind: 'membership', body: { action: 'revoked', subject, inviteId: Buffer.alloc(0), introducer: ZERO_HASH, introducerSeq: 0, revokedAfterSeq: after, name: '' } });
    }
    revokePeer(db, peerId, now);
    const newly = revokedPeerIds(db).filter((id) => !before.has(id) && id !== peerId);
    return [peerId, ...newly];
  })();
}

/** The cut-off in force for a site's log (null: not revoked), for reports. */
export function cutoffOf(db: Db, siteId: string): number | null {
  return (db.prepare(`SELECT ${cutoffSql('?')}`).pluck().get(keyOfSiteId(siteId)) as number | null) ?? null;
}
