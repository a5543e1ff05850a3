/**
 * What keeping bytes costs: monthly storage with the per-object overhead of the archive classes,
 * the early-deletion fee of minimum durations, and Drive beyond its free quota.
 */
import { classPrice, type PriceTable } from './prices.js';

/** AWS bills GB as 2^30 bytes. */
export const GB = 1024 ** 3;
const KB = 1024;

/** Billed bytes for `objects` objects of `bytes` total, split into class-priced and STANDARD-priced. */
export function billedBytes(p: PriceTable, storageClass: string, bytes: number, objects: number): { own: number; standard: number } {
  const o = classPrice(p, storageClass).overheadKB;
  return { own: bytes + objects * (o?.own ?? 0) * KB, standard: objects * (o?.standard ?? 0) * KB };
}

/** $ per month to keep these objects in S3. */
export function monthlyStorage(p: PriceTable, storageClass: string, bytes: number, objects: number): number {
  const b = billedBytes(p, storageClass, bytes, objects);
  return (b.own / GB) * classPrice(p, storageClass).storage + (b.standard / GB) * classPrice(p, 'STANDARD').storage;
}

/** Fee for deleting an object `ageDays` old: the rest of the minimum duration. */
export function earlyDeletionFee(p: PriceTable, storageClass: string, bytes: number, ageDays: number): number {
  const left = Math.max(0, classPrice(p, storageClass).minDays - ageDays);
  return monthlyStorage(p, storageClass, bytes, 1) * (left / 30);
}

/** Drive: free up to the free quota, then the paid plan's price per GB (rough). */
export function driveMonthly(p: PriceTable, bytes: number): number {
  const over = bytes / GB - p.drive.freeGB;
  return over > 0 ? over * p.drive.perGBMonthBeyond : 0;
}
