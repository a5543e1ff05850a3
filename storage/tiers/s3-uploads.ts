/**
 * Unfinished multipart uploads of an S3 tier, as people see them: lomob's `util
 * list-inprogress-upload` and `util abort-upload` (cmd/lomob/upload-iso.go). Separate from the
 * orphan sweep (s3-multipart.ts), which aborts only what no journal resumes; these list and abort
 * by key and upload id whatever made them (lomob, lomo-peer, another tool).
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { PendingUpload } from './tier.js';
import type { S3Tier } from './s3.js';

/** Every unfinished multipart upload under the tier's prefix, keys relative to it. */
export async function listPendingUploads(tier: S3Tier): Promise<PendingUpload[]> {
  const prefix = tier.prefix ? tier.prefix + '/' : '';
  const out: PendingUpload[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const r = await tier.send<{ Uploads?: { Key?: string; UploadId?: string; Initiated?: Date }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }>(
      'ListMultipartUploads',
      new ListMultipartUploadsCommand({ Bucket: tier.bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: idMarker }),
      `list unfinished uploads in ${tier.url}`,
    );
    for (const u of r.Uploads ?? []) out.push({ key: u.Key!.slice(prefix.length), uploadId: u.UploadId!, initiated: u.Initiated });
    if (!r.IsTruncated) return out;
    keyMarker = r.NextKeyMarker;
    idMarker = r.NextUploadIdMarker;
  }
}

/** Aborts one unfinished upload; its parts stop being billed. A journal entry for it is dropped. */
export async function abortPendingUpload(tier: S3Tier, key: string, uploadId: string): Promise<void> {
  await tier.send('AbortMultipartUpload', new AbortMultipartUploadCommand({ Bucket: tier.bucket, Key: tier.fullKey(key), UploadId: uploadId }), `abort upload ${uploadId} of ${key}`);
  if (tier.journal.load(tier.url, key)?.uploadId === uploadId) tier.journal.finished(tier.url, key);
}
