import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../catalog/db.js';
import { Accounts, type HostedChunk, type OwnerUsage } from './accounts.js';
import { placeDurably, writeVerifiedTemp, fsyncDir, type ChunkBytes } from './durable-write.js';
import { PeerStoreError } from './errors.js';
import { QUARANTINE_DIR, TMP_DIR, checkOwner, chunkPath, quarantinePath, shaHex } from './layout.js';

/** Read size of `verify`: what the scrub holds in memory at a time. */
const VERIFY_READ_BYTES = 1024 * 1024;

/** A byte range of a chunk: `length` bytes from `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** What re-hashing one stored chunk found (`verify`). */
export type ChunkCheck = 'ok' | 'corrupt' | 'gone';

/** A chunk moved out of the way because it no longer matched its hash. */
export interface QuarantinedChunk {
  readonly owner: string;
  readonly sha256: string;
  /** When it was moved (ms). */
  readonly at: number;
}

export interface PutResult {
  /** false: the chunk was already held (an idempotent put); usage did not change. */
  readonly stored: boolean;
}

/**
 * Chunks other households send this site to keep (issue 15, point 1), under one folder, with
 * their rows and per-owner usage in the catalog. A put resolves only once the chunk is verified
 * and durable, so the protocol acknowledges it then and not before; a put that fails for any
 * reason leaves no file, no row and no usage behind. Layout and protocol: docs/peer-store.md.
 */
export class PeerStore {
  private readonly accounts: Accounts;
  /**
   * Chunks `verify` quarantined whose owner has not been told yet (key `owner/hex`): its next `get`
   * answers `corrupt`, as if `get` had found it, then `not-found` like any chunk no longer held.
   * In memory: after a restart the owner's audit (`has` is false) finds it missing instead.
   */
  private readonly unreported = new Set<string>();

  private constructor(
    readonly root: string,
    db: Db,
  ) {
    this.accounts = new Accounts(db);
  }

  /**
   * Opens the store under `root` (created if missing) and repairs what a killed put or delete
   * left: temporary files are removed, and rows whose file is gone (killed between the catalog
   * commit and the rename, which is before any acknowledgement) are dropped with their usage.
   */
  static async open(root: string, db: Db): Promise<PeerStore> {
    const store = new PeerStore(path.resolve(root), db);
    await fsp.mkdir(store.root, { recursive: true, mode: 0o700 });
    await fsp.rm(path.join(store.root, TMP_DIR), { recursive: true, force: true });
    for (const c of store.accounts.chunks()) {
      if (!fs.existsSync(chunkPath(store.root, c.owner, c.sha256.toString('hex')))) store.accounts.forget(c.owner, c.sha256);
    }
    return store;
  }

  setQuota(owner: string, quotaBytes: number | null): void {
    this.accounts.setQuota(checkOwner(owner), quotaBytes);
  }

  usage(owner: string): OwnerUsage {
    return this.accounts.usage(checkOwner(owner));
  }

  /** Every owner with a quota or chunks here. */
  owners(): OwnerUsage[] {
    return this.accounts.all();
  }

