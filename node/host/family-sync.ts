import type { Db } from '../../storage/catalog/db.js';
import { headOf } from '../../storage/sitelog/store.js';
import { peerHasHead } from '../../storage/sitelog/replicas.js';
import { keyOfSiteId } from '../../storage/sitelog/site-id.js';
import { localOrigin } from '../../storage/sitelog/local.js';
import { listPeers } from '../../storage/trust/peers.js';
import type { LogSync, SyncResult } from '../../protocol/log/index.js';
import { log } from '../log.js';
import type { Replicator, ReplicationReport } from './replicator.js';

/**
 * `lomo-peer sync` on the running node (issue 14, 6; issue 15, 5): this site's placement goal
 * first, then its log to every online member, and with `--wait` until they hold its head.
 */

/** What of the node a family sync uses. */
export interface FamilySyncParts {
  db: Db;
  peerId: string;
  logs: LogSync;
  replicator: Replicator | null;
  connected(peerId: string): boolean;
}

/**
 * `lomo-peer sync`: exchanges site logs with every connected member now. With `wait`, keeps
 * exchanging until each of them has acknowledged this site's head (or the time is up). Every
 * trusted member that does not hold the head at the end is listed in `missing`.
 */
export async function syncFamily(n: FamilySyncParts, opts: { wait: boolean; timeoutMs: number }): Promise<SyncReport> {
  const end = Date.now() + opts.timeoutMs;
  // Placement first: its log entries are part of the head the family is then waited for.
  const placement = await syncPlacement(n.replicator, opts.wait, end);
  // This site's own log: after `recover`, the household's (its origin is the lost machine's key).
  const self = localOrigin(n.db) ?? keyOfSiteId(n.peerId);
  const members = listPeers(n.db).filter((p) => p.state === 'trusted');
  const results = new Map<string, SyncResult>();
  const errors = new Map<string, string>();
  const exchange = async (ids: string[]) =>
    Promise.all(
      ids.map(async (id) => {
        try {
          results.set(id, await withDeadline(n.logs.sync(id), end - Date.now()));
          errors.delete(id);
        } catch (err) {
          errors.set(id, (err as Error).message);
        }
      }),
    );
  const head = () => headOf(n.db, self);
  const acked = (id: string) => {
    const h = head();
    return !h || peerHasHead(n.db, id, self, h.seq, h.hash);
  };
  let online = members.filter((p) => n.connected(p.peerId)).map((p) => p.peerId);
  await exchange(online);
  while (opts.wait && Date.now() < end) {
    online = members.filter((p) => n.connected(p.peerId)).map((p) => p.peerId);
    const lagging = online.filter((id) => !acked(id));
    if (lagging.length === 0) break;
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, end - Date.now()))));
    await exchange(lagging);
  }
  const h = head();
  const peers = members.map((p) => {
    const r = results.get(p.peerId);
    return {
      peerId: p.peerId,
      name: p.name,
      online: n.connected(p.peerId),
      acknowledged: acked(p.peerId),
      sent: r?.sent ?? 0,
      received: r?.received ?? 0,
      error: errors.get(p.peerId) ?? null,
    };
  });
  return {
    site: n.peerId,
    head: h ? { seq: h.seq, hash: h.hash.toString('hex') } : { seq: 0, hash: null },
    peers,
    missing: peers.filter((p) => !p.acknowledged).map((p) => ({ peerId: p.peerId, name: p.name, online: p.online })),
    placement: placement ?? n.replicator?.report() ?? null,
  };
}

/**
 * This site's placement goal for `sync`: one round now (in the background without `wait`); with
 * `wait`, rounds until every object has its holders, or nothing more can be placed now (the
 * report says why), or the time is up.
 */
async function syncPlacement(r: Replicator | null, wait: boolean, end: number): Promise<ReplicationReport | null> {
  if (!r) return null;
  if (!wait) {
    void r.round().catch((err) => log.warn(`replication round failed: ${(err as Error).message}`));
    return null;
  }
  let report = await withDeadline(r.round(), end - Date.now()).catch(() => r.report());
  // Go on while something can be sent now, or a connected holder's backoff ends in time.
  const more = (x: ReplicationReport) => x.met < x.objects && (x.placing > 0 || (x.retryAt !== null && x.retryAt < end));
  while (more(report) && Date.now() < end) {
    const pause = report.placing > 0 ? 500 : Math.max(100, (report.retryAt ?? 0) - Date.now());
    await new Promise((res) => setTimeout(res, Math.min(pause, Math.max(0, end - Date.now()))));
    report = await withDeadline(r.round(), end - Date.now()).catch(() => r.report());
  }
  return report;
}

export interface SyncReport {
  site: string;
  /** This site's own log head. */
  head: { seq: number; hash: string | null };
  peers: { peerId: string; name: string; online: boolean; acknowledged: boolean; sent: number; received: number; error: string | null }[];
  /** Trusted members that have not acknowledged the head (offline ones included). */
  missing: { peerId: string; name: string; online: boolean }[];
  /** This site's placement goal (null: this node does not replicate). */
  placement: ReplicationReport | null;
}

/** Rejects after `ms` (the exchange itself goes on in the background and ends on its own limits). */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no answer before the deadline')), Math.max(0, ms));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
