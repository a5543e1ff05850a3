/**
 * Cost estimates from sizes and counts: what an upload, a month of storage, or a restore costs.
 * Pure functions over the price table, so commands can print them before spending anything.
 * The pieces live in storage-bill.ts (keeping bytes), upload-plan.ts (sending volumes),
 * restore-plan.ts (getting everything back) and per-file.ts (the seed's comparison).
 */
import { classPrice, type PriceTable } from './prices.js';
import { uploadPlan, type UploadEstimate } from './upload-plan.js';
import { GB } from './storage-bill.js';

export { GB };
export { billedBytes, monthlyStorage, earlyDeletionFee, driveMonthly } from './storage-bill.js';
export type { UploadEstimate } from './upload-plan.js';

/**
 * Upload of plain objects of these sizes, each with parts of `partSize` (no manifests). `requests`
 * and `requestCost` are the PUT-class requests; `allRequestCost` adds the HEAD/GetObjectAttributes
 * checks and the run's bucket checks.
 */
export function uploadEstimate(p: PriceTable, storageClass: string, objectSizes: number[], partSize: number): UploadEstimate {
  return uploadPlan(p, storageClass, objectSizes.map((bytes) => ({ bytes, partSize })), { perRun: true });
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

/**
 * One object's restore as `restore aws` prints it: retrieval billed on whole objects, restore
 * requests and GETs, egress on everything downloaded (no free allowance: other downloads that month
 * may have used it). The full-library estimate with the restored copy and the free egress is
 * restore-plan.ts's fullRestore.
 */
export function restoreEstimate(p: PriceTable, storageClass: string, tier: 'Standard' | 'Bulk', bytes: number, objects: number, getRequests: number): RestoreEstimate {
  const c = classPrice(p, storageClass);
  const r = c.retrieval?.[tier];
  const retrieval = r ? (bytes / GB) * r.perGB : 0;
  const requests = (r ? (objects / 1000) * r.per1000 : 0) + (getRequests / 1000) * c.get;
  const egress = (bytes / GB) * p.egressPerGB;
  return { tier, bytes, retrieval, requests, egress, total: retrieval + requests + egress, hours: r?.hours ?? 0 };
}

export function usd(x: number): string {
  if (x === 0) return '$0';
  if (x < 0.01) return `$${x.toFixed(5)}`;
  return `$${x.toFixed(2)}`;
}
