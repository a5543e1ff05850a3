import type { Migration } from '../migrations.js';

/**
 * This site's own log writer state (storage/sitelog/local-log.ts): the log's origin and the key
 * its catalog deltas are sealed with, so that commands without the passphrase (scan) still log
 * what they change. K_delta is one-way from K_catalog and opens only deltas, whose content — names,
 * paths, hashes — this catalog already holds in clear; it adds nothing a reader of this file lacks.
 * delta_key is set from `init` on: before it, no catalog change is logged (init logs a snapshot);
 * the row itself may exist earlier, when the site paired before init (its membership entries).
 */
export const sitelogLocal: Migration = {
  version: 65,
  name: 'site log writer: origin and catalog delta key of this site',
  sql: `
    -- sitelog_local (id = 1, origin) is created by migration 63; the writer's state joins it.
    ALTER TABLE sitelog_local ADD COLUMN delta_key BLOB;      -- K_delta (docs/sitelog-format.md 5.3); NULL before init
    ALTER TABLE sitelog_local ADD COLUMN started_at INTEGER;  -- when init started logging catalog changes
  `,
};
