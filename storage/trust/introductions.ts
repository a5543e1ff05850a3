import type { Db } from '../catalog/db.js';
import { getPeer, isRevoked, nameInUse, type Confirmation } from './peers.js';

/**
 * What a site does with a household a family member introduces (a roster entry, or a member
 * listed in the welcome of a pairing) that no signed membership entry backs (members.ts decides
 * those). Until every member runs the log sync this is what limits what a hostile member can plant:
 *
 *   - the ORIGINAL introducer the entry names is recorded (`introduced_by`), and the member that
 *     carried it (`relayed_by`); revoking either revokes what it planted (peers.ts revokePeer);
 *   - an entry naming a revoked introducer, or carried by a revoked member, is refused;
 *   - a name already used here (another peer's label or announced name, or this site's name) is
 *     refused, so that `peers remove <name>` can never become ambiguous;
 *   - at most MAX_INTRODUCTIONS sites that no person confirmed may come from one member (as
 *     introducer or as carrier); more are refused;
 *   - an introduced site is PENDING (never dialled, refused by the gater) unless this site
 *     witnessed the introducer's pairing (`witnessed`, decided by the caller: see
 *     protocol/family/witness.ts) or made the pairing itself (`pairing`), until a person runs
 *     `lomo-peer peers confirm`.
 */

/** Unconfirmed introductions one member may have at this site (as introducer or as carrier). */
export const MAX_INTRODUCTIONS = 8;

export interface Introduction {
  peerId: string;
  name: string;
  addrs: string[];
  /** The original introducer the entry names (the carrier itself when it names none). */
  introducedBy: string;
  /** The member whose roster or welcome carried the entry. */
  relayedBy: string;
  /** How it would be trusted: seen in our own pairing, a witnessed invite, or not (pending). */
  confirmation: Exclude<Confirmation, 'person'>;
}

export type IntroductionOutcome =
  /** Already known: fresher addresses were kept if it is trusted. */
  | { kind: 'known' }
  | { kind: 'added'; state: 'trusted' | 'pending' }
  | { kind: 'refused'; reason: string };

export function unconfirmedIntroductions(db: Db, member: string): number {
  return db
    .prepare(
      `SELECT count(*) FROM peers WHERE revoked_at IS NULL AND confirmation IN ('pending', 'witnessed')
         AND (introduced_by = ? OR relayed_by = ?)`,
    )
    .pluck()
    .get(member, member) as number;
}

/** Applies one introduction (call inside the caller's transaction). */
export function introducePeer(db: Db, intro: Introduction, now = Date.now()): IntroductionOutcome {
  const existing = getPeer(db, intro.peerId);
  if (existing) {
    // Only a trusted site's own entry could be fresher; a revoked one stays revoked, and the
    // addresses of a pending one are not worth dialling anyway.
    if (existing.state === 'trusted' && intro.addrs.length > 0) {
      db.prepare('UPDATE peers SET addrs = ? WHERE peer_id = ?').run(JSON.stringify(intro.addrs), intro.peerId);
    }
    return { kind: 'known' };
  }
  if (isRevoked(db, intro.introducedBy)) return { kind: 'refused', reason: `its introducer ${intro.introducedBy} is revoked here` };
  if (isRevoked(db, intro.relayedBy)) return { kind: 'refused', reason: `it came from ${intro.relayedBy}, revoked here` };
  if (nameInUse(db, intro.name)) return { kind: 'refused', reason: `the name ${JSON.stringify(intro.name)} is already used here` };
  if (intro.confirmation !== 'pairing') {
    for (const member of new Set([intro.introducedBy, intro.relayedBy])) {
      if (unconfirmedIntroductions(db, member) >= MAX_INTRODUCTIONS) {
        return { kind: 'refused', reason: `${member} already has ${MAX_INTRODUCTIONS} unconfirmed introductions here` };
      }
    }
  }
  db.prepare(
    `INSERT INTO peers (peer_id, name, site_name, addrs, introduced_by, relayed_by, confirmation, paired_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(intro.peerId, intro.name, intro.name, JSON.stringify(intro.addrs), intro.introducedBy, intro.relayedBy, intro.confirmation, now);
  return { kind: 'added', state: intro.confirmation === 'pending' ? 'pending' : 'trusted' };
}
