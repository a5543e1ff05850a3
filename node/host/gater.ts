import type { ConnectionGater, PeerId } from '@libp2p/interface';
import type { Admission } from './admission.js';
import type { InboundLimiter, PendingConnection } from './inbound-limit.js';

/**
 * The connection gater: libp2p asks it at each step of a connection. The first point where the
 * remote peer id is known is right after the Noise handshake (deny*EncryptedConnection), before
 * multistream-select runs any protocol; an untrusted peer is dropped there and sees only an
 * unexpected EOF. Relay decisions use the same trust list. Before that, only the remote address
 * is known: the inbound limiter decides which raw connections may start a handshake.
 */
export function trustGater(
  admission: Admission,
  onRefused: (peerId: string, direction: 'inbound' | 'outbound') => void,
  limiter?: InboundLimiter,
): ConnectionGater {
  const inbound = (p: PeerId) => {
    const id = p.toString();
    const deny = !admission.admitInbound(id);
    if (deny) onRefused(id, 'inbound');
    return deny;
  };
  const outbound = (p: PeerId) => {
    const id = p.toString();
    const deny = !admission.admitOutbound(id);
    if (deny) onRefused(id, 'outbound');
    return deny;
  };
  return {
    denyDialPeer: outbound,
    denyOutboundEncryptedConnection: outbound,
    denyInboundConnection: (maConn) => (limiter ? !limiter.admit(maConn as unknown as PendingConnection) : false),
    denyInboundEncryptedConnection: (p: PeerId, maConn) => {
      limiter?.settled(maConn as unknown as PendingConnection);
      return inbound(p);
    },
    denyInboundUpgradedConnection: inbound,
    // Only family members may park a reservation on this node (it relays for the family only).
    denyInboundRelayReservation: (source: PeerId) => !admission.trusted(source.toString()),
    // As a relay: carry traffic to a family member, from a family member or from a joiner of that
    // member's open invite.
    denyOutboundRelayedConnection: (source: PeerId, destination: PeerId) => {
      const dst = destination.toString();
      if (!admission.trusted(dst)) return true;
      return !(admission.trusted(source.toString()) || admission.relayWindowOpen(dst));
    },
    // As a relayed destination: the relay must be family, the remote must be admissible.
    denyInboundRelayedConnection: (relay: PeerId, remote: PeerId) =>
      !(admission.trusted(relay.toString()) || admission.isJoinTarget(relay.toString())) || !admission.admitInbound(remote.toString()),
  };
}
