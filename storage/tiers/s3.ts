/**
 * The S3 / Glacier tier (AWS SDK v3). Works with AWS and any S3-compatible endpoint (path-style
 * addressing when an endpoint is given). Large objects go up as multipart uploads with a SHA-256
 * checksum per part (s3-multipart.ts), resumable through an UploadJournal; small ones as one
 * PutObject. Every put ends with a metadata check (size + checksums), never a download.
 *
 * The SDK's own retries are off (maxAttempts 1): retry.ts decides, so that one send() is one HTTP
 * request and request counts (= cost) are exact.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  S3ServiceException,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { TierError, assertSafeKey, type ByteRange, type ObjectStat, type PendingUpload, type PutOptions, type Tier } from './tier.js';
import { kindForStatus, withRetry, type RetryOptions } from './retry.js';
import { MemoryJournal, type UploadJournal } from './upload-journal.js';
import { multipartPut, abortUpload } from './s3-multipart.js';
import { abortOrphans } from './s3-orphans.js';
import type { OrphanScope } from './tier.js';
import { parallelGet } from './s3-download.js';
import { abortPendingUpload, listPendingUploads } from './s3-uploads.js';

import { COLD_CLASSES, type LomobStorageClass } from './s3-classes.js';
export { STORAGE_CLASSES, COLD_CLASSES, type LomobStorageClass } from './s3-classes.js';
const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const DAY = 86_400_000;

export interface S3TierOptions {
  bucket: string;
  region?: string;
  endpoint?: string;
  /**
   * A key pair (lomob's flags or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN
   * for temporary keys). Without one, the SDK's default chain: the environment, the shared files
   * (~/.aws/credentials and config, AWS_PROFILE), SSO, web identity, container and instance roles.
   */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Key prefix inside the bucket ('' = bucket root). */
  prefix?: string;
  storageClass?: LomobStorageClass;
  /** Multipart part size in bytes (lomob default 6M = 6,000,000). */
  partSize?: number;
  /** Parts sent in parallel (lomob --nthreads, default 3). */
  concurrency?: number;
  /** Create the bucket if it is missing (else the error names it). */
  createBucket?: boolean;
  journal?: UploadJournal;
  retry?: RetryOptions;
  /** Deleting/overwriting cold objects younger than 180 days costs the rest of the 180 days. */
  allowEarlyDelete?: boolean;
}

export interface S3PutOptions extends PutOptions {
  /** Part size for this object (e.g. its chunk size, so parts and chunks coincide). */
  partSize?: number;
}

export class S3Tier implements Tier {
  readonly kind = 's3';
  readonly url: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly storageClass: LomobStorageClass;
  readonly partSize: number;
  readonly concurrency: number;
  readonly journal: UploadJournal;
  /** Requests sent, by operation name: what the bill counts. */
  readonly requests = new Map<string, number>();
  /** Wall time spent per operation (ms), for benchmarks and diagnostics. */
  readonly requestMs = new Map<string, number>();
  private bucketChecked = false;
  /** Notable events for logs and tests (a damaged part sent again...). */
  onEvent?: (e: { type: 'part-damaged'; key: string; partNumber: number; attempt: number }) => void;

