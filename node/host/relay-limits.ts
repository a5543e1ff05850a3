import { PROBATION_MS } from './admission.js';

/**
 * Relayed pairing connections, bounded. As a family relay this node carries family traffic
 * without limits (volumes' chunks must not be cut at libp2p's default 128 KiB / 2 min), and a
 * stranger's CONNECT only to a member with an open invite (the gater). That stranger's relayed
 * connection gets the limits of a pairing exchange: a few KiB of Noise, multistream and pairing
 * frames, within a probation. Circuit relay v2 sets limits per reservation (the destination's),
 * not per source, so the server's CONNECT handler sees, for a source that is not family, a copy
 * of the reservation that carries these limits; the destination learns them in the STOP message
 * and marks the connection limited.
 */
export const STRANGER_RELAY_LIMIT = { data: 256n * 1024n, duration: PROBATION_MS } as const;

interface Reservation {
  limit?: { data?: bigint; duration?: number };
  [key: string]: unknown;
}

interface RelayServer {
  reservationStore: { get(peer: unknown): Reservation | undefined };
  handleConnect(args: { connection: { remotePeer: { toString(): string } }; [key: string]: unknown }, options: unknown): Promise<void>;
}

/** Wraps a circuitRelayServer's CONNECT so that relayed connections from strangers are bounded. */
export function limitStrangerRelays(server: unknown, isFamily: (peerId: string) => boolean, limit: Reservation['limit'] = STRANGER_RELAY_LIMIT): void {
  const relay = server as RelayServer;
  const original = relay.handleConnect;
  if (typeof original !== 'function' || typeof relay.reservationStore?.get !== 'function') {
    throw new Error('circuit relay server internals changed: cannot bound relayed pairing connections');
  }
  const bounded = Object.create(relay, {
    reservationStore: {
      value: {
        get: (peer: unknown) => {
          const r = relay.reservationStore.get(peer);
          return r && { ...r, limit };
        },
      },
    },
  }) as RelayServer;
  relay.handleConnect = (args, options) =>
    isFamily(args.connection.remotePeer.toString()) ? original.call(relay, args, options) : original.call(bounded, args, options);
}
