import type { Migration } from '../migrations.js';

/**
 * Peers (trusted households) and the invitations that created them. A site's own name lives in
 * `local_site` (one row) so that pairing can announce it without a config file.
 */
export const peers: Migration = {
  version: 40,
  name: 'peers: trusted sites, invitations, local site name',
  sql: `
    -- Every household this site has paired with (directly or introduced by a family member).
    -- A revoked peer keeps its row (revoked_at set): the gater refuses it and a family member's
    -- roster cannot re-introduce it.
    CREATE TABLE peers (
      peer_id        TEXT    PRIMARY KEY,
      name           TEXT    NOT NULL,             -- what this site calls it (label)
      site_name      TEXT    NOT NULL DEFAULT '',  -- what it calls itself
      addrs          TEXT    NOT NULL DEFAULT '[]',-- JSON array of multiaddr strings last known
      quota_offered  INTEGER,                      -- bytes this site stores for it (NULL: not set)
      quota_granted  INTEGER,                      -- bytes it stores for this site (NULL: not set)
      introduced_by  TEXT,                         -- NULL: paired directly by invite/join
      paired_at      INTEGER NOT NULL,
      last_seen_at   INTEGER,
      last_addr      TEXT,
      rtt_ms         REAL,
      revoked_at     INTEGER
    );

    -- Invitations issued by this site. The secret is erased once the invite is used or expired.
    CREATE TABLE invites (
      id             TEXT    PRIMARY KEY,          -- hex of the public invite id in the code
      secret         BLOB,
      label          TEXT    NOT NULL DEFAULT '',
      quota_offered  INTEGER,
      created_at     INTEGER NOT NULL,
      expires_at     INTEGER NOT NULL,
      used_at        INTEGER,
      used_by        TEXT,
      failed_attempts INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE local_site (
      id         INTEGER PRIMARY KEY CHECK (id = 1),
      name       TEXT    NOT NULL
    );
  `,
};
