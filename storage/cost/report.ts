/**
 * The cost report (`lomo-peer cost`): projected monthly and one-off costs from the catalog and a
 * price table — storage per tier with the per-object overhead, every request `upload iso` would
 * send for pending volumes, the minimum-duration commitment of cold classes, what a full restore
 * would cost per recorded class, and the lomob README's per-file vs per-volume comparison
 * (docs/cost.md gives each formula). Field names and order are those of `cost --json`.
 */
import type { Db } from '../catalog/db.js';
import { catalogSummary, fileInventory, plannedStorageClass, volumeInventory, type VolumeCostRow } from './catalog-summary.js';
import { driveMonthly, earlyDeletionFee, monthlyStorage } from './estimate.js';
import { perFileVsPerVolume, type PerFileComparison } from './per-file.js';
import { classKey, type PriceTable } from './prices.js';
import { fullRestore, restoreGets, type FullRestoreEstimate } from './restore-plan.js';
import { DEFAULT_PART_SIZE, uploadPartSize, uploadPlan, type UploadEstimate, type VolumeToUpload } from './upload-plan.js';

export interface CostOptions {
  /** Class assumed for volumes not uploaded yet (default: the class the archived volumes use). */
  storageClass?: string;
  /** --part-size as upload iso takes it; undefined = upload iso's own rule. */
  partSize?: number;
  restoreTier: 'Standard' | 'Bulk';
  restoreDays: number;
}

export interface MonthlyLine {
  tier: string;
  objects: number;
  bytes: number;
  monthly: number;
}

export interface CostReport {
  plannedStorageClass: string;
  monthly: { current: MonthlyLine[]; afterPendingUploads: number };
  pendingUpload: UploadEstimate;
  /** Copies still inside their minimum duration: deleting them now would cost this much. */
  earlyDeletionIfDeletedNow: number;
  staging: { files: number; bytes: number; onDrive: number };
  restoreAll: FullRestoreEstimate;
  perFileVsPerVolume: PerFileComparison | null;
}

export function costReport(db: Db, p: PriceTable, opts: CostOptions): CostReport {
  const planned = opts.storageClass ?? plannedStorageClass(db);
  const s = catalogSummary(db);
  const monthly: MonthlyLine[] = s.stored
    .filter((g) => g.tier === 's3')
    .map((g) => ({ tier: `S3 ${g.storageClass || 'STANDARD'}`, objects: g.objects, bytes: g.bytes, monthly: monthlyStorage(p, g.storageClass || 'STANDARD', g.bytes, g.objects) }));
  const drive = s.stored.filter((g) => g.tier === 'gdrive');
  const driveBytes = drive.reduce((a, g) => a + g.bytes, 0);
  const driveObjects = drive.reduce((a, g) => a + g.objects, 0);
  if (driveObjects) monthly.push({ tier: 'Google Drive (staging)', objects: driveObjects, bytes: driveBytes, monthly: driveMonthly(p, driveBytes) });
  const inv = volumeInventory(db);
  const manifestPartSize = opts.partSize ?? DEFAULT_PART_SIZE;
  const sent = (v: VolumeCostRow): VolumeToUpload => ({
    name: v.name,
    bytes: v.enc ? v.enc.cipherSize : v.size,
    partSize: uploadPartSize(v.enc, opts.partSize),
    ...(v.enc && v.manifestBytes !== null ? { manifestBytes: v.manifestBytes } : {}),
  });
  const pending = uploadPlan(p, planned, inv.filter((v) => !v.s3).map(sent), { perRun: true, manifestPartSize });
  const early = s.stored
    .filter((g) => g.tier === 's3' && (p.s3[classKey(g.storageClass || 'STANDARD')]?.minDays ?? 0) > 0)
    .reduce((a, g) => a + earlyDeletionFee(p, g.storageClass, g.bytes, g.youngestDays), 0);
  const restore = fullRestore(
    p,
    opts.restoreTier,
    inv.map((v) => {
      if (v.s3) return { name: v.name, storageClass: v.s3.storageClass, pending: false, bytes: v.s3.size, gets: restoreGets(v.s3.size, v.s3.encrypted ? v.enc?.chunkCount : undefined) };
      const bytes = sent(v).bytes;
      return { name: v.name, storageClass: planned, pending: true, bytes, gets: restoreGets(bytes, v.enc?.chunkCount) };
    }),
    { days: opts.restoreDays },
  );
  const files = fileInventory(db);
  const comparison = files.files ? perFileVsPerVolume(p, planned, opts.restoreTier, files, uploadPlan(p, planned, inv.map(sent), { manifestPartSize })) : null;
  return {
    plannedStorageClass: planned,
    monthly: { current: monthly, afterPendingUploads: monthly.reduce((a, m) => a + m.monthly, 0) + pending.monthly },
    pendingUpload: pending,
    earlyDeletionIfDeletedNow: early,
    staging: s.staging,
    restoreAll: restore,
    perFileVsPerVolume: comparison,
  };
}