  constructor(readonly opts: S3TierOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.storageClass = opts.storageClass ?? 'STANDARD';
    this.partSize = opts.partSize ?? 6_000_000;
    this.concurrency = Math.max(1, opts.concurrency ?? 3);
    this.journal = opts.journal ?? new MemoryJournal();
    if (this.partSize < MIN_PART) throw new TierError(`part size ${this.partSize} is below S3's minimum of 5 MiB (5242880 bytes); use --part-size 6M or more`, 'invalid');
    // package.json supports Node 20; the SDK's "upgrade to Node 22" notice would only confuse users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const endpoint = opts.endpoint ?? s3EndpointFromEnv();
    const region = opts.region ?? process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION ?? 'us-east-1';
    const id = opts.accessKeyId;
    const secret = opts.secretAccessKey;
    this.client = new S3Client({
      region,
      endpoint,
      forcePathStyle: !!endpoint,
      maxAttempts: 1,
      // No key pair: the SDK's default provider chain, exactly as the aws CLI reads credentials.
      credentials: id && secret ? { accessKeyId: id, secretAccessKey: secret, ...(opts.sessionToken ? { sessionToken: opts.sessionToken } : {}) } : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // moto splits x-amz-object-attributes on ',' without trimming; AWS accepts either form.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        const h = req.headers?.['x-amz-object-attributes'];
        if (h) req.headers!['x-amz-object-attributes'] = h.replace(/\s+/g, '');
        return next(args);
      },
      { step: 'build', name: 'lomoTrimObjectAttributes' },
    );
    // SigV4 hashes a Buffer body to sign it; our parts already carry their SHA-256 (the checksum
    // S3 verifies), which is that very payload hash: reuse it instead of hashing every byte again.
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ChecksumSHA256?: string };
        const req = args.request as { headers?: Record<string, string>; body?: unknown };
        if (input.ChecksumSHA256 && req.headers && Buffer.isBuffer(req.body) && !req.headers['x-amz-content-sha256']) {
          req.headers['x-amz-content-sha256'] = Buffer.from(input.ChecksumSHA256, 'base64').toString('hex');
        }
        return next(args);
      },
      { step: 'build', name: 'lomoReusePayloadHash' },
    );
    this.url = `s3://${this.bucket}${this.prefix ? '/' + this.prefix : ''}`;
  }

  fullKey(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  requestCount(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }

  /** One S3 call, retried on throttling/5xx, errors mapped to TierError. */
  async send<T>(name: string, command: { input: object }, what: string): Promise<T> {
    return withRetry(async () => {
      this.requests.set(name, (this.requests.get(name) ?? 0) + 1);
      const t0 = Date.now();
      try {
        return (await this.client.send(command as never)) as T;
      } catch (err) {
        throw this.mapError(err, what);
      } finally {
        this.requestMs.set(name, (this.requestMs.get(name) ?? 0) + Date.now() - t0);
      }
    }, this.opts.retry);
  }

  /**
   * Whether the client has credentials: a key pair given, else whatever the SDK's default chain
   * finds (profile, SSO, roles). Resolving them sends nothing to S3. `reason`: why none were found.
   */
  async findCredentials(): Promise<{ found: true } | { found: false; reason: string }> {
    try {
      await this.client.config.credentials();
      return { found: true };
    } catch (e) {
      return { found: false, reason: (e as Error).message };
    }
  }

  mapError(err: unknown, what: string): TierError {
    if (err instanceof TierError) return err;
    const e = err as S3ServiceException & { code?: string; $response?: { statusCode?: number } };
    const status = e?.$metadata?.httpStatusCode;
    const code = e?.name ?? e?.code ?? 'Error';
    // An answer the SDK could not read (a server sending dates or XML the SDK rejects, e.g. moto
    // before 5.2.5 and its Last-Modified dates): the storage failed, not the user's flags.
    if (isUnreadableAnswer(e)) {
      return new TierError(`${what}: the S3 server sent an answer the AWS SDK cannot read (${unreadableReason(e)}); check the endpoint (an S3-compatible server may be too old)`, 'unreadable', err);
    }
    if (code === 'InvalidObjectState') return new TierError(`${what}: the object is archived; request a restore first (lomo-peer restore aws --tier Bulk|Standard)`, 'needs-restore', err);
    if (code === 'NoSuchBucket') return new TierError(`${what}: bucket "${this.bucket}" does not exist; create it or pass --awsBucketName`, 'not-found', err);
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AccessDenied', 'CredentialsProviderError'].includes(code) || status === 401 || (status === 403 && !/SlowDown|Throttl/.test(code))) {
      return new TierError(
        `${what}: S3 refused the credentials (${code}). Set --awsAccessKeyID and --awsSecretAccessKey (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or an AWS profile) to a key allowed to use bucket "${this.bucket}" (region: --awsBucketRegion / AWS_DEFAULT_REGION)`,
        'auth',
        err,
      );
    }
    if (code === 'BadDigest' || code === 'InvalidDigest' || code === 'XAmzContentSHA256Mismatch') return new TierError(`${what}: the bytes S3 received do not match their checksum (${code})`, 'checksum', err);
    // S3 throttles with 503 SlowDown; HEAD answers carry no body, so the status alone must do.
    if (code === 'SlowDown' || code === 'ThrottlingException' || code === 'TooManyRequests' || status === 503) return new TierError(`${what}: S3 asks to slow down (${code})`, 'throttled', err);
    if (status === undefined && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|socket hang up|ENOTFOUND|fetch failed/i.test(String(e?.message ?? err))) {
      return new TierError(`${what}: S3 endpoint unreachable (${String(e?.message ?? err)})`, 'unavailable', err);
    }
    const kind = code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' ? 'not-found' : kindForStatus(status, code);
    return new TierError(`${what}: ${code}${e?.message && e.message !== code ? ` (${e.message})` : ''}`, kind, err);
  }

  /** Tier capability: the bucket is checked (and created when allowed) before anything is sent. */
  prepare(): Promise<void> {
    return this.ensureBucket();
  }

  /** Tier capability: the region the client talks to (the catalog records it with each volume). */
  async region(): Promise<string> {
    return String(await this.client.config.region());
  }

  /** HeadBucket once per tier; a missing bucket is created (opts.createBucket) or named. */
  async ensureBucket(): Promise<void> {
    if (this.bucketChecked) return;
    try {
      await this.send('HeadBucket', new HeadBucketCommand({ Bucket: this.bucket }), `bucket ${this.bucket}`);
    } catch (err) {
      if (!(err instanceof TierError) || err.kind !== 'not-found') throw err;
      if (this.opts.createBucket === false) throw new TierError(`bucket "${this.bucket}" does not exist: create it in the S3 console or pass --awsBucketName with an existing bucket`, 'not-found');
      const region = String(await this.client.config.region());
      await this.send(
        'CreateBucket',
        new CreateBucketCommand({ Bucket: this.bucket, ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}) }),
        `create bucket ${this.bucket}`,
      );
    }
    this.bucketChecked = true;
  }

  async put(key: string, body: Readable | Buffer, opts: S3PutOptions = {}): Promise<ObjectStat> {
    const full = this.fullKey(key);
    await this.ensureBucket();
    const existing = await this.head(key);
    if (existing) {
      if (opts.sha256 && existing.sha256 === opts.sha256 && (opts.size === undefined || existing.size === opts.size)) return existing;
      this.assertMayReplace(existing);
    }
    const size = opts.size ?? (Buffer.isBuffer(body) ? body.length : undefined);
    const want = Math.max(MIN_PART, opts.partSize ?? this.partSize);
    const partSize = size !== undefined ? Math.max(want, Math.ceil(size / MAX_PARTS)) : want;
    if (size !== undefined && size <= partSize) {
      const buf = Buffer.isBuffer(body) ? body : await readAll(body);
      return this.putSingle(key, full, buf, opts);
    }
    return multipartPut(this, key, full, body, { ...opts, partSize });
  }

  private async putSingle(key: string, full: string, buf: Buffer, opts: PutOptions): Promise<ObjectStat> {
    const digest = createHash('sha256').update(buf).digest();
    if (opts.sha256 && digest.toString('hex') !== opts.sha256) throw new TierError(`${key}: the bytes read do not match the expected SHA-256`, 'checksum');
    const res = await this.send<{ ChecksumSHA256?: string }>(
      'PutObject',
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: full,
        Body: buf,
        ContentLength: buf.length,
        ChecksumSHA256: digest.toString('base64'),
        StorageClass: s3Class(this.storageClass),
        Metadata: { 'lomo-sha256': digest.toString('hex') },
      }),
      `upload ${key}`,
    );
    if (res.ChecksumSHA256 && res.ChecksumSHA256 !== digest.toString('base64')) throw new TierError(`${key}: S3 stored different bytes (checksum mismatch)`, 'checksum');
    opts.onProgress?.(buf.length);
    return this.verify(key, buf.length, digest.toString('base64'), digest.toString('hex'));
  }

  /**
   * The final check before an upload counts: GetObjectAttributes (works on Deep Archive without a
   * restore) must report the size and the checksum we computed (for multipart: the composite of
   * the part checksums, "-N" suffix ignored); per-part sizes/checksums when S3 lists them.
   */
  async verify(key: string, size: number, checksumB64: string, sha256Hex: string | undefined, parts?: { size: number; sha256: string }[]): Promise<ObjectStat> {
    const a = await this.send<{
      ObjectSize?: number;
      Checksum?: { ChecksumSHA256?: string };
      StorageClass?: string;
      LastModified?: Date;
      ETag?: string;
      ObjectParts?: { Parts?: { PartNumber?: number; Size?: number; ChecksumSHA256?: string }[] };
    }>(
      'GetObjectAttributes',
      new GetObjectAttributesCommand({ Bucket: this.bucket, Key: this.fullKey(key), ObjectAttributes: ['ObjectSize', 'Checksum', 'StorageClass', 'ObjectParts', 'ETag'], MaxParts: MAX_PARTS }),
      `verify ${key}`,
    );
    if (a.ObjectSize !== size) throw new TierError(`${key}: S3 reports ${a.ObjectSize} bytes, expected ${size}`, 'checksum');
    const remote = a.Checksum?.ChecksumSHA256?.replace(/-\d+$/, '');
    if (remote !== undefined && remote !== checksumB64) throw new TierError(`${key}: S3's SHA-256 checksum differs from the uploaded bytes'`, 'checksum');
    for (const p of a.ObjectParts?.Parts ?? []) {
      const want = parts?.[(p.PartNumber ?? 0) - 1];
      if (!want) continue;
      if (p.Size !== undefined && p.Size !== want.size) throw new TierError(`${key}: part ${p.PartNumber} has ${p.Size} bytes, expected ${want.size}`, 'checksum');
      if (p.ChecksumSHA256 && Buffer.from(p.ChecksumSHA256, 'base64').toString('hex') !== want.sha256) throw new TierError(`${key}: part ${p.PartNumber} checksum differs`, 'checksum');
    }
    return { key, size, sha256: sha256Hex, storageClass: a.StorageClass ?? 'STANDARD', modifiedAt: a.LastModified, id: a.ETag?.replace(/"/g, '') };
  }

  async head(key: string): Promise<ObjectStat | null> {
    try {
      const h = await this.send<{
        ContentLength?: number;
        StorageClass?: string;
        Restore?: string;
        LastModified?: Date;
        Metadata?: Record<string, string>;
        ETag?: string;
      }>('HeadObject', new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }), `head ${key}`);
      const storageClass = h.StorageClass ?? 'STANDARD';
      const st: ObjectStat = { key, size: h.ContentLength ?? 0, storageClass, modifiedAt: h.LastModified, id: h.ETag?.replace(/"/g, '') };
      if (h.Metadata?.['lomo-sha256']) st.sha256 = h.Metadata['lomo-sha256'];
      if (COLD_CLASSES.has(storageClass)) st.restore = parseRestore(h.Restore);
      return st;
    } catch (err) {
      if (err instanceof TierError && err.kind === 'not-found') return null;
      throw err;
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    const base = this.prefix ? this.prefix + '/' : '';
    let token: string | undefined;
    do {
      const r = await this.send<{ Contents?: { Key?: string; Size?: number; StorageClass?: string; LastModified?: Date; ETag?: string }[]; NextContinuationToken?: string }>(
        'ListObjectsV2',
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base + prefix, ContinuationToken: token }),
        `list ${this.url}`,
      );
      for (const o of r.Contents ?? []) {
        yield { key: o.Key!.slice(base.length), size: o.Size ?? 0, storageClass: o.StorageClass, modifiedAt: o.LastModified, id: o.ETag?.replace(/"/g, '') };
      }
      token = r.NextContinuationToken;
    } while (token);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const r = await this.send<{ Body?: Readable }>(
      'GetObject',
      new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      `download ${key}`,
    );
    return r.Body as Readable;
  }

  /** Whole object as ranged GETs in parallel, in order (restores, big volumes). */
  getParallel(key: string, size: number, opts: { rangeSize?: number; concurrency?: number } = {}): Readable {
    return parallelGet(this, key, size, opts.rangeSize ?? 16 * 1024 * 1024, opts.concurrency ?? this.concurrency);
  }

  async delete(key: string): Promise<void> {
    const st = await this.head(key);
    if (!st) return;
    this.assertMayReplace(st);
    await this.send('DeleteObject', new DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }), `delete ${key}`);
  }

  async requestRestore(key: string, opts: { days: number; tier: 'Standard' | 'Bulk' }): Promise<void> {
    try {
      await this.send('RestoreObject', new RestoreObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), RestoreRequest: { Days: opts.days, GlacierJobParameters: { Tier: opts.tier } } }), `restore ${key}`);
    } catch (err) {
      // A restore already running is what we asked for.
      if (err instanceof TierError && (err.cause as { name?: string })?.name === 'RestoreAlreadyInProgress') return;
      throw err;
    }
  }

  /** --force: forget the recorded unfinished upload of this key (aborted on S3) so the next put starts over. */
  async discardUpload(key: string): Promise<void> {
    const j = this.journal.load(this.url, key);
    if (j) await abortUpload(this, key, this.fullKey(key), j.uploadId);
  }

  /** Aborts this site's unfinished multipart uploads that nobody will resume (s3-orphans.ts). */
  abortOrphans(scope: OrphanScope): Promise<string[]> {
    return abortOrphans(this, scope);
  }

  /** Tier capability: this site's abandoned multipart uploads, aborted (abortOrphans). */
  sweepOrphans(scope: OrphanScope): Promise<string[]> {
    return this.abortOrphans(scope);
  }

  /** Tier capabilities for lomob's util list-inprogress-upload / abort-upload (s3-uploads.ts). */
  listUploads(): Promise<PendingUpload[]> {
    return listPendingUploads(this);
  }

  abortUploadById(key: string, uploadId: string): Promise<void> {
    return abortPendingUpload(this, key, uploadId);
  }

  private assertMayReplace(st: ObjectStat): void {
    if (this.opts.allowEarlyDelete || !st.storageClass || !COLD_CLASSES.has(st.storageClass) || !st.modifiedAt) return;
    const ageDays = (Date.now() - st.modifiedAt.getTime()) / DAY;
    const min = st.storageClass === 'DEEP_ARCHIVE' ? 180 : 90;
    if (ageDays < min) {
      throw new TierError(`${st.key} is in ${st.storageClass} since ${Math.floor(ageDays)} days; replacing or deleting it before ${min} days is billed as if kept ${min} days. Refusing.`, 'invalid');
    }
  }
}

