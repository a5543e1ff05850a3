import type { Migration } from '../migrations.js';

/**
 * This site's own log writer state (storage/sitelog/local-log.ts): the log's origin and the key
 * its catalog deltas are sealed with, so that commands without the passphrase (scan) still log
 * what they change. K_delta is one-way from K_catalog and opens only deltas, whose content — names,
 * paths, hashes — this catalog already holds in clear; it adds nothing a reader of this file lacks.
 * The row exists from `init` on: before it, nothing is logged (init logs a snapshot).
 */
export const sitelogLocal: Migration = {
  version: 65,
  name: 'site log writer: origin and catalog delta key of this site',
  sql: `
    CREATE TABLE sitelog_local (
      id            INTEGER PRIMARY KEY CHECK (id = 1),
      origin        BLOB    NOT NULL,   -- this site's log origin (32-byte Ed25519 public key)
      delta_key     BLOB    NOT NULL,   -- K_delta (docs/sitelog-format.md 5.3)
      started_at    INTEGER NOT NULL
    );
  `,
};
