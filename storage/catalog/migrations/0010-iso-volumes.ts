import type { Migration } from '../migrations.js';

/**
 * Which file version is in which volume, under which path inside the image, and at which bytes.
 * Our writer stores a file's data as one contiguous byte range even when it needs several
 * ISO 9660 extents (files of 4 GiB and more), so (offset, length) is enough to restore one file
 * by reading only the chunks that cover that range. Rows are written in the same transaction as
 * the volume row and files.volume_id: a volume is in the catalog only when its image is complete.
 */
export const isoVolumes: Migration = {
  version: 10,
  name: 'iso volumes: file byte ranges inside each image, local image path',
  sql: `
    CREATE TABLE volume_files (
      volume_id   INTEGER NOT NULL REFERENCES volumes(id),
      file_id     INTEGER NOT NULL REFERENCES files(id),
      iso_path    BLOB    NOT NULL,   -- Rock Ridge path inside the image, '/'-separated bytes
      offset      INTEGER NOT NULL,   -- first byte of the file's data in the image
      length      INTEGER NOT NULL,   -- = the file's size; the data is contiguous
      PRIMARY KEY (volume_id, file_id)
    );
    CREATE INDEX volume_files_by_file ON volume_files (file_id);

    -- Where \`iso create\` wrote the plain image (NULL when it went straight into an object).
    ALTER TABLE volumes ADD COLUMN local_path BLOB;
  `,
};
