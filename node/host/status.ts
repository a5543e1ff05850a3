import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { Db } from '../../storage/catalog/db.js';
import { listPeers, localSiteName, markSeen, type PeerRow } from '../../storage/trust/peers.js';
import { peerHeads } from '../../storage/sitelog/replicas.js';
import { heads } from '../../storage/sitelog/store.js';
import type { LomoNode } from './lomo-node.js';
import { Accounts } from '../../storage/peerstore/accounts.js';
import { quarantinedChunks } from '../../storage/peerstore/store.js';
import { ownHousehold, peerUsages, type PeerUsage } from './peer-usage.js';
import type { ScrubStats } from './hosted-scrub.js';
import type { ReplicationReport } from './replicator.js';
import { placementFromCatalog } from '../../storage/replication/catalog.js';
import type { PlacementSummary } from '../../storage/replication/planner.js';

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
  /** The site logs this peer acknowledged holding (log sync), per log: site id, last seq, when. */
  logHeads: { siteId: string; seq: number; ackedAt: number }[];
  /** Storage both ways: kept here for it, kept there for us (peer-usage.ts). */
  usage: PeerUsage;
}

/** The chunks this site keeps for other households (storage/peerstore). */
export interface HostedStatus {
  /** Households with a quota or chunks here. */
  owners: number;
  usedBytes: number;
  chunkCount: number;
  /** Chunks found not to match their hash (by a get or the scrub), kept in the quarantine folder. */
  quarantined: number;
  /** The scrub since the node started; null when no node runs. */
  scrub: ScrubStats | null;
}

/** The site logs this catalog holds. */
export interface LogsStatus {
  /** This site's own log: its last entry (0: none yet). */
  seq: number;
  /** Logs held, this site's included. */
  held: { siteId: string; seq: number; forked: boolean }[];
  /** Sites whose log forked (two signed histories; evidence kept). */
  forked: string[];
}

export interface StatusReport {
  site: { peerId: string; name: string; nodeRunning: boolean; addrs: string[] };
  peers: PeerStatus[];
  logs: LogsStatus;
  hosted: HostedStatus;
  /** This site's placement goal (docs/replication.md "Chunk replication"); `sent` only from a running node. */
  placement: PlacementSummary & { sent?: ReplicationReport['sent']; refused?: ReplicationReport['refused'] };
}

const PING_TIMEOUT_MS = 5_000;

function fromRow(db: Db, p: PeerRow, usage: Map<string, PeerUsage>): PeerStatus {
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
    logHeads: peerHeads(db, p.peerId).map((h) => ({ siteId: h.siteId, seq: h.seq, ackedAt: h.ackedAt })),
    usage: usage.get(p.peerId)!,
  };
}

function hostedStatus(db: Db, hostedRoot: string | null, scrub: ScrubStats | null): HostedStatus {
  const owners = new Accounts(db).all();
  return {
    owners: owners.length,
    usedBytes: owners.reduce((n, o) => n + o.usedBytes, 0),
    chunkCount: owners.reduce((n, o) => n + o.chunkCount, 0),
    quarantined: hostedRoot === null ? 0 : quarantinedChunks(hostedRoot).length,
    scrub,
  };
}

function logsStatus(db: Db, siteId: string): LogsStatus {
  const held = heads(db).map((h) => ({ siteId: h.siteId, seq: h.seq, forked: h.forked }));
  return { seq: held.find((h) => h.siteId === siteId)?.seq ?? 0, held, forked: held.filter((h) => h.forked).map((h) => h.siteId) };
}

/**
 * Status from the catalog alone (no node running): everyone offline, last known facts.
 * `hostedRoot`: the peer store's folder, whose quarantine is counted (null: not counted).
 */
export function catalogStatus(db: Db, siteId: string, hostedRoot: string | null = null): StatusReport {
  const peers = listPeers(db);
  const usage = peerUsages(db, ownHousehold(db, siteId), peers);
  return {
    site: { peerId: siteId, name: localSiteName(db) ?? '', nodeRunning: false, addrs: [] },
    peers: peers.map((p) => fromRow(db, p, usage)),
    logs: logsStatus(db, siteId),
    hosted: hostedStatus(db, hostedRoot, null),
    placement: placementFromCatalog(db),
  };
}

/** Live status from the running node: pings every connected peer (in parallel) for its RTT. */
export async function liveStatus(node: LomoNode): Promise<StatusReport> {
  const rows = listPeers(node.db);
  const usage = peerUsages(node.db, ownHousehold(node.db, node.peerId), rows);
  const peers = await Promise.all(
    rows.map(async (p) => {
      const s = fromRow(node.db, p, usage);
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
  return {
    site: { peerId: node.peerId, name: node.siteName(), nodeRunning: true, addrs: node.addrs() },
    peers,
    logs: logsStatus(node.db, node.peerId),
    hosted: hostedStatus(node.db, node.hosted.root, node.scrub.stats()),
    placement: node.replicator?.report() ?? placementFromCatalog(node.db),
  };
}
