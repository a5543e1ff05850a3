import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCatalog, type Db } from '../../storage/catalog/db.js';
import { saveFamilyObject, type PublicObjectRecord } from '../../storage/objects/catalog.js';
import { PeerStore } from '../../storage/peerstore/store.js';
import { recordHolding } from '../../storage/placements/holdings.js';
import { listPeers, savePairedPeer } from '../../storage/trust/peers.js';
import { peerUsages, usedOf } from '../../node/host/peer-usage.js';
import { seeded } from '../support/random.js';

/** `peers` and `status` usage, both ways: the peer store's account, and our holdings at the peer. */

const random = seeded('peerstore/peer-usage.test.ts');
const ME = '12D3KooWDpqtyMaUi24ScDaebpNcepjNk2q2qJGRMCZaDJ4MNnQv';
const SISTER = '12D3KooWSisterSiteAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const BROTHER = '12D3KooWBrotherSiteBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function object(sizes: number[]): PublicObjectRecord {
  const chunks = sizes.map((size, index) => ({ index, size, sha256: random.bytes(32), merkleRoot: random.bytes(32) }));
  return {
    objectId: random.bytes(16),
    kind: 'volume',
    formatVersion: 1,
    messageSize: 1 << 20,
    chunkPlain: 8 << 20,
    plainSize: sizes.reduce((n, s) => n + s, 0) - 100,
    cipherSize: sizes.reduce((n, s) => n + s, 0),
    cipherSha256: random.bytes(32),
    chunks,
  };
}

let dir: string;
let db: Db;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lomo-peer-usage-'));
  db = openCatalog(path.join(dir, 'lomob.db'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('peerUsages', () => {
  it('counts what we keep for a household against our offer, and what it keeps for us against its grant', async () => {
    savePairedPeer(db, { peerId: BROTHER, name: 'Bro', siteName: '', addrs: [], quotaOffered: 1_000_000, quotaGranted: 50_000, introducedBy: null });
    savePairedPeer(db, { peerId: SISTER, name: 'Sis', siteName: '', addrs: [], quotaOffered: null, quotaGranted: null, introducedBy: null });
    const store = await PeerStore.open(path.join(dir, 'hosted'), db);
    const data = random.bytes(12_345);
    await store.put(BROTHER, sha(data), data.length, data);

    // Ours at the brother: one whole object, one by two of its chunks, one whole and by chunk
    // (counted once); the sister's object there is not ours.
    const whole = saveFamilyObject(db, ME, object([1000, 2000]));
    const chunked = saveFamilyObject(db, ME, object([300, 400, 500]));
    const both = saveFamilyObject(db, ME, object([7000]));
    const hers = saveFamilyObject(db, SISTER, object([9999]));
    recordHolding(db, { holder: { site: BROTHER }, objectRow: whole, size: 3000 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: chunked, chunkIndex: 0, size: 300 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: chunked, chunkIndex: 2, size: 500 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: both, size: 7000 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: both, chunkIndex: 0, size: 7000 });
    recordHolding(db, { holder: { site: BROTHER }, objectRow: hers, size: 9999 });
    recordHolding(db, { holder: { site: SISTER }, objectRow: whole, size: 3000 });

    const u = peerUsages(db, ME, listPeers(db));
    expect(u.get(BROTHER)).toEqual({
      hosted: { usedBytes: data.length, chunkCount: 1, quotaBytes: 1_000_000 },
      held: { bytes: 3000 + 300 + 500 + 7000, objects: 3, quotaBytes: 50_000 },
    });
    expect(u.get(SISTER)).toEqual({ hosted: { usedBytes: 0, chunkCount: 0, quotaBytes: null }, held: { bytes: 3000, objects: 1, quotaBytes: null } });
    expect(usedOf(12_345, 1_000_000)).toBe('12.3 KB / 1.0 MB');
    expect(usedOf(0, null)).toBe('0 B / no limit');
  });
});
