import type { Readable } from 'node:stream';

/**
 * A tier is one place that holds ciphertext objects: a local folder (file://), S3/Glacier, Google
 * Drive. Tiers know keys and bytes, never plaintext or the catalog. Every implementation verifies
 * what it stores (size and SHA-256 at least) before `put` resolves: a copy counts only when checked.
 *
 * Contract rules (change additively only — several modules implement this):
 *  - keys are '/'-separated, relative, no '..' segments; implementations reject others.
 *  - `put` is idempotent by key + sha256: putting the same bytes again is cheap or a no-op.
 *  - `get` with a range returns exactly those bytes (end inclusive, as HTTP Range).
 *  - errors are TierError with a `kind` so callers can decide to retry, ask for a restore, or stop.
 */
export interface ObjectStat {
  key: string;
  size: number;
  /** Hex SHA-256 of the whole object, when the tier can tell it without reading the data. */
  sha256?: string;
  /** Hex MD5 (Drive reports it). */
  md5?: string;
  /** Tier-specific class, e.g. S3 'DEEP_ARCHIVE'. */
  storageClass?: string;
  /** Multipart objects: per-part size and checksum. */
  parts?: { partNumber: number; size: number; sha256?: string }[];
  /** Cold tiers: whether a restore is needed / in progress / done. */
  restore?: { needed: boolean; ongoing: boolean; expiresAt?: Date };
  modifiedAt?: Date;
  /** Tier's own id (Drive file id, S3 version id...). */
  id?: string;
}

export interface PutOptions {
  /** Exact size, if known up front (lets tiers pick single vs multipart / resumable). */
  size?: number;
  /** Hex SHA-256 the stored object must have; the put fails if it does not. */
  sha256?: string;
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
  /** Hint: multipart part size for this object (S3: its chunk size, so parts and chunks coincide). Others ignore it. */
  partSize?: number;
  /** Hint: the file's modification time, shown by tiers that keep one (Drive). */
  modifiedAt?: Date;
  /** Hint: the caller already checked the quota for a whole batch (Drive skips its per-file check). */
  quotaChecked?: boolean;
}

/** Space of a tier with a quota (Drive). Bytes; `limit`/`free` undefined when unlimited. */
export interface TierQuota {
  limit?: number;
  usage: number;
  trash: number;
  free?: number;
}

/** One entry of a tier's tree, folders included (Drive has folder objects, a folder tier has prefixes). */
export interface TreeEntry {
  path: string;
  id: string;
  isFolder: boolean;
  size: number;
  modifiedAt?: Date;
  sha256?: string;
  appProperties?: Record<string, string>;
}

/** An unfinished multipart upload (S3), key relative to the tier. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type TierErrorKind =
  | 'not-found'
  | 'needs-restore' // archived object: request a restore first
  | 'auth' // bad or expired credentials: the message names the fix
  | 'quota' // full (Drive quota, peer quota, disk full)
  | 'throttled' // 429 / rate-limit 403: retry later
  | 'unavailable' // 5xx, network
  | 'checksum' // stored bytes do not match
  | 'unreadable' // the server answered, but with something the client cannot parse: not retried
  | 'invalid'; // bad key or argument

export class TierError extends Error {
  override name = 'TierError';
  constructor(
    message: string,
    readonly kind: TierErrorKind,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * Which unfinished uploads a sweep may cancel. A bucket can be shared (families, several sites):
 * an upload is only ever cancelled when it is ours — its id is in our upload journal, or its key
 * lies in one of our own key folders — and it is older than the grace period, so that an upload
 * running right now (ours from another process, or anyone's) is never cut off.
 */
export interface OrphanScope {
  /** Key folders (relative to the tier) only this site writes: its scan roots' keyed folder names. */
  folders: readonly string[];
  /** Whether `key` (relative to the tier) still waits for upload: its journaled upload is resumed, never cancelled. */
  pending(key: string): boolean;
  /** Unfinished uploads younger than this are left alone. */
  graceMs: number;
}

