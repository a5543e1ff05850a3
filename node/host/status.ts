import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Db } from '../../storage/catalog/db.js';
import { listPeers, localSiteName, markSeen, type PeerRow } from '../../storage/trust/peers.js';
import type { LomoNode } from './lomo-node.js';

/** What `lomo-peer status` shows: this site, then each trusted peer. */
export interface PeerStatus {
  peerId: string;
  name: string;
  online: boolean;
  lastSeenAt: number | null;
  address: string | null;
  rttMs: number | null;
  introducedBy: string | null;
  quotaOffered: number | null;
  quotaGranted: number | null;
}

export interface StatusReport {
  site: { peerId: string; name: string; nodeRunning: boolean; addrs: string[] };
  peers: PeerStatus[];
}

const PING_TIMEOUT_MS = 5_000;

function fromRow(p: PeerRow): PeerStatus {
  return {
    peerId: p.peerId,
    name: p.name,
    online: false,
    lastSeenAt: p.lastSeenAt,
    address: p.lastAddr,
    rttMs: null,
    introducedBy: p.introducedBy,
    quotaOffered: p.quotaOffered,
    quotaGranted: p.quotaGranted,
  };
}

/** Status from the catalog alone (no node running): everyone offline, last known facts. */
export function catalogStatus(db: Db, siteId: string): StatusReport {
  return {
    site: { peerId: siteId, name: localSiteName(db) ?? '', nodeRunning: false, addrs: [] },
    peers: listPeers(db).map(fromRow),
  };
}

/** Live status from the running node: pings every connected peer (in parallel) for its RTT. */
export async function liveStatus(node: LomoNode): Promise<StatusReport> {
  const peers = await Promise.all(
    listPeers(node.db).map(async (p) => {
      const s = fromRow(p);
      // One row whose id does not parse (stored by an older version) must not fail the whole
      // status: it shows offline, and maintenance removes it.
      let pid: PeerId;
      try {
        pid = peerIdFromString(p.peerId);
      } catch {
        return s;
      }
      const conns = node.host.getConnections(pid);
      if (conns.length === 0) return s;
      // A direct connection is the interesting address when there are several (relay fallback).
      const best = conns.find((c) => !c.remoteAddr.toString().includes('/p2p-circuit')) ?? conns[0]!;
      try {
        s.rttMs = await node.host.services.ping.ping(pid, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) });
      } catch {
        // A connection that cannot carry a ping is not a peer that is online: e.g. our redial of a
        // household that revoked us opens on our side for a moment before its gater closes it.
        return s;
      }
      s.online = true;
      s.address = best.remoteAddr.toString();
      s.lastSeenAt = Date.now();
      try {
        markSeen(node.db, p.peerId, s.address, s.rttMs, s.lastSeenAt);
      } catch {
        // the status is still right; the catalog write is retried by the next status
      }
      return s;
    }),
  );
  return { site: { peerId: node.peerId, name: node.siteName(), nodeRunning: true, addrs: node.addrs() }, peers };
}
