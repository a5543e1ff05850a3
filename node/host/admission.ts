import type { Db } from '../../storage/catalog/db.js';
import { isRevoked, isTrusted } from '../../storage/trust/peers.js';
import { openInviteUntil } from '../../storage/trust/invites.js';

/**
 * Who may hold a connection to this node. Trusted (paired, not revoked) peers always; an unknown
 * peer only while a pairing can legitimately be under way:
 *   - this site has an open invite (the joiner is unknown until it proves the secret), or
 *   - a family member announced an open invite and may need this node as its relay, or
 *   - this site is itself joining and dials the inviter (and the inviter's relay).
 * Such "probation" connections may only run pairing or relay hops (every /lomo handler checks
 * trust again) and are closed after PROBATION_MS unless the peer became trusted.
 */
export const PROBATION_MS = 60_000;

export class Admission {
  /** Peers this site dials for a join in progress, until a deadline. */
  private readonly joinTargets = new Map<string, number>();
  /** Family members with an open invite (from their roster), until its expiry. */
  private readonly relayWindows = new Map<string, number>();
  /** Strangers whose probation ended without pairing, refused until then (node/host/probation.ts). */
  private readonly cooling = new Map<string, number>();

  constructor(private readonly db: Db) {}

  trusted(peerId: string): boolean {
    return isTrusted(this.db, peerId);
  }

  allowJoinTarget(peerId: string, until: number): void {
    this.joinTargets.set(peerId, until);
  }

  clearJoinTarget(peerId: string): void {
    this.joinTargets.delete(peerId);
  }

  isJoinTarget(peerId: string, now = Date.now()): boolean {
    return (this.joinTargets.get(peerId) ?? 0) > now;
  }

  setRelayWindow(member: string, until: number | null): void {
    if (until === null) this.relayWindows.delete(member);
    else this.relayWindows.set(member, until);
  }

  /** A family member said it has an open invite: relay unknown joiners to it. */
  relayWindowOpen(member: string, now = Date.now()): boolean {
    return (this.relayWindows.get(member) ?? 0) > now && this.trusted(member);
  }

  private anyRelayWindow(now: number): boolean {
    for (const [member, until] of this.relayWindows) if (until > now && this.trusted(member)) return true;
    return false;
  }

  ownInviteOpen(now = Date.now()): boolean {
    return (openInviteUntil(this.db, now) ?? 0) > now;
  }

  /** Refuses a stranger until `until` (its probation ended without pairing). */
  coolDown(peerId: string, until: number): void {
    this.cooling.set(peerId, until);
    if (this.cooling.size > 1024) for (const [id, t] of this.cooling) if (t <= Date.now()) this.cooling.delete(id);
  }

  coolingDown(peerId: string, now = Date.now()): boolean {
    return (this.cooling.get(peerId) ?? 0) > now;
  }

  /** May this peer hold an inbound connection at all? A revoked peer never, not even on probation. */
  admitInbound(peerId: string, now = Date.now()): boolean {
    if (this.trusted(peerId)) return true;
    if (isRevoked(this.db, peerId) || this.coolingDown(peerId, now)) return false;
    return this.isJoinTarget(peerId, now) || this.ownInviteOpen(now) || this.anyRelayWindow(now);
  }

  /** May this node dial the peer? Only trusted peers and join targets: never strangers. */
  admitOutbound(peerId: string, now = Date.now()): boolean {
    return this.trusted(peerId) || this.isJoinTarget(peerId, now);
  }
}
