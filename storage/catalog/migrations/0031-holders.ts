import type { Migration } from '../migrations.js';

/**
 * Placements for the family: a holder — a cloud or folder tier (its URL) or a peer site (its site
 * id) — holds a whole object or a single chunk of it, of this site or of another one, verified
 * when. Rows of migration 30 keep their meaning: volume_id / file_id still say which of this
 * site's volumes or staging files a tier copy is of (the lomob-style uploads, restores and
 * listings read them), and they now also point at the object they hold when one matches (same
 * volume or file, cipher size and hash; a plain --no-encrypt image has no object).
 *
 * Which columns a row fills:
 *   holder     exactly one of tier_url (then key is the object key in that tier) and peer_site;
 *   what       object_row, and chunk_idx when the holder has only that chunk (NULL: the whole
 *              object); volume_id / file_id as before for this site's copies; at least one of them.
 *
 * The CHECK of migration 30 (exactly one of volume_id, file_id) is replaced, so the table is
 * rebuilt; nothing references placements, and ids are kept.
 */
export const holders: Migration = {
  version: 31,
  name: 'placements: holders (tiers and peer sites) of whole objects or single chunks of any site',
  sql: `
    CREATE TABLE placements_new (
      id             INTEGER PRIMARY KEY,
      volume_id      INTEGER REFERENCES volumes(id),
      file_id        INTEGER REFERENCES files(id),
      object_row     INTEGER REFERENCES objects(id),   -- the object held (any site's)
      chunk_idx      INTEGER,                          -- NULL: the whole object; n: only chunk n
      tier_url       TEXT,                             -- holder: a cloud/folder tier ...
      peer_site      TEXT,                             -- ... or a peer site (its site id)
      key            TEXT,                             -- object key inside tier_url
      remote_id      TEXT,                             -- Drive file id, S3 ETag
      size           INTEGER NOT NULL,
      sha256         BLOB,                             -- of the stored (cipher) bytes
      storage_class  TEXT,
      region         TEXT,
      created_at     INTEGER NOT NULL,
      verified_at    INTEGER NOT NULL,
      deleted_at     INTEGER,
      FOREIGN KEY (object_row, chunk_idx) REFERENCES chunks(object_row, idx),
      CHECK ((tier_url IS NULL) <> (peer_site IS NULL)),
      CHECK (tier_url IS NULL OR key IS NOT NULL),
      CHECK (volume_id IS NULL OR file_id IS NULL),
      CHECK (volume_id IS NOT NULL OR file_id IS NOT NULL OR object_row IS NOT NULL),
      CHECK (chunk_idx IS NULL OR object_row IS NOT NULL)
    );
    INSERT INTO placements_new (id, volume_id, file_id, object_row, tier_url, key, remote_id, size, sha256, storage_class, region,
                                created_at, verified_at, deleted_at)
      SELECT p.id, p.volume_id, p.file_id,
             (SELECT o.id FROM objects o
               WHERE (o.volume_id = p.volume_id OR o.file_id = p.file_id) AND o.cipher_size = p.size
                 AND (p.sha256 IS NULL OR o.cipher_sha256 = p.sha256)
               ORDER BY o.id DESC LIMIT 1),
             p.tier_url, p.key, p.remote_id, p.size, p.sha256, p.storage_class, p.region, p.created_at, p.verified_at, p.deleted_at
        FROM placements p;
    DROP TABLE placements;
    ALTER TABLE placements_new RENAME TO placements;
    CREATE UNIQUE INDEX placements_live ON placements (tier_url, key) WHERE deleted_at IS NULL;
    CREATE UNIQUE INDEX placements_live_at_site ON placements (peer_site, object_row, ifnull(chunk_idx, -1))
      WHERE deleted_at IS NULL AND peer_site IS NOT NULL;
    CREATE INDEX placements_by_volume ON placements (volume_id);
    CREATE INDEX placements_by_file ON placements (file_id);
    CREATE INDEX placements_by_object ON placements (object_row);
  `,
};
