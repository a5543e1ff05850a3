import type { Migration } from '../migrations.js';

/**
 * Introductions and invite cancellation (issue 13). Until signed membership entries exist, a
 * site keeps who introduced each household and how it came to be trusted, so that one hostile
 * member's introductions can be held back (pending), capped and revoked with it.
 */
export const introductions: Migration = {
  version: 41,
  name: 'peers: how an introduced site is confirmed and who relayed it; invites: cancelled',
  sql: `
    -- NULL: paired directly (invite/join) or stored before this migration (both trusted).
    -- 'pairing': in the welcome of a pairing this site made (its person pasted the code);
    -- 'witnessed': introduced by the inviter while this site saw that member's invite open;
    -- 'person': confirmed by \`lomo-peer peers confirm\`;
    -- 'pending': not dialled, refused by the gater, until one of the above.
    ALTER TABLE peers ADD COLUMN confirmation TEXT;
    -- The member whose roster (or welcome) brought the site here; introduced_by is the original
    -- introducer it named. Both count against the introduction cap (storage/trust/introductions.ts).
    ALTER TABLE peers ADD COLUMN relayed_by TEXT;
    CREATE INDEX peers_introduced_by ON peers (introduced_by);
    CREATE INDEX peers_relayed_by ON peers (relayed_by);

    ALTER TABLE invites ADD COLUMN cancelled_at INTEGER;
  `,
};
