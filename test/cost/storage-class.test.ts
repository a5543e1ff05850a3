/** The planned storage class and the warning `upload iso` gives when it is about to use another. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../../storage/cost/prices.js';
import { classMismatchWarning, expectedStorageClass, PLAN_DEFAULT_CLASS } from '../../storage/cost/storage-class.js';
import { putRequests } from '../../storage/cost/s3-requests.js';
import { uploadPartSize } from '../../storage/cost/upload-plan.js';
import { fullRestore } from '../../storage/cost/restore-plan.js';

describe('planned storage class', () => {
  it('is Deep Archive for an empty archive, else the class holding most of the archived bytes', () => {
    expect(expectedStorageClass([])).toBe(PLAN_DEFAULT_CLASS);
    expect(PLAN_DEFAULT_CLASS).toBe('DEEP_ARCHIVE');
    expect(expectedStorageClass([{ storageClass: 'GLACIER', bytes: 10 }, { storageClass: 'DEEP_ARCHIVE', bytes: 5 }, { storageClass: 'DEEP_ARCHIVE', bytes: 4 }])).toBe('GLACIER');
    expect(expectedStorageClass([{ storageClass: 'ONE-ZONE_IA', bytes: 1 }])).toBe('ONEZONE_IA');
  });

  it('warns only when upload iso would use another class, with what each costs per month', () => {
    expect(classMismatchWarning('DEEP_ARCHIVE', 'DEEP_ARCHIVE')).toBeNull();
    expect(classMismatchWarning('ONEZONE_IA', 'ONE-ZONE_IA')).toBeNull();
    const w = classMismatchWarning('DEEP_ARCHIVE', 'STANDARD', { prices: DEFAULT_PRICES, bytes: 250e9, objects: 100 })!;
    expect(w).toMatch(/about to store volumes as STANDARD, but `lomo-peer cost` planned DEEP_ARCHIVE/);
    expect(w).toMatch(/storage \$5\.3\d{3}\/month instead of \$0\.2305/); // 232.8 GiB × $0.023 vs × $0.00099
    expect(w).toMatch(/--storage-class DEEP_ARCHIVE/);
    expect(classMismatchWarning('GLACIER', 'NOPE', { prices: DEFAULT_PRICES, bytes: 1, objects: 1 })).toMatch(/planned GLACIER: pass/);
  });
});

describe('request counts as the S3 tier sends them', () => {
  it('one PutObject up to a part, else parts + 2; parts at least 5 MiB and at most 10,000', () => {
    expect(putRequests(6_000_000, 6_000_000)).toEqual({ put: 1, parts: 0, headBefore: 1, verify: 1 });
    expect(putRequests(6_000_001, 6_000_000)).toEqual({ put: 4, parts: 2, headBefore: 1, verify: 1 });
    expect(putRequests(50 * 1024 * 1024, 1_000_000).parts).toBe(10); // raised to 5 MiB
    expect(putRequests(200e9, 6_000_000).parts).toBe(10_000); // raised to size / 10,000
  });

  it('encrypted volumes: one part per chunk unless --part-size is given', () => {
    const enc = { cipherSize: 5_000_119_281, chunkCount: 597, chunkPlain: 8 * 1024 * 1024, messageSize: 1024 * 1024 };
    expect(uploadPartSize(enc)).toBe(8_388_808);
    expect(putRequests(enc.cipherSize, uploadPartSize(enc)).parts).toBe(597);
    expect(uploadPartSize(enc, 100e6)).toBe(100e6);
    expect(uploadPartSize({ ...enc, chunkCount: 1 })).toBe(6e6);
    expect(uploadPartSize(null)).toBe(6e6);
  });

  it('restore: egress only beyond the free allowance; Standard-class volumes need no restore', () => {
    const r = fullRestore(DEFAULT_PRICES, 'Bulk', [{ storageClass: 'STANDARD', pending: false, bytes: 50 * 2 ** 30, gets: 3200 }]);
    expect(r).toMatchObject({ egress: 0, retrieval: 0, restoredCopy: 0, hours: 0 });
    const big = fullRestore(DEFAULT_PRICES, 'Bulk', [{ storageClass: 'STANDARD', pending: false, bytes: 150 * 2 ** 30, gets: 1 }]);
    expect(big.egress).toBeCloseTo(50 * 0.09, 10);
  });
});
