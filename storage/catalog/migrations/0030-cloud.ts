import type { Migration } from '../migrations.js';

/**
 * Cloud tiers: unfinished multipart/resumable uploads with their finished parts (so a killed
 * process, or another coordinator, resumes the same upload without re-sending parts), and
 * placements — which object is where, verified when. A placement row is written only after the
 * tier's own checksum/size check passed; deleting a copy sets deleted_at (rows are history).
 */
export const cloud: Migration = {
  version: 30,
  name: 'cloud: uploads in progress, finished parts, placements per tier (S3 keys, Drive file ids)',
  sql: `
    CREATE TABLE cloud_uploads (
      id          INTEGER PRIMARY KEY,
      tier_url    TEXT    NOT NULL,             -- s3://bucket[/prefix], gdrive://folder
      key         TEXT    NOT NULL,             -- object key inside the tier
      upload_id   TEXT    NOT NULL,             -- S3 UploadId / Drive session URI
      part_size   INTEGER NOT NULL,
      size        INTEGER,                      -- total bytes, when known at the start
      started_at  INTEGER NOT NULL,
      UNIQUE (tier_url, key)
    );

    CREATE TABLE cloud_upload_parts (
      upload_row  INTEGER NOT NULL REFERENCES cloud_uploads(id) ON DELETE CASCADE,
      part_no     INTEGER NOT NULL,
      size        INTEGER NOT NULL,
      sha256      BLOB    NOT NULL,
      etag        TEXT    NOT NULL,
      done_at     INTEGER NOT NULL,
      PRIMARY KEY (upload_row, part_no)
    );

    -- One row per verified copy of a volume or a staging file in a cloud tier.
    CREATE TABLE placements (
      id             INTEGER PRIMARY KEY,
      volume_id      INTEGER REFERENCES volumes(id),
      file_id        INTEGER REFERENCES files(id),
      tier_url       TEXT    NOT NULL,
      key            TEXT    NOT NULL,
      remote_id      TEXT,                      -- Drive file id, S3 ETag
      size           INTEGER NOT NULL,
      sha256         BLOB,                      -- of the stored (cipher) bytes
      storage_class  TEXT,
      region         TEXT,
      created_at     INTEGER NOT NULL,
      verified_at    INTEGER NOT NULL,
      deleted_at     INTEGER,
      CHECK ((volume_id IS NULL) <> (file_id IS NULL))
    );
    CREATE UNIQUE INDEX placements_live ON placements (tier_url, key) WHERE deleted_at IS NULL;
    CREATE INDEX placements_by_volume ON placements (volume_id);
    CREATE INDEX placements_by_file ON placements (file_id);
  `,
};
