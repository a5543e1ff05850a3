import type { Db } from '../catalog/db.js';
import type { ObjectKind } from '../objects/format.js';

/**
 * This site's placement policy (issue 15, point 3; docs/replication.md "Chunk replication"): how
 * many other households keep each of its objects, and when a holder stops counting. Stored in the
 * catalog (migration 79), so every process of the site (the node, `sync`, `status`) reads the same.
 */
export interface ReplicationPolicy {
  /** Other households that keep each sealed volume and manifest object. */
  replicas: number;
  /** A holder not seen for longer than this no longer counts (its copies are placed again elsewhere). */
  holderStaleMs: number;
}

export const DEFAULT_REPLICAS = 2;
export const MAX_REPLICAS = 16;
export const DEFAULT_HOLDER_STALE_MS = 14 * 24 * 3600_000;
/**
 * Staging `file` objects go to one household: they are short-lived (dropped once their files are in
 * an archived volume) and Drive keeps a staged copy too.
 */
export const STAGING_REPLICAS = 1;

export function loadPolicy(db: Db): ReplicationPolicy {
  const r = db.prepare('SELECT replicas, holder_stale_ms FROM replication_policy WHERE id = 1').get() as
    | { replicas: number | null; holder_stale_ms: number | null }
    | undefined;
  return { replicas: r?.replicas ?? DEFAULT_REPLICAS, holderStaleMs: r?.holder_stale_ms ?? DEFAULT_HOLDER_STALE_MS };
}

/** Stores what is given (undefined keeps the stored value). */
export function savePolicy(db: Db, p: Partial<ReplicationPolicy>): ReplicationPolicy {
  if (p.replicas !== undefined && !(Number.isInteger(p.replicas) && p.replicas >= 0 && p.replicas <= MAX_REPLICAS)) {
    throw new RangeError(`replicas must be a whole number from 0 to ${MAX_REPLICAS}`);
  }
  if (p.holderStaleMs !== undefined && !(Number.isFinite(p.holderStaleMs) && p.holderStaleMs > 0)) throw new RangeError('the holder staleness must be positive');
  db.prepare(
    `INSERT INTO replication_policy (id, replicas, holder_stale_ms) VALUES (1, ?, ?)
     ON CONFLICT(id) DO UPDATE SET replicas = coalesce(excluded.replicas, replicas), holder_stale_ms = coalesce(excluded.holder_stale_ms, holder_stale_ms)`,
  ).run(p.replicas ?? null, p.holderStaleMs === undefined ? null : Math.round(p.holderStaleMs));
  return loadPolicy(db);
}

/** How many households should hold an object of this kind. */
export function goalOf(kind: ObjectKind, policy: ReplicationPolicy): number {
  return kind === 'file' ? Math.min(STAGING_REPLICAS, policy.replicas) : policy.replicas;
}
