import type { Db } from '../catalog/db.js';
import type { Tier } from '../tiers/tier.js';
import { processAlive } from '../util/process-alive.js';

/**
 * Objects being written (migration 21). A writer that is killed (SIGKILL, power loss) cannot clean
 * up after itself: its stored chunks and temporary files would stay in the object store, unreferenced,
 * for ever (up to a whole volume). So a writer records the object id first, `saveObject` removes
 * the record in the transaction that records the finished object, and the next writer sweeps the
 * records of processes that are gone: it removes everything the tier holds under that object id.
 */
export function markPending(db: Db, objectId: Buffer, tierUrl: string): void {
  db.prepare('INSERT OR REPLACE INTO pending_objects (object_id, tier_url, pid, started_at) VALUES (?, ?, ?, ?)').run(objectId, tierUrl, process.pid, Date.now());
}

/** Inside the transaction that records the object (storage/objects/catalog.ts saveObject). */
export function clearPending(db: Db, objectId: Buffer): void {
  db.prepare('DELETE FROM pending_objects WHERE object_id = ?').run(objectId);
}

/**
 * Removes the leftovers of writers that are gone from the tiers `open` can reach (by URL; others
 * are kept for later). Returns how many objects were removed.
 */
export async function sweepPending(db: Db, open: (tierUrl: string) => Tier | null): Promise<number> {
  const rows = db.prepare('SELECT object_id, tier_url, pid FROM pending_objects').all() as { object_id: Buffer; tier_url: string; pid: number }[];
  let removed = 0;
  for (const r of rows) {
    if (processAlive(r.pid)) continue;
    const tier = open(r.tier_url);
    if (!tier?.purge) continue;
    // Recorded objects are never purged, whatever the pending table says.
    if (db.prepare('SELECT 1 FROM objects WHERE object_id = ?').get(r.object_id)) {
      clearPending(db, r.object_id);
      continue;
    }
    await tier.purge(r.object_id.toString('hex'));
    clearPending(db, r.object_id);
    removed++;
  }
  return removed;
}
