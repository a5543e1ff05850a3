import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { mdns } from '@libp2p/mdns';
import { uPnPNAT } from '@libp2p/upnp-nat';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import type { ConnectionGater, PeerDiscovery, PrivateKey } from '@libp2p/interface';
import { limitStrangerRelays } from './relay-limits.js';
import { INBOUND_CONNECTIONS_PER_SECOND, INBOUND_UPGRADE_TIMEOUT_MS, MAX_PENDING_INBOUND } from './inbound-limit.js';

/** mDNS service tag: lomo-peer nodes only see each other, not every libp2p app on the LAN. */
export const MDNS_SERVICE_TAG = 'lomo-peer.local';
/** Largest yamux receive window per stream (see createHost). */
export const MAX_STREAM_WINDOW = 2 * 1024 * 1024;
/** Default TCP port of a node (configurable with --listen). */
export const DEFAULT_PORT = 4710;

export interface HostConfig {
  privateKey: PrivateKey;
  /** Listen multiaddrs, e.g. /ip4/0.0.0.0/tcp/4710. */
  listen: string[];
  /** Extra addresses to announce (a forwarded port, a DNS name). */
  announce: string[];
  gater: ConnectionGater;
  mdns: boolean;
  /** mDNS query interval (ms); short in tests. */
  mdnsIntervalMs?: number;
  upnp: boolean;
  /** UPnP gateway description URLs; empty: search with SSDP. */
  upnpGateways?: string[];
  /** Serve as a circuit relay for the family (a reachable node). */
  relayServer: boolean;
  /** Dial through relays and listen on a relay reservation when unreachable. */
  relayClient: boolean;
  /** Who is family: relayed connections from anyone else are bounded (relay-limits.ts). */
  isFamily?: (peerId: string) => boolean;
}

export type Services = {
  identify: Identify;
  ping: Ping;
  [key: string]: unknown;
};

export type Host = Libp2p<Services>;

/**
 * Builds the libp2p host of a site: TCP + Noise + Yamux, Identify and Ping always; mDNS, UPnP
 * port mapping and circuit relay (client and/or server) as configured. It is not started.
 */
export async function createHost(cfg: HostConfig): Promise<Host> {
  const listen = [...cfg.listen];
  // '/p2p-circuit' asks the relay transport to reserve a slot on a connected family relay and
  // listen there; useful only when this node cannot be reached directly.
  if (cfg.relayClient) listen.push('/p2p-circuit');
  const services: Record<string, (c: any) => unknown> = {
    identify: identify({ runOnLimitedConnection: true }),
    // A pong can wait behind seconds of bulk data on a slow uplink: 30 s, not the default 10 s.
    ping: ping({ runOnLimitedConnection: true, timeout: 30_000 }),
  };
  if (cfg.upnp) {
    services.upnp = uPnPNAT({
      // No autonat in a family network: a mapping the gateway granted is taken as reachable.
      autoConfirmAddress: true,
      portMappingDescription: 'lomo-peer',
      ...(cfg.upnpGateways && cfg.upnpGateways.length > 0 ? { gateways: cfg.upnpGateways } : {}),
    });
  }
  if (cfg.relayServer) {
    services.relay = circuitRelayServer({
      // Family traffic (chunks of volumes) must not be cut at the relay's default 128 KiB / 2 min.
      reservations: { applyDefaultLimit: false, maxReservations: 64 },
    });
  }
  const peerDiscovery: ((c: any) => PeerDiscovery)[] = [];
  if (cfg.mdns) peerDiscovery.push(mdns({ serviceTag: MDNS_SERVICE_TAG, interval: cfg.mdnsIntervalMs ?? 10_000 }));
  const transports: any[] = [tcp()];
  if (cfg.relayClient) transports.push(circuitRelayTransport({ reservationCompletionTimeout: 20_000 }));
  const host = (await createLibp2p({
    privateKey: cfg.privateKey,
    start: false,
    addresses: { listen, appendAnnounce: cfg.announce },
    transports,
    connectionEncrypters: [noise()],
    // Yamux grows a stream's window up to 16 MiB when data flows within 4 RTTs; on a bufferbloated
    // home uplink that let 4 bulk streams queue ~64 MiB (10 s at 50 Mbit/s) ahead of every other
    // message, and pings timed out. 2 MiB per stream still fills 160 Mbit/s at 100 ms RTT.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW } })],
    connectionGater: cfg.gater,
    // Pending (not yet encrypted) inbound connections: libp2p's defaults (10 in all, 10 s each)
    // let ten idle sockets lock everyone out. The gater limits them per address
    // and in time (node/host/inbound-limit.ts), family addresses excepted; libp2p's own limits,
    // which cannot tell family from stranger, are only backstops above that.
    connectionManager: {
      maxIncomingPendingConnections: MAX_PENDING_INBOUND,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    // libp2p pings every connection every 10 s and by default aborts it when a ping fails. Behind
    // a bulk transfer on a home uplink the pong waits in the queue (seconds of bufferbloat): the
    // adaptive timeout fired, or the next ping found the previous one still open ("too many
    // outbound streams"), and connections died in the middle of transfers (found by the network
    // benchmark). The monitor keeps measuring; a dead peer is found by the transfer that stalls.
    connectionMonitor: { pingTimeout: { minTimeout: 30_000, maxTimeout: 60_000 }, abortConnectionOnPingFailure: false },
    peerDiscovery,
    services,
  } as any)) as unknown as Host;
  if (cfg.relayServer) limitStrangerRelays(host.services.relay, cfg.isFamily ?? (() => false));
  return host;
}
