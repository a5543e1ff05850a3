import type { Migration } from '../migrations.js';

/**
 * What each family member has acknowledged holding of every site log (the log sync protocol,
 * docs/replication.md): the heads it sent at the start of an exchange and after it. `lomo-peer
 * sync --wait` waits until every online member holds this site's head; `status --json` shows them.
 */
export const sitelogPeerHeads: Migration = {
  version: 61,
  name: 'site logs: heads acknowledged by each peer',
  sql: `
    CREATE TABLE sitelog_peer_heads (
      peer_site     TEXT    NOT NULL,         -- the member that acknowledged
      origin        BLOB    NOT NULL,         -- whose log (32-byte key)
      site_id       TEXT    NOT NULL,         -- the same as a site id
      seq           INTEGER NOT NULL,
      hash          BLOB    NOT NULL,
      acked_at      INTEGER NOT NULL,
      PRIMARY KEY (peer_site, origin)
    ) WITHOUT ROWID;
  `,
};