  /**
   * Stores `size` bytes from `source` for `owner` under their SHA-256 `sha`. Refused, with
   * nothing left behind, as `quota` (checked before any byte is read and again when recording),
   * `disk-full`, `hash-mismatch` or `size-mismatch`. A chunk already held is not read again.
   */
  async put(owner: string, sha: string | Uint8Array, size: number, source: ChunkBytes): Promise<PutResult> {
    checkOwner(owner);
    const hex = shaHex(sha);
    const key = Buffer.from(hex, 'hex');
    if (!Number.isSafeInteger(size) || size < 0) throw new PeerStoreError('invalid', `not a chunk size: ${size}`);
    const final = chunkPath(this.root, owner, hex);
    if (await this.has(owner, hex)) return { stored: false };
    this.accounts.checkRoom(owner, size);

    const tmp = await writeVerifiedTemp(path.join(this.root, TMP_DIR), source, hex, size);
    let recorded: boolean;
    try {
      recorded = this.accounts.record(owner, key, size, Date.now());
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    try {
      // Also when another put recorded the same chunk first: the rename replaces identical bytes,
      // and this put then returns only once they are surely in place.
      await placeDurably(tmp, final, this.root);
    } catch (err) {
      if (recorded) this.accounts.forget(owner, key);
      throw err;
    }
    this.unreported.delete(`${owner}/${hex}`);
    return { stored: recorded };
  }

  /** Whether a chunk is recorded and its file present (its bytes are checked by `get`). */
  async has(owner: string, sha: string | Uint8Array): Promise<boolean> {
    const hex = shaHex(sha);
    if (!this.accounts.chunk(checkOwner(owner), Buffer.from(hex, 'hex'))) return false;
    return fs.existsSync(chunkPath(this.root, owner, hex));
  }

  /**
   * The bytes of a chunk, or of `range` of it. A whole chunk is hashed before it is returned: one
   * that no longer matches is moved to the quarantine folder, forgotten, and reported as
   * `corrupt`. A range cannot be checked without reading the whole chunk; its reader checks the
   * file it restores against the logged hashes instead.
   */
  async get(owner: string, sha: string | Uint8Array, range?: ByteRange): Promise<Buffer> {
    const hex = shaHex(sha);
    const key = Buffer.from(hex, 'hex');
    const row = this.accounts.chunk(checkOwner(owner), key);
    if (!row) {
      if (this.unreported.delete(`${owner}/${hex}`)) {
        throw new PeerStoreError('corrupt', `chunk ${hex} of ${owner} no longer matched its hash when checked: not served, moved to ${path.join(QUARANTINE_DIR, owner)}`);
      }
      throw new PeerStoreError('not-found', `no chunk ${hex} held for ${owner}`);
    }
    const file = chunkPath(this.root, owner, hex);
    if (range) {
      const { offset, length } = range;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > row.size) {
        throw new PeerStoreError('invalid', `range ${offset}+${length} is outside the chunk's ${row.size} bytes`);
      }
      const fh = await this.openChunk(owner, key, file);
      try {
        const buf = Buffer.alloc(length);
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        if (got < length) throw await this.quarantine(owner, hex, file, `is shorter than its recorded ${row.size} bytes`);
        return buf;
      } finally {
        await fh.close();
      }
    }
    const fh = await this.openChunk(owner, key, file);
    let bytes: Buffer;
    try {
      bytes = await fh.readFile();
    } finally {
      await fh.close();
    }
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== hex || bytes.length !== row.size) throw await this.quarantine(owner, hex, file, `now hashes to ${got}`);
    this.accounts.markVerified(owner, key, Date.now());
    return bytes;
  }

  /**
   * Re-hashes a stored chunk (the holder scrub, scrub.ts), streaming it so that at most one read
   * buffer is in memory. A match moves `verified_at`; a mismatch (or a short file) quarantines the
   * chunk as `get` would, and its owner's next `get` is answered `corrupt`. `gone`: not held, or
   * its file vanished (the row is dropped). `at`: the time recorded as the check's.
   */
  async verify(owner: string, sha: string | Uint8Array, at = Date.now()): Promise<ChunkCheck> {
    const hex = shaHex(sha);
    const key = Buffer.from(hex, 'hex');
    const row = this.accounts.chunk(checkOwner(owner), key);
    if (!row) return 'gone';
    const file = chunkPath(this.root, owner, hex);
    let fh: fsp.FileHandle;
    try {
      fh = await this.openChunk(owner, key, file);
    } catch (err) {
      if (err instanceof PeerStoreError && err.reason === 'not-found') return 'gone';
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const piece of fh.createReadStream({ highWaterMark: VERIFY_READ_BYTES, autoClose: false })) {
        hash.update(piece as Buffer);
        size += (piece as Buffer).length;
      }
    } finally {
      await fh.close();
    }
    const got = hash.digest('hex');
    if (got === hex && size === row.size) {
      this.accounts.markVerified(owner, key, at);
      return 'ok';
    }
    // Deleted or replaced meanwhile (a delete, then a put of the same chunk): not ours to judge.
    if (!this.accounts.chunk(owner, key)) return 'gone';
    await this.quarantine(owner, hex, file, size === row.size ? `now hashes to ${got}` : `has ${size} bytes, not ${row.size}`);
    this.unreported.add(`${owner}/${hex}`);
    return 'corrupt';
  }

  /** Chunks held whose last check is older than `before` (ms), least recently checked first. */
  dueForCheck(before: number, limit: number): HostedChunk[] {
    return this.accounts.dueForCheck(before, limit);
  }

  /** Drops a chunk (the owner no longer needs it here). Returns false if it was not held. */
  async delete(owner: string, sha: string | Uint8Array): Promise<boolean> {
    const hex = shaHex(sha);
    const key = Buffer.from(hex, 'hex');
    if (!this.accounts.chunk(checkOwner(owner), key)) return false;
    // The file first: a kill in between leaves a row without a file, which open() repairs.
    const file = chunkPath(this.root, owner, hex);
    await fsp.rm(file, { force: true });
    await fsyncDir(path.dirname(file)).catch(() => undefined);
    return this.accounts.forget(owner, key);
  }

  private async openChunk(owner: string, key: Buffer, file: string): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.accounts.forget(owner, key);
      throw new PeerStoreError('not-found', `chunk ${key.toString('hex')} of ${owner} is recorded but its file is gone`);
    }
  }

  /** Moves a bad chunk out of the way and forgets it; returns the error to report. */
  private async quarantine(owner: string, hex: string, file: string, why: string): Promise<PeerStoreError> {
    const dest = quarantinePath(this.root, owner, hex, Date.now());
    await fsp.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    try {
      await fsp.rename(file, dest);
    } catch (err) {
      // A get and the scrub found it at the same time: the other one moved it already.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.accounts.forget(owner, Buffer.from(hex, 'hex'));
    return new PeerStoreError('corrupt', `chunk ${hex} of ${owner} ${why}: not served, moved to ${path.join(QUARANTINE_DIR, owner)}`);
  }
}

/**
 * The chunks in the quarantine folder of the store under `root` (the store need not be open: the
 * status of a site whose node is not running reads them too). Newest first.
 */
export function quarantinedChunks(root: string): QuarantinedChunk[] {
  const dir = path.join(root, QUARANTINE_DIR);
  const out: QuarantinedChunk[] = [];
  let owners: string[];
  try {
    owners = fs.readdirSync(dir);
  } catch {
    return out; // none yet
  }
  for (const owner of owners) {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, owner));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = /^([0-9a-f]{64})\.(\d+)$/.exec(name);
      if (m) out.push({ owner, sha256: m[1]!, at: Number(m[2]) });
    }
  }
  return out.sort((a, b) => b.at - a.at);
}
