import type { Migration } from '../migrations.js';

/**
 * Site keys (KDF parameters and key check, never a key), encrypted objects and their chunks.
 * An object row is written in the same transaction as all its chunk rows, after every chunk is
 * stored and verified by the tier: a row means "this object exists in full".
 */
export const objects: Migration = {
  version: 20,
  name: 'objects: site key parameters, encrypted objects, chunks',
  sql: `
    -- One row: how this site's passphrase becomes its master key, and the check value that lets
    -- every command say "wrong passphrase" before touching data. Also printed in the recovery kit.
    CREATE TABLE site_keys (
      id              INTEGER PRIMARY KEY CHECK (id = 1),
      site_id         TEXT    NOT NULL,             -- libp2p peer id (node/identity.ts)
      format_version  INTEGER NOT NULL,             -- object format written by this site
      kdf             TEXT    NOT NULL,             -- 'argon2id13'
      opslimit        INTEGER NOT NULL,
      memlimit        INTEGER NOT NULL,             -- bytes
      salt            BLOB    NOT NULL,             -- 16 random bytes
      key_check       BLOB    NOT NULL,             -- BLAKE2b-256 under K_check (docs/crypto-format.md)
      objects_url     TEXT    NOT NULL,             -- the local file:// tier (default <data-dir>/objects)
      created_at      INTEGER NOT NULL
    );

    -- Every encrypted object: a volume (ISO), a staging file, or a volume manifest.
    CREATE TABLE objects (
      id              INTEGER PRIMARY KEY,
      object_id       BLOB    NOT NULL UNIQUE,      -- 16 random bytes; hex in tier keys
      kind            TEXT    NOT NULL CHECK (kind IN ('volume', 'file', 'manifest')),
      volume_id       INTEGER REFERENCES volumes(id),  -- volume, or the volume a manifest describes
      file_id         INTEGER REFERENCES files(id),    -- staging file
      format_version  INTEGER NOT NULL,
      message_size    INTEGER NOT NULL,
      chunk_plain     INTEGER NOT NULL,             -- plaintext bytes per chunk
      leaf_size       INTEGER NOT NULL,             -- Merkle leaf size over chunk ciphertext
      plain_size      INTEGER NOT NULL,
      plain_sha256    BLOB    NOT NULL,
      cipher_size     INTEGER NOT NULL,
      cipher_sha256   BLOB    NOT NULL,
      chunk_count     INTEGER NOT NULL,
      created_at      INTEGER NOT NULL
    );
    CREATE INDEX objects_by_volume ON objects (volume_id);
    CREATE INDEX objects_by_file ON objects (file_id);

    -- Fixed-size pieces of an object's ciphertext: the unit of peer replication, S3 parts, proofs.
    CREATE TABLE chunks (
      object_row      INTEGER NOT NULL REFERENCES objects(id),
      idx             INTEGER NOT NULL,
      size            INTEGER NOT NULL,
      sha256          BLOB    NOT NULL,
      merkle_root     BLOB    NOT NULL,
      PRIMARY KEY (object_row, idx)
    );
  `,
};
