import type { Migration } from '../migrations.js';

/**
 * Objects being written. A writer records its object here before the first chunk is stored; the
 * transaction that records the finished object removes the row. A row whose process is gone is a
 * killed writer's leftovers (stored chunks, temporary files): the next writer removes them from
 * the tier and drops the row (storage/objects/pending.ts).
 */
export const pendingObjects: Migration = {
  version: 21,
  name: 'objects: pending objects of running writers',
  sql: `
    CREATE TABLE pending_objects (
      object_id   BLOB    PRIMARY KEY,
      tier_url    TEXT    NOT NULL,   -- where its chunks go
      pid         INTEGER NOT NULL,   -- the writing process
      started_at  INTEGER NOT NULL
    );
  `,
};
