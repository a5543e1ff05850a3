/**
 * Where a resumable upload remembers its progress. Tiers stay catalog-free: they talk to this
 * interface, and the catalog implementation (catalog-journal.ts) keeps the upload id and every
 * finished part in SQLite so that a killed process resumes without re-sending finished parts.
 */
export interface JournalPart {
  partNumber: number;
  size: number;
  /** Hex SHA-256 of the part's bytes. */
  sha256: string;
  etag: string;
}

export interface JournalUpload {
  uploadId: string;
  partSize: number;
  parts: Map<number, JournalPart>;
}

export interface UploadJournal {
  /** The unfinished upload recorded for this tier + key, if any. */
  load(tierUrl: string, key: string): JournalUpload | null;
  started(tierUrl: string, key: string, uploadId: string, partSize: number, size: number | undefined): void;
  partDone(tierUrl: string, key: string, part: JournalPart): void;
  /** The upload completed (or was aborted): forget it. */
  finished(tierUrl: string, key: string): void;
  /** Every upload id the journal still knows for this tier (the rest are orphans). */
  known(tierUrl: string): Set<string>;
}

/** In-memory journal for library callers and tests that do not need crash safety. */
export class MemoryJournal implements UploadJournal {
  private uploads = new Map<string, JournalUpload>();
  load(t: string, k: string): JournalUpload | null {
    return this.uploads.get(`${t}\0${k}`) ?? null;
  }
  started(t: string, k: string, uploadId: string, partSize: number): void {
    this.uploads.set(`${t}\0${k}`, { uploadId, partSize, parts: new Map() });
  }
  partDone(t: string, k: string, part: JournalPart): void {
    this.uploads.get(`${t}\0${k}`)?.parts.set(part.partNumber, part);
  }
  finished(t: string, k: string): void {
    this.uploads.delete(`${t}\0${k}`);
  }
  known(t: string): Set<string> {
    const out = new Set<string>();
    for (const [k, u] of this.uploads) if (k.startsWith(`${t}\0`)) out.add(u.uploadId);
    return out;
  }
}
