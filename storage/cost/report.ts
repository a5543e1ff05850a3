/**
 * The cost report (`lomo-peer cost`): projected monthly and one-off costs from the catalog summary
 * and a price table — storage per tier with the per-object overhead, upload requests for pending
 * volumes, the minimum-duration commitment of cold classes, and what a full restore would cost.
 */
import type { CatalogSummary } from './catalog-summary.js';
import { driveMonthly, earlyDeletionFee, monthlyStorage, restoreEstimate, uploadEstimate, type RestoreEstimate, type UploadEstimate } from './estimate.js';
import { classKey, type PriceTable } from './prices.js';

export interface CostOptions {
  /** Class assumed for volumes not uploaded yet. */
  storageClass: string;
  /** Multipart part size assumed for pending uploads. */
  partSize: number;
  restoreTier: 'Standard' | 'Bulk';
}

export interface MonthlyLine {
  tier: string;
  objects: number;
  bytes: number;
  monthly: number;
}

/** Field names and order are those of `cost --json`. */
export interface CostReport {
  monthly: { current: MonthlyLine[]; afterPendingUploads: number };
  pendingUpload: UploadEstimate;
  /** Copies still inside their minimum duration: deleting them now would cost this much. */
  earlyDeletionIfDeletedNow: number;
  staging: CatalogSummary['staging'];
  restoreAll: RestoreEstimate;
}

export function costReport(s: CatalogSummary, p: PriceTable, opts: CostOptions): CostReport {
  const monthly: MonthlyLine[] = s.stored
    .filter((g) => g.tier === 's3')
    .map((g) => ({ tier: `S3 ${g.storageClass || 'STANDARD'}`, objects: g.objects, bytes: g.bytes, monthly: monthlyStorage(p, g.storageClass || 'STANDARD', g.bytes, g.objects) }));
  const drive = s.stored.filter((g) => g.tier === 'gdrive');
  const driveBytes = drive.reduce((a, g) => a + g.bytes, 0);
  const driveObjects = drive.reduce((a, g) => a + g.objects, 0);
  if (driveObjects) monthly.push({ tier: 'Google Drive (staging)', objects: driveObjects, bytes: driveBytes, monthly: driveMonthly(p, driveBytes) });
  const pending = uploadEstimate(p, opts.storageClass, s.pendingVolumes.map((v) => v.size), opts.partSize);
  const early = s.stored
    .filter((g) => g.tier === 's3' && (p.s3[classKey(g.storageClass || 'STANDARD')]?.minDays ?? 0) > 0)
    .reduce((a, g) => a + earlyDeletionFee(p, g.storageClass, g.bytes, g.youngestDays), 0);
  const cold = s.stored.filter((g) => g.tier === 's3' && p.s3[classKey(g.storageClass)]?.retrieval);
  const coldBytes = cold.reduce((a, g) => a + g.bytes, 0);
  const coldObjects = cold.reduce((a, g) => a + g.objects, 0);
  const restore = restoreEstimate(p, 'DEEP_ARCHIVE', opts.restoreTier, coldBytes, coldObjects, Math.ceil(coldBytes / (16 * 1024 * 1024)));
  const totalMonthly = monthly.reduce((a, m) => a + m.monthly, 0) + pending.monthly;
  return {
    monthly: { current: monthly, afterPendingUploads: totalMonthly },
    pendingUpload: pending,
    earlyDeletionIfDeletedNow: early,
    staging: s.staging,
    restoreAll: restore,
  };
}
