import type { Migration } from '../migrations.js';

/**
 * This site's placement policy (storage/replication/policy.ts, docs/replication.md "Chunk
 * replication"): how many other households keep each sealed volume and manifest object, and after
 * how long without contact a holder no longer counts. One row (id = 1); a missing row or a NULL
 * column means the default. Set with `lomo-peer node --replicas N --holder-stale 14d`.
 */
export const replicationPolicy: Migration = {
  version: 79,
  name: 'replication policy: replicas per volume object, holder staleness',
  sql: `
    CREATE TABLE replication_policy (
      id               INTEGER PRIMARY KEY CHECK (id = 1),
      replicas         INTEGER CHECK (replicas IS NULL OR replicas BETWEEN 0 AND 16),  -- NULL: 2
      holder_stale_ms  INTEGER CHECK (holder_stale_ms IS NULL OR holder_stale_ms > 0)  -- NULL: 14 days
    );
  `,
};
