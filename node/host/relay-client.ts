import type { Connection, PeerId } from '@libp2p/interface';
import type { Host } from './host.js';

/**
 * The relay-client side of a household that joined through a family relay. It paired as a
 * stranger there, so two things the relay refused it then must be asked for again once the relay
 * knows it as family (its member's roster introduced it):
 *   - its relayed connection to the inviter carries the relay's pairing limits (relay-limits.ts):
 *     the relay cuts it after 256 KiB / 60 s, and libp2p never opens a stream on a limited
 *     connection of its own accord (it dials again, and fails when the peer has no other address);
 *   - its reservation on the relay (the inviter reaches it through it) was refused, and libp2p's
 *     relay transport asks only once per connection.
 */

/** Open connections to `peer` that are all limited and that this node opened (it can open them again). */
export function limitedOnly(host: Host, peer: PeerId): Connection[] {
  const open = host.getConnections(peer).filter((c) => c.status === 'open');
  if (open.length === 0 || open.some((c) => c.limits == null)) return [];
  return open.filter((c) => c.direction === 'outbound');
}

/**
 * Dials `limited`'s relayed address again (force: libp2p would otherwise hand back the limited
 * connection to the same address) and, when the relay now carries it without limits, closes the
 * limited connection. Returns the new connection, or null when the relay still limits us (the new
 * connection is closed again). Throws when the dial fails.
 */
export async function replaceLimited(host: Host, limited: Connection, signal: AbortSignal): Promise<Connection | null> {
  const fresh = await host.dial(limited.remoteAddr, { force: true, signal });
  if (fresh.limits != null) {
    if (fresh.id !== limited.id) await fresh.close().catch(() => fresh.abort(new Error('still limited')));
    return null;
  }
  await limited.close().catch(() => limited.abort(new Error('replaced by an unlimited connection')));
  return fresh;
}

interface ReservationStore {
  hasReservation(peer: PeerId): boolean;
  addRelay(peer: PeerId, type: 'discovered' | 'configured'): Promise<unknown>;
}

/** The relay transport's reservation store (libp2p offers no public way to ask again). */
function reservationStore(host: Host): ReservationStore | null {
  const tm = (host as unknown as { components?: { transportManager?: { getTransports(): unknown[] } } }).components?.transportManager;
  for (const t of tm?.getTransports() ?? []) {
    const store = (t as { reservationStore?: Partial<ReservationStore> }).reservationStore;
    if (typeof store?.addRelay === 'function' && typeof store.hasReservation === 'function') return store as ReservationStore;
  }
  return null;
}

/**
 * Asks `relay` for a reservation on the current connection. Returns false when the relay
 * transport's internals are not there (the caller falls back to reconnecting); true when asked,
 * whatever the answer (a refusal throws inside and is retried by the caller later).
 */
export async function askReservation(host: Host, relay: PeerId, signal: AbortSignal): Promise<boolean> {
  const store = reservationStore(host);
  if (!store) return false;
  if (store.hasReservation(relay)) return true;
  await Promise.race([
    store.addRelay(relay, 'discovered'),
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  ]);
  return true;
}
