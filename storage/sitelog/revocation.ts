/**
 * Where a revocation cuts a site's log off, and how a fresh invite lifts it (docs/sitelog-format.md
 * §6). A *revoked* entry names its subject and a cut-off (the last seq of the subject's log that
 * stays valid); the smallest cut-off in force counts. A *re-admission* is a paired entry for the
 * subject in a log that revoked the subject earlier (the re-inviting member's own revocation, or
 * the acknowledgement it appends before re-inviting a site someone else revoked): it lifts every
 * revocation of the subject whose cut-off is at most the largest one that log had named, i.e. the
 * revocations of a history the re-inviter knew when it invited again.
 *
 * Only the order of entries inside one log is trusted (times are not), which is why a
 * re-admission must carry its own revocation before it.
 */

export interface Revocation {
  /** Subject key, hex. */
  subject: string;
  after: number;
}

export interface Readmission {
  /** Subject key, hex. */
  subject: string;
  coversAfter: number;
}

export function isLifted(r: Revocation, readmissions: Iterable<Readmission>): boolean {
  for (const x of readmissions) if (x.subject === r.subject && x.coversAfter >= r.after) return true;
  return false;
}

/** The cut-off in force for one subject: the smallest one no re-admission lifted; null: none. */
export function effectiveCutoff(subject: string, revocations: Iterable<Revocation>, readmissions: readonly Readmission[]): number | null {
  let cut: number | null = null;
  for (const r of revocations) {
    if (r.subject !== subject || isLifted(r, readmissions)) continue;
    cut = cut === null ? r.after : Math.min(cut, r.after);
  }
  return cut;
}

/** SQL expression: the cut-off in force for the log whose origin key is `origin` (NULL: none). */
export function cutoffSql(origin: string): string {
  return `(SELECT min(r.after_seq) FROM sitelog_revocations r WHERE r.subject = ${origin}
             AND NOT EXISTS (SELECT 1 FROM sitelog_readmissions x WHERE x.subject = r.subject AND x.covers_after >= r.after_seq))`;
}
