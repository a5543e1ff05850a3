import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { consumeInvite, createInvite, getInvite, purgeExpiredSecrets } from '../../storage/trust/invites.js';

/**
 * An erased invite secret must be gone from the catalog's bytes on disk, not only from its rows:
 * a local user who can read lomob.db, its -wal or its -shm must not find it (issue 13, point 5).
 * The catalog stays open while the files are read, as in a running node (closing it would
 * checkpoint and delete the WAL, hiding what a reader sees meanwhile).
 */
describe('an erased invite secret leaves the catalog files', () => {
  let dir: string;
  let file: string;
  let db: Db;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-erase-'));
    file = path.join(dir, 'lomob.db');
    db = openCatalog(file);
  });
  afterEach(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Which of the catalog's files hold `secret` as raw bytes. */
  const filesHolding = (secret: Buffer): string[] =>
    ['', '-wal', '-shm'].filter((s) => fs.existsSync(file + s) && fs.readFileSync(file + s).includes(secret)).map((s) => `lomob.db${s}`);

  function openInvite(id: string, expiresAt: number, now: number): Buffer {
    const secret = randomBytes(32);
    createInvite(db, { id, secret, label: 'x', quotaOffered: null, expiresAt }, now);
    // Half of it in the catalog file, half only in the WAL: both places must be wiped.
    if (id.endsWith('1')) db.pragma('wal_checkpoint(PASSIVE)');
    expect(filesHolding(secret).length).toBeGreaterThan(0);
    return secret;
  }

  it('after expiry (purgeExpiredSecrets)', () => {
    const now = Date.now();
    const secrets = [openInvite('e1', now + 1000, now), openInvite('e2', now + 1000, now)];
    // Some other catalog traffic, so that the secret's page is not the last one written.
    for (let i = 0; i < 50; i++) createInvite(db, { id: `k${i}`, secret: randomBytes(32), label: 'keep', quotaOffered: null, expiresAt: now + 3_600_000 }, now);
    purgeExpiredSecrets(db, now + 2000);
    expect(getInvite(db, 'e1')!.secret).toBeNull();
    for (const s of secrets) expect(filesHolding(s)).toEqual([]);
    expect(getInvite(db, 'k7')!.secret).not.toBeNull(); // open invites keep theirs
  });

  it('after use, inside the pairing transaction (consumeInvite)', async () => {
    const now = Date.now();
    const secrets = [openInvite('u1', now + 60_000, now), openInvite('u2', now + 60_000, now)];
    db.transaction(() => {
      expect(consumeInvite(db, 'u1', '12D3KooWFDtyYDvHXJ4ZTY1GvJjfcyTdhWWo3oncFQDQYK2KPE2B', now)).toBe(true);
      expect(consumeInvite(db, 'u2', '12D3KooWSp2N55gzFpy6mp7ZekbcSrw8CToqsyGpyHSMxyhrtzNA', now)).toBe(true);
    })();
    // The WAL is scrubbed once the transaction has committed: on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    for (const s of secrets) expect(filesHolding(s)).toEqual([]);
  });

  it('a new catalog is private (0600), and so are its -wal and -shm files', () => {
    createInvite(db, { id: 'm1', secret: randomBytes(32), label: '', quotaOffered: null, expiresAt: Date.now() + 1000 });
    for (const s of ['', '-wal', '-shm']) expect((fs.statSync(file + s).mode & 0o777).toString(8), `lomob.db${s}`).toBe('600');
  });
});
