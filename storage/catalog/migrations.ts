/**
 * Numbered catalog migrations. Each runs once, in its own transaction, in ascending order;
 * the numbers applied are recorded in `schema_migrations`. Numbers may have gaps (features land
 * independently), but a number is never reused or edited once released: add a new one instead.
 *
 * Reserved ranges, so that parallel work never collides:
 *   1–9    foundation (scan roots, dirs, files, volumes, upload parts)
 *   10–19  ISO volumes and their file extents
 *   20–29  encrypted objects, chunks, site keys
 *   30–39  tiers, uploads, placements, cost
 *   40–49  peers, pairing, per-site logs
 *   50–59  verification results, reports, alerts
 *   60–69  site logs: entries, heads, forks, what is derived from them
 *   70–79  peer store: other households' chunks hosted here, per-owner quotas
 */
import { foundation } from './migrations/0001-foundation.js';
import { isoVolumes } from './migrations/0010-iso-volumes.js';
import { objects } from './migrations/0020-objects.js';
import { pendingObjects } from './migrations/0021-pending-objects.js';
import { objectOwners } from './migrations/0022-object-owners.js';
import { peers } from './migrations/0040-peers.js';
import { introductions } from './migrations/0041-introductions.js';
import { cloud } from './migrations/0030-cloud.js';
import { holders } from './migrations/0031-holders.js';
import { siteLogs } from './migrations/0060-site-logs.js';
import { signedMembership } from './migrations/0063-signed-membership.js';
import { sitelogPeerHeads } from './migrations/0061-sitelog-peer-heads.js';
import { sitelogLocal } from './migrations/0065-sitelog-local.js';
import { peerStore } from './migrations/0070-peer-store.js';
import { hostedCheckOrder } from './migrations/0071-hosted-check-order.js';
import { replicationPolicy } from './migrations/0079-replication-policy.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * The migration rebuilds a table that other tables reference (SQLite cannot change a column's
   * constraints in place). It then runs with foreign keys off, as SQLite's documented rebuild
   * procedure requires, and its transaction commits only if `PRAGMA foreign_key_check` finds no
   * violation afterwards.
   */
  readonly rebuildsTables?: boolean;
}

/** Every migration this build knows. Add new ones here, one file each under migrations/. */
const migrations: readonly Migration[] = [foundation, isoVolumes, objects, pendingObjects, objectOwners, peers, introductions, cloud, holders, siteLogs, sitelogPeerHeads, signedMembership, sitelogLocal, peerStore, hostedCheckOrder, replicationPolicy];

export function allMigrations(): readonly Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.version === sorted[i - 1]!.version) throw new Error(`catalog migration ${sorted[i]!.version} defined twice`);
  }
  return sorted;
}
