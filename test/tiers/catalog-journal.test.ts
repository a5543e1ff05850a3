/** The catalog-backed upload journal (migration 30) on a real SQLite file. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog } from '../../storage/catalog/db.js';
import { CatalogJournal } from '../../storage/placements/catalog-journal.js';

describe('CatalogJournal', () => {
  it('keeps upload ids and finished parts across reopen, and forgets finished uploads', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-journal-'));
    const file = path.join(dir, 'lomob.db');
    try {
      let db = openCatalog(file, { create: true });
      let j = new CatalogJournal(db);
      j.started('s3://b', 'v.iso', 'UP1', 6e6, 18e6);
      j.partDone('s3://b', 'v.iso', { partNumber: 1, size: 6e6, sha256: 'ab'.repeat(32), etag: 'e1' });
      j.partDone('s3://b', 'v.iso', { partNumber: 2, size: 6e6, sha256: 'cd'.repeat(32), etag: 'e2' });
      db.close();
      db = openCatalog(file, { create: false });
      j = new CatalogJournal(db);
      const u = j.load('s3://b', 'v.iso')!;
      expect(u.uploadId).toBe('UP1');
      expect(u.partSize).toBe(6e6);
      expect([...u.parts.values()].map((p) => [p.partNumber, p.etag, p.sha256.slice(0, 4)])).toEqual([[1, 'e1', 'abab'], [2, 'e2', 'cdcd']]);
      expect(j.known('s3://b')).toEqual(new Set(['UP1']));
      j.started('s3://b', 'v.iso', 'UP2', 6e6, undefined); // --force: a new upload replaces the old record
      expect(j.load('s3://b', 'v.iso')!.parts.size).toBe(0);
      j.finished('s3://b', 'v.iso');
      expect(j.load('s3://b', 'v.iso')).toBeNull();
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
