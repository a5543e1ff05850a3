import type { Db } from '../../storage/catalog/db.js';
import { isTrusted, listPeers } from '../../storage/trust/peers.js';
import { addressKey } from './inbound-limit.js';

/**
 * The allow list of inbound limits: the address keys (node/host/inbound-limit.ts) where trusted
 * members say they listen and where they were last seen connecting from. Read from the catalog
 * each time, so a new member, a changed address or a revocation counts at the next refresh.
 */
export function familyAddressKeys(db: Db): Set<string> {
  const keys = new Set<string>();
  for (const p of listPeers(db)) {
    if (!isTrusted(db, p.peerId)) continue;
    for (const a of [...p.addrs, ...(p.lastAddr ? [p.lastAddr] : [])]) {
      const k = addressKey(a);
      if (k !== null) keys.add(k);
    }
  }
  return keys;
}
