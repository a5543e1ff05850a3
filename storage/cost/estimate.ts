/**
 * Cost estimates from sizes and counts: what an upload, a month of storage, or a restore costs.
 * Pure functions over the price table, so commands can print them before spending anything.
 */
import { classKey, type ClassPrice, type PriceTable } from './prices.js';

export const GB = 1024 ** 3;
const KB = 1024;

function cls(p: PriceTable, storageClass: string): ClassPrice {
  const c = p.s3[classKey(storageClass)];
  if (!c) throw new Error(`no price for storage class ${storageClass} in the price table (dated ${p.asOf})`);
  return c;
}

/** Billed bytes for `objects` objects of `bytes` total, split into class-priced and STANDARD-priced. */
export function billedBytes(p: PriceTable, storageClass: string, bytes: number, objects: number): { own: number; standard: number } {
  const o = cls(p, storageClass).overheadKB;
  return { own: bytes + objects * (o?.own ?? 0) * KB, standard: objects * (o?.standard ?? 0) * KB };
}

/** $ per month to keep these objects in S3. */
export function monthlyStorage(p: PriceTable, storageClass: string, bytes: number, objects: number): number {
  const b = billedBytes(p, storageClass, bytes, objects);
  return (b.own / GB) * cls(p, storageClass).storage + (b.standard / GB) * p.s3.STANDARD!.storage;
}

export interface UploadEstimate {
  storageClass: string;
  objects: number;
  bytes: number;
  /** Billed requests: per object, CreateMultipartUpload + parts + Complete (or one PutObject). */
  requests: number;
  requestCost: number;
  monthly: number;
  /** Storage you pay for at least (minimum duration), whether or not you delete earlier. */
  minimumCommitment: number;
  minDays: number;
}

export function uploadEstimate(p: PriceTable, storageClass: string, objectSizes: number[], partSize: number): UploadEstimate {
  const c = cls(p, storageClass);
  let requests = 0;
  for (const s of objectSizes) requests += s <= partSize ? 1 : Math.ceil(s / partSize) + 2;
  const bytes = objectSizes.reduce((a, b) => a + b, 0);
  const monthly = monthlyStorage(p, storageClass, bytes, objectSizes.length);
  return {
    storageClass,
    objects: objectSizes.length,
    bytes,
    requests,
    requestCost: (requests / 1000) * c.put,
    monthly,
    minimumCommitment: monthly * (c.minDays / 30),
    minDays: c.minDays,
  };
}

export interface RestoreEstimate {
  tier: 'Standard' | 'Bulk';
  bytes: number;
  retrieval: number;
  requests: number;
  egress: number;
  total: number;
  hours: number;
}

/** Retrieval is billed on whole objects; then GETs and egress on what is downloaded. */
export function restoreEstimate(p: PriceTable, storageClass: string, tier: 'Standard' | 'Bulk', bytes: number, objects: number, getRequests: number): RestoreEstimate {
  const c = cls(p, storageClass);
  const r = c.retrieval?.[tier];
  const retrieval = r ? (bytes / GB) * r.perGB : 0;
  const requests = (r ? (objects / 1000) * r.per1000 : 0) + (getRequests / 1000) * c.get;
  const egress = (bytes / GB) * p.egressPerGB;
  return { tier, bytes, retrieval, requests, egress, total: retrieval + requests + egress, hours: r?.hours ?? 0 };
}

/** Fee for deleting an object `ageDays` old: the rest of the minimum duration. */
export function earlyDeletionFee(p: PriceTable, storageClass: string, bytes: number, ageDays: number): number {
  const c = cls(p, storageClass);
  const left = Math.max(0, c.minDays - ageDays);
  return monthlyStorage(p, storageClass, bytes, 1) * (left / 30);
}

/** Drive: free up to the free quota, then the paid plan's price per GB (rough). */
export function driveMonthly(p: PriceTable, bytes: number): number {
  const over = bytes / GB - p.drive.freeGB;
  return over > 0 ? over * p.drive.perGBMonthBeyond : 0;
}

export function usd(x: number): string {
  if (x === 0) return '$0';
  if (x < 0.01) return `$${x.toFixed(5)}`;
  return `$${x.toFixed(2)}`;
}
