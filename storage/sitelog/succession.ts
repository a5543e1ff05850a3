import type { Db } from '../catalog/db.js';
import { decodeBody } from './body.js';
import { decodeEntry, KIND } from './entry.js';
import { cutoffSql } from './revocation.js';
import { siteIdOfKey } from './site-id.js';

/**
 * Which machine speaks for a household now (docs/sitelog-format.md §5.6). A household that lost
 * everything recovers on a new machine (`lomo-peer recover`), which appends to the household's own
 * log a succession entry signed by the recovery key: from then on the new machine's key signs
 * that log and the new machine's peer id is the household on the network. The log keeps its
 * origin, so the household's objects, holdings and cloud keys stay named by the origin's site id.
 *
 * The chain check (chain.ts) already refuses a succession not signed by the recovery key; what
 * is read here is only the outcome: the latest valid succession of each log (entries after a
 * revocation's cut-off do not count).
 */
export interface Succession {
  /** The household: its log's origin site id. */
  origin: string;
  /** The machine that speaks for it now. */
  successor: string;
  successorKey: Buffer;
  /** The succession entry's seq in the origin's log. */
  seq: number;
  /** Machines that spoke for it before (the origin first, then earlier successors). */
  previous: string[];
}

/** The latest succession per origin, by origin site id. */
export function successions(db: Db): Map<string, Succession> {
  const rows = db
    .prepare(
      `SELECT e.bytes FROM sitelog_entries e
        WHERE e.kind = ${KIND.succession} AND e.seq <= ifnull(${cutoffSql('e.origin')}, e.seq)
        ORDER BY e.origin, e.seq`,
    )
    .pluck()
    .all() as Buffer[];
  const out = new Map<string, Succession>();
  for (const bytes of rows) {
    const e = decodeEntry(bytes);
    const b = decodeBody(e.kind, e.body);
    if (b.kind !== 'succession') continue;
    const successorKey = Buffer.from(b.body.newKey);
    const was = out.get(e.originId);
    const previous = was ? [...was.previous, was.successor] : [e.originId];
    out.set(e.originId, { origin: e.originId, successor: siteIdOfKey(successorKey), successorKey, seq: e.seq, previous });
  }
  return out;
}

/** The household a peer id speaks for: the origin it succeeded, or itself. */
export function householdOf(db: Db, peerId: string): string {
  for (const s of successions(db).values()) if (s.successor === peerId) return s.origin;
  return peerId;
}
