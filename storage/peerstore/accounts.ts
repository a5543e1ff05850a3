import type { Db } from '../catalog/db.js';
import { PeerStoreError } from './errors.js';

/**
 * Per-owner accounts of the peer store: the quota agreed with each household and what it uses.
 * Usage changes only together with a `hosted_chunks` row, in one transaction, so the two never
 * disagree (migration 70).
 */
export interface OwnerUsage {
  readonly owner: string;
  /** null: no quota agreed, no limit. */
  readonly quotaBytes: number | null;
  readonly usedBytes: number;
  readonly chunkCount: number;
}

export interface HostedChunk {
  readonly owner: string;
  readonly sha256: Buffer;
  readonly size: number;
  readonly storedAt: number;
  readonly verifiedAt: number;
}

interface OwnerRow {
  owner_site: string;
  quota_bytes: number | null;
  used_bytes: number;
  chunk_count: number;
}

export class Accounts {
  constructor(private readonly db: Db) {}

  /** Sets (or clears, with null) the quota agreed with `owner`. Existing chunks stay even if over. */
  setQuota(owner: string, quotaBytes: number | null): void {
    if (quotaBytes !== null && (!Number.isSafeInteger(quotaBytes) || quotaBytes < 0)) {
      throw new PeerStoreError('invalid', `quota must be a non-negative integer of bytes, not ${quotaBytes}`);
    }
    this.db
      .prepare('INSERT INTO hosted_owners (owner_site, quota_bytes) VALUES (?, ?) ON CONFLICT (owner_site) DO UPDATE SET quota_bytes = excluded.quota_bytes')
      .run(owner, quotaBytes);
  }

  usage(owner: string): OwnerUsage {
    const row = this.db.prepare('SELECT * FROM hosted_owners WHERE owner_site = ?').get(owner) as OwnerRow | undefined;
    return row ? toUsage(row) : { owner, quotaBytes: null, usedBytes: 0, chunkCount: 0 };
  }

  all(): OwnerUsage[] {
    return (this.db.prepare('SELECT * FROM hosted_owners ORDER BY owner_site').all() as OwnerRow[]).map(toUsage);
  }

  chunk(owner: string, sha: Buffer): HostedChunk | undefined {
    const row = this.db.prepare('SELECT * FROM hosted_chunks WHERE owner_site = ? AND sha256 = ?').get(owner, sha) as
      | { owner_site: string; sha256: Buffer; size: number; stored_at: number; verified_at: number }
      | undefined;
    return row && { owner: row.owner_site, sha256: row.sha256, size: row.size, storedAt: row.stored_at, verifiedAt: row.verified_at };
  }

  chunks(): HostedChunk[] {
    return (this.db.prepare('SELECT * FROM hosted_chunks').all() as { owner_site: string; sha256: Buffer; size: number; stored_at: number; verified_at: number }[]).map(
      (row) => ({ owner: row.owner_site, sha256: row.sha256, size: row.size, storedAt: row.stored_at, verifiedAt: row.verified_at }),
    );
  }

  /** Chunks last verified before `before` (ms), least recently first (the scrub's next batch). */
  dueForCheck(before: number, limit: number): HostedChunk[] {
    return (
      this.db.prepare('SELECT * FROM hosted_chunks WHERE verified_at < ? ORDER BY verified_at LIMIT ?').all(before, limit) as {
        owner_site: string;
        sha256: Buffer;
        size: number;
        stored_at: number;
        verified_at: number;
      }[]
    ).map((row) => ({ owner: row.owner_site, sha256: row.sha256, size: row.size, storedAt: row.stored_at, verifiedAt: row.verified_at }));
  }

  /** Throws `quota` when `size` more bytes would exceed the owner's quota. */
  checkRoom(owner: string, size: number): void {
    const u = this.usage(owner);
    if (u.quotaBytes !== null && u.usedBytes + size > u.quotaBytes) {
      throw new PeerStoreError('quota', `quota of ${owner} exceeded: ${u.usedBytes} of ${u.quotaBytes} bytes used, ${size} more refused`);
    }
  }

  /**
   * Records a stored chunk and adds it to the owner's usage, re-checking the quota inside the
   * transaction (another put may have used the room meanwhile). Returns false if it was already
   * recorded (an idempotent put), leaving usage as it was.
   */
  record(owner: string, sha: Buffer, size: number, at: number): boolean {
    return this.db.transaction(() => {
      if (this.chunk(owner, sha)) return false;
      this.checkRoom(owner, size);
      this.db.prepare('INSERT INTO hosted_owners (owner_site) VALUES (?) ON CONFLICT DO NOTHING').run(owner);
      this.db.prepare('INSERT INTO hosted_chunks (owner_site, sha256, size, stored_at, verified_at) VALUES (?, ?, ?, ?, ?)').run(owner, sha, size, at, at);
      this.db.prepare('UPDATE hosted_owners SET used_bytes = used_bytes + ?, chunk_count = chunk_count + 1 WHERE owner_site = ?').run(size, owner);
      return true;
    })();
  }

  /** Removes a chunk's row and its size from the owner's usage. Returns false if there was none. */
  forget(owner: string, sha: Buffer): boolean {
    return this.db.transaction(() => {
      const c = this.chunk(owner, sha);
      if (!c) return false;
      this.db.prepare('DELETE FROM hosted_chunks WHERE owner_site = ? AND sha256 = ?').run(owner, sha);
      this.db.prepare('UPDATE hosted_owners SET used_bytes = used_bytes - ?, chunk_count = chunk_count - 1 WHERE owner_site = ?').run(c.size, owner);
      return true;
    })();
  }

  markVerified(owner: string, sha: Buffer, at: number): void {
    this.db.prepare('UPDATE hosted_chunks SET verified_at = ? WHERE owner_site = ? AND sha256 = ?').run(at, owner, sha);
  }
}

function toUsage(row: OwnerRow): OwnerUsage {
  return { owner: row.owner_site, quotaBytes: row.quota_bytes, usedBytes: row.used_bytes, chunkCount: row.chunk_count };
}
