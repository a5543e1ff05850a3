import { MAX_RELAY_WINDOW_MS, WITNESS_GRACE_MS, MAX_WITNESS_WINDOW_MS } from './constants.js';

/**
 * What a site makes of another member's `inviteUntil` (its roster says it has an invite open).
 * The value is the member's unsigned claim, so it is used for two narrow things only:
 *
 * 1. Relaying (node/host/admission.ts): a node that runs a relay server admits unknown joiners to
 *    carry them to that member, and only for at most MAX_RELAY_WINDOW_MS from the roster that
 *    announced it, whatever the claim says. The inviter re-announces its window while the invite
 *    stays open (node/host/lomo-node.ts), so a long invite keeps working through the relay.
 * 2. Witnessing (InviteWitness): a site that saw a member announce an open invite, in an earlier
 *    roster, accepts the next households that member introduces as the joiners of that
 *    invitation ("a pairing this site witnessed") while the window lasts and WITNESS_GRACE_MS
 *    after it; other introductions stay pending until a person confirms them.
 */

/** The relay window to apply for a member's announced invite, or null for none. */
export function relayWindowUntil(inviteUntil: number | null, now = Date.now()): number | null {
  if (inviteUntil === null || inviteUntil <= now) return null;
  return Math.min(inviteUntil, now + MAX_RELAY_WINDOW_MS);
}

/** Open invites members announced to this site (in memory: a restart forgets, which is safe). */
export class InviteWitness {
  private readonly windows = new Map<string, number>();

  /** A roster from `member` announced `inviteUntil` (null: nothing open now). */
  saw(member: string, inviteUntil: number | null, now = Date.now()): void {
    if (inviteUntil === null || inviteUntil <= now) return; // a closed window still counts for its grace
    this.windows.set(member, Math.min(inviteUntil, now + MAX_WITNESS_WINDOW_MS));
  }

  /** Did this site see `member` with an invite open, recently enough, before now? */
  witnessed(member: string, now = Date.now()): boolean {
    const until = this.windows.get(member);
    if (until === undefined) return false;
    if (until + WITNESS_GRACE_MS >= now) return true;
    this.windows.delete(member);
    return false;
  }

  forget(member: string): void {
    this.windows.delete(member);
  }
}