export interface Tier {
  /** 'file', 's3', 'gdrive', ... */
  readonly kind: string;
  /** Where it is, for people and the catalog: file:///srv/lomo, s3://bucket/prefix, gdrive://folder. */
  readonly url: string;
  put(key: string, body: Readable | Buffer, opts?: PutOptions): Promise<ObjectStat>;
  head(key: string): Promise<ObjectStat | null>;
  list(prefix?: string): AsyncIterable<ObjectStat>;
  get(key: string, range?: ByteRange): Promise<Readable>;
  delete(key: string): Promise<void>;
  /** Cold tiers only. */
  requestRestore?(key: string, opts: { days: number; tier: 'Standard' | 'Bulk' }): Promise<void>;
  /**
   * Local tiers only: a temporary file for `key` whose descriptor another thread may write into
   * (an encryption worker writes each piece of ciphertext while it is still in its core's cache);
   * `commit` then makes it durable and puts it in place, as `put` would.
   */
  reserve?(key: string): Promise<ReservedObject>;
  /** Makes the commits under `prefix` durable as a whole (e.g. fsyncs their folder); after reserve/commit. */
  syncPrefix?(prefix: string): Promise<void>;
  /** Removes everything under `prefix`, temporaries of killed writers included (local tiers). */
  purge?(prefix: string): Promise<void>;

  // Optional capabilities of some backends. Jobs test for the method, never for the class.

  /** The bucket holding the objects (S3), as the catalog records it for a volume. */
  readonly bucket?: string;
  /** Requests sent so far, by operation name (what a cloud bill counts). */
  readonly requests?: ReadonlyMap<string, number>;
  /** All requests sent so far. */
  requestCount?(): number;
  /** Where the copies are (S3 region), as the catalog records it. */
  region?(): Promise<string>;
  /** Makes the tier ready to receive, once (S3: checks the bucket, creating it when allowed). */
  prepare?(): Promise<void>;
  /** Cancels this site's unfinished uploads that nobody will resume (S3 multipart uploads); their keys. */
  sweepOrphans?(scope: OrphanScope): Promise<string[]>;
  /** Forgets the recorded unfinished upload of `key` (cancelled remotely), so the next put starts over. */
  discardUpload?(key: string): Promise<void>;
  /** Free space (Drive). */
  quota?(): Promise<TierQuota>;
  /** Fails with a 'quota' TierError when `bytes` more do not fit. */
  checkQuota?(bytes: number): Promise<void>;
  /** Reads a copy by the tier's own id (ObjectStat.id, a placement's remote id): no path look-up (Drive). */
  getById?(id: string, range?: ByteRange): Promise<Readable>;
  /** Removes a copy by the tier's own id; a copy already gone is no error (Drive). */
  deleteById?(id: string): Promise<void>;
  /** A whole object as ranged reads in parallel, delivered in order (big restores from S3). */
  getParallel?(key: string, size: number, opts?: { concurrency?: number }): Readable;
  /** Depth-first walk of the whole tree, folders included, sorted by name (Drive). */
  walk?(): AsyncIterable<TreeEntry>;
  /** Unfinished multipart uploads under this tier, by whoever started them (S3; lomob's util list-inprogress-upload). */
  listUploads?(): Promise<PendingUpload[]>;
  /** Aborts one unfinished multipart upload by key and upload id (S3; lomob's util abort-upload). */
  abortUploadById?(key: string, uploadId: string): Promise<void>;
}

/** Removes one copy: by its remote id where the tier addresses copies that way, else by key. */
export async function removeCopy(tier: Tier, key: string, remoteId?: string | null): Promise<void> {
  if (remoteId && tier.deleteById) await tier.deleteById(remoteId);
  else await tier.delete(key);
}

export interface ReservedObject {
  /** Open for writing (positional writes from offset 0); owned by the reservation. */
  readonly fd: number;
  /**
   * fdatasyncs, closes, checks the size and renames the file into place. The folder itself is made
   * durable by `syncPrefix`, once for all the objects written together.
   */
  commit(opts: { size: number; sha256: string }): Promise<ObjectStat>;
  /** Closes and removes the temporary file (safe after a failed commit, or twice). */
  abort(): Promise<void>;
}

/** Shared key check so that no tier can be made to write outside its space. */
export function assertSafeKey(key: string): void {
  if (!key || key.startsWith('/') || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\0')) {
    throw new TierError(`invalid object key "${key}"`, 'invalid');
  }
}
