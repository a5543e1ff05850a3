import type { Migration } from '../migrations.js';

export const foundation: Migration = {
  version: 1,
  name: 'foundation: scan roots, dirs, file versions, volumes, upload parts',
  sql: `
    -- One row per folder given to \`scan\`. Paths are raw bytes (names need not be UTF-8).
    CREATE TABLE scan_roots (
      id            INTEGER PRIMARY KEY,
      path          BLOB    NOT NULL UNIQUE,
      added_at      INTEGER NOT NULL,
      last_scan_at  INTEGER
    );

    -- Every folder seen under a root; rel_path is '' for the root itself, '/'-separated bytes.
    CREATE TABLE dirs (
      id          INTEGER PRIMARY KEY,
      root_id     INTEGER NOT NULL REFERENCES scan_roots(id),
      rel_path    BLOB    NOT NULL,
      mtime_ms    REAL,
      deleted_at  INTEGER,
      UNIQUE (root_id, rel_path)
    );

    -- Sealed (or being sealed) volumes: ISO images of library files.
    CREATE TABLE volumes (
      id           INTEGER PRIMARY KEY,
      name         TEXT    NOT NULL UNIQUE,
      size         INTEGER NOT NULL,
      sha256       BLOB,
      status       TEXT    NOT NULL DEFAULT 'created',
      region       TEXT,
      bucket       TEXT,
      files_count  INTEGER NOT NULL DEFAULT 0,
      created_at   INTEGER NOT NULL
    );

    -- One row per version of a library file. A path has at most one 'current' row; an edited
    -- file's old row becomes 'superseded', a removed file's row 'deleted'. Rows are never
    -- dropped: a volume may still hold an old version.
    CREATE TABLE files (
      id            INTEGER PRIMARY KEY,
      dir_id        INTEGER NOT NULL REFERENCES dirs(id),
      name          BLOB    NOT NULL,
      kind          TEXT    NOT NULL CHECK (kind IN ('file', 'symlink')),
      size          INTEGER NOT NULL,
      mtime_ms      REAL    NOT NULL,
      ino           INTEGER,
      dev           INTEGER,
      sha256        BLOB,
      link_target   BLOB,
      status        TEXT    NOT NULL CHECK (status IN ('current', 'superseded', 'deleted')),
      first_seen_at INTEGER NOT NULL,
      ended_at      INTEGER,
      volume_id     INTEGER REFERENCES volumes(id)
    );
    CREATE UNIQUE INDEX files_one_current_per_path ON files (dir_id, name) WHERE status = 'current';
    CREATE INDEX files_by_volume ON files (volume_id);
    CREATE INDEX files_by_sha256 ON files (sha256);

    -- Multipart upload progress (as lomob's upload parts), kept so an upload can resume.
    CREATE TABLE upload_parts (
      volume_id   INTEGER NOT NULL REFERENCES volumes(id),
      part_no     INTEGER NOT NULL,
      size        INTEGER NOT NULL,
      sha256      BLOB,
      etag        TEXT,
      status      TEXT    NOT NULL DEFAULT 'pending',
      PRIMARY KEY (volume_id, part_no)
    );
  `,
};