/** The endpoint the environment names: AWS_ENDPOINT_URL (the AWS tools' name), else lomob's LOCALSTACK_ENDPOINT. */
export function s3EndpointFromEnv(): string | undefined {
  return process.env.AWS_ENDPOINT_URL || process.env.LOCALSTACK_ENDPOINT || undefined;
}

/**
 * The SDK's deserializer failed on an answer that did arrive: smithy attaches the raw response
 * ($response) and, for errors it raised itself, no $metadata of a service exception.
 */
function isUnreadableAnswer(e: { name?: string; message?: string; $response?: unknown; $fault?: unknown }): boolean {
  if (!e || typeof e !== 'object') return false;
  if (/Deserialization error/i.test(String(e.message ?? ''))) return true;
  return e.$response !== undefined && !(e instanceof S3ServiceException) && (e.name === 'TypeError' || e.name === 'SyntaxError' || e.name === 'Error');
}

function unreadableReason(e: { message?: string }): string {
  return String(e.message ?? e).split('\n')[0]!.replace(/^Deserialization error: to see the raw response.*$/i, 'deserialization error');
}

export function s3Class(c: LomobStorageClass): StorageClass {
  return (c === 'ONE-ZONE_IA' ? 'ONEZONE_IA' : c) as StorageClass;
}

/** x-amz-restore: `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`. */
export function parseRestore(h: string | undefined): NonNullable<ObjectStat['restore']> {
  if (!h) return { needed: true, ongoing: false };
  const ongoing = /ongoing-request="true"/.test(h);
  const exp = /expiry-date="([^"]+)"/.exec(h)?.[1];
  return { needed: ongoing, ongoing, expiresAt: exp ? new Date(exp) : undefined };
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}
