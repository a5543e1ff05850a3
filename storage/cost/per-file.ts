/**
 * The seed's argument for volumes (lomob README, "Cost Analysis"): a library stored file by file
 * pays per-object fees — upload requests, the archive classes' 40 KB billed overhead per object,
 * one check request per object, one restore request per object — that a few large volumes do not.
 * Both sides are priced with the same table and class, for the same library.
 */
import { classPrice, type PriceTable } from './prices.js';
import { monthlyStorage } from './storage-bill.js';
import { DEFAULT_PART_SIZE, type UploadEstimate } from './upload-plan.js';
import type { RestoreTier } from './restore-plan.js';

/** S3's largest single PutObject: a per-file backup sends one request per file up to this size. */
export const SINGLE_PUT_LIMIT = 5 * 1024 ** 3;

/** PUT-class requests a per-file backup sends for one file (one PutObject, multipart above 5 GiB). */
export function perFilePutRequests(size: number, partSize = DEFAULT_PART_SIZE): number {
  return size <= SINGLE_PUT_LIMIT ? 1 : Math.ceil(size / partSize) + 2;
}

export interface StrategyFigures {
  objects: number;
  bytes: number;
  uploadRequests: number;
  uploadCost: number;
  monthly: number;
  minimumCommitment: number;
  /** A consistency check reading each object's metadata once (GetObjectAttributes). */
  checkRequests: number;
  checkCost: number;
  /** RestoreObject requests of a full restore (one per object read back) and their fee. */
  restoreRequests: number;
  restoreRequestCost: number;
}

function figures(p: PriceTable, storageClass: string, tier: RestoreTier, s: { objects: number; bytes: number; uploadRequests: number; restoreObjects: number }): StrategyFigures {
  const c = classPrice(p, storageClass);
  const monthly = monthlyStorage(p, storageClass, s.bytes, s.objects);
  const perRestore = c.retrieval?.[tier]?.per1000 ?? 0;
  return {
    objects: s.objects,
    bytes: s.bytes,
    uploadRequests: s.uploadRequests,
    uploadCost: (s.uploadRequests / 1000) * c.put,
    monthly,
    minimumCommitment: monthly * (c.minDays / 30),
    checkRequests: s.objects,
    checkCost: (s.objects / 1000) * c.get,
    restoreRequests: c.retrieval ? s.restoreObjects : 0,
    restoreRequestCost: c.retrieval ? (s.restoreObjects / 1000) * perRestore : 0,
  };
}

export interface PerFileComparison {
  storageClass: string;
  tier: RestoreTier;
  perFile: StrategyFigures;
  perVolume: StrategyFigures;
}

/**
 * `files`: the library's current files (count, bytes, and their per-file PUT requests);
 * `volumes`: the upload plan of every volume (uploaded or not) in the same class.
 */
export function perFileVsPerVolume(p: PriceTable, storageClass: string, tier: RestoreTier, files: { files: number; bytes: number; putRequests: number }, volumes: UploadEstimate): PerFileComparison {
  return {
    storageClass,
    tier,
    perFile: figures(p, storageClass, tier, { objects: files.files, bytes: files.bytes, uploadRequests: files.putRequests, restoreObjects: files.files }),
    perVolume: figures(p, storageClass, tier, { objects: volumes.objects, bytes: volumes.bytes, uploadRequests: volumes.requests, restoreObjects: volumes.volumes }),
  };
}
