import type { Migration } from '../migrations.js';

/**
 * Site logs (docs/sitelog-format.md): every family member's signed, hash-chained log, this site's
 * included, exactly as signed; heads; forks kept as evidence; and the tables derived from the logs
 * (revocation cut-offs, membership, placement facts) that storage/sitelog/derive.ts rebuilds.
 * Sites are keyed by their 32-byte Ed25519 public key (the origin field of an entry); site_id is
 * the same key as a libp2p peer id, for joins with the rest of the catalog.
 */
export const siteLogs: Migration = {
  version: 60,
  name: 'site logs: entries per origin, heads, forks, derived membership and placement facts',
  sql: `
    -- Every accepted entry, as signed. next_signer / recovery_key: the log's keys after this entry,
    -- so checking a later entry (or a fork at any seq) needs no replay of the log.
    CREATE TABLE sitelog_entries (
      origin        BLOB    NOT NULL,
      seq           INTEGER NOT NULL CHECK (seq >= 1),
      hash          BLOB    NOT NULL,
      prev          BLOB    NOT NULL,
      kind          INTEGER NOT NULL,
      time          INTEGER NOT NULL,
      bytes         BLOB    NOT NULL,
      next_signer   BLOB    NOT NULL,
      recovery_key  BLOB,
      received_at   INTEGER NOT NULL,
      PRIMARY KEY (origin, seq)
    ) WITHOUT ROWID;
    CREATE INDEX sitelog_entries_by_kind ON sitelog_entries (kind, origin, seq);

    -- One row per log: its last entry. forked_at: a second history was seen (the site is flagged).
    CREATE TABLE sitelog_heads (
      origin        BLOB    PRIMARY KEY,
      site_id       TEXT    NOT NULL UNIQUE,
      seq           INTEGER NOT NULL,
      hash          BLOB    NOT NULL,
      updated_at    INTEGER NOT NULL,
      forked_at     INTEGER
    ) WITHOUT ROWID;

    -- Evidence of forks: every validly signed entry that conflicts with another for the same seq.
    CREATE TABLE sitelog_forks (
      id            INTEGER PRIMARY KEY,
      origin        BLOB    NOT NULL,
      seq           INTEGER NOT NULL,
      hash          BLOB    NOT NULL,
      bytes         BLOB    NOT NULL,
      reported_by   TEXT,
      detected_at   INTEGER NOT NULL,
      UNIQUE (origin, seq, hash)
    );

    -- Derived: revocations in the logs. A subject's entries after min(after_seq) are refused.
    CREATE TABLE sitelog_revocations (
      revoker       BLOB    NOT NULL,
      revoker_seq   INTEGER NOT NULL,
      subject       BLOB    NOT NULL,
      after_seq     INTEGER NOT NULL,
      PRIMARY KEY (revoker, revoker_seq)
    ) WITHOUT ROWID;
    CREATE INDEX sitelog_revocations_by_subject ON sitelog_revocations (subject);

    -- Derived: the family as the logs say, from this site outwards (derive.ts).
    CREATE TABLE sitelog_members (
      site_id       TEXT    PRIMARY KEY,
      public_key    BLOB    NOT NULL,
      via           TEXT    NOT NULL CHECK (via IN ('self', 'paired', 'introduced', 'revoked')),
      admitted_by   TEXT,                     -- the member whose signed entry admitted it
      admitted_seq  INTEGER,
      name          TEXT    NOT NULL DEFAULT '',
      revoked_by    TEXT,
      revoked_seq   INTEGER,
      revoked_after INTEGER
    );

    -- Derived: every placement entry; the newest per (holder, object, chunk) is materialized
    -- into placements once the object is known.
    CREATE TABLE sitelog_placement_facts (
      origin        BLOB    NOT NULL,
      seq           INTEGER NOT NULL,
      owner_site    TEXT    NOT NULL,
      object_id     BLOB    NOT NULL,
      chunk_idx     INTEGER NOT NULL,         -- -1: the whole object
      holder_site   TEXT,
      tier_url      TEXT,
      state         INTEGER NOT NULL,         -- 1 held, 2 gone
      verified_at   INTEGER NOT NULL,
      PRIMARY KEY (origin, seq),
      CHECK ((holder_site IS NULL) <> (tier_url IS NULL))
    ) WITHOUT ROWID;
    CREATE INDEX sitelog_placement_facts_by_object ON sitelog_placement_facts (owner_site, object_id);

    -- Placements rows that derive.ts created (a rebuild deletes exactly these).
    CREATE TABLE sitelog_derived_placements (
      placement_id  INTEGER PRIMARY KEY REFERENCES placements(id)
    );
  `,
};
