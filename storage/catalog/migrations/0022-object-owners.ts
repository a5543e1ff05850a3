import type { Migration } from '../migrations.js';

/**
 * Objects of the whole family. A site now also records objects of other households (it holds
 * their chunks, or uploads them as the coordinator), so every object names its owner: the site id
 * (libp2p peer id text, as in site_keys.site_id) of the household whose data it is. This site's
 * rows get its own site id, a real id rather than a "local" marker, so that a row means the same
 * thing in every family member's catalog and in the site logs.
 *
 * Another site's object is known only from that site's public log: object id, sizes, layout,
 * cipher hash, chunk hashes and Merkle roots, never the plaintext hash (DESIGN: plaintext hashes
 * stay encrypted under the owner's key). So plain_sha256 becomes optional, and an object without
 * it links to no local volume or file. An object is identified by (owner, object id), the pair its
 * family cloud key is made of (storage/naming/object-keys.ts).
 *
 * A chunk's owner is its object's owner (chunks.object_row), so chunks need no column of their own.
 *
 * SQLite cannot relax NOT NULL in place: the table is rebuilt (chunks and placements reference it
 * by name and by row id, both kept), with foreign keys off as SQLite's rebuild procedure says.
 */
export const objectOwners: Migration = {
  version: 22,
  name: 'objects: owning site of every object; objects of other sites (no plaintext hash)',
  rebuildsTables: true,
  sql: `
    CREATE TABLE objects_new (
      id              INTEGER PRIMARY KEY,
      owner_site      TEXT    NOT NULL,             -- site id (libp2p peer id) whose data this is
      object_id       BLOB    NOT NULL,             -- 16 random bytes; hex in tier keys
      kind            TEXT    NOT NULL CHECK (kind IN ('volume', 'file', 'manifest')),
      volume_id       INTEGER REFERENCES volumes(id),  -- volume, or the volume a manifest describes
      file_id         INTEGER REFERENCES files(id),    -- staging file
      format_version  INTEGER NOT NULL,
      message_size    INTEGER NOT NULL,
      chunk_plain     INTEGER NOT NULL,             -- plaintext bytes per chunk
      leaf_size       INTEGER NOT NULL,             -- Merkle leaf size over chunk ciphertext
      plain_size      INTEGER NOT NULL,
      plain_sha256    BLOB,                         -- NULL: another site's object (only its owner knows)
      cipher_size     INTEGER NOT NULL,
      cipher_sha256   BLOB    NOT NULL,
      chunk_count     INTEGER NOT NULL,
      created_at      INTEGER NOT NULL,
      UNIQUE (owner_site, object_id),
      CHECK (plain_sha256 IS NOT NULL OR (volume_id IS NULL AND file_id IS NULL))
    );
    -- Every object written so far is this site's own: site_keys holds its id (no object is written
    -- before init creates that row).
    INSERT INTO objects_new (id, owner_site, object_id, kind, volume_id, file_id, format_version, message_size, chunk_plain,
                             leaf_size, plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at)
      SELECT id, (SELECT site_id FROM site_keys WHERE id = 1), object_id, kind, volume_id, file_id, format_version, message_size,
             chunk_plain, leaf_size, plain_size, plain_sha256, cipher_size, cipher_sha256, chunk_count, created_at
        FROM objects;
    DROP TABLE objects;
    ALTER TABLE objects_new RENAME TO objects;
    CREATE INDEX objects_by_volume ON objects (volume_id);
    CREATE INDEX objects_by_file ON objects (file_id);
    CREATE INDEX objects_by_object_id ON objects (object_id);
  `,
};
