import type { Migration } from '../migrations.js';

/**
 * Signed membership (issue 14, point 4). The family is what the site logs' membership entries
 * say (storage/sitelog/derive.ts); these tables make that computable without a passphrase:
 *   - which log is this site's own (a site that never ran `init` has no site_keys row, yet it
 *     pairs, so it has a log and is the root of its own view of the family);
 *   - re-admissions: a member's *paired* entry for a site that the same member's log revoked
 *     before it. It lifts the revocations of that site whose cut-off it covers (docs/sitelog-format.md §6).
 */
export const signedMembership: Migration = {
  version: 63,
  name: 'site logs: the local log, re-admissions after a revocation',
  sql: `
    CREATE TABLE sitelog_local (
      id            INTEGER PRIMARY KEY CHECK (id = 1),
      origin        BLOB    NOT NULL
    );

    -- Derived (store.ts): a paired entry (origin, seq) for subject, after a revoked entry of the
    -- same subject in the same log; covers_after is the largest cut-off those revocations named.
    CREATE TABLE sitelog_readmissions (
      origin        BLOB    NOT NULL,
      seq           INTEGER NOT NULL,
      subject       BLOB    NOT NULL,
      covers_after  INTEGER NOT NULL,
      PRIMARY KEY (origin, seq)
    ) WITHOUT ROWID;
    CREATE INDEX sitelog_readmissions_by_subject ON sitelog_readmissions (subject);
  `,
};
