import type { Connection, Stream } from '@libp2p/interface';
import type { Db } from '../../storage/catalog/db.js';
import { decodeJsonObject, encodeJson, FramedStream, ProtocolViolation } from '../framing.js';
import { arr, kind, optUint } from '../fields.js';
import { decodeMember, MAX_MEMBERS, type Member } from '../pairing/messages.js';
import { isTrusted, saveIntroducedPeer, updatePeerAddrs } from '../../storage/trust/peers.js';

/**
 * /lomo/family/1.0.0: trusted sites exchange their rosters (the sites each one trusts, with
 * addresses) whenever they connect and whenever the family changes. A site learns new
 * households from any trusted member, so one invite per new household yields a full mesh.
 * A roster never re-admits a site this one has revoked (see storage/trust/peers.ts).
 *
 * The sender's own entry (first) refreshes its addresses; `inviteUntil` announces that the sender
 * has an open invite, so a relay-capable member admits the unknown joiner long enough to relay it
 * (see docs/network.md).
 *
 *   initiator -> responder  roster
 *   responder -> initiator  roster
 */
export const ROSTER_PROTOCOL = '/lomo/family/1.0.0';
export const MAX_ROSTER_FRAME = 256 * 1024;
const STEP_TIMEOUT_MS = 10_000;

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

export interface RosterEnv {
  db: Db;
  selfPeerId: string;
  /** Our roster: ourselves first, then every trusted peer. */
  roster(): Roster;
  /** A trusted peer's roster arrived (after it was merged into the catalog). */
  onRoster(from: string, roster: Roster, added: Member[]): void;
  log: { info(m: string): void; warn(m: string): void };
}

/** Stores what a trusted peer's roster teaches us; returns the sites that are new to us. */
export function mergeRoster(env: RosterEnv, from: string, roster: Roster): Member[] {
  const added: Member[] = [];
  env.db.transaction(() => {
    for (const m of roster.members) {
      if (m.peerId === env.selfPeerId) continue;
      if (m.peerId === from) {
        if (m.addrs.length > 0) updatePeerAddrs(env.db, from, m.addrs);
        continue;
      }
      const isNew = saveIntroducedPeer(env.db, {
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

/** Responder: only trusted peers may speak; anything else resets the stream. */
export async function handleRosterStream(env: RosterEnv, stream: Stream, connection: Connection): Promise<void> {
  const from = connection.remotePeer.toString();
  const fs = new FramedStream(stream, { maxFrame: MAX_ROSTER_FRAME, readTimeoutMs: STEP_TIMEOUT_MS });
  try {
    if (!isTrusted(env.db, from)) throw new ProtocolViolation('roster from a peer that is not trusted');
    const theirs = decodeRoster(await fs.readRequired('roster'));
    await fs.write(encodeRoster(env.roster()));
    await fs.close();
    const added = mergeRoster(env, from, theirs);
    env.onRoster(from, theirs, added);
  } catch (err) {
    env.log.warn(`family roster from ${from} reset: ${(err as Error).message}`);
    fs.abort(err as Error);
  }
}

/** Initiator: sends ours, merges theirs. */
export async function exchangeRoster(env: RosterEnv, stream: Stream, to: string): Promise<Member[]> {
  const fs = new FramedStream(stream, { maxFrame: MAX_ROSTER_FRAME, readTimeoutMs: STEP_TIMEOUT_MS });
  try {
    await fs.write(encodeRoster(env.roster()));
    const theirs = decodeRoster(await fs.readRequired('roster'));
    await fs.close();
    if (!isTrusted(env.db, to)) return [];
    const added = mergeRoster(env, to, theirs);
    env.onRoster(to, theirs, added);
    return added;
  } catch (err) {
    fs.abort(err as Error);
    throw err;
  }
}
