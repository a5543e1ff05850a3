/**
 * The requests the S3 tier really sends, counted the way storage/tiers/s3.ts and s3-multipart.ts
 * send them, so that estimates bill what the tool does (docs/cost.md, "Requests"). Kept beside the
 * cost model rather than in the tier: the tier counts what it sent, this predicts what it will send.
 *
 * One `put` of an object of `size` bytes with parts of `partSize`:
 *   HeadObject (is it there already?)                            GET class, STANDARD rate (not there)
 *   PutObject                                  if size <= part    PUT class, the object's class
 *   or CreateMultipartUpload + N × UploadPart + CompleteMultipartUpload
 *   GetObjectAttributes (size and checksum, the final check)     GET class, the object's class
 * Once per `upload iso` run: HeadBucket (GET class) and ListMultipartUploads (LIST, PUT-class price),
 * both at the STANDARD rate since they touch no archived object.
 */
import { MAX_PARTS, MIN_PART_SIZE } from '../objects/format.js';

export interface PutRequests {
  /** PutObject, or CreateMultipartUpload + parts + CompleteMultipartUpload: billed at the class's PUT price. */
  put: number;
  /** Of `put`, the UploadPart requests (0 for a single PutObject). */
  parts: number;
  /** HeadObject before the put (the object is not there yet: STANDARD GET rate). */
  headBefore: number;
  /** GetObjectAttributes after the put (at the class's GET rate). */
  verify: number;
}

/** The part size S3Tier.put uses: at least S3's 5 MiB, and large enough for 10,000 parts. */
export function effectivePartSize(size: number, wantPartSize: number): number {
  return Math.max(Math.max(MIN_PART_SIZE, wantPartSize), Math.ceil(size / MAX_PARTS));
}

/** Requests of one S3Tier.put of `size` bytes (a fresh upload: no resume, no retries). */
export function putRequests(size: number, wantPartSize: number): PutRequests {
  const part = effectivePartSize(size, wantPartSize);
  if (size <= part) return { put: 1, parts: 0, headBefore: 1, verify: 1 };
  const parts = Math.ceil(size / part);
  return { put: parts + 2, parts, headBefore: 1, verify: 1 };
}

/** Requests every `upload iso` run sends once, whatever it uploads (bucket check, orphan listing). */
export const PER_RUN = { headBucket: 1, listMultipartUploads: 1 } as const;
