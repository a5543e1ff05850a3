/**
 * UploadJournal on the catalog (migration 0030): each event is one small transaction, so a
 * process killed at any instant leaves exactly the parts S3 confirmed (or fewer) recorded.
 */
import type { Db } from '../catalog/db.js';
import type { JournalPart, JournalUpload, UploadJournal } from '../tiers/upload-journal.js';

export class CatalogJournal implements UploadJournal {
  constructor(private readonly db: Db) {}

  private row(tierUrl: string, key: string): { id: number; upload_id: string; part_size: number } | undefined {
    return this.db.prepare('SELECT id, upload_id, part_size FROM cloud_uploads WHERE tier_url = ? AND key = ?').get(tierUrl, key) as
      | { id: number; upload_id: string; part_size: number }
      | undefined;
  }

  load(tierUrl: string, key: string): JournalUpload | null {
    const r = this.row(tierUrl, key);
    if (!r) return null;
    const parts = new Map<number, JournalPart>();
    const rows = this.db.prepare('SELECT part_no, size, sha256, etag FROM cloud_upload_parts WHERE upload_row = ?').all(r.id) as { part_no: number; size: number; sha256: Buffer; etag: string }[];
    for (const p of rows) parts.set(p.part_no, { partNumber: p.part_no, size: p.size, sha256: p.sha256.toString('hex'), etag: p.etag });
    return { uploadId: r.upload_id, partSize: r.part_size, parts };
  }

  started(tierUrl: string, key: string, uploadId: string, partSize: number, size: number | undefined): void {
    this.db.transaction(() => {
      const old = this.row(tierUrl, key);
      if (old) {
        this.db.prepare('DELETE FROM cloud_upload_parts WHERE upload_row = ?').run(old.id);
        this.db.prepare('DELETE FROM cloud_uploads WHERE id = ?').run(old.id);
      }
      this.db
        .prepare('INSERT INTO cloud_uploads (tier_url, key, upload_id, part_size, size, started_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(tierUrl, key, uploadId, partSize, size ?? null, Date.now());
    })();
  }

  partDone(tierUrl: string, key: string, p: JournalPart): void {
    const r = this.row(tierUrl, key);
    if (!r) return;
    this.db
      .prepare('INSERT OR REPLACE INTO cloud_upload_parts (upload_row, part_no, size, sha256, etag, done_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(r.id, p.partNumber, p.size, Buffer.from(p.sha256, 'hex'), p.etag, Date.now());
  }

  finished(tierUrl: string, key: string): void {
    this.db.transaction(() => {
      const r = this.row(tierUrl, key);
      if (!r) return;
      this.db.prepare('DELETE FROM cloud_upload_parts WHERE upload_row = ?').run(r.id);
      this.db.prepare('DELETE FROM cloud_uploads WHERE id = ?').run(r.id);
    })();
  }

  known(tierUrl: string): Set<string> {
    const rows = this.db.prepare('SELECT upload_id FROM cloud_uploads WHERE tier_url = ?').all(tierUrl) as { upload_id: string }[];
    return new Set(rows.map((r) => r.upload_id));
  }
}
