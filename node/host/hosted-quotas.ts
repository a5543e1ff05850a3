import type { Db } from '../../storage/catalog/db.js';
import type { PeerStore } from '../../storage/peerstore/store.js';
import { successions } from '../../storage/sitelog/succession.js';
import { listPeers } from '../../storage/trust/peers.js';

/**
 * The quota each household may fill here is the one agreed at pairing: `peers.quota_offered`
 * (`invite --quota` on the inviter's side, `join --quota` on the joiner's). The peer store keeps
 * its own copy per household (`hosted_owners.quota_bytes`), which is what a put is checked
 * against; this brings the copy in line with the trust list. The node calls it when it starts,
 * after a pairing, a roster, a confirmation or a revocation, and in every maintenance round (a
 * succession or a membership change can also arrive with the site logs).
 *
 * A household is named by its log origin (the chunks of a recovered household stay under it), so
 * the row of the machine that speaks for it now gives the quota. Revoked rows give none: a revoked
 * household cannot connect, and its chunks and last quota stay as they were. null (no quota
 * agreed) means no limit: see docs/peer-store.md, "Quotas".
 *
 * Returns the households whose quota changed (for the log).
 */
export function syncHostedQuotas(db: Db, hosted: PeerStore, warn: (msg: string) => void = () => {}): { owner: string; quotaBytes: number | null }[] {
  const originOf = new Map<string, string>();
  for (const s of successions(db).values()) originOf.set(s.successor, s.origin);
  const agreed = new Map<string, { quotaBytes: number | null; current: boolean }>();
  for (const p of listPeers(db, { includePending: true })) {
    const owner = originOf.get(p.peerId) ?? p.peerId;
    const current = owner !== p.peerId; // the successor's row, which handover gave the agreed quotas
    const seen = agreed.get(owner);
    if (!seen || (current && !seen.current)) agreed.set(owner, { quotaBytes: p.quotaOffered, current });
  }
  const changed: { owner: string; quotaBytes: number | null }[] = [];
  for (const [owner, { quotaBytes }] of agreed) {
    try {
      if (hosted.usage(owner).quotaBytes === quotaBytes) continue;
      hosted.setQuota(owner, quotaBytes);
      changed.push({ owner, quotaBytes });
    } catch (err) {
      // One bad row (an id that is no site id, a damaged quota) must not keep the others stale.
      warn(`hosted quota of ${owner} not set: ${(err as Error).message}`);
    }
  }
  return changed;
}
