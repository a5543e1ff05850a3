import type { Db } from '../../storage/catalog/db.js';
import { decodeJsonObject, encodeJson, ProtocolViolation } from '../framing.js';
import { arr, kind, optUint } from '../fields.js';
import { decodeMember, MAX_MEMBERS, type Member } from '../pairing/messages.js';
import { updatePeerAddrs } from '../../storage/trust/peers.js';
import { introducePeer } from '../../storage/trust/introductions.js';

/**
 * The roster message of /lomo/family/1.0.0 and what a site learns from it. Trusted sites exchange
 * their rosters (the sites each one trusts, with addresses) whenever they connect and whenever the
 * family changes. A site learns new households from any trusted member, so one invite per new
 * household yields a full mesh. A roster never re-admits a site this one has revoked (see
 * storage/trust/peers.ts), and never makes a site a member: membership is signed, in the site
 * logs (storage/trust/members.ts); for a site the logs back, a roster only brings addresses.
 *
 * The sender's own entry (first) refreshes its addresses; each other entry names its original
 * introducer (`introducedBy`); `inviteUntil` announces that the sender has an open invite, which
 * a relay honours for a short, clamped window and every site remembers as witnessed
 * (invite-window.ts, docs/pairing.md).
 *
 *   initiator -> responder  roster
 *   responder -> initiator  roster
 */

export interface Roster {
  members: Member[];
  inviteUntil: number | null;
}

export function encodeRoster(r: Roster): Uint8Array {
  return encodeJson({ t: 'roster', members: r.members, inviteUntil: r.inviteUntil });
}

export function decodeRoster(frame: Uint8Array): Roster {
  const o = decodeJsonObject(frame);
  if (kind(o) !== 'roster') throw new ProtocolViolation('expected a roster');
  return { members: arr(o, 'members', MAX_MEMBERS).map(decodeMember), inviteUntil: optUint(o, 'inviteUntil') };
}

/** What one roster taught this site. */
export interface MergeResult {
  /** New sites now trusted (dial them). */
  added: Member[];
  /** New sites waiting for a person's confirmation (never dialled). */
  pending: Member[];
  /** Entries not stored, with the reason (logged by the caller). */
  refused: { member: Member; reason: string }[];
}

/**
 * Stores what a trusted peer's roster teaches us (storage/trust/introductions.ts decides each
 * entry). `witnessed`: this site saw the sender announce an open invite (invite-window.ts), so the
 * sites the sender itself introduces are taken as the joiners of that invite; entries the sender
 * only relays from another introducer always wait for a confirmation.
 */
export function mergeRoster(db: Db, selfPeerId: string, from: string, roster: Roster, witnessed = false, now = Date.now()): MergeResult {
  const result: MergeResult = { added: [], pending: [], refused: [] };
  db.transaction(() => {
    for (const m of roster.members) {
      if (m.peerId === selfPeerId) continue;
      if (m.peerId === from) {
        if (m.addrs.length > 0) updatePeerAddrs(db, from, m.addrs);
        continue;
      }
      // A claim that we introduced a site we do not know is false: the sender is its introducer.
      const claimed = m.introducedBy && m.introducedBy !== selfPeerId ? m.introducedBy : from;
      const outcome = introducePeer(
        db,
        {
          peerId: m.peerId,
          name: m.name,
          addrs: m.addrs,
          introducedBy: claimed,
          relayedBy: from,
          confirmation: witnessed && claimed === from ? 'witnessed' : 'pending',
        },
        now,
      );
      if (outcome.kind === 'added') (outcome.state === 'trusted' ? result.added : result.pending).push(m);
      else if (outcome.kind === 'refused') result.refused.push({ member: m, reason: outcome.reason });
    }
  })();
  return result;
}
