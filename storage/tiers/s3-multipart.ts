/**
 * S3 multipart upload with resume. Request budget for an object of N parts: CreateMultipartUpload
 * + N × UploadPart + CompleteMultipartUpload (= N + 2), plus the checks: HeadBucket (once per
 * tier), HeadObject (idempotency), GetObjectAttributes (final verification) and, only when
 * resuming, ListParts. Every part carries its SHA-256 (S3 verifies it on arrival); where a server
 * does not echo the checksum (moto), the part's ETag is compared with its MD5 instead, so a part
 * damaged on the way is detected at once and sent again.
 *
 * Resume: the journal holds the upload id and each finished part. On restart, ListParts tells what
 * S3 really has; a part is skipped when S3 lists it with the size and checksum (or MD5 ETag) of the
 * bytes we read now. Parts that were in flight when the process died are either listed (skipped)
 * or missing (sent again): at most `concurrency` parts are re-sent.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { TierError, type ObjectStat, type PutOptions } from './tier.js';
import { Pool, splitParts } from './parts.js';
import type { JournalPart } from './upload-journal.js';
import { s3Class, type S3Tier } from './s3.js';

const MAX_PARTS = 10_000;
const PART_CHECKSUM_ATTEMPTS = 3;

interface ServerPart {
  size: number;
  etag: string;
  checksum?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest();
const md5hex = (b: Buffer) => createHash('md5').update(b).digest('hex');
const unquote = (s: string | undefined) => (s ?? '').replace(/"/g, '');

export async function multipartPut(tier: S3Tier, key: string, full: string, body: Readable | Buffer, opts: PutOptions & { partSize: number }): Promise<ObjectStat> {
  const { partSize } = opts;
  let j = tier.journal.load(tier.url, key);
  if (j && j.partSize !== partSize) {
    await abortUpload(tier, key, full, j.uploadId);
    j = null;
  }
  let server = new Map<number, ServerPart>();
  if (j) {
    try {
      server = await listParts(tier, key, full, j.uploadId);
    } catch (err) {
      if (!(err instanceof TierError && err.kind === 'not-found')) throw err;
      tier.journal.finished(tier.url, key); // S3 forgot it (aborted or expired): start over
      j = null;
    }
  }
  if (!j) {
    const c = await tier.send<{ UploadId?: string }>(
      'CreateMultipartUpload',
      new CreateMultipartUploadCommand({
        Bucket: tier.bucket,
        Key: full,
        ChecksumAlgorithm: 'SHA256',
        StorageClass: s3Class(tier.storageClass),
        Metadata: opts.sha256 ? { 'lomo-sha256': opts.sha256 } : undefined,
      }),
      `start upload of ${key}`,
    );
    tier.journal.started(tier.url, key, c.UploadId!, partSize, opts.size);
    j = { uploadId: c.UploadId!, partSize, parts: new Map() };
  }
  const upload = j;
  const whole = createHash('sha256');
  const digests: Buffer[] = [];
  const sizes: number[] = [];
  const etags = new Map<number, string>();
  const pool = new Pool(tier.concurrency);
  let done = 0;
  let n = 0;
  try {
    for await (const part of splitParts(body, partSize)) {
      if (opts.signal?.aborted) throw opts.signal.reason; // in-flight parts are drained below
      n++;
      if (n > MAX_PARTS) throw new TierError(`${key}: more than ${MAX_PARTS} parts; use a larger --part-size`, 'invalid');
      whole.update(part);
      const d = sha(part);
      digests.push(d);
      sizes.push(part.length);
      const partNumber = n;
      const rec = upload.parts.get(partNumber);
      const srv = server.get(partNumber);
      if (srv && srv.size === part.length && serverHas(srv, rec, d, part)) {
        etags.set(partNumber, srv.etag);
        if (!rec || rec.etag !== srv.etag) tier.journal.partDone(tier.url, key, { partNumber, size: part.length, sha256: d.toString('hex'), etag: srv.etag });
        done += part.length;
        opts.onProgress?.(done);
        continue;
      }
      await pool.add(async () => {
        const etag = await uploadPart(tier, key, full, upload.uploadId, partNumber, part, d);
        etags.set(partNumber, etag);
        tier.journal.partDone(tier.url, key, { partNumber, size: part.length, sha256: d.toString('hex'), etag } satisfies JournalPart);
        done += part.length;
        opts.onProgress?.(done);
      });
    }
  } catch (e) {
    // Parts already on the wire finish (and are journaled) before the failure is reported.
    await pool.drain().catch(() => {});
    throw e;
  }
  await pool.drain();
  const total = sizes.reduce((a, b) => a + b, 0);
  const wholeHex = whole.digest('hex');
  if (opts.sha256 && wholeHex !== opts.sha256) {
    throw new TierError(`${key}: the bytes read do not match the expected SHA-256 (source changed?); upload left unfinished`, 'checksum');
  }
  await tier.send(
    'CompleteMultipartUpload',
    new CompleteMultipartUploadCommand({
      Bucket: tier.bucket,
      Key: full,
      UploadId: upload.uploadId,
      MultipartUpload: { Parts: digests.map((d, i) => ({ PartNumber: i + 1, ETag: etags.get(i + 1), ChecksumSHA256: d.toString('base64') })) },
    }),
    `finish upload of ${key}`,
  );
  const composite = sha(Buffer.concat(digests)).toString('base64');
  const stat = await tier.verify(key, total, composite, wholeHex, digests.map((d, i) => ({ size: sizes[i]!, sha256: d.toString('hex') })));
  tier.journal.finished(tier.url, key);
  return { ...stat, parts: digests.map((d, i) => ({ partNumber: i + 1, size: sizes[i]!, sha256: d.toString('hex') })) };
}

function serverHas(srv: ServerPart, rec: JournalPart | undefined, d: Buffer, part: Buffer): boolean {
  if (srv.checksum) return srv.checksum === d.toString('base64');
  if (rec && rec.sha256 === d.toString('hex') && rec.etag === srv.etag) return true;
  return md5hex(part) === srv.etag;
}

async function uploadPart(tier: S3Tier, key: string, full: string, uploadId: string, partNumber: number, part: Buffer, d: Buffer): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await tier.send<{ ETag?: string; ChecksumSHA256?: string }>(
        'UploadPart',
        new UploadPartCommand({ Bucket: tier.bucket, Key: full, UploadId: uploadId, PartNumber: partNumber, Body: part, ContentLength: part.length, ChecksumSHA256: d.toString('base64') }),
        `upload part ${partNumber} of ${key}`,
      );
      const etag = unquote(r.ETag);
      const ok = r.ChecksumSHA256 ? r.ChecksumSHA256 === d.toString('base64') : etag === md5hex(part);
      if (!ok) throw new TierError(`part ${partNumber} of ${key} arrived damaged (S3's checksum differs)`, 'checksum');
      return etag;
    } catch (err) {
      if (!(err instanceof TierError && err.kind === 'checksum') || attempt >= PART_CHECKSUM_ATTEMPTS) throw err;
      tier.onEvent?.({ type: 'part-damaged', key, partNumber, attempt });
    }
  }
}

async function listParts(tier: S3Tier, key: string, full: string, uploadId: string): Promise<Map<number, ServerPart>> {
  const out = new Map<number, ServerPart>();
  let marker: string | undefined;
  for (;;) {
    const r = await tier.send<{ Parts?: { PartNumber?: number; Size?: number; ETag?: string; ChecksumSHA256?: string }[]; IsTruncated?: boolean; NextPartNumberMarker?: string }>(
      'ListParts',
      new ListPartsCommand({ Bucket: tier.bucket, Key: full, UploadId: uploadId, PartNumberMarker: marker }),
      `list parts of ${key}`,
    );
    for (const p of r.Parts ?? []) out.set(p.PartNumber!, { size: p.Size ?? -1, etag: unquote(p.ETag), checksum: p.ChecksumSHA256 });
    if (!r.IsTruncated || !r.NextPartNumberMarker) return out;
    marker = r.NextPartNumberMarker;
  }
}

export async function abortUpload(tier: S3Tier, key: string, full: string, uploadId: string): Promise<void> {
  try {
    await tier.send('AbortMultipartUpload', new AbortMultipartUploadCommand({ Bucket: tier.bucket, Key: full, UploadId: uploadId }), `abort upload of ${key}`);
  } catch (err) {
    if (!(err instanceof TierError && err.kind === 'not-found')) throw err;
  }
  tier.journal.finished(tier.url, key);
}
