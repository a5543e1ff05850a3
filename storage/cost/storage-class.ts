/**
 * The storage class a plan assumes for volumes not uploaded yet, and the warning `upload iso` gives
 * when it is about to use another one. `cost` and `upload iso` have different defaults (cost plans
 * for an archive; upload iso keeps lomob's STANDARD), so a user who read `cost` and then runs
 * `upload iso` without --storage-class would pay about 23 times the storage price they were shown.
 */
import { classKey, type PriceTable } from './prices.js';
import { monthlyStorage } from './storage-bill.js';

/** What `cost` assumes when neither the user nor the archive says otherwise. */
export const PLAN_DEFAULT_CLASS = 'DEEP_ARCHIVE';

/**
 * The class to plan with: the one holding most of the bytes of the volumes already in S3 (a
 * library keeps its archive in one class), else Deep Archive. Ties go to the class named first.
 */
export function expectedStorageClass(stored: { storageClass: string; bytes: number }[], fallback = PLAN_DEFAULT_CLASS): string {
  const by = new Map<string, number>();
  for (const g of stored) {
    const k = classKey(g.storageClass || 'STANDARD');
    by.set(k, (by.get(k) ?? 0) + g.bytes);
  }
  let best: string | null = null;
  for (const [k, b] of by) if (best === null || b > by.get(best)!) best = k;
  return best ?? fallback;
}

/**
 * A warning when `using` (what upload iso is about to send with) differs from `planned` (what
 * `cost` assumed), else null. With `what` (bytes and objects about to be stored) it says what each
 * choice costs per month.
 */
export function classMismatchWarning(planned: string, using: string, what?: { prices: PriceTable; bytes: number; objects: number }): string | null {
  if (classKey(planned) === classKey(using)) return null;
  let money = '';
  if (what) {
    try {
      const a = monthlyStorage(what.prices, using, what.bytes, what.objects);
      const b = monthlyStorage(what.prices, planned, what.bytes, what.objects);
      money = ` (storage $${a.toFixed(4)}/month instead of $${b.toFixed(4)})`;
    } catch {
      /* a class missing from the price table: the warning stands without figures */
    }
  }
  return (
    `upload iso is about to store volumes as ${using}, but \`lomo-peer cost\` planned ${planned}${money}: ` +
    `pass --storage-class ${planned} to follow the plan, or run \`lomo-peer cost --storage-class ${using}\` to see what ${using} costs`
  );
}
