/**
 * How old an unfinished upload must be before a sweep may cancel it. A multipart upload of a 5 GB
 * volume over a slow home line takes hours, and another process of this site (or a retry after a
 * crash) may be sending one right now; a day is longer than any upload that is still alive.
 * LOMO_ORPHAN_GRACE_MS overrides it (tests; a site that wants a shorter wait). Cheap to import:
 * no SDK.
 */
export const ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000;

export function orphanGraceMs(): number {
  const v = process.env.LOMO_ORPHAN_GRACE_MS;
  if (v === undefined || v === '') return ORPHAN_GRACE_MS;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : ORPHAN_GRACE_MS;
}
