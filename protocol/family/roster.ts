import type { Db } from '../../storage/catalog/db.js';
import { decodeJsonObject, encodeJson, ProtocolViolation } from '../framing.js';
import { arr, kind, optUint } from '../fields.js';
import { decodeMember, MAX_MEMBERS, type Member } from '../pairing/messages.js';
import { saveIntroducedPeer, updatePeerAddrs } from '../../storage/trust/peers.js';

/**
 * The roster message of /lomo/family/1.0.0 and what a site learns from it. Trusted sites exchange
 * their rosters (the sites each one trusts, with addresses) whenever they connect and whenever the
 * family changes. A site learns new households from any trusted member, so one invite per new
 * household yields a full mesh. A roster never re-admits a site this one has revoked (see
 * storage/trust/peers.ts).
 *
 * The sender's own entry (first) refreshes its addresses; `inviteUntil` announces that the sender
 * has an open invite, so a relay-capable member admits the unknown joiner long enough to relay it
 * (see docs/network.md).
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

/** Stores what a trusted peer's roster teaches us; returns the sites that are new to us. */
export function mergeRoster(db: Db, selfPeerId: string, from: string, roster: Roster): Member[] {
  const added: Member[] = [];
  db.transaction(() => {
    for (const m of roster.members) {
      if (m.peerId === selfPeerId) continue;
      if (m.peerId === from) {
        if (m.addrs.length > 0) updatePeerAddrs(db, from, m.addrs);
        continue;
      }
      const isNew = saveIntroducedPeer(db, {
        peerId: m.peerId,
        name: m.name,
        siteName: m.name,
        addrs: m.addrs,
        quotaOffered: null,
        quotaGranted: null,
        introducedBy: from,
      });
      if (isNew) added.push(m);
    }
  })();
  return added;
}
