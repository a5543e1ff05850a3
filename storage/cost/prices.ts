/**
 * The price table every estimate uses. Prices change, so the table is dated and users can replace
 * any part of it with a JSON file (`<data-dir>/prices.json`, or --prices): keys missing from the
 * file keep the built-in values. Figures: AWS S3 pricing page, us-east-1, as of `asOf`; GB means
 * GiB (2^30 bytes), as AWS bills. Drive staging is the free 15 GB tier (shared with Gmail/Photos).
 */
import fs from 'node:fs';

export interface ClassPrice {
  /** $ per GB-month. */
  storage: number;
  /** $ per 1,000 PUT/COPY/POST/LIST requests (multipart initiate, each part, complete). */
  put: number;
  /** $ per 1,000 GET/HEAD-class requests. */
  get: number;
  /** Minimum billed storage duration in days. */
  minDays: number;
  /** Per-object billed overhead in KB: at this class's price, and at STANDARD's price. */
  overheadKB?: { own: number; standard: number };
  /** Cold classes: retrieval per tier, $ per GB and $ per 1,000 restore requests, and waiting hours. */
  retrieval?: Partial<Record<'Standard' | 'Bulk', { perGB: number; per1000: number; hours: number }>>;
}

export interface PriceTable {
  asOf: string;
  region: string;
  currency: 'USD';
  s3: Record<string, ClassPrice>;
  /** Internet egress $ per GB, beyond the free allowance below. */
  egressPerGB: number;
  /**
   * GB of internet egress free each month (AWS: the first 100 GB per account and month, across all
   * services). Estimates assume a restore is the account's only egress that month.
   */
  egressFreeGB: number;
  drive: { freeGB: number; perGBMonthBeyond: number };
}

export const DEFAULT_PRICES: PriceTable = {
  asOf: '2025-06-01',
  region: 'us-east-1',
  currency: 'USD',
  s3: {
    STANDARD: { storage: 0.023, put: 0.005, get: 0.0004, minDays: 0 },
    INTELLIGENT_TIERING: { storage: 0.023, put: 0.005, get: 0.0004, minDays: 0 },
    STANDARD_IA: { storage: 0.0125, put: 0.01, get: 0.001, minDays: 30 },
    ONEZONE_IA: { storage: 0.01, put: 0.01, get: 0.001, minDays: 30 },
    GLACIER_IR: { storage: 0.004, put: 0.02, get: 0.01, minDays: 90 },
    REDUCED_REDUNDANCY: { storage: 0.024, put: 0.005, get: 0.0004, minDays: 0 },
    GLACIER: {
      storage: 0.0036,
      put: 0.03,
      get: 0.0004,
      minDays: 90,
      overheadKB: { own: 32, standard: 8 },
      retrieval: { Standard: { perGB: 0.01, per1000: 0.05, hours: 5 }, Bulk: { perGB: 0, per1000: 0, hours: 12 } },
    },
    DEEP_ARCHIVE: {
      storage: 0.00099,
      put: 0.05,
      get: 0.0004,
      minDays: 180,
      overheadKB: { own: 32, standard: 8 },
      retrieval: { Standard: { perGB: 0.02, per1000: 0.1, hours: 12 }, Bulk: { perGB: 0.0025, per1000: 0.025, hours: 48 } },
    },
  },
  egressPerGB: 0.09,
  egressFreeGB: 100,
  drive: { freeGB: 15, perGBMonthBeyond: 0.0199 },
};

/** lomob spells ONEZONE_IA as ONE-ZONE_IA. */
export function classKey(c: string): string {
  return c === 'ONE-ZONE_IA' ? 'ONEZONE_IA' : c;
}

/** Built-in table, overlaid with the user's JSON file when it exists. */
export function loadPrices(file?: string): { prices: PriceTable; source: string } {
  if (!file || !fs.existsSync(file)) return { prices: DEFAULT_PRICES, source: 'built-in' };
  let user: Partial<PriceTable>;
  try {
    user = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<PriceTable>;
  } catch (e) {
    throw new Error(`price table ${file} is not valid JSON (${(e as Error).message}); fix it or delete it to use the built-in prices`);
  }
  const s3: Record<string, ClassPrice> = { ...DEFAULT_PRICES.s3 };
  for (const [k, v] of Object.entries(user.s3 ?? {})) s3[classKey(k)] = { ...(DEFAULT_PRICES.s3[classKey(k)] ?? DEFAULT_PRICES.s3.STANDARD!), ...v };
  return {
    prices: { ...DEFAULT_PRICES, ...user, s3, drive: { ...DEFAULT_PRICES.drive, ...(user.drive ?? {}) } },
    source: file,
  };
}

/** One class's prices; a class missing from the table is an error that names the table's date. */
export function classPrice(p: PriceTable, storageClass: string): ClassPrice {
  const c = p.s3[classKey(storageClass)];
  if (!c) throw new Error(`no price for storage class ${storageClass} in the price table (dated ${p.asOf})`);
  return c;
}
