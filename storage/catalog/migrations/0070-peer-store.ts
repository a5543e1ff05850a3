import type { Migration } from '../migrations.js';

/**
 * The peer store (issue 15): chunks other households send this site to keep, and what each owner
 * may use. A chunk row is written in the same transaction that adds its size to the owner's usage,
 * so `used_bytes` and `chunk_count` always equal the sums over `hosted_chunks` (docs/peer-store.md).
 */
export const peerStore: Migration = {
  version: 70,
  name: 'peer store: hosted chunks of other households and per-owner quotas',
  sql: `
    CREATE TABLE hosted_owners (
      owner_site   TEXT    PRIMARY KEY,      -- site id (libp2p peer id) whose chunks these are
      quota_bytes  INTEGER,                  -- NULL: no quota agreed (no limit)
      used_bytes   INTEGER NOT NULL DEFAULT 0,
      chunk_count  INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE hosted_chunks (
      owner_site   TEXT    NOT NULL REFERENCES hosted_owners(owner_site),
      sha256       BLOB    NOT NULL CHECK (length(sha256) = 32),  -- of the stored bytes
      size         INTEGER NOT NULL,
      stored_at    INTEGER NOT NULL,         -- ms since the epoch
      verified_at  INTEGER NOT NULL,         -- last time the bytes were hashed and matched
      PRIMARY KEY (owner_site, sha256)
    ) WITHOUT ROWID;
  `,
};
