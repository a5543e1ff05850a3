import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { acceptRemote } from '../../storage/sitelog/store.js';
import { siteIdOfKey } from '../../storage/sitelog/site-id.js';
import { revokePeer, savePairedPeer, type NewPeer } from '../../storage/trust/peers.js';
import { syncHostedQuotas } from '../../node/host/hosted-quotas.js';
import { seeded } from '../support/random.js';
import { keyFrom, MemLog } from '../sitelog/logs.js';

/** The quotas of the trust list (agreed at pairing) become the peer store's, per household. */

const random = seeded('peerstore/hosted-quotas.test.ts');

let dir: string;
let db: Db;
let store: PeerStore;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-hosted-quotas-'));
  db = openCatalog(path.join(dir, 'lomob.db'));
  store = await PeerStore.open(path.join(dir, 'hosted'), db);
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const peer = (peerId: string, quotaOffered: number | null): NewPeer => ({ peerId, name: peerId.slice(-6), siteName: '', addrs: [], quotaOffered, quotaGranted: null, introducedBy: null });
const siteId = () => siteIdOfKey(keyFrom(random).publicKey);

describe('syncHostedQuotas', () => {
  it('applies the offered quota of each household, null as no limit, and follows changes', () => {
    const [a, b] = [siteId(), siteId()];
    savePairedPeer(db, peer(a, 1_000_000));
    savePairedPeer(db, peer(b, null));
    expect(syncHostedQuotas(db, store)).toEqual([{ owner: a, quotaBytes: 1_000_000 }]);
    expect(store.usage(a).quotaBytes).toBe(1_000_000);
    expect(store.usage(b).quotaBytes).toBeNull();
    // Nothing changed: nothing written.
    expect(syncHostedQuotas(db, store)).toEqual([]);
    // Paired again with another quota (a fresh invite), and a limit lifted.
    savePairedPeer(db, peer(a, 2_000_000));
    savePairedPeer(db, peer(b, 5));
    expect(syncHostedQuotas(db, store)).toHaveLength(2);
    expect([store.usage(a).quotaBytes, store.usage(b).quotaBytes]).toEqual([2_000_000, 5]);
    savePairedPeer(db, peer(a, null));
    syncHostedQuotas(db, store);
    expect(store.usage(a).quotaBytes).toBeNull();
  });

  it("a recovered household's quota stays under its origin; a revoked household's is left as it was", () => {
    const recovery = keyFrom(random);
    const lost = new MemLog(keyFrom(random), recovery);
    const successor = keyFrom(random);
    lost.append({ kind: 'siteRecord', body: { formatVersion: 1, opslimit: 3, memlimit: 64 << 20, salt: random.bytes(16), keyCheck: random.bytes(32), recoveryPublicKey: recovery.publicKey } });
    lost.append({ kind: 'succession', body: { newKey: successor.publicKey } });
    acceptRemote(db, lost.entries);
    savePairedPeer(db, peer(lost.siteId, 3_000));
    savePairedPeer(db, peer(siteIdOfKey(successor.publicKey), 7_000)); // what handover copies, or a new agreement
    syncHostedQuotas(db, store);
    expect(store.usage(lost.siteId).quotaBytes).toBe(7_000);
    expect(store.usage(siteIdOfKey(successor.publicKey)).quotaBytes).toBeNull(); // no owner row of its own

    const gone = siteId();
    savePairedPeer(db, peer(gone, 9_000));
    syncHostedQuotas(db, store);
    revokePeer(db, gone);
    savePairedPeer(db, { ...peer(siteId(), 1) });
    syncHostedQuotas(db, store);
    expect(store.usage(gone).quotaBytes).toBe(9_000);
  });
});
