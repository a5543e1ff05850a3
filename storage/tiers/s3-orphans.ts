/**
 * Unfinished multipart uploads are billed until someone aborts them. In a bucket shared by several
 * sites (a family's, or a NAS gateway's) "someone" must be careful: another site's upload may be
 * running right now, and aborting it makes that site send every part again. So an upload is
 * aborted only when all three hold (OrphanScope, tier.ts):
 *  - it is ours: the journal knows its id, or its key lies in one of our key folders (encrypted
 *    volumes live under their root's keyed token, which no other site can produce);
 *  - nobody will resume it: the journal does not hold it for a key still waiting for upload;
 *  - it is older than the grace period (S3's `Initiated`): a live upload is never cut off.
 * Everything else is left for its owner, or for the bucket's AbortIncompleteMultipartUpload
 * lifecycle rule (docs/tiers.md).
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { OrphanScope } from './tier.js';
import type { S3Tier } from './s3.js';

export interface UnfinishedUpload {
  /** Key relative to the tier's prefix. */
  key: string;
  uploadId: string;
  initiated?: Date;
}

/** The rule above, without S3: whether this unfinished upload may be aborted now. */
export function isAbandonedOrphan(u: UnfinishedUpload, scope: OrphanScope, journalKnows: (uploadId: string) => boolean, now = Date.now()): boolean {
  const journaled = journalKnows(u.uploadId);
  const ours = journaled || scope.folders.some((f) => u.key.startsWith(f + '/'));
  if (!ours) return false;
  if (journaled && scope.pending(u.key)) return false;
  // Without a start time the age is unknown: treat it as live.
  if (!u.initiated || now - u.initiated.getTime() < scope.graceMs) return false;
  return true;
}

/** Aborts this site's abandoned uploads under the tier's prefix; their keys. */
export async function abortOrphans(tier: S3Tier, scope: OrphanScope): Promise<string[]> {
  await tier.ensureBucket();
  const known = tier.journal.known(tier.url);
  const base = tier.prefix ? tier.prefix + '/' : '';
  const aborted: string[] = [];
  let keyMarker: string | undefined;
  let idMarker: string | undefined;
  for (;;) {
    const r = await tier.send<{ Uploads?: { Key?: string; UploadId?: string; Initiated?: Date }[]; IsTruncated?: boolean; NextKeyMarker?: string; NextUploadIdMarker?: string }>(
      'ListMultipartUploads',
      new ListMultipartUploadsCommand({ Bucket: tier.bucket, Prefix: base || undefined, KeyMarker: keyMarker, UploadIdMarker: idMarker }),
      `list unfinished uploads in ${tier.url}`,
    );
    for (const u of r.Uploads ?? []) {
      if (!u.Key || !u.UploadId || !u.Key.startsWith(base)) continue;
      const key = u.Key.slice(base.length);
      if (!isAbandonedOrphan({ key, uploadId: u.UploadId, initiated: u.Initiated }, scope, (id) => known.has(id))) continue;
      try {
        await tier.send('AbortMultipartUpload', new AbortMultipartUploadCommand({ Bucket: tier.bucket, Key: u.Key, UploadId: u.UploadId }), `abort ${u.Key}`);
      } catch (err) {
        // Gone meanwhile (its owner finished or aborted it): nothing left to do.
        if (!((err as { kind?: string }).kind === 'not-found')) throw err;
      }
      if (tier.journal.load(tier.url, key)?.uploadId === u.UploadId) tier.journal.finished(tier.url, key);
      aborted.push(key);
    }
    if (!r.IsTruncated) return aborted;
    keyMarker = r.NextKeyMarker;
    idMarker = r.NextUploadIdMarker;
  }
}
