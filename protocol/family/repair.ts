import type { Db } from '../../storage/catalog/db.js';
import { deletePeerRow, peerRowsForRepair, setPeerAddrs } from '../../storage/trust/peers.js';
import { isMultiaddrText, isPeerIdText } from '../fields.js';

/** What repairPeerRows changed: each item is reported once (the row is fixed after). */
export interface PeerRepair {
  /** Rows removed: their peer id does not parse as an Ed25519 peer id. */
  dropped: string[];
  /** Rows kept, with the stored addresses that do not parse removed. */
  addrsDropped: { peerId: string; addrs: string[] }[];
}

/**
 * Rows stored before the roster and pairing decoders checked peer ids and multiaddrs (or written
 * by hand) may hold values that throw wherever they are parsed. The node runs this at start and
 * in every maintenance round, so such a row is removed (an id) or cleaned (addresses) and
 * reported once instead of failing every round.
 */
export function repairPeerRows(db: Db): PeerRepair {
  const out: PeerRepair = { dropped: [], addrsDropped: [] };
  db.transaction(() => {
    for (const row of peerRowsForRepair(db)) {
      if (!isPeerIdText(row.peerId)) {
        deletePeerRow(db, row.peerId);
        out.dropped.push(row.peerId);
        continue;
      }
      const bad = row.addrs.filter((a) => !isMultiaddrText(a));
      if (bad.length > 0) {
        setPeerAddrs(db, row.peerId, row.addrs.filter((a) => isMultiaddrText(a)));
        out.addrsDropped.push({ peerId: row.peerId, addrs: bad });
      }
    }
  })();
  return out;
}
